/* conv.c — the rules of conv2d and conv_transpose2d, and the cuDNN
 * convolution workspace lookups they use (see rule.h).
 *
 * PyTorch 2.11 (aten/src/ATen/native/Convolution.cpp, select_conv_backend):
 * a CUDA convolution runs on cuDNN (cudnn_convolution: the output and a
 * transient workspace, from rows: libws.c; a bias is added in place), except
 * a depthwise one (groups == Cin > 1, Cout a multiple of Cin) in NCHW whose
 * dtype is not fp16 (use_cudnn_depthwise), which runs _conv_depthwise2d: the
 * output, no workspace (pytorch_oplog_cnn.csv: 0 B forward and backward for
 * every depthwise conv of mobilenet_v2 and efficientnet_b0 in bf16).  A
 * transposed convolution runs cudnn_convolution_transpose, its workspaces
 * looked up as kind "conv_transpose2d" (dlmem probe: its forward is cuDNN's
 * backward-data graph, its grad_input the forward graph).  Autograd
 * saves the input and the weight (ConvolutionBackward0; checked with
 * saved_tensors_hooks for grouped, depthwise, dilated and transposed convs on
 * the CPU build of the same version); convolution_backward makes the input's
 * and the parameters' gradients.
 */
#include "rule.h"

#include <string.h>

/* Op o's convolution as the rows key it (WSROWS.md). */
static void conv_key(const tr *r, int o, char *key, size_t n)
{
    const dlm_op *op = &r->g->ops[o];
    const dlm_tensor *x = TT(r, op->in[0]), *y = TT(r, op->out[0]);
    dlm_ws_conv_key(key, n, op->a.conv.cin, (int)dlm_poly_eval(&x->shape[2], 1, 1),
                    (int)dlm_poly_eval(&x->shape[3], 1, 1), op->a.conv.cout,
                    (int)dlm_poly_eval(&y->shape[2], 1, 1), (int)dlm_poly_eval(&y->shape[3], 1, 1),
                    op->a.conv.kh, op->a.conv.kw, op->a.conv.sh, op->a.conv.sw, op->a.conv.ph,
                    op->a.conv.pw, op->a.conv.dh, op->a.conv.dw, op->a.conv.groups);
}

/* cuDNN convolution workspace of one call (forward, backward_data,
 * backward_filter), or with call "backward" the one peak of
 * convolution_backward above both gradients that data/cudnn/
 * conv_workspace.csv holds (read off per-op logs).  PyTorch 2.11 with
 * cudnn.benchmark off runs the engine config cuDNN's heuristics rank first
 * that builds and runs (Conv_v8.cpp), and its workspace is one transient
 * allocation through the caching allocator (run_conv_plan): 0 B to hundreds
 * of MiB, changing with the batch size as the engine does, in every dtype
 * (the half-precision engines' NHWC copies too), so the bytes are rows the
 * library gave at exactly this shape and batch size.  The op's batch is its
 * input's first dimension; the layout PyTorch's memory format, NCHW for the
 * graphs here. */
static int conv_ws(tr *r, int o, const char *call)
{
    char key[160];
    conv_key(r, o, key, sizeof key);
    return tr_ws_rows(r, o, dlm_op_kind_name(r->g->ops[o].kind), call, "nchw", key, TT(r, r->g->ops[o].in[0])->shape[0], P(0),
                      0, "cudnn_conv_workspace", DLM_TERM_WORKSPACE, r->nm_conv,
                      !strcmp(call, "forward") ? "cuDNN conv workspace (rows)"
                                               : "cuDNN conv backward workspace (rows)");
}

/* Whether op o's backward has only the old table's one peak ("backward"),
 * no per-call rows (backward_data, backward_filter). */
