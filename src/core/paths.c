/* paths.c — locating data files (see paths.h). */
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef DLM_SRCDATADIR
#define DLM_SRCDATADIR "data"
#endif
#ifndef DLM_PKGDATADIR
#define DLM_PKGDATADIR "/usr/local/share/dlmem"
#endif

int dlm_data_path(const char *rel, char *buf, size_t n)
{
    const char *dirs[3] = {getenv("DLMEM_DATA"), DLM_SRCDATADIR, DLM_PKGDATADIR};
    int first = -1;
    for (int i = 0; i < 3; i++) {
        if (!dirs[i] || !dirs[i][0]) continue;
        if (first < 0) first = i;
        snprintf(buf, n, "%s/%s", dirs[i], rel);
        if (access(buf, R_OK) == 0) return 1;
    }
    snprintf(buf, n, "%s/%s", dirs[first < 0 ? 1 : first], rel);
    return 0;
}
