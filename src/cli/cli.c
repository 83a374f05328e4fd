/* cli.c — option parsing and value parsers shared by subcommands (see cli.h). */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void valid_list(const dlm_cli_opt *opts, int n, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        char one[64];
        snprintf(one, sizeof one, "%s--%s", i ? ", " : "", opts[i].name);
        strncat(buf, one, len - strlen(buf) - 1);
    }
    strncat(buf, n ? ", --wide, --help" : "--wide, --help", len - strlen(buf) - 1);
}

/* Options that may be given more than once (each value kept, in order). */
static int repeatable(const char *name)
{
    return !strcmp(name, "workspaces") || !strcmp(name, "data");
}

dlm_status dlm_cli_parse(const char *cmd, int argc, char **argv, const dlm_cli_opt *opts,
                         int n_opts, dlm_cli_args *out)
{
    memset(out, 0, sizeof *out);
    out->opts = opts;
    out->n_opts = n_opts;
    if (n_opts > 64) return dlm_error(DLM_EINTERNAL, "%s: too many options", cmd);
    int only_pos = 0;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (out->n_pos == DLM_CLI_MAX_POS)
                return dlm_error(DLM_EINVAL, "dlmem %s: more than %d arguments", cmd,
                                 DLM_CLI_MAX_POS);
            out->pos[out->n_pos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            out->help = 1;
            continue;
        }
        if (!strcmp(a, "--wide")) {
            out->wide = 1;
            continue;
        }
        int k = -1;
        const char *inline_val = NULL;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            for (int j = 0; j < n_opts; j++)
                if (strlen(opts[j].name) == len && !strncmp(opts[j].name, name, len)) k = j;
            if (eq) inline_val = eq + 1;
        } else {
            for (int j = 0; j < n_opts; j++)
                if (opts[j].short_name == a[1]) k = j;
            /* -b8 is -b 8; a flag takes nothing glued to it */
            if (k >= 0 && a[2] != '\0') {
                if (!opts[k].arg)
                    return dlm_error(DLM_EINVAL, "dlmem %s: unknown option '%s' (-%c takes no "
                                     "value; write flags apart)", cmd, a, a[1]);
                inline_val = a + 2;
            }
        }
        if (k < 0) {
            char valid[1024];
            valid_list(opts, n_opts, valid, sizeof valid);
            return dlm_error(DLM_EINVAL, "dlmem %s: unknown option '%s' (valid: %s)", cmd, a,
                             valid);
        }
        int rep = repeatable(opts[k].name);
        if (out->value[k] && !rep)
            return dlm_error(DLM_EINVAL, "dlmem %s: option --%s given twice (%s)", cmd,
                             opts[k].name,
                             opts[k].arg ? "give it once; options that take several values take "
                                           "a comma list"
                                         : "give it once");
        if (!opts[k].arg) {
            if (inline_val)
                return dlm_error(DLM_EINVAL, "dlmem %s: option --%s takes no value", cmd,
                                 opts[k].name);
            out->value[k] = "1";
            continue;
        }
        if (inline_val) {
            out->value[k] = inline_val;
        } else {
            if (i + 1 >= argc)
                return dlm_error(DLM_EINVAL, "dlmem %s: option --%s needs a value (%s)", cmd,
                                 opts[k].name, opts[k].arg);
            out->value[k] = argv[++i];
        }
        if (rep) {
            if (out->n_rep == DLM_CLI_MAX_REP)
                return dlm_error(DLM_EINVAL, "dlmem %s: option --%s given more than %d times", cmd,
                                 opts[k].name, DLM_CLI_MAX_REP);
            out->rep_opt[out->n_rep] = k;
            out->rep_value[out->n_rep++] = out->value[k];
        }
    }
    dlm_table_set_width(out->wide ? 0 : DLM_TABLE_WIDTH);
    return DLM_OK;
}

const char *dlm_cli_get(const dlm_cli_args *a, const char *name)
{
    for (int i = 0; i < a->n_opts; i++)
        if (!strcmp(a->opts[i].name, name)) return a->value[i];
    return NULL;
}

int dlm_cli_get_all(const dlm_cli_args *a, const char *name, const char **vals, int cap)
{
    int n = 0;
    for (int i = 0; i < a->n_rep; i++)
        if (!strcmp(a->opts[a->rep_opt[i]].name, name)) {
            if (n < cap) vals[n] = a->rep_value[i];
            n++;
        }
    return n;
}

