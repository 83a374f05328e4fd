/* advise.c — techniques applied to a workload, evaluated with the memory
 * model, priced, ranked and combined (see advise.h for the contract). */
#include "advise.h"

#include "../analytic/lora.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analytic/memfit.h"
#include "../models/models.h"
#include "flops.h"
#include "segments.h"

#define MAX_GPUS 4096          /* the largest data-parallel group searched */
#define BATCH_LIMIT (1LL << 24)
#define MAX_PICK 512           /* segments checkpoint-best can choose among */

typedef struct tech {
    const char *name, *family;
} tech;

static const tech techs[] = {
    {"mixed", "precision"},          {"bf16", "precision"},
    {"fp16", "precision"},           {"checkpoint-block", "checkpoint"},
    {"checkpoint-stage", "checkpoint"}, {"checkpoint-best", "checkpoint"},
    {"checkpoint-chunks", "checkpoint"},
    {"fused-attention", "attention"}, {"sgd", "optimizer"},
    {"sgd-momentum", "optimizer"},   {"adam", "optimizer"},
    {"adam8bit", "optimizer"},       {"gru", "architecture"},
    {"layers6", "architecture"},     {"base32", "architecture"},
    {"ddp", "sharding"},             {"zero1", "sharding"},
    {"zero2", "sharding"},           {"zero3", "sharding"},
    {"lora", "fine-tuning"},
};
#define N_TECHS ((int)(sizeof techs / sizeof techs[0]))

static const char *risk_names[] = {"none", "low", "medium", "high", "new model"};
const char *dlm_risk_name(dlm_risk r)
{
    return (int)r >= 0 && r <= DLM_RISK_MODEL ? risk_names[r] : "?";
}

const char *dlm_advise_names(void)
{
    static char list[400];
    if (!list[0])
        for (int i = 0; i < N_TECHS; i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, techs[i].name, sizeof list - strlen(list) - 1);
        }
    return list;
}

/* K of "checkpoint-chunksK" (2..DLM_MAX_RNN_CHUNKS), -1 for "checkpoint-chunks"
 * (K chosen), 0 for any other name. */
static int chunks_of(const char *name)
{
    static const char pre[] = "checkpoint-chunks";
    size_t n = sizeof pre - 1;
    if (strncmp(name, pre, n)) return 0;
    if (!name[n]) return -1;
    long k = 0;
    for (const char *d = name + n; *d; d++) {
        if (*d < '0' || *d > '9' || k > DLM_MAX_RNN_CHUNKS) return 0;
        k = k * 10 + (*d - '0');
    }
    return k >= 2 && k <= DLM_MAX_RNN_CHUNKS ? (int)k : 0;
}

static const tech *find_tech(const char *name)
{
    for (int i = 0; i < N_TECHS; i++)
        if (!strcmp(techs[i].name, name)) return &techs[i];
    if (chunks_of(name) > 0) return find_tech("checkpoint-chunks");
    return NULL;
}

/* ---- plans: the workload with techniques applied ------------------------------- */

typedef struct plan {
    char name[96];
    char family[16];
    char model[256], settings[256];
    dlm_mem_config cfg;
    int ckpt;                   /* -1 none, DLM_SEG_BLOCK, DLM_SEG_STAGE */
    int best;                   /* checkpoint-best: blocks chosen for the budget */
    int n_pick;                 /* best: chosen blocks */
    unsigned char pick[MAX_PICK];
    dlm_parallel par;           /* data parallel / sharded over GPUs (DLM_PAR_NONE: one) */
    int chunks;                 /* checkpoint-chunks: K (0 none, -1 to be chosen) */
    int lora_r;                 /* lora: peft's adapters of this rank, the rest frozen (0 none) */
    dlm_risk risk;
    int model_only;
    char what[200], note[400];
} plan;

typedef struct ctx {
    const dlm_workload *w;
    const dlm_budget *b;
    int64_t usable;
    const dlm_model_info *info; /* NULL for a network file */
    dlm_graph *g;               /* the workload's graph */
    int has_attention, has_rnn, n_blocks, n_stages;
    int chunkable;              /* checkpoint-chunks can apply (dlm_mem_rnn_chunkable) */
    int64_t knob_base, knob_layers; /* -1 when the model has no such knob */
    int64_t base_peak;
    int64_t rnn_reserve; /* the baseline peak's cudnn_rnn_reserve term */
    int progress;
} ctx;

/* The lora technique's adapters (peft r=8 on the model type's default
 * targets) on g: 1 and *cnt when peft has defaults for it. */
static int lora_targets(const dlm_graph *g, dlm_lora_count *cnt)
{
    dlm_lora lo = {.r = 8, .alpha = 8};
    return dlm_lora_count_params(g, &lo, cnt) == DLM_OK;
}

static void addf(char *buf, size_t n, const char *sep, const char *s)
{
    if (buf[0]) strncat(buf, sep, n - strlen(buf) - 1);
    strncat(buf, s, n - strlen(buf) - 1);
}

static void plan_init(const ctx *c, plan *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->model, sizeof p->model, "%s", c->w->model);
    snprintf(p->settings, sizeof p->settings, "%s", c->w->settings);
    p->cfg = c->w->cfg;
    p->cfg.checkpoint = NULL;
    p->cfg.n_checkpoint = 0;
    p->cfg.parallel = DLM_PAR_NONE;
    p->cfg.gpus = 0;
    p->cfg.rank = 0;
    p->cfg.rnn_chunks = 0;
    p->ckpt = -1;
    p->risk = DLM_RISK_NONE;
}

static void raise_risk(plan *p, dlm_risk r)
{
    if (r > p->risk) p->risk = r;
}

/* Applies technique `name` to plan p; 0 (with p->note saying why) when it
 * does not apply to this workload. */
