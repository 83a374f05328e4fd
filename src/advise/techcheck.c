/* techcheck.c — advisor predictions against PyTorch's technique runs (see
 * techcheck.h). */
#include "techcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/csv.h"
#include "advise.h"

/* The technique a variant of the reference script ran, as advise names it. */
static const struct {
    const char *variant, *technique;
} variants[] = {
    {"opt-adam", ""},
    {"opt-sgd", "sgd"},
    {"opt-sgd-momentum", "sgd-momentum"},
    {"autocast-bf16", "mixed"},
    {"autocast-fp16", "mixed"},
    {"autocast-bf16-sdpa", "mixed+fused-attention"},
    {"pure-bf16", "bf16"},
    {"infer-fp16", "fp16"},
    {"infer-fp16-sdpa", "fp16+fused-attention"},
    {"ckpt-block", "checkpoint-block"},
    {"ckpt-stage", "checkpoint-stage"},
    {"ckpt-layer", "checkpoint-block"},
    {"base32", "base32"},
    {"layers6", "layers6"},
    {"gru", "gru"},
    /* pytorch_techniques_extra.csv (torch_reference.py techniques --extra) */
    {"sdpa-fp32", "fused-attention"},
    {"autocast-bf16-ckpt-block", "mixed+checkpoint-block"},
    {"autocast-bf16-sdpa-ckpt-layer", "mixed+fused-attention+checkpoint-block"},
};

/* The technique a variant ran, into buf; NULL if none.  Besides the table:
 * pytorch_techniques_rnn_chunks.csv (torch_reference.py techniques
 * --rnn-chunks): ckpt-chunksK is checkpoint-chunksK, autocast-fp16-ckpt-chunksK
 * and autocast-bf16-ckpt-chunksK are mixed+checkpoint-chunksK. */
static const char *technique_of(const char *variant, char *buf, size_t n)
{
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        if (!strcmp(variants[i].variant, variant)) return variants[i].technique;
    const char *v = variant, *pre = "";
    if (!strncmp(v, "autocast-fp16-", 14) || !strncmp(v, "autocast-bf16-", 14)) {
        v += 14;
        pre = "mixed+";
    }
    if (strncmp(v, "ckpt-chunks", 11) || !v[11] || strspn(v + 11, "0123456789") != strlen(v + 11))
        return NULL;
    snprintf(buf, n, "%scheckpoint-chunks%s", pre, v + 11);
    return buf;
}

/* Measured baseline of row r: -1 when the files hold none. */
static dlm_status ref_baseline(const dlm_csv *tc, const int *ti, const dlm_csv *mc, const int *mi,
                               const char *model, const char *mode, int64_t B, int64_t T,
                               int64_t *peak)
{
    *peak = -1;
    if (!strcmp(mode, "train")) {
        for (int r = 0; r < tc->nrows; r++) {
            int64_t b, t;
            if (strcmp(dlm_csv_get(tc, r, ti[0]), model) || strcmp(dlm_csv_get(tc, r, ti[1]), "opt-adam") ||
                strcmp(dlm_csv_get(tc, r, ti[5]), "ok"))
                continue;
            DLM_TRY(dlm_csv_int(tc, r, ti[3], &b));
            DLM_TRY(dlm_csv_int(tc, r, ti[4], &t));
            if (b == B && t == T) return dlm_csv_int(tc, r, ti[6], peak);
        }
        return DLM_OK;
    }
    for (int r = 0; r < mc->nrows; r++) {
        int64_t b, t;
        const char *att = dlm_csv_get(mc, r, mi[4]);
        if (strcmp(dlm_csv_get(mc, r, mi[0]), model) || strcmp(dlm_csv_get(mc, r, mi[1]), "base") ||
            strcmp(dlm_csv_get(mc, r, mi[2]), mode) || strcmp(dlm_csv_get(mc, r, mi[3]), "fp32") ||
            (att[0] && strcmp(att, "eager")) || strcmp(dlm_csv_get(mc, r, mi[7]), "ok"))
            continue;
        DLM_TRY(dlm_csv_int(mc, r, mi[5], &b));
        DLM_TRY(dlm_csv_int(mc, r, mi[6], &t));
        if (b == B && t == T) return dlm_csv_int(mc, r, mi[8], peak);
    }
    return DLM_OK;
}