static int conv_bwd_combined(const tr *r, int o)
{
    char key[160];
    conv_key(r, o, key, sizeof key);
    const char *dt = tr_ws_dtype(r), *kind = dlm_op_kind_name(r->g->ops[o].kind);
    int sm = r->cfg->sm;
    return !dlm_ws_find(r->ws, sm, DLM_WS_LOGIC_PYTORCH, kind, "backward_data", dt, "nchw", key) &&
           !dlm_ws_find(r->ws, sm, DLM_WS_LOGIC_PYTORCH, kind, "backward_filter", dt, "nchw", key) &&
           dlm_ws_find(r->ws, sm, DLM_WS_LOGIC_PYTORCH, kind, "backward", dt, "nchw", key);
}

/* PyTorch's _conv_depthwise2d path: no cuDNN, no workspace. */
static int native_depthwise(const tr *r, const dlm_op *op)
{
    int groups = op->a.conv.groups;
    return op->kind == DLM_OP_CONV2D && groups > 1 && groups == op->a.conv.cin &&
           op->a.conv.cout % op->a.conv.cin == 0 &&
           (r->cfg->dtype == DLM_DTYPE_FP32 || r->cfg->dtype == DLM_DTYPE_BF16);
}

static void fwd_conv2d(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    int copy, in = tr_read_half(r, o, x, &copy);
    tr_weight_casts(r, o);
    tr_out_new(r, o, 0);
    if (r->torch && !native_depthwise(r, op)) tl_unref(r->t, conv_ws(r, o, "forward"));
    if (r->grad) tr_save(r, o, in, "input");
    tl_unref(r->t, copy);
}

static void bwd_conv2d(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    /* cudnn_convolution_backward (ConvShared.cpp): grad_input is made and
     * its backward-data call runs with its workspace, then grad_weight and
     * the backward-filter call with its own; the stem's input needs no
     * gradient (output_mask[0] false).  Rows from the old table hold only
     * the op's one peak above both gradients: allocated after them. */
    int cudnn = r->torch && !native_depthwise(r, op);
    int per_call = cudnn && !conv_bwd_combined(r, o), rec = r->record;
    r->record = 0; /* the layer table names the forward's terms */
    int gi = -1;
    if (r->rg[x]) {
        gi = tr_grad_new(r, x, "grad input");
        if (per_call) tl_unref(r->t, conv_ws(r, o, "backward_data"));
    }
    int gw[4] = {-1, -1, -1, -1};
    for (int i = 0; i < op->n_params && i < 4; i++) {
        gw[i] = tr_pgrad_half(r, op->params[i]);
        if (per_call && i == 0) tl_unref(r->t, conv_ws(r, o, "backward_filter"));
    }
    if (cudnn && !per_call) tl_unref(r->t, conv_ws(r, o, "backward"));
    r->record = rec;
    for (int i = 0; i < op->n_params && i < 4; i++) tr_param_grad(r, op->params[i], gw[i]);
    tr_release_saved(r, o);
    tl_unref(r->t, gout);
    tr_give(r, x, gi);
}

/* The runtime's cuDNN convolution workspace: one, sized by the runtime,
 * shared by its convolutions and transposed convolutions (named once: by
 * the conv2d rule when the graph has one). */
static void resident_conv(tr *r, int o, int n)
{
    (void)n;
    if (r->g->ops[o].kind == DLM_OP_CONVT2D)
        for (int k = 0; k < r->g->n_ops; k++)
            if (r->g->ops[k].kind == DLM_OP_CONV2D) return;
    tr_resident_input(r, r->nm_conv, "cudnn_conv_workspace", P(0), "cuDNN conv workspace");
}

const op_rule dlm_rule_conv2d = {
    .name = "conv2d", .fwd = fwd_conv2d, .bwd = bwd_conv2d, .autocast = 2, .resident = resident_conv};
/* the same rules: the rows tell a transposed conv's workspace apart by kind */
const op_rule dlm_rule_convt2d = {
    .name = "conv_transpose2d", .fwd = fwd_conv2d, .bwd = bwd_conv2d, .autocast = 2,
    .resident = resident_conv};
