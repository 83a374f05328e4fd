/* test_parallel.c — data-parallel and sharded training (src/analytic/
 * parallel.c) against values derived by hand from PyTorch 2.11's source
 * (parallel.h cites the lines each rule comes from), on a network small
 * enough to follow every byte and on resnet18 with PyTorch's own parameter
 * shapes (data/reference/pytorch_params.csv):
 *   - DDP's rebuilt buckets (compute_bucket_assignment_by_size, 1 MiB then
 *     25 MiB), the one bucket of construction, the rebuild's order;
 *   - FSDP2's dim-0 padding (ceil(d/N) rows), each rank's unpadded chunk
 *     (Adam's state), the all-gather output (N x the group's padded shard),
 *     the unsharded parameters, the reduce-scatter input and output, and
 *     when each comes and goes (implicit prefetch in forward and backward);
 *   - ZeRO-1's greedy partition (largest first, to the emptiest rank);
 *   - when data/reference/parallel_ws1.csv exists (tools/torch_parallel.py
 *     at world size 1 on a GPU), every measured per-rank peak within 3%.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analytic/memory.h"
#include "analytic/timeline.h"
#include "analytic/trace.h"
#include "analytic/parallel.h"
#include "core/csv.h"
#include "core/paths.h"
#include "models/models.h"
#include "tap.h"

static const char NET[] = "[net]\nname = tiny_blocks\n[input x]\nshape = B x 10\n"
                          "[linear layer1.0.fc1]\nout_features = 7\n[relu layer1.0.relu]\n"
                          "[linear layer1.1.fc]\nout_features = 5\n[linear fc]\nout_features = 3\n";

/* The allocations (bytes at B) of the measured step whose slot says `what`,
 * in order, into out[]; returns how many. */
static int allocs(const dlm_timeline *t, const char *what, int64_t B, int64_t *out, int cap)
{
    int n = 0;
    for (int i = t->reset_at; i >= 0 && i < t->n_ev; i++) {
        const tl_event *e = &t->ev[i];
        if (e->kind != TL_ALLOC || strcmp(t->slots[e->slot].what, what)) continue;
        if (n < cap) out[n] = tl_size_value(t, t->slots[e->slot].size, B, 1);
        n++;
    }
    return n;
}

/* Index (from the reset on) of the k-th event of `kind` on a slot saying `what`. */
static int event_at(const dlm_timeline *t, int kind, const char *what, int k)
{
    for (int i = t->reset_at; i >= 0 && i < t->n_ev; i++) {
        const tl_event *e = &t->ev[i];
        if (e->kind == kind && !strcmp(t->slots[e->slot].what, what) && k-- == 0) return i;
    }
    return -1;
}

static dlm_timeline *trace(const dlm_graph *g, dlm_parallel how, int N, int rank)
{
    dlm_mem_config c;
    dlm_mem_config_default(&c);
    c.mode = DLM_MODE_TRAIN;
    c.parallel = how;
    c.gpus = N;
    c.rank = rank;
    dlm_timeline *t = NULL;
    dlm_mem_layer *L = calloc((size_t)g->n_ops + 1, sizeof *L);
    dlm_trace_info info;
    if (!L || tl_create(&t) != DLM_OK || dlm_trace_build(g, &c, NULL, 0, t, L, &info) != DLM_OK) {
        TAP_OK(0, "trace %s on %d GPUs: %s", dlm_parallel_name(how), N, dlm_errmsg());
        tl_destroy(t);
        t = NULL;
    }
    free(L);
    return t;
}

static dlm_mem_result predict(const dlm_graph *g, dlm_parallel how, int N, int rank, int64_t B,
                              int64_t T)
{
    dlm_mem_config c;
    dlm_mem_result r;
    memset(&r, 0, sizeof r);
    dlm_mem_config_default(&c);
    c.mode = DLM_MODE_TRAIN;
    c.parallel = how;
    c.gpus = N;
    c.rank = rank;
    if (dlm_mem_predict(g, &c, B, T, &r) != DLM_OK) {
        TAP_OK(0, "predict %s on %d GPUs: %s", dlm_parallel_name(how), N, dlm_errmsg());
        r.peak_bytes = -1;
    }
    return r;
}

static int64_t named(const dlm_mem_result *r, const char *name)
{
    for (int i = 0; i < r->n_named; i++)
        if (!strcmp(r->named[i].name, name)) return r->named[i].bytes;
    return -1;
}

