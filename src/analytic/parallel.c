/* parallel.c — DDP, ZeRO-1 and FSDP2 in one rank's timeline (parallel.h
 * says which PyTorch 2.11 source each rule is read from).  The walker calls
 * these hooks; the op rules never see them.
 *
 * Sizes: N the world size, d a parameter's dim-0 size, c = ceil(d/N) the rows
 * of its padded shard, `pb` the bytes of a parameter element.
 */
#include "parallel.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ST_IDLE, ST_FORWARD, ST_PRE_BACKWARD, ST_POST_BACKWARD };

#define DDP_FIRST_BUCKET (1LL << 20)          /* dist._DEFAULT_FIRST_BUCKET_BYTES */
#define DDP_BUCKET_CAP (25LL << 20)           /* bucket_cap_mb=25 */
#define DDP_BROADCAST_BUCKET (250LL << 20)    /* broadcast_bucket_size */

/* One FSDP parameter group: a block's parameters, or the root's. */
typedef struct par_group {
    int first, last;  /* the block's ops; the root: -1, -1 */
    int *params, n;   /* parameter tensor ids, named_parameters() order */
    int *un;          /* per parameter: its unsharded storage, -1 */
    int64_t in_numel; /* padded shard elements of the group: the all-gather input */
    int ag;           /* all-gather output awaiting its copy-out, -1 */
    int pending;      /* an unshard was issued and not waited for */
    int unsharded;
    int state;        /* ST_* */
    int post_index;   /* its place in the post-forward order, -1 */
    int grads;        /* reduce-scatter output: this rank's sharded gradients, -1 */
    int input_grad;   /* an input needs a gradient: post-backward after its first op */
} par_group;

struct dlm_par {
    dlm_parallel kind;
    int N, rank;
    int fsdp, reshard_fwd, ddp;
    int n_groups;
    par_group *grp;        /* grp[0]: the root */
    int *group_of;         /* per op: its group */
    int64_t *shard, *local; /* per tensor (parameters): padded shard / this rank's chunk elements */
    char *owned;           /* per tensor: this rank's optimizer keeps its state */
    int ag_state, rs_state; /* FSDP's comm context: kept all-gather output / reduce-scatter input */
    int *order, n_order;   /* post-forward order (groups) */
    int *ready, n_ready;   /* DDP: parameters in gradient-ready order (first backward) */
    int n_grad_params;
    int *bucket, n_bucket; /* DDP: gradient bucket slots */
    int rebuilt;
    int nm_bucket, nm_bcast, nm_unsh, nm_ag, nm_rs, nm_held;
};

int par_fsdp(const tr *r) { return r->par && r->par->fsdp; }

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* ---- blocks: the modules tools/torch_parallel.py shards one by one ---------------- */

/* Length of the block module `name` lies in ("layer1.0" of a torchvision
 * ResNet, "encoder.layer.3" of BERT), 0 if none. */
static size_t block_len(const char *name)
{
    static const char *const pre[] = {"layer", "encoder.layer."};
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
        size_t k = strlen(pre[i]);
        if (strncmp(name, pre[i], k)) continue;
        const char *s = name + k;
        int parts = i == 0 ? 2 : 1; /* layerK.M / encoder.layer.M */
        for (int p = 0; p < parts; p++) {
            if (p && *s++ != '.') return 0;
            if (*s < '0' || *s > '9') return 0;
            while (*s >= '0' && *s <= '9') s++;
        }
        if (*s != '.' && *s != '\0') return 0;
        return (size_t)(s - name);
    }
    return 0;
}

