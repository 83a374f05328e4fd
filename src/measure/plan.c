/* plan.c — the runtime's per-op scratch (see plan.h). */
#include "plan.h"

int dlm_rt_dtype_size(dlm_rt_dtype dt)
{
    return dt == DLM_RT_BF16 ? 2 : 4;
}

dlm_poly dlm_plan_op_scratch(const dlm_graph *g, int op, dlm_rt_dtype dt)
{
    const dlm_op *o = &g->ops[op];
    if (o->kind != DLM_OP_ATTENTION) return dlm_poly_const(0);
    /* q is (B, T, Hd): scores are (B, heads, T, T); 5 addresses per (b, head). */
    const dlm_tensor *q = &g->tensors[o->in[0]];
    dlm_poly bh = dlm_poly_mul(q->shape[0], dlm_poly_const(o->a.attn.heads));
    dlm_poly scores = dlm_poly_mul(dlm_poly_mul(bh, q->shape[1]), q->shape[1]);
    return dlm_poly_add(dlm_poly_scale(scores, dlm_rt_dtype_size(dt)), dlm_poly_scale(bh, 40));
}

const char *dlm_plan_op_scratch_name(const dlm_graph *g, int op)
{
    return g->ops[op].kind == DLM_OP_ATTENTION ? "attention_scores" : NULL;
}

const char *dlm_rt_dtype_name(dlm_rt_dtype d)
{
    return d == DLM_RT_BF16 ? "bf16" : d == DLM_RT_FP32 ? "fp32" : "?";
}
