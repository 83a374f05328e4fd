/* audit.c — the seed report's tables and claims checked (see audit.h). */
#include "audit.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analytic/claims.h"
#include "../analytic/params.h"
#include "../core/csv.h"
#include "../models/models.h"
#include "predict.h"

#define MIB (1024.0 * 1024.0)
#define SEED_SM 86 /* the report's RTX 3050 (Ampere GA107) */

const char *dlm_verdict_name(dlm_verdict v)
{
    switch (v) {
    case DLM_VERDICT_RIGHT: return "right";
    case DLM_VERDICT_WRONG: return "wrong";
    case DLM_VERDICT_PARTLY: return "partly";
    case DLM_VERDICT_UNSUPPORTED: return "unsupported";
    case DLM_VERDICT_INFO: return "found";
    }
    return "?";
}

static dlm_status item(dlm_audit *a, const char *table, const char *subject, const char *claim,
                       dlm_verdict v, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static dlm_status item(dlm_audit *a, const char *table, const char *subject, const char *claim,
                       dlm_verdict v, const char *fmt, ...)
{
    if (a->n_items == a->cap_items) {
        int nc = a->cap_items ? 2 * a->cap_items : 32;
        dlm_audit_item *ni = realloc(a->items, (size_t)nc * sizeof *ni);
        if (!ni) return dlm_error(DLM_ENOMEM, "out of memory");
        a->items = ni;
        a->cap_items = nc;
    }
    dlm_audit_item *it = &a->items[a->n_items++];
    snprintf(it->table, sizeof it->table, "%s", table);
    snprintf(it->subject, sizeof it->subject, "%s", subject);
    snprintf(it->claim, sizeof it->claim, "%s", claim);
    it->verdict = v;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->text, sizeof it->text, fmt, ap);
    va_end(ap);
    return DLM_OK;
}

/* ---- Table 1: parameter counts --------------------------------------------------- */

static dlm_status audit_params(dlm_audit *a, const dlm_csv *c)
{
    static const char *cols[] = {"model", "row", "scope", "seed_theory", "seed_pytorch",
                                 "seed_formula", "setup"};
    int idx[7];
    DLM_TRY(dlm_csv_require(c, 7, cols, idx));
    for (int r = 0; r < c->nrows; r++) {
        int64_t theory, torch_claimed;
        DLM_TRY(dlm_csv_int(c, r, idx[3], &theory));
        DLM_TRY(dlm_csv_int(c, r, idx[4], &torch_claimed));
        const char *model = dlm_csv_get(c, r, idx[0]), *scope = dlm_csv_get(c, r, idx[2]);
        snprintf(a->setup, sizeof a->setup, "%s", dlm_csv_get(c, r, idx[6]));
        dlm_graph *g = NULL;
        dlm_status st = dlm_model_build_builtin(model, NULL, &g);
        if (st != DLM_OK) return dlm_error_context(st, "%s:%d", c->path, c->lines[r]);
        dlm_claim cl;
        st = dlm_claim_check(g, scope, theory, &cl);
        int64_t actual = dlm_params_in_scope(g, scope, 0);
        dlm_graph_free(g);
        if (st != DLM_OK) return dlm_error_context(st, "%s:%d", c->path, c->lines[r]);
        char subject[96], claim[192], pt[160] = "";
        snprintf(subject, sizeof subject, "%s %s parameters", model, scope[0] ? scope : "(all)");
        snprintf(claim, sizeof claim, "%lld (%s); PyTorch column %lld", (long long)theory,
                 dlm_csv_get(c, r, idx[5]), (long long)torch_claimed);
        if (torch_claimed != actual)
            snprintf(pt, sizeof pt, " Its PyTorch column (%lld) is not PyTorch's count (%lld).",
                     (long long)torch_claimed, (long long)actual);
        DLM_TRY(item(a, "1", subject, claim,
                     cl.verdict == DLM_CLAIM_EXACT && !pt[0] ? DLM_VERDICT_RIGHT : DLM_VERDICT_WRONG,
                     "%s%s.%s", cl.verdict == DLM_CLAIM_EXACT ? "The count is " : "The seed ",
                     cl.explanation, pt));
    }
    return DLM_OK;
}

/* ---- Tables 2-4: memory ------------------------------------------------------------ */

typedef struct mrow {
    char table[8], model[32];
    int64_t batch, seq; /* batch -1: not stated */
    double before, peak; /* as printed */
    int dec_before, dec_peak, line;
    const char *path;   /* the file (alive while the audit runs) */
} mrow;

static int decimals(const char *s)
{
    const char *d = strchr(s, '.');
    return d ? (int)strlen(d + 1) : 0;
}

