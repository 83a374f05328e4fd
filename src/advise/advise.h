/* advise.h — the optimisation advisor behind `dlmem advise`: every
 * memory-saving technique evaluated with the analytic memory model (the
 * network's graph and the engine of memory.h, never a fixed percentage),
 * ranked, priced, and combined into the cheapest set that fits a budget.
 *
 * Techniques (names as the command line takes them; "a+b" combines):
 *   precision     mixed (torch.autocast: fp32 master weights and optimizer
 *                 state, half activations), bf16, fp16 (pure half)
 *   checkpoint    checkpoint-block, checkpoint-stage (torch.utils.checkpoint
 *                 per block or per stage), checkpoint-best (the fewest
 *                 recomputed operations that fit the budget, chosen greedily),
 *                 checkpoint-chunks (an RNN in K checkpointed chunks of time
 *                 steps, memory.h's rnn_chunks; K: the fewest chunks that fit
 *                 the budget, else the lowest peak; every K recomputes the
 *                 RNN's forward once), checkpoint-chunksK (that K)
 *   attention     fused-attention (SDPA / flash: no B*heads*T^2 tensors)
 *   optimizer     sgd, sgd-momentum, adam, adam8bit (model-only)
 *   architecture  gru (for the LSTM), layers6 (BERT at DistilBERT's depth),
 *                 base32 (a ResNet of half the width)
 *   sharding      ddp, zero1, zero2, zero3: tools/torch_parallel.py's DDP,
 *                 DDP + ZeroRedundancyOptimizer, FSDP2 (reshard_after_forward
 *                 False / True) on N GPUs, the batch split with them; N is the
 *                 fewest GPUs that fit; the rank that keeps the most is priced
 *                 (src/analytic/parallel.h; not measured on 2 GPUs)
 * Prices: extra compute (recomputed forward operations as a share of the
 * forward's, flops.h), accuracy risk (a stated level and why), GPUs.
 * "Cheapest" orders by GPUs, then risk, then recomputation.
 *
 * What it is not: a measurement (see tools/torch_reference.py `techniques`
 * and tests/test_techniques.c for how the predictions compare with PyTorch),
 * nor a training-quality judgement beyond the stated risk levels.
 */
#ifndef DLM_ADVISE_H
#define DLM_ADVISE_H

#include <stdint.h>
#include <stdio.h>

#include "../analytic/memory.h"

/* What is run: a network, its sizes, the memory configuration (mode, dtype,
 * attention, optimizer, profile, sm; no checkpointing or sharding) and the
 * point. */
typedef struct dlm_workload {
    char model[256];     /* model name or network file */
    char settings[256];  /* --set K=V,... ("" for none) */
    dlm_mem_config cfg;
    int64_t batch, seq;  /* seq only for models with a sequence length */
} dlm_workload;

/* The memory it must fit in: the card and what lies outside PyTorch's
 * allocator (CUDA context and library handles, gpus.h). */
typedef struct dlm_budget {
    char gpu[32];        /* GPU table name, or "" when only a size was given */
    int64_t memory;      /* bytes */
    int64_t context;     /* bytes */
} dlm_budget;

typedef enum dlm_risk {
    DLM_RISK_NONE,   /* the same arithmetic (fused attention, checkpointing, sharding) */
    DLM_RISK_LOW,    /* standard practice with a known caveat (autocast, 8-bit Adam) */
    DLM_RISK_MEDIUM, /* changes the training recipe (pure bf16 training, SGD for Adam) */
    DLM_RISK_HIGH,   /* often breaks training (pure fp16 training) */
    DLM_RISK_MODEL   /* a different network: retrain and validate it */
} dlm_risk;
const char *dlm_risk_name(dlm_risk r); /* "none", "low", "medium", "high", "new model" */

