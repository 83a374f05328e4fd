/* claims.c — explaining a wrong parameter count (see claims.h). */
#include "claims.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/out.h"
#include "params.h"

#define MAX_TERMS 64

typedef struct term {
    char label[200];   /* "lstm.bias_hh_l*" */
    int64_t size;
    int count;         /* tensors in the group */
    int64_t each;      /* size of one tensor (when all are equal), else 0 */
} term;

static int in_scope(const char *name, const char *scope)
{
    size_t k = strlen(scope);
    return k == 0 || (strncmp(name, scope, k) == 0 && (name[k] == '\0' || name[k] == '.'));
}

/* Name pattern: each run of digits becomes '*'. */
static void pattern(const char *name, char *out, size_t n)
{
    size_t k = 0;
    for (const char *s = name; *s && k + 1 < n; s++) {
        if (isdigit((unsigned char)*s)) {
            out[k++] = '*';
            while (isdigit((unsigned char)s[1])) s++;
        } else {
            out[k++] = *s;
        }
    }
    out[k] = '\0';
}

static void add_term(term *t, int *n, const char *label, int64_t size)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(t[i].label, label) == 0) {
            if (t[i].each != size) t[i].each = 0;
            t[i].size += size;
            t[i].count++;
            return;
        }
    if (*n == MAX_TERMS) return;
    snprintf(t[*n].label, sizeof t[*n].label, "%s", label);
    t[*n].size = size;
    t[*n].each = size;
    t[*n].count = 1;
    (*n)++;
}

/* Subsets of terms summing to target with the fewest terms (up to 4 terms by
 * enumeration, else any subset of up to 20 terms).  Writes up to `max`
 * alternatives of that size to masks; returns how many were found. */
static int subset_sum(const term *t, int n, int64_t target, uint64_t *masks, int max)
{
    int idx[4], found = 0;
    for (int k = 1; k <= 4 && k <= n && !found; k++) {
        for (int i = 0; i < k; i++) idx[i] = i;
        for (;;) {
            int64_t s = 0;
            for (int i = 0; i < k; i++) s += t[idx[i]].size;
            if (s == target && found < max) {
                uint64_t m = 0;
                for (int i = 0; i < k; i++) m |= 1ull << idx[i];
                masks[found++] = m;
            }
            int i = k - 1;
            while (i >= 0 && idx[i] == n - k + i) i--;
            if (i < 0) break;
            idx[i]++;
            for (int j = i + 1; j < k; j++) idx[j] = idx[j - 1] + 1;
        }
    }
    if (!found && n <= 20)
        for (uint64_t m = 1; m < (1ull << n); m++) {
            int64_t s = 0;
            for (int i = 0; i < n; i++)
                if (m & (1ull << i)) s += t[i].size;
            if (s == target) {
                masks[found++] = m;
                break;
            }
        }
    return found;
}

/* "lstm.bias_hh_l* (2 x 1,024 = 2,048)" for each term in mask. */
static void list_terms(const term *t, int n, uint64_t mask, char *buf, size_t len)
{
    size_t k = 0;
    int first = 1;
    buf[0] = '\0';
    for (int i = 0; i < n && k + 1 < len; i++) {
        if (!(mask & (1ull << i))) continue;
        char a[32], b[32];
        int w;
        if (t[i].count > 1 && t[i].each)
            w = snprintf(buf + k, len - k, "%s%s (%d x %s = %s)", first ? "" : ", ", t[i].label,
                         t[i].count, dlm_fmt_int(a, sizeof a, t[i].each),
                         dlm_fmt_int(b, sizeof b, t[i].size));
        else
            w = snprintf(buf + k, len - k, "%s%s (%s)", first ? "" : ", ", t[i].label,
                         dlm_fmt_int(a, sizeof a, t[i].size));
        if (w > 0) k += (size_t)w;
        if (k >= len) k = len - 1;
        first = 0;
    }
}

/* Parameter tensors in scope, grouped by pattern; if grouping hides an answer,
 * the caller retries with one term per tensor. */
static int collect(const dlm_graph *g, const char *scope, int grouped, term *t)
{
    int n = 0;
    for (int i = 0; i < g->n_params; i++) {
        const dlm_tensor *x = &g->tensors[g->params[i]];
        char label[200];
        if (!in_scope(x->name, scope)) continue;
        if (grouped) pattern(x->name, label, sizeof label);
        else snprintf(label, sizeof label, "%s", x->name);
        add_term(t, &n, label, dlm_tensor_numel_const(g, g->params[i]));
    }
    return n;
}

