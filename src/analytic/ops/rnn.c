/* rnn.c — the rule of the recurrent ops (nn.LSTM, nn.GRU through cuDNN), the
 * cuDNN RNN workspace and reserve lookups, and the RNN run in chunks of time
 * steps (see rule.h).
 *
 * PyTorch 2.11: zero hx/cx when none is given, _cudnn_rnn: output, h_n,
 * c_n, workspace (transient), reserve (train, saved) — both from rows
 * (libws.c); in chunks of time
 * steps (cfg->rnn_chunks): one call per chunk, each under a checkpoint (see
 * "RNN in chunks" below).  nn.LSTM flattens its weights into one cuDNN
 * buffer after .to() where cuDNN accepts the dtype.
 */
#include "rule.h"

#include <stdio.h>
#include <stdlib.h>

/* cuDNN RNN workspace and reserve (cudnnGetRNNTempSpaceSizes inside
 * PyTorch's _cudnn_rnn, RNN.cpp): the forward's workspace (transient) and,
 * training, its reserve (kept for backward), queried with
 * CUDNN_FWD_MODE_TRAINING when autograd records (call "training") or
 * INFERENCE ("inference"); each of _cudnn_rnn_backward's two library calls
 * (backward data, then backward weights) queries again and allocates a
 * fresh workspace ("backward").  get_algo picks the algorithm (standard or
 * persistent) by hidden size, dtype, batch and device, and the sizes follow
 * it: rows per (input, hidden, layers, batch, steps), no law (the laws read
 * off the seed's sizes missed by -14% to -18% at others).  The batch is the
 * input's second dimension (T, B, I), the steps its first (a chunk's length
 * when the RNN runs in chunks: the timeline evaluates it there). */
static int rnn_ws(tr *r, int o, const char *call, int field)
{
    const dlm_op *op = &r->g->ops[o];
    const dlm_tensor *x = TT(r, op->in[0]);
    char key[96];
    dlm_ws_rnn_key(key, sizeof key, op->a.rnn.input, op->a.rnn.hidden, op->a.rnn.layers,
                   op->a.rnn.bias, 1, 0);
    return tr_ws_rows(r, o, op->a.rnn.cell == DLM_RNN_LSTM ? "lstm" : "gru", call, "-", key,
                      x->shape[1], x->shape[0], field,
                      field ? "cudnn_rnn_reserve" : "cudnn_rnn_workspace",
                      field ? DLM_TERM_SAVED : DLM_TERM_WORKSPACE, field ? r->nm_rnn_res : r->nm_rnn_ws,
                      field ? "cuDNN RNN reserve (rows)" : "cuDNN RNN workspace (rows)");
}

static int rnn_workspace(tr *r, int o, int backward)
{
    int rec = r->record;
    if (backward) r->record = 0; /* the layer table names the forward's terms */
    int s = rnn_ws(r, o, backward ? "backward" : r->grad ? "training" : "inference", 0);
    if (backward && rec) r->info->ws_terms++;
    r->record = rec;
    return s;
}

/* nn.LSTM flattens its weights into one cuDNN buffer when cuDNN accepts the
 * dtype (torch.backends.cudnn.is_acceptable: half, float, double); bf16
 * weights stay apart and every _cudnn_rnn call copies them into a fresh
 * buffer (oplog: +1,785,856 B for the seed's LSTM in bf16). */
static int rnn_flattened(const tr *r) { return r->cfg->dtype != DLM_DTYPE_BF16; }

static dlm_poly rnn_weight_bytes(const tr *r, const dlm_op *op, int elem)
{
    dlm_poly wb = P(0);
    for (int i = 0; i < op->n_params; i++) wb = dlm_poly_add(wb, numel(r, op->params[i]));
    return mulk(wb, elem);
}

/* Bytes of an RNN op's state (h or c: layers x B x hidden). */
static dlm_poly rnn_state_bytes(const tr *r, const dlm_op *op)
{
    return mulk(TT(r, op->in[0])->shape[1], (int64_t)op->a.rnn.layers * op->a.rnn.hidden * r->fb);
}

/* One _cudnn_rnn call of op o from state hx_in/cx_in (-1: the zero state
 * nn.LSTM makes when given none), its outputs into outs[] (and r->slot),
 * its workspace and, with autograd, its reserve; saves what the node keeps. */
