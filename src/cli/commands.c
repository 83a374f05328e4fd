/* commands.c — the subcommand table.  A new subcommand is one line here, a
 * declaration in commands.h and its own cmd_<name>.c. */
#include "commands.h"

static const dlm_command commands[] = {
    {"models", "list the networks dlmem knows and their settable sizes", dlm_cmd_models},
    {"params", "parameter counts per layer with formulas, checked against PyTorch", dlm_cmd_params},
};

const dlm_command *dlm_commands(int *n)
{
    *n = (int)(sizeof commands / sizeof commands[0]);
    return commands;
}