static int apply(const ctx *c, plan *p, const char *name)
{
    const dlm_mem_config *w = &c->w->cfg;
    int train = w->mode == DLM_MODE_TRAIN, grad = w->mode != DLM_MODE_INFER;
    const tech *t = find_tech(name);
    addf(p->name, sizeof p->name, "+", name);
    snprintf(p->family, sizeof p->family, "%s", t ? t->family : "?");
#define NA(...) return (snprintf(p->note, sizeof p->note, __VA_ARGS__), 0)
    if (!strcmp(name, "mixed") || !strcmp(name, "bf16") || !strcmp(name, "fp16")) {
        dlm_dtype d = name[0] == 'm' ? DLM_DTYPE_MIXED : name[0] == 'b' ? DLM_DTYPE_BF16 : DLM_DTYPE_FP16;
        if (p->cfg.dtype != DLM_DTYPE_FP32)
            NA("the workload already runs in %s", dlm_dtype_name(p->cfg.dtype));
        p->cfg.dtype = d;
        if (d == DLM_DTYPE_MIXED) {
            raise_risk(p, DLM_RISK_LOW);
            addf(p->what, sizeof p->what, "; ", "torch.autocast: fp32 weights, gradients and "
                 "optimizer state, half activations");
            addf(p->note, sizeof p->note, "; ", "autocast: bf16 is safe, fp16 needs a GradScaler");
        } else if (!grad) {
            raise_risk(p, DLM_RISK_LOW);
            addf(p->what, sizeof p->what, "; ", d == DLM_DTYPE_BF16 ? "weights and activations in bf16"
                                                                   : "weights and activations in fp16");
            addf(p->note, sizeof p->note, "; ", "half-precision inference: check accuracy on held-out data");
        } else {
            raise_risk(p, d == DLM_DTYPE_BF16 ? DLM_RISK_MEDIUM : DLM_RISK_HIGH);
            addf(p->what, sizeof p->what, "; ", d == DLM_DTYPE_BF16
                 ? "everything in bf16 (weights, gradients, optimizer state)"
                 : "everything in fp16 (weights, gradients, optimizer state)");
            addf(p->note, sizeof p->note, "; ", d == DLM_DTYPE_BF16
                 ? "pure bf16 training: small updates round away without fp32 master weights"
                 : "pure fp16 training: overflow/underflow without master weights or loss scaling");
        }
        return 1;
    }
    if (chunks_of(name)) {
        int k = chunks_of(name);
        if (!grad) NA("inference keeps no activations for backward");
        if (p->ckpt >= 0 || p->chunks) NA("one checkpointing scheme at a time");
        if (!c->has_rnn) NA("%s has no RNN to run in chunks of time steps", c->g->name);
        if (p->cfg.profile != DLM_PROFILE_PYTORCH)
            NA("the runtime profile: dlmem's GPU runtime runs each RNN in one cuDNN call");
        if (dlm_mem_rnn_chunkable(c->g) != DLM_OK) NA("%s", dlm_errmsg());
        if (c->w->seq < (k > 0 ? k : 2))
            NA("T = %lld: too few time steps for %d chunks", (long long)c->w->seq, k > 0 ? k : 2);
        p->chunks = k;
        char w[120];
        if (k > 0)
            snprintf(w, sizeof w, "torch.utils.checkpoint around each of %d chunks of %lld time "
                     "steps of the RNN", k, (long long)((c->w->seq + k - 1) / k));
        else
            snprintf(w, sizeof w, "torch.utils.checkpoint around each chunk of time steps of the RNN");
        addf(p->what, sizeof p->what, "; ", w);
        addf(p->note, sizeof p->note, "; ", "recomputes the RNN's forward once in backward, chunk "
             "by chunk (any K); more chunks: shorter cuDNN calls, more states kept");
        return 1;
    }
    if (!strncmp(name, "checkpoint-", 11)) {
        if (!grad) NA("inference keeps no activations for backward");
        if (p->ckpt >= 0 || p->chunks) NA("one checkpointing scheme at a time");
        int stage = !strcmp(name, "checkpoint-stage");
        /* a decoder: transformers' gradient_checkpointing_enable wraps every
         * decoder layer (and turns the KV cache off); its layers are a
         * ModuleList nothing calls as a whole, and a subset of them is not
         * what that switch does (nor measured) */
        if (strcmp(name, "checkpoint-block") && c->g->loss >= 0) /* the causal-LM loss */
            NA("a decoder checkpoints every layer or none (transformers' "
               "gradient_checkpointing_enable): see checkpoint-block");
        if ((stage ? c->n_stages : c->n_blocks) == 0) {
            if (c->has_rnn)
                NA("%s has no %s: its RNN is one cuDNN call over all steps (see "
                   "checkpoint-chunks: chunks of time steps; the cuDNN reserve they shrink is "
                   "%.0f%% of the peak)", c->g->name, stage ? "stages" : "blocks",
                   c->base_peak > 0 ? 100.0 * (double)c->rnn_reserve / (double)c->base_peak : 0.0);
            NA("%s has no %s to wrap (modules named <container>.<index>.<op>)", c->g->name,
               stage ? "stages" : "blocks");
        }
        p->ckpt = stage ? DLM_SEG_STAGE : DLM_SEG_BLOCK;
        p->best = !strcmp(name, "checkpoint-best");
        addf(p->what, sizeof p->what, "; ",
             p->best ? "torch.utils.checkpoint on the blocks chosen for the budget"
                     : stage ? "torch.utils.checkpoint around every stage"
                             : "torch.utils.checkpoint around every block");
        addf(p->note, sizeof p->note, "; ", "recomputes the wrapped forward in backward");
        return 1;
    }
    if (!strcmp(name, "fused-attention")) {
        if (!c->has_attention) NA("%s has no attention", c->g->name);
        if (p->cfg.attention == DLM_ATTN_FUSED) NA("attention is already fused");
        p->cfg.attention = DLM_ATTN_FUSED;
        addf(p->what, sizeof p->what, "; ", "SDPA (flash / memory-efficient): no B*heads*T^2 scores");
        addf(p->note, sizeof p->note, "; ", "same arithmetic");
        return 1;
    }
    if (!strcmp(name, "sgd") || !strcmp(name, "sgd-momentum") || !strcmp(name, "adam") ||
        !strcmp(name, "adam8bit")) {
        dlm_optimizer o;
        if (!train) NA("only a training step has an optimizer");
        if (dlm_optimizer_parse(name, &o) != DLM_OK) NA("unknown optimizer");
        if (o == p->cfg.optimizer) NA("the workload already uses %s", name);
        p->cfg.optimizer = o;
        if (o == DLM_OPT_ADAM8BIT) {
            p->model_only = 1;
            raise_risk(p, DLM_RISK_LOW);
            addf(p->what, sizeof p->what, "; ", "Adam with blockwise 8-bit states (bitsandbytes)");
            addf(p->note, sizeof p->note, "; ", "8-bit states: close to 32-bit Adam in published "
                 "results, not checked here");
        } else if (o == DLM_OPT_ADAM) {
            addf(p->what, sizeof p->what, "; ", "Adam (two fp32 states per parameter)");
            addf(p->note, sizeof p->note, "; ", "a different optimizer");
            raise_risk(p, DLM_RISK_MEDIUM);
        } else {
            raise_risk(p, DLM_RISK_MEDIUM);
            addf(p->what, sizeof p->what, "; ", o == DLM_OPT_SGD ? "plain SGD (no state)"
                                                                 : "SGD with momentum (one state)");
            addf(p->note, sizeof p->note, "; ", "a different optimizer: learning rate and schedule "
                 "need retuning");
        }
        return 1;
    }
    if (!strcmp(name, "gru")) {
        if (!c->info || strcmp(c->info->name, "lstm")) NA("a GRU replaces the seed's LSTM only");
        snprintf(p->model, sizeof p->model, "gru");
        raise_risk(p, DLM_RISK_MODEL);
        addf(p->what, sizeof p->what, "; ", "nn.GRU (3 gates) in place of nn.LSTM (4)");
        addf(p->note, sizeof p->note, "; ", "a different network: retrain and validate");
        return 1;
    }
    if (!strcmp(name, "layers6") || !strcmp(name, "base32")) {
        int depth = name[0] == 'l';
        int64_t v = depth ? c->knob_layers : c->knob_base;
        if (!c->info || (depth ? strncmp(c->info->name, "bert", 4) : strncmp(c->info->name, "resnet", 6)))
            NA("%s applies to %s", name, depth ? "BERT" : "ResNets");
        if (v >= 0 && v <= (depth ? 6 : 32)) NA("%s is already %s", depth ? "depth" : "width",
                                                depth ? "6 layers or fewer" : "32 channels or fewer");
        addf(p->settings, sizeof p->settings, ",", depth ? "layers=6" : "base=32");
        raise_risk(p, DLM_RISK_MODEL);
        addf(p->what, sizeof p->what, "; ", depth ? "6 encoder layers (DistilBERT's depth)"
                                                  : "32 channels in the first stage (half width)");
        addf(p->note, sizeof p->note, "; ", depth ? "a smaller network: distil or retrain"
                                                  : "a narrower network: retrain and validate");
        return 1;
    }
    if (!strcmp(name, "lora")) {
        dlm_lora_count cnt;
        if (!train) NA("LoRA trains adapters: a training step");
        if (!lora_targets(c->g, &cnt)) NA("peft has no default target modules for %s", c->g->name);
        p->lora_r = 8;
        raise_risk(p, DLM_RISK_MEDIUM);
        char buf[200];
        snprintf(buf, sizeof buf, "peft LoRA r=8 on %.60s (%d modules): the rest frozen, "
                 "gradients and optimizer states of the adapters only", cnt.targets, cnt.modules);
        addf(p->what, sizeof p->what, "; ", buf);
        addf(p->note, sizeof p->note, "; ", "fine-tunes low-rank adapters, not the whole model: "
             "quality depends on the task");
        return 1;
    }
    dlm_parallel par;
    if ((!strncmp(name, "zero", 4) && name[4] >= '1' && name[4] <= '3' && !name[5]) ||
        !strcmp(name, "ddp")) {
        if (!train) NA("data parallelism runs a training step");
        if (dlm_parallel_parse(name, &par) != DLM_OK) NA("unknown technique");
        if (par == DLM_PAR_ZERO1 && w->optimizer != DLM_OPT_ADAM)
            NA("zero1 is ZeroRedundancyOptimizer(Adam)");
        p->par = par;
        addf(p->what, sizeof p->what, "; ",
             par == DLM_PAR_DDP     ? "DistributedDataParallel: the batch split over the GPUs, "
                                      "gradient buckets as large as the weights"
             : par == DLM_PAR_ZERO1 ? "DDP + ZeroRedundancyOptimizer: Adam's state split over the "
                                      "GPUs (ZeRO-1)"
             : par == DLM_PAR_ZERO2 ? "FSDP2 without resharding after forward: state and gradients "
                                      "split over the GPUs (ZeRO-2)"
                                    : "FSDP2 fully_shard per block: state, gradients and weights "
                                      "split over the GPUs (ZeRO-3)");
        addf(p->note, sizeof p->note, "; ", "rules read from PyTorch 2.11's source; multi-GPU "
             "points not measured on 2 GPUs; NCCL's buffers not counted");
        return 1;
    }
    NA("unknown technique");
#undef NA
}