static void rnn_call(tr *r, int o, int hx_in, int cx_in, int *outs)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    int lstm = op->a.rnn.cell == DLM_RNN_LSTM;
    dlm_poly state = rnn_state_bytes(r, op);
    int hx = hx_in, cx = cx_in, zh = -1, zc = -1, ws = -1, res = -1, wcopy = -1;
    if (r->torch) {
        if (hx < 0) hx = zh = tr_temp(r, o, state, DLM_TERM_TRANSIENT, -1, "h0 zeros");
        if (lstm && cx < 0) cx = zc = tr_temp(r, o, state, DLM_TERM_TRANSIENT, -1, "c0 zeros");
        tr_weight_casts(r, o); /* autocast: half copies, no longer one flat buffer */
        if (!rnn_flattened(r) || r->mixed)
            wcopy = tr_temp(r, o, rnn_weight_bytes(r, op, r->mixed ? 2 : r->pb), DLM_TERM_WORKSPACE,
                         -1, "cuDNN weight copy");
    }
    for (int k = 0; k < op->n_out; k++) outs[k] = tr_out_new(r, o, k);
    if (r->torch) {
        ws = rnn_workspace(r, o, 0);
        if (r->grad)
            res = rnn_ws(r, o, "training", 1);
    }
    if (r->grad) {
        tr_save(r, o, S(r, x), "input");
        tr_save(r, o, hx, "h0");
        tr_save(r, o, cx, "c0");
        tr_save(r, o, outs[0], "output");
        tr_save(r, o, res, "cuDNN reserve");
        tr_save(r, o, wcopy, "weight copy");
    }
    tl_unref(r->t, ws);
    tl_unref(r->t, res);
    tl_unref(r->t, wcopy);
    tl_unref(r->t, zh);
    tl_unref(r->t, zc);
}

/* ---- RNN in chunks of time steps (cfg->rnn_chunks = K) --------------------------------
 *
 * tools/torch_reference.py's SeedRNN with chunks = K:
 *     state = []
 *     for xc in x.tensor_split(K):      # views
 *         out, *state = checkpoint(run_chunk, xc, *state, use_reentrant=False)
 *     return self.fc(out[-1])
 * Forward (with autograd): each chunk's _cudnn_rnn keeps holders only, so its
 * reserve goes with the call; chunk k's checkpoint (_NoopSaveInputs) keeps
 * the state it was given (chunk k-1's h_n, c_n) until chunk k's backward has
 * run; the previous chunk's output goes when `out` is rebound.  Backward:
 * autograd reaches the chunks last first; each one's first unpack reruns it
 * with saving (early stop: the recomputed h_n, c_n go as the call unwinds),
 * then _cudnn_rnn_backward runs with zeros for the gradients nothing gave
 * (the output of every chunk but the last, the last chunk's h_n, c_n) and
 * hands the gradients of its initial state to the chunk before; the weight
 * gradients of the K calls meet in autograd's input buffers
 * (rnn_chunk_grads).  Every
 * T-dependent size inside a chunk is at that chunk's length (tl_chunk).
 * Without autograd (infer) the chunks run as plain calls.  The lifetimes
 * (what each chunk keeps, when the states go) were checked on the CPU with
 * the reference script itself: tools/dryrun_rnn_chunks.py. */

static int *rnn_kept(tr *r, int o, int k) { return &r->kept[((size_t)o * r->K + k) * 2]; }

/* Chunk k's checkpoint of op o is gone: the state it kept with it. */
static void rnn_frame_release(tr *r, int o, int k)
{
    char *f = &r->frame[(size_t)o * r->K + k];
    if (!*f) return;
    *f = 0;
    int *kp = rnn_kept(r, o, k);
    for (int j = 0; j < 2; j++) {
        tl_unref(r->t, kp[j]);
        kp[j] = -1;
    }
}

