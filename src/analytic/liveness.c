/* liveness.c — births and deaths of activation storages (see liveness.h). */
#include "liveness.h"

#include <stdlib.h>
#include <string.h>

int dlm_liveness_is_storage(const dlm_graph *g, int t)
{
    const dlm_tensor *x = &g->tensors[t];
    return x->role == DLM_ROLE_ACT && x->alias_of < 0;
}

void dlm_liveness_free(dlm_liveness *l)
{
    if (!l) return;
    free(l->last_use);
    free(l->born);
    free(l->born_start);
    free(l->dies);
    free(l->dies_start);
    free(l);
}

dlm_status dlm_liveness_infer(const dlm_graph *g, dlm_liveness **out)
{
    int nt = g->n_tensors, no = g->n_ops;
    dlm_liveness *l = calloc(1, sizeof *l);
    *out = NULL;
    if (!l) return dlm_error(DLM_ENOMEM, "out of memory");
    l->n_ops = no;
    l->last_use = malloc((size_t)(nt ? nt : 1) * sizeof *l->last_use);
    l->born = malloc((size_t)(nt ? nt : 1) * sizeof *l->born);
    l->dies = malloc((size_t)(nt ? nt : 1) * sizeof *l->dies);
    l->born_start = calloc((size_t)no + 1, sizeof *l->born_start);
    l->dies_start = calloc((size_t)no + 1, sizeof *l->dies_start);
    if (!l->last_use || !l->born || !l->dies || !l->born_start || !l->dies_start) {
        dlm_liveness_free(l);
        return dlm_error(DLM_ENOMEM, "out of memory");
    }

    /* Last reader of every storage; an unread storage dies where it is made. */
    for (int t = 0; t < nt; t++)
        l->last_use[t] = dlm_liveness_is_storage(g, t) ? g->tensors[t].producer : -1;
    for (int o = 0; o < no; o++) {
        const dlm_op *op = &g->ops[o];
        if (op->train_only) { /* not run in inference: makes and reads nothing */
            for (int k = 0; k < op->n_out; k++)
                if (dlm_liveness_is_storage(g, op->out[k])) l->last_use[op->out[k]] = -1;
            continue;
        }
        for (int i = 0; i < op->n_in; i++) {
            int s = dlm_tensor_storage(g, op->in[i]);
            if (s >= 0 && l->last_use[s] >= 0 && l->last_use[s] < o) l->last_use[s] = o;
        }
        /* An alias made by this op reads its base too (a view keeps it alive
         * at least until the view is made). */
        for (int k = 0; k < op->n_out; k++) {
            int s = dlm_tensor_storage(g, op->out[k]);
            if (s != op->out[k] && s >= 0 && l->last_use[s] >= 0 && l->last_use[s] < o)
                l->last_use[s] = o;
        }
    }
    for (int i = 0; i < g->n_outputs; i++) {
        int s = dlm_tensor_storage(g, g->outputs[i]);
        if (s >= 0 && l->last_use[s] >= 0) l->last_use[s] = no;
    }
    for (int i = 0; i < g->n_cache; i++) { /* the KV cache returned with them */
        int s = dlm_tensor_storage(g, g->cache[i]);
        if (s >= 0 && l->last_use[s] >= 0) l->last_use[s] = no;
    }

    /* Bucket births by producer and deaths by last use (counting sort). */
    for (int t = 0; t < nt; t++) {
        if (l->last_use[t] < 0) continue;
        l->born_start[g->tensors[t].producer + 1]++;
        if (l->last_use[t] < no) l->dies_start[l->last_use[t] + 1]++;
    }
    for (int o = 0; o < no; o++) {
        l->born_start[o + 1] += l->born_start[o];
        l->dies_start[o + 1] += l->dies_start[o];
    }
    int *bfill = calloc((size_t)no + 1, sizeof *bfill), *dfill = calloc((size_t)no + 1, sizeof *dfill);
    if (!bfill || !dfill) {
        free(bfill);
        free(dfill);
        dlm_liveness_free(l);
        return dlm_error(DLM_ENOMEM, "out of memory");
    }
    for (int t = 0; t < nt; t++) {
        if (l->last_use[t] < 0) continue;
        int p = g->tensors[t].producer;
        l->born[l->born_start[p] + bfill[p]++] = t;
        if (l->last_use[t] < no) {
            int d = l->last_use[t];
            l->dies[l->dies_start[d] + dfill[d]++] = t;
        }
    }
    free(bfill);
    free(dfill);
    *out = l;
    return DLM_OK;
}
