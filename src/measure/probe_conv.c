/* probe_conv.c — the convolution engine PyTorch 2.11 runs with
 * cudnn.benchmark off, and its workspace, asked of cuDNN for one conv op
 * instance: aten/src/ATen/native/cudnn/Conv_v8.cpp (run_single_conv,
 * get_configs_from_heuristics, try_configs) through the same backend-API
 * graph its cudnn-frontend calls build (conv_be.h):
 *
 *   - one node per direction: forward Y = conv(X, W); backward-data with
 *     'x' = grad_input, 'y' = grad_output, 'w' = weight; backward-filter with
 *     'x' = input, 'y' = grad_output, 'w' = grad_weight; unique ids 'x' (120),
 *     'y' (121), 'w' (119);
 *   - tensors contiguous in the suggested memory format (NCHW unless the
 *     model was converted to channels-last), strides of size-1 dimensions
 *     as fixSizeOneDimStride sets them, byte alignment getAlignment() of the
 *     data pointers (the caching allocator's blocks are 512-byte aligned:
 *     `align` of the config), the tensors' own data type, compute type
 *     float (fp16 and bf16 are promoted to float);
 *   - heuristics mode INSTANT (B when TORCH_CUDNN_USE_HEURISTIC_MODE_B is
 *     set), every config; filterEngineConfigs drops DOWN_CONVERT_INPUTS
 *     configs always and TENSOR_CORE ones for fp32 with TF32 off
 *     (deterministic off: nondeterministic ones stay);
 *   - try_configs: in order, the first config whose plan builds and whose
 *     execution succeeds (workspace: plan.getWorkspaceSize(), one transient
 *     allocation) is used; if none, the fallback list (heuristics mode
 *     FALLBACK, filtered the same way) is tried the same way; if none, the
 *     op cannot run (status none).  Errata are only applied by PyTorch when
 *     CUDNN_ERRATA_JSON_FILE names a file: probe.c refuses that case.
 *
 * A transposed convolution (nn.ConvTranspose2d: cudnn_convolution_transpose,
 * ConvShared.cpp) is the adjoint of the convolution from its output to its
 * input, with the same weight (Cin_t, Cout_t/groups, kh, kw), stride,
 * padding and dilation: its forward is that convolution's backward-data
 * graph ('x' = the transposed conv's output, 'y' = its input); its backward
 * (cudnn_convolution_transpose_backward) makes grad_input with a forward
 * graph (cudnn_convolution_transpose_backward_input: conv of grad_output)
 * and then grad_weight with the backward-filter graph
 * (cudnn_convolution_transpose_backward_weight: 'x' = grad_output, 'y' =
 * the input).  The rows keep the transposed op's own phases and key
 * (op conv_transpose2d; c = its input, o = its output).
 *
 * Executing the plan needs its tensors: scratch buffers of the op's sizes
 * (one op at a time, uninitialised: only whether cuDNN runs it matters).  A
 * config passed over because its buffers did not fit on the GPU (PyTorch
 * does the same on an out-of-memory error) would make the row depend on
 * what else holds the GPU: such a row's engine starts with "oom-skipped-",
 * and a shipped file holds none.
 */
#include <stdio.h>
#include <string.h>

#include "conv_be.h"
#include "probe_internal.h"

enum { UID_W = 'w', UID_X = 'x', UID_Y = 'y' };

/* PyTorch's fixSizeOneDimStride (aten/src/ATen/cudnn/Descriptors.h): a
 * dimension of size 1 gets the stride of the dimensions inside it. */
static void fix_size_one(const int64_t dims[4], int64_t strides[4], int nhwc)
{
    int perm[4], n = 0;
    int64_t z = 1;
    if (nhwc) perm[n++] = 1;
    for (int d = 3; d > 1; d--) perm[n++] = d;
    if (!nhwc) perm[n++] = 1;
    perm[n++] = 0;
    for (int i = 0; i < n; i++) {
        int d = perm[i];
        if (dims[d] == 1) strides[d] = z;
        else z *= dims[d];
    }
}

static void tensor_spec(dlm_be_tensor *t, const int64_t dims[4], int64_t uid, cudnnDataType_t dt,
                        int nhwc, int align)
{
    memcpy(t->dims, dims, sizeof t->dims);
    dlm_be_strides(dims, nhwc, t->strides);
    fix_size_one(t->dims, t->strides, nhwc);
    t->uid = uid;
    t->align = align;
    t->dt = dt;
}

/* Drops what filterEngineConfigs drops. */
static int pytorch_keeps(unsigned notes, dlm_probe_dtype d)
{
    if (notes & (1u << CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS)) return 0;
    if (d == DLM_PROBE_FP32 && (notes & (1u << CUDNN_NUMERICAL_NOTE_TENSOR_CORE))) return 0;
    return 1;
}

