/* commands.h — dlmem's subcommands.  Each takes the arguments after its name
 * and returns a status; main() prints the error and chooses the exit code. */
#ifndef DLM_COMMANDS_H
#define DLM_COMMANDS_H

#include "../core/status.h"

typedef struct dlm_command {
    const char *name;
    const char *summary;
    dlm_status (*run)(int argc, char **argv);
} dlm_command;

/* The table of subcommands, in the order `dlmem --help` lists them. */
const dlm_command *dlm_commands(int *n);

dlm_status dlm_cmd_models(int argc, char **argv);
dlm_status dlm_cmd_params(int argc, char **argv);
dlm_status dlm_cmd_reconcile(int argc, char **argv);
dlm_status dlm_cmd_audit(int argc, char **argv);
dlm_status dlm_cmd_report(int argc, char **argv);
dlm_status dlm_cmd_memory(int argc, char **argv);
dlm_status dlm_cmd_fit(int argc, char **argv);
dlm_status dlm_cmd_advise(int argc, char **argv);
dlm_status dlm_cmd_measure(int argc, char **argv);
dlm_status dlm_cmd_probe(int argc, char **argv);

#endif