static void test_buckets(void)
{
    const int64_t MiB = 1 << 20;
    /* ready order: 0.6 + 0.6 MiB reach the first bucket's 1 MiB; 30 MiB alone
     * passes 25 MiB; 10 + 10 + 10 MiB pass it on the third; 1 B is left */
    int64_t in[] = {6 * MiB / 10, 6 * MiB / 10, 30 * MiB, 10 * MiB, 10 * MiB, 10 * MiB, 1}, out[8];
    int n = par_ddp_buckets(in, 7, out);
    TAP_EQ(n, 4, "DDP: four rebuilt buckets");
    TAP_EQ(out[0], 2 * (6 * MiB / 10), "first bucket closes once it reaches 1 MiB");
    TAP_EQ(out[1], 30 * MiB, "a 30 MiB gradient is a bucket by itself");
    TAP_EQ(out[2], 30 * MiB, "three 10 MiB gradients: the bucket closes at 30 MiB >= 25 MiB");
    TAP_EQ(out[3], 1, "the remainder is the last bucket");
    int64_t exact[] = {MiB, 25 * MiB};
    n = par_ddp_buckets(exact, 2, out);
    TAP_OK(n == 2 && out[0] == MiB && out[1] == 25 * MiB, "a bucket exactly at its limit closes");
}

