/* mem_opts.h — the options `dlmem memory` and `dlmem fit` share: how to
 * configure the memory model (mode, dtype, attention, optimizer, profile,
 * GPU, workspace inputs) from parsed command-line arguments. */
#ifndef DLM_MEM_OPTS_H
#define DLM_MEM_OPTS_H

#include "../analytic/gpus.h"
#include "../analytic/memory.h"
#include "../analytic/workspaces.h"
#include "cli.h"

/* The option-table rows, for commands to include in their tables. */
#define DLM_MEM_OPT_ROWS                                                                        \
    {"mode", 0, "MODE", "infer (default), forward (training forward) or train (a whole step: "   \
                        "loss sum(o.pow(2).mean()) over the outputs, backward, optimizer step)"}, \
    {"loss", 0, "LOSS", "train mode's loss: mse (default: sum(o.pow(2).mean())) or ce "          \
                        "(F.cross_entropy over o's last dimension, the classes)"},               \
    {"dtype", 0, "DTYPE", "fp32 (default), fp16, bf16 or mixed (fp32 weights, half activations)"}, \
    {"attention", 0, "KIND", "eager (default: scores materialised) or fused (SDPA/flash)"},       \
    {"optimizer", 0, "OPT", "adam (default), sgd or sgd-momentum (train mode)"},                  \
    {"profile", 0, "P", "pytorch (default: max_memory_allocated) or runtime (dlmem's runtime)"},  \
    {"gpu", 0, "NAME", "GPU whose architecture selects workspace sizes (default h200)"},          \
    {"input", 0, "NAME=BYTES", "a measured workspace size for the runtime profile (repeatable "    \
                               "as a comma list)"},                                               \
    {"set", 0, "K=V,...", "change model sizes (e.g. hidden=512,layers=3); see dlmem models"},     \
    {"rnn-chunks", 0, "K", "run the RNN in K chunks of time steps, each checkpointed "            \
                           "(torch.utils.checkpoint; pytorch profile)"},                          \
    {"checkpoint", 0, "WHAT", "block or stage: torch.utils.checkpoint around every block (a "     \
                              "decoder's layers, as gradient_checkpointing_enable) or stage; "   \
                              "modes forward and train"},                                         \
    {"workspaces", 0, "FILE", "library workspace rows from `dlmem probe` (repeatable; besides "    \
                              "the user cache and data/cudnn/)"},                                 \
    {"autocast", 0, "HALF", "dtype mixed: autocast's half type, fp16 (default) or bf16 (whose "   \
                            "library rows are used)"},                                           \
    {"cudnn-version", 0, "V", "the cuDNN version the rows should be from (e.g. 91900; default: "  \
                              "the newest the rows have)"},                                       \
    {"parallel", 0, "HOW", "ddp, fsdp, zero1, zero2 or zero3: one rank's peak of a training "     \
                           "step on --gpus GPUs, the batch per GPU (tools/torch_parallel.py)"},   \
    {"gpus", 0, "N", "GPUs of --parallel (default 1)"},                                           \
    {"rank", 0, "R", "the rank predicted, 0..N-1 (default: the one that keeps the most)"},        \
    {"keep-outputs", 0, NULL, "train: the step keeps the model's outputs through backward (no "  \
                              "`del out` before loss.backward(), as most loops)"},              \
    {"lora", 0, "R[,ALPHA][,T+T]", "peft's LoRA of rank R on the target modules (default: peft's " \
                                   "for the model type), every other weight frozen"}

/* Fills cfg from the options; *gpu is the named GPU (h200 by default).
 * With --workspaces, cfg->workspaces points to the rows of those files, the
 * user cache and the shipped ones, read once and kept for the process (one
 * command per process); without it the models read the default rows
 * themselves. */
dlm_status dlm_cli_mem_config(const dlm_cli_args *a, dlm_mem_config *cfg, const dlm_gpu **gpu);
/* --mode and --dtype as lists (`dlmem memory`: infer,train; fp32,bf16,mixed):
 * the values in order, duplicates dropped; base's values when not given. */
dlm_status dlm_cli_mem_lists(const dlm_cli_args *a, const dlm_mem_config *base, dlm_mode *modes,
                             int *nm, dlm_dtype *dtypes, int *nd);
/* Refuses options that do not apply to graph g (--attention on a network
 * without attention). */
dlm_status dlm_cli_mem_check(const dlm_cli_args *a, const dlm_graph *g);
/* --lora: puts peft's adapters in g and freezes the rest (lora.h); nothing
 * without the option.  The runtime profile refuses it.  Then --checkpoint
 * block|stage: cfg's checkpoint segments, g's blocks or stages (segments.h),
 * in modes forward and train. */
dlm_status dlm_cli_mem_lora(const dlm_cli_args *a, dlm_mem_config *cfg, dlm_graph *g);
/* Refuses --loss where no training step is predicted (has_train 0). */
dlm_status dlm_cli_loss_check(const dlm_cli_args *a, int has_train);
/* Refuses a list for --mode or --dtype (`cmd` takes one of each). */
dlm_status dlm_cli_mem_single(const dlm_cli_args *a, const char *cmd);

/* The command that would close a point's unknown terms: "dlmem probe MODEL
 * --mode M --dtype D --batch B [--seq T] [--set ...]" on the target GPU (the
 * runtime profile: "dlmem measure ..." whose columns --input takes). */
void dlm_cli_probe_command(const dlm_cli_args *a, const dlm_mem_config *cfg, int64_t B, int64_t T,
                           int uses_T, char *buf, size_t n);

#endif