/* ---- compiling and evaluating a plan ------------------------------------------------ */

typedef struct built {
    dlm_graph *g;
    dlm_mem_model *m;
    dlm_op_range *ranges;
    int n_ranges;
} built;

static void built_free(built *b)
{
    dlm_mem_model_free(b->m);
    dlm_graph_free(b->g);
    free(b->ranges);
    memset(b, 0, sizeof *b);
}

/* Builds plan p's graph and compiles its model for `gpus` GPUs. */
static dlm_status build(const plan *p, int gpus, built *b)
{
    memset(b, 0, sizeof *b);
    DLM_TRY(dlm_model_open(p->model, p->settings[0] ? p->settings : NULL, NULL, &b->g));
    dlm_mem_config cfg = p->cfg;
    dlm_status st = DLM_OK;
    if (p->lora_r > 0) {
        dlm_lora lo = {.r = p->lora_r, .alpha = p->lora_r};
        st = dlm_lora_apply(b->g, &lo);
    }
    if (p->ckpt >= 0) {
        dlm_segment *seg;
        int n;
        st = dlm_segments_find(b->g, (dlm_seg_kind)p->ckpt, &seg, &n);
        if (st == DLM_OK && n > 0 && !(b->ranges = malloc((size_t)n * sizeof *b->ranges)))
            st = dlm_error(DLM_ENOMEM, "out of memory");
        for (int i = 0; st == DLM_OK && i < n; i++)
            if (!p->best || (i < MAX_PICK && p->pick[i])) b->ranges[b->n_ranges++] = seg[i].ops;
        if (st == DLM_OK) free(seg);
        cfg.checkpoint = b->ranges;
        cfg.n_checkpoint = b->n_ranges;
    }
    if (p->par != DLM_PAR_NONE) {
        cfg.parallel = p->par;
        cfg.gpus = gpus;
        cfg.rank = -1; /* the rank that keeps the most */
    }
    cfg.rnn_chunks = p->chunks > 1 ? p->chunks : 0;
    if (st == DLM_OK) st = dlm_mem_model_alloc(b->g, &cfg, &b->m);
    if (st != DLM_OK) built_free(b);
    return st;
}

