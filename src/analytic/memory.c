/* memory.c — the public memory model (memory.h): compiling a graph +
 * configuration into a timeline once, evaluating it per point.  The names,
 * parsers and defaults of a configuration live in memconfig.c, the walker in
 * trace.c, the rules per op family in ops/, the evaluation in timeline.c. */
#include "memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/paths.h"
#include "timeline.h"
#include "trace.h"
#include "workspaces.h"

struct dlm_mem_model {
    const dlm_graph *g;
    dlm_mem_config cfg;
    dlm_timeline *t;
    dlm_mem_layer *layers;
    dlm_op_range *checkpoint; /* the model's copy of cfg.checkpoint */
    int used[DLM_MAX_NAMED]; /* named terms that occur in the timeline */
    const dlm_ws_db *ws;     /* library workspace rows (not owned) */
    int cudnn;               /* the cuDNN version the prediction assumes */
    char ws_files[400];      /* the files with rows for this architecture */
    dlm_trace_info info;     /* what the timeline took from them */
};

/* ---- compile ------------------------------------------------------------------------ */

/* The default workspace rows (user cache + shipped files), read once per
 * process on first use and kept until exit: every model compiled without
 * its own database shares them (read-only after dlm_ws_db_finish). */
static dlm_ws_db *default_ws;

static dlm_status default_workspaces(const dlm_ws_db **out)
{
    if (!default_ws) {
        dlm_ws_db *db;
        DLM_TRY(dlm_ws_db_alloc(&db));
        dlm_status st = dlm_ws_db_read_defaults(db);
        if (st == DLM_OK) st = dlm_ws_db_finish(db);
        if (st != DLM_OK) {
            dlm_ws_db_free(db);
            return st;
        }
        default_ws = db;
    }
    *out = default_ws;
    return DLM_OK;
}

void dlm_mem_unknown_list(const dlm_mem_model *m, const dlm_mem_result *r, char *buf, size_t n)
{
    buf[0] = '\0';
    for (int i = 0; i < r->n_unknown && i < DLM_MAX_UNKNOWN; i++) {
        const dlm_mem_unknown *u = &r->unknown[i];
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s (%s%s)", i ? ", " : "",
                 u->op >= 0 ? m->g->ops[u->op].name : u->term, u->call,
                 u->no_engine ? ": no engine" : "");
    }
    if (r->n_unknown > DLM_MAX_UNKNOWN) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, " and %d more", r->n_unknown - DLM_MAX_UNKNOWN);
    }
}

static void conv_note(const dlm_mem_model *m, int64_t B, char *buf, size_t n)
{
    const dlm_trace_info *in = &m->info;
    (void)B;
    buf[0] = '\0';
    if (!in->ws_terms) return;
    const char *files = m->ws_files;
    if (!files[0])
        snprintf(buf, n, "library workspaces: no probed or measured rows for sm_%d; every cuDNN "
                 "workspace and reserve is not known", m->cfg.sm);
    else if (in->ws_missing == in->ws_terms)
        snprintf(buf, n, "library workspaces: none of this model's cuDNN calls has rows for sm_%d "
                 "(cuDNN %d) in %s", m->cfg.sm, m->cudnn, files);
    else
        snprintf(buf, n, "library workspaces: exact rows for sm_%d from %s%s; the prediction "
                 "assumes cuDNN %d", m->cfg.sm, files, in->ws_missing ? " (some ops have none)" : "",
                 m->cudnn);
}

/* The runtime's library workspaces are known without a measurement now:
 * its RNN workspaces come from dlmem probe's dlmem-runtime rows (ops/rnn.c:
 * not known where no row is, like any library row), it keeps no RNN reserve
 * in inference, and its convolution workspaces are allocated around each
 * convolution inside the plan's headroom (--conv-workspace auto, plan.h), so
 * whatever engine its timing picks adds nothing to the peak and the resident
 * cudnn_conv_workspace term is 0 B by construction; a resident buffer
 * (--conv-workspace SIZE) is modelled by giving its size, --input
 * cudnn_conv_workspace=BYTES, as `dlmem measure` reports it.  No named input
 * is left that only a measurement gives. */
/* What --parallel's prediction rests on (parallel.h), and what it leaves out. */
static void parallel_note(const dlm_mem_model *m, char *buf, size_t n)
{
    const dlm_mem_config *c = &m->cfg;
    buf[0] = '\0';
    if (c->parallel == DLM_PAR_NONE) return;
    int N = c->gpus > 0 ? c->gpus : 1;
    char rank[48], path[1024];
    if (c->rank >= 0) snprintf(rank, sizeof rank, "rank %d", c->rank);
    else snprintf(rank, sizeof rank, "the rank keeping the most");
    snprintf(buf, n, "parallel %s on %d GPU%s, %s, batch per GPU: rules read from PyTorch 2.11's "
             "source; %s; NCCL's own buffers (outside max_memory_allocated) not counted",
             dlm_parallel_name(c->parallel), N, N > 1 ? "s" : "", rank,
             N > 1 ? "multi-GPU points not measured on 2 GPUs"
                   : dlm_data_path("reference/parallel_ws1.csv", path, sizeof path)
                         ? "world size 1 measured with PyTorch (data/reference/parallel_ws1.csv)"
                         : "not measured with PyTorch");
}

