/* mem_opts.h — the options `dlmem memory` and `dlmem fit` share: how to
 * configure the memory model (mode, dtype, attention, optimizer, profile,
 * GPU, workspace inputs) from parsed command-line arguments. */
#ifndef DLM_MEM_OPTS_H
#define DLM_MEM_OPTS_H

#include "../analytic/gpus.h"
#include "../analytic/memory.h"
#include "cli.h"

/* The option-table rows, for commands to include in their tables. */
#define DLM_MEM_OPT_ROWS                                                                        \
    {"mode", 0, "MODE", "infer (default), forward (training forward) or train (a whole step: "   \
                        "loss sum(o.pow(2).mean()) over the outputs, backward, optimizer step)"}, \
    {"dtype", 0, "DTYPE", "fp32 (default), fp16, bf16 or mixed (fp32 weights, half activations)"}, \
    {"attention", 0, "KIND", "eager (default: scores materialised) or fused (SDPA/flash)"},       \
    {"optimizer", 0, "OPT", "adam (default), sgd or sgd-momentum (train mode)"},                  \
    {"profile", 0, "P", "pytorch (default: max_memory_allocated) or runtime (dlmem's runtime)"},  \
    {"gpu", 0, "NAME", "GPU whose architecture selects workspace sizes (default h200)"},          \
    {"input", 0, "NAME=BYTES", "a measured workspace size for the runtime profile (repeatable "    \
                               "as a comma list)"},                                               \
    {"set", 0, "K=V,...", "change model sizes (e.g. hidden=512,layers=3); see dlmem models"},     \
    {"rnn-chunks", 0, "K", "run the RNN in K chunks of time steps, each checkpointed "            \
                           "(torch.utils.checkpoint; pytorch profile)"}

/* Fills cfg from the options; *gpu is the named GPU (h200 by default). */
dlm_status dlm_cli_mem_config(const dlm_cli_args *a, dlm_mem_config *cfg, const dlm_gpu **gpu);

#endif
