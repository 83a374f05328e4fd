/* predict.c — a series' prediction from the analytic memory model (see predict.h). */
#include "predict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analytic/memory.h"
#include "../models/models.h"

int dlm_gpu_sm(const char *gpu)
{
    static const struct { const char *key; int sm; } table[] = {
        {"H100", 90}, {"H200", 90}, {"H800", 90}, {"GH200", 90},
        {"A100", 80}, {"A800", 80}, {"A30", 80},
        {"RTX 30", 86}, {"A10", 86}, {"A40", 86}, {"A6000", 86},
        {"L4", 89}, {"L40", 89}, {"RTX 40", 89},
        {"T4", 75}, {"RTX 20", 75}, {"V100", 70},
    };
    if (!gpu) return 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strstr(gpu, table[i].key)) return table[i].sm;
    return 0;
}

dlm_status dlm_input_bytes_poly(const dlm_graph *g, int float_bytes, dlm_poly *out)
{
    dlm_poly sum = dlm_poly_const(0);
    for (int i = 0; i < g->n_inputs; i++) {
        const dlm_tensor *t = &g->tensors[g->inputs[i]];
        int size = t->elem == DLM_EL_INT64 ? 8 : float_bytes;
        sum = dlm_poly_add(sum, dlm_poly_scale(t->numel, size));
    }
    if (sum.bad) return dlm_error(DLM_EINTERNAL, "input size of %s overflows", g->name);
    *out = sum;
    return DLM_OK;
}

/* The coefficients of a polynomial in the series' variable, the other fixed. */
static void law_of(const dlm_poly *p, dlm_xvar xv, int64_t fixed, double law[3])
{
    for (int k = 0; k < 3; k++) {
        double v = 0, pw = 1;
        for (int j = 0; j < DLM_POLY_DEG; j++, pw *= (double)fixed) {
            int64_t c = xv == DLM_X_BATCH ? dlm_poly_coef(p, k, j) : dlm_poly_coef(p, j, k);
            v += (double)c * pw;
        }
        law[k] = v;
    }
}

double dlm_input_per_unit(const dlm_poly *input, dlm_xvar xv, int64_t fixed)
{
    double law[3];
    law_of(input, xv, fixed, law);
    return law[1];
}

static int has_attention(const dlm_graph *g)
{
    for (int i = 0; i < g->n_ops; i++)
        if (g->ops[i].kind == DLM_OP_ATTENTION) return 1;
    return 0;
}

/* Keeps input_per_unit (known from the graph alone). */
static dlm_status no_prediction(dlm_prediction *out, const char *fmt, const char *what)
{
    out->have = 0;
    snprintf(out->why, sizeof out->why, fmt, what);
    return DLM_OK;
}

/* The input's growth per unit of x needs only the graph: known even where the
 * memory model has no prediction for the configuration. */
static dlm_status input_growth(const dlm_series *s, const dlm_graph *g, dlm_prediction *out)
{
    int fb = strcmp(s->dtype, "fp16") && strcmp(s->dtype, "bf16") ? 4 : 2;
    dlm_poly in;
    DLM_TRY(dlm_input_bytes_poly(g, fb, &in));
    out->input_per_unit = dlm_input_per_unit(&in, s->xvar, s->fixed);
    return DLM_OK;
}