/* cuDNN could not allocate (host or device memory): not a property of the config */
static int alloc_failed(cudnnStatus_t e)
{
    return e == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
           e == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
}

static size_t numel(const int64_t d[4]) { return (size_t)(d[0] * d[1] * d[2] * d[3]); }

/* try_configs over one list: *done = 1 with the row filled if a config's
 * plan builds and runs. */
static dlm_status try_configs(dlm_probe *p, const dlm_be_conv *c, cudnnBackendDescriptor_t graph,
                              cudnnBackendHeurMode_t mode, dlm_probe_dtype d, size_t esize,
                              dlm_probe_row *r, int *done, int *tried, int *oom)
{
    cudnnBackendDescriptor_t *cfgs = NULL;
    int64_t n = 0;
    dlm_status st = DLM_OK;
    *done = 0;
    DLM_TRY(dlm_be_configs(graph, mode, &cfgs, &n));
    for (int64_t i = 0; i < n && !*done; i++) {
        int64_t engine = -1, ws = 0;
        unsigned notes = 0;
        char tag[200];
        cudnnBackendDescriptor_t plan = NULL;
        void *ptr[4] = {NULL, NULL, NULL, NULL};
        DLM_GO(dlm_be_config_info(cfgs[i], &engine, &notes, tag, sizeof tag));
        if (!pytorch_keeps(notes, d)) continue;
        (*tried)++;
        cudnnStatus_t pe = dlm_be_plan(p->dnn, cfgs[i], &plan, &ws);
        if (pe != CUDNN_STATUS_SUCCESS) {
            *oom |= alloc_failed(pe); /* the machine's memory, not the config */
            continue;
        }
        /* run it, as try_configs does: x, y, w in the variant pack's order */
        st = dlm_probe_scratch_get(p, 0, numel(c->x.dims) * esize, &ptr[0]);
        if (st == DLM_OK) st = dlm_probe_scratch_get(p, 1, numel(c->y.dims) * esize, &ptr[1]);
        if (st == DLM_OK) st = dlm_probe_scratch_get(p, 2, numel(c->w.dims) * esize, &ptr[2]);
        if (st == DLM_OK) st = dlm_probe_scratch_get(p, 3, (size_t)ws, &ptr[3]);
        if (st == DLM_EGPUOOM) { /* PyTorch's allocation fails: the next config */
            st = DLM_OK;
            *oom = 1;
            dlm_be_free(&plan);
            (void)cudaGetLastError();
            continue;
        }
        if (st != DLM_OK) {
            dlm_be_free(&plan);
            goto fail;
        }
        {
            const int64_t uids[3] = {UID_X, UID_Y, UID_W};
            cudnnStatus_t e = dlm_be_execute(p->dnn, plan, 3, uids, ptr, ptr[3]);
            cudaError_t ce = cudaDeviceSynchronize();
            dlm_be_free(&plan);
            if (ce != cudaSuccess) {
                st = dlm_cuda_fail(ce, "cudaDeviceSynchronize after a probe's conv", __FILE__,
                                   __LINE__);
                goto fail;
            }
            *oom |= alloc_failed(e);
            if (e != CUDNN_STATUS_SUCCESS) continue; /* builds but does not run */
        }
        r->workspace = ws;
        r->ok = 1;
        snprintf(r->engine, sizeof r->engine, "%s%s%s", *oom ? "oom-skipped-" : "",
                 mode == CUDNN_HEUR_MODE_FALLBACK ? "fallback-" : "", tag);
        *done = 1;
    }
fail:
    dlm_be_configs_free(cfgs, n);
    return st;
}

