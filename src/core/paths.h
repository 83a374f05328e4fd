/* paths.h — where dlmem finds its data files (data/reference, data/seed, ...).
 *
 * Searched in order: $DLMEM_DATA, the source tree's data/ (for a build that
 * was not installed), the installed $(pkgdatadir).  The first folder holding
 * the file wins.
 */
#ifndef DLM_PATHS_H
#define DLM_PATHS_H

#include <stddef.h>

/* Writes the path of data file `rel` ("reference/pytorch_params.csv") to buf.
 * Returns 1 if the file exists there, 0 if it exists nowhere (buf then holds
 * the first candidate, for the error message). */
int dlm_data_path(const char *rel, char *buf, size_t n);

#endif
