/* out.c — tables, CSV and JSON writers, number formatting (see out.h). */
#include "out.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

dlm_status dlm_format_parse(const char *s, dlm_format *out)
{
    if (!strcmp(s, "table")) *out = DLM_FMT_TABLE;
    else if (!strcmp(s, "csv")) *out = DLM_FMT_CSV;
    else if (!strcmp(s, "json")) *out = DLM_FMT_JSON;
    else return dlm_error(DLM_EINVAL, "unknown format '%s' (valid: table, csv, json)", s);
    return DLM_OK;
}

/* ---- tables ------------------------------------------------------------------------ */

struct dlm_table {
    int ncols;
    char **headers;
    char *aligns;
    char ***rows; /* NULL row = rule */
    int nrows, cap;
};

static char *sdup(const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s ? s : "", n);
    return d;
}

dlm_status dlm_table_alloc(int ncols, const char *const *headers, const char *aligns,
                           dlm_table **out)
{
    dlm_table *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t) return dlm_error(DLM_ENOMEM, "out of memory");
    t->ncols = ncols;
    t->headers = calloc((size_t)ncols, sizeof *t->headers);
    t->aligns = calloc((size_t)ncols + 1, 1);
    if (!t->headers || !t->aligns) {
        dlm_table_free(t);
        return dlm_error(DLM_ENOMEM, "out of memory");
    }
    for (int i = 0; i < ncols; i++) {
        t->headers[i] = sdup(headers[i]);
        if (!t->headers[i]) {
            dlm_table_free(t);
            return dlm_error(DLM_ENOMEM, "out of memory");
        }
        t->aligns[i] = (aligns && (int)strlen(aligns) > i) ? aligns[i] : 'l';
    }
    *out = t;
    return DLM_OK;
}

void dlm_table_free(dlm_table *t)
{
    if (!t) return;
    for (int r = 0; r < t->nrows; r++) {
        if (!t->rows[r]) continue;
        for (int c = 0; c < t->ncols; c++) free(t->rows[r][c]);
        free(t->rows[r]);
    }
    if (t->headers)
        for (int c = 0; c < t->ncols; c++) free(t->headers[c]);
    free(t->headers);
    free(t->aligns);
    free(t->rows);
    free(t);
}

static dlm_status push_row(dlm_table *t, char **row)
{
    if (t->nrows == t->cap) {
        int nc = t->cap ? t->cap * 2 : 32;
        char ***p = realloc(t->rows, (size_t)nc * sizeof *p);
        if (!p) return dlm_error(DLM_ENOMEM, "out of memory");
        t->rows = p;
        t->cap = nc;
    }
    t->rows[t->nrows++] = row;
    return DLM_OK;
}

dlm_status dlm_table_add(dlm_table *t, const char *const *cells)
{
    char **row = calloc((size_t)t->ncols, sizeof *row);
    if (!row) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int c = 0; c < t->ncols; c++)
        if (!(row[c] = sdup(cells[c]))) {
            for (int k = 0; k < c; k++) free(row[k]);
            free(row);
            return dlm_error(DLM_ENOMEM, "out of memory");
        }
    dlm_status st = push_row(t, row);
    if (st != DLM_OK) {
        for (int c = 0; c < t->ncols; c++) free(row[c]);
        free(row);
    }
    return st;
}

dlm_status dlm_table_rule(dlm_table *t) { return push_row(t, NULL); }

int dlm_table_rows(const dlm_table *t) { return t->nrows; }

/* Display width of a UTF-8 string: East Asian wide characters (the seed
 * report's Chinese labels) take two columns, others one. */
static int width(const char *s)
{
    int w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp = *p;
        int len = cp < 0x80 ? 1 : cp < 0xE0 ? 2 : cp < 0xF0 ? 3 : 4;
        if (len > 1) cp &= 0x3F >> (len - 1);
        for (int i = 1; i < len && (p[i] & 0xC0) == 0x80; i++) cp = (cp << 6) | (p[i] & 0x3F);
        for (int i = 0; i < len && *p; i++) p++;
        int wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                   (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                   (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                   (cp >= 0xFFE0 && cp <= 0xFFE6);
        w += wide ? 2 : 1;
    }
    return w;
}

dlm_status dlm_table_print(const dlm_table *t, FILE *f, int indent)
{
    int *w = calloc((size_t)t->ncols, sizeof *w), total = 0;
    if (!w) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int c = 0; c < t->ncols; c++) w[c] = width(t->headers[c]);
    for (int r = 0; r < t->nrows; r++)
        if (t->rows[r])
            for (int c = 0; c < t->ncols; c++)
                if (width(t->rows[r][c]) > w[c]) w[c] = width(t->rows[r][c]);
    for (int c = 0; c < t->ncols; c++) total += w[c] + (c ? 2 : 0);
    for (int r = -1; r < t->nrows; r++) {
        char **row = r < 0 ? t->headers : t->rows[r];
        fprintf(f, "%*s", indent, "");
        if (!row) {
            for (int k = 0; k < total; k++) fputc('-', f);
            fputc('\n', f);
            continue;
        }
        for (int c = 0; c < t->ncols; c++) {
            int pad = w[c] - width(row[c]);
            int last = c == t->ncols - 1;
            if (c) fputs("  ", f);
            if (t->aligns[c] == 'r') fprintf(f, "%*s%s", pad, "", row[c]);
            else fprintf(f, "%s%*s", row[c], last ? 0 : pad, "");
        }
        fputc('\n', f);
        if (r < 0) {
            fprintf(f, "%*s", indent, "");
            for (int k = 0; k < total; k++) fputc('-', f);
            fputc('\n', f);
        }
    }
    free(w);
    return dlm_check_stream(f, "table output");
}

