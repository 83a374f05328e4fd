/* test_advise_engine.c — the memory engine's extensions for the advisor,
 * against values derived by hand or from PyTorch's parameter list:
 * checkpointing segments, 8-bit Adam states, autocast's
 * resident memory, the segment finder and the FLOP counts; the LSTM
 * checkpointed in chunks of time steps (rnn_chunks) and the advisor's
 * checkpoint-chunks. */
#include <stdlib.h>
#include <string.h>

#include "advise/advise.h"
#include "advise/flops.h"
#include "advise/segments.h"
#include "analytic/memory.h"
#include "analytic/workspaces.h"
#include "core/csv.h"
#include "core/paths.h"
#include "models/models.h"
#include "tap.h"

static dlm_mem_result predict(const dlm_graph *g, dlm_mem_config c, int64_t B, int64_t T)
{
    dlm_mem_result r;
    memset(&r, 0, sizeof r);
    if (dlm_mem_predict(g, &c, B, T, &r) != DLM_OK) {
        printf("# %s\n", dlm_errmsg());
        r.peak_bytes = -1;
    }
    return r;
}

static int64_t named(const dlm_mem_result *r, const char *name)
{
    for (int k = 0; k < r->n_named; k++)
        if (!strcmp(r->named[k].name, name)) return r->named[k].bytes;
    return -1;
}

/* cuDNN RNN rows for the seed's LSTM and GRU (I=100, H=256, L=2, fp32) at
 * B=32 and every t <= 1001 steps, in the row format `dlmem probe` writes
 * (workspaces.h): the sizes the H200's per-op logs gave at the seed's sizes
 * (pytorch_oplog_lstm_long.csv, pytorch_oplog_gru.csv: to the byte there),
 * as inputs, so that what is checked below is which of them the engine
 * keeps alive, not their values.  Reserve: (6L-1) (LSTM) or (7L-1) (GRU)
 * elements per step, sequence and hidden unit + 256 B; workspace: the larger
 * of c + 4*B*(s + t*(I+H) + min(t,256)*g*H) and c + 4*(19025 + B*(t*(2I+3H)
 * + 12gH - 1106.5)) in training (one size for forward and backward), the
 * first alone in inference (c 20,333,056 B / s 20H for the LSTM, g 4;
 * 19,444,224 B / 10H for the GRU, g 3). */
static dlm_ws_db *rnn_rows(void)
{
    char path[] = "/tmp/dlm-rnn-rowsXXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) return NULL;
    fputs("gpu,sm,cudnn_version,cublas_version,logic,op,phase,dtype,layout,key,batch,seq,"
          "workspace_bytes,reserve_bytes,engine,status\n", f);
    const int64_t B = 32, H = 256, I = 100;
    for (int cell = 0; cell < 2; cell++) {
        int64_t g = cell ? 3 : 4, c = cell ? 19444224 : 20333056, s = cell ? 10 * H : 20 * H;
        int64_t per = cell ? 13 : 11;
        for (int64_t t = 1; t <= 1001; t++) {
            int64_t inf = c + 4 * B * (s + t * (I + H) + (t < 256 ? t : 256) * g * H);
            int64_t trn = c + 4 * 19025 + B * (4 * t * (2 * I + 3 * H) + 4 * 12 * g * H - 4426);
            if (inf > trn) trn = inf;
            int64_t res = per * t * B * H * 4 + 256;
            const char *op = cell ? "gru" : "lstm";
            fprintf(f, "NVIDIA H200,90,91900,130100,pytorch-2.11,%s,inference,fp32,-,"
                    "i100-h256-l2-b1-d1-p0,%lld,%lld,%lld,0,rnn-standard,ok\n", op, (long long)B,
                    (long long)t, (long long)inf);
            fprintf(f, "NVIDIA H200,90,91900,130100,pytorch-2.11,%s,training,fp32,-,"
                    "i100-h256-l2-b1-d1-p0,%lld,%lld,%lld,%lld,rnn-standard,ok\n", op, (long long)B,
                    (long long)t, (long long)trn, (long long)res);
            fprintf(f, "NVIDIA H200,90,91900,130100,pytorch-2.11,%s,backward,fp32,-,"
                    "i100-h256-l2-b1-d1-p0,%lld,%lld,%lld,0,rnn-standard,ok\n", op, (long long)B,
                    (long long)t, (long long)trn);
        }
    }
    dlm_ws_db *db = NULL;
    int ok = fclose(f) == 0 && dlm_ws_db_alloc(&db) == DLM_OK && dlm_ws_db_read(db, path) == DLM_OK &&
             dlm_ws_db_finish(db) == DLM_OK;
    remove(path);
    if (!ok) {
        printf("# rnn rows: %s\n", dlm_errmsg());
        dlm_ws_db_free(db);
        return NULL;
    }
    return db;
}