dlm_status dlm_probe_conv(dlm_probe *p, int o, int64_t B, dlm_probe_dtype d)
{
    const dlm_graph *g = p->c->g;
    const dlm_op *op = &g->ops[o];
    const dlm_tensor *tx = &g->tensors[op->in[0]], *ty = &g->tensors[op->out[0]];
    int transposed = op->kind == DLM_OP_CONVT2D;
    /* the weight: (cout, cin/g, kh, kw) for a conv, (cin, cout/g, kh, kw) transposed */
    int64_t xd[4], yd[4], wd[4] = {transposed ? op->a.conv.cin : op->a.conv.cout,
                                   (transposed ? op->a.conv.cout : op->a.conv.cin) /
                                       op->a.conv.groups,
                                   op->a.conv.kh, op->a.conv.kw};
    static const char *const phase[3] = {"forward", "backward_data", "backward_filter"};
    /* the cuDNN graph of each phase: a transposed conv's forward is the
     * backward-data graph and its grad_input the forward graph */
    static const dlm_be_conv_op graph_of[2][3] = {
        {DLM_BE_CONV_FWD, DLM_BE_CONV_BWD_DATA, DLM_BE_CONV_BWD_FILTER},
        {DLM_BE_CONV_BWD_DATA, DLM_BE_CONV_FWD, DLM_BE_CONV_BWD_FILTER}};
    cudnnDataType_t dt = d == DLM_PROBE_FP16   ? CUDNN_DATA_HALF
                         : d == DLM_PROBE_BF16 ? CUDNN_DATA_BFLOAT16
                                               : CUDNN_DATA_FLOAT;
    size_t esize = dt == CUDNN_DATA_FLOAT ? 4 : 2;
    int nhwc = p->c->nhwc;
    if (tx->ndim != 4 || ty->ndim != 4)
        return dlm_error(DLM_EINTERNAL, "%s: a conv2d without 4-d tensors", op->name);
    /* A depthwise convolution (groups = Cin > 1, Cout a multiple of Cin) in
     * NCHW, fp32 or bf16, never reaches cuDNN: Convolution.cpp's
     * use_cudnn_depthwise is false there (cuDNN only for fp16 and channels-
     * last), and _conv_depthwise2d needs no workspace (ops/conv.c, which asks
     * for no row then).  Nothing to ask the library. */
    if (!transposed && !nhwc && op->a.conv.groups > 1 && op->a.conv.groups == op->a.conv.cin &&
        op->a.conv.cout % op->a.conv.cin == 0 && (d == DLM_PROBE_FP32 || d == DLM_PROBE_BF16))
        return DLM_OK;
    for (int i = 0; i < 4; i++) {
        xd[i] = dlm_poly_eval(&tx->shape[i], B, 0);
        yd[i] = dlm_poly_eval(&ty->shape[i], B, 0);
    }
    for (int ph = 0; ph < 3; ph++) {
        if (ph > 0 && !p->c->train) break;
        if (ph == 0 && !p->c->infer && !p->c->train) break;
        dlm_probe_row r;
        memset(&r, 0, sizeof r);
        r.logic = "pytorch-2.11";
        r.op = transposed ? "conv_transpose2d" : "conv2d";
        r.phase = phase[ph];
        r.dtype = d;
        r.layout = nhwc ? "nhwc" : "nchw";
        snprintf(r.key, sizeof r.key,
                 "c%lldx%lldx%lld-o%lldx%lldx%lld-k%dx%d-s%dx%d-p%dx%d-d%dx%d-g%d",
                 (long long)xd[1], (long long)xd[2], (long long)xd[3], (long long)yd[1],
                 (long long)yd[2], (long long)yd[3], op->a.conv.kh, op->a.conv.kw, op->a.conv.sh,
                 op->a.conv.sw, op->a.conv.ph, op->a.conv.pw, op->a.conv.dh, op->a.conv.dw,
                 op->a.conv.groups);
        r.batch = B;
        r.seq = 0;
        if (dlm_probe_seen(p, &r)) continue;

        dlm_be_conv c = {.op = graph_of[transposed][ph],
                         .comp = CUDNN_DATA_FLOAT,
                         .pad = {op->a.conv.ph, op->a.conv.pw},
                         .stride = {op->a.conv.sh, op->a.conv.sw},
                         .dil = {op->a.conv.dh, op->a.conv.dw}};
        /* the convolution's view: 'x' the larger side of a transposed conv */
        tensor_spec(&c.x, transposed ? yd : xd, UID_X, dt, nhwc, p->c->align);
        tensor_spec(&c.y, transposed ? xd : yd, UID_Y, dt, nhwc, p->c->align);
        tensor_spec(&c.w, wd, UID_W, dt, nhwc, p->c->align);
        cudnnBackendDescriptor_t graph = NULL;
        int done = 0, tried = 0, oom = 0;
        dlm_status st = dlm_be_conv_graph(p->dnn, &c, &graph);
        if (st != DLM_OK) return st;
        st = try_configs(p, &c, graph, p->heur_mode, d, esize, &r, &done, &tried,
                         &oom);
        if (st == DLM_OK && !done)
            st = try_configs(p, &c, graph, CUDNN_HEUR_MODE_FALLBACK, d, esize, &r, &done, &tried,
                             &oom);
        dlm_be_free(&graph);
        if (st != DLM_OK) return st;
        if (!done) snprintf(r.engine, sizeof r.engine, "%snone-of-%d-configs",
                            oom ? "oom-skipped-" : "", tried);
        DLM_TRY(dlm_probe_emit(p, &r));
    }
    return DLM_OK;
}