static dlm_status find_groups(tr *r, dlm_par *p)
{
    const dlm_graph *g = r->g;
    p->grp = calloc((size_t)g->n_ops + 1, sizeof *p->grp);
    p->group_of = malloc(((size_t)g->n_ops + 1) * sizeof *p->group_of);
    if (!p->grp || !p->group_of) return dlm_error(DLM_ENOMEM, "out of memory");
    p->n_groups = 1;
    p->grp[0].first = p->grp[0].last = -1;
    const char *cur = NULL;
    size_t cl = 0;
    for (int o = 0; o < g->n_ops; o++) {
        const char *m = r->module[o];
        size_t l = block_len(m);
        if (g->ops[o].kind == DLM_OP_RNN) { /* the seed's RNN module: a block of its own */
            p->grp[p->n_groups].first = p->grp[p->n_groups].last = o;
            p->group_of[o] = p->n_groups++;
            cur = NULL;
            continue;
        }
        if (!l) {
            p->group_of[o] = 0;
            cur = NULL;
            continue;
        }
        if (!cur || l != cl || strncmp(m, cur, l)) {
            for (int k = 1; k < p->n_groups; k++) {
                const char *f = r->module[p->grp[k].first];
                if (block_len(f) == l && !strncmp(f, m, l))
                    return dlm_error(DLM_EINVAL, "--parallel: block %.*s runs twice (op %s): "
                                     "fully_shard's hooks are not modelled for that", (int)l, m,
                                     g->ops[o].name);
            }
            p->grp[p->n_groups].first = o;
            p->n_groups++;
            cur = m;
            cl = l;
        }
        p->group_of[o] = p->n_groups - 1;
        p->grp[p->n_groups - 1].last = o;
    }
    return DLM_OK;
}

/* Each parameter to the group of an op that uses it (the root if none), in
 * named_parameters() order; whether a block's inputs need a gradient. */
static dlm_status assign_params(tr *r, dlm_par *p)
{
    const dlm_graph *g = r->g;
    int *gid = malloc(((size_t)g->n_params + 1) * sizeof *gid);
    if (!gid) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int i = 0; i < g->n_params; i++) {
        gid[i] = 0;
        for (int o = 0; o < g->n_ops && !gid[i]; o++)
            for (int k = 0; k < g->ops[o].n_params; k++)
                if (g->ops[o].params[k] == g->params[i]) gid[i] = p->group_of[o];
    }
    dlm_status st = DLM_OK;
    for (int k = 0; k < p->n_groups && st == DLM_OK; k++) {
        par_group *G = &p->grp[k];
        G->params = malloc(((size_t)g->n_params + 1) * sizeof *G->params);
        G->un = malloc(((size_t)g->n_params + 1) * sizeof *G->un);
        if (!G->params || !G->un) {
            st = dlm_error(DLM_ENOMEM, "out of memory");
            break;
        }
        for (int i = 0; i < g->n_params; i++)
            if (gid[i] == k) {
                G->un[G->n] = -1;
                G->params[G->n++] = g->params[i];
                G->in_numel += p->shard[g->params[i]];
            }
        G->ag = G->grads = G->post_index = -1;
        for (int o = G->first; k > 0 && o <= G->last; o++)
            for (int i = 0; i < g->ops[o].n_in; i++) {
                int t = g->ops[o].in[i], pr = g->tensors[t].producer;
                if (g->tensors[t].role == DLM_ROLE_PARAM || g->tensors[t].role == DLM_ROLE_BUFFER)
                    continue;
                if ((pr < G->first || pr > G->last) && r->rg[t]) G->input_grad = 1;
            }
    }
    free(gid);
    return st;
}

/* ---- sizes ------------------------------------------------------------------------ */

static dlm_status shard_sizes(tr *r, dlm_par *p)
{
    const dlm_graph *g = r->g;
    size_t nt = (size_t)g->n_tensors + 1;
    p->shard = calloc(nt, sizeof *p->shard);
    p->local = calloc(nt, sizeof *p->local);
    p->owned = calloc(nt, 1);
    if (!p->shard || !p->local || !p->owned) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int i = 0; i < g->n_params; i++) {
        int t = g->params[i];
        const dlm_tensor *x = &g->tensors[t];
        int64_t n = dlm_tensor_numel_const(g, t);
        p->shard[t] = p->local[t] = n;
        p->owned[t] = 1;
        if (!p->fsdp) continue;
        if (x->ndim < 1)
            return dlm_error(DLM_EINVAL, "--parallel %s: parameter %s has no dimension to shard "
                             "(FSDP2 shards dim 0)", dlm_parallel_name(p->kind), x->name);
        int64_t d = dlm_poly_eval(&x->shape[0], 1, 1);
        if (d <= 0) continue;
        int64_t rest = n / d, c = cdiv(d, p->N), rows = d - (int64_t)p->rank * c;
        if (rows < 0) rows = 0;
        if (rows > c) rows = c;
        p->shard[t] = c * rest;
        p->local[t] = rows * rest;
    }
    return DLM_OK;
}