static dlm_status read_memory(const dlm_csv *c, mrow **out, int *n)
{
    static const char *cols[] = {"table", "model", "batch", "seq", "before_mb", "peak_mb"};
    int idx[6];
    DLM_TRY(dlm_csv_require(c, 6, cols, idx));
    if (c->nrows == 0) return dlm_error(DLM_EPARSE, "%s: no data rows", c->path);
    mrow *m = calloc((size_t)c->nrows, sizeof *m);
    if (!m) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int r = 0; r < c->nrows; r++) {
        mrow *w = &m[r];
        dlm_status st = DLM_OK;
        w->line = c->lines[r];
        w->path = c->path;
        const char *tb = dlm_csv_get(c, r, idx[0]), *md = dlm_csv_get(c, r, idx[1]);
        for (const char *q = md; *q; q++)
            if ((unsigned char)*q < 0x20 || *q == 0x7f) {
                free(m);
                return dlm_error(DLM_EPARSE, "%s:%d: column 'model': a control character in a "
                                 "name", c->path, c->lines[r]);
            }
        if (strlen(tb) >= sizeof w->table || strlen(md) >= sizeof w->model) {
            int long_table = strlen(tb) >= sizeof w->table;
            dlm_status e = dlm_error(DLM_EPARSE, "%s:%d: column '%s' is longer than the %zu "
                                     "characters dlmem keeps", c->path, c->lines[r],
                                     long_table ? "table" : "model",
                                     long_table ? sizeof w->table - 1 : sizeof w->model - 1);
            free(m);
            return e;
        }
        memcpy(w->table, tb, strlen(tb) + 1);
        memcpy(w->model, md, strlen(md) + 1);
        w->batch = -1;
        if (dlm_csv_get(c, r, idx[2])[0]) st = dlm_csv_int(c, r, idx[2], &w->batch);
        if (st == DLM_OK && dlm_csv_get(c, r, idx[3])[0]) st = dlm_csv_int(c, r, idx[3], &w->seq);
        if (st == DLM_OK) st = dlm_csv_double(c, r, idx[4], &w->before);
        if (st == DLM_OK) st = dlm_csv_double(c, r, idx[5], &w->peak);
        if (st == DLM_OK && ((dlm_csv_get(c, r, idx[2])[0] && w->batch <= 0) || w->seq < 0))
            st = dlm_error(DLM_EPARSE, "%s:%d: batch and seq must be positive", c->path, w->line);
        if (st == DLM_OK && w->batch < 0 && w->seq <= 0)
            st = dlm_error(DLM_EPARSE, "%s:%d: neither batch nor seq is given (a row states the "
                           "size it was measured at)", c->path, w->line);
        if (st != DLM_OK) {
            free(m);
            return st;
        }
        w->dec_before = decimals(dlm_csv_get(c, r, idx[4]));
        w->dec_peak = decimals(dlm_csv_get(c, r, idx[5]));
    }
    *out = m;
    *n = c->nrows;
    return DLM_OK;
}

/* Weights + buffers (fp32) + input of a model at (B, T), bytes. */
static dlm_status resident_bytes(const char *model, int64_t B, int64_t T, double *out)
{
    dlm_graph *g = NULL;
    DLM_TRY(dlm_model_build_builtin(model, NULL, &g));
    dlm_poly in;
    dlm_status st = dlm_input_bytes_poly(g, 4, &in);
    if (st == DLM_OK)
        *out = (double)(dlm_params_bytes(g, 4) + dlm_buffers_bytes(g, 4)) +
               (double)dlm_poly_eval(&in, B, T > 0 ? T : 1);
    dlm_graph_free(g);
    return st;
}

static dlm_status decide_unit(dlm_audit *a, const mrow *m, int n)
{
    int best = -1;
    for (int i = 0; i < n; i++)
        if (m[i].batch > 0 && (best < 0 || m[i].batch < m[best].batch)) best = i;
    if (best < 0) {
        a->mb = MIB;
        return item(a, "2-4", "unit of MB", "MB", DLM_VERDICT_INFO,
                    "No table states its batch size, so the unit cannot be checked; MB is read "
                    "as 2^20 bytes (MiB), PyTorch users' habit of dividing by 1024**2.");
    }
    double res;
    DLM_TRY(resident_bytes(m[best].model, m[best].batch, m[best].seq, &res));
    double in_mib = res / MIB, in_mb = res / 1e6;
    int mib = fabs(m[best].before - in_mib) <= fabs(m[best].before - in_mb);
    a->mb = mib ? MIB : 1e6;
    return item(a, m[best].table, "unit of MB", "MB", DLM_VERDICT_INFO,
                "MB in the seed's tables means %s: Table %s's first initial memory %.2f (%s, B=%lld) "
                "must hold at least the weights, buffers and input, %.0f bytes = %.2f MiB = %.2f "
                "MB (10^6); it is %.2f from the MiB reading and %.2f from the 10^6 one. All "
                "numbers below are converted with 1 MB = %s bytes.",
                mib ? "MiB (2^20 bytes): the seed's code divides by 1024**2"
                    : "10^6 bytes",
                m[best].table, m[best].before, m[best].model, (long long)m[best].batch, res,
                in_mib, in_mb, fabs(m[best].before - in_mib), fabs(m[best].before - in_mb),
                mib ? "1,048,576" : "1,000,000");
}

