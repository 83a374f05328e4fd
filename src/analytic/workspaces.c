/* workspaces.c — reading probed and measured workspace rows, and exact
 * lookups (see workspaces.h).
 *
 * Index: rows are sorted by (series key, batch, seq, newest version first,
 * earliest source first); each series is a run of that array, found through
 * an open-addressing hash of its key; a lookup in a series is a binary search
 * on (batch, seq).  Nothing is allocated per lookup. */
#include "config.h"
#include "workspaces.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/csv.h"
#include "../core/paths.h"

typedef struct ws_entry {
    const char *gkey; /* "sm|logic|op|phase|dtype|layout|key", interned: g[gid] */
    int gid;          /* the series' number in order of first appearance */
    dlm_ws_row row;
    int sm;
} ws_entry;

struct dlm_ws_series {
    const char *gkey;
    const ws_entry *e; /* rows of this series */
    int n;
};

struct dlm_ws_db {
    ws_entry *e;
    int n, cap;
    char **src;
    int n_src;
    dlm_ws_series *s;
    int n_s;
    int *hash;      /* series index + 1, 0 empty; size hcap (a power of two) */
    size_t hcap;
    char **g;       /* the distinct series keys (each once: hundreds of thousands of rows share them) */
    int n_g, cap_g;
    int *gh;        /* g index + 1, 0 empty; size gh_cap (a power of two) */
    size_t gh_cap;
    int finished;
};

dlm_status dlm_ws_db_alloc(dlm_ws_db **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? DLM_OK : dlm_error(DLM_ENOMEM, "out of memory");
}

void dlm_ws_db_free(dlm_ws_db *db)
{
    if (!db) return;
    for (int i = 0; i < db->n_g; i++) free(db->g[i]);
    free(db->g);
    free(db->gh);
    for (int i = 0; i < db->n_src; i++) free(db->src[i]);
    free(db->e);
    free(db->src);
    free(db->s);
    free(db->hash);
    free(db);
}

int dlm_ws_db_rows(const dlm_ws_db *db) { return db ? db->n : 0; }
int dlm_ws_db_n_sources(const dlm_ws_db *db) { return db ? db->n_src : 0; }
const char *dlm_ws_db_source(const dlm_ws_db *db, int i)
{
    return db && i >= 0 && i < db->n_src ? db->src[i] : "";
}

int dlm_ws_conv_key(char *buf, size_t n, int in_c, int in_h, int in_w, int out_c, int out_h,
                    int out_w, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw,
                    int groups)
{
    int k = snprintf(buf, n, "c%dx%dx%d-o%dx%dx%d-k%dx%d-s%dx%d-p%dx%d-d%dx%d-g%d", in_c, in_h,
                     in_w, out_c, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw, groups);
    return k > 0 && (size_t)k < n;
}

int dlm_ws_rnn_key(char *buf, size_t n, int input, int hidden, int layers, int bias, int dirs,
                   int proj)
{
    int k = snprintf(buf, n, "i%d-h%d-l%d-b%d-d%d-p%d", input, hidden, layers, bias ? 1 : 0, dirs,
                     proj);
    return k > 0 && (size_t)k < n;
}

/* The series key of a row into buf (n bytes); 0 if it does not fit. */
static int group_key(char *buf, size_t n, int sm, const char *logic, const char *op,
                     const char *phase, const char *dtype, const char *layout, const char *key)
{
    int k = snprintf(buf, n, "%d|%s|%s|%s|%s|%s|%s", sm, logic, op, phase, dtype, layout, key);
    return k > 0 && (size_t)k < n;
}

static uint64_t hash_str(const char *s);

/* The interned copy of series key k: its index into db->g (added if new), or -1. */
static int intern(dlm_ws_db *db, const char *k)
{
    if (2 * (size_t)(db->n_g + 1) > db->gh_cap) { /* grow and rehash */
        size_t nc = db->gh_cap ? 2 * db->gh_cap : 1024;
        int *h = calloc(nc, sizeof *h);
        if (!h) return -1;
        for (int i = 0; i < db->n_g; i++) {
            size_t j = hash_str(db->g[i]) & (nc - 1);
            while (h[j]) j = (j + 1) & (nc - 1);
            h[j] = i + 1;
        }
        free(db->gh);
        db->gh = h;
        db->gh_cap = nc;
    }
    size_t j = hash_str(k) & (db->gh_cap - 1);
    for (; db->gh[j]; j = (j + 1) & (db->gh_cap - 1))
        if (!strcmp(db->g[db->gh[j] - 1], k)) return db->gh[j] - 1;
    if (db->n_g == db->cap_g) {
        int nc = db->cap_g ? 2 * db->cap_g : 256;
        char **g = realloc(db->g, (size_t)nc * sizeof *g);
        if (!g) return -1;
        db->g = g;
        db->cap_g = nc;
    }
    if (!(db->g[db->n_g] = strdup(k))) return -1;
    db->gh[j] = db->n_g + 1;
    return db->n_g++;
}