/* ZeroRedundancyOptimizer._partition_parameters: sorted by numel, largest
 * first (Python's sort is stable), each to the rank with the fewest elements
 * (the first such).  Returns the elements each rank holds in sizes[N]. */
static dlm_status zero1_partition(const tr *r, dlm_par *p, int64_t *sizes, int want_rank)
{
    const dlm_graph *g = r->g;
    int n = g->n_params;
    int *idx = malloc(((size_t)n + 1) * sizeof *idx);
    if (!idx) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) idx[i] = g->params[i];
    /* stable insertion sort by numel, descending (n is a few hundred) */
    for (int i = 1; i < n; i++) {
        int v = idx[i], j = i;
        int64_t nv = dlm_tensor_numel_const(g, v);
        while (j > 0 && dlm_tensor_numel_const(g, idx[j - 1]) < nv) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
    for (int k = 0; k < p->N; k++) sizes[k] = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int k = 1; k < p->N; k++)
            if (sizes[k] < sizes[best]) best = k;
        sizes[best] += dlm_tensor_numel_const(g, idx[i]);
        if (want_rank >= 0) p->owned[idx[i]] = best == want_rank;
    }
    free(idx);
    return DLM_OK;
}

dlm_status par_init(tr *r)
{
    const dlm_mem_config *c = r->cfg;
    if (c->parallel == DLM_PAR_NONE) {
        if (c->gpus > 1)
            return dlm_error(DLM_EINVAL, "--gpus %d without --parallel: say how the GPUs share "
                             "the step (ddp, fsdp, zero1, zero2, zero3)", c->gpus);
        return DLM_OK;
    }
    if (!r->torch)
        return dlm_error(DLM_EINVAL, "--parallel %s predicts PyTorch's wrappers: use it with the "
                         "pytorch profile", dlm_parallel_name(c->parallel));
    if (!r->train)
        return dlm_error(DLM_EINVAL, "--parallel %s models a training step: use it with --mode "
                         "train", dlm_parallel_name(c->parallel));
    int N = c->gpus > 0 ? c->gpus : 1;
    if (N > 1 << 20)
        return dlm_error(DLM_ERANGE, "--gpus %d: at most %d", N, 1 << 20);
    if (c->rank >= N)
        return dlm_error(DLM_ERANGE, "--rank %d: the ranks of %d GPUs are 0..%d", c->rank, N, N - 1);
    if (c->parallel == DLM_PAR_ZERO1 && c->optimizer != DLM_OPT_ADAM)
        return dlm_error(DLM_EINVAL, "--parallel zero1 is ZeroRedundancyOptimizer(Adam) as "
                         "tools/torch_parallel.py runs it: use --optimizer adam");
    dlm_par *p = calloc(1, sizeof *p);
    if (!p) return dlm_error(DLM_ENOMEM, "out of memory");
    r->par = p;
    p->kind = c->parallel;
    p->N = N;
    p->rank = c->rank < 0 ? 0 : c->rank;
    p->fsdp = p->kind == DLM_PAR_FSDP || p->kind == DLM_PAR_ZERO2 || p->kind == DLM_PAR_ZERO3;
    p->ddp = p->kind == DLM_PAR_DDP || p->kind == DLM_PAR_ZERO1;
    p->reshard_fwd = p->kind != DLM_PAR_ZERO2;
    p->ag_state = p->rs_state = -1;
    DLM_TRY(shard_sizes(r, p));
    if (p->kind == DLM_PAR_ZERO1) {
        int64_t *sizes = malloc((size_t)N * sizeof *sizes);
        if (!sizes) return dlm_error(DLM_ENOMEM, "out of memory");
        dlm_status st = DLM_OK;
        if (c->rank < 0) { /* the rank with the most elements */
            st = zero1_partition(r, p, sizes, -1);
            for (int k = 1; k < N; k++)
                if (sizes[k] > sizes[p->rank]) p->rank = k;
        }
        if (st == DLM_OK) st = zero1_partition(r, p, sizes, p->rank);
        free(sizes);
        DLM_TRY(st);
    }
    if (p->fsdp) {
        DLM_TRY(find_groups(r, p));
        DLM_TRY(assign_params(r, p));
        p->order = malloc(((size_t)p->n_groups + 1) * sizeof *p->order);
        if (!p->order) return dlm_error(DLM_ENOMEM, "out of memory");
        p->nm_unsh = tl_named(r->t, "fsdp_unsharded_params");
        p->nm_ag = N > 1 ? tl_named(r->t, "fsdp_all_gather") : -1;
        p->nm_rs = tl_named(r->t, "fsdp_reduce_scatter");
    }
    if (p->ddp) {
        p->ready = malloc(((size_t)r->g->n_params + 1) * sizeof *p->ready);
        p->bucket = malloc(((size_t)r->g->n_params + 1) * sizeof *p->bucket);
        if (!p->ready || !p->bucket) return dlm_error(DLM_ENOMEM, "out of memory");
        p->n_grad_params = r->g->n_params;
        p->nm_bucket = tl_named(r->t, "ddp_gradient_buckets");
        p->nm_bcast = tl_named(r->t, "ddp_buffer_broadcast");
        p->nm_held = tl_named(r->t, "ddp_old_bucket_held_by_nccl");
    }
    return DLM_OK;
}