static dlm_status grow(dlm_audit *a)
{
    int n = a->series.n;
    char(*t)[8] = realloc(a->table_of, (size_t)n * sizeof *t);
    dlm_fitdata *d = realloc(a->data, (size_t)n * sizeof *d);
    if (t) a->table_of = t;
    if (d) a->data = d;
    dlm_fitset *f = realloc(a->fits, (size_t)n * sizeof *f);
    if (f) a->fits = f;
    dlm_prediction *p = realloc(a->preds, (size_t)n * sizeof *p);
    if (p) a->preds = p;
    if (!t || !d || !f || !p) return dlm_error(DLM_ENOMEM, "out of memory");
    memset(&a->data[n - 1], 0, sizeof a->data[0]);
    memset(&a->preds[n - 1], 0, sizeof a->preds[0]);
    memset(&a->fits[n - 1], 0, sizeof a->fits[0]);
    return DLM_OK;
}

static dlm_status audit_mode_fit(dlm_audit *a, int si, const double *x, double *y, double *py,
                                 int n);

/* Which mode does Table 2's measured growth above the baseline fit?  Sets the
 * series' mode to it (the series is then judged in that mode). */
static dlm_status audit_mode(dlm_audit *a, int si)
{
    const dlm_series *s = &a->series.s[si];
    if (!s->before || s->xvar != DLM_X_BATCH) return DLM_OK;
    int n = s->n;
    if (n < DLM_FIT_MIN_POINTS) return DLM_OK;
    double *x = s->x, *y = malloc((size_t)n * sizeof *y), *py = malloc((size_t)n * sizeof *py);
    if (!y || !py) {
        free(y);
        free(py);
        return dlm_error(DLM_ENOMEM, "out of memory");
    }
    dlm_status st = audit_mode_fit(a, si, x, y, py, n);
    free(y);
    free(py);
    return st;
}

/* audit_mode's work, with scratch y and py of n points each. */
static dlm_status audit_mode_fit(dlm_audit *a, int si, const double *x, double *y, double *py,
                                 int n)
{
    const dlm_series *s = &a->series.s[si];
    for (int i = 0; i < n; i++) y[i] = s->peak[i] - s->before[i];
    dlm_polyfit f;
    DLM_TRY(dlm_fit_poly(x, y, NULL, n, 1, s->resolution, &f));
    double slope[2] = {NAN, NAN};
    static const char *modes[2] = {"infer", "forward"};
    for (int k = 0; k < 2; k++) {
        dlm_series t = *s;
        snprintf(t.mode, sizeof t.mode, "%s", modes[k]);
        dlm_prediction p;
        DLM_TRY(dlm_predict_series(&t, SEED_SM, &p));
        if (!p.have) continue;
        for (int i = 0; i < n; i++) py[i] = p.peak[i] - p.before[i];
        dlm_polyfit pf;
        dlm_status st = dlm_fit_poly(x, py, NULL, n, 1, 1, &pf);
        dlm_prediction_free(&p);
        DLM_TRY(st);
        slope[k] = pf.c[1];
    }
    if (isnan(slope[0]) || isnan(slope[1])) return DLM_OK;
    int fwd = fabs(f.c[1] - slope[1]) < fabs(f.c[1] - slope[0]);
    /* the series is judged in the mode its data fit */
    snprintf(a->series.s[si].mode, sizeof a->series.s[si].mode, "%s", modes[fwd]);
    char subject[96];
    snprintf(subject, sizeof subject, "%s: how the forward pass ran", s->model);
    return item(a, a->table_of[si], subject, "forward pass after loading (no_grad not stated)",
                DLM_VERDICT_INFO,
                "The peak rises above the memory before the run by %.2f +/- %.2f MiB (95%% "
                "interval) per sample; "
                "dlmem predicts %.2f MiB per sample under torch.no_grad() and %.2f MiB with "
                "autograd recording: the seed's forward pass ran %s.",
                f.c[1] / MIB, f.t95 * f.se[1] / MIB, slope[0] / MIB, slope[1] / MIB,
                fwd ? "with autograd recording (no torch.no_grad()), keeping activations for a "
                      "backward pass it never made"
                    : "under torch.no_grad() (inference)");
}

