/* fuzz_csv.c — the CSV reader and what reads CSVs from users: reconcile
 * (series, fits, predictions, deviations, the gnuplot scripts, without
 * running gnuplot) and the seed audit (built with GSL; without it only the
 * reader).  Findings: crashes, sanitizer reports, an error of more than one
 * line, a gnuplot script with a backtick inside a double-quoted string. */
#include "fuzz.h"

#include <sys/stat.h>

#include "core/csv.h"
#include "config.h"
#ifdef HAVE_GSL
#include "reconcile/audit.h"
#include "reconcile/reconcile.h"
#endif

#ifdef HAVE_GSL
static void plots(const dlm_recon *r)
{
    char dir[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/dlmem-fuzz-%ld-plots", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    mkdir(dir, 0700);
    char **stems = NULL, **titles = NULL;
    int n = 0, rendered = 0;
    dlm_status st = dlm_recon_plots(r, dir, 0, &stems, &titles, &n, &rendered);
    if (st != DLM_OK) fuzz_check_error(st);
    for (int k = 0; k < n; k++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/%s.gp", dir, stems[k]);
        FILE *f = fopen(path, "rb");
        /* gnuplot's lexer: '...' (a quote doubled inside) takes nothing
         * literally but '', "..." takes backslash escapes and runs `...`,
         * and # outside a string comments to the end of the line.  A
         * backtick is a finding inside a double-quoted string and anywhere
         * outside strings and comments (both are substituted). */
        enum { CODE, SQ, DQ, COMMENT } at = CODE;
        int ch;
        while (f && (ch = getc(f)) != EOF) {
            if (ch == '\n') {
                fuzz_require(at != SQ && at != DQ, "a gnuplot string left open at the end of a line");
                at = CODE;
                continue;
            }
            switch (at) {
            case CODE:
                fuzz_require(ch != '`', "a backtick in gnuplot code outside a string");
                if (ch == '\'') at = SQ;
                else if (ch == '"') at = DQ;
                else if (ch == '#') at = COMMENT;
                break;
            case SQ:
                if (ch == '\'') {
                    int nx = getc(f);
                    if (nx != '\'') { at = CODE; if (nx != EOF) ungetc(nx, f); }
                }
                break;
            case DQ:
                fuzz_require(ch != '`', "a backtick inside a double-quoted gnuplot string");
                if (ch == '\\') { if (getc(f) == EOF) break; }
                else if (ch == '"') at = CODE;
                break;
            case COMMENT:
                break;
            }
        }
        if (f) fclose(f);
        remove(path);
        free(stems[k]);
        free(titles[k]);
    }
    free(stems);
    free(titles);
    rmdir(dir);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 20)) return 0; /* the size cap itself is tested in the suite */
    const char *path = fuzz_file("x.csv", data, size);
    dlm_csv *c = NULL;
    dlm_status st = dlm_csv_read(path, &c);
    if (st != DLM_OK) {
        fuzz_check_error(st);
        fuzz_require(c == NULL, "a table returned with an error");
        return 0;
    }
    for (int r = 0; r < c->nrows; r++)
        for (int k = 0; k < c->ncols; k++) {
            int64_t v;
            double d;
            if (dlm_csv_int(c, r, k, &v) != DLM_OK) fuzz_check_error(DLM_EPARSE);
            if (dlm_csv_double(c, r, k, &d) != DLM_OK) fuzz_check_error(DLM_EPARSE);
        }
    dlm_csv_free(c);
#ifdef HAVE_GSL
    const char *files[1] = {path};
    dlm_recon *r = NULL;
    st = dlm_recon_files(files, 1, 0, &r);
    if (st == DLM_OK) {
        plots(r);
        dlm_recon_free(r);
    } else {
        fuzz_check_error(st);
    }
    dlm_audit *a = NULL;
    st = dlm_audit_run(files, 1, &a);
    if (st == DLM_OK) dlm_audit_free(a);
    else fuzz_check_error(st);
#endif
    return 0;
}