typedef struct dlm_advice {
    char name[96];        /* "mixed", "checkpoint-block", "mixed+fused-attention" */
    char family[16];      /* precision, checkpoint, attention, optimizer, architecture,
                             sharding, combination, baseline */
    char what[200];       /* what it changes, in words */
    int applicable;       /* 0: note says why not; the numbers are unset */
    int model_only;       /* PyTorch cannot run it on the reference machine */
    int64_t peak;         /* predicted peak on one GPU (bytes) */
    int64_t saved;        /* baseline peak - peak (negative: costs memory) */
    double share;         /* saved / baseline peak */
    int fits;             /* peak <= the budget's usable bytes */
    int64_t max_batch;    /* largest (global) batch that fits at the workload's T; 0 none */
    int gpus;             /* GPUs it uses (sharding), else 1 */
    int rnn_chunks;       /* checkpoint-chunks: the K it uses, else 0 */
    int64_t gpu_batch;    /* batch on each GPU (the workload's, or its share) */
    double recompute;     /* recomputed forward operations / forward operations */
    dlm_risk risk;
    char note[400];       /* the price in words, or why it does not apply */
    dlm_mem_result r;     /* the predicted peak's composition */
} dlm_advice;

typedef struct dlm_advice_report {
    dlm_workload w;
    dlm_budget b;
    int64_t usable;          /* memory - context */
    char net[64];            /* the graph's name */
    int uses_T;
    int64_t params;          /* parameter count */
    int64_t weight_bytes;    /* parameters at the workload's dtype */
    dlm_advice base;         /* the workload as it is */
    dlm_advice *rows;        /* ranked: by bytes saved, then those that do not apply */
    int n_rows;
    dlm_advice best;         /* cheapest combination that fits (applicable 0: none) */
    dlm_advice alt[3];       /* the next cheapest ones that fit */
    int n_alt;
    dlm_advice lowest;       /* lowest single-GPU peak among the combinations */
    int n_combos, n_fitting; /* combinations evaluated / fitting */
    /* precision, per term: the workload, under autocast, in pure half */
    int has_precision;
    dlm_mem_result prec[3];
    char prec_name[3][16];
    /* the seed's "FP16 reduces memory by 50%", from the model at this point */
    double fp16_infer_share; /* fp16 inference saving vs fp32 inference */
    double mixed_train_share;/* autocast training saving vs fp32 training */
    char ws_note[640];       /* dlm_mem_note() of the workload as given ("" if none) */
    /* checkpoint-chunks (when evaluated and applicable): the trade-off over K
     * at the workload's point, K ascending; the K the advisor chose, and the
     * K with the lowest peak it found */
    struct dlm_chunk_row {
        int chunks;
        int64_t steps;       /* time steps of the longest chunk */
        int64_t peak, saved;
        int fits;
        int64_t max_batch;
    } chunk_rows[16];
    int n_chunk_rows;
    int chunks_chosen, chunks_lowest;
} dlm_advice_report;

/* Evaluates every technique (or only those in `only`, a comma list of names
 * or a+b combinations; NULL: all) for the workload and budget.  Unknown
 * names are DLM_EINVAL listing the valid ones.  Long searches report
 * progress on stderr when `progress` is set. */
dlm_status dlm_advise(const dlm_workload *w, const dlm_budget *b, const char *only, int progress,
                      dlm_advice_report **out);
void dlm_advice_report_free(dlm_advice_report *r);

/* The technique names, comma-separated ("mixed, bf16, fp16, ..."). */
const char *dlm_advise_names(void);

/* Markdown section for `dlmem report`: what fits as given, and the ranked
 * ways to make the workload fit the budget, with numbers; `seed`: half
 * precision's saving set against the seed report's "FP16 halves memory". */
dlm_status dlm_advise_markdown(FILE *f, const dlm_workload *w, const dlm_budget *b, int seed);

/* The report's whole advice section under `heading` ("## 5. ..."): the seed's
 * three networks on the seed's RTX 3050 4 GB — what fits as the seed ran them
 * (inference at the largest point of its sweeps), and a training workload of
 * each that does not fit, with the ranked ways to make it fit. */
dlm_status dlm_advise_report_section(FILE *f, const char *heading);

#endif