static dlm_status audit_series(dlm_audit *a, const mrow *m, int i, int j, int has_seq,
                               int64_t batch, dlm_series *pproto, double *x, double *pk,
                               double *bf, int *ln);

static dlm_status audit_memory(dlm_audit *a, const mrow *m, int n)
{
    if (a->mb == 0) DLM_TRY(decide_unit(a, m, n));
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && !strcmp(m[j].table, m[i].table) && !strcmp(m[j].model, m[i].model)) j++;
        int has_seq = 0, dec = 9;
        int64_t batch = -1;
        for (int k = i; k < j; k++) {
            if (m[k].seq > 0) has_seq = 1;
            if (m[k].batch > 0) batch = m[k].batch;
            if (m[k].dec_peak < dec) dec = m[k].dec_peak;
            if (m[k].dec_before < dec) dec = m[k].dec_before;
        }
        dlm_series proto;
        memset(&proto, 0, sizeof proto);
        snprintf(proto.model, sizeof proto.model, "%s", m[i].model);
        snprintf(proto.mode, sizeof proto.mode, "infer");
        snprintf(proto.dtype, sizeof proto.dtype, "fp32");
        snprintf(proto.variant, sizeof proto.variant, "base");
        snprintf(proto.checkpoint, sizeof proto.checkpoint, "none");
        snprintf(proto.autocast, sizeof proto.autocast, "none");
        snprintf(proto.profile, sizeof proto.profile, "pytorch");
        if (!strncmp(m[i].model, "bert", 4)) snprintf(proto.attention, sizeof proto.attention, "eager");
        snprintf(proto.gpu, sizeof proto.gpu, "RTX 3050 4 GB, seed Table %s", m[i].table);
        snprintf(proto.file, sizeof proto.file, "seed Table %s", m[i].table);
        snprintf(proto.tag, sizeof proto.tag, "seed-table%s", m[i].table);
        proto.xvar = has_seq ? DLM_X_SEQ : DLM_X_BATCH;
        proto.fixed = has_seq ? (batch > 0 ? batch : 1) : 0;
        proto.resolution = pow(10.0, -dec) * a->mb;
        for (int r = i; r < j; r++)
            if (has_seq ? m[r].seq <= 0 : m[r].batch <= 0)
                return dlm_error(DLM_EPARSE, "%s:%d: Table %s %s: this row has no %s although "
                                 "the table's rows vary it", m[r].path, m[r].line, m[r].table,
                                 m[r].model, has_seq ? "seq" : "batch");
        double *x = malloc((size_t)(j - i) * sizeof *x), *pk = malloc((size_t)(j - i) * sizeof *pk);
        double *bf = malloc((size_t)(j - i) * sizeof *bf);
        int *ln = malloc((size_t)(j - i) * sizeof *ln);
        dlm_status st = x && pk && bf && ln ? DLM_OK : dlm_error(DLM_ENOMEM, "out of memory");
        if (st == DLM_OK) st = audit_series(a, m, i, j, has_seq, batch, &proto, x, pk, bf, ln);
        free(x);
        free(pk);
        free(bf);
        free(ln);
        DLM_TRY(st);
        i = j;
    }
    return DLM_OK;
}

