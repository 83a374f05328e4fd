/* columns.c — the columns of `dlmem measure`'s CSV, in order.  The names are
 * shared with the reconciler (src/reconcile/) and the analytic runtime
 * profile; a change here is a change of the file format.
 *
 *   model profile mode dtype attention tf32 batch seq status   the point
 *   before_bytes peak_bytes after_bytes peak_op                 exact bytes
 *   weights_bytes buffers_bytes inputs_bytes                    resident
 *   activation_peak_bytes scratch_peak_bytes                   at the peak
 *   cublas_workspace_bytes cudnn_conv_workspace_bytes
 *   cudnn_rnn_workspace_bytes cudnn_rnn_reserve_bytes
 *   rnn_seq_lengths_bytes                                       named terms
 *   cudnn_conv_transient_max_bytes  the largest convolution workspace allocated
 *                              around its convolution (not resident, inside
 *                              the plan's headroom: not a term of the peak)
 *   pool_used_peak_bytes pool_reserved_bytes                    CUDA pool's own
 *   untracked_bytes            device memory that grew outside the pool
 *                              during the measured pass (cudaMemGetInfo)
 *   context_bytes cudnn_handle_bytes cublas_handle_bytes        outside the pool
 *   median_ms min_ms max_ms repeat                              timing
 *   weights gpu gpu_memory_bytes sm driver cuda cuda_driver cudnn cublas dlmem
 *                                                               provenance
 *   layout                     conv nets: nchw or nhwc (channels-last); else empty
 *   set                        the knobs the graph was built with (--set), those
 *                              that differ from the model's defaults, in its knob
 *                              order: "upsample=1", "height=160;base=32"; empty for
 *                              the defaults.  ';' between items (DLM_MODEL_SET_SEP,
 *                              models.h): no CSV quoting needed.  Readers build the
 *                              model with it; a file without the column (written
 *                              before it existed) is the defaults.
 * At the peak, weights + buffers + inputs + the five named terms +
 * activation_peak + scratch_peak = peak_bytes.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"

static const char *const columns[] = {
    "model", "profile", "mode", "dtype", "attention", "tf32", "batch", "seq", "status",
    "before_bytes", "peak_bytes", "after_bytes", "peak_op", "weights_bytes", "buffers_bytes",
    "inputs_bytes", "activation_peak_bytes", "scratch_peak_bytes", "cublas_workspace_bytes",
    "cudnn_conv_workspace_bytes", "cudnn_rnn_workspace_bytes", "cudnn_rnn_reserve_bytes",
    "rnn_seq_lengths_bytes", "cudnn_conv_transient_max_bytes", "pool_used_peak_bytes", "pool_reserved_bytes", "untracked_bytes",
    "context_bytes", "cudnn_handle_bytes", "cublas_handle_bytes", "median_ms", "min_ms",
    "max_ms", "repeat", "weights", "gpu", "gpu_memory_bytes", "sm", "driver", "cuda",
    "cuda_driver", "cudnn", "cublas", "dlmem", "layout", "set"};

const char *const *dlm_measure_columns(int *n)
{
    *n = (int)(sizeof columns / sizeof columns[0]);
    return columns;
}

const char *dlm_measure_header(void)
{
    static char h[2048];
    if (!h[0])
        for (size_t i = 0; i < sizeof columns / sizeof columns[0]; i++) {
            strncat(h, i ? "," : "", sizeof h - strlen(h) - 1);
            strncat(h, columns[i], sizeof h - strlen(h) - 1);
        }
    return h;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

static int integer_column(const char *name)
{
    static const char *const ints[] = {"batch", "seq", "tf32", "repeat", "sm"};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (!strcmp(name, ints[i])) return 1;
    return ends_with(name, "_bytes");
}

dlm_status dlm_measure_row_json(dlm_json *j, const char *const *cells, int n)
{
    int ncol;
    const char *const *col = dlm_measure_columns(&ncol);
    if (n != ncol)
        return dlm_error(DLM_EINTERNAL, "measure: a row of %d cells for %d columns", n, ncol);
    dlm_json_obj_begin(j);
    for (int i = 0; i < n; i++) {
        const char *s = cells[i];
        char *end;
        dlm_json_key(j, col[i]);
        if (!*s) {
            dlm_json_null(j);
        } else if (integer_column(col[i])) {
            errno = 0;
            long long v = strtoll(s, &end, 10);
            if (*end || errno)
                return dlm_error(DLM_EPARSE, "measure: column '%s': '%s' is not an integer",
                                 col[i], s);
            dlm_json_int(j, v);
        } else if (ends_with(col[i], "_ms")) {
            errno = 0;
            double v = strtod(s, &end);
            if (*end || errno || !isfinite(v))
                return dlm_error(DLM_EPARSE, "measure: column '%s': '%s' is not a number",
                                 col[i], s);
            dlm_json_num(j, v);
        } else {
            dlm_json_str(j, s);
        }
    }
    dlm_json_obj_end(j);
    return DLM_OK;
}
