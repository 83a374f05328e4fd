/* gpus.c — the table of known GPUs (see gpus.h for what each column means). */
#include "gpus.h"

#include <stdio.h>
#include <string.h>

#define GiB (1024LL * 1024 * 1024)
#define MiB (1024LL * 1024)

/* CUDA context: 527 MiB measured on an H200 (CUDA 13.0, driver of the GPU
 * machine; shared/GPU_NOTES.md), plus the handles PyTorch creates on first
 * use (cuBLAS ~66 MiB, cuDNN ~10 MiB, same source) that live outside its
 * allocator.  Other architectures: not measured; the same figure is used as
 * an estimate (it varies with driver, SM count and architecture by a few
 * hundred MiB) and every output says so (context_measured = 0). */
#define CTX_H200 ((527 + 66 + 10) * MiB)
#define EST "; CUDA context: estimate (the sm_90 measurement)"

static const dlm_gpu gpus[] = {
    {"rtx3050-4gb", "NVIDIA GeForce RTX 3050 Laptop 4 GB (the seed's GPU)", 4 * GiB, 86, CTX_H200,
     "nominal 4 GiB (NVIDIA spec; nvidia-smi reports somewhat less)" EST, 0},
    {"rtx3060-12gb", "NVIDIA GeForce RTX 3060 12 GB", 12288 * MiB, 86, CTX_H200,
     "nvidia-smi total 12288 MiB (geerlingguy/raspberry-pi-pcie-devices#790)" EST, 0},
    {"rtx3090", "NVIDIA GeForce RTX 3090 24 GB", 24576 * MiB, 86, CTX_H200,
     "nvidia-smi total 24576 MiB (noonghunna/club-3090#1127)" EST, 0},
    {"rtx4060ti-16gb", "NVIDIA GeForce RTX 4060 Ti 16 GB", 16 * GiB, 89, CTX_H200,
     "nominal 16 GiB (NVIDIA spec; nvidia-smi reports somewhat less, not verified)" EST, 0},
    {"rtx4070", "NVIDIA GeForce RTX 4070 12 GB", 12 * GiB, 89, CTX_H200,
     "nominal 12 GiB (NVIDIA spec; nvidia-smi reports somewhat less, not verified)" EST, 0},
    {"rtx4080", "NVIDIA GeForce RTX 4080 16 GB", 16 * GiB, 89, CTX_H200,
     "nominal 16 GiB (NVIDIA spec; nvidia-smi reports somewhat less, not verified)" EST, 0},
    {"rtx4090", "NVIDIA GeForce RTX 4090 24 GB", 24564 * MiB, 89, CTX_H200,
     "nvidia-smi total 24564 MiB (RLinf/RLinf#255, vllm-project/vllm#7553)" EST, 0},
    {"rtx5090", "NVIDIA GeForce RTX 5090 32 GB", 32607 * MiB, 120, CTX_H200,
     "nvidia-smi total 32607 MiB (noonghunna/club-3090#617)" EST, 0},
    {"t4", "NVIDIA T4 16 GB", 15360 * MiB, 75, CTX_H200,
     "nvidia-smi total 15360 MiB (modal-labs/modal-client#2797)" EST, 0},
    {"a10", "NVIDIA A10 24 GB", 23028 * MiB, 86, CTX_H200,
     "nvidia-smi total 23028 MiB (NVML total 24146608128 B, mayooot/detect-gpu#3)" EST, 0},
    {"a10g", "NVIDIA A10G 24 GB (AWS g5)", 23028 * MiB, 86, CTX_H200,
     "nvidia-smi total 23028 MiB (NVIDIA/DCGM#232)" EST, 0},
    {"l4", "NVIDIA L4 24 GB", 23034 * MiB, 89, CTX_H200,
     "nvidia-smi total 23034 MiB (modal-labs/modal-client#2797)" EST, 0},
    {"l40s", "NVIDIA L40S 48 GB", 46068 * MiB, 89, CTX_H200,
     "nvidia-smi total 46068 MiB (modal-labs/modal-client#2797)" EST, 0},
    {"a100-40gb", "NVIDIA A100 40 GB", 40960 * MiB, 80, CTX_H200,
     "nvidia-smi total 40960 MiB (modal-labs/modal-client#2797)" EST, 0},
    {"a100-80gb", "NVIDIA A100 80 GB", 81920 * MiB, 80, CTX_H200,
     "nvidia-smi total 81920 MiB (NVIDIA/mig-parted#31, modal-labs/modal-client#2797)" EST, 0},
    {"h100-pcie", "NVIDIA H100 PCIe 80 GB", 80 * GiB, 90, CTX_H200,
     "nominal 80 GiB (NVIDIA spec; nvidia-smi reports somewhat less, not verified); CUDA "
     "context measured on sm_90 (H200)", 1},
    {"h100", "NVIDIA H100 80GB HBM3 (SXM)", 81559 * MiB, 90, CTX_H200,
     "nvidia-smi total 81559 MiB on the GPU machine's H100 80GB HBM3 (also NVIDIA/nccl#1264); "
     "CUDA context measured on sm_90 (H200)", 1},
    {"h200", "NVIDIA H200 141 GB", 150109880320LL, 90, CTX_H200,
     "total_memory of the reference H200 (data/reference/pytorch_memory.csv, gpu_memory column); "
     "CUDA context measured on H200 (GPU_NOTES.md)", 1},
};

const char *dlm_gpu_context_note(const dlm_gpu *g, char *buf, unsigned long n)
{
    if (g->context_measured)
        snprintf(buf, n, "measured on an H200, sm_90");
    else
        snprintf(buf, n, "estimate: the sm_90 (H200) measurement, not measured on sm_%d", g->sm);
    return buf;
}

/* Other spellings, compared after normalising (see norm()). */
static const struct { const char *alias, *name; } aliases[] = {
    {"rtx3050", "rtx3050-4gb"}, {"3050", "rtx3050-4gb"}, {"rtx30504gb", "rtx3050-4gb"},
    {"rtx3050laptop", "rtx3050-4gb"}, {"a100", "a100-80gb"}, {"h10080gb", "h100"},
    {"h10080gbhbm3", "h100"}, {"h100sxm", "h100"}, {"h100sxm5", "h100"}, {"h200141gb", "h200"},
    {"t416gb", "t4"}, {"rtx3060", "rtx3060-12gb"}, {"3060", "rtx3060-12gb"}, {"3090", "rtx3090"},
    {"rtx4060ti", "rtx4060ti-16gb"}, {"4060ti16gb", "rtx4060ti-16gb"}, {"4070", "rtx4070"},
    {"4080", "rtx4080"}, {"4090", "rtx4090"}, {"5090", "rtx5090"}, {"h100pcie80gb", "h100-pcie"},
    {"a10080gb", "a100-80gb"}, {"a10040gb", "a100-40gb"}, {"l40s48gb", "l40s"},
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
