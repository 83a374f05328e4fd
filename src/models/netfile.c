/* netfile.c — reading a network file into a graph (format in netfile.h).
 *
 * Two passes: the file is read into sections of key/value lines (with line
 * numbers), then each section becomes an input or an op through the same
 * builder calls the built-in models use.  Every key a section does not use is
 * an error, so a typo never silently falls back to a default.
 */
#include "netfile.h"

#include "../core/fileio.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct kv {
    char *key, *value;
    int line, used;
} kv;

typedef struct section {
    char *kind, *name;
    int line;
    char asked[256]; /* the keys its kind reads, as looked up: the valid ones */
    kv *kv;
    int n_kv, cap_kv;
} section;

typedef struct netfile {
    const char *path;
    section *s;
    int n, cap;
    /* names -> tensor ids, for `from`, `a`, `b`, `q`, `k`, `v` */
    char **names;
    int *ids;
    int n_names, cap_names;
} netfile;

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

static void netfile_free(netfile *nf)
{
    for (int i = 0; i < nf->n; i++) {
        free(nf->s[i].kind);
        free(nf->s[i].name);
        for (int k = 0; k < nf->s[i].n_kv; k++) {
            free(nf->s[i].kv[k].key);
            free(nf->s[i].kv[k].value);
        }
        free(nf->s[i].kv);
    }
    free(nf->s);
    for (int i = 0; i < nf->n_names; i++) free(nf->names[i]);
    free(nf->names);
    free(nf->ids);
}

static dlm_status oom(void) { return dlm_error(DLM_ENOMEM, "out of memory reading a network file"); }

static dlm_status read_sections(netfile *nf)
{
    char *text;
    size_t len;
    DLM_TRY(dlm_file_read_text(nf->path, DLM_NETFILE_MAX_BYTES, "a network file", &text, &len));
    int line = 0;
    dlm_status st = DLM_OK;
    for (char *next = text; st == DLM_OK && next < text + len;) {
        char *buf = next, *nl = strchr(buf, '\n');
        if (nl) *nl = '\0';
        next = nl ? nl + 1 : text + len;
        line++;
        char *hash = strchr(buf, '#');
        if (hash) *hash = '\0';
        char *s = trim(buf);
        if (!*s) continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end || *trim(end + 1)) {
                st = dlm_error(DLM_EPARSE, "%s:%d: a section header is [kind name]", nf->path, line);
                break;
            }
            *end = '\0';
            char *kind = trim(s + 1), *name = kind;
            while (*name && !isspace((unsigned char)*name)) name++;
            if (*name) *name++ = '\0';
            name = trim(name);
            if (!*kind) {
                st = dlm_error(DLM_EPARSE, "%s:%d: empty section kind", nf->path, line);
                break;
            }
            if (nf->n == DLM_NETFILE_MAX_SECTIONS) {
                st = dlm_error(DLM_EPARSE, "%s:%d: more than %d sections", nf->path, line,
                               DLM_NETFILE_MAX_SECTIONS);
                break;
            }
            if (nf->n == nf->cap) {
                int nc = nf->cap ? nf->cap * 2 : 32;
                section *p = realloc(nf->s, (size_t)nc * sizeof *p);
                if (!p) { st = oom(); break; }
                nf->s = p;
                nf->cap = nc;
            }
            section *sec = &nf->s[nf->n++];
            memset(sec, 0, sizeof *sec);
            sec->line = line;
            sec->kind = strdup(kind);
            sec->name = strdup(name);
            if (!sec->kind || !sec->name) st = oom();
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            st = dlm_error(DLM_EPARSE, "%s:%d: expected key = value or [kind name], got '%s'",
                           nf->path, line, s);
            break;
        }
        if (nf->n == 0) {
            st = dlm_error(DLM_EPARSE, "%s:%d: key before the first [section]", nf->path, line);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        section *sec = &nf->s[nf->n - 1];
        for (int k = 0; k < sec->n_kv; k++)
            if (!strcmp(sec->kv[k].key, key)) {
                st = dlm_error(DLM_EPARSE, "%s:%d: key '%s' repeats (first on line %d)", nf->path,
                               line, key, sec->kv[k].line);
                break;
            }
        if (st != DLM_OK) break;
        if (!*key || !*value) {
            st = dlm_error(DLM_EPARSE, "%s:%d: empty key or value", nf->path, line);
            break;
        }
        if (sec->n_kv == DLM_NETFILE_MAX_KEYS) {
            st = dlm_error(DLM_EPARSE, "%s:%d: [%s %s] has more than %d keys", nf->path, line,
                           sec->kind, sec->name, DLM_NETFILE_MAX_KEYS);
            break;
        }
        if (sec->n_kv == sec->cap_kv) {
            int nc = sec->cap_kv ? sec->cap_kv * 2 : 8;
            kv *p = realloc(sec->kv, (size_t)nc * sizeof *p);
            if (!p) { st = oom(); break; }
            sec->kv = p;
            sec->cap_kv = nc;
        }
        kv *e = &sec->kv[sec->n_kv++];
        e->key = strdup(key);
        e->value = strdup(value);
        e->line = line;
        e->used = 0;
        if (!e->key || !e->value) st = oom();
    }
    free(text);
    if (st == DLM_OK && nf->n == 0)
        st = dlm_error(DLM_EPARSE, "%s: no sections (expected [net], [input ...] and layers)",
                       nf->path);
    return st;
}

