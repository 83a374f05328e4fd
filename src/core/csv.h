/* csv.h — reading CSV files with a header row, with errors that name the file,
 * the line and the column.  Lines that are empty or start with '#' are skipped
 * (comments carry provenance in dlmem's data files).  Fields may be quoted
 * ("a, b", "say ""hi""").  The whole file is held in memory: at most
 * DLM_CSV_MAX_BYTES, a header of at most DLM_CSV_MAX_COLS distinct names (a
 * repeated column name is an error), no NUL byte (see fileio.h).
 */
#ifndef DLM_CSV_H
#define DLM_CSV_H

#include <stdint.h>

#include "status.h"

#define DLM_CSV_MAX_BYTES ((size_t)256 << 20) /* 256 MiB */
#define DLM_CSV_MAX_COLS 1024

typedef struct dlm_csv {
    char *path;
    char **header;
    int ncols;
    char ***rows;  /* rows[r][c]: pointers into cells */
    char **cells;  /* every row's fields, row after row: pointers into text */
    char *text;    /* the file's text, split in place */
    int *lines;    /* 1-based line number of each row in the file */
    int nrows, cap;
} dlm_csv;

/* Reads path; an empty file, a row with the wrong number of fields or an
 * unterminated quote is DLM_EPARSE with file:line. */
dlm_status dlm_csv_read(const char *path, dlm_csv **out);
void dlm_csv_free(dlm_csv *c);

/* Column index by header name, -1 if absent. */
int dlm_csv_col(const dlm_csv *c, const char *name);
/* Column indices for all names; a missing one is DLM_EPARSE listing what the
 * file has. */
dlm_status dlm_csv_require(const dlm_csv *c, int n, const char *const *names, int *idx);
/* Field (row, col) as an integer / a double; text that does not parse is
 * DLM_EPARSE "file:line: column 'x': 'abc' is not a number". */
dlm_status dlm_csv_int(const dlm_csv *c, int row, int col, int64_t *v);
dlm_status dlm_csv_double(const dlm_csv *c, int row, int col, double *v);
const char *dlm_csv_get(const dlm_csv *c, int row, int col);

#endif
