/* ops_rnn.c — LSTM and GRU through cuDNN's RNN v8 API (cudnnRNNForward).
 *
 * The graph's RNN parameters (PyTorch's weight_ih_lk, weight_hh_lk, bias_ih_lk,
 * bias_hh_lk) live in cuDNN's weight space, which for these cells is exactly
 * their size: each gate's matrix and bias is copied to the address
 * cudnnGetRNNWeightParams gives (linear-layer ids 0..G-1 take the input-side
 * gates, G..2G-1 the recurrent ones; PyTorch's gate order i,f,g,o and r,z,n is
 * cuDNN's).  Per point: packed sequence-major data descriptors (PyTorch's
 * (T, B, I)), the inference workspace and the device array of sequence
 * lengths, both named terms.  Initial states are zeros (NULL hx, cx).
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

dlm_status rt_rnn_prepare(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_rnn *r = &rt->ops[o].rnn;
    const rt_tensor *x = &rt->t[op->in[0]];
    int T = (int)x->dims[0], B = (int)x->dims[1], L = op->a.rnn.layers, H = op->a.rnn.hidden;
    float pad = 0.0f;
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
    return DLM_OK;
}

void rt_rnn_unprepare(dlm_rt *rt, int o)
{
    rt_rnn *r = &rt->ops[o].rnn;
    if (r->work) (void)dlm_devmem_free(&rt->mem, r->work);
    if (r->seq_dev) (void)dlm_devmem_free(&rt->mem, r->seq_dev);
    r->work = NULL;
    r->seq_dev = NULL;
    r->work_bytes = r->seq_bytes = 0;
}

dlm_status rt_rnn_run(dlm_rt *rt, int o)
{
    const dlm_op *op = &rt->g->ops[o];
    rt_rnn *r = &rt->ops[o].rnn;
    int lstm = op->a.rnn.cell == DLM_RNN_LSTM;
    DLM_CUDNN(cudnnRNNForward(rt->dnn, r->desc, CUDNN_FWD_MODE_INFERENCE, r->seq_dev, r->x,
                              rt_ptr(rt, op->in[0]), r->y, rt_ptr(rt, op->out[0]), r->h, NULL,
                              rt_ptr(rt, op->out[1]), r->h, NULL,
                              lstm ? rt_ptr(rt, op->out[2]) : NULL, r->wspace_bytes, r->wspace,
                              r->work_bytes, r->work, 0, NULL));
    return DLM_OK;
}

void rt_rnn_destroy(dlm_rt *rt, int o)
{
    rt_rnn *r = &rt->ops[o].rnn;
    rt_rnn_unprepare(rt, o);
    if (r->wspace) (void)dlm_devmem_free(&rt->mem, r->wspace);
    if (r->x) cudnnDestroyRNNDataDescriptor(r->x);
    if (r->y) cudnnDestroyRNNDataDescriptor(r->y);
    if (r->h) cudnnDestroyTensorDescriptor(r->h);
    if (r->mdesc) cudnnDestroyTensorDescriptor(r->mdesc);
    if (r->bdesc) cudnnDestroyTensorDescriptor(r->bdesc);
    if (r->desc) cudnnDestroyRNNDescriptor(r->desc);
    if (r->drop) cudnnDestroyDropoutDescriptor(r->drop);
    free(r->seq_host);
    memset(r, 0, sizeof *r);
}
