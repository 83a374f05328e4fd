/* csv.c — CSV reader (see csv.h). */
#include "csv.h"
#include "fileio.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *sdup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void free_fields(char **f, int n)
{
    if (!f) return;
    for (int i = 0; i < n; i++) free(f[i]);
    free(f);
}

/* Splits one logical record starting at *p (may span lines inside quotes).
 * Advances *p past the record and *line past its newlines. */
static dlm_status split_record(const char *path, const char **p, int *line, char ***out,
                               int *nout)
{
    const char *s = *p;
    int start_line = *line;
    char **fields = NULL;
    int nf = 0, cap = 0;
    char *buf = NULL;
    size_t blen = 0, bcap = 0;
    int quoted = 0, field_started = 0;
    dlm_status st = DLM_OK;

    for (;;) {
        char ch = *s;
        int end_field = 0, end_rec = 0;
        if (quoted) {
            if (ch == '\0') {
                st = dlm_error(DLM_EPARSE, "%s:%d: unterminated quoted field", path, start_line);
                goto fail;
            }
            if (ch == '"') {
                if (s[1] == '"') {
                    s++;
                } else {
                    quoted = 0;
                    s++;
                    continue;
                }
            } else if (ch == '\n') {
                (*line)++;
            }
        } else {
            if (ch == '"' && !field_started) {
                quoted = 1;
                field_started = 1;
                s++;
                continue;
            }
            if (ch == ',') end_field = 1;
            else if (ch == '\n' || ch == '\0' || (ch == '\r' && (s[1] == '\n' || s[1] == '\0')))
                end_field = end_rec = 1;
        }
        if (end_field) {
            if (nf == cap) {
                int nc = cap ? cap * 2 : 16;
                char **nfp = realloc(fields, (size_t)nc * sizeof *nfp);
                if (!nfp) goto oom;
                fields = nfp;
                cap = nc;
            }
            fields[nf] = sdup(buf ? buf : "", blen);
            if (!fields[nf]) goto oom;
            nf++;
            blen = 0;
            field_started = 0;
            if (end_rec) {
                if (ch == '\r') s++;
                if (*s == '\n') {
                    s++;
                    (*line)++;
                }
                break;
            }
            s++;
            continue;
        }
        if (blen + 2 > bcap) {
            size_t nc = bcap ? bcap * 2 : 64;
            char *nb = realloc(buf, nc);
            if (!nb) goto oom;
            buf = nb;
            bcap = nc;
        }
        buf[blen++] = ch;
        field_started = 1;
        s++;
    }
    free(buf);
    *p = s;
    *out = fields;
    *nout = nf;
    return DLM_OK;
oom:
    st = dlm_error(DLM_ENOMEM, "%s: out of memory", path);
fail:
    free(buf);
    free_fields(fields, nf);
    return st;
}

/* Trims surrounding spaces in place (unquoted CSV written by people has them). */
static void trim(char *s)
{
    size_t n = strlen(s), a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\t')) a++;
    while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    memmove(s, s + a, n - a);
    s[n - a] = '\0';
}