/* Writes text wrapped at `cols` columns: each line first pads to `indent`
 * (the first line starts after `used` columns already written), words are
 * never split. */
static void put_wrapped(FILE *f, const char *text, int used, int indent, int cols)
{
    const char *p = text;
    int col = used;
    int first = 1;
    while (*p) {
        while (*p == ' ') p++;
        const char *e = p;
        while (*e && *e != ' ') e++;
        int len = (int)(e - p);
        if (!len) break;
        if (!first && col + 1 + len > cols) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (!first) {
            fputc(' ', f);
            col++;
        }
        fwrite(p, 1, (size_t)len, f);
        col += len;
        first = 0;
        p = e;
    }
    fputc('\n', f);
}

void dlm_cli_wrap(FILE *f, const char *text, int indent)
{
    fprintf(f, "%*s", indent, "");
    put_wrapped(f, text, indent, indent, 79);
}

void dlm_cli_usage(FILE *f, const char *cmd, const char *synopsis, const char *about,
                   const dlm_cli_opt *opts, int n_opts)
{
    fprintf(f, "usage: dlmem %s %s\n\n", cmd, synopsis);
    /* the description: a paragraph (lines up to a blank line) with a line
     * longer than 79 columns is reflowed at 79; the others are kept as written */
    for (const char *par = about; *par;) {
        const char *end = strstr(par, "\n\n");
        size_t len = end ? (size_t)(end - par) : strlen(par);
        int longest = 0, cur = 0;
        for (size_t i = 0; i < len; i++) {
            cur = par[i] == '\n' ? 0 : cur + 1;
            if (cur > longest) longest = cur;
        }
        char *buf = malloc(len + 1);
        if (!buf) break;
        memcpy(buf, par, len);
        buf[len] = '\0';
        if (longest <= 79) {
            fprintf(f, "%s\n", buf);
        } else {
            for (char *q = buf; *q; q++)
                if (*q == '\n') *q = ' ';
            put_wrapped(f, buf, 0, 0, 79);
        }
        free(buf);
        if (!end) break;
        fputc('\n', f);
        par = end + 2;
    }
    fprintf(f, "\noptions:\n");
    for (int i = 0; i < n_opts; i++) {
        char left[96];
        if (opts[i].short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", opts[i].short_name, opts[i].name,
                     opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", opts[i].name, opts[i].arg ? " " : "",
                     opts[i].arg ? opts[i].arg : "");
        fprintf(f, "  %-24s", left);
        if ((int)strlen(left) > 24) fprintf(f, "\n%*s", 26, "");
        fputc(' ', f);
        put_wrapped(f, opts[i].help, 27, 27, 79);
    }
    fprintf(f, "  %-24s %s\n", "    --wide", "tables as wide as their cells (default: cut to");
    fprintf(f, "  %-24s %s\n", "", "fit 100 columns)");
    fprintf(f, "  %-24s %s\n", "-h, --help", "show this help");
}

dlm_status dlm_cli_format(const dlm_cli_args *a, dlm_format *out)
{
    const char *s = dlm_cli_get(a, "format");
    *out = DLM_FMT_TABLE;
    if (!s) return DLM_OK;
    dlm_status st = dlm_format_parse(s, out);
    if (st == DLM_EINVAL)
        return dlm_error(st, "--format: unknown format '%s' (valid: table, csv, json)", s);
    return st;
}

/* 0, -1 (not an integer) or -2 (an integer outside 64 bits: ERANGE). */
static int parse_ll(const char *s, const char **end, long long *v)
{
    char *e;
    errno = 0;
    if (!isdigit((unsigned char)*s) && *s != '-' && *s != '+') return -1;
    *v = strtoll(s, &e, 10);
    if (e == s) return -1;
    if (errno == ERANGE) return -2;
    if (errno) return -1;
    *end = e;
    return 0;
}

dlm_status dlm_cli_int(const char *opt, const char *s, int64_t min, int64_t max, int64_t *v)
{
    long long x;
    const char *end;
    int pr = parse_ll(s, &end, &x);
    if (pr == -2)
        return dlm_error(DLM_ERANGE, "%s: '%s' is out of range (valid: %lld to %lld)", opt, s,
                         (long long)min, (long long)max);
    if (pr || *end)
        return dlm_error(DLM_EINVAL, "%s: '%s' is not an integer (valid: %lld to %lld)", opt, s,
                         (long long)min, (long long)max);
    if (x < min || x > max)
        return dlm_error(DLM_ERANGE, "%s: %lld is out of range (valid: %lld to %lld)", opt, x,
                         (long long)min, (long long)max);
    *v = x;
    return DLM_OK;
}

