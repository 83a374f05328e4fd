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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_be.h"
#include "kernels.h"
#include "rt_internal.h"

enum { UID_X = 1, UID_W = 2, UID_Y = 3 };

#define BE(expr) DLM_CUDNN_GO(expr)

void dlm_be_free(cudnnBackendDescriptor_t *d)
{
    if (*d) (void)cudnnBackendDestroyDescriptor(*d);
    *d = NULL;
}

void dlm_be_strides(const int64_t dims[4], int nhwc, int64_t strides[4])
{
    int64_t c = dims[1], h = dims[2], w = dims[3];
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
}

/* A finalized tensor descriptor. */
static dlm_status be_tensor(cudnnBackendDescriptor_t *out, const dlm_be_tensor *t)
{
    dlm_status st = DLM_OK;
    *out = NULL;
    BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_TENSOR_DESCRIPTOR, out));
    BE(cudnnBackendSetAttribute(*out, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &t->dt));
    BE(cudnnBackendSetAttribute(*out, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, t->dims));
    BE(cudnnBackendSetAttribute(*out, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, t->strides));
    BE(cudnnBackendSetAttribute(*out, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &t->uid));
    BE(cudnnBackendSetAttribute(*out, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1,
                                &t->align));
    BE(cudnnBackendFinalize(*out));
    return DLM_OK;
fail:
    dlm_be_free(out);
    return st;
}

dlm_status dlm_be_conv_graph(cudnnHandle_t h, const dlm_be_conv *c, cudnnBackendDescriptor_t *graph)
{
    static const cudnnBackendDescriptorType_t kind[3] = {
        CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR,
        CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR,
        CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR};
    /* attribute ids per direction: x side, w side, y side, conv, alpha, beta */
    static const cudnnBackendAttributeName_t at[3][6] = {
        {CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
         CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
         CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA},
        {CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA},
        {CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA,
         CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA}};
    cudnnBackendDescriptor_t tx = NULL, tw = NULL, ty = NULL, conv = NULL, node = NULL;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    int64_t two = 2;
    float alpha = 1.0f, beta = 0.0f;
    dlm_status st = DLM_OK;
    int d = (int)c->op;
    *graph = NULL;
    if (d < 0 || d > 2) return dlm_error(DLM_EINTERNAL, "conv graph: direction %d", d);
    DLM_GO(be_tensor(&tx, &c->x));
    DLM_GO(be_tensor(&tw, &c->w));
    DLM_GO(be_tensor(&ty, &c->y));
    BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, &conv));
    BE(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1,
                                &c->comp));
    BE(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_CONV_MODE,
                                CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode));
    BE(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1,
                                &two));
    BE(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2,
                                c->pad));
    BE(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2,
                                c->pad));
    BE(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2,
                                c->dil));
    BE(cudnnBackendSetAttribute(conv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2,
                                c->stride));
    BE(cudnnBackendFinalize(conv));

    BE(cudnnBackendCreateDescriptor(kind[d], &node));
    BE(cudnnBackendSetAttribute(node, at[d][0], CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &tx));
    BE(cudnnBackendSetAttribute(node, at[d][1], CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &tw));
    BE(cudnnBackendSetAttribute(node, at[d][2], CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &ty));
    BE(cudnnBackendSetAttribute(node, at[d][3], CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv));
    BE(cudnnBackendSetAttribute(node, at[d][4], CUDNN_TYPE_FLOAT, 1, &alpha));
    BE(cudnnBackendSetAttribute(node, at[d][5], CUDNN_TYPE_FLOAT, 1, &beta));
    BE(cudnnBackendFinalize(node));

    BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, graph));
    BE(cudnnBackendSetAttribute(*graph, CUDNN_ATTR_OPERATIONGRAPH_OPS,
                                CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &node));
    BE(cudnnBackendSetAttribute(*graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1,
                                &h));
    BE(cudnnBackendFinalize(*graph));
fail:
    if (st != DLM_OK) dlm_be_free(graph);
    dlm_be_free(&node);
    dlm_be_free(&conv);
    dlm_be_free(&ty);
    dlm_be_free(&tw);
    dlm_be_free(&tx);
    return st;
}

void dlm_be_configs_free(cudnnBackendDescriptor_t *cfgs, int64_t n)
{
    for (int64_t i = 0; cfgs && i < n; i++) dlm_be_free(&cfgs[i]);
    free(cfgs);
}

