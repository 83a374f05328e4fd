/* fuzz_cli.c — the option parser and the value parsers every command uses:
 * the input is an argument vector (arguments separated by NUL bytes), parsed
 * against a table like a command's; each option's value then goes through
 * the list, integer and size parsers and --set's knob parser.  A parsed list
 * must hold distinct values in range. */
#include "fuzz.h"

#include "cli/cli.h"
#include "models/models.h"

static const dlm_cli_opt opts[] = {
    {"batch", 'b', "LIST", ""}, {"seq", 't', "LIST", ""},   {"memory", 0, "SIZE", ""},
    {"repeat", 0, "N", ""},     {"set", 0, "K=V,...", ""},  {"format", 0, "FMT", ""},
    {"quiet", 'q', NULL, ""},   {"output", 'o', "FILE", ""},
};
#define N_OPTS ((int)(sizeof opts / sizeof opts[0]))

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void list(const char *opt, const char *s, int64_t max)
{
    int64_t *v = NULL;
    int n = 0;
    dlm_status st = dlm_cli_list(opt, s, 1, max, &v, &n);
    if (st != DLM_OK) {
        fuzz_check_error(st);
        fuzz_require(v == NULL && n == 0, "values returned with an error");
        return;
    }
    fuzz_require(n >= 1 && n <= DLM_CLI_LIST_MAX, "list length");
    for (int i = 0; i < n; i++) fuzz_require(v[i] >= 1 && v[i] <= max, "a value out of range");
    /* distinct: a sorted copy has no equal neighbours */
    int64_t *c = malloc((size_t)n * sizeof *c);
    if (c) {
        memcpy(c, v, (size_t)n * sizeof *c);
        qsort(c, (size_t)n, sizeof *c, cmp_i64);
        for (int i = 1; i < n; i++) fuzz_require(c[i] != c[i - 1], "a repeated value");
        free(c);
    }
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[256];
    int argc = 0;
    for (size_t i = 0; i <= size && argc < 256;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    dlm_cli_args a;
    dlm_status st = dlm_cli_parse("fuzz", argc, argv, opts, N_OPTS, &a);
    if (st != DLM_OK) {
        fuzz_check_error(st);
    } else {
        const char *s;
        int64_t x;
        if ((s = dlm_cli_get(&a, "batch"))) list("--batch", s, 1000000000);
        if ((s = dlm_cli_get(&a, "seq"))) list("--seq", s, 512);
        if ((s = dlm_cli_get(&a, "memory")) && (st = dlm_cli_size("--memory", s, &x)) != DLM_OK)
            fuzz_check_error(st);
        if ((s = dlm_cli_get(&a, "memory")) && dlm_cli_size("--memory", s, &x) == DLM_OK)
            fuzz_require(x >= 1, "a size below one byte");
        if ((s = dlm_cli_get(&a, "repeat")) && (st = dlm_cli_int("--repeat", s, 1, 100, &x)) != DLM_OK)
            fuzz_check_error(st);
        if ((s = dlm_cli_get(&a, "set"))) {
            const dlm_model_info *info;
            dlm_model_config cfg;
            const char *model = a.n_pos > 0 && dlm_model_find(a.pos[0], &info) == DLM_OK
                                    ? a.pos[0] : "lstm";
            if (dlm_model_find(model, &info) == DLM_OK &&
                (st = dlm_model_config_init(info, s, &cfg)) != DLM_OK)
                fuzz_check_error(st);
        }
    }
    free(buf);
    return 0;
}
