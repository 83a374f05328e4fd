/* devmem.c — the runtime's tracking allocator (see devmem.h). */
#include "devmem.h"

#include <stdlib.h>
#include <string.h>

#include "gpu.h"

const char *dlm_mem_kind_name(dlm_mem_kind k)
{
    static const char *n[DLM_MK_COUNT] = {"weights", "buffers", "inputs", "workspace",
                                          "activations", "scratch"};
    return (int)k >= 0 && k < DLM_MK_COUNT ? n[k] : "?";
}

dlm_status dlm_devmem_init(dlm_devmem *m, int device, cudaStream_t stream, int64_t limit)
{
    struct cudaMemPoolProps props;
    memset(m, 0, sizeof *m);
    m->stream = stream;
    m->limit = limit;
    m->op = m->peak_op = -1;
    memset(&props, 0, sizeof props);
    props.allocType = cudaMemAllocationTypePinned;
    props.handleTypes = cudaMemHandleTypeNone;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = device;
    DLM_CUDA(cudaMemPoolCreate(&m->pool, &props));
    /* Keep freed memory in the pool: no trips to the driver inside a run. */
    uint64_t keep = UINT64_MAX;
    DLM_CUDA(cudaMemPoolSetAttribute(m->pool, cudaMemPoolAttrReleaseThreshold, &keep));
    return DLM_OK;
}

void dlm_devmem_destroy(dlm_devmem *m)
{
    if (!m->pool) return;
    for (int i = 0; i < m->n_live; i++) (void)cudaFreeAsync(m->live[i].ptr, m->stream);
    (void)cudaStreamSynchronize(m->stream);
    (void)cudaMemPoolDestroy(m->pool);
    free(m->live);
    memset(m, 0, sizeof *m);
}

dlm_status dlm_devmem_alloc(dlm_devmem *m, size_t bytes, dlm_mem_kind kind, const char *what,
                            void **ptr)
{
    *ptr = NULL;
    if (bytes == 0) return dlm_error(DLM_EINTERNAL, "allocating 0 bytes for %s", what);
    if (m->limit && m->cur + (int64_t)bytes > m->limit)
        return dlm_error(DLM_EGPUOOM, "out of GPU memory allocating %zu bytes for %s: %lld of "
                         "the %lld-byte limit in use", bytes, what, (long long)m->cur,
                         (long long)m->limit);
    if (m->n_live == m->cap_live) {
        int nc = m->cap_live ? 2 * m->cap_live : 256;
        dlm_devmem_block *p = realloc(m->live, (size_t)nc * sizeof *p);
        if (!p) return dlm_error(DLM_ENOMEM, "out of memory");
        m->live = p;
        m->cap_live = nc;
    }
    cudaError_t e = cudaMallocFromPoolAsync(ptr, bytes, m->pool, m->stream);
    if (e != cudaSuccess) {
        dlm_status st = dlm_cuda_fail(e, "cudaMallocFromPoolAsync", __FILE__, __LINE__);
        return dlm_error_context(st, "allocating %zu bytes for %s", bytes, what);
    }
    m->live[m->n_live++] = (dlm_devmem_block){*ptr, bytes, kind};
    m->cur += (int64_t)bytes;
    m->by_kind[kind] += (int64_t)bytes;
    if (m->cur > m->peak) {
        m->peak = m->cur;
        m->peak_op = m->op;
        memcpy(m->peak_by_kind, m->by_kind, sizeof m->by_kind);
    }
    return DLM_OK;
}

dlm_status dlm_devmem_free(dlm_devmem *m, void *ptr)
{
    if (!ptr) return DLM_OK;
    for (int i = m->n_live - 1; i >= 0; i--) {
        if (m->live[i].ptr != ptr) continue;
        dlm_devmem_block b = m->live[i];
        m->live[i] = m->live[--m->n_live];
        m->cur -= (int64_t)b.bytes;
        m->by_kind[b.kind] -= (int64_t)b.bytes;
        DLM_CUDA(cudaFreeAsync(ptr, m->stream));
        return DLM_OK;
    }
    return dlm_error(DLM_EINTERNAL, "freeing device address %p that the allocator never gave",
                     ptr);
}

dlm_status dlm_devmem_reset_peak(dlm_devmem *m)
{
    uint64_t zero = 0;
    m->peak = m->cur;
    m->peak_op = m->op;
    memcpy(m->peak_by_kind, m->by_kind, sizeof m->by_kind);
    DLM_CUDA(cudaStreamSynchronize(m->stream));
    DLM_CUDA(cudaMemPoolSetAttribute(m->pool, cudaMemPoolAttrUsedMemHigh, &zero));
    return DLM_OK;
}

dlm_status dlm_devmem_pool_stats(dlm_devmem *m, int64_t *used_high, int64_t *reserved)
{
    uint64_t u = 0, r = 0;
    DLM_CUDA(cudaStreamSynchronize(m->stream));
    DLM_CUDA(cudaMemPoolGetAttribute(m->pool, cudaMemPoolAttrUsedMemHigh, &u));
    DLM_CUDA(cudaMemPoolGetAttribute(m->pool, cudaMemPoolAttrReservedMemCurrent, &r));
    *used_high = (int64_t)u;
    *reserved = (int64_t)r;
    return DLM_OK;
}
