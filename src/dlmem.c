/* dlmem.c — the command line.  Dispatches to a subcommand; the only place
 * that exits.  Errors are one line on stderr: "dlmem: <what and where>". */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "config.h"

static void usage(FILE *f)
{
    int n;
    const dlm_command *c = dlm_commands(&n);
    fprintf(f, "usage: dlmem COMMAND [options]\n\n"
               "dlmem tells how many parameters a deep network has and how much GPU memory it\n"
               "needs, layer by layer and as formulas, and checks it on a real GPU.\n\n"
               "commands:\n");
    for (int i = 0; i < n; i++) fprintf(f, "  %-10s %s\n", c[i].name, c[i].summary);
    fprintf(f, "\n`dlmem COMMAND --help` describes a command.  dlmem %s\n", PACKAGE_VERSION);
}

int main(int argc, char **argv)
{
    int n;
    const dlm_command *c = dlm_commands(&n);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return fflush(stdout) ? 1 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("dlmem %s\n", PACKAGE_VERSION);
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (!strcmp(argv[1], c[i].name)) {
            dlm_status st = c[i].run(argc - 2, argv + 2);
            if (st != DLM_OK) {
                fflush(stdout);
                fprintf(stderr, "dlmem: %s\n", dlm_errmsg());
                return dlm_exit_code(st);
            }
            return 0;
        }
    char list[512] = "";
    for (int i = 0; i < n; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, c[i].name, sizeof list - strlen(list) - 1);
    }
    fprintf(stderr, "dlmem: unknown command '%s' (valid: %s; see dlmem --help)\n", argv[1], list);
    return 2;
}