dlm_status dlm_predict_series(const dlm_series *s, int sm, dlm_prediction *out)
{
    memset(out, 0, sizeof *out);
    {
        /* a built-in, or a config shipped in data/hf by its stem */
        dlm_graph *g0 = NULL;
        dlm_status st0 = dlm_model_build_builtin(s->model, s->set, &g0);
        if (st0 == DLM_EINVAL && !g0 && strstr(dlm_errmsg(), "unknown model"))
            return no_prediction(out, "dlmem has no model named '%s'", s->model);
        if (st0 == DLM_OK) st0 = input_growth(s, g0, out);
        dlm_graph_free(g0);
        if (st0 != DLM_OK) return st0;
    }
    if (strcmp(s->variant, "base") && strcmp(s->variant, ""))
        return no_prediction(out, "variant '%s' is not the model dlmem describes", s->variant);
    if (strcmp(s->checkpoint, "none") && s->checkpoint[0])
        return no_prediction(out, "checkpointing (%s) is not modelled here", s->checkpoint);
    if (strcmp(s->autocast, "none") && s->autocast[0])
        return no_prediction(out, "autocast to %s is not modelled here", s->autocast);

    dlm_mem_config cfg;
    dlm_mem_config_default(&cfg);
    if (dlm_mode_parse(s->mode, &cfg.mode) != DLM_OK)
        return no_prediction(out, "mode '%s' is not one dlmem models", s->mode);
    if (dlm_dtype_parse(s->dtype, &cfg.dtype) != DLM_OK)
        return no_prediction(out, "dtype '%s' is not one dlmem models", s->dtype);
    if (s->attention[0] && dlm_attention_parse(s->attention, &cfg.attention) != DLM_OK)
        return no_prediction(out, "attention '%s' is not one dlmem models", s->attention);
    if (s->optimizer[0] && dlm_optimizer_parse(s->optimizer, &cfg.optimizer) != DLM_OK)
        return no_prediction(out, "optimizer '%s' is not one dlmem models", s->optimizer);
    if (dlm_profile_parse(s->profile, &cfg.profile) != DLM_OK)
        return no_prediction(out, "profile '%s' has no prediction", s->profile);
    cfg.sm = sm > 0 ? sm : dlm_gpu_sm(s->gpu);
    int sm_assumed = cfg.sm <= 0;
    if (sm_assumed) cfg.sm = 90; /* the architecture the shipped workspace rows were measured on */

    dlm_graph *g = NULL;
    dlm_mem_model *m = NULL;
    dlm_status st = dlm_model_build_builtin(s->model, s->set, &g);
    if (st == DLM_OK) st = dlm_mem_model_alloc(g, &cfg, &m);
    if (st != DLM_OK) {
        dlm_graph_free(g);
        return dlm_error_context(st, "predicting %s%s%s%s", s->model, s->set[0] ? " (set " : "",
                                 s->set, s->set[0] ? ")" : "");
    }
    size_t np = (size_t)(s->n > 0 ? s->n : 1);
    out->peak = malloc(np * sizeof *out->peak);
    out->before = malloc(np * sizeof *out->before);
    if (!out->peak || !out->before) st = dlm_error(DLM_ENOMEM, "out of memory");
    double xmin = 0, xmax = 0;
    unsigned used_extra = 0, tried_extra = 0;
    int incomplete = 0; /* points with library workspaces no row gives (lower bounds) */
    for (int i = 0; st == DLM_OK && i < s->n; i++) {
        int64_t x = (int64_t)s->x[i];
        int64_t B = s->xvar == DLM_X_BATCH ? x : s->fixed;
        int64_t T = s->xvar == DLM_X_SEQ ? x : s->fixed;
        /* workspaces the run measured at this point, where the model takes them */
        for (int k = 0; k < s->n_extra && st == DLM_OK; k++) {
            double v = s->extra[k][i];
            if (!(v >= 0)) continue;
            if ((tried_extra & (1u << k)) && !(used_extra & (1u << k))) continue;
            dlm_status si = dlm_mem_model_set_input(m, s->extra_name[k], (int64_t)v);
            tried_extra |= 1u << k;
            if (si == DLM_OK) used_extra |= 1u << k;
            else if (si != DLM_EINVAL) st = si; /* EINVAL: not an input of this model */
        }
        if (st != DLM_OK) break;
        dlm_mem_result r;
        st = dlm_mem_eval(m, B, T, &r);
        if (st == DLM_ERANGE) {
            /* a point outside the model's range (T beyond BERT's positions) */
            char why[200];
            snprintf(why, sizeof why, "%s", dlm_errmsg());
            dlm_prediction_free(out);
            dlm_mem_model_free(m);
            dlm_graph_free(g);
            return no_prediction(out, "%s", why);
        }
        if (st != DLM_OK) break;
        out->peak[i] = (double)r.peak_bytes;
        out->before[i] = (double)r.before_bytes;
        incomplete += !r.complete;
        if (i == 0 || s->x[i] < xmin) xmin = s->x[i];
        if (i == 0 || s->x[i] > xmax) xmax = s->x[i];
    }
    if (st == DLM_OK && s->n > 0) {
        /* the law around the series' middle point (the distinct x nearest to it) */
        double mid = 0.5 * (xmin + xmax), best = s->x[0];
        for (int i = 1; i < s->n; i++)
            if ((s->x[i] - mid) * (s->x[i] - mid) < (best - mid) * (best - mid)) best = s->x[i];
        int64_t B = s->xvar == DLM_X_BATCH ? (int64_t)best : s->fixed;
        int64_t T = s->xvar == DLM_X_SEQ ? (int64_t)best : s->fixed;
        dlm_poly p;
        st = dlm_mem_peak_poly(m, B, T, &p);
        if (st == DLM_OK) {
            law_of(&p, s->xvar, s->fixed, out->law);
            dlm_poly_format(&p, out->formula, sizeof out->formula);
        }
    }
    if (st == DLM_OK) {
        snprintf(out->what, sizeof out->what, "%s profile, sm %d%s, %s %s%s%s%s%s", s->profile,
                 cfg.sm,
                 sm_assumed ? (s->gpu[0] ? " (assumed: the gpu column names no GPU dlmem knows; "
                                           "--sm N sets it)"
                                         : " (assumed: no gpu column; --sm N sets it)")
                            : "",
                 dlm_mode_name(cfg.mode), dlm_dtype_name(cfg.dtype),
                 has_attention(g) ? " " : "",
                 has_attention(g) ? dlm_attention_name(cfg.attention) : "",
                 s->set[0] ? "; set " : "", s->set);
        for (int k = 0; k < s->n_extra; k++)
            if (used_extra & (1u << k)) {
                size_t L = strlen(out->what);
                snprintf(out->what + L, sizeof out->what - L, "%s%s",
                         strstr(out->what, "; measured ") ? ", " : "; measured ",
                         s->extra_name[k]);
            }
        if (incomplete) { /* never a complete-looking prediction with unknown terms */
            size_t L = strlen(out->what);
            snprintf(out->what + L, sizeof out->what - L, "; INCOMPLETE at %d of %d points (cuDNN "
                     "workspaces without probed rows counted 0 B: lower bounds)", incomplete, s->n);
        }
        out->have = 1;
    } else {
        dlm_prediction_free(out);
    }
    dlm_mem_model_free(m);
    dlm_graph_free(g);
    return st;
}

dlm_status dlm_predict_peak_poly(const char *model, const char *settings, const char *mode,
                                 int sm, int64_t B, int64_t T, dlm_poly *out, char *formula,
                                 size_t n)
{
    dlm_mem_config cfg;
    dlm_mem_config_default(&cfg);
    DLM_TRY(dlm_mode_parse(mode, &cfg.mode));
    cfg.sm = sm;
    dlm_graph *g = NULL;
    dlm_mem_model *m = NULL;
    dlm_status st = dlm_model_build_builtin(model, settings, &g);
    if (st == DLM_OK) st = dlm_mem_model_alloc(g, &cfg, &m);
    if (st == DLM_OK) st = dlm_mem_peak_poly(m, B, T, out);
    if (st == DLM_OK && formula) dlm_poly_format(out, formula, n);
    dlm_mem_model_free(m);
    dlm_graph_free(g);
    return st;
}