/* ---- values ---------------------------------------------------------------------- */

static kv *find(section *s, const char *key)
{
    size_t l = strlen(s->asked);
    if (l + strlen(key) + 3 < sizeof s->asked && !strstr(s->asked, key))
        snprintf(s->asked + l, sizeof s->asked - l, "%s%s", l ? ", " : "", key);
    for (int k = 0; k < s->n_kv; k++)
        if (!strcmp(s->kv[k].key, key)) {
            s->kv[k].used = 1;
            return &s->kv[k];
        }
    return NULL;
}

/* Integer key; `req` makes it required; otherwise *v keeps its default. */
static dlm_status get_int(const netfile *nf, section *s, const char *key, int req, long long min,
                          long long max, long long *v)
{
    kv *e = find(s, key);
    if (!e) {
        if (req)
            return dlm_error(DLM_EPARSE, "%s:%d: [%s %s] needs %s", nf->path, s->line, s->kind,
                             s->name, key);
        return DLM_OK;
    }
    char *end;
    errno = 0;
    long long x = strtoll(e->value, &end, 10);
    if (errno || *end || end == e->value)
        return dlm_error(DLM_EPARSE, "%s:%d: %s = '%s' is not an integer", nf->path, e->line, key,
                         e->value);
    if (x < min || x > max)
        return dlm_error(DLM_EPARSE, "%s:%d: %s = %lld is out of range [%lld, %lld]", nf->path,
                         e->line, key, x, min, max);
    *v = x;
    return DLM_OK;
}

static dlm_status get_double(const netfile *nf, section *s, const char *key, double min,
                             double max, double *v)
{
    kv *e = find(s, key);
    if (!e) return DLM_OK;
    char *end;
    errno = 0;
    double x = strtod(e->value, &end);
    if (errno || *end || end == e->value || !(x >= min && x <= max))
        return dlm_error(DLM_EPARSE, "%s:%d: %s = '%s' is not a number in [%g, %g]", nf->path,
                         e->line, key, e->value, min, max);
    *v = x;
    return DLM_OK;
}

