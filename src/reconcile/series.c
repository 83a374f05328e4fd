/* series.c — reading measured CSVs and grouping rows into series (see series.h). */
#include "series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analytic/memory.h"
#include "../core/csv.h"

/* One usable row of a file. */
typedef struct row {
    char key[256];       /* configuration, without B and T */
    int64_t B, T;
    double peak, before;
    int line, ok;
    double extra[DLM_SERIES_MAX_EXTRA];
} row;

const char *dlm_xvar_letter(dlm_xvar v) { return v == DLM_X_BATCH ? "B" : "T"; }
const char *dlm_xvar_name(dlm_xvar v) { return v == DLM_X_BATCH ? "batch" : "sequence length"; }

static void copy_field(char *dst, size_t n, const dlm_csv *c, int r, int col, const char *dflt)
{
    const char *v = col >= 0 ? dlm_csv_get(c, r, col) : "";
    snprintf(dst, n, "%s", v[0] ? v : dflt);
}

dlm_status dlm_series_add(dlm_series_set *set, const dlm_series *proto, int n, const double *x,
                          const double *peak, const double *before, const int *line)
{
    if (set->n == set->cap) {
        int nc = set->cap ? 2 * set->cap : 16;
        dlm_series *ns = realloc(set->s, (size_t)nc * sizeof *ns);
        if (!ns) return dlm_error(DLM_ENOMEM, "out of memory");
        set->s = ns;
        set->cap = nc;
    }
    dlm_series *s = &set->s[set->n];
    *s = *proto;
    size_t m = (size_t)(n > 0 ? n : 1);
    s->n = n;
    s->x = malloc(m * sizeof *s->x);
    s->peak = malloc(m * sizeof *s->peak);
    s->before = before ? malloc(m * sizeof *s->before) : NULL;
    s->line = malloc(m * sizeof *s->line);
    if (!s->x || !s->peak || !s->line || (before && !s->before)) {
        free(s->x);
        free(s->peak);
        free(s->before);
        free(s->line);
        return dlm_error(DLM_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        s->x[i] = x[i];
        s->peak[i] = peak[i];
        if (before) s->before[i] = before[i];
        s->line[i] = line ? line[i] : 0;
    }
    /* extra columns: the prototype's arrays (if any) hold n values to copy */
    for (int k = 0; k < s->n_extra; k++) {
        const double *src = proto->extra[k];
        s->extra[k] = malloc(m * sizeof *s->extra[k]);
        if (!s->extra[k]) {
            for (int j = 0; j < k; j++) free(s->extra[j]);
            free(s->x);
            free(s->peak);
            free(s->before);
            free(s->line);
            return dlm_error(DLM_ENOMEM, "out of memory");
        }
        for (int i = 0; i < n; i++) s->extra[k][i] = src ? src[i] : NAN;
    }
    set->n++;
    return DLM_OK;
}

void dlm_series_set_free(dlm_series_set *set)
{
    for (int i = 0; i < set->n; i++) {
        free(set->s[i].x);
        free(set->s[i].peak);
        free(set->s[i].before);
        free(set->s[i].line);
        for (int k = 0; k < set->s[i].n_extra; k++) free(set->s[i].extra[k]);
    }
    free(set->s);
    memset(set, 0, sizeof *set);
}

static int cmp_row(const void *a, const void *b)
{
    const row *p = a, *q = b;
    int k = strcmp(p->key, q->key);
    if (k) return k;
    if (p->B != q->B) return p->B < q->B ? -1 : 1;
    if (p->T != q->T) return p->T < q->T ? -1 : 1;
    return p->line - q->line;
}

/* Candidate series of one configuration group: rows [a, b) (sorted by B, T). */
typedef struct cand {
    dlm_xvar xvar;
    int64_t fixed;
    int nd, n_failed;
} cand;

static dlm_status emit(dlm_series_set *set, const dlm_series *proto, const row *r, int a, int b,
                       const cand *c, int has_before)
{
    int n = 0;
    double *x = malloc((size_t)(b - a) * sizeof *x), *pk = malloc((size_t)(b - a) * sizeof *pk);
    double *bf = malloc((size_t)(b - a) * sizeof *bf);
    int *ln = malloc((size_t)(b - a) * sizeof *ln);
    dlm_status st = DLM_OK;
    if (!x || !pk || !bf || !ln) {
        st = dlm_error(DLM_ENOMEM, "out of memory");
        goto done;
    }
    dlm_series s = *proto;
    s.xvar = c->xvar;
    s.fixed = c->fixed;
    s.n_failed = 0;
    double *ex[DLM_SERIES_MAX_EXTRA] = {0};
    for (int k = 0; k < s.n_extra; k++) {
        ex[k] = malloc((size_t)(b - a) * sizeof *ex[k]);
        if (!ex[k]) {
            st = dlm_error(DLM_ENOMEM, "out of memory");
            goto done_extra;
        }
        s.extra[k] = ex[k];
    }
    for (int i = a; i < b; i++) {
        int64_t other = c->xvar == DLM_X_BATCH ? r[i].T : r[i].B;
        if (other != c->fixed) continue;
        if (!r[i].ok) {
            s.n_failed++;
            continue;
        }
        x[n] = (double)(c->xvar == DLM_X_BATCH ? r[i].B : r[i].T);
        pk[n] = r[i].peak;
        bf[n] = r[i].before;
        ln[n] = r[i].line;
        for (int k = 0; k < s.n_extra; k++) ex[k][n] = r[i].extra[k];
        n++;
    }
    st = dlm_series_add(set, &s, n, x, pk, has_before ? bf : NULL, ln);
done_extra:
    for (int k = 0; k < s.n_extra; k++) free(ex[k]);
done:
    free(x);
    free(pk);
    free(bf);
    free(ln);
    return st;
}

/* Groups rows [a, b) of one configuration into series (rule in series.h's
 * spirit: a series is every point with the other input fixed; two-point
 * series are kept only when the group has no longer one). */
static dlm_status group(dlm_series_set *set, const dlm_series *proto, const row *r, int a, int b,
                        int has_before)
{
    cand *cs = malloc((size_t)(2 * (b - a) + 1) * sizeof *cs);
    if (!cs) return dlm_error(DLM_ENOMEM, "out of memory");
    int nc = 0, has_seq = 0;
    for (int i = a; i < b; i++)
        if (r[i].T != 0) has_seq = 1;
    for (int pass = 0; pass < 2; pass++) {
        dlm_xvar xv = pass == 0 ? DLM_X_BATCH : DLM_X_SEQ;
        if (xv == DLM_X_SEQ && !has_seq) break;
        for (int i = a; i < b; i++) {
            int64_t fixed = xv == DLM_X_BATCH ? r[i].T : r[i].B;
            int seen = 0;
            for (int k = 0; k < nc && !seen; k++) seen = cs[k].xvar == xv && cs[k].fixed == fixed;
            if (seen) continue;
            /* distinct x among ok rows with this fixed value */
            int nd = 0;
            for (int j = a; j < b; j++) {
                if (!r[j].ok || (xv == DLM_X_BATCH ? r[j].T : r[j].B) != fixed) continue;
                int dup = 0;
                for (int k = a; k < j && !dup; k++)
                    dup = r[k].ok && (xv == DLM_X_BATCH ? r[k].T : r[k].B) == fixed &&
                          (xv == DLM_X_BATCH ? r[k].B == r[j].B : r[k].T == r[j].T);
                if (!dup) nd++;
            }
            cs[nc++] = (cand){xv, fixed, nd, 0};
        }
    }
    int longest = 0;
    for (int k = 0; k < nc; k++)
        if (cs[k].nd > longest) longest = cs[k].nd;
    dlm_status st = DLM_OK;
    int emitted = 0;
    for (int k = 0; k < nc && st == DLM_OK; k++) {
        /* keep series that can be fitted; shorter ones only if nothing longer */
        if (cs[k].nd >= 3 || (longest < 3 && cs[k].nd >= 2)) {
            st = emit(set, proto, r, a, b, &cs[k], has_before);
            emitted++;
        }
    }
    if (st == DLM_OK && !emitted) {
        /* a lone point (or only failed rows): one batch series, reported as too short */
        cand c = {DLM_X_BATCH, r[a].T, 0, 0};
        st = emit(set, proto, r, a, b, &c, has_before);
    }
    free(cs);
    return st;
}

dlm_status dlm_series_read(const char *path, dlm_series_set *set)
{
    static const char *req[] = {"model", "mode", "batch", "seq"};
    /* the peak in bytes, or in a unit the column names (as audit reads them) */
    static const struct { const char *peak, *before, *unit; double mult; } units[] = {
        {"peak_bytes", "before_bytes", "bytes", 1},
        {"peak_mib", "before_mib", "MiB", 1048576.0},
        {"peak_mb", "before_mb", "MB", 1e6},
    };
    int idx[5], u = -1;
    dlm_csv *c;
    DLM_TRY(dlm_csv_read(path, &c));
    dlm_status st = dlm_csv_require(c, 4, req, idx);
    for (int k = 0; st == DLM_OK && k < 3 && u < 0; k++)
        if ((idx[4] = dlm_csv_col(c, units[k].peak)) >= 0) u = k;
    if (st == DLM_OK && u < 0)
        st = dlm_error(DLM_EPARSE, "%s: no peak column (valid: peak_bytes, peak_mib = MiB of "
                       "2^20 bytes, peak_mb = MB of 10^6 bytes)", path);
    if (st == DLM_OK && c->nrows == 0)
        st = dlm_error(DLM_EPARSE, "%s: no data rows (only a header)", path);
    if (st != DLM_OK) {
        dlm_csv_free(c);
        return st;
    }
    int c_dtype = dlm_csv_col(c, "dtype"), c_attn = dlm_csv_col(c, "attention");
    int c_before = dlm_csv_col(c, units[u].before), c_status = dlm_csv_col(c, "status");
    int c_variant = dlm_csv_col(c, "variant"), c_opt = dlm_csv_col(c, "optimizer");
    int c_ckpt = dlm_csv_col(c, "checkpoint"), c_ac = dlm_csv_col(c, "autocast");
    int c_gpu = dlm_csv_col(c, "gpu"), c_prof = dlm_csv_col(c, "profile");
    if (c_prof < 0) c_prof = dlm_csv_col(c, "source");
    /* other byte columns: measured workspaces a prediction may take as inputs */
    int c_extra[DLM_SERIES_MAX_EXTRA], n_extra = 0;
    char extra_name[DLM_SERIES_MAX_EXTRA][48];
    for (int k = 0; k < c->ncols && n_extra < DLM_SERIES_MAX_EXTRA; k++) {
        const char *h = c->header[k];
        size_t L = strlen(h);
        if (L <= 6 || L - 6 >= sizeof extra_name[0] || strcmp(h + L - 6, "_bytes") ||
            k == idx[4] || k == c_before)
            continue;
        c_extra[n_extra] = k;
        snprintf(extra_name[n_extra], sizeof extra_name[0], "%.*s", (int)(L - 6), h);
        n_extra++;
    }
    const char *file_profile = "pytorch";
    if (dlm_csv_col(c, "median_ms") >= 0 && dlm_csv_col(c, "cublas") >= 0) file_profile = "runtime";

    row *rows = calloc((size_t)c->nrows, sizeof *rows);
    dlm_series *protos = calloc((size_t)c->nrows, sizeof *protos);
    if (!rows || !protos) st = dlm_error(DLM_ENOMEM, "out of memory");
    for (int i = 0; st == DLM_OK && i < c->nrows; i++) {
        row *w = &rows[i];
        dlm_series *p = &protos[i];
        w->line = c->lines[i];
        copy_field(p->model, sizeof p->model, c, i, idx[0], "");
        copy_field(p->mode, sizeof p->mode, c, i, idx[1], "");
        copy_field(p->dtype, sizeof p->dtype, c, i, c_dtype, "fp32");
        copy_field(p->attention, sizeof p->attention, c, i, c_attn, "");
        if (!strcmp(p->attention, "sdpa")) snprintf(p->attention, sizeof p->attention, "fused");
        copy_field(p->variant, sizeof p->variant, c, i, c_variant, "base");
        copy_field(p->optimizer, sizeof p->optimizer, c, i, c_opt, "");
        copy_field(p->checkpoint, sizeof p->checkpoint, c, i, c_ckpt, "none");
        copy_field(p->autocast, sizeof p->autocast, c, i, c_ac, "none");
        copy_field(p->gpu, sizeof p->gpu, c, i, c_gpu, "");
        copy_field(p->profile, sizeof p->profile, c, i, c_prof, file_profile);
        snprintf(p->file, sizeof p->file, "%s", path);
        snprintf(p->peak_unit, sizeof p->peak_unit, "%s", units[u].unit);
        p->n_extra = n_extra;
        for (int k = 0; k < n_extra; k++) {
            memcpy(p->extra_name[k], extra_name[k], sizeof p->extra_name[k]);
            p->extra[k] = NULL;
        }
        if (!p->model[0] || !p->mode[0]) {
            st = dlm_error(DLM_EPARSE, "%s:%d: column '%s' is empty", path, w->line,
                           p->model[0] ? "mode" : "model");
            break;
        }
        dlm_mode mode_ok;
        if (dlm_mode_parse(p->mode, &mode_ok) != DLM_OK) {
            st = dlm_error(DLM_EPARSE, "%s:%d: column 'mode': '%s' is not a mode (valid: infer, "
                           "forward, train; lower case)", path, w->line, p->mode);
            break;
        }
        if (strcmp(p->profile, "runtime") && strcmp(p->profile, "pytorch")) {
            st = dlm_error(DLM_EPARSE, "%s:%d: column '%s': '%s' is not a profile (valid: "
                           "runtime, pytorch)", path, w->line, c->header[c_prof], p->profile);
            break;
        }
        p->resolution = !strcmp(p->profile, "pytorch") ? 512 : 1;
        if (u > 0) p->resolution = units[u].mult * 0.01; /* MiB or MB, as written (2 decimals) */
        w->ok = c_status < 0 || !strcmp(dlm_csv_get(c, i, c_status), "ok");
        if ((st = dlm_csv_int(c, i, idx[2], &w->B)) != DLM_OK) break;
        if (w->B <= 0) {
            st = dlm_error(DLM_EPARSE, "%s:%d: column 'batch': %lld is not a positive batch size",
                           path, w->line, (long long)w->B);
            break;
        }
        if (dlm_csv_get(c, i, idx[3])[0] == '\0') w->T = 0;
        else if ((st = dlm_csv_int(c, i, idx[3], &w->T)) != DLM_OK) break;
        if (w->T < 0) {
            st = dlm_error(DLM_EPARSE, "%s:%d: column 'seq': %lld is negative", path, w->line,
                           (long long)w->T);
            break;
        }
        if (w->ok) {
            /* failed rows may leave the byte columns empty */
            if ((st = dlm_csv_double(c, i, idx[4], &w->peak)) != DLM_OK) break;
            w->peak *= units[u].mult;
            if (w->peak < 0) {
                st = dlm_error(DLM_EPARSE, "%s:%d: column '%s': %s is negative", path,
                               w->line, units[u].peak, dlm_csv_get(c, i, idx[4]));
                break;
            }
            if (c_before >= 0 && (st = dlm_csv_double(c, i, c_before, &w->before)) != DLM_OK)
                break;
            w->before *= units[u].mult;
        }
        for (int k = 0; k < n_extra; k++) {
            w->extra[k] = NAN;
            if (w->ok && dlm_csv_get(c, i, c_extra[k])[0] &&
                (st = dlm_csv_double(c, i, c_extra[k], &w->extra[k])) != DLM_OK)
                break;
        }
        if (st != DLM_OK) break;
        snprintf(w->key, sizeof w->key, "%s|%s|%s|%s|%s|%s|%s|%s|%s|%s", p->model, p->variant,
                 p->mode, p->dtype, p->attention, p->optimizer, p->checkpoint, p->autocast,
                 p->profile, p->gpu);
    }
    if (st == DLM_OK) {
        /* sort the rows, remembering each one's prototype by its index */
        int *ord = malloc((size_t)c->nrows * sizeof *ord);
        row *sorted = malloc((size_t)c->nrows * sizeof *sorted);
        if (!ord || !sorted) {
            st = dlm_error(DLM_ENOMEM, "out of memory");
        } else {
            for (int i = 0; i < c->nrows; i++) {
                sorted[i] = rows[i];
                sorted[i].line = i; /* temporarily: the original index */
            }
            qsort(sorted, (size_t)c->nrows, sizeof *sorted, cmp_row);
            for (int i = 0; i < c->nrows; i++) {
                ord[i] = sorted[i].line;
                sorted[i].line = rows[ord[i]].line;
            }
            for (int a = 0; a < c->nrows && st == DLM_OK;) {
                int b = a;
                while (b < c->nrows && !strcmp(sorted[b].key, sorted[a].key)) b++;
                st = group(set, &protos[ord[a]], sorted, a, b, c_before >= 0);
                a = b;
            }
        }
        free(ord);
        free(sorted);
    }
    free(rows);
    free(protos);
    dlm_csv_free(c);
    return st;
}

void dlm_series_label(const dlm_series *s, char *buf, size_t n)
{
    char extra[160] = "";
    if (strcmp(s->variant, "base"))
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), " %s", s->variant);
    if (s->optimizer[0])
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), " %s", s->optimizer);
    if (strcmp(s->checkpoint, "none"))
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), " ckpt=%s", s->checkpoint);
    if (strcmp(s->autocast, "none"))
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), " autocast=%s",
                 s->autocast);
    char fixed[48] = "";
    if (s->xvar == DLM_X_BATCH && s->fixed > 0)
        snprintf(fixed, sizeof fixed, ", T=%lld", (long long)s->fixed);
    else if (s->xvar == DLM_X_SEQ)
        snprintf(fixed, sizeof fixed, ", B=%lld", (long long)s->fixed);
    snprintf(buf, n, "%s %s %s%s%s%s%s, %s varies (%s%s%s)", s->model, s->mode, s->dtype,
             s->attention[0] ? " " : "", s->attention, extra, fixed, dlm_xvar_letter(s->xvar),
             s->profile, s->gpu[0] ? ", " : "", s->gpu);
}

void dlm_series_stem(const dlm_series *s, char *buf, size_t n)
{
    char raw[256];
    snprintf(raw, sizeof raw, "%s-%s-%s%s%s%s%s-%s%s%lld-%s", s->model, s->mode, s->dtype,
             s->attention[0] ? "-" : "", s->attention,
             strcmp(s->variant, "base") ? "-" : "", strcmp(s->variant, "base") ? s->variant : "",
             s->profile, s->xvar == DLM_X_BATCH ? "-T" : "-B", (long long)s->fixed,
             dlm_xvar_letter(s->xvar));
    size_t k = 0;
    for (const char *p = raw; *p && k + 1 < n; p++) {
        char ch = *p;
        int okc = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '-' || ch == '_' || ch == '.';
        buf[k++] = okc ? ch : '_';
    }
    buf[k] = '\0';
}
