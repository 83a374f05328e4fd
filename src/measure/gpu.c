/* gpu.c — error reporting for CUDA/cuDNN/cuBLAS calls and device information
 * (see gpu.h). */
#include "gpu.h"

#include <cuda.h>
#include <dlfcn.h>

#include <stdio.h>
#include <string.h>

/* "cudnnConvolutionForward(h, ...)" -> "cudnnConvolutionForward". */
static void call_name(const char *call, char *buf, size_t n)
{
    size_t k = strcspn(call, "(");
    if (k >= n) k = n - 1;
    memcpy(buf, call, k);
    buf[k] = '\0';
}

dlm_status dlm_cuda_fail(cudaError_t e, const char *call, const char *file, int line)
{
    char fn[128];
    dlm_status s = DLM_EGPU;
    const char *hint = "see the CUDA documentation for this error";
    call_name(call, fn, sizeof fn);
    (void)cudaGetLastError(); /* clear a non-sticky error so later calls can go on */
    switch (e) {
    case cudaErrorMemoryAllocation:
        s = DLM_EGPUOOM;
        hint = "the GPU is out of memory: use a smaller --batch or --seq";
        break;
    case cudaErrorNoDevice:
    case cudaErrorInvalidDevice:
        s = DLM_ENOGPU;
        hint = "no CUDA GPU is visible: check nvidia-smi and CUDA_VISIBLE_DEVICES";
        break;
    case cudaErrorInsufficientDriver:
        s = DLM_ENOGPU;
        hint = "the NVIDIA driver is older than the CUDA runtime dlmem was built with";
        break;
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
        hint = "a kernel faulted (a dlmem bug): rerun under compute-sanitizer";
        break;
    default:
        break;
    }
    return dlm_error(s, "%s:%d: %s: %s (%s; %s)", file, line, fn, cudaGetErrorString(e),
                     cudaGetErrorName(e), hint);
}

dlm_status dlm_cudnn_fail(cudnnStatus_t e, const char *call, const char *file, int line)
{
    char fn[128];
    dlm_status s = DLM_EGPU;
    const char *hint = "see cudnnGetLastErrorString or CUDNN_LOGERR_DBG=1 for details";
    call_name(call, fn, sizeof fn);
    if (e == CUDNN_STATUS_ALLOC_FAILED) {
        s = DLM_EGPUOOM;
        hint = "cuDNN could not allocate memory: use a smaller --batch or --seq";
    } else if (e == CUDNN_STATUS_NOT_SUPPORTED) {
        hint = "cuDNN does not support this configuration (dtype, math mode or shape)";
    } else if (e == CUDNN_STATUS_BAD_PARAM) {
        hint = "an argument is inconsistent (a dlmem bug)";
    }
    char detail[256] = "";
    cudnnGetLastErrorString(detail, sizeof detail);
    for (char *p = detail; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return dlm_error(s, "%s:%d: %s: %s (%s)%s%s", file, line, fn, cudnnGetErrorString(e), hint,
                     detail[0] ? "; cuDNN says: " : "", detail);
}

static const char *cublas_name(cublasStatus_t e)
{
    switch (e) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    }
    return "unknown cuBLAS status";
}

dlm_status dlm_cublas_fail(cublasStatus_t e, const char *call, const char *file, int line)
{
    char fn[128];
    dlm_status s = DLM_EGPU;
    const char *hint = "see the cuBLAS documentation for this status";
    call_name(call, fn, sizeof fn);
    if (e == CUBLAS_STATUS_ALLOC_FAILED) {
        s = DLM_EGPUOOM;
        hint = "cuBLAS could not allocate memory: use a smaller --batch or --seq";
    } else if (e == CUBLAS_STATUS_INVALID_VALUE) {
        hint = "an argument is invalid (a dlmem bug: sizes or leading dimensions)";
    } else if (e == CUBLAS_STATUS_NOT_SUPPORTED) {
        hint = "cuBLAS does not support this combination of types";
    }
    return dlm_error(s, "%s:%d: %s: %s (%s)", file, line, fn, cublas_name(e), hint);
}

/* Why the CUDA runtime found no driver it can use: the runtime says
 * "insufficient driver" both when there is no NVIDIA driver at all and when it
 * is older than the runtime, so ask the driver library itself. */
