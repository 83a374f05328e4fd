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
 * At the peak, weights + buffers + inputs + the five named terms +
 * activation_peak + scratch_peak = peak_bytes.
 */
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
    "cuda_driver", "cudnn", "cublas", "dlmem", "layout"};

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