void par_free(tr *r)
{
    dlm_par *p = r->par;
    if (!p) return;
    if (p->grp)
        for (int k = 0; k < p->n_groups; k++) {
            free(p->grp[k].params);
            free(p->grp[k].un);
        }
    free(p->grp);
    free(p->group_of);
    free(p->shard);
    free(p->local);
    free(p->owned);
    free(p->order);
    free(p->ready);
    free(p->bucket);
    free(p);
    r->par = NULL;
}

void par_hold_param(tr *r, int t)
{
    /* FSDPParam keeps its padded shard whatever the module does with the
     * parameter (nn.LSTM's flat cuDNN buffer takes the module's place) */
    if (par_fsdp(r)) tl_ref(r->t, r->slot[t]);
}

dlm_poly par_param_bytes(const tr *r, int t)
{
    int64_t eb = elem_bytes(r, t);
    if (!r->par) return mulk(numel(r, t), eb);
    return P(r->par->shard[t] * eb);
}

dlm_poly par_state_bytes(const tr *r, int t, int64_t eb)
{
    const dlm_par *p = r->par;
    if (!p) return mulk(numel(r, t), eb);
    if (!p->owned[t]) return P(0);
    return P(p->local[t] * eb);
}

/* ---- DDP ----------------------------------------------------------------------------- */

void par_construct(tr *r)
{
    dlm_par *p = r->par;
    if (!p || !p->ddp) return;
    /* bucket_size_limits = [sys.maxsize]: one bucket of every parameter */
    int64_t b = 0;
    for (int i = 0; i < r->g->n_params; i++) b += p->shard[r->g->params[i]] * r->pb;
    p->bucket[0] = new_slot(r, P(b), DLM_TERM_GRADS, p->nm_bucket, "DDP gradient bucket");
    p->n_bucket = 1;
}

void par_grad_ready(tr *r, int t)
{
    dlm_par *p = r->par;
    if (!p || !p->ddp || p->rebuilt || p->n_ready >= p->n_grad_params) return;
    p->ready[p->n_ready++] = t;
}

int par_ddp_buckets(const int64_t *bytes, int n, int64_t *out)
{
    int nb = 0;
    int64_t acc = 0, limit = DDP_FIRST_BUCKET;
    for (int i = 0; i < n; i++) {
        acc += bytes[i];
        if (acc >= limit) { /* bucket.size >= bucket_size_limit: close it */
            out[nb++] = acc;
            acc = 0;
            limit = DDP_BUCKET_CAP;
        }
    }
    if (acc > 0) out[nb++] = acc; /* the remaining bucket */
    return nb;
}