static dlm_status no_driver(cudaError_t e)
{
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return dlm_error(DLM_ENOGPU, "no usable GPU: no NVIDIA driver on this machine (the "
                         "driver library libcuda.so.1 cannot be loaded; nvidia-smi should list a "
                         "GPU)");
    int drv = 0, rt = 0;
    CUresult (*get)(int *) = (CUresult(*)(int *))dlsym(lib, "cuDriverGetVersion");
    if (get) (void)get(&drv);
    (void)cudaRuntimeGetVersion(&rt);
    dlclose(lib);
    if (e == cudaErrorInsufficientDriver && drv && rt && drv < rt)
        return dlm_error(DLM_ENOGPU, "no usable GPU: the NVIDIA driver supports CUDA %d.%d, "
                         "older than the CUDA %d.%d runtime dlmem was built with (update the "
                         "driver)", drv / 1000, drv % 1000 / 10, rt / 1000, rt % 1000 / 10);
    return dlm_error(DLM_ENOGPU, "no usable GPU: %s (%s; the NVIDIA driver is there: check "
                     "nvidia-smi and CUDA_VISIBLE_DEVICES)", cudaGetErrorString(e),
                     cudaGetErrorName(e));
}

dlm_status dlm_gpu_open(int device)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return no_driver(e);
    }
    if (n <= device)
        return dlm_error(DLM_ENOGPU, "no usable GPU: %d CUDA device(s) visible, device %d asked",
                         n, device);
    DLM_CUDA(cudaSetDevice(device));
    DLM_CUDA(cudaFree(0)); /* makes the context now, so that its memory is measured apart */
    return DLM_OK;
}

/* "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release
 * Build ..." -> "580.159.04": the first word after "Kernel Module" that is
 * digits and dots. */
static int kernel_driver_version(char *buf, size_t n)
{
    FILE *f = fopen("/proc/driver/nvidia/version", "r");
    char line[512];
    int ok = 0;
    if (!f) return 0;
    if (fgets(line, sizeof line, f)) {
        char *p = strstr(line, "Kernel Module");
        char *save = NULL;
        for (char *w = p ? strtok_r(p + strlen("Kernel Module"), " \t\n", &save) : NULL; w && !ok;
             w = strtok_r(NULL, " \t\n", &save)) {
            size_t k = strspn(w, "0123456789.");
            if (k == strlen(w) && k > 2 && k < n && strchr(w, '.') && w[0] != '.') {
                memcpy(buf, w, k + 1);
                ok = 1;
            }
        }
    }
    fclose(f);
    return ok;
}

dlm_status dlm_gpu_query(int device, dlm_gpu_info *info)
{
    struct cudaDeviceProp p;
    int rt = 0, drv = 0, maj = 0, min = 0, pat = 0;
    memset(info, 0, sizeof *info);
    DLM_CUDA(cudaGetDeviceProperties(&p, device));
    snprintf(info->name, sizeof info->name, "%s", p.name);
    info->total_bytes = (int64_t)p.totalGlobalMem;
    info->sm = p.major * 10 + p.minor;
    DLM_CUDA(cudaRuntimeGetVersion(&rt));
    DLM_CUDA(cudaDriverGetVersion(&drv));
    snprintf(info->cuda, sizeof info->cuda, "%d.%d", rt / 1000, (rt % 1000) / 10);
    snprintf(info->cuda_driver, sizeof info->cuda_driver, "%d.%d", drv / 1000, (drv % 1000) / 10);
    if (!kernel_driver_version(info->driver, sizeof info->driver))
        snprintf(info->driver, sizeof info->driver, "cuda-driver-%s", info->cuda_driver);
    size_t v = cudnnGetVersion();
    snprintf(info->cudnn, sizeof info->cudnn, "%zu.%zu.%zu", v / 10000, (v % 10000) / 100,
             v % 100);
    DLM_CUBLAS(cublasGetProperty(MAJOR_VERSION, &maj));
    DLM_CUBLAS(cublasGetProperty(MINOR_VERSION, &min));
    DLM_CUBLAS(cublasGetProperty(PATCH_LEVEL, &pat));
    snprintf(info->cublas, sizeof info->cublas, "%d.%d.%d", maj, min, pat);
    return DLM_OK;
}

dlm_status dlm_gpu_used(int64_t *used)
{
    size_t free_b = 0, total = 0;
    DLM_CUDA(cudaMemGetInfo(&free_b, &total));
    *used = (int64_t)(total - free_b);
    return DLM_OK;
}
