/* convtab.c — the measured cuDNN convolution workspace table (convtab.h). */
#include "convtab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/csv.h"

static int key_eq(const dlm_conv_key *a, const dlm_conv_key *b)
{
    return a->in_c == b->in_c && a->in_h == b->in_h && a->in_w == b->in_w &&
           a->out_c == b->out_c && a->kh == b->kh && a->kw == b->kw && a->out_h == b->out_h &&
           a->out_w == b->out_w;
}

void dlm_convtab_free(dlm_convtab *t)
{
    if (!t) return;
    for (int i = 0; i < t->n; i++) {
        free(t->s[i].B);
        free(t->s[i].bytes);
    }
    free(t->s);
    free(t);
}

static dlm_conv_series *series_for(dlm_convtab *t, int sm, const char *dtype, dlm_conv_phase ph,
                                   const dlm_conv_key *k, int cap)
{
    for (int i = 0; i < t->n; i++)
        if (t->s[i].sm == sm && t->s[i].phase == ph && !strcmp(t->s[i].dtype, dtype) &&
            key_eq(&t->s[i].key, k))
            return &t->s[i];
    dlm_conv_series *s = &t->s[t->n++];
    memset(s, 0, sizeof *s);
    s->sm = sm;
    snprintf(s->dtype, sizeof s->dtype, "%s", dtype);
    s->phase = ph;
    s->key = *k;
    s->B = malloc((size_t)cap * sizeof *s->B);
    s->bytes = malloc((size_t)cap * sizeof *s->bytes);
    if (!s->B || !s->bytes) {
        t->n--;
        free(s->B);
        free(s->bytes);
        return NULL;
    }
    return s;
}

dlm_status dlm_convtab_load(const char *path, dlm_convtab **out)
{
    static const char *cols[] = {"gpu", "sm", "dtype", "phase", "in_c", "in_h", "in_w", "out_c",
                                 "kernel_h", "kernel_w", "out_h", "out_w", "batch", "bytes"};
    int idx[14];
    dlm_csv *csv;
    *out = NULL;
    DLM_TRY(dlm_csv_read(path, &csv));
    dlm_status st = dlm_csv_require(csv, 14, cols, idx);
    dlm_convtab *t = calloc(1, sizeof *t);
    if (st == DLM_OK && (!t || !(t->s = calloc((size_t)csv->nrows + 1, sizeof *t->s))))
        st = dlm_error(DLM_ENOMEM, "out of memory");
    if (t) snprintf(t->path, sizeof t->path, "%s", path);
    for (int i = 0; st == DLM_OK && i < csv->nrows; i++) {
        int64_t v[10], sm, B, bytes;
        for (int k = 0; k < 8 && st == DLM_OK; k++) st = dlm_csv_int(csv, i, idx[4 + k], &v[k]);
        if (st == DLM_OK) st = dlm_csv_int(csv, i, idx[1], &sm);
        if (st == DLM_OK) st = dlm_csv_int(csv, i, idx[12], &B);
        if (st == DLM_OK) st = dlm_csv_int(csv, i, idx[13], &bytes);
        if (st != DLM_OK) break;
        const char *ph = dlm_csv_get(csv, i, idx[3]), *dt = dlm_csv_get(csv, i, idx[2]);
        int line = csv->lines[i];
        if (strcmp(ph, "forward") && strcmp(ph, "backward")) {
            st = dlm_error(DLM_EPARSE, "%s:%d: column 'phase': '%s' is not forward or backward",
                           path, line, ph);
            break;
        }
        if (strcmp(dt, "fp32") && strcmp(dt, "fp16") && strcmp(dt, "bf16")) {
            st = dlm_error(DLM_EPARSE, "%s:%d: column 'dtype': '%s' is not fp32, fp16 or bf16",
                           path, line, dt);
            break;
        }
        int bad = sm < 10 || sm > 200 || B < 1 || bytes < 0;
        for (int k = 0; k < 8; k++) bad |= v[k] < 1 || v[k] > 1000000;
        if (bad) {
            st = dlm_error(DLM_EPARSE, "%s:%d: a value is out of range (sm 10..200, batch >= 1, "
                           "bytes >= 0, sizes 1..1000000)", path, line);
            break;
        }
        dlm_conv_key k = {(int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4], (int)v[5],
                          (int)v[6], (int)v[7]};
        dlm_conv_series *s = series_for(t, (int)sm, dt, ph[0] == 'f' ? DLM_CONV_FWD : DLM_CONV_BWD,
                                        &k, csv->nrows);
        if (!s) {
            st = dlm_error(DLM_ENOMEM, "out of memory");
            break;
        }
        /* insert keeping B ascending */
        int at = s->n;
        while (at > 0 && s->B[at - 1] > B) at--;
        if (at > 0 && s->B[at - 1] == B) {
            st = dlm_error(DLM_EPARSE, "%s:%d: batch %lld listed twice for one shape and phase",
                           path, line, (long long)B);
            break;
        }
        memmove(s->B + at + 1, s->B + at, (size_t)(s->n - at) * sizeof *s->B);
        memmove(s->bytes + at + 1, s->bytes + at, (size_t)(s->n - at) * sizeof *s->bytes);
        s->B[at] = B;
        s->bytes[at] = bytes;
        s->n++;
        /* Every GPU the rows come from, in order of appearance ("A and B"). */
        const char *gpu = dlm_csv_get(csv, i, idx[0]);
        if (!strstr(t->gpu, gpu)) {
            size_t k = strlen(t->gpu);
            snprintf(t->gpu + k, sizeof t->gpu - k, "%s%s", k ? " and " : "", gpu);
        }
    }
    dlm_csv_free(csv);
    if (st == DLM_OK && t->n == 0) st = dlm_error(DLM_EPARSE, "%s: no rows", path);
    if (st != DLM_OK) {
        dlm_convtab_free(t);
        return st;
    }
    *out = t;
    return DLM_OK;
}

const dlm_conv_series *dlm_convtab_find(const dlm_convtab *t, int sm, const char *dtype,
                                        dlm_conv_phase phase, const dlm_conv_key *key)
{
    for (int i = 0; t && i < t->n; i++)
        if (t->s[i].sm == sm && t->s[i].phase == phase && !strcmp(t->s[i].dtype, dtype) &&
            key_eq(&t->s[i].key, key))
            return &t->s[i];
    return NULL;
}

int dlm_convtab_has(const dlm_convtab *t, int sm, const char *dtype)
{
    for (int i = 0; t && i < t->n; i++)
        if (t->s[i].sm == sm && !strcmp(t->s[i].dtype, dtype)) return 1;
    return 0;
}