/* One table's rows [i, j) of one model as a series: fitted, predicted, judged. */
static dlm_status audit_series(dlm_audit *a, const mrow *m, int i, int j, int has_seq,
                               int64_t batch, dlm_series *pproto, double *x, double *pk,
                               double *bf, int *ln)
{
    dlm_series proto = *pproto;
    int k = 0;
    for (int r = i; r < j; r++, k++) {
        x[k] = has_seq ? (double)m[r].seq : (double)m[r].batch;
        pk[k] = m[r].peak * a->mb;
        bf[k] = m[r].before * a->mb;
        ln[k] = m[r].line;
    }
    DLM_TRY(dlm_series_add(&a->series, &proto, k, x, pk, bf, ln));
    DLM_TRY(grow(a));
    int si = a->series.n - 1;
    snprintf(a->table_of[si], sizeof a->table_of[si], "%s", m[i].table);
    DLM_TRY(dlm_fitdata_make(x, pk, k, &a->data[si]));
    DLM_TRY(dlm_fit_series(&a->data[si], proto.resolution, &a->fits[si]));
    DLM_TRY(audit_mode(a, si));
    DLM_TRY(dlm_predict_series(&a->series.s[si], SEED_SM, &a->preds[si]));
    int before = a->findings.n;
    DLM_TRY(dlm_detect(&a->series.s[si], si, &a->data[si], &a->fits[si], &a->preds[si], NULL,
                       &a->findings));
    char subject[96], claim[192];
    snprintf(subject, sizeof subject, "%s memory vs %s", m[i].model,
             dlm_xvar_name(proto.xvar));
    snprintf(claim, sizeof claim, "%s %g..%g: peak %.2f..%.2f MB, initial %.2f..%.2f MB%s",
             dlm_xvar_letter(proto.xvar), x[0], x[k - 1], m[i].peak, m[j - 1].peak,
             m[i].before, m[j - 1].before, has_seq && batch < 0 ? " (batch not stated)" : "");
    for (int f = before; f < a->findings.n; f++)
        DLM_TRY(item(a, m[i].table, subject, claim, DLM_VERDICT_WRONG, "%s: %s (%s%s)",
                     dlm_finding_name(a->findings.f[f].kind), a->findings.f[f].text,
                     a->preds[si].have ? a->preds[si].what : "no prediction",
                     has_seq && batch < 0 ? "; at B=1, the smallest batch, and in inference, "
                                            "so the predicted growth is a lower bound" : ""));
    if (a->findings.n == before)
        DLM_TRY(item(a, m[i].table, subject, claim, DLM_VERDICT_RIGHT,
                     "No deviation from the formula found (%s).",
                     a->preds[si].have ? a->preds[si].what : a->preds[si].why));
    return DLM_OK;
}

/* ---- Table 5 and section 7.2: claims ---------------------------------------------- */

static int series_of(const dlm_audit *a, const char *model)
{
    for (int i = 0; i < a->series.n; i++)
        if (!strcmp(a->series.s[i].model, model)) return i;
    return -1;
}

static int has_finding(const dlm_audit *a, int si, dlm_finding_kind k)
{
    for (int i = 0; i < a->findings.n; i++)
        if (a->findings.f[i].series == si && a->findings.f[i].kind == k) return 1;
    return 0;
}

static dlm_status claim_growth(dlm_audit *a, const char *model, const char *claim,
                               const char *seed_text)
{
    char subject[96], cl[192];
    snprintf(subject, sizeof subject, "%s growth", model);
    snprintf(cl, sizeof cl, "%s (%s)", claim, seed_text);
    int si = series_of(a, model);
    if (si < 0 || !a->preds[si].have)
        return item(a, "5", subject, cl, DLM_VERDICT_UNSUPPORTED,
                    "No memory table of %s to check against%s%s.", model,
                    si >= 0 ? ": " : "", si >= 0 ? a->preds[si].why : "");
    const dlm_series *s = &a->series.s[si];
    const dlm_prediction *p = &a->preds[si];
    const dlm_fitdata *d = &a->data[si];
    double x0 = d->x[0], x1 = d->x[d->n - 1];
    double t1 = fabs(p->law[1]) * (x1 - x0), t2 = fabs(p->law[2]) * (x1 * x1 - x0 * x0);
    double share = t1 + t2 > 0 ? t2 / (t1 + t2) : 0;
    double *pp = malloc((size_t)d->n * sizeof *pp);
    if (!pp) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int k = 0; k < d->n; k++)
        for (int i = 0; i < s->n; i++)
            if (s->x[i] == d->x[k]) pp[k] = p->peak[i];
    dlm_powfit pw;
    dlm_status st = dlm_fit_power(d->x, pp, d->n, &pw);
    free(pp);
    DLM_TRY(st);
    const char *L = dlm_xvar_letter(s->xvar);
    char measured[320];
    if (has_finding(a, si, DLM_FIND_FLAT))
        snprintf(measured, sizeof measured,
                 "The seed's own Table %s cannot show any growth: its peak is flat (a stale "
                 "peak statistic, see above).", a->table_of[si]);
    else
        snprintf(measured, sizeof measured, "The seed's Table %s fits %s (%s).", a->table_of[si],
                 a->fits[si].degree == 2 ? "a quadratic" : "a line", a->fits[si].reason);
    char law[768];
    snprintf(law, sizeof law, "%.2f MiB + %.4g MiB*%s + %.3g MiB*%s^2", p->law[0] / MIB,
             p->law[1] / MIB, L, p->law[2] / MIB, L);
    if (s->fixed > 0)
        snprintf(law + strlen(law), sizeof law - strlen(law), " at %s=%lld",
                 s->xvar == DLM_X_BATCH ? "T" : "B", (long long)s->fixed);
    snprintf(law + strlen(law), sizeof law - strlen(law), " (%s)", p->what);
    if (!strcmp(claim, "linear"))
        return item(a, "5", subject, cl, share < DLM_FIT_MIN_CURVE_SHARE ? DLM_VERDICT_RIGHT
                                                                           : DLM_VERDICT_WRONG,
                    "The formula's peak is %s in %s: %s; the %s^2 term makes %.1f%% of the "
                    "predicted rise over %s %g..%g. %s",
                    share < DLM_FIT_MIN_CURVE_SHARE ? "linear (affine)" : "not linear", L, law, L,
                    100 * share, L, x0, x1, measured);
    if (!strcmp(claim, "sublinear"))
        return item(a, "5", subject, cl,
                    share < DLM_FIT_MIN_CURVE_SHARE ? DLM_VERDICT_WRONG : DLM_VERDICT_PARTLY,
                    "The formula's peak is affine in %s: %s, a constant %.3g MiB per unit of %s. "
                    "Growth per step does not slow down; only on log-log does an affine law "
                    "a + b*%s look sublinear (fitted exponent %.3f +/- %.3f, 95%% interval, over "
                    "%g..%g) because "
                    "of the constant a (weights and workspaces). %s",
                    L, law, (p->law[1] + p->law[2] * (x0 + x1)) / MIB, L, L, pw.k, pw.t95 * pw.k_se,
                    x0, x1, measured);
    if (!strcmp(claim, "quadratic"))
        return item(a, "5", subject, cl,
                    share >= 0.5 ? DLM_VERDICT_RIGHT
                                 : share >= DLM_DEV_ORDER_SHARE ? DLM_VERDICT_PARTLY
                                                                : DLM_VERDICT_WRONG,
                    "With eager attention the formula has a %s^2 term (the B*heads*%s^2 "
                    "attention scores and probabilities): %s. Over the seed's %s %g..%g that "
                    "term makes %.1f%% of the predicted rise, the rest is linear in %s; with "
                    "fused attention (SDPA/flash) the %s^2 term disappears. %s",
                    L, L, law, L, x0, x1, 100 * share, L, L, measured);
    return item(a, "5", subject, cl, DLM_VERDICT_UNSUPPORTED,
                "'%s' is not a growth law dlmem checks (linear, sublinear, quadratic).", claim);
}