static void test_tiny(const dlm_graph *g)
{
    /* parameters (numel): layer1.0.fc1 weight 7x10, bias 7; layer1.1.fc 5x7,
     * 5; fc 3x5, 3 — 135 in all, 540 B */
    int64_t v[16];
    dlm_timeline *t = trace(g, DLM_PAR_DDP, 2, 0);
    if (t) {
        TAP_EQ(allocs(t, "DDP gradient bucket", 4, v, 16), 1,
               "DDP: the measured step allocates the rebuilt bucket once");
        TAP_EQ(v[0], 540, "DDP: one bucket of all 135 parameters (all below 1 MiB)");
        TAP_EQ(allocs(t, "DDP bucket indices", 4, v, 16), 1, "DDP: bucket indices synced once");
        TAP_EQ(v[0], 4 * (6 + 1), "DDP: sync_bucket_indices' int32 tensor of params + 1");
        TAP_OK(event_at(t, TL_FREE, "DDP gradient bucket", 0) <
                   event_at(t, TL_ALLOC, "DDP gradient bucket", 0),
               "DDP: the construction's bucket is freed before the rebuilt one is allocated");
        tl_destroy(t);
    }
    /* FSDP2 on 2 GPUs.  Padded shards (ceil(d/2) rows): fc1 4x10 + 4 = 44,
     * layer1.1 3x7 + 3 = 24, root (fc) 2x5 + 2 = 12 elements */
    t = trace(g, DLM_PAR_FSDP, 2, 1);
    if (t) {
        int n = allocs(t, "FSDP all-gather output", 4, v, 16);
        TAP_EQ(n, 6, "FSDP N=2: six all-gathers (3 groups, forward and backward)");
        int64_t want[6] = {4 * 24, 4 * 88, 4 * 48, /* forward: root, block 0, block 1 */
                           4 * 24, 4 * 48, 4 * 88}; /* backward: root, then prefetched */
        for (int i = 0; i < 6 && i < n; i++)
            TAP_EQ(v[i], want[i], "FSDP N=2: all-gather %d is N x the group's padded shard", i);
        n = allocs(t, "FSDP unsharded parameter", 4, v, 16);
        TAP_EQ(n, 12, "FSDP: 6 unsharded parameters in forward, 6 again in backward");
        TAP_OK(n >= 6 && v[0] == 4 * 20 && v[1] == 4 * 4 && v[2] == 4 * 80 && v[3] == 4 * 8 &&
                   v[4] == 4 * 42 && v[5] == 4 * 6,
               "FSDP: unsharded storage pads dim 0 to a multiple of N (fc 4x5, 4; fc1 8x10, 8; "
               "layer1.1 6x7, 6)");
        n = allocs(t, "FSDP reduce-scatter input", 4, v, 16);
        TAP_EQ(n, 3, "FSDP: one reduce-scatter per group");
        TAP_OK(n == 3 && v[0] == 4 * 48 && v[1] == 4 * 24 && v[2] == 4 * 88,
               "FSDP: reduce-scatter inputs 48, 24, 88 elements (layer1.1 after its backward; "
               "the root, then layer1.0 whose input needs no gradient, in the final callback)");
        n = allocs(t, "FSDP sharded gradients (reduce-scatter output)", 4, v, 16);
        TAP_OK(n == 3 && v[0] == 4 * 24 && v[1] == 4 * 12 && v[2] == 4 * 44,
               "FSDP: reduce-scatter outputs are the padded shards (24, 12, 44 elements)");
        /* implicit prefetch in forward: block 0's all-gather output lives
         * until block 1's copy-out, the root's until block 0's */
        int ag1 = event_at(t, TL_ALLOC, "FSDP all-gather output", 2);
        int fr0 = event_at(t, TL_FREE, "FSDP all-gather output", 1);
        TAP_OK(ag1 >= 0 && fr0 > ag1, "FSDP forward: block 0's all-gather output is freed after "
               "block 1's is allocated (AllGatherState)");
        int f0 = event_at(t, TL_FREE, "FSDP unsharded parameter", 0);
        TAP_OK(f0 >= 0 && t->ev[f0].phase == DLM_PHASE_FORWARD,
               "fsdp: reshard_after_forward frees the unsharded parameters in forward");
        tl_destroy(t);
    }
    /* zero2 (reshard_after_forward=False): gathered once in forward, kept
     * through backward, resharded after each group's backward */
    t = trace(g, DLM_PAR_ZERO2, 2, 0);
    if (t) {
        TAP_EQ(allocs(t, "FSDP all-gather output", 4, v, 16), 3, "zero2: three all-gathers, all in "
               "forward (backward's unshard and prefetch find the groups unsharded)");
        TAP_EQ(allocs(t, "FSDP unsharded parameter", 4, v, 16), 6, "zero2: each parameter "
               "unsharded once");
        int f0 = event_at(t, TL_FREE, "FSDP unsharded parameter", 0);
        TAP_OK(f0 >= 0 && t->ev[f0].phase == DLM_PHASE_BACKWARD,
               "zero2: the first unsharded parameter goes in backward, not after forward");
        tl_destroy(t);
    }
    /* each rank's Adam state: its unpadded chunk of every parameter */
    dlm_mem_result r0 = predict(g, DLM_PAR_FSDP, 2, 0, 4, 1), r1 = predict(g, DLM_PAR_FSDP, 2, 1, 4, 1);
    TAP_EQ(r0.by_term[DLM_TERM_OPTIMIZER], 2 * 4 * (40 + 4 + 21 + 3 + 10 + 2),
           "FSDP rank 0: Adam keeps 80 elements twice");
    TAP_EQ(r1.by_term[DLM_TERM_OPTIMIZER], 2 * 4 * (30 + 3 + 14 + 2 + 5 + 1),
           "FSDP rank 1: Adam keeps the 55 elements of its shorter chunks twice");
    dlm_mem_result w1 = predict(g, DLM_PAR_FSDP, 1, 0, 4, 1);
    TAP_EQ(named(&w1, "fsdp_all_gather"), -1, "FSDP N=1: no all-gather buffer (world size 1 copies)");
    /* ZeRO-1: 70 -> rank 0; 35, 15, 7, 5, 3 -> rank 1 (65 elements) */
    dlm_mem_result z0 = predict(g, DLM_PAR_ZERO1, 2, 0, 4, 1), z1 = predict(g, DLM_PAR_ZERO1, 2, 1, 4, 1);
    dlm_mem_result zm = predict(g, DLM_PAR_ZERO1, 2, -1, 4, 1);
    TAP_EQ(z0.by_term[DLM_TERM_OPTIMIZER], 2 * 4 * 70, "ZeRO-1 rank 0: Adam state of fc1.weight only");
    TAP_EQ(z1.by_term[DLM_TERM_OPTIMIZER], 2 * 4 * 65, "ZeRO-1 rank 1: the other five parameters");
    TAP_EQ(zm.by_term[DLM_TERM_OPTIMIZER], 2 * 4 * 70, "ZeRO-1 rank -1: the rank keeping the most");
}