/* Reducer::rebuild_buckets: the ready order cut into buckets; the old
 * bucket freed, the new allocated. */
static void ddp_rebuild(tr *r, dlm_par *p)
{
    int n = p->n_ready;
    int64_t *bytes = malloc(((size_t)n + 1) * sizeof *bytes);
    int64_t *sizes = malloc(((size_t)n + 1) * sizeof *sizes);
    if (!bytes || !sizes) {
        free(bytes);
        free(sizes);
        if (r->st == DLM_OK) r->st = dlm_error(DLM_ENOMEM, "out of memory");
        return;
    }
    for (int i = 0; i < n; i++) bytes[i] = dlm_tensor_numel_const(r->g, p->ready[i]) * r->pb;
    int nb = par_ddp_buckets(bytes, n, sizes);
    /* sync_bucket_indices: (params + 1) and (buckets) int32 on the device */
    int a = new_slot(r, P(4LL * (n + 1)), DLM_TERM_TRANSIENT, -1, "DDP bucket indices");
    int b = new_slot(r, P(4LL * nb), DLM_TERM_TRANSIENT, -1, "DDP bucket sizes");
    tl_unref(r->t, a);
    tl_unref(r->t, b);
    /* buckets_.clear() drops the Reducer's reference to the construction
     * bucket, but the warm-up's all-reduce of it still holds one: the DDP
     * comm hook never calls work.wait(), so ProcessGroupNCCL keeps the
     * bucket in the work's TensorShelf (stashed_for_allocator_safety_, the
     * default TORCH_NCCL_AVOID_RECORD_STREAMS behaviour) until its watchdog
     * thread sees the work complete and the main thread next enters the
     * process group (shelvesToUnstash_): a release whose time depends on
     * the watchdog's period, counted here as lasting the whole step (the
     * bound; 11 of the 12 world-size-1 DDP/ZeRO-1 points measured show it
     * at their peak) */
    for (int i = 0; i < p->n_bucket; i++) r->t->slots[p->bucket[i]].named = (int8_t)p->nm_held;
    for (int i = 0; i < nb; i++)
        p->bucket[i] = new_slot(r, P(sizes[i]), DLM_TERM_GRADS, p->nm_bucket, "DDP gradient bucket");
    p->n_bucket = nb;
    p->rebuilt = 1;
    free(bytes);
    free(sizes);
}

typedef struct bcast_bucket {
    int64_t bytes;
    int n, first; /* tensors, index of the first */
} bcast_bucket;

static int by_first(const void *x, const void *y)
{
    const bcast_bucket *a = x, *b = y;
    return (a->first > b->first) - (a->first < b->first);
}

/* _sync_buffers: broadcast_coalesced over the module buffers: buckets of
 * 250 MiB per dtype (compute_bucket_assignment_by_size, sorted by their first
 * tensor), each a flat copy (flatten_dense_tensors: at::cat; a view for a
 * single tensor) alive from its broadcast to its finish, at most two in
 * flight. */
static void ddp_broadcast_buffers(tr *r, dlm_par *p)
{
    const dlm_graph *g = r->g;
    int nb = g->n_buffers, n = 0, open[2] = {-1, -1};
    if (!nb) return;
    bcast_bucket *bk = calloc((size_t)nb, sizeof *bk);
    if (!bk) {
        if (r->st == DLM_OK) r->st = dlm_error(DLM_ENOMEM, "out of memory");
        return;
    }
    for (int i = 0; i < nb; i++) {
        int t = g->buffers[i], k = g->tensors[t].elem == DLM_EL_INT64; /* dtype key */
        if (open[k] < 0) {
            open[k] = n++;
            bk[open[k]].first = i;
        }
        bcast_bucket *b = &bk[open[k]];
        b->bytes += dlm_tensor_numel_const(g, t) * elem_bytes(r, t);
        b->n++;
        if (b->bytes >= DDP_BROADCAST_BUCKET) open[k] = -1;
    }
    qsort(bk, (size_t)n, sizeof *bk, by_first);
    int flight[2] = {-1, -1}, nf = 0;
    for (int i = 0; i < n; i++) {
        if (nf == 2) { /* in_flight.front().finish() */
            tl_unref(r->t, flight[0]);
            flight[0] = flight[1];
            nf = 1;
        }
        flight[nf++] = bk[i].n > 1 ? new_slot(r, P(bk[i].bytes), DLM_TERM_TRANSIENT, p->nm_bcast,
                                              "DDP buffer broadcast")
                                   : -1;
    }
    for (int i = 0; i < nf; i++) tl_unref(r->t, flight[i]);
    free(bk);
}

