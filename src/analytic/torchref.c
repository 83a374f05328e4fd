/* torchref.c — loading PyTorch's parameter list and comparing (see torchref.h). */
#include "torchref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/csv.h"

void dlm_torchref_free(dlm_torch_ref *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        free(r->t[i].name);
        free(r->t[i].shape);
    }
    free(r->t);
    free(r->path);
    free(r->model);
    free(r->versions);
    free(r);
}

dlm_status dlm_torchref_load(const char *path, const char *model, dlm_torch_ref **out)
{
    static const char *cols[] = {"model", "kind", "name", "shape", "numel",
                                 "torch", "torchvision", "transformers"};
    int idx[8];
    dlm_csv *c;
    *out = NULL;
    DLM_TRY(dlm_csv_read(path, &c));
    dlm_status st = dlm_csv_require(c, 8, cols, idx);
    dlm_torch_ref *r = calloc(1, sizeof *r);
    if (st == DLM_OK && !r) st = dlm_error(DLM_ENOMEM, "out of memory");
    if (st == DLM_OK) {
        r->path = strdup(path);
        r->model = strdup(model);
        r->t = calloc((size_t)c->nrows + 1, sizeof *r->t);
        if (!r->path || !r->model || !r->t) st = dlm_error(DLM_ENOMEM, "out of memory");
    }
    for (int i = 0; st == DLM_OK && i < c->nrows; i++) {
        if (strcmp(dlm_csv_get(c, i, idx[0]), model) != 0) continue;
        const char *kind = dlm_csv_get(c, i, idx[1]);
        dlm_ref_tensor *t = &r->t[r->n];
        if (strcmp(kind, "param") && strcmp(kind, "buffer")) {
            st = dlm_error(DLM_EPARSE, "%s:%d: column 'kind': '%s' is not param or buffer", path,
                           c->lines[i], kind);
            break;
        }
        if ((st = dlm_csv_int(c, i, idx[4], &t->numel)) != DLM_OK) break;
        t->is_buffer = kind[0] == 'b';
        t->name = strdup(dlm_csv_get(c, i, idx[2]));
        t->shape = strdup(dlm_csv_get(c, i, idx[3]));
        r->n++;
        if (!t->name || !t->shape) {
            st = dlm_error(DLM_ENOMEM, "out of memory");
            break;
        }
        if (!r->versions) {
            char v[256];
            snprintf(v, sizeof v, "torch %s, torchvision %s, transformers %s",
                     dlm_csv_get(c, i, idx[5]), dlm_csv_get(c, i, idx[6]),
                     dlm_csv_get(c, i, idx[7]));
            if (!(r->versions = strdup(v))) st = dlm_error(DLM_ENOMEM, "out of memory");
        }
    }
    dlm_csv_free(c);
    if (st != DLM_OK) {
        dlm_torchref_free(r);
        return st;
    }
    *out = r;
    return DLM_OK;
}

const char *dlm_ref_match_name(dlm_ref_match m)
{
    switch (m) {
    case DLM_REF_SAME: return "same";
    case DLM_REF_COUNT_DIFFERS: return "count differs";
    case DLM_REF_ONLY_DLMEM: return "not in PyTorch";
    case DLM_REF_ONLY_TORCH: return "missing in dlmem";
    case DLM_REF_ORDER_DIFFERS: return "order differs";
    }
    return "?";
}

/* Compares one kind (params or buffers); appends rows. */
static dlm_status compare_kind(const dlm_graph *g, const dlm_torch_ref *r, int buffers,
                               dlm_ref_row *rows, int *n, int *mism)
{
    const int *ids = buffers ? g->buffers : g->params;
    int nd = buffers ? g->n_buffers : g->n_params;
    char *used = calloc((size_t)r->n + 1, 1);
    if (!used) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int i = 0; i < nd; i++) {
        const dlm_tensor *t = &g->tensors[ids[i]];
        dlm_ref_row *row = &rows[(*n)++];
        memset(row, 0, sizeof *row);
        row->name = t->name;
        row->tensor = ids[i];
        row->dlmem = dlm_tensor_numel_const(g, ids[i]);
        row->torch = -1;
        row->is_buffer = buffers;
        row->match = DLM_REF_ONLY_DLMEM;
        int k = 0;
        for (int j = 0; j < r->n; j++) {
            if (r->t[j].is_buffer != buffers) continue;
            if (strcmp(r->t[j].name, t->name) == 0) {
                used[j] = 1;
                row->torch = r->t[j].numel;
                row->torch_shape = r->t[j].shape;
                if (row->torch != row->dlmem) row->match = DLM_REF_COUNT_DIFFERS;
                else if (k != i) row->match = DLM_REF_ORDER_DIFFERS;
                else row->match = DLM_REF_SAME;
                break;
            }
            k++;
        }
        if (row->match != DLM_REF_SAME) (*mism)++;
    }
    for (int j = 0; j < r->n; j++) {
        if (r->t[j].is_buffer != buffers || used[j]) continue;
        dlm_ref_row *row = &rows[(*n)++];
        memset(row, 0, sizeof *row);
        row->name = r->t[j].name;
        row->tensor = -1;
        row->dlmem = -1;
        row->torch = r->t[j].numel;
        row->torch_shape = r->t[j].shape;
        row->is_buffer = buffers;
        row->match = DLM_REF_ONLY_TORCH;
        (*mism)++;
    }
    free(used);
    return DLM_OK;
}

dlm_status dlm_torchref_compare(const dlm_graph *g, const dlm_torch_ref *r, dlm_ref_row **rows,
                                int *n, int *mismatches)
{
    int cap = g->n_params + g->n_buffers + r->n + 1;
    *rows = calloc((size_t)cap, sizeof **rows);
    *n = 0;
    *mismatches = 0;
    if (!*rows) return dlm_error(DLM_ENOMEM, "out of memory");
    dlm_status st = compare_kind(g, r, 0, *rows, n, mismatches);
    if (st == DLM_OK) st = compare_kind(g, r, 1, *rows, n, mismatches);
    if (st != DLM_OK) {
        free(*rows);
        *rows = NULL;
    }
    return st;
}