static void fwd_rnn_chunks(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int K = r->K, ns = op->n_out - 1, rec = r->record;
    int prev[DLM_OP_MAX_OUT] = {-1, -1, -1};
    r->record = 0;
    for (int k = 0; k < K; k++) {
        int outs[DLM_OP_MAX_OUT] = {-1, -1, -1};
        if (k > 0) tl_mark(r->t); /* another cuDNN call */
        if (r->grad && k > 0) { /* checkpoint(run_chunk, xc, h, c): its frame keeps h, c */
            int *kp = rnn_kept(r, o, k);
            for (int j = 0; j < ns && j < 2; j++) {
                tl_ref(r->t, prev[1 + j]);
                set_term(r, prev[1 + j], DLM_TERM_SAVED);
                kp[j] = prev[1 + j];
            }
            r->frame[(size_t)o * K + k] = 1;
        }
        tl_chunk(r->t, K, k);
        r->nosave = r->grad;
        rnn_call(r, o, k > 0 ? prev[1] : -1, k > 0 && ns > 1 ? prev[2] : -1, outs);
        r->nosave = 0;
        tl_chunk(r->t, 0, 0);
        /* `out, *state = ...`: Python lets go of the previous chunk's output and state */
        for (int j = 0; j < op->n_out; j++) {
            tl_unref(r->t, prev[j]);
            prev[j] = outs[j];
        }
    }
    for (int j = 0; j < op->n_out; j++) r->slot[op->out[j]] = prev[j];
    r->tchunk[op->out[0]] = K - 1; /* out[-1] reads the last chunk's output */
    r->record = rec;
    if (rec) {
        dlm_mem_layer *L = &r->L[o];
        L->out_bytes = nbytes(r, op->out[0]);
        for (int j = 1; j < op->n_out; j++) L->out_bytes = dlm_poly_add(L->out_bytes, mulk(nbytes(r, op->out[j]), K));
        if (r->grad) {
            L->saved_bytes = mulk(rnn_state_bytes(r, op), (int64_t)(K - 1) * ns);
            snprintf(L->saved, sizeof L->saved, "%s at each of the %d chunk boundaries (the "
                     "checkpoints keep them)", ns > 1 ? "h, c" : "h", K - 1);
        }
        snprintf(L->temp, sizeof L->temp, "in each of %d calls: cuDNN RNN workspace%s at T/%d steps",
                 K, r->grad ? " and reserve" : "", K);
    }
}

/* One _cudnn_rnn_backward of op o: the gradients gin[] of h_n (, c_n) (-1:
 * zeros made here; gs[] gets what was used), the input's gradient *dx and
 * the initial state's dstate[], its workspace, the flat weight gradient
 * handed to the parameters (or, with dw_out, returned).  The caller
 * releases the rest. */
static void rnn_bwd_call(tr *r, int o, const int *gin, int *gs, int *dx, int *dstate, int *dw_out)
{
    const dlm_op *op = &r->g->ops[o];
    dlm_poly state = rnn_state_bytes(r, op);
    int lstm = op->a.rnn.cell == DLM_RNN_LSTM;
    gs[0] = gs[1] = dstate[0] = dstate[1] = -1;
    for (int k = 1; k < op->n_out && k <= 2; k++)
        gs[k - 1] = gin[k - 1] >= 0 ? gin[k - 1]
                    : (r->torch ? new_slot(r, state, DLM_TERM_TRANSIENT, -1, "grad h_n zeros") : -1);
    *dx = tr_grad_new(r, op->in[0], "grad input");
    for (int k = 0; k < (lstm ? 2 : 1); k++)
        dstate[k] = new_slot(r, state, DLM_TERM_TRANSIENT, -1, "grad h0");
    int ws = r->torch ? rnn_workspace(r, o, 1) : -1;
    tl_unref(r->t, ws);
    /* one flat weight-gradient buffer; the parameters' grads are views */
    int dw = new_slot(r, rnn_weight_bytes(r, op, r->mixed ? 2 : r->pb), DLM_TERM_GRADS, -1,
                      "parameter gradients (flat)");
    ws = r->torch ? rnn_workspace(r, o, 1) : -1;
    tl_unref(r->t, ws);
    if (dw_out) {
        *dw_out = dw;
        return;
    }
    for (int i = 0; i < op->n_params; i++) {
        if (r->mixed) { /* the half gradients cast to each fp32 parameter */
            tr_param_grad(r, op->params[i], tr_pgrad_new(r, op->params[i]));
            continue;
        }
        tl_ref(r->t, dw);
        tr_param_grad(r, op->params[i], dw);
    }
    if (r->mixed && dw >= 0) r->t->slots[dw].term = DLM_TERM_TRANSIENT;
    tl_unref(r->t, dw);
}

