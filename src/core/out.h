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
/* Aligned text; `indent` spaces before each line. */
dlm_status dlm_table_print(const dlm_table *t, FILE *f, int indent);
/* CSV with the headers as the first row. */
dlm_status dlm_table_print_csv(const dlm_table *t, FILE *f);

/* ---- CSV cells ------------------------------------------------------------------ */
/* Writes s as one CSV field (quoted when it holds a comma, quote or newline). */
void dlm_csv_field(FILE *f, const char *s);

/* ---- JSON ------------------------------------------------------------------------ */
typedef struct dlm_json {
    FILE *f;
    int depth;
    int first[64];   /* no element written yet at this depth */
    int after_key;
} dlm_json;

void dlm_json_init(dlm_json *j, FILE *f);
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
/* Newline, flush, and DLM_EIO if any write failed. */
dlm_status dlm_json_finish(dlm_json *j);

/* ---- numbers ------------------------------------------------------------------------ */
/* 11689512 -> "11,689,512". */
const char *dlm_fmt_int(char *buf, size_t n, int64_t v);
/* Bytes for people, binary units: "44.59 MiB", "512 B". */
const char *dlm_fmt_bytes(char *buf, size_t n, double bytes);
/* Checks a stream for write errors after output: DLM_EIO naming `what`. */
dlm_status dlm_check_stream(FILE *f, const char *what);

#endif
