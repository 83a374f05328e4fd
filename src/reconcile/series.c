/* series.c — reading measured CSVs and grouping rows into series (see series.h). */
#include "series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analytic/memory.h"
#include "../core/csv.h"
#include "../models/models.h"

/* One usable row of a file. */
typedef struct row {
    char key[640];       /* configuration, without B and T */
    int64_t B, T;
    double peak, before;
    int line, ok;
    double extra[DLM_SERIES_MAX_EXTRA];
} row;

const char *dlm_xvar_letter(dlm_xvar v) { return v == DLM_X_BATCH ? "B" : "T"; }
const char *dlm_xvar_name(dlm_xvar v) { return v == DLM_X_BATCH ? "batch" : "sequence length"; }

/* A text field into dst; one that does not fit is an error, never cut (two
 * long model names cut alike would merge two series). */
static dlm_status copy_field(char *dst, size_t n, const dlm_csv *c, int r, int col,
                             const char *dflt)
{
    const char *v = col >= 0 ? dlm_csv_get(c, r, col) : "";
    if (!v[0]) v = dflt;
    for (const char *q = v; *q; q++) /* names are printed: no newline, no escape sequence */
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            return dlm_error(DLM_EPARSE, "%s:%d: column '%s': a control character (byte %d) in "
                             "a name", c->path, c->lines[r], c->header[col], (int)(q - v) + 1);
    if (strlen(v) >= n)
        return dlm_error(DLM_EPARSE, "%s:%d: column '%s': %zu characters, more than the %zu "
                         "dlmem keeps", c->path, c->lines[r], c->header[col], strlen(v), n - 1);
    memcpy(dst, v, strlen(v) + 1);
    return DLM_OK;
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

/* Rows [a, b) of one configuration, ordered by (the fixed input, x, position):
 * each candidate series is then one run of the order. */
typedef struct by_fixed {
    int64_t fixed, x;
    int i; /* row index in [a, b) */
} by_fixed;

static int cmp_by_fixed(const void *p, const void *q)
{
    const by_fixed *u = p, *v = q;
    if (u->fixed != v->fixed) return u->fixed < v->fixed ? -1 : 1;
    if (u->x != v->x) return u->x < v->x ? -1 : 1;
    return (u->i > v->i) - (u->i < v->i);
}

/* Candidate series of one group: its rows are ord[lo, hi). */
typedef struct cand {
    dlm_xvar xvar;
    int64_t fixed;
    int nd, n_failed;
    int first;  /* the first row (in [a, b) order) with this fixed value */
    int lo, hi; /* its rows in the pass's order */
    const by_fixed *ord;
} cand;

static int cmp_cand(const void *p, const void *q)
{
    const cand *u = p, *v = q;
    if (u->xvar != v->xvar) return u->xvar < v->xvar ? -1 : 1;
    return (u->first > v->first) - (u->first < v->first);
}

static dlm_status emit(dlm_series_set *set, const dlm_series *proto, const row *r, const cand *c,
                       int has_before)
{
    int n = 0, m = c->hi - c->lo;
    size_t cnt = (size_t)(m > 0 ? m : 1);
    double *x = malloc(cnt * sizeof *x), *pk = malloc(cnt * sizeof *pk);
    double *bf = malloc(cnt * sizeof *bf);
    int *ln = malloc(cnt * sizeof *ln);
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
        ex[k] = malloc(cnt * sizeof *ex[k]);
        if (!ex[k]) {
            st = dlm_error(DLM_ENOMEM, "out of memory");
            goto done_extra;
        }
        s.extra[k] = ex[k];
    }
    for (int q = c->lo; q < c->hi; q++) {
        const row *w = &r[c->ord[q].i];
        if (!w->ok) {
            s.n_failed++;
            continue;
        }
        x[n] = (double)(c->xvar == DLM_X_BATCH ? w->B : w->T);
        pk[n] = w->peak;
        bf[n] = w->before;
        ln[n] = w->line;
        for (int k = 0; k < s.n_extra; k++) ex[k][n] = w->extra[k];
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

/* Groups rows [a, b) of one configuration (sorted by B, T) into series (rule
 * in series.h's spirit: a series is every point with the other input fixed;
 * two-point series are kept only when the group has no longer one).  Sorting
 * by the fixed input makes it n log n in the rows: each candidate is one run. */
static dlm_status group(dlm_series_set *set, const dlm_series *proto, const row *r, int a, int b,
                        int has_before)
{
    int n = b - a, has_seq = 0;
    for (int i = a; i < b; i++)
        if (r[i].T != 0) has_seq = 1;
    by_fixed *ord[2] = {malloc((size_t)n * sizeof **ord), has_seq ? malloc((size_t)n * sizeof **ord) : NULL};
    cand *cs = malloc((size_t)(2 * n + 1) * sizeof *cs);
    dlm_status st = DLM_OK;
    if (!ord[0] || (has_seq && !ord[1]) || !cs) {
        st = dlm_error(DLM_ENOMEM, "out of memory");
        goto out;
    }
    int nc = 0;
    for (int pass = 0; pass < (has_seq ? 2 : 1); pass++) {
        dlm_xvar xv = pass == 0 ? DLM_X_BATCH : DLM_X_SEQ;
        by_fixed *o = ord[pass];
        for (int i = 0; i < n; i++) {
            const row *w = &r[a + i];
            o[i] = (by_fixed){xv == DLM_X_BATCH ? w->T : w->B, xv == DLM_X_BATCH ? w->B : w->T, a + i};
        }
        qsort(o, (size_t)n, sizeof *o, cmp_by_fixed);
        for (int lo = 0; lo < n;) {
            int hi = lo, nd = 0, first = o[lo].i;
            int64_t last_x = 0;
            int have_x = 0;
            for (; hi < n && o[hi].fixed == o[lo].fixed; hi++) {
                if (o[hi].i < first) first = o[hi].i;
                if (!r[o[hi].i].ok) continue;
                /* distinct x among ok rows: the run is sorted by x */
                if (!have_x || o[hi].x != last_x) nd++;
                last_x = o[hi].x;
                have_x = 1;
            }
            cs[nc++] = (cand){xv, o[lo].fixed, nd, 0, first, lo, hi, o};
            lo = hi;
        }
    }
    /* candidates in the order their first row comes, batch series first */
    qsort(cs, (size_t)nc, sizeof *cs, cmp_cand);
    int longest = 0;
    for (int k = 0; k < nc; k++)
        if (cs[k].nd > longest) longest = cs[k].nd;
    int emitted = 0;
    for (int k = 0; k < nc && st == DLM_OK; k++) {
        /* keep series that can be fitted; shorter ones only if nothing longer */
        if (cs[k].nd >= 3 || (longest < 3 && cs[k].nd >= 2)) {
            st = emit(set, proto, r, &cs[k], has_before);
            emitted++;
        }
    }
    if (st == DLM_OK && !emitted) {
        /* a lone point (or only failed rows): one batch series, reported as too short */
        for (int k = 0; k < nc; k++)
            if (cs[k].xvar == DLM_X_BATCH && cs[k].fixed == r[a].T) {
                st = emit(set, proto, r, &cs[k], has_before);
                break;
            }
    }
out:
    free(ord[0]);
    free(ord[1]);
    free(cs);
    return st;
}

/* A byte count read as a double: not negative, and at most 2^62 (no memory
 * holds more; larger values would wrap when written as integers). */
#define SERIES_MAX_BYTES 4611686018427387904.0
#define SERIES_MAX_X ((int64_t)1 << 53)
static dlm_status byte_count(const dlm_csv *c, int row, int col, double v)
{
    if (v < 0 || v > SERIES_MAX_BYTES)
        return dlm_error(DLM_EPARSE, "%s:%d: column '%s': %s is %s", c->path, c->lines[row],
                         c->header[col], dlm_csv_get(c, row, col),
                         v < 0 ? "negative" : "more than 2^62 bytes");
    return DLM_OK;
}

/* Where a file keeps the fields of a series' configuration. */
typedef struct proto_cols {
    const dlm_csv *c;
    const char *path;
    int model, mode, dtype, attn, variant, opt, ckpt, ac, gpu, prof, set;
    const char *file_profile;
    const char *peak_unit;  /* "bytes", "MiB" or "MB": the unit of the file's peak column */
    double unit_mult;       /* bytes per unit */
    int n_extra;
    char (*extra_name)[48];
    char (*built)[DLM_SERIES_SET_MAX + 32]; /* the last "model|set" whose graph was built */
} proto_cols;

/* The set of row i, checked against the model (when dlmem knows it) and
 * written in its one spelling (dlm_model_config_format) into p->set. */
static dlm_status read_set(const proto_cols *pc, int i, dlm_series *p)
{
    const dlm_csv *c = pc->c;
    char cell[DLM_SERIES_SET_MAX];
    const dlm_model_info *info;
    dlm_model_config cfg;
    DLM_TRY(copy_field(cell, sizeof cell, c, i, pc->set, ""));
    if (!cell[0] || dlm_model_find(p->model, &info) != DLM_OK) {
        /* the defaults, or a model dlmem has no description of (no prediction:
         * its set is kept as written) */
        memcpy(p->set, cell, sizeof cell);
        return DLM_OK;
    }
    dlm_status st = dlm_model_config_read(info, cell, &cfg);
    if (st != DLM_OK)
        return dlm_error_context(DLM_EPARSE, "%s:%d: column 'set'", pc->path, c->lines[i]);
    if (dlm_model_config_format(&cfg, p->set, sizeof p->set) != DLM_OK)
        return dlm_error(DLM_EPARSE, "%s:%d: column 'set': '%.60s' is more than the %zu "
                         "characters dlmem keeps", pc->path, c->lines[i], cell,
                         sizeof p->set - 1);
    /* knobs each in range may still make no network (a U-Net's height that
     * 2^depth does not divide): built once per configuration, here, so that
     * the error names the row */
    char key[sizeof *pc->built];
    snprintf(key, sizeof key, "%s|%s", p->model, p->set);
    if (p->set[0] && strcmp(key, *pc->built)) {
        dlm_graph *g = NULL;
        st = dlm_model_build(&cfg, &g);
        dlm_graph_free(g);
        if (st != DLM_OK)
            return dlm_error_context(DLM_EPARSE, "%s:%d: column 'set': %s", pc->path,
                                     c->lines[i], p->set);
        memcpy(*pc->built, key, sizeof key);
    }
    return DLM_OK;
}

/* The configuration of row i (everything but B, T and the bytes). */
static dlm_status fill_proto(const proto_cols *pc, int i, dlm_series *p)
{
    const dlm_csv *c = pc->c;
    memset(p, 0, sizeof *p);
    DLM_TRY(copy_field(p->model, sizeof p->model, c, i, pc->model, ""));
    DLM_TRY(copy_field(p->mode, sizeof p->mode, c, i, pc->mode, ""));
    DLM_TRY(copy_field(p->dtype, sizeof p->dtype, c, i, pc->dtype, "fp32"));
    DLM_TRY(copy_field(p->attention, sizeof p->attention, c, i, pc->attn, ""));
    if (!strcmp(p->attention, "sdpa")) snprintf(p->attention, sizeof p->attention, "fused");
    DLM_TRY(copy_field(p->variant, sizeof p->variant, c, i, pc->variant, "base"));
    DLM_TRY(copy_field(p->optimizer, sizeof p->optimizer, c, i, pc->opt, ""));
    DLM_TRY(copy_field(p->checkpoint, sizeof p->checkpoint, c, i, pc->ckpt, "none"));
    DLM_TRY(copy_field(p->autocast, sizeof p->autocast, c, i, pc->ac, "none"));
    DLM_TRY(copy_field(p->gpu, sizeof p->gpu, c, i, pc->gpu, ""));
    DLM_TRY(copy_field(p->profile, sizeof p->profile, c, i, pc->prof, pc->file_profile));
    if (p->model[0]) DLM_TRY(read_set(pc, i, p));
    snprintf(p->file, sizeof p->file, "%s", pc->path);
    p->n_extra = pc->n_extra;
    for (int k = 0; k < pc->n_extra; k++) memcpy(p->extra_name[k], pc->extra_name[k], 48);
    if (!p->model[0] || !p->mode[0])
        return dlm_error(DLM_EPARSE, "%s:%d: column '%s' is empty", pc->path, c->lines[i],
                         p->model[0] ? "mode" : "model");
    dlm_mode mode_ok;
    if (dlm_mode_parse(p->mode, &mode_ok) != DLM_OK)
        return dlm_error(DLM_EPARSE, "%s:%d: column 'mode': '%s' is not a mode (valid: infer, "
                         "forward, train; lower case)", pc->path, c->lines[i], p->mode);
    snprintf(p->peak_unit, sizeof p->peak_unit, "%s", pc->peak_unit);
    if (strcmp(p->profile, "runtime") && strcmp(p->profile, "pytorch"))
        return dlm_error(DLM_EPARSE, "%s:%d: column '%s': '%s' is not a profile (valid: "
                         "runtime, pytorch)", pc->path, c->lines[i], c->header[pc->prof],
                         p->profile);
    p->resolution = !strcmp(p->profile, "pytorch") ? 512 : 1;
    if (pc->unit_mult > 1) p->resolution = pc->unit_mult * 0.01; /* MiB or MB to 2 decimals */
    return DLM_OK;
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
    int c_set = dlm_csv_col(c, "set"); /* absent (older files): the defaults */
    /* other byte columns: measured workspaces a prediction may take as inputs */
    int c_extra[DLM_SERIES_MAX_EXTRA], n_extra = 0;
    char extra_name[DLM_SERIES_MAX_EXTRA][48];
    for (int k = 0; k < c->ncols; k++) {
        const char *h = c->header[k];
        size_t L = strlen(h);
        if (L <= 6 || strcmp(h + L - 6, "_bytes") || k == idx[4] || k == c_before) continue;
        /* every byte column is read or refused, never dropped without a word */
        if (L - 6 >= sizeof extra_name[0] || n_extra == DLM_SERIES_MAX_EXTRA) {
            st = dlm_error(DLM_EPARSE, "%s: column '%.60s': %s", path, h,
                           n_extra == DLM_SERIES_MAX_EXTRA
                               ? "more than 24 byte columns (*_bytes) besides the peak and before"
                               : "a byte column's name longer than 53 characters");
            dlm_csv_free(c);
            return st;
        }
        c_extra[n_extra] = k;
        snprintf(extra_name[n_extra], sizeof extra_name[0], "%.*s", (int)(L - 6), h);
        n_extra++;
    }
    const char *file_profile = "pytorch";
    if (dlm_csv_col(c, "median_ms") >= 0 && dlm_csv_col(c, "cublas") >= 0) file_profile = "runtime";

    char built[DLM_SERIES_SET_MAX + 32] = "";
    proto_cols pc = {c, path, idx[0], idx[1], c_dtype, c_attn, c_variant, c_opt, c_ckpt, c_ac,
                     c_gpu, c_prof, c_set, file_profile, units[u].unit, units[u].mult, n_extra,
                     extra_name, &built};
    row *rows = calloc((size_t)c->nrows, sizeof *rows);
    if (!rows) st = dlm_error(DLM_ENOMEM, "out of memory");
    for (int i = 0; st == DLM_OK && i < c->nrows; i++) {
        row *w = &rows[i];
        dlm_series proto, *p = &proto;
        w->line = c->lines[i];
        if ((st = fill_proto(&pc, i, p)) != DLM_OK) break;
        if (c_status < 0) {
            w->ok = 1;
        } else {
            /* measure and torch_reference.py write ok or oom; anything else is not
             * guessed at ("OK" is not out of memory) */
            const char *v = dlm_csv_get(c, i, c_status);
            if (!strcmp(v, "ok")) w->ok = 1;
            else if (!strcmp(v, "oom")) w->ok = 0;
            else {
                st = dlm_error(DLM_EPARSE, "%s:%d: column 'status': '%.40s' is not a status "
                               "(valid: ok, oom)", path, w->line, v);
                break;
            }
        }
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
        /* B and T become the series' x, a double: beyond 2^53 it would not be exact */
        if (w->B > SERIES_MAX_X || w->T > SERIES_MAX_X) {
            st = dlm_error(DLM_EPARSE, "%s:%d: column '%s': %lld is more than 2^53", path, w->line,
                           w->B > SERIES_MAX_X ? "batch" : "seq",
                           (long long)(w->B > SERIES_MAX_X ? w->B : w->T));
            break;
        }
        if (w->ok) {
            /* failed rows may leave the byte columns empty */
            if ((st = dlm_csv_double(c, i, idx[4], &w->peak)) != DLM_OK) break;
            w->peak *= units[u].mult;
            if ((st = byte_count(c, i, idx[4], w->peak)) != DLM_OK) break;
            if (c_before >= 0 && ((st = dlm_csv_double(c, i, c_before, &w->before)) != DLM_OK ||
                                  (st = byte_count(c, i, c_before, w->before *= units[u].mult)) != DLM_OK))
                break;
        }
        for (int k = 0; k < n_extra; k++) {
            w->extra[k] = NAN;
            if (w->ok && dlm_csv_get(c, i, c_extra[k])[0] &&
                ((st = dlm_csv_double(c, i, c_extra[k], &w->extra[k])) != DLM_OK ||
                 (st = byte_count(c, i, c_extra[k], w->extra[k])) != DLM_OK))
                break;
        }
        if (st != DLM_OK) break;
        {
            /* the configuration as one key; the fields' sizes sum below sizeof key */
            const char *f[] = {p->model, p->set, p->variant, p->mode, p->dtype, p->attention,
                               p->optimizer, p->checkpoint, p->autocast, p->profile, p->gpu};
            size_t L = 0;
            for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
                size_t fl = strlen(f[k]);
                if (L + fl + 2 > sizeof w->key) {
                    st = dlm_error(DLM_EINTERNAL, "series key too long");
                    break;
                }
                if (k) w->key[L++] = '|';
                memcpy(w->key + L, f[k], fl);
                L += fl;
            }
            w->key[L] = '\0';
            if (st != DLM_OK) break;
        }
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
                dlm_series proto;
                st = fill_proto(&pc, ord[a], &proto);
                if (st == DLM_OK) st = group(set, &proto, sorted, a, b, c_before >= 0);
                a = b;
            }
        }
        free(ord);
        free(sorted);
    }
    free(rows);
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
    snprintf(buf, n, "%s%s%s%s %s %s%s%s%s%s, %s varies (%s%s%s)", s->model,
             s->set[0] ? "[" : "", s->set, s->set[0] ? "]" : "", s->mode, s->dtype,
             s->attention[0] ? " " : "", s->attention, extra, fixed, dlm_xvar_letter(s->xvar),
             s->profile, s->gpu[0] ? ", " : "", s->gpu);
}

void dlm_series_stem(const dlm_series *s, char *buf, size_t n)
{
    char raw[512];
    snprintf(raw, sizeof raw, "%s%s%s-%s-%s%s%s%s%s-%s%s%lld-%s", s->model, s->set[0] ? "-" : "",
             s->set, s->mode, s->dtype,
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