/* The seed's LSTM (I=100, H=256, L=2, fp32, pytorch profile, sm_90) run in K
 * checkpointed chunks of time steps (memory.h's rnn_chunks), with the rows
 * of rnn_rows().  Sizes by hand: a state (h or c) is L*B*H*4 bytes; the
 * reserve and workspace of a call over t steps as rnn_rows() gives them. */
static void lstm_chunks(void)
{
    dlm_ws_db *rows = rnn_rows();
    TAP_OK(rows != NULL, "the RNN rows for the chunk tests");
    if (!rows) return;
    dlm_graph *g;
    if (dlm_model_build_named("lstm", NULL, &g) != DLM_OK) {
        TAP_OK(0, "build lstm: %s", dlm_errmsg());
        return;
    }
    const int64_t B = 32, H = 256, I = 100, state = 2LL * B * H * 4; /* h or c */
    dlm_mem_config c;
    dlm_mem_config_default(&c);
    c.workspaces = rows;
    c.mode = DLM_MODE_TRAIN;
    dlm_mem_result t1 = predict(g, c, B, 1000);
    TAP_OK(t1.complete && t1.n_unknown == 0, "with the rows every term is known (%d unknown)",
           t1.n_unknown);
    c.rnn_chunks = 4;
    dlm_mem_result t4 = predict(g, c, B, 1000);
    c.rnn_chunks = 10;
    dlm_mem_result t10 = predict(g, c, B, 1000);
    /* the reserve at the peak: one chunk's, (K-1)/K of the per-step part gone */
    int64_t res1 = 11LL * 1000 * B * H * 4 + 256;
    TAP_EQ(named(&t1, "cudnn_rnn_reserve"), res1, "one call: the reserve of 1000 steps at the peak");
    TAP_EQ(named(&t4, "cudnn_rnn_reserve"), (res1 - 256) / 4 + 256,
           "4 chunks: the reserve at the peak is one chunk's, 3/4 of it gone (%s)", t4.peak_where);
    TAP_EQ(named(&t10, "cudnn_rnn_reserve"), (res1 - 256) / 10 + 256,
           "10 chunks: 9/10 of it gone");
    /* the workspace at the peak: the laws at T/K = 250 steps (the inference law is the larger:
     * 20,333,056 + 4*32*(5120 + 250*356 + 250*1024) against
     * 20,333,056 + 4*(19025 + 32*(250*968 + 12288 - 1106.5))) */
    int64_t ws_inf = 20333056 + 4 * B * (20 * H + 250 * (I + H) + 250 * 4 * H);
    int64_t ws_tr = 20333056 + 4 * 19025 + B * (250 * 4 * (2 * I + 3 * H) + 4 * 48 * H - 4426);
    TAP_EQ(named(&t4, "cudnn_rnn_workspace"), ws_inf > ws_tr ? ws_inf : ws_tr,
           "4 chunks: the cuDNN workspace at the peak follows the laws at 250 steps");
    TAP_OK(t10.peak_bytes < t4.peak_bytes && t4.peak_bytes < t1.peak_bytes,
           "the training peak falls with K: %lld > %lld > %lld", (long long)t1.peak_bytes,
           (long long)t4.peak_bytes, (long long)t10.peak_bytes);
    /* after the step .grad holds what autograd's input buffers made of the 4
     * chunks' flat weight gradients: new sums for all parameters but the
     * last, whose buffer kept the first flat gradient whole (trace.c,
     * rnn_chunk_grads): 4*892,928 - 4*1024 bytes more than one call leaves
     * (the LSTM's parameters less the last one, b_hh_l1, 4H floats),
     * 3,567,616 B, as the H100 measured (pytorch_techniques_rnn_chunks.csv:
     * before_bytes of every chunked row less its baseline's) */
    TAP_EQ(t4.after_bytes - t1.after_bytes, 4LL * 892928 - 4 * 1024,
           "after a chunked step: the sums and the first chunk's flat gradient as .grad");
    TAP_EQ(t4.before_bytes, t4.after_bytes, "the same before it (after the warm-up)");

    /* forward (training forward, graph kept): one call keeps its reserve, its
     * output and the zero initial state (2 states) for backward; 4 chunks keep
     * the last chunk's output (fc's input) and the states at the 3 chunk
     * boundaries (6).  Within 2 MiB: the allocator hands a cached block out
     * whole when at most 1 MiB would remain. */
    c.mode = DLM_MODE_FORWARD;
    c.rnn_chunks = 0;
    dlm_mem_result f1 = predict(g, c, B, 1000);
    c.rnn_chunks = 4;
    dlm_mem_result f4 = predict(g, c, B, 1000);
    int64_t want = (res1 + 511) / 512 * 512 + 1000 * B * H * 4 + 2 * state - 250 * B * H * 4 - 6 * state;
    int64_t got = f1.after_bytes - f4.after_bytes;
    TAP_OK(got - want < 2 * 1048576 && want - got < 2 * 1048576,
           "forward: 4 chunks keep %lld B less (hand: %lld B, within 2 MiB)", (long long)got,
           (long long)want);

    /* the model's own log: each cuDNN call a step of its own; tensor_split's
     * chunks at T = 1001: 251, 250, 250, 250 steps */
    dlm_mem_model *m = NULL;
    dlm_mem_opstep st[64];
    int n = 0;
    dlm_status s = dlm_mem_model_alloc(g, &c, &m);
    if (s == DLM_OK) s = dlm_mem_oplog(m, B, 1001, st, 64, &n);
    int rnn[3] = {0, 0, 0}, first = -1;
    for (int i = 0; s == DLM_OK && i < n && i < 64; i++)
        if (st[i].op == 0) {
            if (first < 0) first = i;
            rnn[st[i].phase]++;
        }
    TAP_OK(s == DLM_OK && rnn[DLM_PHASE_FORWARD] == 4 && rnn[DLM_PHASE_BACKWARD] == 0,
           "forward: 4 cuDNN calls (%d)", rnn[DLM_PHASE_FORWARD]);
    TAP_EQ(first >= 0 ? st[first].after - st[first].before : -1, 251 * B * H * 4 + 2 * state,
           "the first chunk (251 steps) leaves its output and its h, c");
    TAP_EQ(first >= 0 ? st[first + 1].after - st[first + 1].before : -1,
           250 * B * H * 4 - 251 * B * H * 4 + 2 * state,
           "the second (250 steps) replaces that output; the first chunk's h, c stay");
    dlm_mem_model_free(m);
    c.mode = DLM_MODE_TRAIN;
    m = NULL;
    n = 0;
    s = dlm_mem_model_alloc(g, &c, &m);
    if (s == DLM_OK) s = dlm_mem_oplog(m, B, 1000, st, 64, &n);
    rnn[0] = rnn[1] = rnn[2] = 0;
    for (int i = 0; s == DLM_OK && i < n && i < 64; i++)
        if (st[i].op == 0) rnn[st[i].phase]++;
    TAP_OK(s == DLM_OK && rnn[DLM_PHASE_FORWARD] == 4 && rnn[DLM_PHASE_BACKWARD] == 8,
           "train: 4 calls forward, 4 recomputations and 4 backward calls (%d, %d)",
           rnn[DLM_PHASE_FORWARD], rnn[DLM_PHASE_BACKWARD]);
    dlm_mem_model_free(m);

    /* inference: the chunks run as plain calls, smaller workspaces, nothing kept */
    c.mode = DLM_MODE_INFER;
    c.rnn_chunks = 0;
    dlm_mem_result i1 = predict(g, c, B, 1000);
    c.rnn_chunks = 4;
    dlm_mem_result i4 = predict(g, c, B, 1000);
    TAP_OK(i4.peak_bytes > 0 && i4.peak_bytes < i1.peak_bytes && i4.after_bytes == i1.after_bytes,
           "inference in 4 chunks: a lower peak (%lld < %lld), the same output left",
           (long long)i4.peak_bytes, (long long)i1.peak_bytes);

    /* refused: fewer steps than chunks, the runtime profile, a net without RNN */
    c.mode = DLM_MODE_TRAIN;
    dlm_mem_result r;
    m = NULL;
    s = dlm_mem_model_alloc(g, &c, &m);
    TAP_OK(s == DLM_OK && dlm_mem_eval(m, B, 3, &r) == DLM_ERANGE, "T=3 in 4 chunks: %s", dlm_errmsg());
    dlm_mem_model_free(m);
    c.profile = DLM_PROFILE_RUNTIME;
    m = NULL;
    TAP_OK(dlm_mem_model_alloc(g, &c, &m) == DLM_EINVAL, "the runtime profile: %s", dlm_errmsg());
    dlm_mem_model_free(m);
    c.profile = DLM_PROFILE_PYTORCH;
    dlm_op_range all = {0, g->n_ops - 1};
    c.checkpoint = &all;
    c.n_checkpoint = 1;
    m = NULL;
    TAP_OK(dlm_mem_model_alloc(g, &c, &m) == DLM_EINVAL, "chunks inside a checkpoint segment: %s",
           dlm_errmsg());
    dlm_mem_model_free(m);
    c.checkpoint = NULL;
    c.n_checkpoint = 0;
    dlm_graph *rn;
    if (dlm_model_build_named("resnet18", NULL, &rn) == DLM_OK) {
        m = NULL;
        TAP_OK(dlm_mem_model_alloc(rn, &c, &m) == DLM_EINVAL, "resnet18: %s", dlm_errmsg());
        dlm_mem_model_free(m);
        dlm_graph_free(rn);
    }
    dlm_graph *gru;
    if (dlm_model_build_named("gru", NULL, &gru) == DLM_OK) {
        dlm_mem_result g1, g4;
        c.rnn_chunks = 0;
        g1 = predict(gru, c, B, 1000);
        c.rnn_chunks = 4;
        g4 = predict(gru, c, B, 1000);
        TAP_EQ(named(&g4, "cudnn_rnn_reserve"), (13LL * 1000 * B * H * 4) / 4 + 256,
               "the GRU in 4 chunks: one chunk's reserve, 13*250*B*H*4 + 256 (%lld before)",
               (long long)named(&g1, "cudnn_rnn_reserve"));
        dlm_graph_free(gru);
    }

    /* the advisor: recomputation is the LSTM's forward once, for any K */
    int64_t lstm_step = 2LL * 4 * H * (I + H) + 40 * H + 2LL * 4 * H * (H + H) + 40 * H;
    int64_t fc = 10 * (2 * H + 1);
    double share = (double)(lstm_step * 1000) / (double)(lstm_step * 1000 + fc);
    dlm_workload w;
    memset(&w, 0, sizeof w);
    snprintf(w.model, sizeof w.model, "lstm");
    dlm_mem_config_default(&w.cfg);
    w.cfg.workspaces = rows;
    w.cfg.mode = DLM_MODE_TRAIN;
    w.batch = B;
    w.seq = 1000;
    c.rnn_chunks = 3;
    dlm_mem_result p3 = predict(g, c, B, 1000);
    c.rnn_chunks = 4;
    dlm_mem_result p4 = predict(g, c, B, 1000);
    /* a budget between the peaks of 3 and 4 chunks: the fewest that fit is 4 */
    dlm_budget b = {"", p4.peak_bytes + (p3.peak_bytes - p4.peak_bytes) / 2, 0};
    dlm_advice_report *rep = NULL;
    s = dlm_advise(&w, &b, "checkpoint-chunks,checkpoint-chunks10", 0, &rep);
    const dlm_advice *auto_k = NULL, *k10 = NULL;
    for (int i = 0; s == DLM_OK && i < rep->n_rows; i++) {
        if (!strcmp(rep->rows[i].name, "checkpoint-chunks")) auto_k = &rep->rows[i];
        if (!strcmp(rep->rows[i].name, "checkpoint-chunks10")) k10 = &rep->rows[i];
    }
    TAP_OK(auto_k && auto_k->applicable && auto_k->rnn_chunks == 4 && auto_k->fits,
           "checkpoint-chunks takes the fewest chunks that fit: 4 (%d)", auto_k ? auto_k->rnn_chunks : -1);
    TAP_EQ(auto_k ? auto_k->peak : -1, p4.peak_bytes, "... and its peak is the engine's for 4 chunks");
    TAP_CLOSE(auto_k ? auto_k->recompute : -1, share, 1e-12, 0,
              "recomputation: one forward of the LSTM (%.6f of the forward's operations)", share);
    TAP_OK(k10 && k10->rnn_chunks == 10 && k10->recompute == (auto_k ? auto_k->recompute : -1),
           "checkpoint-chunks10: K = 10, the same recomputation");
    TAP_OK(s == DLM_OK && rep->n_chunk_rows >= 3 && rep->chunks_chosen == 4 &&
               rep->chunk_rows[0].chunks == 2 && !rep->chunk_rows[0].fits,
           "the trade-off: K = 2 first, not fitting; %d rows, lowest peak at K = %d",
           rep ? rep->n_chunk_rows : 0, rep ? rep->chunks_lowest : 0);
    dlm_advice_report_free(rep);
    dlm_graph_free(g);
    /* without rows (sm_86 has none shipped) the same point is incomplete and
     * names the RNN's terms */
    c.workspaces = NULL;
    c.sm = 86;
    c.rnn_chunks = 0;
    if (dlm_model_build_named("lstm", NULL, &g) == DLM_OK) {
        dlm_mem_result u = predict(g, c, B, 1000);
        int ws = 0, res = 0;
        for (int i = 0; i < u.n_unknown && i < DLM_MAX_UNKNOWN; i++) {
            ws += !strcmp(u.unknown[i].term, "cudnn_rnn_workspace");
            res += !strcmp(u.unknown[i].term, "cudnn_rnn_reserve");
        }
        TAP_OK(!u.complete && ws == 2 && res == 1 && u.n_unknown == 3,
               "sm_86 without rows: incomplete, the RNN's workspaces (training, backward) and reserve "
               "unknown (%d: %d + %d)", u.n_unknown, ws, res);
        c.rnn_chunks = 4;
        u = predict(g, c, B, 1000);
        TAP_OK(!u.complete && u.n_unknown == 3, "... and in 4 chunks the same 3 terms, each named "
               "once however many calls need it (%d)", u.n_unknown);
        c.rnn_chunks = 0;
        dlm_graph_free(g);
    }
    dlm_ws_db_free(rows);
}