dlm_status dlm_be_configs(cudnnBackendDescriptor_t graph, cudnnBackendHeurMode_t mode,
                          cudnnBackendDescriptor_t **out, int64_t *n_out)
{
    cudnnBackendDescriptor_t heur = NULL, *cfgs = NULL;
    int64_t n = 0, got = 0;
    dlm_status st = DLM_OK;
    *out = NULL;
    *n_out = 0;
    BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, &heur));
    BE(cudnnBackendSetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH,
                                CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph));
    BE(cudnnBackendSetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode));
    BE(cudnnBackendFinalize(heur));
    BE(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &n, NULL));
    if (n > 0) {
        cfgs = calloc((size_t)n, sizeof *cfgs);
        if (!cfgs) {
            st = dlm_error(DLM_ENOMEM, "out of memory");
            goto fail;
        }
        for (int64_t i = 0; i < n; i++)
            BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, &cfgs[i]));
        BE(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                    CUDNN_TYPE_BACKEND_DESCRIPTOR, n, &got, cfgs));
        for (int64_t i = got; i < n; i++) dlm_be_free(&cfgs[i]);
        if (got < n) n = got;
    }
    *out = cfgs;
    *n_out = n;
    cfgs = NULL;
fail:
    if (cfgs) dlm_be_configs_free(cfgs, n);
    dlm_be_free(&heur);
    return st;
}

dlm_status dlm_be_config_info(cudnnBackendDescriptor_t cfg, int64_t *engine, unsigned *mask,
                              char *tag, size_t tag_size)
{
    cudnnBackendDescriptor_t eng = NULL, knobs[CUDNN_KNOB_TYPE_COUNTS];
    cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
    int64_t n = 0, got = 0, n_knobs = 0;
    dlm_status st = DLM_OK;
    memset(knobs, 0, sizeof knobs);
    *engine = -1;
    *mask = 0;
    BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINE_DESCRIPTOR, &eng));
    BE(cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                                &got, &eng));
    BE(cudnnBackendGetAttribute(eng, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &got,
                                engine));
    BE(cudnnBackendGetAttribute(eng, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE,
                                CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &n, notes));
    for (int64_t i = 0; i < n && i < CUDNN_NUMERICAL_NOTE_TYPE_COUNT; i++)
        if ((int)notes[i] >= 0 && (int)notes[i] < 32) *mask |= 1u << (int)notes[i];
    if (tag && tag_size) {
        size_t len = (size_t)snprintf(tag, tag_size, "eng%lld{", (long long)*engine);
        for (int i = 0; i < CUDNN_KNOB_TYPE_COUNTS; i++)
            BE(cudnnBackendCreateDescriptor(CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR, &knobs[i]));
        BE(cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_KNOB_CHOICES,
                                    CUDNN_TYPE_BACKEND_DESCRIPTOR, CUDNN_KNOB_TYPE_COUNTS, &n_knobs,
                                    knobs));
        for (int64_t i = 0; i < n_knobs && i < CUDNN_KNOB_TYPE_COUNTS; i++) {
            cudnnBackendKnobType_t type;
            int64_t value = 0;
            BE(cudnnBackendGetAttribute(knobs[i], CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE,
                                        CUDNN_TYPE_KNOB_TYPE, 1, &got, &type));
            BE(cudnnBackendGetAttribute(knobs[i], CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE,
                                        CUDNN_TYPE_INT64, 1, &got, &value));
            if (len < tag_size)
                len += (size_t)snprintf(tag + len, tag_size - len, "%sk%d=%lld", i ? ";" : "",
                                        (int)type, (long long)value);
        }
        if (len < tag_size) snprintf(tag + len, tag_size - len, "}");
    }
fail:
    for (int i = 0; i < CUDNN_KNOB_TYPE_COUNTS; i++) dlm_be_free(&knobs[i]);
    dlm_be_free(&eng);
    return st;
}

cudnnStatus_t dlm_be_plan(cudnnHandle_t h, cudnnBackendDescriptor_t cfg,
                          cudnnBackendDescriptor_t *plan, int64_t *ws)
{
    cudnnStatus_t e;
    int64_t got = 0;
    *ws = 0;
    if ((e = cudnnBackendCreateDescriptor(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, plan)) !=
        CUDNN_STATUS_SUCCESS) {
        *plan = NULL;
        return e;
    }
    if ((e = cudnnBackendSetAttribute(*plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1,
                                      &h)) != CUDNN_STATUS_SUCCESS ||
        (e = cudnnBackendSetAttribute(*plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
                                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cfg)) !=
            CUDNN_STATUS_SUCCESS ||
        (e = cudnnBackendFinalize(*plan)) != CUDNN_STATUS_SUCCESS ||
        (e = cudnnBackendGetAttribute(*plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                      CUDNN_TYPE_INT64, 1, &got, ws)) != CUDNN_STATUS_SUCCESS) {
        dlm_be_free(plan);
        return e;
    }
    if (*ws < 0) {
        dlm_be_free(plan);
        return CUDNN_STATUS_BAD_PARAM;
    }
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t dlm_be_execute(cudnnHandle_t h, cudnnBackendDescriptor_t plan, int n,
                             const int64_t *uids, void *const *ptrs, void *ws)
{
    cudnnBackendDescriptor_t vp = NULL;
    cudnnStatus_t e;
    if ((e = cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &vp)) !=
        CUDNN_STATUS_SUCCESS)
        return e;
    if ((e = cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, n,
                                      uids)) == CUDNN_STATUS_SUCCESS &&
        (e = cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS,
                                      CUDNN_TYPE_VOID_PTR, n, (void *)ptrs)) ==
            CUDNN_STATUS_SUCCESS &&
        (e = cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1,
                                      &ws)) == CUDNN_STATUS_SUCCESS &&
        (e = cudnnBackendFinalize(vp)) == CUDNN_STATUS_SUCCESS)
        e = cudnnBackendExecute(h, plan, vp);
    dlm_be_free(&vp);
    return e;
}

