/* ops_rnn.c — LSTM and GRU through cuDNN's RNN v8 API (cudnnRNNForward).
 *
 * The graph's RNN parameters (PyTorch's weight_ih_lk, weight_hh_lk, bias_ih_lk,
 * bias_hh_lk) live in cuDNN's weight space, which for these cells is exactly
 * their size: each gate's matrix and bias is copied to the address
 * cudnnGetRNNWeightParams gives (linear-layer ids 0..G-1 take the input-side
 * gates, G..2G-1 the recurrent ones; PyTorch's gate order i,f,g,o and r,z,n is
 * cuDNN's).  Per point: sequence-major data descriptors (PyTorch's (T, B, I)),
 * the inference workspace and the device array of sequence lengths, both
 * named terms.  Initial states are zeros (NULL hx, cx).
 *
 * Two equivalent ways to describe full-length sequences: packed with padded
 * I/O off (dlmem's first choice) and unpacked with padded I/O on (what
 * PyTorch's cuDNN RNN passes).  Where both have the same weight layout and the
 * unpacked one needs no more workspace, each is timed at prepare on scratch
 * buffers and the faster runs; otherwise the packed one.  Either runs in the
 * packed layout's workspace (cudnnGetRNNTempSpaceSizes, INFERENCE), so the
 * bytes never depend on the timing.  Algorithm
 * (standard), math (FMA without TF32, cuDNN's default with it), bias mode
 * (double) and input mode (linear) are PyTorch's for fp32.
 *
 * The cell is 2 x layers x T small kernels, so launching them costs as much
 * as running them.  The first pass at a point captures cudnnRNNForward into a
 * CUDA graph (the same kernels on the same buffers) and later passes replay
 * it while the cell's buffers keep their addresses; if they move, it is made
 * once more, and if capture fails (or is needed a third time) the call runs
 * directly.  Nothing is allocated by the graph: the memory is the plan's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

dlm_status rt_rnn_create(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_rnn *r = &rt->ops[o].rnn;
    int lstm = op->a.rnn.cell == DLM_RNN_LSTM;
    r->gates = lstm ? 4 : 3;
    DLM_CUDNN(cudnnCreateRNNDescriptor(&r->desc));
    DLM_CUDNN(cudnnCreateDropoutDescriptor(&r->drop));
    DLM_CUDNN(cudnnSetDropoutDescriptor(r->drop, rt->dnn, 0.0f, NULL, 0, 0));
    DLM_CUDNN(cudnnSetRNNDescriptor_v8(
        r->desc, CUDNN_RNN_ALGO_STANDARD, lstm ? CUDNN_LSTM : CUDNN_GRU,
        op->a.rnn.bias ? CUDNN_RNN_DOUBLE_BIAS : CUDNN_RNN_NO_BIAS, CUDNN_UNIDIRECTIONAL,
        CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT,
        rt->opt.tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH, op->a.rnn.input, op->a.rnn.hidden,
        op->a.rnn.hidden, op->a.rnn.layers, r->drop, CUDNN_RNN_PADDED_IO_DISABLED));
    DLM_CUDNN(cudnnCreateRNNDataDescriptor(&r->x));
    DLM_CUDNN(cudnnCreateRNNDataDescriptor(&r->y));
    DLM_CUDNN(cudnnCreateRNNDataDescriptor(&r->xu));
    DLM_CUDNN(cudnnCreateRNNDataDescriptor(&r->yu));
    DLM_CUDNN(cudnnCreateTensorDescriptor(&r->h));
    DLM_CUDNN(cudnnCreateTensorDescriptor(&r->mdesc));
    DLM_CUDNN(cudnnCreateTensorDescriptor(&r->bdesc));

    int64_t want = 0;
    for (int j = 0; j < op->n_params; j++) want += rt->t[op->params[j]].numel * 4;
    DLM_CUDNN(cudnnGetRNNWeightSpaceSize(rt->dnn, r->desc, &r->wspace_bytes));
    if ((int64_t)r->wspace_bytes != want)
        return dlm_error(DLM_EINTERNAL, "%s: cuDNN's weight space is %zu bytes, the graph's "
                         "parameters %lld", op->name, r->wspace_bytes, (long long)want);
    char what[300];
    snprintf(what, sizeof what, "%s weight space", op->name);
    DLM_TRY(dlm_devmem_alloc(&rt->mem, r->wspace_bytes, DLM_MK_WEIGHTS, what, &r->wspace));

    /* The padded-I/O twin, kept only if its weights sit where the packed
     * descriptor put them (the uploaded weights serve both). */
    DLM_CUDNN(cudnnCreateRNNDescriptor(&r->desc_pad));
    size_t pad_bytes = 0;
    int same = cudnnSetRNNDescriptor_v8(
                   r->desc_pad, CUDNN_RNN_ALGO_STANDARD, lstm ? CUDNN_LSTM : CUDNN_GRU,
                   op->a.rnn.bias ? CUDNN_RNN_DOUBLE_BIAS : CUDNN_RNN_NO_BIAS, CUDNN_UNIDIRECTIONAL,
                   CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT,
                   rt->opt.tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH, op->a.rnn.input,
                   op->a.rnn.hidden, op->a.rnn.hidden, op->a.rnn.layers, r->drop,
                   CUDNN_RNN_PADDED_IO_ENABLED) == CUDNN_STATUS_SUCCESS &&
               cudnnGetRNNWeightSpaceSize(rt->dnn, r->desc_pad, &pad_bytes) == CUDNN_STATUS_SUCCESS &&
               pad_bytes == r->wspace_bytes;
    for (int l = 0; same && l < op->a.rnn.layers; l++)
        for (int id = 0; same && id < 2 * r->gates; id++) {
            void *m0 = NULL, *b0 = NULL, *m1 = NULL, *b1 = NULL;
            same = cudnnGetRNNWeightParams(rt->dnn, r->desc, l, r->wspace_bytes, r->wspace, id,
                                           r->mdesc, &m0, r->bdesc, &b0) == CUDNN_STATUS_SUCCESS &&
                   cudnnGetRNNWeightParams(rt->dnn, r->desc_pad, l, r->wspace_bytes, r->wspace,
                                           id, r->mdesc, &m1, r->bdesc, &b1) ==
                       CUDNN_STATUS_SUCCESS &&
                   m0 == m1 && b0 == b1;
        }
    if (!same) {
        cudnnDestroyRNNDescriptor(r->desc_pad);
        r->desc_pad = NULL;
    }
    return DLM_OK;
}