/* The K chunks' weight gradients meet in autograd's input buffers of the
 * parameters' AccumulateGrad nodes (or, under autocast, of the casts to the
 * half weights), which run once all K have arrived.  InputBuffer::accumulate
 * adds in place only into a tensor whose storage it holds alone: the first
 * chunk's flat gradient stays as the buffers (views of it); the second
 * chunk's is added out of place (a new tensor per parameter) except for the
 * last parameter, by then the only view left of the first flat buffer, which
 * so stays whole; every later chunk's is added in place.  (Read off the H100
 * runs: after a step of K >= 2 chunks .grad holds the sums and the first
 * flat buffer, 7,150,080 B for the seed's LSTM against 3,571,712 B unchunked;
 * the chunks beyond the second peak that much higher.  The per-op log does
 * not show it: a dispatch mode makes every tensor subclass-like, and such
 * additions out of place.)  buf[] holds the buffers; `nth` counts the chunks
 * already accumulated. */
static void rnn_chunk_grads(tr *r, int o, int dw, int *buf, int nth)
{
    const dlm_op *op = &r->g->ops[o];
    int n = op->n_params;
    if (nth == 0) {
        for (int i = 0; i < n; i++) {
            tl_ref(r->t, dw);
            buf[i] = dw;
        }
    } else if (nth == 1) {
        for (int i = 0; i + 1 < n; i++) {
            int sum = new_slot(r, mulk(numel(r, op->params[i]), r->mixed ? 2 : r->pb),
                               DLM_TERM_GRADS, -1, "accumulated parameter gradient");
            tl_unref(r->t, buf[i]);
            buf[i] = sum;
        }
    }
    tl_unref(r->t, dw);
}

/* Backward of an RNN op run in chunks (see "RNN in chunks" above). */
static void bwd_rnn_chunks(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    int K = r->K, ns = op->n_out - 1, x = op->in[0];
    int gnext[2] = {-1, -1}, keep[DLM_OP_MAX_OUT];
    int *buf = malloc((size_t)(op->n_params ? op->n_params : 1) * sizeof *buf);
    if (!buf) {
        r->st = dlm_error(DLM_ENOMEM, "out of memory");
        return;
    }
    for (int j = 0; j < ns && j < 2; j++) { /* the last chunk's h_n, c_n: read by no op */
        gnext[j] = r->gslot[op->out[1 + j]];
        r->gslot[op->out[1 + j]] = -1;
    }
    for (int j = 0; j < op->n_out; j++) keep[j] = r->slot[op->out[j]];
    for (int k = K - 1; k >= 0 && r->st == DLM_OK; k--) {
        int *kp = rnn_kept(r, o, k), outs[DLM_OP_MAX_OUT] = {-1, -1, -1}, rec = r->record;
        /* the node's first unpack reruns the chunk with saving */
        tl_at(r->t, DLM_PHASE_BACKWARD, o);
        tl_mark(r->t);
        tl_chunk(r->t, K, k);
        r->record = 0;
        rnn_call(r, o, k > 0 ? kp[0] : -1, k > 0 && ns > 1 ? kp[1] : -1, outs);
        for (int j = 0; j < op->n_out; j++) tl_unref(r->t, outs[j]); /* early stop unwinds */
        if (r->mixed) tr_release_casts(r); /* recomputation's own autocast region exits */
        r->record = rec;
        /* _cudnn_rnn_backward: zeros for an output no op read */
        tl_mark(r->t);
        int go = k == K - 1 ? gout : -1, gs[2], dstate[2], dx, dw;
        if (go < 0) go = new_slot(r, nbytes(r, op->out[0]), DLM_TERM_TRANSIENT, -1, "grad output zeros");
        rnn_bwd_call(r, o, gnext, gs, &dx, dstate, &dw);
        tr_drop_saved(r, o);
        rnn_frame_release(r, o, k);
        tl_unref(r->t, go);
        tl_unref(r->t, gs[0]);
        tl_unref(r->t, gs[1]);
        tr_give(r, x, dx);
        rnn_chunk_grads(r, o, dw, buf, K - 1 - k);
        for (int j = 0; j < 2; j++) gnext[j] = dstate[j]; /* to the chunk before */
        tl_chunk(r->t, 0, 0);
    }
    /* the first chunk's initial state is zeros: nothing takes its gradient */
    tl_unref(r->t, gnext[0]);
    tl_unref(r->t, gnext[1]);
    /* all K have arrived: AccumulateGrad takes each buffer as .grad; under
     * autocast each cast's backward (latest made first) makes the fp32
     * gradient from it first */
    for (int i = op->n_params - 1; i >= 0 && r->st == DLM_OK; i--) {
        if (r->mixed) {
            tr_param_grad(r, op->params[i], tr_pgrad_new(r, op->params[i]));
            tl_unref(r->t, buf[i]);
        } else {
            tr_param_grad(r, op->params[i], buf[i]);
        }
    }
    free(buf);
    tr_release_saved(r, o);
    for (int j = 0; j < op->n_out; j++) r->slot[op->out[j]] = keep[j];
}

