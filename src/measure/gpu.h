/* gpu.h — checked calls into CUDA, cuDNN and cuBLAS, and what the GPU is.
 *
 * Every call into a GPU library goes through one of the macros below.  On
 * failure they record a one-line message "file:line: call: library error
 * (hint)" through dlm_error() and return a dlm_status from the calling
 * function (the _GO variants store it in `st` and jump to `fail`).  Out of
 * memory becomes DLM_EGPUOOM, a missing GPU or driver DLM_ENOGPU, anything
 * else DLM_EGPU.
 *
 * What it is not: a wrapper that hides the libraries; callers use the
 * CUDA/cuDNN/cuBLAS API directly.
 */
#ifndef DLM_GPU_H
#define DLM_GPU_H

#include <stdint.h>

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "../core/status.h"

dlm_status dlm_cuda_fail(cudaError_t e, const char *call, const char *file, int line);
dlm_status dlm_cudnn_fail(cudnnStatus_t e, const char *call, const char *file, int line);
dlm_status dlm_cublas_fail(cublasStatus_t e, const char *call, const char *file, int line);

#define DLM_CUDA(expr)                                                                  \
    do {                                                                                \
        cudaError_t dlm_e_ = (expr);                                                    \
        if (dlm_e_ != cudaSuccess) return dlm_cuda_fail(dlm_e_, #expr, __FILE__, __LINE__); \
    } while (0)
#define DLM_CUDNN(expr)                                                                 \
    do {                                                                                \
        cudnnStatus_t dlm_e_ = (expr);                                                  \
        if (dlm_e_ != CUDNN_STATUS_SUCCESS)                                             \
            return dlm_cudnn_fail(dlm_e_, #expr, __FILE__, __LINE__);                   \
    } while (0)
#define DLM_CUBLAS(expr)                                                                \
    do {                                                                                \
        cublasStatus_t dlm_e_ = (expr);                                                 \
        if (dlm_e_ != CUBLAS_STATUS_SUCCESS)                                            \
            return dlm_cublas_fail(dlm_e_, #expr, __FILE__, __LINE__);                  \
    } while (0)

/* Variants for functions that must clean up: set `st`, goto `fail`. */
#define DLM_CUDA_GO(expr)                                                               \
    do {                                                                                \
        cudaError_t dlm_e_ = (expr);                                                    \
        if (dlm_e_ != cudaSuccess) {                                                    \
            st = dlm_cuda_fail(dlm_e_, #expr, __FILE__, __LINE__);                      \
            goto fail;                                                                  \
        }                                                                               \
    } while (0)
#define DLM_CUDNN_GO(expr)                                                              \
    do {                                                                                \
        cudnnStatus_t dlm_e_ = (expr);                                                  \
        if (dlm_e_ != CUDNN_STATUS_SUCCESS) {                                           \
            st = dlm_cudnn_fail(dlm_e_, #expr, __FILE__, __LINE__);                     \
            goto fail;                                                                  \
        }                                                                               \
    } while (0)
#define DLM_CUBLAS_GO(expr)                                                             \
    do {                                                                                \
        cublasStatus_t dlm_e_ = (expr);                                                 \
        if (dlm_e_ != CUBLAS_STATUS_SUCCESS) {                                          \
            st = dlm_cublas_fail(dlm_e_, #expr, __FILE__, __LINE__);                    \
            goto fail;                                                                  \
        }                                                                               \
    } while (0)
#define DLM_GO(expr)                                                                    \
    do {                                                                                \
        st = (expr);                                                                    \
        if (st != DLM_OK) goto fail;                                                    \
    } while (0)

/* The GPU and the software versions a measurement is recorded with. */
typedef struct dlm_gpu_info {
    char name[256];          /* "NVIDIA H100 80GB HBM3" */
    int64_t total_bytes;     /* device memory */
    int sm;                  /* compute capability x10 (90) */
    char driver[64];         /* NVIDIA driver "580.159.04", else CUDA driver API version */
    char cuda[32];           /* CUDA runtime "13.0" */
    char cuda_driver[32];    /* highest CUDA the driver supports "13.0" */
    char cudnn[32];          /* "9.14.0" (the library loaded, not the header) */
    char cublas[32];         /* "13.1.0" */
} dlm_gpu_info;

/* DLM_OK if a CUDA GPU is usable (device 0 is selected and its context made);
 * DLM_ENOGPU with a one-line reason otherwise. */
dlm_status dlm_gpu_open(int device);

/* Fills `info` (needs dlm_gpu_open first). */
dlm_status dlm_gpu_query(int device, dlm_gpu_info *info);

/* Bytes in use on the device now (total - free from cudaMemGetInfo): device
 * wide, includes contexts and other processes, moves in 2 MiB steps. */
dlm_status dlm_gpu_used(int64_t *used);

#endif
