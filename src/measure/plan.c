/* plan.c — the runtime's per-op scratch and the plan's live bytes per op
 * (see plan.h). */
#include "plan.h"

int dlm_rt_dtype_size(dlm_rt_dtype dt)
{
    return dt == DLM_RT_BF16 ? 2 : 4;
}

int64_t dlm_plan_score_cols(int64_t T, dlm_rt_dtype dt)
{
    int64_t m = 16 / dlm_rt_dtype_size(dt);
    return (T + m - 1) / m * m;
}

int64_t dlm_plan_op_scratch(const dlm_graph *g, int op, dlm_rt_dtype dt, int64_t B, int64_t T)
{
    const dlm_op *o = &g->ops[op];
    if (o->kind != DLM_OP_ATTENTION && o->kind != DLM_OP_MHA) return 0;
    /* q (MHA: x) is (B, T, Hd): scores are (B, heads, Tp, Tp), Tp = T padded
     * to 16 bytes; 5 addresses per (b, head).  Causal and grouped-query
     * attention the same. */
    const dlm_tensor *q = &g->tensors[o->in[0]];
    int64_t b = dlm_poly_eval(&q->shape[0], B, T), t = dlm_poly_eval(&q->shape[1], B, T);
    int64_t bh = b * o->a.attn.heads, tp = dlm_plan_score_cols(t, dt);
    int64_t s = bh * tp * tp * dlm_rt_dtype_size(dt) + 40 * bh;
    if (o->kind == DLM_OP_MHA) /* in_proj's q, k, v (B, T, 3E) and the context (B, T, E) */
        s += dlm_poly_eval(&q->numel, B, T) * 4 * dlm_rt_dtype_size(dt);
    return s;
}

/* Bytes of storage t at (B, T); a dimension below 1 is DLM_ERANGE. */
static dlm_status storage_bytes(const dlm_graph *g, int t, int64_t B, int64_t T, dlm_rt_dtype dt,
                                int64_t *bytes)
{
    const dlm_tensor *x = &g->tensors[t];
    int64_t n = x->elem == DLM_EL_INT64 ? 8 : dlm_rt_dtype_size(dt);
    for (int i = 0; i < x->ndim; i++) {
        int64_t d = dlm_poly_eval(&x->shape[i], B, T);
        if (d < 1)
            return dlm_error(DLM_ERANGE, "%s: dimension %d is %lld at B=%lld T=%lld", x->name, i,
                             (long long)d, (long long)B, (long long)T);
        n *= d;
    }
    *bytes = n;
    return DLM_OK;
}

dlm_status dlm_plan_live_bytes(const dlm_graph *g, const dlm_liveness *l, int64_t B, int64_t T,
                               dlm_rt_dtype dt, int64_t *live, int64_t *peak)
{
    int64_t cur = 0, most = 0, n;
    if (!g->uses_T) T = 1;
    for (int o = 0; o < g->n_ops; o++) {
        for (int k = l->born_start[o]; k < l->born_start[o + 1]; k++) {
            DLM_TRY(storage_bytes(g, l->born[k], B, T, dt, &n));
            cur += n;
        }
        live[o] = cur + dlm_plan_op_scratch(g, o, dt, B, T);
        if (live[o] > most) most = live[o];
        for (int k = l->dies_start[o]; k < l->dies_start[o + 1]; k++) {
            DLM_TRY(storage_bytes(g, l->dies[k], B, T, dt, &n));
            cur -= n;
        }
    }
    *peak = most;
    return DLM_OK;
}

const char *dlm_plan_op_scratch_name(const dlm_graph *g, int op)
{
    return g->ops[op].kind == DLM_OP_ATTENTION || g->ops[op].kind == DLM_OP_MHA
               ? "attention_scores" : NULL;
}

const char *dlm_rt_dtype_name(dlm_rt_dtype d)
{
    return d == DLM_RT_BF16 ? "bf16" : d == DLM_RT_FP32 ? "fp32" : "?";
}
