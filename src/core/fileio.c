/* fileio.c — reading user-named files and writing outputs whole (see fileio.h). */
#include "fileio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

dlm_status dlm_file_open_input(const char *path, FILE **f, long long *size)
{
    *f = NULL;
    *size = -1;
    FILE *fp = fopen(path, "rb");
    if (!fp) return dlm_error(DLM_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0) {
        int e = errno;
        fclose(fp);
        return dlm_error(DLM_EIO, "%s: cannot read: %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        fclose(fp);
        return dlm_error(DLM_EIO, "%s: is a directory, not a file", path);
    }
    if (S_ISREG(sb.st_mode)) *size = (long long)sb.st_size;
    *f = fp;
    return DLM_OK;
}

dlm_status dlm_file_read_text(const char *path, size_t max, const char *what, char **text,
                              size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *f;
    long long size;
    DLM_TRY(dlm_file_open_input(path, &f, &size));
    if (size >= 0 && (unsigned long long)size > max) {
        fclose(f);
        return dlm_error(DLM_EPARSE, "%s: %lld bytes, larger than %zu bytes (the most dlmem "
                         "reads as %s)", path, size, max, what);
    }
    char *t = NULL;
    size_t n = 0, cap = 0, k;
    char chunk[65536];
    dlm_status st = DLM_OK;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (k > max - n) { /* a stream growing past the cap: stop reading it */
            st = dlm_error(DLM_EPARSE, "%s: larger than %zu bytes (the most dlmem reads as %s)",
                           path, max, what);
            break;
        }
        if (n + k + 1 > cap) {
            size_t nc = cap ? cap : sizeof chunk * 2;
            while (nc < n + k + 1) nc *= 2;
            char *nt = realloc(t, nc);
            if (!nt) {
                st = dlm_error(DLM_ENOMEM, "%s: out of memory", path);
                break;
            }
            t = nt;
            cap = nc;
        }
        memcpy(t + n, chunk, k);
        n += k;
    }
    if (st == DLM_OK && ferror(f))
        st = dlm_error(DLM_EIO, "%s: read error: %s", path, strerror(errno));
    fclose(f);
    if (st == DLM_OK && !t && !(t = malloc(1))) st = dlm_error(DLM_ENOMEM, "%s: out of memory", path);
    if (st == DLM_OK) {
        t[n] = '\0';
        const char *nul = memchr(t, '\0', n);
        if (nul) {
            int line = 1;
            for (const char *p = t; p < nul; p++) line += *p == '\n';
            st = dlm_error(DLM_EPARSE, "%s:%d: NUL byte (byte %zu; %s is text)", path, line,
                           (size_t)(nul - t) + 1, what);
        }
    }
    if (st != DLM_OK) {
        free(t);
        return st;
    }
    *text = t;
    *len = n;
    return DLM_OK;
}

dlm_status dlm_output_open(const char *path, dlm_output *o)
{
    memset(o, 0, sizeof *o);
    size_t L = strlen(path);
    o->path = strdup(path);
    o->tmp = malloc(L + 16);
    if (!o->path || !o->tmp) {
        free(o->path);
        free(o->tmp);
        memset(o, 0, sizeof *o);
        return dlm_error(DLM_ENOMEM, "out of memory");
    }
    snprintf(o->tmp, L + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(o->tmp);
    if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            remove(o->tmp);
        }
        free(o->path);
        free(o->tmp);
        memset(o, 0, sizeof *o);
        return dlm_error(DLM_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    return DLM_OK;
}

static void output_release(dlm_output *o)
{
    free(o->path);
    free(o->tmp);
    memset(o, 0, sizeof *o);
}

dlm_status dlm_output_commit(dlm_output *o)
{
    if (!o->f) return dlm_error(DLM_EINTERNAL, "dlm_output_commit: output not open");
    int werr = ferror(o->f);
    int e = errno;
    if (fflush(o->f) != 0) werr = 1, e = errno;
    if (fclose(o->f) != 0) werr = 1, e = errno;
    o->f = NULL;
    dlm_status st = DLM_OK;
    if (werr) {
        remove(o->tmp);
        st = dlm_error(DLM_EIO, "%s: write failed: %s (the earlier file, if any, is kept)", o->path,
                       strerror(e));
    } else {
        /* mkstemp made it 0600; an output reads like any file the user writes */
        mode_t um = umask(0);
        umask(um);
        if (chmod(o->tmp, 0666 & ~um) != 0 || rename(o->tmp, o->path) != 0) {
            e = errno;
            remove(o->tmp);
            st = dlm_error(DLM_EIO, "%s: cannot write: %s", o->path, strerror(e));
        }
    }
    output_release(o);
    return st;
}

void dlm_output_abort(dlm_output *o)
{
    if (o->f) {
        fclose(o->f);
        remove(o->tmp);
    }
    output_release(o);
}

dlm_status dlm_output_rename(const char *tmp, const char *path)
{
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return dlm_error(DLM_EIO, "%s: cannot write (renaming %s): %s", path, tmp, strerror(e));
    }
    return DLM_OK;
}
