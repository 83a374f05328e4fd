/* conv_engines.c — convolution through cuDNN's graph (backend) API: the
 * engines cuDNN's heuristics offer for one forward convolution, each built
 * into an execution plan, and a plan's execution.
 *
 * Why: the legacy cudnnConvolutionForward reaches only the eight classic
 * algorithms; the graph API reaches every engine of the library (the ones
 * PyTorch runs through cudnn-frontend), among them kernels that are much
 * faster at small batches without any workspace.  ops_cudnn.c times these
 * plans beside the legacy algorithms and keeps the fastest that fits.
 *
 * The operation graph has one node, Y = conv(X, W), with tensors of unique
 * ids 1 (X), 2 (W) and 3 (Y) in the runtime's layout (NCHW, or channels-last
 * strides for NHWC) and compute in float.  Engines are filtered by the
 * runtime's math mode: exact fp32 refuses engines whose numerical notes say
 * tensor cores (TF32 on float data) or down-converted inputs.
 */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "rt_internal.h"

enum { UID_X = 1, UID_W = 2, UID_Y = 3 };

#define BE(expr) DLM_CUDNN_GO(expr)

static void be_free(cudnnBackendDescriptor_t *d)
{
    if (*d) (void)cudnnBackendDestroyDescriptor(*d);
    *d = NULL;
}

/* A finalized tensor descriptor: dims (N, C, H, W), NCHW or channels-last strides. */
static dlm_status be_tensor(cudnnBackendDescriptor_t *out, int64_t uid, cudnnDataType_t dt,
                            const int64_t dims[4], int nhwc)
{
    dlm_status st = DLM_OK;
    int64_t n = dims[0], c = dims[1], h = dims[2], w = dims[3], align = 16, strides[4];
    (void)n;
    if (nhwc) {
        strides[0] = h * w * c;
        strides[1] = 1;
        strides[2] = w * c;
        strides[3] = c;
    } else {
        strides[0] = c * h * w;
        strides[1] = h * w;
        strides[2] = w;
        strides[3] = 1;
    }
    *out = NULL;
    BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_TENSOR_DESCRIPTOR, out));
    BE(cudnnBackendSetAttribute(*out, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt));
    BE(cudnnBackendSetAttribute(*out, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims));
    BE(cudnnBackendSetAttribute(*out, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides));
    BE(cudnnBackendSetAttribute(*out, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid));
    BE(cudnnBackendSetAttribute(*out, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1,
                                &align));
    BE(cudnnBackendFinalize(*out));
    return DLM_OK;
fail:
    be_free(out);
    return st;
}

/* Does engine config `cfg` run in the runtime's math mode?  Its engine's
 * global index goes to *engine. */
static dlm_status cfg_allowed(const dlm_rt *rt, cudnnBackendDescriptor_t cfg, int *ok,
                              int64_t *engine)
{
    cudnnBackendDescriptor_t eng = NULL;
    cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
    int64_t n = 0, got = 0;
    dlm_status st = DLM_OK;
    *ok = 0;
    *engine = -1;
    BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINE_DESCRIPTOR, &eng));
    BE(cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                                &got, &eng));
    BE(cudnnBackendGetAttribute(eng, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &got,
                                engine));
    BE(cudnnBackendGetAttribute(eng, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE,
                                CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &n, notes));
    *ok = 1;
    for (int64_t i = 0; i < n && i < CUDNN_NUMERICAL_NOTE_TYPE_COUNT; i++) {
        /* exact fp32: no TF32 (tensor cores on float data), no down-conversion */
        if (rt->dt == DLM_K_F32 && rt->conv_math == CUDNN_FMA_MATH &&
            (notes[i] == CUDNN_NUMERICAL_NOTE_TENSOR_CORE ||
             notes[i] == CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS))
            *ok = 0;
    }
fail:
    be_free(&eng);
    return st;
}