static int64_t per_gpu(int64_t batch, int gpus) { return gpus > 1 ? (batch + gpus - 1) / gpus : batch; }

/* Peak of a built plan at the workload's point on `gpus` GPUs. */
static dlm_status peak_of(const ctx *c, const built *b, int gpus, dlm_mem_result *r)
{
    return dlm_mem_eval(b->m, per_gpu(c->w->batch, gpus), c->w->seq, r);
}

/* Recomputed forward operations / forward operations (checkpointing in
 * chunks: every RNN op's forward once, whatever K). */
static double recompute_share(const ctx *c, const built *b, int gpus)
{
    int chunked = dlm_mem_model_config(b->m)->rnn_chunks > 1;
    if (!b->n_ranges && !chunked) return 0;
    int64_t B = per_gpu(c->w->batch, gpus), T = c->w->seq > 0 ? c->w->seq : 1;
    dlm_poly all = dlm_flops_range(b->g, 0, b->g->n_ops - 1), re = dlm_poly_const(0);
    for (int i = 0; i < b->n_ranges; i++)
        re = dlm_poly_add(re, dlm_flops_range(b->g, b->ranges[i].first, b->ranges[i].last));
    for (int o = 0; chunked && o < b->g->n_ops; o++)
        if (b->g->ops[o].kind == DLM_OP_RNN) re = dlm_poly_add(re, dlm_op_flops(b->g, o));
    double a = dlm_poly_evalf(&all, (double)B, (double)T);
    return a > 0 ? dlm_poly_evalf(&re, (double)B, (double)T) / a : 0;
}

/* Fills advice `a` for plan p on `gpus` GPUs (p->par: gpus >= 1). */
static dlm_status fill(const ctx *c, const plan *p, int gpus, dlm_advice *a)
{
    built b;
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", p->name);
    snprintf(a->family, sizeof a->family, "%s", p->family);
    snprintf(a->what, sizeof a->what, "%s", p->what);
    snprintf(a->note, sizeof a->note, "%s", p->note);
    a->risk = p->risk;
    a->model_only = p->model_only;
    a->applicable = 1;
    a->gpus = gpus;
    a->rnn_chunks = p->chunks > 1 ? p->chunks : 0;
    DLM_TRY(build(p, gpus, &b));
    dlm_status st = peak_of(c, &b, gpus, &a->r);
    if (st == DLM_OK) {
        int64_t per = 0, T = b.g->uses_T ? c->w->seq : 1;
        a->peak = a->r.peak_bytes;
        a->saved = c->base_peak - a->peak;
        a->share = c->base_peak > 0 ? (double)a->saved / (double)c->base_peak : 0;
        a->fits = a->peak <= c->usable;
        a->gpu_batch = per_gpu(c->w->batch, gpus);
        a->recompute = recompute_share(c, &b, gpus);
        if (c->usable > 0) st = dlm_mem_fit_search(b.m, 0, T, BATCH_LIMIT, c->usable, &per);
        a->max_batch = per * gpus;
    }
    built_free(&b);
    return st;
}

/* The peak alone (for searches). */
static dlm_status quick_peak(const ctx *c, const plan *p, int gpus, int64_t *peak)
{
    built b;
    dlm_mem_result r;
    DLM_TRY(build(p, gpus, &b));
    dlm_status st = peak_of(c, &b, gpus, &r);
    *peak = r.peak_bytes;
    built_free(&b);
    return st;
}

/* Sharding: the fewest GPUs (2..MAX_GPUS) on which the plan fits, or 2 when
 * one GPU already does (to show what it saves), or MAX_GPUS when none. */
static dlm_status zero_gpus(const ctx *c, const plan *p, int *gpus)
{
    int64_t pk;
    DLM_TRY(quick_peak(c, p, 2, &pk));
    if (pk <= c->usable) {
        *gpus = 2;
        return DLM_OK;
    }
    int lo = 2, hi = 4;
    for (;;) {
        DLM_TRY(quick_peak(c, p, hi, &pk));
        if (pk <= c->usable) break;
        lo = hi;
        if (hi == MAX_GPUS) {
            *gpus = MAX_GPUS;
            return DLM_OK;
        }
        hi = hi * 2 > MAX_GPUS ? MAX_GPUS : hi * 2;
    }
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        DLM_TRY(quick_peak(c, p, mid, &pk));
        if (pk <= c->usable) hi = mid;
        else lo = mid;
    }
    *gpus = hi;
    return DLM_OK;
}

/* checkpoint-best: adds blocks one at a time, each time the one that lowers
 * the peak most per recomputed operation, until the plan fits (or no block
 * lowers the peak any more). */