dlm_status dlm_csv_read(const char *path, dlm_csv **out)
{
    *out = NULL;
    char *text;
    size_t len;
    DLM_TRY(dlm_file_read_text(path, DLM_CSV_MAX_BYTES, "a CSV file", &text, &len));
    if (len == 0) {
        free(text);
        return dlm_error(DLM_EPARSE, "%s: empty file (expected a header row)", path);
    }

    dlm_csv *c = calloc(1, sizeof *c);
    dlm_status st = DLM_OK;
    if (!c || !(c->path = sdup(path, strlen(path)))) {
        free(text);
        free(c);
        return dlm_error(DLM_ENOMEM, "%s: out of memory", path);
    }
    const char *p = text;
    /* a UTF-8 byte-order mark (spreadsheets write one) is not part of the header */
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
    int line = 1;
    while (*p) {
        /* Skip blank and comment lines. */
        const char *q = p;
        while (*q == ' ' || *q == '\t' || *q == '\r') q++;
        if (*q == '\n' || *q == '#' || *q == '\0') {
            while (*q && *q != '\n') q++;
            if (*q == '\n') q++;
            p = q;
            line++;
            continue;
        }
        int rec_line = line, nf = 0;
        char **fields = NULL;
        st = split_record(path, &p, &line, &fields, &nf);
        if (st != DLM_OK) break;
        for (int i = 0; i < nf; i++) trim(fields[i]);
        if (!c->header) {
            c->header = fields;
            c->ncols = nf;
            if (nf > DLM_CSV_MAX_COLS)
                st = dlm_error(DLM_EPARSE, "%s:%d: %d header columns (at most %d)", path,
                               rec_line, nf, DLM_CSV_MAX_COLS);
            for (int i = 0; i < nf && st == DLM_OK; i++) {
                if (!fields[i][0]) {
                    st = dlm_error(DLM_EPARSE, "%s:%d: header column %d is empty", path,
                                   rec_line, i + 1);
                    break;
                }
                /* a repeated name would make one of the two columns unreachable */
                for (int j = 0; j < i; j++)
                    if (!strcmp(fields[i], fields[j])) {
                        st = dlm_error(DLM_EPARSE, "%s:%d: header column '%s' repeats (columns "
                                       "%d and %d)", path, rec_line, fields[i], j + 1, i + 1);
                        break;
                    }
            }
            if (st != DLM_OK) break;
            continue;
        }
        if (nf != c->ncols) {
            free_fields(fields, nf);
            st = dlm_error(DLM_EPARSE, "%s:%d: %d fields, but the header has %d", path, rec_line,
                           nf, c->ncols);
            break;
        }
        if (c->nrows == c->cap) {
            int nc = c->cap ? c->cap * 2 : 64;
            char ***nr = realloc(c->rows, (size_t)nc * sizeof *nr);
            int *nl = realloc(c->lines, (size_t)nc * sizeof *nl);
            if (nr) c->rows = nr;
            if (nl) c->lines = nl;
            if (!nr || !nl) {
                free_fields(fields, nf);
                st = dlm_error(DLM_ENOMEM, "%s: out of memory", path);
                break;
            }
            c->cap = nc;
        }
        c->rows[c->nrows] = fields;
        c->lines[c->nrows] = rec_line;
        c->nrows++;
    }
    free(text);
    if (st == DLM_OK && !c->header)
        st = dlm_error(DLM_EPARSE, "%s: no header row (the file holds only comments)", path);
    if (st != DLM_OK) {
        dlm_csv_free(c);
        return st;
    }
    *out = c;
    return DLM_OK;
}

void dlm_csv_free(dlm_csv *c)
{
    if (!c) return;
    free_fields(c->header, c->ncols);
    for (int r = 0; r < c->nrows; r++) free_fields(c->rows[r], c->ncols);
    free(c->rows);
    free(c->lines);
    free(c->path);
    free(c);
}

int dlm_csv_col(const dlm_csv *c, const char *name)
{
    for (int i = 0; i < c->ncols; i++)
        if (strcmp(c->header[i], name) == 0) return i;
    return -1;
}

dlm_status dlm_csv_require(const dlm_csv *c, int n, const char *const *names, int *idx)
{
    for (int i = 0; i < n; i++) {
        idx[i] = dlm_csv_col(c, names[i]);
        if (idx[i] < 0) {
            char have[512] = "";
            for (int k = 0; k < c->ncols; k++) {
                strncat(have, k ? ", " : "", sizeof have - strlen(have) - 1);
                strncat(have, c->header[k], sizeof have - strlen(have) - 1);
            }
            return dlm_error(DLM_EPARSE, "%s:%d: missing column '%s' (the header has: %s)",
                             c->path, 1, names[i], have);
        }
    }
    return DLM_OK;
}

const char *dlm_csv_get(const dlm_csv *c, int row, int col) { return c->rows[row][col]; }

dlm_status dlm_csv_int(const dlm_csv *c, int row, int col, int64_t *v)
{
    const char *s = c->rows[row][col];
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (!*s || *end || errno)
        return dlm_error(DLM_EPARSE, "%s:%d: column '%s': '%s' is not an integer", c->path,
                         c->lines[row], c->header[col], s);
    *v = x;
    return DLM_OK;
}

dlm_status dlm_csv_double(const dlm_csv *c, int row, int col, double *v)
{
    const char *s = c->rows[row][col];
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(x))
        return dlm_error(DLM_EPARSE, "%s:%d: column '%s': '%s' is not a number", c->path,
                         c->lines[row], c->header[col], s);
    *v = x;
    return DLM_OK;
}
