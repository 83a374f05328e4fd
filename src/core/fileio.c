/* fileio.c — reading user-named files and writing outputs whole (see fileio.h). */
#include "config.h"
#include "fileio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_ZLIB
#include <zlib.h>
#endif

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

/* One source of bytes: a FILE, or (FILE.gz, with zlib) its gzip stream. */
typedef struct text_src {
    FILE *f;
#ifdef HAVE_ZLIB
    gzFile gz;
#endif
} text_src;

/* Up to n bytes into buf: the count, 0 at the end, -1 with *st set on an error. */
static long src_read(text_src *s, const char *path, char *buf, size_t n, dlm_status *st)
{
#ifdef HAVE_ZLIB
    if (s->gz) {
        int k = gzread(s->gz, buf, (unsigned)n);
        if (k < 0) {
            int e;
            const char *msg = gzerror(s->gz, &e);
            *st = dlm_error(DLM_EIO, "%s: cannot decompress: %s", path,
                            e == Z_ERRNO ? strerror(errno) : msg);
            return -1;
        }
        return k;
    }
#endif
    size_t k = fread(buf, 1, n, s->f);
    if (k == 0 && ferror(s->f)) {
        *st = dlm_error(DLM_EIO, "%s: read error: %s", path, strerror(errno));
        return -1;
    }
    return (long)k;
}

/* Whether path names a gzip file by its suffix. */
static int is_gz(const char *path)
{
    size_t n = strlen(path);
    return n > 3 && !strcmp(path + n - 3, ".gz");
}

dlm_status dlm_file_read_text(const char *path, size_t max, const char *what, char **text,
                              size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *f;
    long long size;
    text_src src = {0};
    DLM_TRY(dlm_file_open_input(path, &f, &size));
    if (is_gz(path)) {
#ifdef HAVE_ZLIB
        /* the cap is on the text decompressed (a small file can inflate without end) */
        int fd = dup(fileno(f));
        fclose(f);
        f = NULL;
        if (fd < 0 || !(src.gz = gzdopen(fd, "rb"))) {
            if (fd >= 0) close(fd);
            return dlm_error(DLM_EIO, "%s: cannot open: %s", path, strerror(errno));
        }
        size = -1;
#else
        fclose(f);
        return dlm_error(DLM_EIO, "%s: a gzip-compressed file, and this dlmem was built without "
                         "zlib (install zlib1g-dev and configure again, or gunzip it)", path);
#endif
    }
    src.f = f;
    if (size >= 0 && (unsigned long long)size > max) {
        fclose(f);
        return dlm_error(DLM_EPARSE, "%s: %lld bytes, larger than %zu bytes (the most dlmem "
                         "reads as %s)", path, size, max, what);
    }
    char *t = NULL;
    size_t n = 0, cap = 0;
    long k;
    char chunk[65536];
    dlm_status st = DLM_OK;
    while ((k = src_read(&src, path, chunk, sizeof chunk, &st)) > 0) {
        if ((size_t)k > max - n) { /* a stream growing past the cap: stop reading it */
            st = dlm_error(DLM_EPARSE, "%s: larger than %zu bytes (the most dlmem reads as %s)",
                           path, max, what);
            break;
        }
        if (n + (size_t)k + 1 > cap) {
            size_t nc = cap ? cap : sizeof chunk * 2;
            while (nc < n + (size_t)k + 1) nc *= 2;
            char *nt = realloc(t, nc);
            if (!nt) {
                st = dlm_error(DLM_ENOMEM, "%s: out of memory", path);
                break;
            }
            t = nt;
            cap = nc;
        }
        memcpy(t + n, chunk, (size_t)k);
        n += (size_t)k;
    }
#ifdef HAVE_ZLIB
    if (src.gz) {
        int rc = gzclose(src.gz);
        if (st == DLM_OK && rc != Z_OK)
            st = dlm_error(DLM_EIO, "%s: cannot decompress: %s", path,
                           rc == Z_BUF_ERROR ? "the file ends mid-stream (cut?)" : "corrupt data");
    }
#endif
    if (f) fclose(f);
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