static void fwd_rnn(tr *r, int o)
{
    if (r->K) {
        fwd_rnn_chunks(r, o);
    } else {
        int outs[DLM_OP_MAX_OUT];
        rnn_call(r, o, -1, -1, outs);
    }
}

static void bwd_rnn(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    if (r->K) {
        bwd_rnn_chunks(r, o, gout);
        return;
    }
    int gin[2] = {-1, -1}, gs[2], dstate[2], dx;
    for (int k = 1; k < op->n_out; k++) { /* no gradient for h_n, c_n: zeros */
        gin[k - 1] = r->gslot[op->out[k]];
        r->gslot[op->out[k]] = -1;
    }
    rnn_bwd_call(r, o, gin, gs, &dx, dstate, NULL);
    tr_release_saved(r, o);
    tl_unref(r->t, gout);
    tl_unref(r->t, gs[0]);
    tl_unref(r->t, gs[1]);
    tl_unref(r->t, dstate[0]);
    tl_unref(r->t, dstate[1]);
    tr_give(r, op->in[0], dx);
}

/* memory.h: the graph's RNN ops can run in chunks of time steps. */
dlm_status dlm_mem_rnn_chunkable(const dlm_graph *g)
{
    int n = 0;
    dlm_poly Tp = dlm_poly_T();
    for (int o = 0; o < g->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        if (op->kind != DLM_OP_RNN) continue;
        n++;
        const dlm_tensor *x = &g->tensors[op->in[0]];
        if (x->role != DLM_ROLE_INPUT)
            return dlm_error(DLM_EINVAL, "%s: its input is made by %s; only an RNN that reads a "
                             "network input runs in chunks of time steps (the chunks are views of "
                             "it)", op->name, x->producer >= 0 ? g->ops[x->producer].name : "?");
        if (x->ndim != 3 || !dlm_poly_equal(&x->shape[0], &Tp))
            return dlm_error(DLM_EINVAL, "%s: its input's first dimension is not the sequence "
                             "length T", op->name);
        for (int j = 0; j < op->n_out; j++) {
            for (int i = 0; i < g->n_outputs; i++)
                if (g->outputs[i] == op->out[j])
                    return dlm_error(DLM_EINVAL, "%s: its output %d is the network's output; only "
                                     "its last step may be read when it runs in chunks", op->name, j);
            for (int p = o + 1; p < g->n_ops; p++) {
                const dlm_op *q = &g->ops[p];
                for (int i = 0; i < q->n_in; i++) {
                    if (q->in[i] != op->out[j]) continue;
                    if (j == 0 && q->kind == DLM_OP_SELECT && q->a.select.dim == 0 &&
                        q->a.select.index == -1)
                        continue;
                    return dlm_error(DLM_EINVAL, "%s: %s reads its %s; in chunks of time steps "
                                     "only the last step of the output (out[-1]) is kept",
                                     op->name, q->name, j == 0 ? "output sequence" : "final state");
                }
            }
        }
    }
    if (n == 0) return dlm_error(DLM_EINVAL, "%s has no RNN to run in chunks of time steps", g->name);
    return DLM_OK;
}

/* cfg->rnn_chunks: checks, state. */
static dlm_status rnn_chunks_init(tr *r)
{
    const dlm_mem_config *c = r->cfg;
    if (c->rnn_chunks <= 1) return DLM_OK;
    if (c->rnn_chunks > DLM_MAX_RNN_CHUNKS)
        return dlm_error(DLM_EINVAL, "%d chunks of time steps: at most %d", c->rnn_chunks,
                         DLM_MAX_RNN_CHUNKS);
    if (!r->torch)
        return dlm_error(DLM_EINVAL, "chunks of time steps are modelled for the pytorch profile "
                         "only (dlmem's GPU runtime runs each RNN in one cuDNN call)");
    DLM_TRY(dlm_mem_rnn_chunkable(r->g));
    for (int i = 0; i < c->n_checkpoint; i++)
        for (int o = c->checkpoint[i].first; o <= c->checkpoint[i].last; o++)
            if (r->g->ops[o].kind == DLM_OP_RNN)
                return dlm_error(DLM_EINVAL, "%s is both in a checkpoint segment and run in "
                                 "chunks of time steps: one scheme at a time", r->g->ops[o].name);
    r->K = c->rnn_chunks;
    size_t per = (size_t)r->n_ops * (size_t)r->K;
    r->tchunk = malloc(((size_t)r->g->n_tensors + 1) * sizeof *r->tchunk);
    r->kept = malloc(per * 2 * sizeof *r->kept);
    r->frame = calloc(per, 1);
    if (!r->tchunk || !r->kept || !r->frame) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int t = 0; t <= r->g->n_tensors; t++) r->tchunk[t] = -1;
    for (size_t i = 0; i < per * 2; i++) r->kept[i] = -1;
    return DLM_OK;
}

