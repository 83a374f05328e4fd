/* gpus.c — the table of known GPUs (see gpus.h for what each column means). */
#include "gpus.h"

#include <string.h>

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
    {"h100", "NVIDIA H100 80GB HBM3", 81559 * MiB, 90, CTX_H200,
     "81,559 MiB as nvidia-smi reports it on the GPU machine's H100 80GB HBM3; context as "
     "measured on H200"},
    {"h200", "NVIDIA H200 141 GB", 150109880320LL, 90, CTX_H200,
     "total_memory of the reference H200 (data/reference/pytorch_memory.csv, gpu_memory column); "
     "context measured on H200 (GPU_NOTES.md)"},
};

/* Other spellings, compared after normalising (see norm()). */
static const struct { const char *alias, *name; } aliases[] = {
    {"rtx3050", "rtx3050-4gb"}, {"3050", "rtx3050-4gb"}, {"rtx30504gb", "rtx3050-4gb"},
    {"rtx3050laptop", "rtx3050-4gb"}, {"a100", "a100-80gb"}, {"h10080gb", "h100"},
    {"h10080gbhbm3", "h100"}, {"h100sxm", "h100"}, {"h200141gb", "h200"}, {"t416gb", "t4"},
};

/* Lower case, letters and digits only, without a leading "nvidia" or "geforce":
 * "NVIDIA GeForce RTX 3050" and "rtx-3050" both become "rtx3050". */
static void norm(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (; *s && k + 1 < n; s++)
        if ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')) out[k++] = *s;
        else if (*s >= 'A' && *s <= 'Z') out[k++] = (char)(*s - 'A' + 'a');
    out[k] = '\0';
    for (const char *pre = "nvidia"; pre; pre = strcmp(pre, "nvidia") ? NULL : "geforce") {
        size_t p = strlen(pre);
        if (!strncmp(out, pre, p)) memmove(out, out + p, strlen(out + p) + 1);
    }
}

const dlm_gpu *dlm_gpus(int *n)
{
    *n = (int)(sizeof gpus / sizeof gpus[0]);
    return gpus;
}

dlm_status dlm_gpu_find(const char *name, const dlm_gpu **out)
{
    int n = (int)(sizeof gpus / sizeof gpus[0]);
    char want[128], have[128];
    const char *given = name;
    *out = NULL;
    norm(name, want, sizeof want);
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(want, aliases[i].alias)) norm(aliases[i].name, want, sizeof want);
    for (int i = 0; i < n; i++) {
        norm(gpus[i].name, have, sizeof have);
        if (!strcmp(want, have)) {
            *out = &gpus[i];
            return DLM_OK;
        }
    }
    name = given;
    char list[400] = "";
    for (int i = 0; i < n; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, gpus[i].name, sizeof list - strlen(list) - 1);
    }
    return dlm_error(DLM_EINVAL, "unknown GPU '%s' (valid: %s)", name, list);
}
