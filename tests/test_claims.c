/* test_claims.c — the seed's Table 1 errors found by the claim checker itself:
 * the explanations must name the exact missing or extra terms. */
#include "analytic/claims.h"
#include "models/models.h"
#include "tap.h"

static void check(const char *model, const char *scope, long long claimed,
                  dlm_claim_verdict want, const char *must_mention, const char *also)
{
    dlm_graph *g = NULL;
    dlm_claim c;
    if (!TAP_OK(dlm_model_build_named(model, NULL, &g) == DLM_OK, "build %s", model)) return;
    dlm_status st = dlm_claim_check(g, scope, claimed, &c);
    TAP_OK(st == DLM_OK && c.verdict == want, "%s '%s' claimed %lld: verdict %d", model, scope,
           claimed, (int)c.verdict);
    printf("#   %s\n", c.explanation);
    if (must_mention)
        TAP_OK(strstr(c.explanation, must_mention) != NULL, "explanation names %s", must_mention);
    if (also) TAP_OK(strstr(c.explanation, also) != NULL, "explanation names %s", also);
    dlm_graph_free(g);
}

int main(void)
{
    /* Table 1, row 1: conv1 counted with a 64-element bias it does not have. */
    check("resnet18", "conv1", 9472, DLM_CLAIM_EXPLAINED, "conv1.bias (64)", "bias=False");
    check("resnet18", "conv1", 9408, DLM_CLAIM_EXACT, "exact", NULL);
    /* Row 2: the LSTM formula keeps one bias per gate; PyTorch has b_ih and b_hh. */
    check("lstm", "", 893450, DLM_CLAIM_EXPLAINED, "lstm.bias_hh_l* (2 x 1,024 = 2,048)",
          "not rounding");
    /* Row 3: "embedding layer" is word embeddings only. */
    check("bert", "embeddings", 23440896, DLM_CLAIM_EXPLAINED,
          "counts only embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight");
    /* Buffers counted as parameters. */
    check("resnet18", "", 11689512 + 9620, DLM_CLAIM_EXPLAINED, "buffer", NULL);
    /* A gap nothing explains is said to be unexplained, not forced. */
    check("resnet18", "", 11689512 - 7, DLM_CLAIM_UNEXPLAINED, "short by 7", NULL);

    dlm_graph *g = NULL;
    dlm_claim c;
    dlm_model_build_named("resnet18", NULL, &g);
    TAP_OK(dlm_claim_check(g, "conv9", 1, &c) == DLM_EINVAL, "unknown scope is an error");
    dlm_graph_free(g);
    return tap_done();
}