/* Appends v (no de-duplication here: dedup() does it once, in n log n). */
static dlm_status push(int64_t **vals, int *n, int *cap, int64_t v)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        int64_t *p = realloc(*vals, (size_t)nc * sizeof *p);
        if (!p) return dlm_error(DLM_ENOMEM, "out of memory");
        *vals = p;
        *cap = nc;
    }
    (*vals)[(*n)++] = v;
    return DLM_OK;
}

typedef struct { int64_t v; int at; } keyed;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}

/* Drops repeated values, keeping each value's first position (sort, then mark). */
static dlm_status dedup(int64_t *vals, int *n)
{
    if (*n < 2) return DLM_OK;
    keyed *k = malloc((size_t)*n * sizeof *k);
    unsigned char *keep = calloc((size_t)*n, 1);
    if (!k || !keep) {
        free(k);
        free(keep);
        return dlm_error(DLM_ENOMEM, "out of memory");
    }
    for (int i = 0; i < *n; i++) k[i] = (keyed){vals[i], i};
    qsort(k, (size_t)*n, sizeof *k, keyed_cmp);
    for (int i = 0; i < *n; i++)
        if (i == 0 || k[i].v != k[i - 1].v) keep[k[i].at] = 1;
    int m = 0;
    for (int i = 0; i < *n; i++)
        if (keep[i]) vals[m++] = vals[i];
    *n = m;
    free(k);
    free(keep);
    return DLM_OK;
}

dlm_status dlm_cli_list(const char *opt, const char *s, int64_t min, int64_t max,
                        int64_t **vals, int *n)
{
    int cap = 0;
    dlm_status st = DLM_OK;
    *vals = NULL;
    *n = 0;
    char *copy = strdup(s);
    if (!copy) return dlm_error(DLM_ENOMEM, "out of memory");
    if (!*copy) st = dlm_error(DLM_EINVAL, "%s: empty list", opt);
    int item_no = 0;
    /* Items split at every comma: an empty item ("1,,2", ",", "4,") is an error,
     * never skipped. */
    for (char *item = copy, *next; item && st == DLM_OK; item = next) {
        char *comma = strchr(item, ',');
        next = comma ? comma + 1 : NULL;
        if (comma) *comma = '\0';
        item_no++;
        if (!*item) {
            st = dlm_error(DLM_EINVAL, "%s: item %d of '%s' is empty (write e.g. 1,2,4)", opt,
                           item_no, s);
            break;
        }
        long long a, b, step = 1;
        const char *p;
        int doubling = 0;
        int pr = parse_ll(item, &p, &a);
        b = a;
        if (!pr && p[0] == '.' && p[1] == '.') {
            doubling = 1;
            pr = parse_ll(p + 2, &p, &b);
        } else if (!pr && p[0] == '-') {
            pr = parse_ll(p + 1, &p, &b);
            if (!pr && *p == ':') pr = parse_ll(p + 1, &p, &step);
        }
        if (pr == -1 || (!pr && *p)) goto bad;
        if (pr == -2 || a < min || b > max || a > b || step <= 0 || (doubling && a <= 0)) {
            st = dlm_error(DLM_ERANGE, "%s: '%s' is out of range (valid: %lld to %lld, ranges "
                           "low to high)", opt, item, (long long)min, (long long)max);
            break;
        }
        /* how many values the item makes, before making them */
        long long count = doubling ? 0 : (b - a) / step + 1;
        if (doubling)
            for (long long v = a; v <= b; v *= 2) {
                count++;
                if (v > b / 2) break;
            }
        if (count > DLM_CLI_LIST_MAX - *n) {
            st = dlm_error(DLM_ERANGE, "%s: '%s' makes more than %d values", opt, s,
                           DLM_CLI_LIST_MAX);
            break;
        }
        long long v = a;
        for (long long i = 0; i < count && st == DLM_OK; i++) {
            st = push(vals, n, &cap, v);
            if (i + 1 < count) v = doubling ? v * 2 : v + step; /* <= b: no overflow */
        }
        continue;
    bad:
        st = dlm_error(DLM_EINVAL, "%s: '%s' is not an integer or range (write 8, 1-8, "
                       "1-64:8 or 1..128 for powers of two)", opt, item);
    }
    free(copy);
    if (st == DLM_OK) st = dedup(*vals, n);
    if (st != DLM_OK) {
        free(*vals);
        *vals = NULL;
        *n = 0;
    }
    return st;
}