static dlm_status add_name(netfile *nf, const char *name, int id, int line)
{
    for (int i = 0; i < nf->n_names; i++)
        if (!strcmp(nf->names[i], name))
            return dlm_error(DLM_EPARSE, "%s:%d: the name '%s' is used twice", nf->path, line, name);
    if (nf->n_names == nf->cap_names) {
        int nc = nf->cap_names ? nf->cap_names * 2 : 32;
        char **pn = realloc(nf->names, (size_t)nc * sizeof *pn);
        if (pn) nf->names = pn;
        int *pi = realloc(nf->ids, (size_t)nc * sizeof *pi);
        if (pi) nf->ids = pi;
        if (!pn || !pi) return oom();
        nf->cap_names = nc;
    }
    if (!(nf->names[nf->n_names] = strdup(name))) return oom();
    nf->ids[nf->n_names++] = id;
    return DLM_OK;
}

/* Tensor named by key (a layer or input), or `dflt` when the key is absent. */
static dlm_status get_ref(const netfile *nf, section *s, const char *key, int dflt, int *id)
{
    kv *e = find(s, key);
    if (!e) {
        if (dflt < 0)
            return dlm_error(DLM_EPARSE, "%s:%d: [%s %s] needs %s (nothing comes before it)",
                             nf->path, s->line, s->kind, s->name, key);
        *id = dflt;
        return DLM_OK;
    }
    for (int i = 0; i < nf->n_names; i++)
        if (!strcmp(nf->names[i], e->value)) {
            *id = nf->ids[i];
            return DLM_OK;
        }
    return dlm_error(DLM_EPARSE, "%s:%d: %s = %s: no input or layer of that name above", nf->path,
                     e->line, key, e->value);
}

/* "B x 3 x 224 x 224" (also with commas or '*'): integers, B and T. */
static dlm_status parse_shape(const netfile *nf, const kv *e, int *ndim, dlm_poly *shape)
{
    char *tmp = strdup(e->value); /* whole: a long value is never cut */
    if (!tmp) return oom();
    dlm_status st = DLM_OK;
    *ndim = 0;
    for (char *save = NULL, *tok = strtok_r(tmp, " x,*", &save); tok;
         tok = strtok_r(NULL, " x,*", &save)) {
        if (*ndim == DLM_MAX_DIMS) {
            st = dlm_error(DLM_EPARSE, "%s:%d: more than %d dimensions", nf->path, e->line,
                           DLM_MAX_DIMS);
            break;
        }
        if (!strcmp(tok, "B")) shape[*ndim] = dlm_poly_B();
        else if (!strcmp(tok, "T")) shape[*ndim] = dlm_poly_T();
        else {
            char *end;
            errno = 0;
            long long v = strtoll(tok, &end, 10);
            if (*end || end == tok || v <= 0) {
                st = dlm_error(DLM_EPARSE, "%s:%d: shape dimension '%.40s%s' is not B, T or a "
                               "positive integer", nf->path, e->line, tok,
                               strlen(tok) > 40 ? "..." : "");
                break;
            }
            if (errno == ERANGE || v > DLM_NETFILE_MAX_DIM) {
                st = dlm_error(DLM_EPARSE, "%s:%d: shape dimension %.40s is out of range [1, %lld]",
                               nf->path, e->line, tok, (long long)DLM_NETFILE_MAX_DIM);
                break;
            }
            shape[*ndim] = dlm_poly_const(v);
        }
        (*ndim)++;
    }
    free(tmp);
    if (st == DLM_OK && *ndim == 0)
        st = dlm_error(DLM_EPARSE, "%s:%d: empty shape", nf->path, e->line);
    return st;
}

/* ---- sections -> graph ------------------------------------------------------------- */

static const char *const kinds =
    "net, input, conv2d, conv_transpose2d, batchnorm2d, relu, relu6, hardswish, silu, sigmoid, "
    "maxpool2d, avgpool2d, avgpool, add, mul, concat, upsample, flatten, linear, lstm, gru, "
    "select, embedding, layernorm, dropout, stochastic_depth, gelu, tanh, softmax, attention, "
    "output";