void dlm_mem_note(const dlm_mem_model *m, int64_t B, char *buf, size_t n)
{
    char p[320];
    conv_note(m, B, buf, n);
    parallel_note(m, p, sizeof p);
    if (!p[0]) return;
    size_t l = strlen(buf);
    if (l) snprintf(buf + l, n - l, "; %s", p);
    else snprintf(buf, n, "%s", p);
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
    /* ops whose library workspaces come from rows: PyTorch's cuDNN convolutions
     * (transposed too) and RNNs; the runtime's RNNs (dlmem-runtime rows) */
    int libs = 0, pt = cfg->profile == DLM_PROFILE_PYTORCH;
    for (int o = 0; o < g->n_ops; o++)
        libs |= g->ops[o].kind == DLM_OP_RNN ||
                (pt && (g->ops[o].kind == DLM_OP_CONV2D || g->ops[o].kind == DLM_OP_CONVT2D));
    if (st == DLM_OK && libs) {
        if (cfg->workspaces) m->ws = cfg->workspaces;
        else st = default_workspaces(&m->ws);
        m->cudnn = cfg->cudnn_version > 0 ? cfg->cudnn_version
                                          : dlm_ws_db_newest_version(m->ws, cfg->sm);
        dlm_ws_db_sources_for(m->ws, cfg->sm, m->ws_files, sizeof m->ws_files);
    }
    if (st == DLM_OK) st = dlm_trace_build(g, &m->cfg, m->ws, m->cudnn, m->t, m->layers, &m->info);
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

/* Whether some slot of the timeline belongs to named term i. */
static int named_has_slot(const dlm_timeline *t, int i)
{
    for (int k = 0; k < t->n_slots; k++)
        if (t->slots[k].named == i) return 1;
    return 0;
}

dlm_status dlm_mem_model_set_input(dlm_mem_model *m, const char *name, int64_t bytes)
{
    if (bytes < 0) return dlm_error(DLM_ERANGE, "workspace %s: %lld bytes is negative", name,
                                    (long long)bytes);
    dlm_timeline *t = m->t;
    for (int i = 0; i < t->n_named; i++) {
        if (strcmp(t->named[i], name)) continue;
        if (t->named_size[i] >= 0) {
            t->sizes[t->named_size[i]] = dlm_poly_const(bytes);
            return DLM_OK;
        }
        /* a term of the runtime profile sized from rows op by op (its RNN
         * workspaces from dlmem-runtime rows): a measured total replaces them,
         * held by the first, the others 0 B */
        int done = 0;
        for (int k = 0; m->cfg.profile == DLM_PROFILE_RUNTIME && k < t->n_slots; k++) {
            if (t->slots[k].named != i) continue;
            int sz = t->slots[k].size;
            t->ext[sz].kind = TL_SIZE_POLY;
            t->sizes[sz] = dlm_poly_const(done ? 0 : bytes);
            done = 1;
        }
        if (done) return DLM_OK;
    }
    char list[400] = "";
    for (int i = 0; i < m->t->n_named; i++)
        if (m->t->named_size[i] >= 0 ||
            (m->cfg.profile == DLM_PROFILE_RUNTIME && named_has_slot(m->t, i))) {
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

/* The terms tl_eval() found no row for, one entry per (term, op, call). */
static void fill_unknown(const dlm_mem_model *m, const tl_result *r, int64_t B, int64_t T,
                         dlm_mem_result *out)
{
    out->cudnn_assumed = m->info.ws_terms ? m->cudnn : 0;
    out->cudnn_rows = r->other_version;
    for (int k = 0; k < r->n_unknown; k++) {
        const dlm_ws_row *w = NULL;
        /* one per (op, call, term) already (tl_eval); beyond TL_MAX_UNKNOWN
         * counted, not named */
        int i = k < TL_MAX_UNKNOWN ? r->unknown[k] : -1;
        if (i >= 0 && out->n_unknown < DLM_MAX_UNKNOWN) {
            const tl_size_ext *x = &m->t->ext[i];
            dlm_mem_unknown *u = &out->unknown[out->n_unknown];
            int64_t Tc = tl_chunk_len(T, x->chunk_k, x->chunk_i);
            snprintf(u->term, sizeof u->term, "%s", x->ws_term);
            snprintf(u->call, sizeof u->call, "%s", x->ws_call);
            u->op = x->ws_op;
            u->phase = (dlm_phase)x->ws_phase;
            u->batch = dlm_poly_eval(&x->ws_batch, B, Tc);
            u->seq = dlm_poly_eval(&x->ws_seq, B, Tc);
            tl_size_row(m->t, i, B, T, &w);
            u->no_engine = w && !w->ok;
        }
        out->n_unknown++;
    }
    out->complete = out->n_unknown == 0;
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
    fill_unknown(m, &r, B, T, out);
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
