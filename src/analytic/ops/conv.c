/* conv.c — the rule of conv2d (cudnn_convolution), and the cuDNN convolution
 * workspace lookups it uses (see rule.h).
 *
 * PyTorch 2.11: cudnn_convolution makes the output and a transient cuDNN
 * workspace; autograd saves the input (and the weight, resident anyway);
 * convolution_backward makes the input's and the parameters' gradients.
 */
#include "rule.h"

/* cuDNN convolution workspace in half precision (fp16, bf16, mixed): the
 * engines cuDNN 9 picks for NCHW tensors run on NHWC copies made in the
 * workspace: input + output (+ the filter when it is larger than 1x1) + 512 B,
 * read off pytorch_oplog.csv for every ResNet-18 layer (B=2, bf16, H200,
 * cuDNN 9.19) and to the byte in pytorch_oplog_resnet_fp16.csv (fp16
 * inference, B 8, 32, 64) except the stride-2 1x1 downsample (layer2.0), which
 * at B 32 and 64 gets an engine without copies (512 B): over-predicted there,
 * never at a peak of the reference data.  fp32: see conv_ws_measured(). */
static dlm_poly conv_workspace(const tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    if (op->a.conv.cin % 8) {
        /* the stem (3 channels): an NHWC copy of the input padded to 8
         * channels (bf16) or 4 (fp16) + the output.  bf16: read off
         * the bf16 inference series of pytorch_memory.csv (B 8..128: the peak
         * less the stem's tensors is this within 1 MiB); the oplog shows no
         * such workspace at B=2, where cuDNN picks another engine, so B <= 2
         * is over-predicted by up to 1.6 MiB.  fp16: the fp16 per-op log at
         * B 8, 32, 64 (the stem's transient is this rounded to the 2 MiB
         * segment). */
        const dlm_tensor *x = TT(r, op->in[0]);
        if (r->cfg->dtype == DLM_DTYPE_MIXED) return P(0); /* autocast: none seen (techniques CSV) */
        int64_t cpad = r->cfg->dtype == DLM_DTYPE_BF16 ? (op->a.conv.cin + 7) / 8 * 8
                                                        : (op->a.conv.cin + 3) / 4 * 4;
        dlm_poly pad = mulk(dlm_poly_mul(x->shape[0], dlm_poly_mul(x->shape[2], x->shape[3])), cpad * 2);
        return dlm_poly_add(pad, nbytes(r, op->out[0]));
    }
    dlm_poly w = P(0);
    if (op->a.conv.kh * op->a.conv.kw > 1) w = nbytes(r, op->params[0]);
    if (r->cfg->dtype == DLM_DTYPE_MIXED) w = mulk(numel(r, op->params[0]), 2);
    return dlm_poly_add(dlm_poly_add(nbytes(r, op->in[0]), nbytes(r, op->out[0])),
                        dlm_poly_add(w, P(512)));
}

/* cuDNN convolution workspace in fp32: with cudnn.benchmark off PyTorch runs
 * the engine cuDNN's heuristics rank first, and for fp32 that engine (and its
 * workspace: none for most ResNet-18 layers at B <= 16, up to 730 MiB for one
 * layer at B=128 on an H200) changes with the batch size in ways no shape
 * rule gives.  So it is a measured, named term: data/cudnn/conv_workspace.csv
 * (convtab.h: per GPU architecture, conv shape, forward / backward and batch
 * size, with the rule between measured batch sizes).  Forward: the op's
 * transient above its output.  Backward: convolution_backward runs the
 * data-gradient and filter-gradient engines inside one aten op, and the log
 * holds one peak: the table's bytes are that peak above both gradients, so
 * the model allocates them after the gradients, where the op's peak is exact.
 * A shape or architecture the table lacks: not known, 0 B, counted in
 * dlm_trace_info for the output's note.  Returns the slot (-1: none). */
static int conv_ws_measured(tr *r, int o, dlm_conv_phase ph)
{
    const dlm_op *op = &r->g->ops[o];
    const dlm_tensor *x = TT(r, op->in[0]), *y = TT(r, op->out[0]);
    dlm_conv_key k = {op->a.conv.cin, (int)dlm_poly_eval(&x->shape[2], 1, 1),
                      (int)dlm_poly_eval(&x->shape[3], 1, 1), op->a.conv.cout, op->a.conv.kh,
                      op->a.conv.kw, (int)dlm_poly_eval(&y->shape[2], 1, 1),
                      (int)dlm_poly_eval(&y->shape[3], 1, 1)};
    const dlm_conv_series *s =
        op->a.conv.groups == 1 && op->a.conv.dh == 1 && op->a.conv.dw == 1
            ? dlm_convtab_find(r->convtab, r->cfg->sm, "fp32", ph, &k)
            : NULL;
    if (!s) {
        if (r->record) r->info->conv_unknown++;
        return -1;
    }
    if (r->record) {
        r->info->conv_measured++;
        if (!r->info->series) r->info->series = s;
        if (ph == DLM_CONV_FWD)
            appendf(r->L[o].temp, sizeof r->L[o].temp, "cuDNN conv workspace (measured per B)");
    }
    int any = 0;
    for (int i = 0; i < s->n; i++) any |= s->bytes[i] > 0;
    if (!any) return -1; /* measured: none at every batch size */
    return tl_new_measured(r->t, s->B, s->bytes, s->n, DLM_TERM_WORKSPACE, r->nm_conv,
                           "cuDNN conv workspace (measured)");
}

static void fwd_conv2d(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    int copy, in = tr_read_half(r, o, x, &copy);
    tr_weight_casts(r, o);
    tr_out_new(r, o, 0);
    if (r->torch) {
        int ws = r->fb == 4 ? conv_ws_measured(r, o, DLM_CONV_FWD)
                            : tr_temp(r, o, conv_workspace(r, o), DLM_TERM_WORKSPACE, r->nm_conv,
                                      "cuDNN conv workspace");
        tl_unref(r->t, ws);
    }
    if (r->grad) tr_save(r, o, in, "input");
    tl_unref(r->t, copy);
}

static void bwd_conv2d(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    int gi = -1, half = r->torch && r->fb == 2;
    if (r->rg[x]) {
        gi = tr_grad_new(r, x, "grad input");
        if (half) tl_unref(r->t, new_slot(r, conv_workspace(r, o), DLM_TERM_WORKSPACE,
                                          r->nm_conv, "cuDNN conv workspace"));
    }
    int gw[4] = {-1, -1, -1, -1};
    for (int i = 0; i < op->n_params && i < 4; i++) {
        gw[i] = tr_pgrad_half(r, op->params[i]);
        if (half && i == 0)
            tl_unref(r->t, new_slot(r, conv_workspace(r, o), DLM_TERM_WORKSPACE, r->nm_conv,
                                    "cuDNN conv workspace"));
    }
    if (r->torch && !half) tl_unref(r->t, conv_ws_measured(r, o, DLM_CONV_BWD));
    for (int i = 0; i < op->n_params && i < 4; i++) tr_param_grad(r, op->params[i], gw[i]);
    tr_release_saved(r, o);
    tl_unref(r->t, gout);
    tr_give(r, x, gi);
}

/* The runtime's cuDNN convolution workspace: one, sized by the runtime. */
static void resident_conv(tr *r, int o, int n)
{
    (void)o;
    (void)n;
    tr_resident_input(r, r->nm_conv, "cudnn_conv_workspace", P(0), "cuDNN conv workspace");
}

const op_rule dlm_rule_conv2d = {
    .name = "conv2d", .fwd = fwd_conv2d, .bwd = bwd_conv2d, .autocast = 2, .resident = resident_conv};