/* resnet18 with PyTorch's own shapes: FSDP's padding and ZeRO-1's partition */
static void test_resnet(void)
{
    char path[1024];
    dlm_csv *c = NULL;
    static const char *cols[] = {"model", "kind", "shape", "numel"};
    int idx[4];
    int64_t d0[128], numel[128];
    int n = 0;
    if (!dlm_data_path("reference/pytorch_params.csv", path, sizeof path) || dlm_csv_read(path, &c) ||
        dlm_csv_require(c, 4, cols, idx) != DLM_OK) {
        TAP_OK(0, "read data/reference/pytorch_params.csv: %s", dlm_errmsg());
        dlm_csv_free(c);
        return;
    }
    for (int i = 0; i < c->nrows && n < 128; i++)
        if (!strcmp(dlm_csv_get(c, i, idx[0]), "resnet18") && !strcmp(dlm_csv_get(c, i, idx[1]), "param")) {
            d0[n] = strtoll(dlm_csv_get(c, i, idx[2]), NULL, 10);
            dlm_csv_int(c, i, idx[3], &numel[n++]);
        }
    dlm_csv_free(c);
    TAP_EQ(n, 62, "PyTorch lists 62 resnet18 parameters");
    dlm_graph *g;
    if (dlm_model_build_named("resnet18", NULL, &g) != DLM_OK) {
        TAP_OK(0, "build resnet18: %s", dlm_errmsg());
        return;
    }
    const int N = 3;
    int64_t adam[3] = {0, 0, 0}, pad = 0;
    for (int i = 0; i < n; i++) {
        int64_t rest = numel[i] / d0[i], ch = (d0[i] + N - 1) / N;
        for (int k = 0; k < N; k++) {
            int64_t rows = d0[i] - k * ch;
            rows = rows < 0 ? 0 : rows > ch ? ch : rows;
            adam[k] += 2 * 4 * rows * rest;
        }
        pad += ch * rest * 4;
    }
    for (int k = 0; k < N; k++) {
        dlm_mem_result r = predict(g, DLM_PAR_FSDP, N, k, 2, 1);
        TAP_EQ(r.by_term[DLM_TERM_OPTIMIZER], adam[k], "resnet18 FSDP N=3 rank %d: Adam state of "
               "its torch.chunk rows", k);
    }
    dlm_mem_result r = predict(g, DLM_PAR_FSDP, N, 2, 2, 1);
    TAP_OK(r.before_bytes >= pad, "resnet18 FSDP N=3: every rank keeps the padded shards "
           "(%lld B) before the step", (long long)pad);
    /* DDP: the buckets hold every parameter once */
    dlm_mem_result dd = predict(g, DLM_PAR_DDP, 2, 0, 2, 1);
    TAP_EQ(named(&dd, "ddp_gradient_buckets"), 11689512LL * 4, "resnet18 DDP: buckets of all "
           "11,689,512 parameters at the peak");
    /* DDP's buffer broadcast every forward: one bucket per dtype, the
     * 9,600 fp32 BatchNorm statistics (running_mean and running_var) and
     * the 20 int64 num_batches_tracked, each a flat copy */
    dlm_timeline *t = trace(g, DLM_PAR_DDP, 2, 0);
    if (t) {
        int64_t v[4];
        int k = allocs(t, "DDP buffer broadcast", 2, v, 4);
        TAP_OK(k == 2 && v[0] == 9600 * 4 && v[1] == 20 * 8, "resnet18 DDP: the measured step "
               "broadcasts the buffers as two flat copies, 38,400 B (fp32) then 160 B (int64)");
        tl_destroy(t);
    }
    /* ZeRO-1 on 2 GPUs: greedy by numel over PyTorch's shapes */
    int order[128];
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && numel[order[j - 1]] < numel[order[j]]; j--) {
            int x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    int64_t sz[2] = {0, 0};
    for (int i = 0; i < n; i++) sz[sz[1] < sz[0]] += numel[order[i]];
    for (int k = 0; k < 2; k++) {
        dlm_mem_result z = predict(g, DLM_PAR_ZERO1, 2, k, 2, 1);
        TAP_EQ(z.by_term[DLM_TERM_OPTIMIZER], 2 * 4 * sz[k], "resnet18 ZeRO-1 rank %d: %lld "
               "elements of Adam state", k, (long long)sz[k]);
    }
    dlm_graph_free(g);
}

/* A known deviation with its cause: TAP's TODO (automake counts an XFAIL). */
static void todo(const char *what, const char *why, ...) __attribute__((format(printf, 2, 3)));
static void todo(const char *what, const char *why, ...)
{
    va_list ap;
    printf("not ok %d - %s # TODO ", ++tap_n, what);
    va_start(ap, why);
    vprintf(why, ap);
    va_end(ap);
    printf("\n");
}

/* The world-size-1 runs of tools/torch_parallel.py, when measured: the peak
 * within 3%, or a TODO naming the measurement's known cause. */
