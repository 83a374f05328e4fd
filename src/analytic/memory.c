/* memory.c — the public memory model (memory.h): compiling a graph +
 * configuration into a timeline once, evaluating it per point.  The names,
 * parsers and defaults of a configuration live in memconfig.c, the walker in
 * trace.c, the rules per op family in ops/, the evaluation in timeline.c. */
#include "memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/paths.h"
#include "convtab.h"
#include "timeline.h"
#include "trace.h"

struct dlm_mem_model {
    const dlm_graph *g;
    dlm_mem_config cfg;
    dlm_timeline *t;
    dlm_mem_layer *layers;
    dlm_op_range *checkpoint; /* the model's copy of cfg.checkpoint */
    int used[DLM_MAX_NAMED]; /* named terms that occur in the timeline */
    dlm_convtab *convtab;    /* measured fp32 convolution workspaces (pytorch profile) */
    dlm_trace_info info;     /* what the timeline took from it */
    int conv_fp32;           /* the model has fp32 convolutions on cuDNN (pytorch profile) */
};

/* ---- compile ------------------------------------------------------------------------ */

#define CONVTAB_FILE "cudnn/conv_workspace.csv"

/* The pytorch profile's fp32 convolutions take their cuDNN workspace from the
 * measured table (convtab.h); a missing file leaves them not known. */
static dlm_status load_convtab(dlm_mem_model *m)
{
    char path[1024];
    if (m->cfg.profile != DLM_PROFILE_PYTORCH || m->cfg.dtype != DLM_DTYPE_FP32) return DLM_OK;
    for (int o = 0; o < m->g->n_ops; o++) m->conv_fp32 |= m->g->ops[o].kind == DLM_OP_CONV2D;
    if (!m->conv_fp32 || !dlm_data_path(CONVTAB_FILE, path, sizeof path)) return DLM_OK;
    return dlm_convtab_load(path, &m->convtab);
}

void dlm_mem_note(const dlm_mem_model *m, int64_t B, char *buf, size_t n)
{
    const dlm_trace_info *in = &m->info;
    buf[0] = '\0';
    if (!m->conv_fp32) return;
    if (!m->convtab) {
        snprintf(buf, n, "cudnn_conv_workspace: not known (no data/%s): 0 B counted for the fp32 "
                 "convolutions' cuDNN workspaces", CONVTAB_FILE);
        return;
    }
    if (!in->series) {
        if (dlm_convtab_has(m->convtab, m->cfg.sm, "fp32"))
            snprintf(buf, n, "cudnn_conv_workspace: not known (data/%s has none of this model's "
                     "conv shapes): 0 B counted", CONVTAB_FILE);
        else
            snprintf(buf, n, "cudnn_conv_workspace: not known for sm_%d (data/%s has %s): 0 B "
                     "counted for the fp32 convolutions' cuDNN workspaces", m->cfg.sm, CONVTAB_FILE,
                     dlm_convtab_has(m->convtab, 90, "fp32") ? "sm_90 only" : "other GPUs only");
        return;
    }
    const dlm_conv_series *s = in->series;
    dlm_conv_how how;
    int64_t lo, hi;
    dlm_conv_series_at(s->B, s->bytes, s->n, B, NULL, &how, &lo, &hi);
    char bs[96] = "";
    for (int i = 0; i < s->n; i++) {
        size_t l = strlen(bs);
        snprintf(bs + l, sizeof bs - l, "%s%lld", i ? "," : "", (long long)s->B[i]);
    }
    char rule[96];
    if (how == DLM_CONV_MEASURED) snprintf(rule, sizeof rule, "B=%lld measured", (long long)B);
    else if (how == DLM_CONV_INTERPOLATED)
        snprintf(rule, sizeof rule, "B=%lld interpolated between B=%lld and B=%lld", (long long)B,
                 (long long)lo, (long long)hi);
    else snprintf(rule, sizeof rule, "B=%lld scaled from B=%lld (outside the table)", (long long)B,
                  (long long)lo);
    char unk[64] = "";
    if (in->conv_unknown)
        snprintf(unk, sizeof unk, "; %d of %d not in it: 0 B (not known)", in->conv_unknown,
                 in->conv_unknown + in->conv_measured);
    snprintf(buf, n, "cudnn_conv_workspace: fp32 engines measured on %s (sm_%d) at B=%s; %s%s",
             m->convtab->gpu, s->sm, bs, rule, unk);
}

