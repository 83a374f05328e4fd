/* tensorfile.h — the binary file of named tensors that tools/export_weights.py
 * writes from PyTorch and the GPU runtime reads (weights, inputs, reference
 * outputs and activations).
 *
 * Layout (little-endian), version 1:
 *     magic    8 bytes  "DLMEMTNS"
 *     version  u32      1
 *     count    u32      number of records
 *   then `count` records, each:
 *     name_len u32, name (name_len bytes, no NUL)
 *     dtype    u32      1 = float32, 2 = int64
 *     ndim     u32      0..8
 *     dims     i64[ndim]
 *     nbytes   u64      = product(dims) * element size (checked)
 *     data     nbytes bytes, row-major
 * Weights files hold the graph's parameters then its buffers, in PyTorch's
 * named_parameters() / named_buffers() order and with PyTorch's names.
 *
 * What it is not: a general container (no compression, no alignment, no
 * other dtypes: half-precision values travel as float32 and are rounded by
 * the reader of the data).
 */
#ifndef DLM_TENSORFILE_H
#define DLM_TENSORFILE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/status.h"

#define DLM_TF_MAGIC "DLMEMTNS"
#define DLM_TF_VERSION 1u
#define DLM_TF_MAX_DIMS 8

typedef enum dlm_tf_dtype { DLM_TF_F32 = 1, DLM_TF_I64 = 2 } dlm_tf_dtype;

typedef struct dlm_tf_tensor {
    char *name;
    dlm_tf_dtype dtype;
    int ndim;
    int64_t dims[DLM_TF_MAX_DIMS];
    int64_t numel;
    void *data;    /* numel float or int64_t values */
} dlm_tf_tensor;

typedef struct dlm_tensorfile {
    char *path;
    dlm_tf_tensor *t;
    int n;
} dlm_tensorfile;

/* Reads the whole file.  A wrong magic or version, a truncated record, a size
 * that does not match the dims or trailing bytes are DLM_EPARSE naming the
 * file, the record and its name; an unreadable file is DLM_EIO. */
dlm_status dlm_tensorfile_read(const char *path, dlm_tensorfile **out);
void dlm_tensorfile_free(dlm_tensorfile *f);

/* The record called `name`, or NULL. */
const dlm_tf_tensor *dlm_tensorfile_find(const dlm_tensorfile *f, const char *name);

/* "3x224x224", "scalar". */
size_t dlm_tf_shape_str(const dlm_tf_tensor *t, char *buf, size_t n);

#endif