/* ---- FSDP2 ------------------------------------------------------------------------ */

/* FSDPParamGroup.unshard: the all-gather (N > 1: its output buffer). */
static void fsdp_unshard(tr *r, dlm_par *p, par_group *G)
{
    if (!G->n || G->pending || G->unsharded) return;
    G->pending = 1;
    if (p->N > 1)
        G->ag = new_slot(r, P(G->in_numel * p->N * r->pb), DLM_TERM_WORKSPACE, p->nm_ag,
                         "FSDP all-gather output");
}

/* FSDPParamGroup.wait_for_unshard: the copy-out into each parameter's
 * unsharded storage. */
static void fsdp_wait(tr *r, dlm_par *p, par_group *G)
{
    if (!G->pending) return;
    if (G->state == ST_FORWARD && p->ag_state >= 0) { /* free the previous group's output */
        tl_unref(r->t, p->ag_state);
        p->ag_state = -1;
    }
    for (int i = 0; i < G->n; i++)
        G->un[i] = new_slot(r, P(p->shard[G->params[i]] * p->N * r->pb), DLM_TERM_WEIGHTS,
                            p->nm_unsh, "FSDP unsharded parameter");
    if (G->ag >= 0) {
        if (G->state == ST_FORWARD) p->ag_state = G->ag; /* AllGatherState */
        else tl_unref(r->t, G->ag);
    }
    G->ag = -1;
    G->pending = 0;
    G->unsharded = 1;
}

static void fsdp_reshard(tr *r, par_group *G)
{
    if (!G->unsharded) return;
    for (int i = 0; i < G->n; i++) {
        tl_unref(r->t, G->un[i]);
        G->un[i] = -1;
    }
    G->unsharded = 0;
}

static void fsdp_pre_forward(tr *r, dlm_par *p, par_group *G)
{
    G->state = ST_FORWARD;
    fsdp_unshard(r, p, G);
    fsdp_wait(r, p, G);
}

static void fsdp_post_forward(tr *r, dlm_par *p, par_group *G)
{
    if (p->reshard_fwd) fsdp_reshard(r, G);
    G->post_index = p->n_order;
    p->order[p->n_order++] = (int)(G - p->grp);
    G->state = ST_IDLE;
}

static void fsdp_pre_backward(tr *r, dlm_par *p, par_group *G)
{
    if (G->state == ST_PRE_BACKWARD) return;
    G->state = ST_PRE_BACKWARD;
    fsdp_unshard(r, p, G);
    fsdp_wait(r, p, G);
    /* _backward_prefetch: the group whose forward ended just before */
    int cur = G->post_index;
    G->post_index = -1;
    if (cur - 1 >= 0) {
        par_group *T = &p->grp[p->order[cur - 1]];
        int old = T->state;
        T->state = ST_PRE_BACKWARD;
        fsdp_unshard(r, p, T);
        T->state = old;
    }
}

