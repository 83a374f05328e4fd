/* lora.h — LoRA adapters as peft adds them: which modules, how many trainable
 * parameters.
 *
 * peft 0.21's LoraConfig(r, lora_alpha) wraps each targeted nn.Linear (and
 * GPT-2's Conv1D) with lora_A (r x in) and lora_B (out x r); the base weights
 * are frozen.  A module is targeted when its name equals a target or ends in
 * "." + target (peft's suffix match).  Default targets are peft's table for
 * the model type (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING): gpt2
 * c_attn; llama, mistral, qwen2 q_proj and v_proj; bert, roberta query and
 * value.  dlm_lora_apply puts the adapters in a graph for the memory model.
 */
#ifndef DLM_LORA_H
#define DLM_LORA_H

#include <stdint.h>

#include "../models/graph.h"

#define DLM_LORA_MAX_TARGETS 16

typedef struct dlm_lora {
    int r;                                  /* rank */
    double alpha;                           /* lora_alpha (default r): scaling only */
    int n_targets;                          /* 0: peft's default for the model */
    char targets[DLM_LORA_MAX_TARGETS][64]; /* module name suffixes */
} dlm_lora;

/* "r[,alpha][,target+target...]" (--lora); errors name the part that is wrong. */
dlm_status dlm_lora_parse(const char *spec, dlm_lora *out);

typedef struct dlm_lora_count {
    int modules;          /* adapted modules */
    int64_t trainable;    /* sum over them of r*(in + out) */
    char targets[256];    /* the targets used, "+"-joined */
    char formula[160];    /* "12 x 8*(768 + 2304)" when every module has one shape */
} dlm_lora_count;

/* Counts the adapters on g (fills lo's default targets from g->family when it
 * has none); DLM_EINVAL when no module matches, or the model has no default. */
dlm_status dlm_lora_count_params(const dlm_graph *g, dlm_lora *lo, dlm_lora_count *out);

/* peft's get_peft_model(model, LoraConfig(r, lora_alpha)) on g for `dlmem memory
 * --lora`: each targeted Linear (or Conv1D) gets lora_A (r x in) and lora_B
 * (out x r) as parameters of its op (a.linear.lora_r = r), and every other
 * parameter is frozen (requires_grad=False: no gradient, no optimizer state).
 * Fills lo's default targets as dlm_lora_count_params; the same errors. */
dlm_status dlm_lora_apply(dlm_graph *g, dlm_lora *lo);

#endif
