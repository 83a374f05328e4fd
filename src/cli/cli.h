/* cli.h — command-line parsing shared by dlmem's subcommands.
 *
 * Each subcommand declares its options in a table; dlm_cli_parse() accepts
 * `--name value`, `--name=value`, `-x value`, `-xvalue` and flags, collects
 * positional arguments, and turns anything unknown, or an option given twice,
 * into a one-line error that lists the valid options (exit status 2 through
 * dlm_exit_code).  --help and --wide are every command's: --wide lifts the
 * 100-column limit on tables (dlm_table_set_width).
 */
#ifndef DLM_CLI_H
#define DLM_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "../core/out.h"
#include "../core/status.h"

#define DLM_CLI_MAX_POS 64
#define DLM_CLI_MAX_REP 64

typedef struct dlm_cli_opt {
    const char *name;     /* long name without dashes: "format" */
    char short_name;      /* 'o', or 0 */
    const char *arg;      /* argument name for help ("FMT"), NULL for a flag */
    const char *help;
} dlm_cli_opt;

typedef struct dlm_cli_args {
    const dlm_cli_opt *opts;
    int n_opts;
    const char *value[64]; /* last value of each option (flags: "1") */
    char *pos[DLM_CLI_MAX_POS];
    int n_pos;
    int help;              /* --help or -h seen */
    /* every value of a repeatable option (--workspaces), in order */
    const char *rep_value[DLM_CLI_MAX_REP];
    int rep_opt[DLM_CLI_MAX_REP];
    int n_rep;
    int wide;              /* --wide seen: tables are not cut to 100 columns */
} dlm_cli_args;

dlm_status dlm_cli_parse(const char *cmd, int argc, char **argv, const dlm_cli_opt *opts,
                         int n_opts, dlm_cli_args *out);
/* Value of option `name`, or NULL if not given. */
const char *dlm_cli_get(const dlm_cli_args *a, const char *name);
/* Every value of a repeatable option (one that may be given more than once:
 * --workspaces), in order: writes at most cap to vals and returns how many
 * were given. */
int dlm_cli_get_all(const dlm_cli_args *a, const char *name, const char **vals, int cap);
/* Usage text: "usage: dlmem CMD SYNOPSIS", description, options. */
void dlm_cli_usage(FILE *f, const char *cmd, const char *synopsis, const char *about,
                   const dlm_cli_opt *opts, int n_opts);

/* Help text wrapped within 80 columns, `indent` spaces before each line. */
void dlm_cli_wrap(FILE *f, const char *text, int indent);

/* Parses --format (default table). */
dlm_status dlm_cli_format(const dlm_cli_args *a, dlm_format *out);
/* Parses a positive integer option value; errors name the option and range. */
dlm_status dlm_cli_int(const char *opt, const char *s, int64_t min, int64_t max, int64_t *v);
/* Parses LIST: comma-separated integers and ranges "1-8" (every integer) or
 * "1..128" (powers of two from 1 to 128) or "50:1000:50" (start:stop:step).
 * Values must lie in [min, max]; duplicates are dropped, order kept.  An empty
 * list or an empty item ("1,,2") is DLM_EINVAL; more than DLM_CLI_LIST_MAX
 * values is DLM_ERANGE (checked before any value is made). */
#define DLM_CLI_LIST_MAX 1000000
dlm_status dlm_cli_list(const char *opt, const char *s, int64_t min, int64_t max,
                        int64_t **vals, int *n);
/* The points of a command that runs on the GPU (measure, probe): --batch LIST
 * (required; 1..1,000,000) and --seq LIST, which a model with a sequence length
 * needs (1..max_T, or 1..1,000,000 when max_T is 0) and a model without one
 * refuses.  Without a sequence length *seq is NULL and *n_seq 1 (T = 0 for the
 * caller).  Errors name the command ("dlmem probe") and the option. */
dlm_status dlm_cli_points(const dlm_cli_args *a, const char *cmd, const char *model, int uses_T,
                          int64_t max_T, int64_t **batch, int *n_batch, int64_t **seq,
                          int *n_seq);
/* Parses a memory size: "16GiB", "16G" (=GiB), "4 GB" (=1e9), "512MiB", bytes. */
dlm_status dlm_cli_size(const char *opt, const char *s, int64_t *bytes);

/* Parses a GPU memory size that must name its unit (case-insensitive): B, kB,
 * KiB, MB, MiB, GB, GiB, TB, TiB (decimal kB/MB/GB/TB, binary the rest, and
 * K/M/G/T as KiB/MiB/GiB/TiB).  A bare number is refused, except "0" where
 * allow_zero.  echo (if not NULL) gets how it was read, e.g.
 * "4gb = 4 GB = 4,000,000,000 bytes", for outputs to repeat. */
dlm_status dlm_cli_mem_size(const char *opt, const char *s, int allow_zero, int64_t *bytes,
                            char *echo, size_t echo_n);

#endif
