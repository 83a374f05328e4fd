/* out.h — output for people (aligned tables with units) and for programs
 * (CSV with a header, JSON), plus number formatting.
 *
 * A dlm_table collects rows of strings and prints them aligned, or as CSV with
 * the same header.  dlm_json writes JSON incrementally with commas handled.
 * Write errors are sticky and reported by the *_finish / print functions.
 */
#ifndef DLM_OUT_H
#define DLM_OUT_H

#include <stdint.h>
#include <stdio.h>

#include "status.h"

typedef enum dlm_format { DLM_FMT_TABLE, DLM_FMT_CSV, DLM_FMT_JSON } dlm_format;

/* Parses "table", "csv" or "json" (error names the valid ones). */
dlm_status dlm_format_parse(const char *s, dlm_format *out);

/* ---- tables ------------------------------------------------------------------ */
typedef struct dlm_table dlm_table;

/* aligns: one char per column, 'l' or 'r'. */
dlm_status dlm_table_alloc(int ncols, const char *const *headers, const char *aligns,
                           dlm_table **out);
void dlm_table_free(dlm_table *t);
/* Appends a row of ncols cells (copied). */
dlm_status dlm_table_add(dlm_table *t, const char *const *cells);
/* Appends a horizontal rule (table output only; skipped in CSV). */
dlm_status dlm_table_rule(dlm_table *t);
int dlm_table_rows(const dlm_table *t);
/* Aligned text; `indent` spaces before each line.  A table wider than the
 * output width (dlm_table_set_width; DLM_TABLE_WIDTH by default) has its
 * widest text columns narrowed, their cells wrapped at spaces onto more lines;
 * numbers (right-aligned columns) are never wrapped.  If that is not enough,
 * the columns are printed in groups that fit, one table after the other, each
 * starting with the key columns (dlm_table_set_keys; the first one by default). */
dlm_status dlm_table_print(const dlm_table *t, FILE *f, int indent);
#define DLM_TABLE_WIDTH 100
/* How many leading columns name a row (repeated in each group of a split table). */
void dlm_table_set_keys(dlm_table *t, int keys);
/* The width tables fit (columns); 0: no limit (--wide). */
void dlm_table_set_width(int columns);
int dlm_table_width(void);
/* CSV with the headers as the first row. */
dlm_status dlm_table_print_csv(const dlm_table *t, FILE *f);

/* Prints one paragraph (printf format, no newlines in it) wrapped at the table
 * width (unlimited with --wide): `indent` spaces before the first line, two
 * more before the lines it continues on. */
dlm_status dlm_para(FILE *f, int indent, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- CSV cells ------------------------------------------------------------------ */
/* Writes s as one CSV field (quoted when it holds a comma, quote or newline). */
void dlm_csv_field(FILE *f, const char *s);

/* ---- JSON ------------------------------------------------------------------------ */
/* A JSON document is built in memory with jansson and written by dlm_json_finish.
 * The root must be an object: dlm_json_obj_begin on the root adds
 * "dlmem_version" (this build's version) and "schema" (the `schema` given to
 * dlm_json_init, e.g. "dlmem.memory/1"; doc/json.md describes each) first.
 * Strings that are not valid UTF-8 (a network name from a file, say) are
 * written with U+FFFD in place of each invalid byte, so the document is always
 * valid JSON.  A build without jansson (--without-jansson) refuses
 * --format json in dlm_format_parse; dlm_json_finish then fails too. */
typedef struct dlm_json {
    FILE *f;
    const char *schema;
    void *stack[64]; /* open containers (json_t *); stack[0] is the root */
    int depth;
    char *key;       /* key waiting for its value, or NULL */
    int failed;      /* an allocation or nesting error happened */
} dlm_json;

/* 1 when this build writes JSON (jansson found at configure time). */
int dlm_json_available(void);
void dlm_json_init(dlm_json *j, FILE *f, const char *schema);
void dlm_json_obj_begin(dlm_json *j);
void dlm_json_obj_end(dlm_json *j);
void dlm_json_arr_begin(dlm_json *j);
void dlm_json_arr_end(dlm_json *j);
void dlm_json_key(dlm_json *j, const char *key);
void dlm_json_str(dlm_json *j, const char *s);
void dlm_json_int(dlm_json *j, int64_t v);
void dlm_json_num(dlm_json *j, double v);   /* null for NaN / inf */
void dlm_json_bool(dlm_json *j, int v);
void dlm_json_null(dlm_json *j);
/* Shorthands: key then value. */
void dlm_json_kstr(dlm_json *j, const char *key, const char *s);
void dlm_json_kint(dlm_json *j, const char *key, int64_t v);
/* bytes held as a double, rounded, as an integer; null outside int64 */
void dlm_json_kbytes(dlm_json *j, const char *key, double v);
void dlm_json_knum(dlm_json *j, const char *key, double v);
void dlm_json_kbool(dlm_json *j, const char *key, int v);
/* Writes the document and a newline, frees it; DLM_EIO if a write failed,
 * DLM_EINTERNAL for a malformed document (unbalanced, root not an object). */
dlm_status dlm_json_finish(dlm_json *j);

/* Frees a document without writing it (an error path before dlm_json_finish). */
void dlm_json_free(dlm_json *j);

/* Copies s into buf (size n) with each byte that is not part of a valid UTF-8
 * sequence replaced by U+FFFD; truncates at a character boundary. */
const char *dlm_utf8_clean(char *buf, size_t n, const char *s);

/* ---- numbers ------------------------------------------------------------------------ */
/* 11689512 -> "11,689,512". */
const char *dlm_fmt_int(char *buf, size_t n, int64_t v);
/* Bytes for people, binary units: "44.59 MiB", "512 B". */
const char *dlm_fmt_bytes(char *buf, size_t n, double bytes);
/* Checks a stream for write errors after output: DLM_EIO naming `what`. */
dlm_status dlm_check_stream(FILE *f, const char *what);

#endif