static dlm_status choose_blocks(const ctx *c, plan *p, int gpus)
{
    dlm_segment *seg;
    int n;
    DLM_TRY(dlm_segments_find(c->g, (dlm_seg_kind)p->ckpt, &seg, &n));
    if (n > MAX_PICK) n = MAX_PICK;
    memset(p->pick, 0, sizeof p->pick);
    p->n_pick = 0;
    int64_t cur, B = per_gpu(c->w->batch, gpus), T = c->w->seq > 0 ? c->w->seq : 1;
    dlm_status st = quick_peak(c, p, gpus, &cur);
    while (st == DLM_OK && cur > c->usable && p->n_pick < n) {
        int bi = -1;
        double bv = 0;
        int64_t bp = cur;
        for (int i = 0; i < n && st == DLM_OK; i++) {
            if (p->pick[i]) continue;
            int64_t pk;
            p->pick[i] = 1;
            st = quick_peak(c, p, gpus, &pk);
            p->pick[i] = 0;
            dlm_poly f = dlm_flops_range(c->g, seg[i].ops.first, seg[i].ops.last);
            double cost = dlm_poly_evalf(&f, (double)B, (double)T) + 1;
            double v = (double)(cur - pk) / cost;
            if (st == DLM_OK && pk < cur && (bi < 0 || v > bv)) {
                bi = i;
                bv = v;
                bp = pk;
            }
        }
        if (bi < 0) break;
        p->pick[bi] = 1;
        p->n_pick++;
        cur = bp;
    }
    if (st == DLM_OK) {
        char list[160] = "";
        int shown = 0;
        for (int i = 0; i < n; i++)
            if (p->pick[i] && shown++ < 4) addf(list, sizeof list, ", ", seg[i].name);
        char buf[200];
        if (p->n_pick == 0)
            snprintf(buf, sizeof buf, "no block needs checkpointing");
        else
            snprintf(buf, sizeof buf, "checkpoint %d of %d blocks (%s%s)", p->n_pick, n, list,
                     p->n_pick > 4 ? ", ..." : "");
        snprintf(p->what, sizeof p->what, "%s", buf);
    }
    free(seg);
    return st;
}

/* checkpoint-chunks: scans K from 2 (every K up to 16, then steps of K/8)
 * while the peak falls: it falls as each chunk's reserve and workspace
 * shrink with T/K and rises again as the K kept states grow.  *fit: the
 * fewest chunks that fit (the first fitting candidate narrowed down by
 * bisection; 0: none fits), *low: the candidate with the lowest peak.  With
 * `stop` the scan ends at the first fit. */
static dlm_status scan_chunks(const ctx *c, plan *p, int gpus, int stop, int *fit, int *low,
                              int64_t *low_peak)
{
    int64_t T = c->w->seq;
    int kmax = T < DLM_MAX_RNN_CHUNKS ? (int)T : DLM_MAX_RNN_CHUNKS, prev = 1, keep = p->chunks;
    *fit = 0;
    *low = 2;
    *low_peak = -1;
    dlm_status st = DLM_OK;
    for (int k = 2; k <= kmax && st == DLM_OK; k += k < 16 ? 1 : k / 8) {
        int64_t pk;
        p->chunks = k;
        if ((st = quick_peak(c, p, gpus, &pk)) != DLM_OK) break;
        if (!*fit && pk <= c->usable) {
            int lo = prev, hi = k; /* lo does not fit (1: no chunks, the baseline) */
            while (hi - lo > 1 && st == DLM_OK) {
                int mid = lo + (hi - lo) / 2;
                int64_t pm;
                p->chunks = mid;
                if ((st = quick_peak(c, p, gpus, &pm)) != DLM_OK) break;
                if (pm <= c->usable) hi = mid;
                else lo = mid;
            }
            *fit = hi;
            if (stop) break;
        }
        if (*low_peak < 0 || pk < *low_peak) {
            *low_peak = pk;
            *low = k;
        } else if (k >= 2 * *low + 8) {
            break; /* past the lowest peak: it only rises from here */
        }
        prev = k;
    }
    p->chunks = keep;
    return st;
}

/* checkpoint-chunks without K: the fewest chunks that fit (every K recomputes
 * the RNN's forward once; fewer chunks make fewer, longer cuDNN calls), else
 * the K with the lowest peak. */
static dlm_status choose_chunks(const ctx *c, plan *p, int gpus)
{
    int fit, low;
    int64_t low_peak;
    p->chunks = -1;
    DLM_TRY(scan_chunks(c, p, gpus, 1, &fit, &low, &low_peak));
    p->chunks = fit ? fit : low;
    int64_t steps = (c->w->seq + p->chunks - 1) / p->chunks;
    char buf[200];
    snprintf(buf, sizeof buf, "torch.utils.checkpoint around each of K=%d chunks of %lld time steps "
             "of the RNN (%s)", p->chunks, (long long)steps,
             fit ? "the fewest chunks that fit" : "none fits: the K with the lowest peak");
    snprintf(p->what, sizeof p->what, "%s", buf);
    return DLM_OK;
}

/* Evaluates plan p fully (sharding GPUs and checkpoint choices included). */
static dlm_status evaluate(const ctx *c, plan *p, dlm_advice *a)
{
    int gpus = 1, choose = p->chunks < 0;
    if (choose) DLM_TRY(choose_chunks(c, p, 1));
    if (p->par != DLM_PAR_NONE) DLM_TRY(zero_gpus(c, p, &gpus));
    if (choose && gpus > 1) DLM_TRY(choose_chunks(c, p, gpus));
    if (p->best) DLM_TRY(choose_blocks(c, p, gpus));
    DLM_TRY(fill(c, p, gpus, a));
    if (p->par != DLM_PAR_NONE) {
        char b[96];
        snprintf(b, sizeof b, "; %d GPUs, batch %lld each%s", gpus, (long long)a->gpu_batch,
                 c->base_peak <= c->usable ? " (one GPU suffices already)" : "");
        strncat(a->what, b, sizeof a->what - strlen(a->what) - 1);
    }
    return DLM_OK;
}