void dlm_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

dlm_status dlm_table_print_csv(const dlm_table *t, FILE *f)
{
    for (int r = -1; r < t->nrows; r++) {
        char **row = r < 0 ? t->headers : t->rows[r];
        if (!row) continue;
        for (int c = 0; c < t->ncols; c++) {
            if (c) fputc(',', f);
            dlm_csv_field(f, row[c]);
        }
        fputc('\n', f);
    }
    return dlm_check_stream(f, "CSV output");
}

/* ---- JSON ---------------------------------------------------------------------------- */

void dlm_json_init(dlm_json *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->first[0] = 1;
}

static void pre_value(dlm_json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (!j->first[j->depth]) fputc(',', j->f);
    j->first[j->depth] = 0;
}

static void open_(dlm_json *j, char c)
{
    pre_value(j);
    fputc(c, j->f);
    if (j->depth < 63) j->depth++;
    j->first[j->depth] = 1;
}

static void close_(dlm_json *j, char c)
{
    if (j->depth > 0) j->depth--;
    fputc(c, j->f);
}

void dlm_json_obj_begin(dlm_json *j) { open_(j, '{'); }
void dlm_json_obj_end(dlm_json *j) { close_(j, '}'); }
void dlm_json_arr_begin(dlm_json *j) { open_(j, '['); }
void dlm_json_arr_end(dlm_json *j) { close_(j, ']'); }

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

void dlm_json_key(dlm_json *j, const char *key)
{
    pre_value(j);
    put_string(j->f, key);
    fputc(':', j->f);
    j->after_key = 1;
}

void dlm_json_str(dlm_json *j, const char *s)
{
    pre_value(j);
    put_string(j->f, s ? s : "");
}

void dlm_json_int(dlm_json *j, int64_t v)
{
    pre_value(j);
    fprintf(j->f, "%lld", (long long)v);
}

void dlm_json_num(dlm_json *j, double v)
{
    pre_value(j);
    if (isfinite(v)) fprintf(j->f, "%.10g", v);
    else fputs("null", j->f);
}

void dlm_json_bool(dlm_json *j, int v)
{
    pre_value(j);
    fputs(v ? "true" : "false", j->f);
}

void dlm_json_null(dlm_json *j)
{
    pre_value(j);
    fputs("null", j->f);
}

void dlm_json_kstr(dlm_json *j, const char *k, const char *s) { dlm_json_key(j, k); dlm_json_str(j, s); }
void dlm_json_kint(dlm_json *j, const char *k, int64_t v) { dlm_json_key(j, k); dlm_json_int(j, v); }

void dlm_json_kbytes(dlm_json *j, const char *k, double v)
{
    dlm_json_key(j, k);
    /* a rounded byte count as an integer; one outside int64 (or NaN) is null,
     * never a wrapped negative number */
    if (isfinite(v) && v > -9223372036854775808.0 && v < 9223372036854775808.0)
        dlm_json_int(j, (int64_t)llround(v));
    else
        dlm_json_null(j);
}
void dlm_json_knum(dlm_json *j, const char *k, double v) { dlm_json_key(j, k); dlm_json_num(j, v); }

dlm_status dlm_json_finish(dlm_json *j)
{
    fputc('\n', j->f);
    return dlm_check_stream(j->f, "JSON output");
}

/* ---- numbers ----------------------------------------------------------------------------- */

const char *dlm_fmt_int(char *buf, size_t n, int64_t v)
{
    char tmp[32];
    /* the magnitude in unsigned arithmetic: -INT64_MIN does not exist in int64 */
    int len = snprintf(tmp, sizeof tmp, "%llu",
                       v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);
    size_t k = 0;
    if (v < 0 && k + 1 < n) buf[k++] = '-';
    for (int i = 0; i < len && k + 1 < n; i++) {
        buf[k++] = tmp[i];
        int left = len - i - 1;
        if (left > 0 && left % 3 == 0 && k + 1 < n) buf[k++] = ',';
    }
    if (n) buf[k < n ? k : n - 1] = '\0';
    return buf;
}

const char *dlm_fmt_bytes(char *buf, size_t n, double b)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    double a = fabs(b);
    while (a >= 1024 && u < 4) {
        a /= 1024;
        b /= 1024;
        u++;
    }
    if (u == 0) snprintf(buf, n, "%.0f B", b);
    else snprintf(buf, n, "%.2f %s", b, units[u]);
    return buf;
}

dlm_status dlm_check_stream(FILE *f, const char *what)
{
    if (fflush(f) != 0 || ferror(f))
        return dlm_error(DLM_EIO, "writing %s failed: %s", what, strerror(errno));
    return DLM_OK;
}
