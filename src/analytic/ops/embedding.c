/* embedding.c — the rule of embedding (see rule.h).
 *
 * PyTorch 2.11: F.embedding runs index_select over ids.reshape(-1): an
 * expanded ids view (BERT's token_type_ids buffer) is copied first.
 * Backward: embedding_dense_backward makes the weight's gradient; the ids
 * take none.  Under autocast embeddings stay in
 * their weights' fp32.
 */
#include "rule.h"

static void fwd_embedding(tr *r, int o)
{
    const dlm_op *op = &r->g->ops[o];
    int x = op->in[0];
    /* index_select over ids.reshape(-1): an expanded ids view is copied */
    int copy = -1;
    const dlm_tensor *ids = TT(r, x);
    if (r->torch && ids->alias_of >= 0) {
        const dlm_tensor *base = TT(r, dlm_tensor_storage(r->g, x));
        if (!dlm_poly_equal(&base->numel, &ids->numel) && dlm_poly_deg_B(&ids->numel) > 0)
            copy = tr_temp(r, o, mulk(ids->numel, 8), DLM_TERM_TRANSIENT, -1, "ids copy");
    }
    tr_out_new(r, o, 0);
    tl_unref(r->t, copy);
    /* EmbeddingBackward0 saves the indices: an activation's storage (GPT-2's
     * position_ids, a view of cache_position) lives until its backward */
    if (r->grad && TT(r, x)->role == DLM_ROLE_ACT) tr_save(r, o, S(r, x), "indices");
}

static void bwd_embedding(tr *r, int o, int gout)
{
    const dlm_op *op = &r->g->ops[o];
    for (int i = 0; i < op->n_params; i++) tr_param_grad(r, op->params[i], tr_pgrad_new(r, op->params[i]));
    tr_release_saved(r, o);
    tl_unref(r->t, gout);
}

const op_rule dlm_rule_embedding = {
    .name = "embedding", .fwd = fwd_embedding, .bwd = bwd_embedding, .autocast = 4};