/* Applies a "+"-joined list of techniques; 0 when one does not apply. */
static int apply_all(const ctx *c, plan *p, const char *names)
{
    char buf[160], *save = NULL;
    snprintf(buf, sizeof buf, "%s", names);
    int n = 0;
    for (char *t = strtok_r(buf, "+", &save); t; t = strtok_r(NULL, "+", &save), n++)
        if (!apply(c, p, t)) return 0;
    if (n > 1) snprintf(p->family, sizeof p->family, "combination");
    return 1;
}

static dlm_status check_names(const char *list)
{
    char buf[1024], *save = NULL, *save2 = NULL;
    snprintf(buf, sizeof buf, "%s", list);
    for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save))
        for (char *t = strtok_r(it, "+", &save2); t; t = strtok_r(NULL, "+", &save2))
            if (!find_tech(t))
                return dlm_error(DLM_EINVAL, "unknown technique '%s' (valid: %s; "
                                 "checkpoint-chunksK for K chunks, 2 to %d; join with + to "
                                 "combine)", t, dlm_advise_names(), DLM_MAX_RNN_CHUNKS);
    return DLM_OK;
}

/* ---- combinations --------------------------------------------------------------------- */

/* a cheaper than b: fewer GPUs, lower risk, less recomputation, fewer parts. */
static int cheaper(const dlm_advice *a, int na, const dlm_advice *b, int nb)
{
    if (a->gpus != b->gpus) return a->gpus < b->gpus;
    if (a->risk != b->risk) return a->risk < b->risk;
    if (a->recompute < b->recompute - 1e-9 || a->recompute > b->recompute + 1e-9)
        return a->recompute < b->recompute;
    if (na != nb) return na < nb;
    return a->peak < b->peak;
}

static int parts(const char *name)
{
    int n = 1;
    for (const char *s = name; *s; s++) n += *s == '+';
    return n;
}

static void consider(dlm_advice_report *rep, const dlm_advice *a)
{
    rep->n_combos++;
    if (a->gpus == 1 && (!rep->lowest.applicable || a->peak < rep->lowest.peak)) rep->lowest = *a;
    if (!a->fits) return;
    rep->n_fitting++;
    /* the four cheapest, in order: best, then alt[] */
    dlm_advice top[4];
    int n = 0;
    if (rep->best.applicable) {
        top[n++] = rep->best;
        for (int i = 0; i < rep->n_alt; i++) top[n++] = rep->alt[i];
    }
    int pos = n;
    while (pos > 0 && cheaper(a, parts(a->name), &top[pos - 1], parts(top[pos - 1].name))) pos--;
    if (pos >= 4) return;
    for (int k = n < 4 ? n : 3; k > pos; k--) top[k] = top[k - 1];
    top[pos] = *a;
    n = n < 4 ? n + 1 : 4;
    rep->best = top[0];
    rep->n_alt = n - 1;
    for (int i = 1; i < n; i++) rep->alt[i - 1] = top[i];
}


/* Evaluates the combination of the non-empty technique names in parts (joined
 * with '+') and keeps it in rep if it is the best so far; names that do not
 * apply together are skipped. */
static dlm_status try_combination(const ctx *c, dlm_advice_report *rep, const char *const *parts,
                                  int n)
{
    char names[160] = "";
    for (int q = 0; q < n; q++)
        if (parts[q][0]) addf(names, sizeof names, "+", parts[q]);
    if (!names[0]) return DLM_OK;
    plan p;
    plan_init(c, &p);
    if (!apply_all(c, &p, names)) return DLM_OK;
    dlm_advice a;
    dlm_status st = evaluate(c, &p, &a);
    if (st == DLM_EUNSUPPORTED) return DLM_OK; /* a configuration the rules do not cover */
    DLM_TRY(st);
    consider(rep, &a);
    return DLM_OK;
}
static dlm_status combinations(const ctx *c, dlm_advice_report *rep)
{
    const dlm_mem_config *w = &c->w->cfg;
    const char *prec[4] = {"", NULL, NULL, NULL}, *att[2] = {"", NULL}, *ck[3] = {"", NULL, NULL},
               *opt[5] = {"", NULL, NULL, NULL, NULL};
    int np = 1, na = 1, nc = 1, no = 1;
    if (w->dtype == DLM_DTYPE_FP32) {
        if (w->mode == DLM_MODE_INFER) {
            prec[np++] = "fp16";
            prec[np++] = "bf16";
        } else {
            prec[np++] = "mixed";
            prec[np++] = "bf16";
        }
    }
    if (c->has_attention && w->attention == DLM_ATTN_EAGER) att[na++] = "fused-attention";
    if (w->mode != DLM_MODE_INFER) {
        if (c->n_stages) ck[nc++] = "checkpoint-stage";
        if (c->n_blocks) ck[nc++] = "checkpoint-block";
        else if (c->chunkable) ck[nc++] = "checkpoint-chunks";
    }
    if (w->mode == DLM_MODE_TRAIN) {
        if (w->optimizer == DLM_OPT_ADAM) opt[no++] = "adam8bit";
        if (w->optimizer != DLM_OPT_SGD_MOMENTUM && w->optimizer != DLM_OPT_SGD) opt[no++] = "sgd-momentum";
        if (w->optimizer != DLM_OPT_SGD) opt[no++] = "sgd";
        dlm_lora_count cnt;
        if (lora_targets(c->g, &cnt)) opt[no++] = "lora";
    }
    int total = np * na * nc * no, done = 0;
    for (int i = 0; i < np; i++)
        for (int j = 0; j < na; j++)
            for (int k = 0; k < nc; k++)
                for (int l = 0; l < no; l++) {
                    const char *parts_[4] = {prec[i], att[j], ck[k], opt[l]};
                    DLM_TRY(try_combination(c, rep, parts_, 4));
                    if (c->progress && (++done % 16 == 0 || done == total))
                        fprintf(stderr, "advise: %d of %d combinations\n", done, total);
                }
    if (rep->best.applicable || w->mode != DLM_MODE_TRAIN) return DLM_OK;
    /* nothing fits one GPU: shard, with the zero-risk and low-risk helpers */
    for (int z = 1; z <= 3; z++)
        for (int i = 0; i < (np > 2 ? 2 : np); i++)
            for (int j = 0; j < na; j++)
                for (int k = 0; k < nc; k++) {
                    char zn[8];
                    snprintf(zn, sizeof zn, "zero%d", z);
                    const char *parts_[4] = {prec[i], att[j], ck[k], zn};
                    DLM_TRY(try_combination(c, rep, parts_, 4));
                }
    if (c->progress) fprintf(stderr, "advise: sharded combinations done\n");
    return DLM_OK;
}

