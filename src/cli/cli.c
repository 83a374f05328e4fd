/* cli.c — option parsing and value parsers shared by subcommands (see cli.h). */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void valid_list(const dlm_cli_opt *opts, int n, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        char one[64];
        snprintf(one, sizeof one, "%s--%s", i ? ", " : "", opts[i].name);
        strncat(buf, one, len - strlen(buf) - 1);
    }
    strncat(buf, n ? ", --help" : "--help", len - strlen(buf) - 1);
}

dlm_status dlm_cli_parse(const char *cmd, int argc, char **argv, const dlm_cli_opt *opts,
                         int n_opts, dlm_cli_args *out)
{
    memset(out, 0, sizeof *out);
    out->opts = opts;
    out->n_opts = n_opts;
    out->argc = argc;
    out->argv = argv;
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
        int k = -1;
        const char *inline_val = NULL;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            for (int j = 0; j < n_opts; j++)
                if (strlen(opts[j].name) == len && !strncmp(opts[j].name, name, len)) k = j;
            if (eq) inline_val = eq + 1;
        } else if (a[2] == '\0') {
            for (int j = 0; j < n_opts; j++)
                if (opts[j].short_name == a[1]) k = j;
        }
        if (k < 0) {
            char valid[1024];
            valid_list(opts, n_opts, valid, sizeof valid);
            return dlm_error(DLM_EINVAL, "dlmem %s: unknown option '%s' (valid: %s)", cmd, a,
                             valid);
        }
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
    }
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
    /* the same walk as dlm_cli_parse(), which has accepted these arguments */
    int n = 0;
    size_t len = strlen(name);
    for (int i = 0; i < a->argc; i++) {
        const char *s = a->argv[i];
        if (!strcmp(s, "--")) break;
        if (s[0] != '-' || s[1] == '\0') continue;
        const dlm_cli_opt *o = NULL;
        const char *val = NULL;
        if (s[1] == '-') {
            const char *nm = s + 2, *eq = strchr(nm, '=');
            size_t l = eq ? (size_t)(eq - nm) : strlen(nm);
            for (int j = 0; j < a->n_opts; j++)
                if (strlen(a->opts[j].name) == l && !strncmp(a->opts[j].name, nm, l)) o = &a->opts[j];
            if (eq) val = eq + 1;
        } else if (s[2] == '\0') {
            for (int j = 0; j < a->n_opts; j++)
                if (a->opts[j].short_name == s[1]) o = &a->opts[j];
        }
        if (!o || !o->arg) continue;
        if (!val && i + 1 < a->argc) val = a->argv[++i];
        if (val && strlen(o->name) == len && !strcmp(o->name, name)) {
            if (n < cap) vals[n] = val;
            n++;
        }
    }
    return n;
}

void dlm_cli_usage(FILE *f, const char *cmd, const char *synopsis, const char *about,
                   const dlm_cli_opt *opts, int n_opts)
{
    fprintf(f, "usage: dlmem %s %s\n\n%s\n\noptions:\n", cmd, synopsis, about);
    for (int i = 0; i < n_opts; i++) {
        char left[96];
        if (opts[i].short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", opts[i].short_name, opts[i].name,
                     opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", opts[i].name, opts[i].arg ? " " : "",
                     opts[i].arg ? opts[i].arg : "");
        fprintf(f, "  %-28s %s\n", left, opts[i].help);
    }
    fprintf(f, "  %-28s %s\n", "-h, --help", "show this help");
}

dlm_status dlm_cli_format(const dlm_cli_args *a, dlm_format *out)
{
    const char *s = dlm_cli_get(a, "format");
    *out = DLM_FMT_TABLE;
    if (!s) return DLM_OK;
    dlm_status st = dlm_format_parse(s, out);
    if (st != DLM_OK) return dlm_error(st, "--format: unknown format '%s' (valid: table, csv, json)", s);
    return DLM_OK;
}

static int parse_ll(const char *s, const char **end, long long *v)
{
    char *e;
    errno = 0;
    if (!isdigit((unsigned char)*s) && *s != '-' && *s != '+') return -1;
    *v = strtoll(s, &e, 10);
    if (errno || e == s) return -1;
    *end = e;
    return 0;
}

dlm_status dlm_cli_int(const char *opt, const char *s, int64_t min, int64_t max, int64_t *v)
{
    long long x;
    const char *end;
    if (parse_ll(s, &end, &x) || *end)
        return dlm_error(DLM_EINVAL, "%s: '%s' is not an integer (valid: %lld to %lld)", opt, s,
                         (long long)min, (long long)max);
    if (x < min || x > max)
        return dlm_error(DLM_ERANGE, "%s: %lld is out of range (valid: %lld to %lld)", opt, x,
                         (long long)min, (long long)max);
    *v = x;
    return DLM_OK;
}

static dlm_status push(int64_t **vals, int *n, int *cap, int64_t v)
{
    for (int i = 0; i < *n; i++)
        if ((*vals)[i] == v) return DLM_OK;
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

dlm_status dlm_cli_list(const char *opt, const char *s, int64_t min, int64_t max,
                        int64_t **vals, int *n)
{
    int cap = 0;
    dlm_status st = DLM_OK;
    *vals = NULL;
    *n = 0;
    char *copy = strdup(s), *save = NULL;
    if (!copy) return dlm_error(DLM_ENOMEM, "out of memory");
    if (!*copy) st = dlm_error(DLM_EINVAL, "%s: empty list", opt);
    for (char *item = strtok_r(copy, ",", &save); item && st == DLM_OK;
         item = strtok_r(NULL, ",", &save)) {
        long long a, b, step = 1;
        const char *p;
        int doubling = 0;
        if (parse_ll(item, &p, &a)) goto bad;
        b = a;
        if (p[0] == '.' && p[1] == '.') {
            doubling = 1;
            if (parse_ll(p + 2, &p, &b)) goto bad;
        } else if (p[0] == '-') {
            if (parse_ll(p + 1, &p, &b)) goto bad;
            if (*p == ':' && parse_ll(p + 1, &p, &step)) goto bad;
        }
        if (*p) goto bad;
        if (a < min || b > max || a > b || step <= 0 || (doubling && a <= 0)) {
            st = dlm_error(DLM_ERANGE, "%s: '%s' is out of range (valid: %lld to %lld, ranges "
                           "low to high)", opt, item, (long long)min, (long long)max);
            break;
        }
        for (long long v = a; v <= b && st == DLM_OK; v = doubling ? v * 2 : v + step)
            st = push(vals, n, &cap, v);
        continue;
    bad:
        st = dlm_error(DLM_EINVAL, "%s: '%s' is not an integer or range (write 8, 1-8, "
                       "1-64:8 or 1..128 for powers of two)", opt, item);
    }
    free(copy);
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
