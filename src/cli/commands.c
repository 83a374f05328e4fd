/* commands.c — the subcommand table.  A new subcommand is one line here, a
 * declaration in commands.h and its own cmd_<name>.c. */
#include "commands.h"

static const dlm_command commands[] = {
    {"models", "list the networks dlmem knows and their settable sizes", dlm_cmd_models},
    {"params", "parameter counts per layer with formulas, checked against PyTorch", dlm_cmd_params},
    {"memory", "predicted GPU memory per point: peak, where, composition, formula", dlm_cmd_memory},
    {"fit", "the largest batch (or sequence) that fits a GPU, and what binds", dlm_cmd_fit},
    {"advise", "memory-saving techniques ranked, priced and combined to fit a GPU", dlm_cmd_advise},
    {"reconcile", "measured memory against the model: fits, residuals, deviations, plots",
     dlm_cmd_reconcile},
    {"audit", "the seed report's tables and claims checked", dlm_cmd_audit},
    {"report", "the whole story as Markdown with plots (no GPU needed)", dlm_cmd_report},
    {"measure", "run a network on the GPU and record the memory and time it really uses", dlm_cmd_measure},
    {"probe", "ask cuDNN and cuBLAS on this GPU for the workspaces PyTorch's calls need",
     dlm_cmd_probe},
};

const dlm_command *dlm_commands(int *n)
{
    *n = (int)(sizeof commands / sizeof commands[0]);
    return commands;
}
