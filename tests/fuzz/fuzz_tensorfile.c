/* fuzz_tensorfile.c — the tensor-file reader (src/measure/tensorfile.h):
 * declared sizes against the file, names, counts.  A successful read must
 * hold exactly what the records declare. */
#include "fuzz.h"

#include "measure/tensorfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("x.t", data, size);
    dlm_tensorfile *f = NULL;
    dlm_status st = dlm_tensorfile_read(path, &f);
    if (st != DLM_OK) {
        fuzz_check_error(st);
        fuzz_require(f == NULL, "a file returned with an error");
        return 0;
    }
    size_t total = 16;
    for (int i = 0; i < f->n; i++) {
        const dlm_tf_tensor *t = &f->t[i];
        int64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) numel *= t->dims[d];
        fuzz_require(numel == t->numel, "numel differs from the dims");
        total += 4 + strlen(t->name) + 8 + 8 * (size_t)t->ndim + 8 +
                 (size_t)t->numel * (t->dtype == DLM_TF_F32 ? 4 : 8);
        fuzz_require(dlm_tensorfile_find(f, t->name) != NULL, "a record not found by name");
        char shape[256];
        dlm_tf_shape_str(t, shape, sizeof shape);
    }
    fuzz_require(total == size, "records do not account for the file's bytes");
    dlm_tensorfile_free(f);
    return 0;
}