static dlm_status add_source(dlm_ws_db *db, const char *path, int *idx)
{
    char **s = realloc(db->src, (size_t)(db->n_src + 1) * sizeof *s);
    if (!s) return dlm_error(DLM_ENOMEM, "out of memory");
    db->src = s;
    if (!(s[db->n_src] = strdup(path))) return dlm_error(DLM_ENOMEM, "out of memory");
    *idx = db->n_src++;
    return DLM_OK;
}

static dlm_status add_entry(dlm_ws_db *db, const char *gkey, int sm, const dlm_ws_row *r)
{
    int gid = intern(db, gkey);
    if (gid < 0) return dlm_error(DLM_ENOMEM, "out of memory");
    if (db->n == db->cap) {
        int nc = db->cap ? 2 * db->cap : 1024;
        ws_entry *e = realloc(db->e, (size_t)nc * sizeof *e);
        if (!e) return dlm_error(DLM_ENOMEM, "out of memory");
        db->e = e;
        db->cap = nc;
    }
    db->e[db->n++] = (ws_entry){db->g[gid], gid, *r, sm};
    db->finished = 0;
    return DLM_OK;
}

static int one_of(const char *s, const char *const *set)
{
    for (int i = 0; set[i]; i++)
        if (!strcmp(s, set[i])) return 1;
    return 0;
}

/* A text field of the row format: non-empty, no separator of the series key. */
static dlm_status text_field(const dlm_csv *c, int row, int col, const char *name,
                             const char *const *set, const char **out)
{
    const char *v = dlm_csv_get(c, row, col);
    if (!v[0] || strchr(v, '|') || (set && !one_of(v, set))) {
        char list[200] = "";
        for (int i = 0; set && set[i]; i++) {
            strncat(list, i ? ", " : " (valid: ", sizeof list - strlen(list) - 1);
            strncat(list, set[i], sizeof list - strlen(list) - 1);
        }
        if (set) strncat(list, ")", sizeof list - strlen(list) - 1);
        return dlm_error(DLM_EPARSE, "%s:%d: column '%s': '%s' is not valid%s", c->path,
                         c->lines[row], name, v, list);
    }
    *out = v;
    return DLM_OK;
}

static dlm_status int_field(const dlm_csv *c, int row, int col, const char *name, int64_t lo,
                            int64_t hi, int64_t *v)
{
    DLM_TRY(dlm_csv_int(c, row, col, v));
    if (*v < lo || *v > hi)
        return dlm_error(DLM_EPARSE, "%s:%d: column '%s': %lld is out of range (%lld to %lld)",
                         c->path, c->lines[row], name, (long long)*v, (long long)lo, (long long)hi);
    return DLM_OK;
}

#define BYTES_MAX (INT64_C(1) << 50) /* 1 PiB: far above any GPU's memory */