/* Per-parameter element counts from PyTorch's own list (independent of the
 * graph builders). */
static int torch_numels(const char *model, int64_t *out, int max)
{
    char path[1024];
    dlm_csv *c;
    int n = 0, idx[3];
    static const char *cols[] = {"model", "kind", "numel"};
    if (!dlm_data_path("reference/pytorch_params.csv", path, sizeof path) || dlm_csv_read(path, &c))
        return -1;
    if (dlm_csv_require(c, 3, cols, idx) == DLM_OK)
        for (int r = 0; r < c->nrows && n < max; r++)
            if (!strcmp(dlm_csv_get(c, r, idx[0]), model) && !strcmp(dlm_csv_get(c, r, idx[1]), "param"))
                dlm_csv_int(c, r, idx[2], &out[n++]);
    dlm_csv_free(c);
    return n;
}

int main(void)
{
    dlm_graph *g;
    if (dlm_model_build_named("resnet18", NULL, &g) != DLM_OK) {
        TAP_OK(0, "build resnet18: %s", dlm_errmsg());
        return tap_done();
    }

    /* ---- segments ---- */
    dlm_segment *seg;
    int nb = 0, ns = 0;
    dlm_status fs = dlm_segments_find(g, DLM_SEG_BLOCK, &seg, &nb);
    TAP_OK(fs == DLM_OK && nb == 8, "resnet18 has 8 BasicBlocks (%d)", nb);
    TAP_STREQ(nb ? seg[0].name : "", "layer1.0", "the first block is layer1.0");
    TAP_STREQ(nb ? g->ops[seg[0].ops.first].name : "", "layer1.0.conv1", "... from its conv1");
    TAP_STREQ(nb ? g->ops[seg[0].ops.last].name : "", "layer1.0.relu#2", "... to its second relu");
    dlm_op_range block0 = nb ? seg[0].ops : (dlm_op_range){0, 0};
    free(seg);
    fs = dlm_segments_find(g, DLM_SEG_STAGE, &seg, &ns);
    TAP_OK(fs == DLM_OK && ns == 4, "4 stages (%d)", ns);
    free(seg);

    /* ---- checkpointing ---- */
    dlm_mem_config c;
    dlm_mem_config_default(&c);
    c.profile = DLM_PROFILE_RUNTIME;
    c.mode = DLM_MODE_FORWARD;
    dlm_mem_result plain = predict(g, c, 1, 1);
    c.checkpoint = &block0;
    c.n_checkpoint = 1;
    dlm_mem_result ck = predict(g, c, 1, 1);
    /* What layer1.0 no longer keeps after a training forward at B=1: conv1's
     * output (bn1's input), bn1's output (relu's result, conv2's input),
     * conv2's output (bn2's input), 64*56*56*4 = 802,816 B each, and the two
     * BatchNorms' save_mean and save_invstd, 64*4 = 256 B each.  Its input
     * and its output (the next block's input) stay. */
    TAP_EQ(plain.after_bytes - ck.after_bytes, 3 * 802816 + 4 * 256,
           "checkpointing layer1.0 frees 3 activations and 4 BatchNorm statistics after forward");
    c.mode = DLM_MODE_INFER;
    c.n_checkpoint = 0;
    dlm_mem_result i0 = predict(g, c, 4, 1);
    c.n_checkpoint = 1;
    dlm_mem_result i1 = predict(g, c, 4, 1);
    TAP_EQ(i1.peak_bytes, i0.peak_bytes, "checkpointing changes nothing in inference");
    c.mode = DLM_MODE_TRAIN;
    c.n_checkpoint = 0;
    dlm_mem_result t0 = predict(g, c, 16, 1);
    c.n_checkpoint = 1;
    dlm_mem_result t1 = predict(g, c, 16, 1);
    TAP_OK(t1.peak_bytes > 0 && t1.peak_bytes <= t0.peak_bytes,
           "a checkpointed block never raises the training peak (%lld <= %lld)",
           (long long)t1.peak_bytes, (long long)t0.peak_bytes);
    TAP_EQ(t1.after_bytes, t0.after_bytes, "after the step nothing of the checkpoint is left");
    c.profile = DLM_PROFILE_PYTORCH;
    dlm_op_range bad[2] = {{5, 9}, {8, 12}};
    c.checkpoint = bad;
    c.n_checkpoint = 2;
    dlm_mem_model *m = NULL;
    TAP_OK(dlm_mem_model_alloc(g, &c, &m) == DLM_EINVAL, "overlapping segments are refused: %s",
           dlm_errmsg());
    dlm_mem_model_free(m);
    c.checkpoint = NULL;
    c.n_checkpoint = 0;

    /* ---- optimizer state: 8-bit Adam, ZeRO ---- */
    int64_t numel[128];
    int np = torch_numels("resnet18", numel, 128);
    TAP_EQ(np, 62, "PyTorch lists 62 resnet18 parameters");
    int64_t adam = 0, adam8 = 0;
    for (int i = 0; i < np; i++) {
        adam += 2 * 4 * numel[i];
        /* bitsandbytes: uint8 + one fp32 absmax per 256 elements, per state,
         * for tensors of at least 4096 elements; fp32 states below */
        adam8 += numel[i] >= 4096 ? 2 * (numel[i] + (numel[i] + 255) / 256 * 4) : 2 * 4 * numel[i];
    }
    c.profile = DLM_PROFILE_RUNTIME;
    c.mode = DLM_MODE_TRAIN;
    dlm_mem_result ra = predict(g, c, 2, 1);
    c.optimizer = DLM_OPT_ADAM8BIT;
    dlm_mem_result r8 = predict(g, c, 2, 1);
    TAP_EQ(ra.before_bytes - r8.before_bytes, adam - adam8,
           "8-bit Adam's states: %lld B instead of %lld B", (long long)adam8, (long long)adam);
    c.optimizer = DLM_OPT_ADAM;
    /* (data parallelism and sharding: tests/test_parallel.c) */

    /* ---- autocast ---- */
    c.profile = DLM_PROFILE_PYTORCH;
    c.mode = DLM_MODE_TRAIN;
    dlm_mem_result f32 = predict(g, c, 8, 1);
    c.dtype = DLM_DTYPE_MIXED;
    dlm_mem_result mx = predict(g, c, 8, 1);
    TAP_EQ(mx.by_term[DLM_TERM_WEIGHTS], f32.by_term[DLM_TERM_WEIGHTS],
           "autocast keeps the weights in fp32 (%lld B)", (long long)f32.by_term[DLM_TERM_WEIGHTS]);
    TAP_EQ(mx.by_term[DLM_TERM_OPTIMIZER], f32.by_term[DLM_TERM_OPTIMIZER],
           "... and Adam's state (%lld B)", (long long)f32.by_term[DLM_TERM_OPTIMIZER]);
    /* inference: after the autocast region only the output is left of the
     * step, in half: 8*1000*2 = 16,000 B (a 16,384 B block) instead of
     * 32,000 B (32,256 B); the half weight copies are gone with the cache */
    c.mode = DLM_MODE_INFER;
    c.dtype = DLM_DTYPE_FP32;
    dlm_mem_result if32 = predict(g, c, 8, 1);
    c.dtype = DLM_DTYPE_MIXED;
    dlm_mem_result imx = predict(g, c, 8, 1);
    TAP_EQ(imx.after_bytes - if32.after_bytes, 16384 - 32256,
           "autocast inference leaves a half output and no weight copies");
    c.dtype = DLM_DTYPE_FP32;

    /* ---- FLOPs ---- */
    dlm_poly f = dlm_op_flops(g, 0); /* conv1: 2*3*7*7 per output, 64*112*112*B outputs */
    TAP_EQ(dlm_poly_eval(&f, 1, 1), 2LL * 3 * 7 * 7 * 64 * 112 * 112, "conv1: 2*Cin*k*k per output");
    int fc = g->n_ops - 1;
    f = dlm_op_flops(g, fc);
    TAP_EQ(dlm_poly_eval(&f, 2, 1), 2LL * (2 * 512 + 1) * 1000, "fc: (2*in + 1) per output");
    dlm_graph_free(g);

    if (dlm_model_build_named("bert", NULL, &g) != DLM_OK) {
        TAP_OK(0, "build bert: %s", dlm_errmsg());
        return tap_done();
    }
    TAP_OK(dlm_segments_find(g, DLM_SEG_BLOCK, &seg, &nb) == DLM_OK && nb == 12 &&
               !strcmp(seg[11].name, "encoder.layer.11"),
           "BERT-base: 12 encoder layers are its blocks");
    free(seg);
    int att = -1;
    for (int o = 0; o < g->n_ops; o++)
        if (g->ops[o].kind == DLM_OP_ATTENTION) att = o;
    f = dlm_op_flops(g, att);
    TAP_EQ(dlm_poly_eval(&f, 2, 128), 4LL * 2 * 128 * 128 * 768 + 5LL * 2 * 12 * 128 * 128,
           "attention: 4*B*T^2*Hd for q k^T and p v, 5 per score");
    dlm_graph_free(g);

    if (dlm_model_build_named("lstm", NULL, &g) != DLM_OK) {
        TAP_OK(0, "build lstm: %s", dlm_errmsg());
        return tap_done();
    }
    TAP_OK(dlm_segments_find(g, DLM_SEG_BLOCK, &seg, &nb) == DLM_OK && nb == 0,
           "the seed's LSTM has no blocks to checkpoint");
    f = dlm_op_flops(g, 0);
    TAP_EQ(dlm_poly_eval(&f, 1, 1),
           2LL * 4 * 256 * (100 + 256) + 40 * 256 + 2LL * 4 * 256 * (256 + 256) + 40 * 256,
           "LSTM step: 2*4*H*(I+H) + 10 per gate value, per layer");
    dlm_graph_free(g);
    lstm_chunks();
    return tap_done();
}