/* Does a config with these numerical notes run in the runtime's math mode? */
static int cfg_allowed(const dlm_rt *rt, unsigned notes)
{
    /* exact fp32: no TF32 (tensor cores on float data), no down-conversion */
    if (rt->dt == DLM_K_F32 && rt->conv_math == CUDNN_FMA_MATH &&
        (notes & (1u << CUDNN_NUMERICAL_NOTE_TENSOR_CORE |
                  1u << CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS)))
        return 0;
    return 1;
}

dlm_status rt_convg_plans(dlm_rt *rt, int o, size_t bound, rt_conv_cand *out, int max, int *n_out)
{
    const dlm_op *op = &rt->g->ops[o];
    const rt_tensor *x = &rt->t[op->in[0]], *y = &rt->t[op->out[0]];
    cudnnBackendDescriptor_t graph = NULL, *cfgs = NULL;
    int64_t n_cfg = 0;
    dlm_status st = DLM_OK;
    dlm_be_conv c = {.op = DLM_BE_CONV_FWD,
                     .comp = CUDNN_DATA_FLOAT,
                     .pad = {op->a.conv.ph, op->a.conv.pw},
                     .stride = {op->a.conv.sh, op->a.conv.sw},
                     .dil = {op->a.conv.dh, op->a.conv.dw}};
    const int64_t wd[4] = {op->a.conv.cout, op->a.conv.cin, op->a.conv.kh, op->a.conv.kw};
    dlm_be_tensor *ts[3] = {&c.x, &c.w, &c.y};
    const int64_t *dims[3] = {x->dims, wd, y->dims}, uid[3] = {UID_X, UID_W, UID_Y};
    *n_out = 0;
    if (op->a.conv.groups != 1) return DLM_OK; /* the legacy API runs grouped convs */
    for (int i = 0; i < 3; i++) {
        memcpy(ts[i]->dims, dims[i], sizeof ts[i]->dims);
        dlm_be_strides(ts[i]->dims, rt->nhwc, ts[i]->strides);
        ts[i]->uid = uid[i];
        ts[i]->align = 16;
        ts[i]->dt = rt->cudnn_dt;
    }
    DLM_GO(dlm_be_conv_graph(rt->dnn, &c, &graph));
    DLM_GO(dlm_be_configs(graph, CUDNN_HEUR_MODE_A, &cfgs, &n_cfg));
    /* Build plans, best ranked first, until `max` fit the mode and the bound.
     * A config cuDNN cannot finalize for these shapes is passed over. */
    for (int64_t i = 0; i < n_cfg && *n_out < max; i++) {
        int64_t engine = -1, ws = 0;
        unsigned notes = 0;
        cudnnBackendDescriptor_t plan = NULL;
        DLM_GO(dlm_be_config_info(cfgs[i], &engine, &notes, NULL, 0));
        if (!cfg_allowed(rt, notes)) continue;
        if (dlm_be_plan(rt->dnn, cfgs[i], &plan, &ws) != CUDNN_STATUS_SUCCESS) continue;
        if ((size_t)ws > bound) {
            dlm_be_free(&plan);
            continue;
        }
        rt_conv_cand *k = &out[(*n_out)++];
        memset(k, 0, sizeof *k);
        k->plan = plan;
        k->engine = engine;
        k->ws = (size_t)ws;
        k->rank = (int)i;
        k->of = (int)n_cfg;
    }
fail:
    dlm_be_configs_free(cfgs, n_cfg);
    dlm_be_free(&graph);
    if (st != DLM_OK) {
        for (int i = 0; i < *n_out; i++) dlm_be_free(&out[i].plan);
        *n_out = 0;
    }
    return st;
}

dlm_status rt_convg_run(dlm_rt *rt, cudnnBackendDescriptor_t plan, void *x, const void *w, void *y,
                        void *ws)
{
    int64_t uids[3] = {UID_X, UID_W, UID_Y};
    void *ptrs[3] = {x, (void *)w, y};
    cudnnStatus_t e;
    for (int i = 0; i < 3; i++)
        if ((uintptr_t)ptrs[i] % 16)
            return dlm_error(DLM_EINTERNAL, "a convolution tensor at %p is not 16-byte aligned",
                             ptrs[i]);
    if ((e = dlm_be_execute(rt->dnn, plan, 3, uids, ptrs, ws)) != CUDNN_STATUS_SUCCESS)
        return dlm_cudnn_fail(e, "cudnnBackendExecute", __FILE__, __LINE__);
    return DLM_OK;
}

void rt_convg_free(cudnnBackendDescriptor_t *plan) { dlm_be_free(plan); }