static dlm_status claim_ratio(dlm_audit *a, const char *model, const char *claim)
{
    char subject[96], cl[192];
    snprintf(subject, sizeof subject, "%s peak/parameter ratio", model);
    snprintf(cl, sizeof cl, "%s (unit not stated)", claim);
    int si = series_of(a, model);
    double printed = strtod(claim, NULL);
    if (si < 0)
        return item(a, "5", subject, cl, DLM_VERDICT_UNSUPPORTED, "No memory table of %s.", model);
    dlm_graph *g = NULL;
    DLM_TRY(dlm_model_build_builtin(model, NULL, &g));
    double params = (double)dlm_graph_param_count(g);
    dlm_graph_free(g);
    const dlm_series *s = &a->series.s[si];
    double peak = 0;
    for (int i = 0; i < s->n; i++)
        if (s->peak[i] > peak) peak = s->peak[i];
    double ratio = peak / a->mb / (params / 1000.0);
    int ok = fabs(ratio - printed) <= 0.05 * printed;
    return item(a, "5", subject, cl, ok ? DLM_VERDICT_RIGHT : DLM_VERDICT_WRONG,
                "Read as peak MB per thousand parameters (the reading under which any of the "
                "three rows reproduces), Table %s's largest peak %.2f MB over %.0f parameters "
                "gives %.4g; the seed prints %s%s.",
                a->table_of[si], peak / a->mb, params, ratio, claim,
                ok ? " (reproduced within 5%)" : ": not reproducible from its own tables");
}

static dlm_status claim_baseline(dlm_audit *a, const char *model, const char *claim,
                                 const char *const *models, int nm)
{
    char subject[96], cl[192];
    snprintf(subject, sizeof subject, "%s base memory", model);
    snprintf(cl, sizeof cl, "%s among %d models", claim, nm);
    double mine = 0;
    int rank = 0;
    double res[8];
    for (int k = 0; k < nm && k < 8; k++) {
        DLM_TRY(resident_bytes(models[k], 1, 1, &res[k]));
        if (!strcmp(models[k], model)) mine = res[k];
    }
    for (int k = 0; k < nm && k < 8; k++)
        if (res[k] < mine) rank++;
    static const char *names[3] = {"low", "medium", "high"};
    const char *pred = nm == 3 ? names[rank] : "?";
    int si = series_of(a, model);
    char meas[400] = "";
    if (si >= 0 && a->series.s[si].before) {
        double b = a->series.s[si].before[0];
        snprintf(meas, sizeof meas,
                 " Its Table %s measures %.2f MiB before the first run against %.2f MiB of "
                 "weights, buffers and input%s.",
                 a->table_of[si], b / MIB, mine / MIB,
                 b - mine > 4 * MIB ? ": the rest was left by earlier runs" : "");
    }
    return item(a, "5", subject, cl, !strcmp(pred, claim) ? DLM_VERDICT_RIGHT : DLM_VERDICT_WRONG,
                "Weights + buffers + one input: %.2f MiB, %s among the %d seed networks.%s",
                mine / MIB, pred, nm, meas);
}

