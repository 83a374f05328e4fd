/* out.c — tables, CSV and JSON writers, number formatting (see out.h). */
#include "out.h"

#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

dlm_status dlm_format_parse(const char *s, dlm_format *out)
{
    if (!strcmp(s, "table")) *out = DLM_FMT_TABLE;
    else if (!strcmp(s, "csv")) *out = DLM_FMT_CSV;
    else if (!strcmp(s, "json")) {
        if (!dlm_json_available())
            return dlm_error(DLM_EUNSUPPORTED, "--format json: this dlmem was built without "
                             "jansson (configure found none); use --format csv or table");
        *out = DLM_FMT_JSON;
    }
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
    int keys;     /* leading columns repeated when the table is split to fit */
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
    t->keys = 1;
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

/* Text for a terminal: control characters from data (a newline, an escape
 * sequence in a model name) become '?' (keep: one more character left alone,
 * '\n' in prose). */
static void printable(char *s, char keep)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != keep) || *s == 0x7f) *s = '?';
}

dlm_status dlm_table_add(dlm_table *t, const char *const *cells)
{
    char **row = calloc((size_t)t->ncols, sizeof *row);
    if (!row) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int c = 0; c < t->ncols; c++) {
        if (!(row[c] = sdup(cells[c]))) {
            for (int k = 0; k < c; k++) free(row[k]);
            free(row);
            return dlm_error(DLM_ENOMEM, "out of memory");
        }
        printable(row[c], 0);
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

static int table_width = DLM_TABLE_WIDTH;

void dlm_table_set_width(int columns) { table_width = columns > 0 ? columns : 0; }
int dlm_table_width(void) { return table_width; }

/* Takes from *p the next line of a cell wrapped at w display columns: breaks
 * at the last space that fits, or inside a word longer than w.  Writes it to
 * out (size n) and advances *p past it and the spaces after it. */
static void next_line(const char **p, int w, char *out, size_t n)
{
    const unsigned char *s = (const unsigned char *)*p, *q = s, *brk = NULL;
    int used = 0;
    while (*q) {
        int len = *q < 0x80 ? 1 : *q < 0xE0 ? 2 : *q < 0xF0 ? 3 : 4;
        char one[5] = {0};
        for (int i = 0; i < len && q[i]; i++) one[i] = (char)q[i];
        int cw = width(one);
        if (used + cw > w) break;
        if (*q == ' ') brk = q;
        used += cw;
        q += strlen(one);
    }
    if (*q && *q != ' ' && brk) q = brk; /* do not split a word that fits on the next line */
    if (q == s && *q) q++;                /* w < 1 character: take one byte */
    size_t len = (size_t)(q - s) < n ? (size_t)(q - s) : n - 1;
    memcpy(out, s, len);
    out[len] = '\0';
    while (len && out[len - 1] == ' ') out[--len] = '\0';
    while (*q == ' ') q++;
    *p = (const char *)q;
}

/* Prints the columns sel[0..ns-1] of t with widths w (cells wrapped to them). */
static void print_cols(const dlm_table *t, FILE *f, int indent, const int *sel, int ns,
                       const int *w, const char **cur, char *line, size_t line_n)
{
    int total = 0;
    for (int i = 0; i < ns; i++) total += w[sel[i]] + (i ? 2 : 0);
    for (int r = -1; r < t->nrows; r++) {
        char **row = r < 0 ? t->headers : t->rows[r];
        if (!row) {
            fprintf(f, "%*s", indent, "");
            for (int k = 0; k < total; k++) fputc('-', f);
            fputc('\n', f);
            continue;
        }
        for (int i = 0; i < ns; i++) cur[i] = row[sel[i]];
        for (int first = 1;; first = 0) {
            int more = 0;
            for (int i = 0; i < ns; i++) more |= *cur[i] != '\0';
            if (!more && !first) break;
            fprintf(f, "%*s", indent, "");
            int last = ns - 1; /* trailing blank cells are not padded */
            while (last > 0 && !*cur[last]) last--;
            for (int i = 0; i <= last; i++) {
                int c = sel[i];
                next_line(&cur[i], w[c], line, line_n);
                int cw = width(line);
                if (i) fputs("  ", f);
                if (t->aligns[c] == 'r') fprintf(f, "%*s%s", w[c] - cw, "", line);
                else fprintf(f, "%s%*s", line, i == last ? 0 : w[c] - cw, "");
            }
            fputc('\n', f);
        }
        if (r < 0) {
            fprintf(f, "%*s", indent, "");
            for (int k = 0; k < total; k++) fputc('-', f);
            fputc('\n', f);
        }
    }
}

/* Narrows the text columns of sel (left-aligned; numbers never wrap) one
 * column at a time, down to `floor`, until the columns fit `avail`: the
 * rightmost text column first (where tables keep their prose), then the
 * widest. */
static int fit_cols(const dlm_table *t, const int *sel, int ns, int *w, int avail, int floor)
{
    int total = 0;
    for (int i = 0; i < ns; i++) total += w[sel[i]] + (i ? 2 : 0);
    int last = -1;
    for (int i = 0; i < ns; i++)
        if (t->aligns[sel[i]] != 'r') last = sel[i];
    while (total > avail) {
        int k = last >= 0 && w[last] > floor ? last : -1;
        for (int i = 0; i < ns && k < 0; i++) {
            int c = sel[i];
            if (t->aligns[c] != 'r' && w[c] > floor && (k < 0 || w[c] > w[k])) k = c;
        }
        if (k < 0) break;
        w[k]--;
        total--;
    }
    return total;
}

dlm_status dlm_table_print(const dlm_table *t, FILE *f, int indent)
{
    int nc = t->ncols, *w = calloc((size_t)nc, sizeof *w), *nat = calloc((size_t)nc, sizeof *nat);
    int *sel = calloc((size_t)nc, sizeof *sel);
    const char **cur = calloc((size_t)nc, sizeof *cur);
    size_t line_n = 1;
    char *line = NULL;
    dlm_status st = DLM_OK;
    if (!w || !nat || !sel || !cur) {
        st = dlm_error(DLM_ENOMEM, "out of memory");
        goto done;
    }
    for (int c = 0; c < nc; c++) {
        nat[c] = width(t->headers[c]);
        if (strlen(t->headers[c]) + 1 > line_n) line_n = strlen(t->headers[c]) + 1;
    }
    for (int r = 0; r < t->nrows; r++)
        if (t->rows[r])
            for (int c = 0; c < nc; c++) {
                if (width(t->rows[r][c]) > nat[c]) nat[c] = width(t->rows[r][c]);
                if (strlen(t->rows[r][c]) + 1 > line_n) line_n = strlen(t->rows[r][c]) + 1;
            }
    if (!(line = malloc(line_n))) {
        st = dlm_error(DLM_ENOMEM, "out of memory");
        goto done;
    }
    memcpy(w, nat, (size_t)nc * sizeof *w);
    for (int c = 0; c < nc; c++) sel[c] = c;
    int avail = table_width ? table_width - indent : 1 << 30;
    /* 1. narrow text columns (down to 16 wide, their cells wrapping) */
    if (fit_cols(t, sel, nc, w, avail, 16) <= avail || nc <= t->keys + 1) {
        print_cols(t, f, indent, sel, nc, w, cur, line, line_n);
        goto done;
    }
    /* 2. still too wide: the columns in groups that fit, each printed as a
     * table of its own with the key columns (the first t->keys) repeated */
    int keys = t->keys, c = keys;
    while (c < nc) {
        int ns = keys, used = 0;
        memcpy(w, nat, (size_t)nc * sizeof *w);
        for (int k = 0; k < keys; k++) {
            if (t->aligns[k] != 'r' && w[k] > 24) w[k] = 24;
            used += w[k] + (k ? 2 : 0);
        }
        for (; c < nc; c++) {
            int want = t->aligns[c] == 'r' ? w[c] : (w[c] < 30 ? w[c] : 30);
            if (ns > keys && used + 2 + want > avail) break;
            if (t->aligns[c] != 'r' && w[c] > want) w[c] = want;
            sel[ns++] = c;
            used += want + (ns > 1 ? 2 : 0);
        }
        /* the group's text columns take what room is left */
        for (int i = keys; i < ns; i++) {
            int col = sel[i];
            if (t->aligns[col] == 'r') continue;
            int extra = avail - used;
            if (extra > 0 && nat[col] > w[col]) {
                int add = nat[col] - w[col] < extra ? nat[col] - w[col] : extra;
                w[col] += add;
                used += add;
            }
        }
        fit_cols(t, sel, ns, w, avail, 8);
        print_cols(t, f, indent, sel, ns, w, cur, line, line_n);
        if (c < nc) fputc('\n', f);
    }
done:
    free(line);
    free(w);
    free(nat);
    free(sel);
    free(cur);
    if (st != DLM_OK) return st;
    return dlm_check_stream(f, "table output");
}

void dlm_table_set_keys(dlm_table *t, int keys)
{
    t->keys = keys < 0 ? 0 : keys < t->ncols ? keys : t->ncols - 1;
}

dlm_status dlm_para(FILE *f, int indent, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (text) vsnprintf(text, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    if (!text) return dlm_error(DLM_ENOMEM, "out of memory");
    printable(text, '\n');
    int cols = table_width ? table_width : 1 << 30;
    const char *p = text;
    char *line = malloc((size_t)n + 1);
    if (!line) {
        free(text);
        return dlm_error(DLM_ENOMEM, "out of memory");
    }
    for (int first = 1; first || *p; first = 0) {
        next_line(&p, first ? cols - indent : cols - indent - 2, line, (size_t)n + 1);
        fprintf(f, "%*s%s\n", first ? indent : indent + 2, "", line);
    }
    free(line);
    free(text);
    return ferror(f) ? dlm_error(DLM_EIO, "writing output failed: %s", strerror(errno)) : DLM_OK;
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

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when the byte at p does
 * not start one (overlong forms, surrogates and code points above U+10FFFF are
 * invalid, as RFC 3629 says). */
static int utf8_seq(const unsigned char *p)
{
    unsigned c = p[0];
    if (c < 0x80) return 1;
    int len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (!len) return 0;
    unsigned cp = c & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

const char *dlm_utf8_clean(char *buf, size_t n, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t k = 0;
    if (!n) return buf;
    while (*p) {
        int len = utf8_seq(p);
        const char *src = (const char *)p;
        size_t take = (size_t)len;
        if (!len) {
            src = "\xEF\xBF\xBD"; /* U+FFFD */
            take = 3;
        }
        if (k + take + 1 > n) break;
        memcpy(buf + k, src, take);
        k += take;
        p += len ? len : 1;
    }
    buf[k] = '\0';
    return buf;
}

#ifdef HAVE_JANSSON
#include <jansson.h>

int dlm_json_available(void) { return 1; }

void dlm_json_init(dlm_json *j, FILE *f, const char *schema)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->schema = schema;
}

/* A string as jansson wants it: valid UTF-8 (cleaned if it is not). */
static json_t *jstring(const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    int valid = 1;
    for (const unsigned char *q = p; *q && valid;) {
        int len = utf8_seq(q);
        if (!len) valid = 0;
        q += len ? len : 1;
    }
    if (valid) return json_string((const char *)p);
    size_t n = strlen((const char *)p) * 3 + 1; /* each byte may become 3 */
    char *buf = malloc(n);
    if (!buf) return NULL;
    json_t *v = json_string(dlm_utf8_clean(buf, n, (const char *)p));
    free(buf);
    return v;
}

/* Puts v (a new reference) into the open container, under the pending key in an
 * object.  Values outside a container (a scalar root) are errors. */
static void put(dlm_json *j, json_t *v)
{
    char *key = j->key;
    j->key = NULL;
    if (!v || j->depth == 0) {
        json_decref(v);
        free(key);
        j->failed = 1;
        return;
    }
    json_t *top = j->stack[j->depth - 1];
    if (json_is_object(top)) {
        if (!key || json_object_set_new(top, key, v)) j->failed = 1;
    } else if (json_array_append_new(top, v)) {
        j->failed = 1;
    }
    free(key);
}

/* Opens container c: the root (an object, which gets dlmem_version and schema
 * first) or a value in the open container. */
static void open_(dlm_json *j, json_t *c)
{
    if (!c || j->depth >= 64 || (j->depth == 0 && (j->stack[0] || !json_is_object(c)))) {
        json_decref(c);
        j->failed = 1;
        return;
    }
    if (j->depth == 0) {
        j->stack[0] = c; /* owned until dlm_json_finish */
        if (json_object_set_new(c, "dlmem_version", json_string(PACKAGE_VERSION)) ||
            json_object_set_new(c, "schema", jstring(j->schema ? j->schema : "")))
            j->failed = 1;
    } else {
        put(j, json_incref(c));
        json_decref(c); /* the parent holds it now */
    }
    j->stack[j->depth++] = c;
}

void dlm_json_obj_begin(dlm_json *j) { open_(j, json_object()); }
void dlm_json_arr_begin(dlm_json *j) { open_(j, json_array()); }
static void close_(dlm_json *j)
{
    if (j->depth > 0) j->depth--;
    else j->failed = 1;
}

void dlm_json_obj_end(dlm_json *j) { close_(j); }
void dlm_json_arr_end(dlm_json *j) { close_(j); }

void dlm_json_key(dlm_json *j, const char *key)
{
    free(j->key);
    j->key = strdup(key ? key : "");
    if (!j->key) j->failed = 1;
}

void dlm_json_str(dlm_json *j, const char *s) { put(j, jstring(s)); }
void dlm_json_int(dlm_json *j, int64_t v) { put(j, json_integer((json_int_t)v)); }
void dlm_json_num(dlm_json *j, double v) { put(j, isfinite(v) ? json_real(v) : json_null()); }
void dlm_json_bool(dlm_json *j, int v) { put(j, json_boolean(v)); }
void dlm_json_null(dlm_json *j) { put(j, json_null()); }

dlm_status dlm_json_finish(dlm_json *j)
{
    json_t *root = j->stack[0];
    dlm_status st;
    free(j->key);
    j->key = NULL;
    if (j->failed || j->depth != 0 || !json_is_object(root))
        st = dlm_error(DLM_EINTERNAL, "JSON output: malformed document (%s)",
                       j->failed ? "out of memory or bad nesting" : "unbalanced or no root object");
    else if (json_dumpf(root, j->f, JSON_COMPACT | JSON_REAL_PRECISION(10)) != 0 ||
             fputc('\n', j->f) == EOF)
        st = dlm_error(DLM_EIO, "writing JSON output failed: %s", strerror(errno));
    else
        st = dlm_check_stream(j->f, "JSON output");
    json_decref(root);
    j->stack[0] = NULL;
    return st;
}

void dlm_json_free(dlm_json *j)
{
    free(j->key);
    j->key = NULL;
    json_decref(j->stack[0]);
    j->stack[0] = NULL;
    j->depth = 0;
}

#else /* no jansson: --format json is refused before anything is built */

int dlm_json_available(void) { return 0; }
void dlm_json_init(dlm_json *j, FILE *f, const char *schema)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->schema = schema;
}
void dlm_json_obj_begin(dlm_json *j) { (void)j; }
void dlm_json_obj_end(dlm_json *j) { (void)j; }
void dlm_json_arr_begin(dlm_json *j) { (void)j; }
void dlm_json_arr_end(dlm_json *j) { (void)j; }
void dlm_json_key(dlm_json *j, const char *key) { (void)j; (void)key; }
void dlm_json_str(dlm_json *j, const char *s) { (void)j; (void)s; }
void dlm_json_int(dlm_json *j, int64_t v) { (void)j; (void)v; }
void dlm_json_num(dlm_json *j, double v) { (void)j; (void)v; }
void dlm_json_bool(dlm_json *j, int v) { (void)j; (void)v; }
void dlm_json_null(dlm_json *j) { (void)j; }
void dlm_json_free(dlm_json *j) { (void)j; }
dlm_status dlm_json_finish(dlm_json *j)
{
    (void)j;
    return dlm_error(DLM_EUNSUPPORTED, "this dlmem was built without jansson: no JSON output");
}
#endif

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
void dlm_json_kbool(dlm_json *j, const char *k, int v) { dlm_json_key(j, k); dlm_json_bool(j, v); }

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
