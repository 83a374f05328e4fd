/* csv.c — CSV reader (see csv.h). */
#include "csv.h"
#include "fileio.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *sdup(const char *s, size_t n) /* the path */
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Splits one logical record starting at *p (may span lines inside quotes)
 * in place: each field is NUL-terminated where its separator was, a quoted
 * field unescaped where it lies (its text only shrinks).  The field pointers
 * go to (*f)[0..*nf), an array grown as needed and kept by the caller.
 * Advances *p past the record and *line past its newlines. */
static dlm_status split_record(const char *path, char **p, int *line, char ***f, int *cap,
                               int *nf)
{
    char *s = *p, *w = s, *start = s;
    int start_line = *line, quoted = 0, field_started = 0;
    *nf = 0;
    for (;;) {
        char ch = *s;
        int end_field = 0, end_rec = 0;
        if (quoted) {
            if (ch == '\0')
                return dlm_error(DLM_EPARSE, "%s:%d: unterminated quoted field", path, start_line);
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
            if (*nf == *cap) {
                int nc = *cap ? *cap * 2 : 16;
                char **n = realloc(*f, (size_t)nc * sizeof *n);
                if (!n) return dlm_error(DLM_ENOMEM, "%s: out of memory", path);
                *f = n;
                *cap = nc;
            }
            (*f)[(*nf)++] = start;
            field_started = 0;
            if (end_rec) {
                if (ch == '\r') s++;
                int nl = *s == '\n';
                *w = '\0'; /* w <= s: the terminator never overwrites unread text */
                if (nl) {
                    s++;
                    (*line)++;
                }
                *p = s;
                return DLM_OK;
            }
            *w = '\0';
            s++;
            w = start = s;
            continue;
        }
        *w++ = ch;
        field_started = 1;
        s++;
    }
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
    c->text = text; /* every field points into it */
    char *p = text, **fields = NULL;
    int fcap = 0;
    size_t ncells = 0, cellcap = 0;
    /* a UTF-8 byte-order mark (spreadsheets write one) is not part of the header */
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
    int line = 1;
    while (*p) {
        /* Skip blank and comment lines. */
        char *q = p;
        while (*q == ' ' || *q == '\t' || *q == '\r') q++;
        if (*q == '\n' || *q == '#' || *q == '\0') {
            while (*q && *q != '\n') q++;
            if (*q == '\n') q++;
            p = q;
            line++;
            continue;
        }
        int rec_line = line, nf = 0;
        st = split_record(path, &p, &line, &fields, &fcap, &nf);
        if (st != DLM_OK) break;
        for (int i = 0; i < nf; i++) trim(fields[i]);
        if (!c->header) {
            if (nf > DLM_CSV_MAX_COLS) {
                st = dlm_error(DLM_EPARSE, "%s:%d: %d header columns (at most %d)", path,
                               rec_line, nf, DLM_CSV_MAX_COLS);
                break;
            }
            if (!(c->header = malloc((size_t)nf * sizeof *c->header))) {
                st = dlm_error(DLM_ENOMEM, "%s: out of memory", path);
                break;
            }
            memcpy(c->header, fields, (size_t)nf * sizeof *fields);
            c->ncols = nf;
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
            st = dlm_error(DLM_EPARSE, "%s:%d: %d fields, but the header has %d", path, rec_line,
                           nf, c->ncols);
            break;
        }
        if (c->nrows == c->cap) {
            int nc = c->cap ? c->cap * 2 : 64;
            int *nl = realloc(c->lines, (size_t)nc * sizeof *nl);
            if (!nl) {
                st = dlm_error(DLM_ENOMEM, "%s: out of memory", path);
                break;
            }
            c->lines = nl;
            c->cap = nc;
        }
        if (ncells + (size_t)nf > cellcap) {
            size_t nc = cellcap ? cellcap * 2 : 1024;
            while (nc < ncells + (size_t)nf) nc *= 2;
            char **ncp = realloc(c->cells, nc * sizeof *ncp);
            if (!ncp) {
                st = dlm_error(DLM_ENOMEM, "%s: out of memory", path);
                break;
            }
            c->cells = ncp;
            cellcap = nc;
        }
        memcpy(c->cells + ncells, fields, (size_t)nf * sizeof *fields);
        ncells += (size_t)nf;
        c->lines[c->nrows] = rec_line;
        c->nrows++;
    }
    free(fields);
    if (st == DLM_OK && !c->header)
        st = dlm_error(DLM_EPARSE, "%s: no header row (the file holds only comments)", path);
    /* rows[r] = the r-th row's cells (the cells array no longer moves) */
    if (st == DLM_OK && c->nrows && !(c->rows = malloc((size_t)c->nrows * sizeof *c->rows)))
        st = dlm_error(DLM_ENOMEM, "%s: out of memory", path);
    for (int r = 0; st == DLM_OK && r < c->nrows; r++) c->rows[r] = c->cells + (size_t)r * (size_t)c->ncols;
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
    free(c->header);
    free(c->cells);
    free(c->rows);
    free(c->text);
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
