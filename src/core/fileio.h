/* fileio.h — reading the files a user names and writing outputs whole.
 *
 * Reading: a missing, unreadable or directory input is DLM_EIO naming the file
 * (exit status 2); a file over the caller's cap is refused before more of it is
 * held in memory (an endless stream or a huge file is not read to the end); a
 * NUL byte, which no text format of dlmem's has, is DLM_EPARSE with its line,
 * so nothing after it is dropped silently.
 *
 * Writing: an output is written to a temporary file beside it and renamed over
 * the final name only when every write and the close succeeded, so a full disk
 * or a failure half-way leaves the earlier good file in place, never a
 * truncated one.
 *
 * What it is not: a general I/O layer.  Appending sweeps (measure -o) keep
 * their own code.
 */
#ifndef DLM_FILEIO_H
#define DLM_FILEIO_H

#include <stddef.h>
#include <stdio.h>

#include "status.h"

/* Reads the text file `path` whole into *text (NUL-terminated, free() it), its
 * length in *len.  More than `max` bytes: DLM_EPARSE "larger than ...", `what`
 * naming the kind of file ("a CSV file").  A NUL byte: DLM_EPARSE "path:line:
 * NUL byte".  Errors leave *text NULL. */
dlm_status dlm_file_read_text(const char *path, size_t max, const char *what, char **text,
                              size_t *len);

/* Opens `path` for reading in binary mode after checking it is not a
 * directory; *size is the file's size when it is a regular file, -1 otherwise. */
dlm_status dlm_file_open_input(const char *path, FILE **f, long long *size);

/* An output written whole or not at all. */
typedef struct dlm_output {
    FILE *f;         /* write to this */
    char *path;      /* the final name */
    char *tmp;       /* the temporary file beside it */
} dlm_output;

/* Creates a temporary file in path's folder; DLM_EIO naming path if it cannot. */
dlm_status dlm_output_open(const char *path, dlm_output *o);
/* Flushes and closes; on success renames the temporary file to the final name.
 * Any write error (a full disk) is DLM_EIO, the temporary file is removed and
 * the final name keeps what it held before.  Frees o's names either way. */
dlm_status dlm_output_commit(dlm_output *o);
/* Closes and removes the temporary file (after another error). */
void dlm_output_abort(dlm_output *o);
/* Renames a finished temporary file `tmp` over `path` (for files another
 * program wrote, e.g. gnuplot's PNG); DLM_EIO naming both if it cannot. */
dlm_status dlm_output_rename(const char *tmp, const char *path);

#endif
