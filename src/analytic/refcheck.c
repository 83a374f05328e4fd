/* refcheck.c — predictions against the PyTorch reference grid (refcheck.h). */
#include "refcheck.h"

#include "../core/paths.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/csv.h"
#include "../core/paths.h"
#include "../models/models.h"
#include "memory.h"

typedef struct compiled {
    char key[96];
    dlm_graph *g;
    dlm_mem_model *m;
} compiled;

/* The GPU column names the architecture (PyTorch's workspaces depend on it). */
static int sm_of(const char *gpu)
{
    if (strstr(gpu, "H100") || strstr(gpu, "H200") || strstr(gpu, "GH200")) return 90;
    if (strstr(gpu, "A100") || strstr(gpu, "A30")) return 80;
    if (strstr(gpu, "L4") || strstr(gpu, "4090")) return 89;
    if (strstr(gpu, "T4")) return 75;
    return 86;
}

static dlm_status get_model(compiled **cache, int *n, const char *model, const char *knobs,
                            const dlm_mem_config *c, dlm_mem_model **out)
{
    char key[96];
    snprintf(key, sizeof key, "%s/%s/%d/%d/%d/%d/%d/%d/%d", model, knobs ? knobs : "", c->mode,
             c->dtype, c->autocast_bf16, c->attention, c->optimizer, c->sm, c->keep_outputs);
    for (int i = 0; i < *n; i++)
        if (!strcmp((*cache)[i].key, key)) {
            *out = (*cache)[i].m;
            return DLM_OK;
        }
    compiled *nc = realloc(*cache, (size_t)(*n + 1) * sizeof **cache);
    if (!nc) return dlm_error(DLM_ENOMEM, "out of memory");
    *cache = nc;
    compiled *e = &nc[*n];
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", key);
    if (!strncmp(model, "hf:", 3)) { /* data/hf/NAME.json */
        char rel[128], path[4096];
        snprintf(rel, sizeof rel, "hf/%s.json", model + 3);
        if (!dlm_data_path(rel, path, sizeof path))
            return dlm_error(DLM_EIO, "%s: not found (set DLMEM_DATA)", path);
        DLM_TRY(dlm_model_build_named(path, NULL, &e->g));
    } else {
        DLM_TRY(dlm_model_build_builtin(model, knobs, &e->g));
    }
    dlm_status st = dlm_mem_model_alloc(e->g, c, &e->m);
    if (st != DLM_OK) {
        dlm_graph_free(e->g);
        return st;
    }
    (*n)++;
    *out = e->m;
    return DLM_OK;
}

/* The model's knobs for a technique variant, "" for none, NULL when the
 * technique is not one the memory model describes. */
static const char *variant_knobs(const char *variant, const char *checkpoint)
{
    if (strcmp(checkpoint, "none")) return NULL;
    if (!strcmp(variant, "base32")) return "base=32";
    if (!strcmp(variant, "layers6")) return "layers=6";
    if (!strcmp(variant, "upsample1")) return "upsample=1"; /* the U-Net's ways up */
    if (!strcmp(variant, "upsample2")) return "upsample=2";
    return "";
}