/* Elements described by a tensor descriptor cuDNN filled in. */
static dlm_status desc_numel(cudnnTensorDescriptor_t d, int64_t *n)
{
    cudnnDataType_t dt;
    int nd = 0, dims[8], strides[8];
    DLM_CUDNN(cudnnGetTensorNdDescriptor(d, 8, &dt, &nd, dims, strides));
    *n = 1;
    for (int i = 0; i < nd; i++) *n *= dims[i];
    return DLM_OK;
}

dlm_status rt_rnn_upload(dlm_rt *rt, int o, int slot, const float *host)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_rnn *r = &rt->ops[o].rnn;
    int per_layer = op->a.rnn.bias ? 4 : 2, layer = slot / per_layer, kind = slot % per_layer;
    int H = op->a.rnn.hidden, in = layer == 0 ? op->a.rnn.input : H;
    int is_bias = kind >= 2, recurrent = kind % 2 == 1;
    int64_t cols = is_bias ? 1 : (recurrent ? H : in);
    for (int gte = 0; gte < r->gates; gte++) {
        void *m = NULL, *b = NULL;
        int64_t n = 0;
        DLM_CUDNN(cudnnGetRNNWeightParams(rt->dnn, r->desc, layer, r->wspace_bytes, r->wspace,
                                          gte + (recurrent ? r->gates : 0), r->mdesc, &m,
                                          r->bdesc, &b));
        void *dst = is_bias ? b : m;
        DLM_TRY(desc_numel(is_bias ? r->bdesc : r->mdesc, &n));
        if (!dst || n != H * cols)
            return dlm_error(DLM_EINTERNAL, "%s: cuDNN's layer %d gate %d %s holds %lld values, "
                             "PyTorch's %lld", op->name, layer, gte, is_bias ? "bias" : "matrix",
                             (long long)n, (long long)(H * cols));
        DLM_TRY(rt_upload_float(rt, dst, host + (int64_t)gte * H * cols, H * cols));
    }
    return DLM_OK;
}