/* Probe rows: WSROWS.md's columns. */
static dlm_status read_probe(dlm_ws_db *db, const dlm_csv *c, int src)
{
    static const char *cols[] = {"gpu", "sm", "cudnn_version", "cublas_version", "logic", "op",
                                 "phase", "dtype", "layout", "key", "batch", "seq",
                                 "workspace_bytes", "reserve_bytes", "engine", "status"};
    static const char *ops[] = {"conv2d", "conv_transpose2d", "lstm", "gru", "cublas", "cublaslt", NULL};
    static const char *conv_ph[] = {"forward", "backward_data", "backward_filter", NULL};
    static const char *rnn_ph[] = {"inference", "training", "backward", NULL};
    static const char *blas_ph[] = {"handle", NULL};
    static const char *dtypes[] = {"fp32", "fp32-tf32", "fp16", "bf16", NULL};
    static const char *layouts[] = {"nchw", "nhwc", "-", NULL};
    static const char *status[] = {"ok", "none", NULL};
    int idx[16];
    DLM_TRY(dlm_csv_require(c, 16, cols, idx));
    for (int i = 0; i < c->nrows; i++) {
        int64_t sm, ver, cub, batch, seq, ws, res;
        const char *logic, *op, *phase, *dtype, *layout, *key, *stat;
        DLM_TRY(int_field(c, i, idx[1], "sm", 10, 200, &sm));
        DLM_TRY(int_field(c, i, idx[2], "cudnn_version", 0, 100000000, &ver));
        DLM_TRY(int_field(c, i, idx[3], "cublas_version", 0, 100000000, &cub));
        DLM_TRY(text_field(c, i, idx[4], "logic", NULL, &logic));
        DLM_TRY(text_field(c, i, idx[5], "op", ops, &op));
        int conv = !strncmp(op, "conv", 4), rnn = !strcmp(op, "lstm") || !strcmp(op, "gru");
        DLM_TRY(text_field(c, i, idx[6], "phase", conv ? conv_ph : rnn ? rnn_ph : blas_ph, &phase));
        DLM_TRY(text_field(c, i, idx[7], "dtype", dtypes, &dtype));
        DLM_TRY(text_field(c, i, idx[8], "layout", layouts, &layout));
        DLM_TRY(text_field(c, i, idx[9], "key", NULL, &key));
        /* cuBLAS rows: batch 0 (the workspace does not depend on the point) */
        DLM_TRY(int_field(c, i, idx[10], "batch", conv || rnn ? 1 : 0, 1000000000, &batch));
        DLM_TRY(int_field(c, i, idx[11], "seq", 0, 1000000000, &seq));
        DLM_TRY(int_field(c, i, idx[12], "workspace_bytes", 0, BYTES_MAX, &ws));
        DLM_TRY(int_field(c, i, idx[13], "reserve_bytes", 0, BYTES_MAX, &res));
        DLM_TRY(text_field(c, i, idx[15], "status", status, &stat));
        if (rnn && seq < 1)
            return dlm_error(DLM_EPARSE, "%s:%d: column 'seq': an %s row needs its sequence "
                             "length (>= 1)", c->path, c->lines[i], op);
        dlm_ws_row r = {batch, seq, ws, res, (int)ver, !strcmp(stat, "ok"), src, c->lines[i]};
        char gk[400];
        if (!group_key(gk, sizeof gk, (int)sm, logic, op, phase, dtype, layout, key))
            return dlm_error(DLM_EPARSE, "%s:%d: the row's key is too long", c->path, c->lines[i]);
        DLM_TRY(add_entry(db, gk, (int)sm, &r));
    }
    return DLM_OK;
}

/* The old table (tools/conv_workspace_table.py): ResNet-18's convolutions,
 * keyed without stride and padding.  Dilation 1, groups 1 (torchvision's
 * ResNets); the stride is in/out, and the padding the smallest that gives
 * the output size, which is torchvision's k/2 for every shape it holds. */
