/* tensorfile.c — reading dlmem's named-tensor files (format in tensorfile.h). */
#include "tensorfile.h"

#include "../core/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dlm_tensorfile_free(dlm_tensorfile *f)
{
    if (!f) return;
    for (int i = 0; i < f->n; i++) {
        free(f->t[i].name);
        free(f->t[i].data);
    }
    free(f->t);
    free(f->path);
    free(f);
}

/* Reads exactly n bytes; 0 on success. */
static int get(FILE *fp, void *p, size_t n)
{
    return fread(p, 1, n, fp) == n ? 0 : -1;
}

static uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t le64(const unsigned char *b)
{
    return (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32;
}

static int get_u32(FILE *fp, uint32_t *v)
{
    unsigned char b[4];
    if (get(fp, b, 4)) return -1;
    *v = le32(b);
    return 0;
}

static int get_u64(FILE *fp, uint64_t *v)
{
    unsigned char b[8];
    if (get(fp, b, 8)) return -1;
    *v = le64(b);
    return 0;
}

/* Reads one record into t; on failure returns DLM_EPARSE/DLM_ENOMEM with a
 * message naming the record (index i). */
/* Reads n bytes into a buffer that grows with what the file really holds (for
 * a pipe, whose size is not known up front): a header's claim alone never
 * allocates. */
static int get_grown(FILE *fp, char **out, uint64_t n)
{
    const uint64_t step = (uint64_t)64 << 20;
    char *buf = NULL;
    uint64_t have = 0;
    *out = NULL;
    while (have < n || !buf) {
        uint64_t want = n - have < step ? n - have : step;
        char *nb = realloc(buf, (size_t)(have + want ? have + want : 1));
        if (!nb) {
            free(buf);
            return -2;
        }
        buf = nb;
        if (want && get(fp, buf + have, (size_t)want)) {
            free(buf);
            return -1;
        }
        have += want;
    }
    *out = buf;
    return 0;
}

static dlm_status read_record(FILE *fp, const char *path, int i, dlm_tf_tensor *t,
                              long long size)
{
    uint32_t len, dtype, ndim;
    uint64_t nbytes;
    if (get_u32(fp, &len))
        return dlm_error(DLM_EPARSE, "%s: record %d: file ends inside the name length", path, i);
    if (len == 0 || len > 4096)
        return dlm_error(DLM_EPARSE, "%s: record %d: name length %u is not in 1..4096", path, i,
                         len);
    if (!(t->name = malloc(len + 1))) return dlm_error(DLM_ENOMEM, "out of memory");
    if (get(fp, t->name, len))
        return dlm_error(DLM_EPARSE, "%s: record %d: file ends inside the name", path, i);
    t->name[len] = '\0';
    if (strlen(t->name) != len)
        return dlm_error(DLM_EPARSE, "%s: record %d: name contains a NUL byte", path, i);
    if (get_u32(fp, &dtype) || get_u32(fp, &ndim))
        return dlm_error(DLM_EPARSE, "%s: record %d (%s): file ends inside the header", path, i,
                         t->name);
    if (dtype != DLM_TF_F32 && dtype != DLM_TF_I64)
        return dlm_error(DLM_EPARSE, "%s: record %d (%s): dtype code %u (valid: 1 float32, "
                         "2 int64)", path, i, t->name, dtype);
    if (ndim > DLM_TF_MAX_DIMS)
        return dlm_error(DLM_EPARSE, "%s: record %d (%s): %u dimensions (at most %d)", path, i,
                         t->name, ndim, DLM_TF_MAX_DIMS);
    t->dtype = (dlm_tf_dtype)dtype;
    t->ndim = (int)ndim;
    t->numel = 1;
    for (uint32_t d = 0; d < ndim; d++) {
        uint64_t v;
        if (get_u64(fp, &v))
            return dlm_error(DLM_EPARSE, "%s: record %d (%s): file ends inside the dims", path,
                             i, t->name);
        if (v > (uint64_t)1 << 40 || (v && (uint64_t)t->numel > ((uint64_t)1 << 40) / v))
            return dlm_error(DLM_EPARSE, "%s: record %d (%s): dimension %u is %llu, too large",
                             path, i, t->name, d, (unsigned long long)v);
        t->dims[d] = (int64_t)v;
        t->numel *= (int64_t)v;
    }
    size_t es = t->dtype == DLM_TF_F32 ? 4 : 8;
    if (get_u64(fp, &nbytes))
        return dlm_error(DLM_EPARSE, "%s: record %d (%s): file ends before the byte count", path,
                         i, t->name);
    if (nbytes != (uint64_t)t->numel * es)
        return dlm_error(DLM_EPARSE, "%s: record %d (%s): %llu data bytes, but the dims give "
                         "%lld elements of %zu bytes", path, i, t->name,
                         (unsigned long long)nbytes, (long long)t->numel, es);
    long pos = ftell(fp);
    if (size >= 0 && pos >= 0 && nbytes > (uint64_t)(size - pos))
        return dlm_error(DLM_EPARSE, "%s: record %d (%s): %llu data bytes, but only %lld bytes "
                         "are left in the file", path, i, t->name, (unsigned long long)nbytes,
                         size - pos);
    char *data;
    int gr = get_grown(fp, &data, nbytes);
    if (gr == -2) return dlm_error(DLM_ENOMEM, "out of memory");
    if (gr)
        return dlm_error(DLM_EPARSE, "%s: record %d (%s): file ends inside the data (%llu bytes "
                         "expected)", path, i, t->name, (unsigned long long)nbytes);
    t->data = data;
    /* The format is little-endian, as is every machine dlmem runs on; a
     * big-endian host would need byte swaps here. */
    return DLM_OK;
}

dlm_status dlm_tensorfile_read(const char *path, dlm_tensorfile **out)
{
    *out = NULL;
    FILE *fp;
    long long size;
    DLM_TRY(dlm_file_open_input(path, &fp, &size));
    dlm_tensorfile *f = calloc(1, sizeof *f);
    dlm_status st = DLM_OK;
    char magic[8];
    uint32_t version = 0, count = 0;
    if (!f || !(f->path = strdup(path))) {
        st = dlm_error(DLM_ENOMEM, "out of memory");
        goto done;
    }
    if (get(fp, magic, 8) || memcmp(magic, DLM_TF_MAGIC, 8)) {
        st = dlm_error(DLM_EPARSE, "%s: not a dlmem tensor file (magic is not %s)", path,
                       DLM_TF_MAGIC);
        goto done;
    }
    if (get_u32(fp, &version) || version != DLM_TF_VERSION) {
        st = dlm_error(DLM_EPARSE, "%s: format version %u, this dlmem reads version %u", path,
                       version, DLM_TF_VERSION);
        goto done;
    }
    /* a record takes at least 21 bytes (name length, a 1-byte name, dtype,
     * ndim, byte count): a count the file cannot hold is refused before the
     * records are allocated */
    if (get_u32(fp, &count) || count > 1000000 || (size >= 0 && count > (uint64_t)size / 21)) {
        st = dlm_error(DLM_EPARSE, "%s: bad record count %u (a %lld-byte file)", path, count, size);
        goto done;
    }
    if (!(f->t = calloc(count ? count : 1, sizeof *f->t))) {
        st = dlm_error(DLM_ENOMEM, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < count && st == DLM_OK; i++) {
        f->n = (int)i + 1;
        st = read_record(fp, path, (int)i, &f->t[i], size);
    }
    if (st == DLM_OK && fgetc(fp) != EOF)
        st = dlm_error(DLM_EPARSE, "%s: bytes after the last of %u records", path, count);
    if (st == DLM_OK && ferror(fp))
        st = dlm_error(DLM_EIO, "%s: read error", path);
done:
    fclose(fp);
    if (st != DLM_OK) {
        dlm_tensorfile_free(f);
        return st;
    }
    *out = f;
    return DLM_OK;
}

const dlm_tf_tensor *dlm_tensorfile_find(const dlm_tensorfile *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}

size_t dlm_tf_shape_str(const dlm_tf_tensor *t, char *buf, size_t n)
{
    size_t len = 0;
    if (n) buf[0] = '\0';
    if (t->ndim == 0) return (size_t)snprintf(buf, n, "scalar");
    for (int i = 0; i < t->ndim; i++) {
        int k = snprintf(len < n ? buf + len : NULL, len < n ? n - len : 0, "%s%lld",
                         i ? "x" : "", (long long)t->dims[i]);
        if (k > 0) len += (size_t)k;
    }
    return len;
}