dlm_status dlm_techcheck_run(const char *techniques_csv, const char *memory_csv,
                             dlm_tech_point **out, int *n)
{
    static const char *tcols[] = {"model", "variant", "mode", "batch", "seq", "status", "peak_bytes"};
    static const char *mcols[] = {"model", "variant", "mode", "dtype", "attention", "batch", "seq",
                                  "status", "peak_bytes"};
    dlm_csv *tc = NULL, *mc = NULL;
    int ti[7], mi[9];
    *out = NULL;
    *n = 0;
    DLM_TRY(dlm_csv_read(techniques_csv, &tc));
    dlm_status st = dlm_csv_require(tc, 7, tcols, ti);
    if (st == DLM_OK) st = dlm_csv_read(memory_csv, &mc);
    if (st == DLM_OK) st = dlm_csv_require(mc, 9, mcols, mi);
    dlm_tech_point *p = NULL;
    if (st == DLM_OK && !(p = calloc((size_t)tc->nrows + 1, sizeof *p)))
        st = dlm_error(DLM_ENOMEM, "out of memory");
    int k = 0;
    for (int r = 0; st == DLM_OK && r < tc->nrows; r++) {
        if (strcmp(dlm_csv_get(tc, r, ti[5]), "ok")) continue;
        dlm_tech_point *q = &p[k];
        memset(q, 0, sizeof *q);
        snprintf(q->model, sizeof q->model, "%s", dlm_csv_get(tc, r, ti[0]));
        snprintf(q->variant, sizeof q->variant, "%s", dlm_csv_get(tc, r, ti[1]));
        snprintf(q->mode, sizeof q->mode, "%s", dlm_csv_get(tc, r, ti[2]));
        q->line = tc->lines[r];
        char tbuf[64];
        const char *tech = technique_of(q->variant, tbuf, sizeof tbuf);
        if (!tech) {
            st = dlm_error(DLM_EPARSE, "%s:%d: variant '%s' is not a technique dlmem advise knows",
                           techniques_csv, q->line, q->variant);
            break;
        }
        snprintf(q->technique, sizeof q->technique, "%s", tech);
        if ((st = dlm_csv_int(tc, r, ti[3], &q->batch)) != DLM_OK) break;
        if ((st = dlm_csv_int(tc, r, ti[4], &q->seq)) != DLM_OK) break;
        if ((st = dlm_csv_int(tc, r, ti[6], &q->ref_peak)) != DLM_OK) break;
        /* the baseline workload: the LSTM for a GRU row */
        const char *base_model = !strcmp(q->model, "gru") ? "lstm" : q->model;
        st = ref_baseline(tc, ti, mc, mi, base_model, q->mode, q->batch, q->seq, &q->ref_base);
        if (st == DLM_OK && q->ref_base < 0)
            st = dlm_error(DLM_EPARSE, "%s:%d: no measured baseline for %s %s B=%lld T=%lld",
                           techniques_csv, q->line, base_model, q->mode, (long long)q->batch,
                           (long long)q->seq);
        if (st != DLM_OK) break;
        dlm_workload w;
        memset(&w, 0, sizeof w);
        snprintf(w.model, sizeof w.model, "%s", base_model);
        dlm_mem_config_default(&w.cfg);
        if ((st = dlm_mode_parse(q->mode, &w.cfg.mode)) != DLM_OK) break;
        w.cfg.sm = 90; /* the reference GPU, an H200 */
        w.cfg.autocast_bf16 = strstr(q->variant, "autocast-bf16") != NULL; /* if "mixed" applies */
        w.batch = q->batch;
        w.seq = q->seq;
        dlm_budget b = {"h200", 141000000000LL, 0};
        dlm_advice_report *rep;
        if ((st = dlm_advise(&w, &b, tech[0] ? tech : "adam", 0, &rep)) != DLM_OK) break;
        q->pred_base = rep->base.peak;
        q->base_complete = rep->base.r.complete;
        const dlm_advice *a = tech[0] ? &rep->rows[0] : &rep->base;
        if (!a->applicable) {
            st = dlm_error(DLM_EINTERNAL, "%s:%d: technique %s does not apply to %s: %s",
                           techniques_csv, q->line, tech, base_model, a->note);
        } else {
            q->pred_peak = a->peak;
            q->complete = a->r.complete;
            snprintf(q->where, sizeof q->where, "%s", a->r.peak_where);
            q->err = (double)(q->pred_peak - q->ref_peak) / (double)q->ref_peak;
            q->saving_err = (double)((q->pred_base - q->pred_peak) - (q->ref_base - q->ref_peak)) /
                            (double)q->ref_base;
        }
        dlm_advice_report_free(rep);
        k++;
    }
    dlm_csv_free(tc);
    dlm_csv_free(mc);
    if (st != DLM_OK) {
        free(p);
        return st;
    }
    *out = p;
    *n = k;
    return DLM_OK;
}