static dlm_status read_convtab(dlm_ws_db *db, const dlm_csv *c, int src)
{
    static const char *cols[] = {"gpu", "sm", "dtype", "phase", "in_c", "in_h", "in_w", "out_c",
                                 "kernel_h", "kernel_w", "out_h", "out_w", "batch", "bytes"};
    static const char *dtypes[] = {"fp32", "fp16", "bf16", NULL};
    static const char *phases[] = {"forward", "backward", NULL};
    int idx[14];
    DLM_TRY(dlm_csv_require(c, 14, cols, idx));
    for (int i = 0; i < c->nrows; i++) {
        int64_t sm, v[8], batch, bytes, sp[4];
        const char *dtype, *phase;
        static const char *names[] = {"in_c", "in_h", "in_w", "out_c", "kernel_h", "kernel_w",
                                      "out_h", "out_w"};
        DLM_TRY(int_field(c, i, idx[1], "sm", 10, 200, &sm));
        DLM_TRY(text_field(c, i, idx[2], "dtype", dtypes, &dtype));
        DLM_TRY(text_field(c, i, idx[3], "phase", phases, &phase));
        for (int k = 0; k < 8; k++) DLM_TRY(int_field(c, i, idx[4 + k], names[k], 1, 1000000, &v[k]));
        DLM_TRY(int_field(c, i, idx[12], "batch", 1, 1000000000, &batch));
        DLM_TRY(int_field(c, i, idx[13], "bytes", 0, BYTES_MAX, &bytes));
        for (int d = 0; d < 2; d++) { /* d 0: height, 1: width */
            int64_t in = v[1 + d], k = v[4 + d], out = v[6 + d], s = in / out, p = 0;
            if (s < 1) s = 1;
            while (p < k && (in + 2 * p - k) / s + 1 != out) p++;
            if (in + 2 * p < k || (in + 2 * p - k) / s + 1 != out)
                return dlm_error(DLM_EPARSE, "%s:%d: no stride and padding give a %lldx%lld "
                                 "output of a %lldx%lld input with a %lldx%lld kernel", c->path,
                                 c->lines[i], (long long)v[6], (long long)v[7], (long long)v[1],
                                 (long long)v[2], (long long)v[4], (long long)v[5]);
            sp[d] = s;
            sp[2 + d] = p;
        }
        char key[160];
        if (!dlm_ws_conv_key(key, sizeof key, (int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[6],
                             (int)v[7], (int)v[4], (int)v[5], (int)sp[0], (int)sp[1], (int)sp[2],
                             (int)sp[3], 1, 1, 1))
            return dlm_error(DLM_EPARSE, "%s:%d: convolution key too long", c->path, c->lines[i]);
        /* PyTorch 2.11's bundled cuDNN 9.19 (data/cudnn/README.md) */
        dlm_ws_row r = {batch, 0, bytes, 0, 91900, 1, src, c->lines[i]};
        char gk[400];
        if (!group_key(gk, sizeof gk, (int)sm, DLM_WS_LOGIC_PYTORCH, "conv2d", phase, dtype,
                       "nchw", key))
            return dlm_error(DLM_EPARSE, "%s:%d: convolution key too long", c->path, c->lines[i]);
        DLM_TRY(add_entry(db, gk, (int)sm, &r));
    }
    return DLM_OK;
}

dlm_status dlm_ws_db_read(dlm_ws_db *db, const char *path)
{
    dlm_csv *c;
    int src = -1;
    DLM_TRY(dlm_csv_read(path, &c));
    dlm_status st = add_source(db, path, &src);
    if (st == DLM_OK)
        st = dlm_csv_col(c, "kernel_h") >= 0 && dlm_csv_col(c, "key") < 0 ? read_convtab(db, c, src)
                                                                          : read_probe(db, c, src);
    dlm_csv_free(c);
    return st;
}

static dlm_status read_glob(dlm_ws_db *db, const char *pattern)
{
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc == GLOB_NOMATCH) return DLM_OK;
    if (rc != 0) return dlm_error(DLM_EIO, "%s: cannot list the files", pattern);
    dlm_status st = DLM_OK;
    for (size_t i = 0; i < g.gl_pathc && st == DLM_OK; i++) st = dlm_ws_db_read(db, g.gl_pathv[i]);
    globfree(&g);
    return st;
}

dlm_status dlm_ws_db_read_defaults(dlm_ws_db *db)
{
    char pat[1200], path[1024];
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0]) snprintf(pat, sizeof pat, "%s/dlmem/workspaces-*.csv", xdg);
    else if (home && home[0]) snprintf(pat, sizeof pat, "%s/.cache/dlmem/workspaces-*.csv", home);
    else pat[0] = '\0';
    if (pat[0]) DLM_TRY(read_glob(db, pat));
    if (dlm_data_path("cudnn/README.md", path, sizeof path)) {
        char *slash = strrchr(path, '/');
        if (slash) *slash = '\0';
        snprintf(pat, sizeof pat, "%s/probe-*.csv", path);
        DLM_TRY(read_glob(db, pat));
#ifdef HAVE_ZLIB
        /* the larger files ship gzip-compressed; without zlib their rows are
         * missing, and every point that needs one says it is not known */
        snprintf(pat, sizeof pat, "%s/probe-*.csv.gz", path);
        DLM_TRY(read_glob(db, pat));
#endif
    }
    if (dlm_data_path("cudnn/conv_workspace.csv", path, sizeof path)) DLM_TRY(dlm_ws_db_read(db, path));
    return DLM_OK;
}