/* Best of three timed passes of the cell with descriptors (d, x, y) on
 * scratch buffers, after one untimed. */
static dlm_status time_layout(dlm_rt *rt, int o, cudnnRNNDescriptor_t d, cudnnRNNDataDescriptor_t x,
                              cudnnRNNDataDescriptor_t y, void *const buf[4], size_t work_bytes,
                              float *best)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_rnn *r = &rt->ops[o].rnn;
    cudaEvent_t e0 = NULL, e1 = NULL;
    dlm_status st = DLM_OK;
    *best = 0;
    DLM_CUDA_GO(cudaEventCreate(&e0));
    DLM_CUDA_GO(cudaEventCreate(&e1));
    for (int i = 0; i < 4; i++) {
        float ms = 0;
        DLM_CUDA_GO(cudaEventRecord(e0, rt->stream));
        DLM_CUDNN_GO(cudnnRNNForward(rt->dnn, d, CUDNN_FWD_MODE_INFERENCE, r->seq_dev, x, buf[0],
                                     y, buf[1], r->h, NULL, buf[2], r->h, NULL,
                                     op->a.rnn.cell == DLM_RNN_LSTM ? buf[3] : NULL,
                                     r->wspace_bytes, r->wspace, work_bytes, r->work, 0, NULL));
        DLM_CUDA_GO(cudaEventRecord(e1, rt->stream));
        DLM_CUDA_GO(cudaEventSynchronize(e1));
        DLM_CUDA_GO(cudaEventElapsedTime(&ms, e0, e1));
        if (i == 1 || (i > 1 && ms < *best)) *best = ms;
    }
fail:
    if (e0) cudaEventDestroy(e0);
    if (e1) cudaEventDestroy(e1);
    return st;
}

/* Times the packed and the padded layouts (see the top of this file) and
 * sets r->padded; r->work is at least the packed layout's need. */
static dlm_status choose_layout(dlm_rt *rt, int o, size_t work_pad, float ms[2])
{
    const dlm_op *op = &rt->g->ops[o];
    rt_rnn *r = &rt->ops[o].rnn;
    const rt_tensor *x = &rt->t[op->in[0]], *y = &rt->t[op->out[0]], *h = &rt->t[op->out[1]];
    void *buf[4] = {NULL, NULL, NULL, NULL};
    size_t bytes[4] = {(size_t)x->numel * 4, (size_t)y->numel * 4, (size_t)h->numel * 4,
                       (size_t)h->numel * 4};
    dlm_status st = DLM_OK;
    for (int i = 0; i < 4; i++)
        DLM_GO(dlm_devmem_alloc(&rt->mem, bytes[i], DLM_MK_SCRATCH, "RNN layout trial", &buf[i]));
    DLM_CUDA_GO(cudaMemsetAsync(buf[0], 0, bytes[0], rt->stream));
    DLM_GO(time_layout(rt, o, r->desc, r->x, r->y, buf, r->work_bytes, &ms[0]));
    /* a cuDNN that refuses the padded layout here leaves the packed one */
    r->padded = time_layout(rt, o, r->desc_pad, r->xu, r->yu, buf, work_pad, &ms[1]) == DLM_OK &&
                ms[1] < ms[0];
fail:
    for (int i = 0; i < 4; i++)
        if (buf[i]) (void)dlm_devmem_free(&rt->mem, buf[i]);
    return st;
}