dlm_status rt_convg_plans(dlm_rt *rt, int o, size_t bound, rt_conv_cand *out, int max, int *n_out)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_tensor *x = &rt->t[op->in[0]], *y = &rt->t[op->out[0]];
    cudnnBackendDescriptor_t tx = NULL, tw = NULL, ty = NULL, conv = NULL, node = NULL,
                             graph = NULL, heur = NULL, *cfgs = NULL;
    int64_t n_cfg = 0, got = 0;
    dlm_status st = DLM_OK;
    cudnnDataType_t dt = rt->cudnn_dt, comp = CUDNN_DATA_FLOAT;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    cudnnHandle_t h = rt->dnn;
    cudnnBackendHeurMode_t hm = CUDNN_HEUR_MODE_A;
    int64_t two = 2, pad[2] = {op->a.conv.ph, op->a.conv.pw},
            stride[2] = {op->a.conv.sh, op->a.conv.sw}, dil[2] = {op->a.conv.dh, op->a.conv.dw};
    int64_t wd[4] = {op->a.conv.cout, op->a.conv.cin, op->a.conv.kh, op->a.conv.kw};
    float alpha = 1.0f, beta = 0.0f;
    *n_out = 0;
    if (op->a.conv.groups != 1) return DLM_OK; /* the legacy API runs grouped convs */

    DLM_GO(be_tensor(&tx, UID_X, dt, x->dims, rt->nhwc));
    DLM_GO(be_tensor(&tw, UID_W, dt, wd, rt->nhwc));
    DLM_GO(be_tensor(&ty, UID_Y, dt, y->dims, rt->nhwc));
    BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, &conv));
    BE(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1,
                                &comp));
    BE(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_CONV_MODE,
                                CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode));
    BE(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1,
                                &two));
    BE(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2,
                                pad));
    BE(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2,
                                pad));
    BE(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dil));
    BE(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2,
                                stride));
    BE(cudnnBackendFinalize(conv));

    BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR, &node));
    BE(cudnnBackendSetAttribute(node, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,
                                CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &tx));
    BE(cudnnBackendSetAttribute(node, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
                                CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &tw));
    BE(cudnnBackendSetAttribute(node, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y,
                                CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &ty));
    BE(cudnnBackendSetAttribute(node, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
                                CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv));
    BE(cudnnBackendSetAttribute(node, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA,
                                CUDNN_TYPE_FLOAT, 1, &alpha));
    BE(cudnnBackendSetAttribute(node, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA,
                                CUDNN_TYPE_FLOAT, 1, &beta));
    BE(cudnnBackendFinalize(node));

    BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, &graph));
    BE(cudnnBackendSetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS,
                                CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &node));
    BE(cudnnBackendSetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1,
                                &h));
    BE(cudnnBackendFinalize(graph));

    BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, &heur));
    BE(cudnnBackendSetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH,
                                CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph));
    BE(cudnnBackendSetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &hm));
    BE(cudnnBackendFinalize(heur));
    BE(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &n_cfg, NULL));
    if (n_cfg > 0) {
        cfgs = calloc((size_t)n_cfg, sizeof *cfgs);
        if (!cfgs) {
            st = dlm_error(DLM_ENOMEM, "out of memory");
            goto fail;
        }
        for (int64_t i = 0; i < n_cfg; i++)
            BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, &cfgs[i]));
        BE(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                    CUDNN_TYPE_BACKEND_DESCRIPTOR, n_cfg, &got, cfgs));
        if (got < n_cfg) n_cfg = got;
    }
    /* Build plans, best ranked first, until `max` fit the mode and the bound.
     * A config cuDNN cannot finalize for these shapes is passed over. */
    for (int64_t i = 0; i < n_cfg && *n_out < max; i++) {
        int ok = 0;
        int64_t engine = -1, ws = 0;
        cudnnBackendDescriptor_t plan = NULL;
        DLM_GO(cfg_allowed(rt, cfgs[i], &ok, &engine));
        if (!ok) continue;
        BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, &plan));
        if (cudnnBackendSetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1,
                                     &h) != CUDNN_STATUS_SUCCESS ||
            cudnnBackendSetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
                                     CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cfgs[i]) !=
                CUDNN_STATUS_SUCCESS ||
            cudnnBackendFinalize(plan) != CUDNN_STATUS_SUCCESS ||
            cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                     CUDNN_TYPE_INT64, 1, &got, &ws) != CUDNN_STATUS_SUCCESS ||
            ws < 0 || (size_t)ws > bound) {
            be_free(&plan);
            continue;
        }
        rt_conv_cand *c = &out[(*n_out)++];
        memset(c, 0, sizeof *c);
        c->plan = plan;
        c->engine = engine;
        c->ws = (size_t)ws;
        c->rank = (int)i;
        c->of = (int)n_cfg;
    }
fail:
    for (int64_t i = 0; cfgs && i < n_cfg; i++) be_free(&cfgs[i]);
    free(cfgs);
    be_free(&heur);
    be_free(&graph);
    be_free(&node);
    be_free(&conv);
    be_free(&ty);
    be_free(&tw);
    be_free(&tx);
    if (st != DLM_OK) {
        for (int i = 0; i < *n_out; i++) be_free(&out[i].plan);
        *n_out = 0;
    }
    return st;
}

dlm_status rt_convg_run(dlm_rt *rt, cudnnBackendDescriptor_t plan, void *x, const void *w, void *y,
                        void *ws)
{
    cudnnBackendDescriptor_t vp = NULL;
    dlm_status st = DLM_OK;
    int64_t uids[3] = {UID_X, UID_W, UID_Y};
    void *ptrs[3] = {x, (void *)w, y};
    for (int i = 0; i < 3; i++)
        if ((uintptr_t)ptrs[i] % 16)
            return dlm_error(DLM_EINTERNAL, "a convolution tensor at %p is not 16-byte aligned",
                             ptrs[i]);
    BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &vp));
    BE(cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids));
    BE(cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3,
                                ptrs));
    BE(cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws));
    BE(cudnnBackendFinalize(vp));
    BE(cudnnBackendExecute(rt->dnn, plan, vp));
fail:
    be_free(&vp);
    return st;
}

void rt_convg_free(cudnnBackendDescriptor_t *plan) { be_free(plan); }