/* ---- the report -------------------------------------------------------------------------- */

static int by_saving(const void *x, const void *y)
{
    const dlm_advice *a = x, *b = y;
    if (a->applicable != b->applicable) return b->applicable - a->applicable;
    if (!a->applicable) return 0;
    return a->saved < b->saved ? 1 : a->saved > b->saved ? -1 : 0;
}

void dlm_advice_report_free(dlm_advice_report *r)
{
    if (!r) return;
    free(r->rows);
    free(r);
}

/* The peak of plan p on one GPU (build, evaluate, free). */
static dlm_status peak_on_one(const ctx *c, const plan *p, dlm_mem_result *r)
{
    built b;
    DLM_TRY(build(p, 1, &b));
    dlm_status st = peak_of(c, &b, 1, r);
    built_free(&b);
    return st;
}

static int cmp_int(const void *x, const void *y)
{
    return *(const int *)x - *(const int *)y;
}

/* The trade-off behind checkpoint-chunks' choice `a`: K = 2, 4, 8, ... up to
 * twice the lowest-peak K (or the chosen one), with both of them. */
static dlm_status chunk_tradeoff(const ctx *c, const dlm_advice *a, dlm_advice_report *rep)
{
    plan p;
    plan_init(c, &p);
    if (!apply(c, &p, "checkpoint-chunks")) return DLM_OK;
    int fit, low, ks[24], n = 0;
    int64_t low_peak;
    DLM_TRY(scan_chunks(c, &p, 1, 0, &fit, &low, &low_peak));
    rep->chunks_chosen = a->rnn_chunks;
    rep->chunks_lowest = low;
    int top = 2 * low > a->rnn_chunks ? 2 * low : a->rnn_chunks;
    for (int64_t k = 2; k <= top && k <= c->w->seq && n < 14; k *= 2) ks[n++] = (int)k;
    ks[n++] = a->rnn_chunks;
    ks[n++] = low;
    qsort(ks, (size_t)n, sizeof ks[0], cmp_int);
    for (int i = 0; i < n; i++) {
        if (ks[i] < 2 || (i > 0 && ks[i] == ks[i - 1])) continue;
        struct dlm_chunk_row *row = &rep->chunk_rows[rep->n_chunk_rows];
        dlm_advice x;
        p.chunks = ks[i];
        DLM_TRY(fill(c, &p, 1, &x));
        row->chunks = ks[i];
        row->steps = (c->w->seq + ks[i] - 1) / ks[i];
        row->peak = x.peak;
        row->saved = x.saved;
        row->fits = x.fits;
        row->max_batch = x.max_batch;
        if (++rep->n_chunk_rows == (int)(sizeof rep->chunk_rows / sizeof rep->chunk_rows[0])) break;
    }
    return DLM_OK;
}

static dlm_status precision_section_run(const ctx *c, dlm_advice_report *rep);

/* The precision comparison, left out (has_precision 0) where the rules do not
 * cover one of its configurations (a decoder's training step, autocast). */
static dlm_status precision_section(const ctx *c, dlm_advice_report *rep)
{
    dlm_status st = precision_section_run(c, rep);
    if (st == DLM_EUNSUPPORTED) {
        rep->has_precision = 0;
        return DLM_OK;
    }
    return st;
}

static dlm_status precision_section_run(const ctx *c, dlm_advice_report *rep)
{
    const dlm_mem_config *w = &c->w->cfg;
    if (w->dtype != DLM_DTYPE_FP32) return DLM_OK;
    const char *names[2] = {"mixed", w->mode == DLM_MODE_INFER ? "fp16" : "bf16"};
    rep->prec[0] = rep->base.r;
    snprintf(rep->prec_name[0], sizeof rep->prec_name[0], "fp32");
    for (int i = 0; i < 2; i++) {
        plan p;
        plan_init(c, &p);
        if (!apply(c, &p, names[i])) return DLM_OK;
        DLM_TRY(peak_on_one(c, &p, &rep->prec[i + 1]));
        snprintf(rep->prec_name[i + 1], sizeof rep->prec_name[0], "%s", names[i]);
    }
    rep->has_precision = 1;
    /* the seed's claim at this point: fp16 inference and autocast training */
    dlm_mem_result r32, r16;
    plan p;
    plan_init(c, &p);
    p.cfg.mode = DLM_MODE_INFER;
    DLM_TRY(peak_on_one(c, &p, &r32));
    p.cfg.dtype = DLM_DTYPE_FP16;
    DLM_TRY(peak_on_one(c, &p, &r16));
    rep->fp16_infer_share = 1.0 - (double)r16.peak_bytes / (double)r32.peak_bytes;
    plan_init(c, &p);
    p.cfg.mode = DLM_MODE_TRAIN;
    DLM_TRY(peak_on_one(c, &p, &r32));
    p.cfg.dtype = DLM_DTYPE_MIXED;
    DLM_TRY(peak_on_one(c, &p, &r16));
    rep->mixed_train_share = 1.0 - (double)r16.peak_bytes / (double)r32.peak_bytes;
    return DLM_OK;
}