static void fsdp_post_backward(tr *r, dlm_par *p, par_group *G)
{
    G->state = ST_POST_BACKWARD;
    int64_t in = 0;
    int n = 0;
    int *gs = malloc(((size_t)G->n + 1) * sizeof *gs);
    if (!gs) {
        if (r->st == DLM_OK) r->st = dlm_error(DLM_ENOMEM, "out of memory");
        return;
    }
    for (int i = 0; i < G->n; i++) {
        int t = G->params[i];
        if (r->pgrad[t] < 0) continue;
        gs[n++] = r->pgrad[t]; /* unsharded_grads holds it; .grad = None */
        r->pgrad[t] = -1;
        in += p->shard[t] * p->N;
    }
    fsdp_reshard(r, G);
    if (n) {
        if (p->rs_state >= 0) tl_unref(r->t, p->rs_state); /* the previous group's input */
        p->rs_state = -1;
        int rs_in = new_slot(r, P(in * r->pb), DLM_TERM_WORKSPACE, p->nm_rs,
                             "FSDP reduce-scatter input");
        for (int i = 0; i < n; i++) tl_unref(r->t, gs[i]); /* unsharded_grads.clear() */
        G->grads = new_slot(r, P(in / p->N * r->pb), DLM_TERM_GRADS, -1,
                            "FSDP sharded gradients (reduce-scatter output)");
        p->rs_state = rs_in;
    }
    free(gs);
}

/* ---- hooks --------------------------------------------------------------------------- */

void par_forward_begin(tr *r, int first)
{
    dlm_par *p = r->par;
    if (!p || !p->ddp) return;
    if (!first && !p->rebuilt && p->n_ready == p->n_grad_params) ddp_rebuild(r, p);
    ddp_broadcast_buffers(r, p);
}

void par_pre_op(tr *r, int o)
{
    dlm_par *p = r->par;
    if (!p || !p->fsdp) return;
    if (o == 0) fsdp_pre_forward(r, p, &p->grp[0]); /* the root's forward */
    int k = p->group_of[o];
    if (k > 0 && p->grp[k].first == o) fsdp_pre_forward(r, p, &p->grp[k]);
}

void par_post_op(tr *r, int o)
{
    dlm_par *p = r->par;
    if (!p || !p->fsdp) return;
    int k = p->group_of[o];
    if (k > 0 && p->grp[k].last == o) fsdp_post_forward(r, p, &p->grp[k]);
    if (o == r->n_ops - 1) {
        fsdp_post_forward(r, p, &p->grp[0]);
        if (p->ag_state >= 0) tl_unref(r->t, p->ag_state); /* the root frees the last output */
        p->ag_state = -1;
    }
}

void par_backward_begin(tr *r)
{
    dlm_par *p = r->par;
    if (p && p->fsdp) fsdp_pre_backward(r, p, &p->grp[0]);
}

void par_pre_bwd(tr *r, int o)
{
    dlm_par *p = r->par;
    if (!p || !p->fsdp) return;
    int k = p->group_of[o];
    if (k > 0 && p->grp[k].last == o) fsdp_pre_backward(r, p, &p->grp[k]);
}

void par_post_bwd(tr *r, int o)
{
    dlm_par *p = r->par;
    if (!p || !p->fsdp) return;
    int k = p->group_of[o];
    if (k > 0 && p->grp[k].first == o && p->grp[k].input_grad) fsdp_post_backward(r, p, &p->grp[k]);
}

void par_backward_end(tr *r)
{
    dlm_par *p = r->par;
    if (!p || !p->fsdp) return;
    /* _root_post_backward_final_callback: all_states, the root first */
    for (int k = 0; k < p->n_groups; k++)
        if (p->grp[k].state != ST_POST_BACKWARD) fsdp_post_backward(r, p, &p->grp[k]);
    for (int k = 0; k < p->n_groups; k++) {
        par_group *G = &p->grp[k];
        G->state = ST_IDLE;
        if (G->ag >= 0) tl_unref(r->t, G->ag); /* finalize_backward: an unused prefetch */
        G->ag = -1;
        G->pending = 0;
        G->post_index = -1;
    }
    p->n_order = 0;
    if (p->rs_state >= 0) tl_unref(r->t, p->rs_state);
    p->rs_state = -1;
}

void par_zero_grad(tr *r)
{
    dlm_par *p = r->par;
    if (!p || !p->fsdp) return;
    for (int k = 0; k < p->n_groups; k++) {
        if (p->grp[k].grads >= 0) tl_unref(r->t, p->grp[k].grads);
        p->grp[k].grads = -1;
    }
}
