/* cmd_audit.c — `dlmem audit [FILE...]`: the seed report's tables and claims
 * checked by dlmem itself (src/reconcile/audit.h says how).  Without FILE:
 * data/seed/table1.csv .. table5.csv.  Needs GSL. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/out.h"
#include "../core/paths.h"
#include "cli.h"
#include "commands.h"
#include "config.h"

#ifdef HAVE_GSL
#include "../reconcile/audit.h"
#include "../reconcile/reconcile.h"
#endif

#ifndef HAVE_GSL
dlm_status dlm_cmd_audit(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return dlm_error(DLM_EUNSUPPORTED, "dlmem audit needs GSL, and this dlmem was built without "
                     "it (install libgsl-dev, then ./configure && make)");
}
#else

static const dlm_cli_opt opts[] = {
    {"format", 0, "FMT", "table (default), csv or json"},
};
#define N_OPTS ((int)(sizeof opts / sizeof opts[0]))


/* The seed's tables under data/ (paths into buf, 5 x 1024). */
dlm_status dlm_seed_files(char paths[5][1024])
{
    for (int i = 0; i < 5; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "seed/table%d.csv", i + 1);
        if (!dlm_data_path(rel, paths[i], sizeof paths[i]))
            return dlm_error(DLM_EIO, "%s: the seed's table is missing (set DLMEM_DATA or pass "
                             "the files)", paths[i]);
    }
    return DLM_OK;
}

dlm_status dlm_audit_print(const dlm_audit *a, FILE *f)
{
    static const char *hdr[] = {"table", "subject", "the seed says", "verdict"};
    dlm_table *t;
    DLM_TRY(dlm_table_alloc(4, hdr, "llll", &t));
    dlm_status st = DLM_OK;
    for (int i = 0; i < a->n_items && st == DLM_OK; i++) {
        const dlm_audit_item *it = &a->items[i];
        const char *cells[] = {it->table, it->subject, it->claim, dlm_verdict_name(it->verdict)};
        st = dlm_table_add(t, cells);
    }
    if (st == DLM_OK) {
        fprintf(f, "The seed report audited (%s):\n", a->setup[0] ? a->setup : "setup not given");
        st = dlm_table_print(t, f, 2);
    }
    dlm_table_free(t);
    if (st != DLM_OK) return st;
    fprintf(f, "\n");
    for (int i = 0; i < a->n_items; i++)
        fprintf(f, "  [Table %s, %s: %s] %s\n", a->items[i].table, a->items[i].subject,
                dlm_verdict_name(a->items[i].verdict), a->items[i].text);
    return dlm_check_stream(f, "standard output");
}

dlm_status dlm_cmd_audit(int argc, char **argv)
{
    dlm_cli_args a;
    dlm_format fmt;
    DLM_TRY(dlm_cli_parse("audit", argc, argv, opts, N_OPTS, &a));
    if (a.help) {
        dlm_cli_usage(stdout, "audit", "[FILE...] [options]",
                      "Checks the seed report by itself: Table 1's parameter counts, Tables 2-4's\n"
                      "memory (fitted, compared with the formulas, deviations named), Table 5's\n"
                      "and section 7.2's scaling claims.  Without FILE: data/seed/table1-5.csv.",
                      opts, N_OPTS);
        return DLM_OK;
    }
    DLM_TRY(dlm_cli_format(&a, &fmt));
    char paths[5][1024];
    const char *files[DLM_CLI_MAX_POS];
    int n = a.n_pos;
    if (n == 0) {
        DLM_TRY(dlm_seed_files(paths));
        for (int i = 0; i < 5; i++) files[i] = paths[i];
        n = 5;
    } else {
        for (int i = 0; i < n; i++) files[i] = a.pos[i];
    }
    dlm_audit *au;
    DLM_TRY(dlm_audit_run(files, n, &au));
    dlm_status st = DLM_OK;
    if (fmt == DLM_FMT_TABLE) {
        st = dlm_audit_print(au, stdout);
    } else if (fmt == DLM_FMT_CSV) {
        fputs("table,subject,claim,verdict,text\n", stdout);
        for (int i = 0; i < au->n_items; i++) {
            const dlm_audit_item *it = &au->items[i];
            dlm_csv_field(stdout, it->table);
            fputc(',', stdout);
            dlm_csv_field(stdout, it->subject);
            fputc(',', stdout);
            dlm_csv_field(stdout, it->claim);
            fprintf(stdout, ",%s,", dlm_verdict_name(it->verdict));
            dlm_csv_field(stdout, it->text);
            fputc('\n', stdout);
        }
        st = dlm_check_stream(stdout, "standard output");
    } else {
        dlm_json j;
        dlm_json_init(&j, stdout, "dlmem.audit/1");
        dlm_json_obj_begin(&j);
        dlm_json_kstr(&j, "setup", au->setup);
        dlm_json_kint(&j, "mb_bytes", (int64_t)llround(au->mb));
        dlm_json_key(&j, "items");
        dlm_json_arr_begin(&j);
        for (int i = 0; i < au->n_items; i++) {
            const dlm_audit_item *it = &au->items[i];
            dlm_json_obj_begin(&j);
            dlm_json_kstr(&j, "table", it->table);
            dlm_json_kstr(&j, "subject", it->subject);
            dlm_json_kstr(&j, "claim", it->claim);
            dlm_json_kstr(&j, "verdict", dlm_verdict_name(it->verdict));
            dlm_json_kstr(&j, "text", it->text);
            dlm_json_obj_end(&j);
        }
        dlm_json_arr_end(&j);
        dlm_json_obj_end(&j);
        st = dlm_json_finish(&j);
    }
    dlm_audit_free(au);
    return st;
}
#endif