/* `inputs = a, b, c`: the tensors named (layers or inputs above), in order. */
static dlm_status get_refs(const netfile *nf, section *s, const char *key, int *ids, int cap,
                           int *n)
{
    kv *e = find(s, key);
    *n = 0;
    if (!e)
        return dlm_error(DLM_EPARSE, "%s:%d: [%s %s] needs %s = NAME, NAME, ...", nf->path,
                         s->line, s->kind, s->name, key);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", e->value);
    for (char *save = NULL, *tok = strtok_r(tmp, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save)) {
        int i = 0;
        while (i < nf->n_names && strcmp(nf->names[i], tok)) i++;
        if (i == nf->n_names)
            return dlm_error(DLM_EPARSE, "%s:%d: %s: '%s' is no input or layer above", nf->path,
                             e->line, key, tok);
        if (*n == cap)
            return dlm_error(DLM_EPARSE, "%s:%d: %s: more than %d names", nf->path, e->line, key,
                             cap);
        ids[(*n)++] = nf->ids[i];
    }
    if (*n == 0) return dlm_error(DLM_EPARSE, "%s:%d: %s names nothing", nf->path, e->line, key);
    return DLM_OK;
}

/* Builds one layer section; prev is the previous layer's output (-1 if none). */
static dlm_status build_layer(netfile *nf, dlm_graph *g, section *s, int prev, int *y)
{
    const char *k = s->kind, *n = s->name;
    long long a = 0, b = 0, c = 0, d = 0;
    double p = 0;
    int x;
    *y = -1;
    if (!strcmp(k, "add")) {
        int in2;
        a = 0;
        DLM_TRY(get_ref(nf, s, "a", prev, &x));
        DLM_TRY(get_ref(nf, s, "b", -1, &in2));
        DLM_TRY(get_int(nf, s, "inplace", 0, 0, 1, &a));
        *y = dlm_add(g, n, x, in2, (int)a);
        return DLM_OK;
    }
    if (!strcmp(k, "mul")) {
        int in2;
        DLM_TRY(get_ref(nf, s, "a", prev, &x));
        DLM_TRY(get_ref(nf, s, "b", -1, &in2));
        DLM_TRY(get_int(nf, s, "inplace", 0, 0, 1, &a));
        *y = dlm_mul(g, n, x, in2, (int)a);
        return DLM_OK;
    }
    if (!strcmp(k, "concat")) {
        int ins[DLM_OP_MAX_IN], n_in;
        a = 1;
        DLM_TRY(get_refs(nf, s, "inputs", ins, DLM_OP_MAX_IN, &n_in));
        DLM_TRY(get_int(nf, s, "dim", 0, 0, DLM_MAX_DIMS - 1, &a));
        *y = dlm_concat(g, n, n_in, ins, (int)a);
        return DLM_OK;
    }
    if (!strcmp(k, "attention")) {
        int q, kk, v;
        DLM_TRY(get_ref(nf, s, "q", prev, &q));
        DLM_TRY(get_ref(nf, s, "k", q, &kk));
        DLM_TRY(get_ref(nf, s, "v", q, &v));
        DLM_TRY(get_int(nf, s, "heads", 1, 1, 4096, &a));
        DLM_TRY(get_double(nf, s, "dropout", 0, 0.999, &p));
        *y = dlm_attention_op(g, n, q, kk, v, (int)a, p);
        return DLM_OK;
    }
    DLM_TRY(get_ref(nf, s, "from", prev, &x));
    if (!strcmp(k, "conv2d") || !strcmp(k, "conv_transpose2d")) {
        int tr = k[4] == '_';
        long long kernel, dil = 1, groups = 1, opad = 0;
        b = 1; c = 0; d = 1;
        DLM_TRY(get_int(nf, s, "out_channels", 1, 1, 1 << 20, &a));
        DLM_TRY(get_int(nf, s, "kernel", 1, 1, 1024, &kernel));
        DLM_TRY(get_int(nf, s, "stride", 0, 1, 1024, &b));
        DLM_TRY(get_int(nf, s, "padding", 0, 0, 1024, &c));
        DLM_TRY(get_int(nf, s, "bias", 0, 0, 1, &d));
        if (tr) {
            DLM_TRY(get_int(nf, s, "output_padding", 0, 0, 1023, &opad));
            *y = dlm_conv_transpose2d(g, n, x, (int)a, (int)kernel, (int)b, (int)c, (int)opad,
                                      (int)d);
        } else {
            DLM_TRY(get_int(nf, s, "dilation", 0, 1, 1024, &dil));
            DLM_TRY(get_int(nf, s, "groups", 0, 1, 1 << 20, &groups));
            *y = dlm_conv2d_ex(g, n, x, (int)a, (int)kernel, (int)b, (int)c, (int)dil,
                               (int)groups, (int)d);
        }
    } else if (!strcmp(k, "batchnorm2d")) {
        *y = dlm_batchnorm2d(g, n, x);
    } else if (!strcmp(k, "relu") || !strcmp(k, "relu6") || !strcmp(k, "hardswish") ||
               !strcmp(k, "silu")) {
        DLM_TRY(get_int(nf, s, "inplace", 0, 0, 1, &a));
        *y = k[0] == 'h' ? dlm_hardswish(g, n, x, (int)a)
             : k[0] == 's' ? dlm_silu(g, n, x, (int)a)
             : k[4] == '6' ? dlm_relu6(g, n, x, (int)a)
                           : dlm_relu(g, n, x, (int)a);
    } else if (!strcmp(k, "sigmoid")) {
        *y = dlm_sigmoid(g, n, x);
    } else if (!strcmp(k, "maxpool2d") || !strcmp(k, "avgpool2d")) {
        DLM_TRY(get_int(nf, s, "kernel", 1, 1, 1024, &a));
        b = a;
        DLM_TRY(get_int(nf, s, "stride", 0, 1, 1024, &b));
        DLM_TRY(get_int(nf, s, "padding", 0, 0, 1024, &c));
        DLM_TRY(get_int(nf, s, "ceil_mode", 0, 0, 1, &d));
        *y = k[0] == 'm' ? dlm_maxpool2d_ex(g, n, x, (int)a, (int)b, (int)c, (int)d)
                         : dlm_avgpool2d(g, n, x, (int)a, (int)b, (int)c, (int)d);
    } else if (!strcmp(k, "avgpool")) {
        a = 1;
        DLM_TRY(get_int(nf, s, "size", 0, 1, 4096, &a));
        b = a;
        DLM_TRY(get_int(nf, s, "width", 0, 1, 4096, &b));
        *y = dlm_avgpool2d_adaptive(g, n, x, (int)a, (int)b);
    } else if (!strcmp(k, "upsample")) {
        kv *e = find(s, "mode");
        dlm_upsample_mode mode = DLM_UP_NEAREST;
        if (e && !strcmp(e->value, "bilinear")) mode = DLM_UP_BILINEAR;
        else if (e && strcmp(e->value, "nearest"))
            return dlm_error(DLM_EPARSE, "%s:%d: mode = %s (valid: nearest, bilinear)", nf->path,
                             e->line, e->value);
        DLM_TRY(get_int(nf, s, "scale", 1, 1, 1024, &a));
        DLM_TRY(get_int(nf, s, "align_corners", 0, 0, 1, &b));
        if (b && mode != DLM_UP_BILINEAR)
            return dlm_error(DLM_EPARSE, "%s:%d: [upsample %s]: align_corners applies to mode = "
                             "bilinear only", nf->path, s->line, n);
        *y = dlm_upsample(g, n, x, (int)a, mode, (int)b);
    } else if (!strcmp(k, "stochastic_depth")) {
        DLM_TRY(get_double(nf, s, "p", 0, 0.999, &p));
        *y = dlm_stochastic_depth(g, n, x, p);
    } else if (!strcmp(k, "flatten")) {
        *y = dlm_flatten(g, n, x);
    } else if (!strcmp(k, "linear")) {
        b = 1;
        DLM_TRY(get_int(nf, s, "out_features", 1, 1, 1 << 30, &a));
        DLM_TRY(get_int(nf, s, "bias", 0, 0, 1, &b));
        *y = dlm_linear(g, n, x, (int)a, (int)b);
    } else if (!strcmp(k, "lstm") || !strcmp(k, "gru")) {
        b = 1; c = 1;
        DLM_TRY(get_int(nf, s, "hidden", 1, 1, 1 << 24, &a));
        DLM_TRY(get_int(nf, s, "layers", 0, 1, 1000, &b));
        DLM_TRY(get_int(nf, s, "bias", 0, 0, 1, &c));
        *y = dlm_rnn(g, n, k[0] == 'l' ? DLM_RNN_LSTM : DLM_RNN_GRU, x, (int)a, (int)b, (int)c);
    } else if (!strcmp(k, "select")) {
        DLM_TRY(get_int(nf, s, "dim", 1, 0, DLM_MAX_DIMS - 1, &a));
        DLM_TRY(get_int(nf, s, "index", 1, -1, 0, &b));
        *y = dlm_select(g, n, x, (int)a, (int)b);
    } else if (!strcmp(k, "embedding")) {
        char wname[300];
        DLM_TRY(get_int(nf, s, "num", 1, 1, 2147483647LL, &a));
        DLM_TRY(get_int(nf, s, "dim", 1, 1, 1 << 24, &b));
        snprintf(wname, sizeof wname, "%s.weight", n);
        int w = dlm_graph_param(g, wname, 2, (int64_t[]){a, b});
        *y = dlm_embedding(g, n, x, w);
    } else if (!strcmp(k, "layernorm")) {
        p = 1e-5;
        DLM_TRY(get_double(nf, s, "eps", 0, 1, &p));
        *y = dlm_layernorm(g, n, x, p);
    } else if (!strcmp(k, "dropout")) {
        p = 0.5;
        DLM_TRY(get_double(nf, s, "p", 0, 0.999, &p));
        DLM_TRY(get_int(nf, s, "inplace", 0, 0, 1, &a));
        *y = a ? dlm_dropout_inplace(g, n, x, p) : dlm_dropout(g, n, x, p);
    } else if (!strcmp(k, "gelu")) {
        *y = dlm_gelu(g, n, x);
    } else if (!strcmp(k, "tanh")) {
        *y = dlm_tanh(g, n, x);
    } else if (!strcmp(k, "softmax")) {
        *y = dlm_softmax(g, n, x);
    } else {
        return dlm_error(DLM_EPARSE, "%s:%d: unknown section kind '%s' (valid: %s)", nf->path,
                         s->line, k, kinds);
    }
    return DLM_OK;
}