dlm_status dlm_mem_model_alloc(const dlm_graph *g, const dlm_mem_config *cfg, dlm_mem_model **out)
{
    *out = NULL;
    if (cfg->sm < 10 || cfg->sm > 200)
        return dlm_error(DLM_ERANGE, "compute capability %d.%d out of range", cfg->sm / 10,
                         cfg->sm % 10);
    /* An op, or a configuration of an op, without a rule is refused by name
     * (the decoders' ops have inference rules only; ViT's none yet): never guessed. */
    DLM_TRY(dlm_trace_supports(g, cfg));
    dlm_mem_model *m = calloc(1, sizeof *m);
    if (!m) return dlm_error(DLM_ENOMEM, "out of memory");
    m->g = g;
    m->cfg = *cfg;
    dlm_status st = DLM_OK;
    if (cfg->n_checkpoint > 0) {
        m->checkpoint = malloc((size_t)cfg->n_checkpoint * sizeof *m->checkpoint);
        if (!m->checkpoint) st = dlm_error(DLM_ENOMEM, "out of memory");
        else memcpy(m->checkpoint, cfg->checkpoint, (size_t)cfg->n_checkpoint * sizeof *m->checkpoint);
    } else {
        m->cfg.n_checkpoint = 0;
    }
    m->cfg.checkpoint = m->checkpoint;
    if (st == DLM_OK) st = tl_create(&m->t);
    if (st == DLM_OK && !(m->layers = calloc((size_t)g->n_ops + 1, sizeof *m->layers)))
        st = dlm_error(DLM_ENOMEM, "out of memory");
    if (st == DLM_OK) st = load_convtab(m);
    if (st == DLM_OK) st = dlm_trace_build(g, &m->cfg, m->convtab, m->t, m->layers, &m->info);
    if (st == DLM_OK) st = tl_finish(m->t, cfg->profile == DLM_PROFILE_PYTORCH);
    if (st != DLM_OK) {
        dlm_mem_model_free(m);
        return st;
    }
    for (int s = 0; s < m->t->n_slots; s++)
        if (m->t->slots[s].named >= 0) m->used[m->t->slots[s].named] = 1;
    *out = m;
    return DLM_OK;
}

void dlm_mem_model_free(dlm_mem_model *m)
{
    if (!m) return;
    tl_destroy(m->t);
    dlm_convtab_free(m->convtab);
    free(m->layers);
    free(m->checkpoint);
    free(m);
}

const dlm_graph *dlm_mem_model_graph(const dlm_mem_model *m) { return m->g; }
const dlm_mem_config *dlm_mem_model_config(const dlm_mem_model *m) { return &m->cfg; }

void dlm_mem_layers(const dlm_mem_model *m, const dlm_mem_layer **layers, int *n)
{
    *layers = m->layers;
    *n = m->g->n_ops;
}

dlm_status dlm_mem_model_set_input(dlm_mem_model *m, const char *name, int64_t bytes)
{
    if (bytes < 0) return dlm_error(DLM_ERANGE, "workspace %s: %lld bytes is negative", name,
                                    (long long)bytes);
    for (int i = 0; i < m->t->n_named; i++)
        if (!strcmp(m->t->named[i], name) && m->t->named_size[i] >= 0) {
            m->t->sizes[m->t->named_size[i]] = dlm_poly_const(bytes);
            return DLM_OK;
        }
    char list[400] = "";
    for (int i = 0; i < m->t->n_named; i++)
        if (m->t->named_size[i] >= 0) {
            strncat(list, list[0] ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, m->t->named[i], sizeof list - strlen(list) - 1);
        }
    return dlm_error(DLM_EINVAL, "'%s' is not a workspace input of this model (valid: %s)", name,
                     list[0] ? list : "none");
}

/* ---- evaluate ------------------------------------------------------------------------- */

static dlm_status check_point(const dlm_graph *g, const dlm_mem_config *c, int64_t B, int64_t T)
{
    if (B <= 0 || B > 1000000000)
        return dlm_error(DLM_ERANGE, "batch %lld is out of range (valid: 1 to 1000000000)",
                         (long long)B);
    if (g->uses_T) {
        int64_t hi = g->max_T > 0 ? g->max_T : 100000000;
        if (T < 1 || T > hi)
            return dlm_error(DLM_ERANGE, "sequence length %lld is out of range for %s (valid: 1 to "
                             "%lld%s)", (long long)T, g->name, (long long)hi,
                             g->max_T > 0 ? ", its position embeddings" : "");
        if (c->rnn_chunks > 1 && T < c->rnn_chunks)
            return dlm_error(DLM_ERANGE, "sequence length %lld is shorter than the %d chunks of "
                             "time steps (valid: %d to %lld)", (long long)T, c->rnn_chunks,
                             c->rnn_chunks, (long long)hi);
    }
    return DLM_OK;
}

/* tl_eval, with the layer named when a size or a sum does not fit in 64 bits. */
static dlm_status eval_at(const dlm_mem_model *m, int64_t B, int64_t T, tl_result *r)
{
    dlm_status st = tl_eval(m->t, B, T, r);
    if (st != DLM_ERANGE) return st;
    char at[64] = "";
    if (m->g->uses_T) snprintf(at, sizeof at, ", T=%lld", (long long)T);
    if (r->err_op >= 0)
        return dlm_error_context(st, "%s at B=%lld%s: layer %s", m->g->name, (long long)B, at,
                                 m->g->ops[r->err_op].name);
    return dlm_error_context(st, "%s at B=%lld%s", m->g->name, (long long)B, at);
}

