/* gpus.c — the table of known GPUs (see gpus.h for what each column means). */
#include "gpus.h"

#include <string.h>
#include <strings.h>

#define GiB (1024LL * 1024 * 1024)
#define MiB (1024LL * 1024)

/* CUDA context: 527 MiB measured on an H200 (CUDA 13.0, driver of the GPU
 * machine; shared/GPU_NOTES.md), plus the handles PyTorch creates on first
 * use (cuBLAS ~66 MiB, cuDNN ~10 MiB, same source) that live outside its
 * allocator.  Other GPUs: the same figure is assumed; it varies with driver
 * and SM count (a few hundred MiB). */
#define CTX_H200 ((527 + 66 + 10) * MiB)

static const dlm_gpu gpus[] = {
    {"rtx3050-4gb", "NVIDIA GeForce RTX 3050 Laptop 4 GB (the seed's GPU)", 4 * GiB, 86, CTX_H200,
     "nominal 4 GiB (NVIDIA spec); context as measured on H200"},
    {"t4", "NVIDIA T4 16 GB", 16 * GiB, 75, CTX_H200,
     "nominal 16 GiB (NVIDIA T4 datasheet); context as measured on H200"},
    {"a10", "NVIDIA A10 24 GB", 24 * GiB, 86, CTX_H200,
     "nominal 24 GiB (NVIDIA A10 datasheet); context as measured on H200"},
    {"l4", "NVIDIA L4 24 GB", 24 * GiB, 89, CTX_H200,
     "nominal 24 GiB (NVIDIA L4 datasheet); context as measured on H200"},
    {"a100-40gb", "NVIDIA A100 40 GB", 40 * GiB, 80, CTX_H200,
     "nominal 40 GiB (NVIDIA A100 datasheet); context as measured on H200"},
    {"a100-80gb", "NVIDIA A100 80 GB", 80 * GiB, 80, CTX_H200,
     "nominal 80 GiB (NVIDIA A100 datasheet); context as measured on H200"},
    {"h100", "NVIDIA H100 SXM5 80 GB", 80 * GiB, 90, CTX_H200,
     "nominal 80 GiB (NVIDIA H100 datasheet); context as measured on H200"},
    {"h200", "NVIDIA H200 141 GB", 150109880320LL, 90, CTX_H200,
     "total_memory of the reference H200 (data/reference/pytorch_memory.csv, gpu_memory column); "
     "context measured on H200 (GPU_NOTES.md)"},
};

static const struct { const char *alias, *name; } aliases[] = {
    {"rtx3050", "rtx3050-4gb"}, {"3050", "rtx3050-4gb"}, {"a100", "a100-80gb"},
    {"h100-80gb", "h100"}, {"h200-141gb", "h200"},
};

const dlm_gpu *dlm_gpus(int *n)
{
    *n = (int)(sizeof gpus / sizeof gpus[0]);
    return gpus;
}

dlm_status dlm_gpu_find(const char *name, const dlm_gpu **out)
{
    int n = (int)(sizeof gpus / sizeof gpus[0]);
    *out = NULL;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcasecmp(name, aliases[i].alias)) name = aliases[i].name;
    for (int i = 0; i < n; i++)
        if (!strcasecmp(name, gpus[i].name)) {
            *out = &gpus[i];
            return DLM_OK;
        }
    char list[400] = "";
    for (int i = 0; i < n; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, gpus[i].name, sizeof list - strlen(list) - 1);
    }
    return dlm_error(DLM_EINVAL, "unknown GPU '%s' (valid: %s)", name, list);
}
