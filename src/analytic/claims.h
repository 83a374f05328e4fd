/* claims.h — checking a parameter count someone claimed (a hand derivation,
 * a report's table) against the graph, and saying why it is off.
 *
 * The explanation is searched for, not looked up: a count that is too high is
 * matched against biases the layers in scope do not have (bias=False) and
 * against buffers counted as parameters; a count that is too low is matched
 * against sets of parameter tensors in scope (grouped by name pattern, e.g.
 * "lstm.bias_hh_l*") whose sizes add up to exactly the missing amount.
 */
#ifndef DLM_CLAIMS_H
#define DLM_CLAIMS_H

#include <stdint.h>

#include "../models/graph.h"

typedef enum dlm_claim_verdict {
    DLM_CLAIM_EXACT,       /* claimed == dlmem */
    DLM_CLAIM_EXPLAINED,   /* off, and the exact cause was found */
    DLM_CLAIM_UNEXPLAINED  /* off, and no single cause adds up */
} dlm_claim_verdict;

typedef struct dlm_claim {
    int64_t claimed;
    int64_t actual;         /* dlmem's count for the scope */
    int64_t diff;           /* claimed - actual */
    dlm_claim_verdict verdict;
    char explanation[2048]; /* one sentence */
} dlm_claim;

/* scope: a module path ("conv1", "embeddings") or "" for the whole model.
 * A scope with no parameters is DLM_EINVAL naming it. */
dlm_status dlm_claim_check(const dlm_graph *g, const char *scope, int64_t claimed,
                           dlm_claim *out);

#endif