static dlm_status explain_under(const dlm_graph *g, const char *scope, dlm_claim *c)
{
    term *t = calloc(MAX_TERMS, sizeof *t);
    if (!t) return dlm_error(DLM_ENOMEM, "out of memory");
    int64_t missing = -c->diff;
    char list[900], a[32];
    for (int grouped = 1; grouped >= 0; grouped--) {
        uint64_t m[4];
        int n = collect(g, scope, grouped, t);
        int alts = subset_sum(t, n, missing, m, 4);
        if (!alts) continue;
        uint64_t all = (n >= 64) ? ~0ull : ((1ull << n) - 1);
        uint64_t counted = all & ~m[0];
        if (alts == 1 && counted && __builtin_popcountll(counted) == 1 &&
            __builtin_popcountll(m[0]) > 1) {
            /* The claim counts a single term and misses the rest. */
            char only[300];
            list_terms(t, n, counted, only, sizeof only);
            list_terms(t, n, m[0], list, sizeof list);
            snprintf(c->explanation, sizeof c->explanation,
                     "counts only %s; misses %s: %s elements in all", only, list,
                     dlm_fmt_int(a, sizeof a, missing));
        } else {
            size_t k = 0;
            for (int i = 0; i < alts && k + 1 < sizeof list; i++) {
                char one[300];
                list_terms(t, n, m[i], one, sizeof one);
                int w = snprintf(list + k, sizeof list - k, "%s%s", i ? " or " : "", one);
                if (w > 0) k += (size_t)w;
            }
            snprintf(c->explanation, sizeof c->explanation,
                     "misses %s: exactly the %s elements it is short, so the gap is a missing "
                     "term, not rounding",
                     list, dlm_fmt_int(a, sizeof a, missing));
        }
        c->verdict = DLM_CLAIM_EXPLAINED;
        free(t);
        return DLM_OK;
    }
    free(t);
    snprintf(c->explanation, sizeof c->explanation,
             "short by %s elements; no set of parameter tensors in scope adds up to that",
             dlm_fmt_int(a, sizeof a, missing));
    c->verdict = DLM_CLAIM_UNEXPLAINED;
    return DLM_OK;
}

static dlm_status explain_over(const dlm_graph *g, const char *scope, dlm_claim *c)
{
    term t[MAX_TERMS];
    int n = 0;
    char list[700], a[32];
    /* Biases that layers in scope could have but do not. */
    for (int o = 0; o < g->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        char label[200];
        if (!in_scope(op->name, scope)) continue;
        if (op->kind == DLM_OP_CONV2D && !op->a.conv.bias) {
            snprintf(label, sizeof label, "%s.bias", op->name);
            add_term(t, &n, label, op->a.conv.cout);
        } else if (op->kind == DLM_OP_LINEAR && !op->a.linear.bias) {
            snprintf(label, sizeof label, "%s.bias", op->name);
            add_term(t, &n, label, op->a.linear.out);
        }
    }
    uint64_t m;
    if (subset_sum(t, n, c->diff, &m, 1)) {
        list_terms(t, n, m, list, sizeof list);
        snprintf(c->explanation, sizeof c->explanation,
                 "counts %s, which the layer does not have (built with bias=False, as a conv "
                 "followed by BatchNorm needs none): %s elements too many",
                 list, dlm_fmt_int(a, sizeof a, c->diff));
        c->verdict = DLM_CLAIM_EXPLAINED;
        return DLM_OK;
    }
    int64_t buf = dlm_params_in_scope(g, scope, 1);
    if (buf && buf == c->diff) {
        snprintf(c->explanation, sizeof c->explanation,
                 "counts the %s buffer elements (running statistics, ids) as parameters",
                 dlm_fmt_int(a, sizeof a, buf));
        c->verdict = DLM_CLAIM_EXPLAINED;
        return DLM_OK;
    }
    snprintf(c->explanation, sizeof c->explanation,
             "over by %s elements; no absent bias or buffer accounts for that",
             dlm_fmt_int(a, sizeof a, c->diff));
    c->verdict = DLM_CLAIM_UNEXPLAINED;
    return DLM_OK;
}

dlm_status dlm_claim_check(const dlm_graph *g, const char *scope, int64_t claimed,
                           dlm_claim *out)
{
    memset(out, 0, sizeof *out);
    out->claimed = claimed;
    out->actual = dlm_params_in_scope(g, scope, 0);
    if (out->actual == 0)
        return dlm_error(DLM_EINVAL, "model %s has no parameters under '%s'", g->name, scope);
    out->diff = claimed - out->actual;
    if (out->diff == 0) {
        out->verdict = DLM_CLAIM_EXACT;
        snprintf(out->explanation, sizeof out->explanation, "exact");
        return DLM_OK;
    }
    return out->diff < 0 ? explain_under(g, scope, out) : explain_over(g, scope, out);
}