static void describe_peak(const dlm_mem_model *m, int ev, dlm_mem_result *out)
{
    const dlm_timeline *t = m->t;
    if (ev < 0) {
        snprintf(out->peak_where, sizeof out->peak_where, "start of the step");
        out->peak_phase = DLM_PHASE_FORWARD;
        out->peak_op = -1;
        return;
    }
    const tl_event *e = &t->ev[ev];
    out->peak_phase = (dlm_phase)e->phase;
    out->peak_op = e->op;
    const char *what = e->kind == TL_ALLOC ? t->slots[e->slot].what : "resident";
    if (e->kind == TL_RESET)
        snprintf(out->peak_where, sizeof out->peak_where, "start of the step (resident memory)");
    else if (e->phase == DLM_PHASE_STEP)
        snprintf(out->peak_where, sizeof out->peak_where, "optimizer step (%s)", what);
    else if (e->op < 0)
        snprintf(out->peak_where, sizeof out->peak_where, "%s of the loss (%s)",
                 dlm_phase_name((dlm_phase)e->phase), what);
    else
        snprintf(out->peak_where, sizeof out->peak_where, "%s of %s (%s)",
                 dlm_phase_name((dlm_phase)e->phase), m->g->ops[e->op].name, what);
}

dlm_status dlm_mem_eval(const dlm_mem_model *m, int64_t B, int64_t T, dlm_mem_result *out)
{
    tl_result r;
    if (!m->g->uses_T) T = 1;
    DLM_TRY(check_point(m->g, &m->cfg, B, T));
    DLM_TRY(eval_at(m, B, T, &r));
    memset(out, 0, sizeof *out);
    out->peak_bytes = r.peak;
    memcpy(out->by_term, r.by_term, sizeof r.by_term);
    out->before_bytes = r.before;
    out->after_bytes = r.after;
    describe_peak(m, r.peak_ev, out);
    for (int i = 0; i < m->t->n_named; i++) {
        if (!m->used[i]) continue;
        snprintf(out->named[out->n_named].name, sizeof out->named[0].name, "%s", m->t->named[i]);
        out->named[out->n_named++].bytes = r.named[i];
    }
    if (m->cfg.profile == DLM_PROFILE_PYTORCH && out->n_named < DLM_MAX_NAMED) {
        snprintf(out->named[out->n_named].name, sizeof out->named[0].name, "allocator_rounding");
        out->named[out->n_named++].bytes = r.by_term[DLM_TERM_ROUNDING];
    }
    return DLM_OK;
}

dlm_status dlm_mem_peak_poly(const dlm_mem_model *m, int64_t B, int64_t T, dlm_poly *out)
{
    tl_result r;
    if (!m->g->uses_T) T = 1;
    DLM_TRY(check_point(m->g, &m->cfg, B, T));
    DLM_TRY(eval_at(m, B, T, &r));
    *out = tl_live_poly(m->t, r.peak_ev, B, T);
    if (out->bad)
        return dlm_error(DLM_ERANGE, "%s at B=%lld: the peak's formula has a coefficient that "
                         "does not fit in 64 bits", m->g->name, (long long)B);
    return DLM_OK;
}

dlm_status dlm_mem_oplog(const dlm_mem_model *m, int64_t B, int64_t T, dlm_mem_opstep *out,
                         int cap, int *n)
{
    tl_result r;
    const dlm_timeline *t = m->t;
    if (!m->g->uses_T) T = 1;
    DLM_TRY(check_point(m->g, &m->cfg, B, T));
    DLM_TRY(eval_at(m, B, T, &r)); /* leaves each slot's block in t->blk */
    int64_t cur = 0;
    int k = 0, open = 0, started = t->reset_at < 0;
    dlm_mem_opstep s = {DLM_PHASE_FORWARD, -1, 0, 0, 0};
    for (int i = 0; i < t->n_ev; i++) {
        const tl_event *e = &t->ev[i];
        if (e->kind == TL_RESET) {
            started = 1;
            continue;
        }
        if (e->kind == TL_MARK) { /* another library call of the same op: a run of its own */
            if (open && k < cap) out[k] = s;
            if (open) k++;
            open = 0;
            continue;
        }
        if (started && (!open || e->op != s.op || e->phase != (uint8_t)s.phase)) {
            if (open && k < cap) out[k] = s;
            if (open) k++;
            s = (dlm_mem_opstep){(dlm_phase)e->phase, e->op, cur, cur, cur};
            open = 1;
        }
        cur += e->kind == TL_ALLOC ? t->blk[e->slot] : -t->blk[e->slot];
        if (open) {
            if (cur > s.peak) s.peak = cur;
            s.after = cur;
        }
    }
    if (open && k < cap) out[k] = s;
    *n = k + open;
    return DLM_OK;
}

dlm_status dlm_mem_predict(const dlm_graph *g, const dlm_mem_config *cfg, int64_t B, int64_t T,
                           dlm_mem_result *out)
{
    dlm_mem_model *m;
    DLM_TRY(dlm_mem_model_alloc(g, cfg, &m));
    dlm_status st = dlm_mem_eval(m, B, T, out);
    dlm_mem_model_free(m);
    return st;
}