/* The graph goes: every chunk's checkpoint with it. */
static void release_rnn(tr *r, int o)
{
    if (r->K)
        for (int k = 0; k < r->K; k++) rnn_frame_release(r, o, k);
}

/* nn.LSTM flattens its weights into one cuDNN buffer after .to() */
static void rnn_params_moved(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    if (!r->torch || !rnn_flattened(r)) return;
    dlm_poly wb = rnn_weight_bytes(r, op, r->pb);
    int flat = new_slot(r, wb, DLM_TERM_WEIGHTS, -1, "cuDNN flat weights");
    for (int i = 0; i < op->n_params; i++) {
        tl_unref(r->t, r->slot[op->params[i]]);
        r->slot[op->params[i]] = flat;
    }
}

/* Whether the user gave the named input (--input NAME=BYTES). */
static int input_given(const tr *r, const char *name)
{
    for (int i = 0; i < r->cfg->n_inputs; i++)
        if (!strcmp(r->cfg->inputs[i].name, name)) return 1;
    return 0;
}

/* The runtime's cuDNN RNN workspaces (ops_rnn.c): one per RNN, resident,
 * cudnnGetRNNTempSpaceSizes of its packed descriptor whatever layout its
 * timing runs, from `dlmem probe`'s dlmem-runtime rows (not known where none
 * is, the point incomplete), or the measured total given as --input
 * cudnn_rnn_workspace; no reserve in inference (runtime.c keeps none: 0 B,
 * or the --input given); and cudnnRNNForward's device array of sequence
 * lengths: B int32 per RNN. */
static void resident_rnn(tr *r, int o, int n)
{
    if (input_given(r, "cudnn_rnn_workspace")) {
        tr_resident_input(r, r->nm_rnn_ws, "cudnn_rnn_workspace", P(0), "cuDNN RNN workspace");
    } else {
        for (int k = o; k < r->n_ops; k++) {
            const dlm_op *op = &r->g->ops[k];
            if (op->kind != DLM_OP_RNN) continue;
            const dlm_tensor *x = TT(r, op->in[0]);
            char key[96];
            dlm_ws_rnn_key(key, sizeof key, op->a.rnn.input, op->a.rnn.hidden, op->a.rnn.layers,
                           op->a.rnn.bias, 1, 0);
            tl_at(r->t, DLM_PHASE_FORWARD, k); /* the op the rows' term belongs to */
            (void)tr_ws_rows_logic(r, k, DLM_WS_LOGIC_RUNTIME,
                                   op->a.rnn.cell == DLM_RNN_LSTM ? "lstm" : "gru", "inference",
                                   "-", key, x->shape[1], x->shape[0], 0, "cudnn_rnn_workspace",
                                   DLM_TERM_WORKSPACE, r->nm_rnn_ws,
                                   "cuDNN RNN workspace (runtime rows)");
            tl_at(r->t, DLM_PHASE_FORWARD, -1);
        }
    }
    tr_resident_input(r, r->nm_rnn_res, "cudnn_rnn_reserve", P(0), "cuDNN RNN reserve");
    const dlm_tensor *x = TT(r, r->g->ops[o].in[0]);
    tr_resident_input(r, tl_named(r->t, "rnn_seq_lengths"), "rnn_seq_lengths",
                      mulk(x->shape[1], 4LL * n), "RNN sequence lengths");
}

/* autocast: cuDNN's RNN computes in half precision; its backward runs from
 * the gradients of h_n, c_n (or zeros) when nothing reads the output */
const op_rule dlm_rule_rnn = {
    .name = "rnn", .fwd = fwd_rnn, .bwd = bwd_rnn, .autocast = 2, .flags = RULE_BWD_ALWAYS,
    .prepare = rnn_chunks_init, .release = release_rnn, .params_moved = rnn_params_moved,
    .resident = resident_rnn};