static int cmp_entry(const void *pa, const void *pb)
{
    const ws_entry *a = pa, *b = pb;
    if (a->gid != b->gid) return a->gid < b->gid ? -1 : 1;
    if (a->row.batch != b->row.batch) return a->row.batch < b->row.batch ? -1 : 1;
    if (a->row.seq != b->row.seq) return a->row.seq < b->row.seq ? -1 : 1;
    if (a->row.cudnn_version != b->row.cudnn_version)
        return a->row.cudnn_version > b->row.cudnn_version ? -1 : 1; /* newest first */
    if (a->row.source != b->row.source) return a->row.source < b->row.source ? -1 : 1;
    return a->row.line < b->row.line ? -1 : a->row.line > b->row.line;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

dlm_status dlm_ws_db_finish(dlm_ws_db *db)
{
    if (db->finished) return DLM_OK;
    qsort(db->e, (size_t)db->n, sizeof *db->e, cmp_entry);
    /* one row per (series, batch, seq, version): the earliest source's */
    int k = 0;
    for (int i = 0; i < db->n; i++) {
        ws_entry *e = &db->e[i];
        if (k > 0) {
            ws_entry *p = &db->e[k - 1];
            if (p->gid == e->gid && p->row.batch == e->row.batch &&
                p->row.seq == e->row.seq && p->row.cudnn_version == e->row.cudnn_version) {
                if (p->row.source == e->row.source &&
                    (p->row.workspace != e->row.workspace || p->row.reserve != e->row.reserve ||
                     p->row.ok != e->row.ok))
                    return dlm_error(DLM_EPARSE, "%s:%d: the row of line %d again with other "
                                     "bytes (batch %lld, seq %lld)", db->src[e->row.source],
                                     e->row.line, p->row.line, (long long)e->row.batch,
                                     (long long)e->row.seq);
                continue;
            }
        }
        db->e[k++] = *e;
    }
    db->n = k;
    free(db->s);
    free(db->hash);
    db->s = NULL;
    db->hash = NULL;
    db->n_s = 0;
    int ns = 0;
    for (int i = 0; i < db->n; i++) ns += i == 0 || db->e[i].gid != db->e[i - 1].gid;
    db->hcap = 16;
    while (db->hcap < 2 * (size_t)ns + 1) db->hcap *= 2;
    db->s = calloc((size_t)ns + 1, sizeof *db->s);
    db->hash = calloc(db->hcap, sizeof *db->hash);
    if (!db->s || !db->hash) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int i = 0; i < db->n; i++) {
        if (i == 0 || db->e[i].gid != db->e[i - 1].gid) {
            db->s[db->n_s++] = (dlm_ws_series){db->e[i].gkey, &db->e[i], 0};
            size_t h = hash_str(db->e[i].gkey) & (db->hcap - 1);
            while (db->hash[h]) h = (h + 1) & (db->hcap - 1);
            db->hash[h] = db->n_s;
        }
        db->s[db->n_s - 1].n++;
    }
    db->finished = 1;
    return DLM_OK;
}

int dlm_ws_db_newest_version(const dlm_ws_db *db, int sm)
{
    int v = 0;
    for (int i = 0; db && i < db->n; i++)
        if (db->e[i].sm == sm && db->e[i].row.cudnn_version > v) v = db->e[i].row.cudnn_version;
    return v;
}

void dlm_ws_db_sources_for(const dlm_ws_db *db, int sm, char *buf, size_t n)
{
    buf[0] = '\0';
    for (int s = 0; db && s < db->n_src; s++) {
        int has = 0;
        for (int i = 0; i < db->n && !has; i++) has = db->e[i].sm == sm && db->e[i].row.source == s;
        if (!has) continue;
        const char *p = db->src[s], *slash = strrchr(p, '/');
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s", l ? ", " : "", slash ? slash + 1 : p);
    }
}

int dlm_ws_db_has_sm(const dlm_ws_db *db, int sm)
{
    for (int i = 0; db && i < db->n; i++)
        if (db->e[i].sm == sm) return 1;
    return 0;
}

const dlm_ws_series *dlm_ws_find(const dlm_ws_db *db, int sm, const char *logic, const char *op,
                                 const char *phase, const char *dtype, const char *layout,
                                 const char *key)
{
    if (!db || !db->finished || !db->n_s) return NULL;
    char k[512];
    int len = snprintf(k, sizeof k, "%d|%s|%s|%s|%s|%s|%s", sm, logic, op, phase, dtype, layout, key);
    if (len < 0 || (size_t)len >= sizeof k) return NULL;
    for (size_t h = hash_str(k) & (db->hcap - 1); db->hash[h]; h = (h + 1) & (db->hcap - 1))
        if (!strcmp(db->s[db->hash[h] - 1].gkey, k)) return &db->s[db->hash[h] - 1];
    return NULL;
}

const dlm_ws_row *dlm_ws_series_at(const dlm_ws_series *s, int64_t batch, int64_t seq, int version)
{
    if (!s) return NULL;
    int lo = 0, hi = s->n; /* first row with (batch, seq) >= the query */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        const dlm_ws_row *r = &s->e[mid].row;
        if (r->batch < batch || (r->batch == batch && r->seq < seq)) lo = mid + 1;
        else hi = mid;
    }
    if (lo == s->n || s->e[lo].row.batch != batch || s->e[lo].row.seq != seq) return NULL;
    for (int i = lo; i < s->n && s->e[i].row.batch == batch && s->e[i].row.seq == seq; i++)
        if (s->e[i].row.cudnn_version == version) return &s->e[i].row;
    return &s->e[lo].row; /* newest of the other versions */
}
