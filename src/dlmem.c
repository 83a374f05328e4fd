/* dlmem.c — the command line.  Dispatches to a subcommand; the only place
 * that exits.  Errors are one line on stderr, prefixed once with the command:
 * "dlmem memory: <what and where>" (a message that already names it keeps
 * its own prefix). */
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
    fprintf(f, "\n`dlmem help COMMAND` (or `dlmem COMMAND --help`) describes a command;\n"
               "`man dlmem` describes them all and the network-file format.  dlmem %s\n",
            PACKAGE_VERSION);
}

int main(int argc, char **argv)
{
    int n;
    const dlm_command *c = dlm_commands(&n);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    int help_cmd = !strcmp(argv[1], "help") && argc > 2;
    if (!help_cmd && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
                      !strcmp(argv[1], "help"))) {
        usage(stdout);
        return fflush(stdout) || ferror(stdout) ? 1 : 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("dlmem %s\n", PACKAGE_VERSION);
        return fflush(stdout) || ferror(stdout) ? 1 : 0;
    }
    if (help_cmd && argc > 3) {
        fprintf(stderr, "dlmem help: give one command (got %d)\n", argc - 2);
        return 2;
    }
    const char *name = help_cmd ? argv[2] : argv[1];
    for (int i = 0; i < n; i++)
        if (!strcmp(name, c[i].name)) {
            char *help_argv[] = {(char *)"--help", NULL};
            dlm_status st = help_cmd ? c[i].run(1, help_argv) : c[i].run(argc - 2, argv + 2);
            if (st != DLM_OK) {
                char prefix[64];
                const char *msg = dlm_errmsg();
                fflush(stdout);
                size_t pl = (size_t)snprintf(prefix, sizeof prefix, "dlmem %s", c[i].name);
                if (!strncmp(msg, prefix, pl) && (msg[pl] == ':' || msg[pl] == ' '))
                    fprintf(stderr, "%s\n", msg);
                else
                    fprintf(stderr, "%s: %s\n", prefix, msg);
                return dlm_exit_code(st);
            }
            return fflush(stdout) || ferror(stdout) ? 1 : 0;
        }
    char list[512] = "";
    for (int i = 0; i < n; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, c[i].name, sizeof list - strlen(list) - 1);
    }
    fprintf(stderr, "dlmem%s: unknown command '%s' (valid: %s; see dlmem --help)\n",
            help_cmd ? " help" : "", name, list);
    return 2;
}