/* unmodelled: NULL, or where points of models without memory rules are counted */
static dlm_status run(const char *path, int techniques, dlm_ref_point **out, int *n_out,
                      int *unmodelled, char *why, size_t why_n)
{
    static const char *cols[] = {"model", "variant", "mode", "dtype", "attention", "optimizer",
                                 "batch", "seq", "status", "before_bytes", "peak_bytes", "gpu",
                                 "checkpoint", "autocast"};
    int idx[14];
    dlm_csv *csv;
    *out = NULL;
    *n_out = 0;
    /* the grids measured on 2026-11-27, with tools/torch_reference.py's step
     * before it deleted `out` ahead of loss.backward() (commit c2a27e1): their
     * outputs lived through the whole step */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int keep = !strcmp(base, "pytorch_memory.csv") || !strncmp(base, "pytorch_techniques", 18);
    DLM_TRY(dlm_csv_read(path, &csv));
    dlm_status st = dlm_csv_require(csv, 14, cols, idx);
    dlm_ref_point *pts = NULL;
    compiled *cache = NULL;
    int n = 0, nc = 0;
    if (st == DLM_OK && !(pts = calloc((size_t)csv->nrows + 1, sizeof *pts)))
        st = dlm_error(DLM_ENOMEM, "out of memory");
    for (int i = 0; st == DLM_OK && i < csv->nrows; i++) {
        const char *variant = dlm_csv_get(csv, i, idx[1]);
        const char *knobs = variant_knobs(variant, dlm_csv_get(csv, i, idx[12]));
        if (strcmp(dlm_csv_get(csv, i, idx[8]), "ok") || !knobs) continue;
        if (techniques == !strcmp(variant, "base")) continue;
        dlm_ref_point *p = &pts[n];
        snprintf(p->variant, sizeof p->variant, "%s", variant);
        snprintf(p->optimizer, sizeof p->optimizer, "%s", dlm_csv_get(csv, i, idx[5]));
        snprintf(p->autocast, sizeof p->autocast, "%s", dlm_csv_get(csv, i, idx[13]));
        dlm_mem_config c;
        dlm_mem_config_default(&c);
        snprintf(p->model, sizeof p->model, "%s", dlm_csv_get(csv, i, idx[0]));
        snprintf(p->mode, sizeof p->mode, "%s", dlm_csv_get(csv, i, idx[2]));
        snprintf(p->dtype, sizeof p->dtype, "%s", dlm_csv_get(csv, i, idx[3]));
        snprintf(p->attention, sizeof p->attention, "%s", dlm_csv_get(csv, i, idx[4]));
        p->line = csv->lines[i];
        const char *opt = dlm_csv_get(csv, i, idx[5]);
        if ((st = dlm_mode_parse(p->mode, &c.mode)) != DLM_OK ||
            (st = dlm_dtype_parse(p->dtype, &c.dtype)) != DLM_OK ||
            (opt[0] && (st = dlm_optimizer_parse(opt, &c.optimizer)) != DLM_OK) ||
            (p->attention[0] && (st = dlm_attention_parse(
                                     !strcmp(p->attention, "sdpa") ? "fused" : p->attention,
                                     &c.attention)) != DLM_OK) ||
            (st = dlm_csv_int(csv, i, idx[6], &p->batch)) != DLM_OK ||
            (st = dlm_csv_int(csv, i, idx[7], &p->seq)) != DLM_OK ||
            (st = dlm_csv_int(csv, i, idx[9], &p->ref_before)) != DLM_OK ||
            (st = dlm_csv_int(csv, i, idx[10], &p->ref_peak)) != DLM_OK) {
            st = dlm_error_context(st, "%s:%d", path, p->line);
            break;
        }
        if (strcmp(p->autocast, "none") && p->autocast[0]) {
            c.dtype = DLM_DTYPE_MIXED;
            c.autocast_bf16 = !strcmp(p->autocast, "bf16");
        }
        c.sm = sm_of(dlm_csv_get(csv, i, idx[11]));
        c.keep_outputs = keep;
        dlm_mem_model *m = NULL;
        dlm_mem_result r;
        st = get_model(&cache, &nc, p->model, knobs, &c, &m);
        if (st == DLM_EUNSUPPORTED && unmodelled) {
            if (!(*unmodelled)++ && why) snprintf(why, why_n, "%s", dlm_errmsg());
            st = DLM_OK;
            continue;
        }
        if (st != DLM_OK ||
            (st = dlm_mem_eval(m, p->batch, p->seq > 0 ? p->seq : 1, &r)) != DLM_OK) {
            st = dlm_error_context(st, "%s:%d", path, p->line);
            break;
        }
        p->pred_peak = r.peak_bytes;
        p->pred_before = r.before_bytes;
        p->complete = r.complete;
        p->n_unknown = r.n_unknown;
        p->err = p->ref_peak > 0 ? (double)(r.peak_bytes - p->ref_peak) / (double)p->ref_peak : 0;
        snprintf(p->where, sizeof p->where, "%s", r.peak_where);
        n++;
    }
    for (int i = 0; i < nc; i++) {
        dlm_mem_model_free(cache[i].m);
        dlm_graph_free(cache[i].g);
    }
    free(cache);
    dlm_csv_free(csv);
    if (st != DLM_OK) {
        free(pts);
        return st;
    }
    *out = pts;
    *n_out = n;
    return DLM_OK;
}

dlm_status dlm_refcheck_run(const char *path, dlm_ref_point **out, int *n)
{
    return run(path, 0, out, n, NULL, NULL, 0);
}

dlm_status dlm_refcheck_transformers(const char *path, dlm_ref_point **out, int *n,
                                     int *unmodelled, char *why, size_t why_n)
{
    *unmodelled = 0;
    if (why_n) why[0] = '\0';
    return run(path, 0, out, n, unmodelled, why, why_n);
}

dlm_status dlm_refcheck_techniques(const char *path, dlm_ref_point **out, int *n)
{
    return run(path, 1, out, n, NULL, NULL, 0);
}

void dlm_refcheck_stats(const dlm_ref_point *p, int n, const char *mode, double *mean,
                        double *worst, int *count)
{
    double s = 0, w = 0;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if ((mode[0] && strcmp(p[i].mode, mode)) || !p[i].complete) continue;
        double e = fabs(p[i].err);
        s += e;
        if (e > w) w = e;
        k++;
    }
    *mean = k ? s / k : 0;
    *worst = w;
    *count = k;
}

int dlm_ref_accept(int complete, double err, double tol)
{
    return complete ? fabs(err) <= tol : err <= tol;
}

int dlm_ref_rows_shipped(void)
{
    char path[1024];
    return dlm_data_path(DLM_REF_PROBE_FILE, path, sizeof path);
}