dlm_status rt_rnn_prepare(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_rnn *r = &rt->ops[o].rnn;
    const rt_tensor *x = &rt->t[op->in[0]];
    int T = (int)x->dims[0], B = (int)x->dims[1], L = op->a.rnn.layers, H = op->a.rnn.hidden;
    float pad = 0.0f;
    size_t work_pad = 0, reserve_pad = 0;
    char what[300];
    if (!rt_contiguous(x)) return dlm_error(DLM_EINTERNAL, "%s: strided input", op->name);
    free(r->seq_host);
    if (!(r->seq_host = malloc((size_t)B * sizeof *r->seq_host)))
        return dlm_error(DLM_ENOMEM, "out of memory");
    for (int i = 0; i < B; i++) r->seq_host[i] = T;
    DLM_CUDNN(cudnnSetRNNDataDescriptor(r->x, CUDNN_DATA_FLOAT,
                                        CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, T, B,
                                        op->a.rnn.input, r->seq_host, &pad));
    DLM_CUDNN(cudnnSetRNNDataDescriptor(r->y, CUDNN_DATA_FLOAT,
                                        CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, T, B, H,
                                        r->seq_host, &pad));
    int dims[3] = {L, B, H}, strides[3] = {B * H, H, 1};
    DLM_CUDNN(cudnnSetTensorNdDescriptor(r->h, CUDNN_DATA_FLOAT, 3, dims, strides));
    DLM_CUDNN(cudnnGetRNNTempSpaceSizes(rt->dnn, r->desc, CUDNN_FWD_MODE_INFERENCE, r->x,
                                        &r->work_bytes, &r->reserve_bytes));
    /* the padded twin is a candidate if it needs no more workspace */
    int twin = r->desc_pad &&
               cudnnSetRNNDataDescriptor(r->xu, CUDNN_DATA_FLOAT,
                                         CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, B,
                                         op->a.rnn.input, r->seq_host, &pad) == CUDNN_STATUS_SUCCESS &&
               cudnnSetRNNDataDescriptor(r->yu, CUDNN_DATA_FLOAT,
                                         CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, B, H,
                                         r->seq_host, &pad) == CUDNN_STATUS_SUCCESS &&
               cudnnGetRNNTempSpaceSizes(rt->dnn, r->desc_pad, CUDNN_FWD_MODE_INFERENCE, r->xu,
                                         &work_pad, &reserve_pad) == CUDNN_STATUS_SUCCESS &&
               work_pad <= r->work_bytes;
    r->padded = 0;
    if (r->work_bytes) {
        snprintf(what, sizeof what, "cudnn_rnn_workspace (%s)", op->name);
        DLM_TRY(dlm_devmem_alloc(&rt->mem, r->work_bytes, DLM_MK_WORKSPACE, what, &r->work));
    }
    r->seq_bytes = (size_t)B * sizeof(int32_t);
    snprintf(what, sizeof what, "rnn_seq_lengths (%s)", op->name);
    DLM_TRY(dlm_devmem_alloc(&rt->mem, r->seq_bytes, DLM_MK_WORKSPACE, what, (void **)&r->seq_dev));
    DLM_CUDA(cudaMemcpyAsync(r->seq_dev, r->seq_host, r->seq_bytes, cudaMemcpyHostToDevice,
                             rt->stream));
    DLM_CUDA(cudaStreamSynchronize(rt->stream));
    if (twin) {
        /* The padded twin runs in the packed layout's workspace (it needs no
         * more): the timing picks the layout, never the bytes, so the
         * workspace is cudnnGetRNNTempSpaceSizes of the packed descriptor
         * whatever is faster, and `dlmem probe` can give it exactly (logic
         * dlmem-runtime, probe_rnn.c). */
        float ms[2];
        DLM_TRY(choose_layout(rt, o, work_pad, ms));
    }
    return DLM_OK;
}

void rt_rnn_unprepare(dlm_rt *rt, int o)
{
    rt_rnn *r = &rt->ops[o].rnn;
    if (r->exec) (void)cudaGraphExecDestroy(r->exec);
    r->exec = NULL;
    r->captures = 0;
    if (r->work) (void)dlm_devmem_free(&rt->mem, r->work);
    if (r->seq_dev) (void)dlm_devmem_free(&rt->mem, r->seq_dev);
    r->work = NULL;
    r->seq_dev = NULL;
    r->work_bytes = r->seq_bytes = 0;
}