dlm_status dlm_advise(const dlm_workload *w, const dlm_budget *b, const char *only, int progress,
                      dlm_advice_report **out)
{
    *out = NULL;
    if (only) DLM_TRY(check_names(only));
    if (w->cfg.n_checkpoint || w->cfg.parallel != DLM_PAR_NONE || w->cfg.gpus > 1 ||
        w->cfg.rnn_chunks > 1)
        return dlm_error(DLM_EINVAL, "advise: the workload must come without checkpointing or sharding");
    ctx c;
    memset(&c, 0, sizeof c);
    c.w = w;
    c.b = b;
    c.usable = b->memory - b->context;
    c.progress = progress;
    c.knob_base = c.knob_layers = -1;
    DLM_TRY(dlm_model_open(w->model, w->settings[0] ? w->settings : NULL, &c.info, &c.g));
    dlm_status st = DLM_OK;
    if (c.info) {
        dlm_model_config mc;
        st = dlm_model_config_init(c.info, w->settings[0] ? w->settings : NULL, &mc);
        for (int i = 0; st == DLM_OK && i < mc.n_knobs; i++) {
            if (!strcmp(mc.knobs[i].name, "base")) c.knob_base = mc.knobs[i].value;
            if (!strcmp(mc.knobs[i].name, "layers")) c.knob_layers = mc.knobs[i].value;
        }
    }
    for (int o = 0; o < c.g->n_ops; o++) {
        c.has_attention |= c.g->ops[o].kind == DLM_OP_ATTENTION;
        c.has_rnn |= c.g->ops[o].kind == DLM_OP_RNN;
    }
    c.chunkable = c.has_rnn && w->cfg.profile == DLM_PROFILE_PYTORCH && w->seq >= 2 &&
                  dlm_mem_rnn_chunkable(c.g) == DLM_OK;
    dlm_segment *seg = NULL;
    if (st == DLM_OK) st = dlm_segments_find(c.g, DLM_SEG_BLOCK, &seg, &c.n_blocks);
    free(seg);
    seg = NULL;
    if (st == DLM_OK) st = dlm_segments_find(c.g, DLM_SEG_STAGE, &seg, &c.n_stages);
    free(seg);
    dlm_advice_report *rep = NULL;
    if (st == DLM_OK && !(rep = calloc(1, sizeof *rep))) st = dlm_error(DLM_ENOMEM, "out of memory");
    if (st == DLM_OK) {
        rep->w = *w;
        rep->b = *b;
        rep->usable = c.usable;
        snprintf(rep->net, sizeof rep->net, "%s", c.g->name);
        rep->uses_T = c.g->uses_T;
        rep->params = dlm_graph_param_count(c.g);
        rep->weight_bytes = rep->params * dlm_dtype_param_bytes(w->cfg.dtype);
        plan p;
        plan_init(&c, &p);
        snprintf(p.name, sizeof p.name, "as given");
        snprintf(p.family, sizeof p.family, "baseline");
        snprintf(p.what, sizeof p.what, "the workload unchanged");
        c.base_peak = 0;
        st = fill(&c, &p, 1, &rep->base);
        c.base_peak = rep->base.peak;
        dlm_mem_model *nm = NULL; /* how its measured library workspaces are known */
        if (st == DLM_OK) st = dlm_mem_model_alloc(c.g, &w->cfg, &nm);
        if (st == DLM_OK) dlm_mem_note(nm, w->batch, rep->ws_note, sizeof rep->ws_note);
        dlm_mem_model_free(nm);
        for (int k = 0; k < rep->base.r.n_named; k++)
            if (!strcmp(rep->base.r.named[k].name, "cudnn_rnn_reserve"))
                c.rnn_reserve = rep->base.r.named[k].bytes;
        rep->base.saved = 0;
        rep->base.share = 0;
    }
    /* each technique (or the requested ones) on its own */
    char list[1024];
    if (only) snprintf(list, sizeof list, "%s", only);
    else {
        list[0] = '\0';
        for (int i = 0; i < N_TECHS; i++) addf(list, sizeof list, ",", techs[i].name);
    }
    int cap = 1;
    for (const char *s = list; *s; s++) cap += *s == ',';
    if (st == DLM_OK && !(rep->rows = calloc((size_t)cap, sizeof *rep->rows)))
        st = dlm_error(DLM_ENOMEM, "out of memory");
    char *save = NULL;
    for (char *it = st == DLM_OK ? strtok_r(list, ",", &save) : NULL; it && st == DLM_OK;
         it = strtok_r(NULL, ",", &save)) {
        plan p;
        plan_init(&c, &p);
        dlm_advice *a = &rep->rows[rep->n_rows++];
        if (!apply_all(&c, &p, it)) {
            memset(a, 0, sizeof *a);
            snprintf(a->name, sizeof a->name, "%s", it);
            snprintf(a->family, sizeof a->family, "%s", p.family);
            snprintf(a->note, sizeof a->note, "%s", p.note);
            a->model_only = p.model_only;
            continue;
        }
        st = evaluate(&c, &p, a);
        if (st == DLM_EUNSUPPORTED) { /* e.g. a decoder under autocast: no rules, no guess */
            memset(a, 0, sizeof *a);
            snprintf(a->name, sizeof a->name, "%s", it);
            snprintf(a->family, sizeof a->family, "%s", p.family);
            snprintf(a->note, sizeof a->note, "not modelled for this network: %s", dlm_errmsg());
            st = DLM_OK;
            continue;
        }
        if (progress && st == DLM_OK) fprintf(stderr, "advise: %s evaluated\n", a->name);
    }
    for (int i = 0; st == DLM_OK && i < rep->n_rows; i++)
        if (rep->rows[i].applicable && !strcmp(rep->rows[i].name, "checkpoint-chunks"))
            st = chunk_tradeoff(&c, &rep->rows[i], rep);
    if (st == DLM_OK) qsort(rep->rows, (size_t)rep->n_rows, sizeof *rep->rows, by_saving);
    if (st == DLM_OK && !only && !rep->base.fits) st = combinations(&c, rep);
    if (st == DLM_OK) st = precision_section(&c, rep);
    dlm_graph_free(c.g);
    if (st != DLM_OK) {
        dlm_advice_report_free(rep);
        return st;
    }
    *out = rep;
    return DLM_OK;
}