static dlm_status unused_keys(const netfile *nf, const section *s)
{
    for (int k = 0; k < s->n_kv; k++)
        if (!s->kv[k].used)
            return dlm_error(DLM_EPARSE, "%s:%d: [%s%s%s] has no key '%s' (valid: %s)", nf->path,
                             s->kv[k].line, s->kind, s->name[0] ? " " : "", s->name,
                             s->kv[k].key, s->asked[0] ? s->asked : "none");
    return DLM_OK;
}

static dlm_status build(netfile *nf, dlm_graph **out)
{
    dlm_graph *g = NULL;
    dlm_status st;
    char name[256];
    int i = 0, prev = -1, n_out = 0;
    long long max_seq = 0;

    /* [net] comes first if present; the default name is the file's base name. */
    const char *base = strrchr(nf->path, '/');
    snprintf(name, sizeof name, "%s", base ? base + 1 : nf->path);
    char *dot = strrchr(name, '.');
    if (dot && dot != name) *dot = '\0';
    if (!strcmp(nf->s[0].kind, "net")) {
        kv *e = find(&nf->s[0], "name");
        if (e) snprintf(name, sizeof name, "%s", e->value);
        DLM_TRY(get_int(nf, &nf->s[0], "max_seq", 0, 0, 1LL << 40, &max_seq));
        DLM_TRY(unused_keys(nf, &nf->s[0]));
        i = 1;
    }
    DLM_TRY(dlm_graph_alloc(name, &g));
    g->max_T = max_seq;
    st = DLM_OK;
    for (; i < nf->n && st == DLM_OK; i++) {
        section *s = &nf->s[i];
        int y = -1;
        if (!strcmp(s->kind, "net")) {
            st = dlm_error(DLM_EPARSE, "%s:%d: [net] must be the first section", nf->path, s->line);
        } else if (!strcmp(s->kind, "output")) {
            int x;
            if (s->name[0])
                st = dlm_error(DLM_EPARSE, "%s:%d: [output] takes no name (use from = layer)",
                               nf->path, s->line);
            if (st == DLM_OK) st = get_ref(nf, s, "from", prev, &x);
            if (st == DLM_OK) {
                dlm_graph_mark_output(g, x);
                n_out++;
            }
        } else if (!s->name[0]) {
            st = dlm_error(DLM_EPARSE, "%s:%d: [%s] needs a name: [%s NAME]", nf->path, s->line,
                           s->kind, s->kind);
        } else if (!strcmp(s->kind, "input")) {
            dlm_poly shape[DLM_MAX_DIMS];
            int nd = 0;
            kv *e = find(s, "shape"), *t = find(s, "type");
            dlm_elem elem = DLM_EL_FLOAT;
            if (!e) st = dlm_error(DLM_EPARSE, "%s:%d: [input %s] needs shape", nf->path, s->line,
                                   s->name);
            if (st == DLM_OK) st = parse_shape(nf, e, &nd, shape);
            if (st == DLM_OK && t) {
                if (!strcmp(t->value, "int64")) elem = DLM_EL_INT64;
                else if (strcmp(t->value, "float"))
                    st = dlm_error(DLM_EPARSE, "%s:%d: type = %s (valid: float, int64)", nf->path,
                                   t->line, t->value);
            }
            if (st == DLM_OK) {
                y = dlm_graph_input(g, s->name, elem, nd, shape);
                if (g->status != DLM_OK)
                    st = dlm_error_context(g->status, "%s:%d: [input %s]", nf->path, s->line,
                                           s->name);
                if (st == DLM_OK) st = add_name(nf, s->name, y, s->line);
                prev = y;
            }
        } else {
            st = build_layer(nf, g, s, prev, &y);
            if (st == DLM_OK && g->status != DLM_OK)
                st = dlm_error_context(g->status, "%s:%d: [%s %s]", nf->path, s->line, s->kind,
                                       s->name);
            if (st == DLM_OK) st = add_name(nf, s->name, y, s->line);
            prev = y;
        }
        if (st == DLM_OK) st = unused_keys(nf, s);
    }
    if (st == DLM_OK && prev < 0)
        st = dlm_error(DLM_EPARSE, "%s: no layers", nf->path);
    if (st == DLM_OK && n_out == 0) dlm_graph_mark_output(g, prev);
    if (st == DLM_OK && g->n_inputs == 0)
        st = dlm_error(DLM_EPARSE, "%s: no [input NAME] section", nf->path);
    if (st == DLM_OK) st = dlm_graph_status(g);
    if (st != DLM_OK) {
        dlm_graph_free(g);
        return st;
    }
    *out = g;
    return DLM_OK;
}

int dlm_netfile_is_path(const char *name)
{
    size_t n = strlen(name);
    return strchr(name, '/') != NULL || (n > 4 && !strcmp(name + n - 4, ".net"));
}

dlm_status dlm_netfile_build(const char *path, dlm_graph **out)
{
    netfile nf;
    memset(&nf, 0, sizeof nf);
    nf.path = path;
    *out = NULL;
    dlm_status st = read_sections(&nf);
    if (st == DLM_OK) st = build(&nf, out);
    netfile_free(&nf);
    return st;
}