static cudnnStatus_t rnn_forward(dlm_rt *rt, int o, void *const p[4])
{
    const dlm_op *op = &rt->g->ops[o];
    rt_rnn *r = &rt->ops[o].rnn;
    return cudnnRNNForward(rt->dnn, r->padded ? r->desc_pad : r->desc, CUDNN_FWD_MODE_INFERENCE,
                           r->seq_dev, r->padded ? r->xu : r->x, p[0], r->padded ? r->yu : r->y,
                           p[1], r->h, NULL, p[2], r->h, NULL,
                           op->a.rnn.cell == DLM_RNN_LSTM ? p[3] : NULL, r->wspace_bytes,
                           r->wspace, r->work_bytes, r->work, 0, NULL);
}

/* Captures the cell on p into r->exec; 0 if the capture did not work (the
 * stream is left out of capture mode and no error is pending). */
static int capture(dlm_rt *rt, int o, void *const p[4])
{
    rt_rnn *r = &rt->ops[o].rnn;
    cudaGraph_t g = NULL;
    r->captures++;
    if (cudaStreamBeginCapture(rt->stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    cudnnStatus_t cs = rnn_forward(rt, o, p);
    cudaError_t e = cudaStreamEndCapture(rt->stream, &g);
    if (cs == CUDNN_STATUS_SUCCESS && e == cudaSuccess && g)
        e = cudaGraphInstantiate(&r->exec, g, 0);
    if (g) (void)cudaGraphDestroy(g);
    if (cs != CUDNN_STATUS_SUCCESS || e != cudaSuccess || !g) {
        if (r->exec) (void)cudaGraphExecDestroy(r->exec);
        r->exec = NULL;
        (void)cudaGetLastError();
        return 0;
    }
    memcpy(r->gptr, p, sizeof r->gptr);
    return 1;
}

dlm_status rt_rnn_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_rnn *r = &rt->ops[o].rnn;
    void *p[4] = {rt_ptr(rt, op->in[0]), rt_ptr(rt, op->out[0]), rt_ptr(rt, op->out[1]),
                  op->a.rnn.cell == DLM_RNN_LSTM ? rt_ptr(rt, op->out[2]) : NULL};
    if (r->exec && memcmp(p, r->gptr, sizeof p)) { /* the buffers moved */
        (void)cudaGraphExecDestroy(r->exec);
        r->exec = NULL;
    }
    if (r->exec || (r->captures < 2 && capture(rt, o, p))) {
        DLM_CUDA(cudaGraphLaunch(r->exec, rt->stream));
        return DLM_OK;
    }
    DLM_CUDNN(rnn_forward(rt, o, p));
    return DLM_OK;
}

void rt_rnn_destroy(dlm_rt *rt, int o)
{
    rt_rnn *r = &rt->ops[o].rnn;
    rt_rnn_unprepare(rt, o);
    if (r->wspace) (void)dlm_devmem_free(&rt->mem, r->wspace);
    if (r->x) cudnnDestroyRNNDataDescriptor(r->x);
    if (r->y) cudnnDestroyRNNDataDescriptor(r->y);
    if (r->xu) cudnnDestroyRNNDataDescriptor(r->xu);
    if (r->yu) cudnnDestroyRNNDataDescriptor(r->yu);
    if (r->desc_pad) cudnnDestroyRNNDescriptor(r->desc_pad);
    if (r->h) cudnnDestroyTensorDescriptor(r->h);
    if (r->mdesc) cudnnDestroyTensorDescriptor(r->mdesc);
    if (r->bdesc) cudnnDestroyTensorDescriptor(r->bdesc);
    if (r->desc) cudnnDestroyRNNDescriptor(r->desc);
    if (r->drop) cudnnDestroyDropoutDescriptor(r->drop);
    free(r->seq_host);
    memset(r, 0, sizeof *r);
}