static dlm_status claim_activation(dlm_audit *a, const char *model, const char *claim,
                                   const char *seed_text)
{
    char subject[96], cl[192];
    snprintf(subject, sizeof subject, "%s activation order", model);
    snprintf(cl, sizeof cl, "%s", seed_text);
    int is_bert = !strncmp(model, "bert", 4);
    /* coefficient of B*T^2 (bert) or B*T (rnn) at default size, doubled hidden, doubled heads */
    const char *set[3] = {NULL, is_bert ? "hidden=1536" : "hidden=512", is_bert ? "heads=24" : NULL};
    int i = 1, j = is_bert ? 2 : 1;
    double c[3] = {0, 0, 0};
    char formula[512];
    for (int k = 0; k < (is_bert ? 3 : 2); k++) {
        dlm_poly p;
        DLM_TRY(dlm_predict_peak_poly(model, set[k], "infer", SEED_SM, 1, 256, &p,
                                      k == 0 ? formula : NULL, sizeof formula));
        c[k] = (double)dlm_poly_coef(&p, i, j);
    }
    if (c[0] <= 0)
        return item(a, "7.2", subject, cl, DLM_VERDICT_WRONG,
                    "The inference peak has no B*%s term at all (peak at B=1, T=256: %s bytes).",
                    is_bert ? "T^2" : "T", formula);
    if (is_bert) {
        int indep_h = fabs(c[1] - c[0]) <= 0.01 * fabs(c[0]) && c[0] > 0;
        int per_head = fabs(c[2] - 2 * c[0]) <= 0.01 * fabs(c[0]);
        return item(a, "7.2", subject, cl, indep_h ? DLM_VERDICT_WRONG : DLM_VERDICT_RIGHT,
                    "The inference peak's B*T^2 coefficient is %.0f bytes (%.0f per head) at "
                    "hidden 768 / 12 heads, %.0f at hidden 1536 / 12 heads and %.0f at hidden 768 "
                    "/ 24 heads: the T^2 term scales with the number of heads%s, %s the hidden "
                    "size H — attention scores are B*heads*T^2, the rest of the activations "
                    "B*T*H. (Peak at B=1, T=256: %s bytes.)",
                    c[0], c[0] / 12, c[1], c[2], per_head ? " exactly" : "",
                    indep_h ? "not" : "and also", formula);
    }
    (void)claim;
    double ratio = c[0] > 0 ? c[1] / c[0] : 0;
    return item(a, "7.2", subject, cl,
                ratio > 1.5 && ratio < 2.5 ? DLM_VERDICT_RIGHT : DLM_VERDICT_WRONG,
                "The inference peak's B*T coefficient is %.0f bytes at hidden 256 and %.0f at "
                "hidden 512 (x%.2f): activations grow as T*B*H (plus the input's T*B*I). (Peak "
                "at B=1, T=256: %s bytes.)",
                c[0], c[1], ratio, formula);
}