static void test_measured(void)
{
    char path[1024];
    if (!dlm_data_path("reference/parallel_ws1.csv", path, sizeof path)) {
        printf("# data/reference/parallel_ws1.csv not there: the world-size-1 comparison is not "
               "run (tools/torch_parallel.py on a GPU writes it)\n");
        return;
    }
    dlm_csv *c;
    static const char *cols[] = {"model", "parallel", "world_size", "rank", "dtype", "batch",
                                 "seq", "status", "peak_bytes", "before_bytes"};
    int idx[10];
    if (dlm_csv_read(path, &c) != DLM_OK || dlm_csv_require(c, 10, cols, idx) != DLM_OK) {
        TAP_OK(0, "read %s: %s", path, dlm_errmsg());
        return;
    }
    int checked = 0;
    for (int i = 0; i < c->nrows; i++) {
        const char *model = dlm_csv_get(c, i, idx[0]), *how = dlm_csv_get(c, i, idx[1]);
        if (strcmp(dlm_csv_get(c, i, idx[7]), "ok") || strcmp(dlm_csv_get(c, i, idx[4]), "fp32"))
            continue;
        int64_t ws, rank, B, T, peak, before;
        dlm_csv_int(c, i, idx[2], &ws);
        dlm_csv_int(c, i, idx[3], &rank);
        dlm_csv_int(c, i, idx[5], &B);
        dlm_csv_int(c, i, idx[6], &T);
        dlm_csv_int(c, i, idx[8], &peak);
        dlm_csv_int(c, i, idx[9], &before);
        dlm_parallel par;
        dlm_graph *g;
        if (dlm_parallel_parse(how, &par) != DLM_OK || dlm_model_build_named(model, NULL, &g)) {
            TAP_OK(0, "row %d: %s %s: %s", i + 2, model, how, dlm_errmsg());
            continue;
        }
        dlm_mem_config cf;
        dlm_mem_config_default(&cf);
        cf.mode = DLM_MODE_TRAIN;
        cf.parallel = par;
        cf.gpus = (int)ws;
        cf.rank = (int)rank;
        dlm_mem_result r;
        dlm_status st = dlm_mem_predict(g, &cf, B, T > 0 ? T : 1, &r);
        if (st == DLM_EINVAL) { /* refused with a reason */
            printf("# %s %s B=%lld: not modelled: %s\n", model, how, (long long)B, dlm_errmsg());
            dlm_graph_free(g);
            continue;
        }
        double e = st == DLM_OK ? (double)(r.peak_bytes - peak) / (double)peak : 1.0;
        double eb = st == DLM_OK ? (double)(before - r.before_bytes) / (double)r.before_bytes : 0;
        int64_t held = named(&r, "ddp_old_bucket_held_by_nccl");
        double el = st == DLM_OK && held > 0 ? (double)(r.peak_bytes - held - peak) / (double)peak : 1.0;
        char what[256];
        snprintf(what, sizeof what, "%s %s world size %lld rank %lld B=%lld T=%lld: predicted %lld B, "
                 "PyTorch %lld B (%+.2f%%; tolerance 3%%)", model, how, (long long)ws,
                 (long long)rank, (long long)B, (long long)T,
                 (long long)(st == DLM_OK ? r.peak_bytes : -1), (long long)peak, 100 * e);
        if (st == DLM_OK && (e >= 0.03 || e <= -0.03) && eb > 0.03)
            todo(what, "an earlier point's tensors were still allocated when this step began "
                 "(before_bytes %+.1f%% over the model's): ProcessGroupNCCL's shelves free them at "
                 "a later collective (tools/torch_parallel.py does not wait for that)", 100 * eb);
        else if (st == DLM_OK && (e >= 0.03 || e <= -0.03) && el < 0.03 && el > -0.03)
            todo(what, "NCCL's watchdog handed the construction bucket back before the peak "
                 "(%+.2f%% without it): the model counts the bound", 100 * el);
        else
            TAP_OK(st == DLM_OK && e < 0.03 && e > -0.03, "%s", what);
        checked++;
        dlm_graph_free(g);
    }
    dlm_csv_free(c);
    TAP_OK(checked > 0, "%d measured world-size-1 points compared", checked);
}

int main(void)
{
    test_buckets();
    char name[] = "/tmp/dlmem_parallel_XXXXXX";
    int fd = mkstemp(name);
    char path[64];
    snprintf(path, sizeof path, "%s.net", name);
    FILE *f = fd >= 0 ? fopen(path, "w") : NULL;
    if (fd >= 0) close(fd);
    dlm_graph *g = NULL;
    if (!f || fputs(NET, f) == EOF || fclose(f) != 0 || dlm_model_build_named(path, NULL, &g)) {
        TAP_OK(0, "the tiny network: %s", dlm_errmsg());
    } else {
        test_tiny(g);
        dlm_graph_free(g);
    }
    remove(path);
    remove(name);
    test_resnet();
    test_measured();
    return tap_done();
}
