/* libws.c — library workspaces from rows (see rule.h, workspaces.h): the
 * lookup conv.c and rnn.c share.  A workspace or reserve whose size only
 * the library can tell (cuDNN's engine or algorithm changes with shape and
 * batch size) is a timeline size that looks its row up exactly when the
 * timeline is evaluated; where no row exists the term is not known and the
 * point says it is incomplete. */
#include "rule.h"

/* The activation type; autocast (mixed) runs convolutions and RNNs in its
 * half type (cfg->autocast_bf16: bfloat16, else float16).  fp32 rows are those
 * with TF32 off, as tools/torch_reference.py measures. */
const char *tr_ws_dtype(const tr *r)
{
    switch (r->cfg->dtype) {
    case DLM_DTYPE_MIXED: return r->cfg->autocast_bf16 ? "bf16" : "fp16";
    case DLM_DTYPE_FP16: return "fp16";
    case DLM_DTYPE_BF16: return "bf16";
    default: return "fp32";
    }
}

int tr_ws_rows_logic(tr *r, int o, const char *logic, const char *kind, const char *call,
                     const char *layout, const char *key, dlm_poly batch, dlm_poly seq, int field,
                     const char *term_name, dlm_term term, int named, const char *what)
{
    const dlm_ws_series *s = dlm_ws_find(r->ws, r->cfg->sm, logic, kind, call, tr_ws_dtype(r),
                                         layout, key);
    if (r->record) {
        r->info->ws_terms++;
        r->info->ws_missing += !s;
        if (o >= 0) appendf(r->L[o].temp, sizeof r->L[o].temp, what);
    }
    return tl_new_rows(r->t, s, field, batch, seq, r->cudnn, term_name, call, term, named, what);
}

int tr_ws_rows(tr *r, int o, const char *kind, const char *call, const char *layout,
               const char *key, dlm_poly batch, dlm_poly seq, int field, const char *term_name,
               dlm_term term, int named, const char *what)
{
    return tr_ws_rows_logic(r, o, DLM_WS_LOGIC_PYTORCH, kind, call, layout, key, batch, seq, field,
                            term_name, term, named, what);
}