dlm_status dlm_cli_size(const char *opt, const char *s, int64_t *bytes)
{
    static const struct { const char *suffix; double mult; } units[] = {
        {"", 1}, {"B", 1}, {"K", 1024.0}, {"KiB", 1024.0}, {"KB", 1e3},
        {"M", 1048576.0}, {"MiB", 1048576.0}, {"MB", 1e6},
        {"G", 1073741824.0}, {"GiB", 1073741824.0}, {"GB", 1e9},
        {"T", 1099511627776.0}, {"TiB", 1099511627776.0}, {"TB", 1e12},
    };
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v <= 0)
        goto bad;
    while (*end == ' ') end++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].suffix)) {
            double b = v * units[i].mult;
            if (b < 1 || b > 9.0e18) goto bad;
            *bytes = (int64_t)llround(b);
            return DLM_OK;
        }
bad:
    return dlm_error(DLM_EINVAL, "%s: '%s' is not a memory size (write e.g. 4GiB, 16G, 80GB, "
                     "512MiB or bytes; GiB/MiB/G/M are binary, GB/MB decimal)", opt, s);
}

dlm_status dlm_cli_mem_size(const char *opt, const char *s, int allow_zero, int64_t *bytes,
                            char *echo, size_t echo_n)
{
    static const struct { const char *suffix, *shown; double mult; } units[] = {
        {"b", "B", 1}, {"kib", "KiB", 1024.0}, {"kb", "kB", 1e3}, {"k", "KiB", 1024.0},
        {"mib", "MiB", 1048576.0}, {"mb", "MB", 1e6}, {"m", "MiB", 1048576.0},
        {"gib", "GiB", 1073741824.0}, {"gb", "GB", 1e9}, {"g", "GiB", 1073741824.0},
        {"tib", "TiB", 1099511627776.0}, {"tb", "TB", 1e12}, {"t", "TiB", 1099511627776.0},
    };
    char *end;
    if (allow_zero && !strcmp(s, "0")) {
        *bytes = 0;
        if (echo) snprintf(echo, echo_n, "0 bytes");
        return DLM_OK;
    }
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v <= 0 || !isdigit((unsigned char)*s)) goto bad;
    while (*end == ' ') end++;
    if (!*end)
        return dlm_error(DLM_EINVAL, "%s: '%s' has no unit (write e.g. 4GB, 4GiB, 512MiB; GB/MB "
                         "are decimal, GiB/MiB and G/M binary)", opt, s);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcasecmp(end, units[i].suffix)) {
            double b = v * units[i].mult;
            if (b < 1 || b > 9.0e18) goto bad;
            *bytes = (int64_t)llround(b);
            if (echo) {
                char n1[32];
                snprintf(echo, echo_n, "%s = %g %s = %s bytes", s, v, units[i].shown,
                         dlm_fmt_int(n1, sizeof n1, *bytes));
            }
            return DLM_OK;
        }
bad:
    return dlm_error(DLM_EINVAL, "%s: '%s' is not a memory size (write e.g. 4GB, 4GiB, 16G, "
                     "512MiB; units case-insensitive; GB/MB decimal, GiB/MiB and G/M binary)",
                     opt, s);
}

dlm_status dlm_cli_points(const dlm_cli_args *a, const char *cmd, const char *model, int uses_T,
                          int64_t max_T, int64_t **batch, int *n_batch, int64_t **seq,
                          int *n_seq)
{
    const char *s = dlm_cli_get(a, "batch");
    int64_t tmax = max_T ? max_T : 1000000;
    *batch = *seq = NULL;
    *n_batch = 0;
    *n_seq = 1;
    if (!s)
        return dlm_error(DLM_EINVAL, "%s: --batch LIST is required (e.g. --batch 1-256)", cmd);
    DLM_TRY(dlm_cli_list("--batch", s, 1, 1000000, batch, n_batch));
    s = dlm_cli_get(a, "seq");
    if (!uses_T)
        return s ? dlm_error(DLM_EINVAL, "--seq: model %s has no sequence length", model) : DLM_OK;
    if (!s)
        return dlm_error(DLM_EINVAL, "%s: model %s needs --seq LIST (sequence lengths 1 to %lld)",
                         cmd, model, (long long)tmax);
    return dlm_cli_list("--seq", s, 1, tmax, seq, n_seq);
}