static dlm_status audit_claims(dlm_audit *a, const dlm_csv *c)
{
    static const char *cols[] = {"table", "model", "property", "claim", "seed_text"};
    int idx[5];
    DLM_TRY(dlm_csv_require(c, 5, cols, idx));
    const char *models[8];
    int nm = 0;
    for (int r = 0; r < c->nrows; r++)
        if (!strcmp(dlm_csv_get(c, r, idx[2]), "baseline") && nm < 8)
            models[nm++] = dlm_csv_get(c, r, idx[1]);
    for (int r = 0; r < c->nrows; r++) {
        const char *model = dlm_csv_get(c, r, idx[1]), *prop = dlm_csv_get(c, r, idx[2]);
        const char *claim = dlm_csv_get(c, r, idx[3]), *text = dlm_csv_get(c, r, idx[4]);
        const dlm_model_info *info;
        if (dlm_model_find(model, &info) != DLM_OK)
            return dlm_error_context(DLM_EPARSE, "%s:%d", c->path, c->lines[r]);
        dlm_status st;
        if (!strcmp(prop, "growth")) st = claim_growth(a, model, claim, text);
        else if (!strcmp(prop, "peak_per_param")) st = claim_ratio(a, model, claim);
        else if (!strcmp(prop, "baseline")) st = claim_baseline(a, model, claim, models, nm);
        else if (!strcmp(prop, "activation")) st = claim_activation(a, model, claim, text);
        else if (!strcmp(prop, "sensitive")) {
            dlm_graph *g = NULL;
            st = dlm_model_build_builtin(model, NULL, &g);
            if (st == DLM_OK) {
                int seq = g->uses_T;
                char subject[96];
                snprintf(subject, sizeof subject, "%s sensitive to", model);
                int right = !strcmp(claim, seq ? "seq" : "batch");
                st = item(a, "5", subject, text, right ? DLM_VERDICT_RIGHT : DLM_VERDICT_WRONG,
                          "The formula depends on %s; every activation also grows linearly "
                          "with the batch B.",
                          seq ? "the sequence length T and the batch B" : "the batch B only");
            }
            dlm_graph_free(g);
        } else
            st = dlm_error(DLM_EPARSE, "%s:%d: column 'property': '%s' is not one dlmem audits "
                           "(valid: baseline, sensitive, growth, peak_per_param, activation)",
                           c->path, c->lines[r], prop);
        if (st != DLM_OK) return st;
    }
    return DLM_OK;
}

/* ---- driver ------------------------------------------------------------------------- */

void dlm_audit_free(dlm_audit *a)
{
    if (!a) return;
    for (int i = 0; i < a->series.n; i++) {
        if (a->data) dlm_fitdata_free(&a->data[i]);
        if (a->preds) dlm_prediction_free(&a->preds[i]);
    }
    free(a->data);
    free(a->fits);
    free(a->preds);
    free(a->table_of);
    free(a->items);
    dlm_findings_free(&a->findings);
    dlm_series_set_free(&a->series);
    free(a);
}

dlm_status dlm_audit_run(const char *const *files, int n, dlm_audit **out)
{
    *out = NULL;
    dlm_audit *a = calloc(1, sizeof *a);
    if (!a) return dlm_error(DLM_ENOMEM, "out of memory");
    dlm_csv **cs = calloc((size_t)(n > 0 ? n : 1), sizeof *cs);
    dlm_status st = cs ? DLM_OK : dlm_error(DLM_ENOMEM, "out of memory");
    /* read and classify first, so that an error comes before any output */
    for (int i = 0; st == DLM_OK && i < n; i++) {
        st = dlm_csv_read(files[i], &cs[i]);
        if (st == DLM_OK && dlm_csv_col(cs[i], "seed_theory") < 0 &&
            dlm_csv_col(cs[i], "peak_mb") < 0 && dlm_csv_col(cs[i], "property") < 0)
            st = dlm_error(DLM_EPARSE, "%s:1: not a seed table dlmem audits (expected the "
                           "columns of data/seed/table1.csv: seed_theory, ...; table2-4.csv: "
                           "before_mb, peak_mb, ...; or table5.csv: property, claim, ...)",
                           files[i]);
    }
    for (int i = 0; st == DLM_OK && i < n; i++)
        if (dlm_csv_col(cs[i], "seed_theory") >= 0) st = audit_params(a, cs[i]);
    /* all memory tables together: the unit is decided once */
    mrow *all = NULL;
    int nall = 0;
    for (int i = 0; st == DLM_OK && i < n; i++) {
        if (dlm_csv_col(cs[i], "peak_mb") < 0) continue;
        mrow *m = NULL;
        int k = 0;
        st = read_memory(cs[i], &m, &k);
        if (st != DLM_OK) break;
        mrow *na = realloc(all, (size_t)(nall + k) * sizeof *na);
        if (!na) {
            free(m);
            st = dlm_error(DLM_ENOMEM, "out of memory");
            break;
        }
        all = na;
        memcpy(all + nall, m, (size_t)k * sizeof *m);
        nall += k;
        free(m);
    }
    if (st == DLM_OK && nall) st = audit_memory(a, all, nall);
    free(all);
    for (int i = 0; st == DLM_OK && i < n; i++)
        if (dlm_csv_col(cs[i], "property") >= 0) st = audit_claims(a, cs[i]);
    for (int i = 0; cs && i < n; i++) dlm_csv_free(cs[i]);
    free(cs);
    if (st != DLM_OK) {
        dlm_audit_free(a);
        return st;
    }
    *out = a;
    return DLM_OK;
}
