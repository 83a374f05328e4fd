/* test_cli_parse.c — option, list and size parsing used by every subcommand. */
#include <stdlib.h>

#include "cli/cli.h"
#include "tap.h"

int main(void)
{
    int64_t *v = NULL, x;
    int n;
    TAP_OK(dlm_cli_list("--batch", "1,2,4", 1, 1000, &v, &n) == DLM_OK && n == 3 && v[2] == 4,
           "plain list");
    free(v);
    TAP_OK(dlm_cli_list("--batch", "1..128", 1, 1000, &v, &n) == DLM_OK && n == 8 && v[7] == 128,
           "powers of two 1..128");
    free(v);
    TAP_OK(dlm_cli_list("--seq", "50-1000:50", 1, 1000, &v, &n) == DLM_OK && n == 20 &&
               v[19] == 1000, "stepped range");
    free(v);
    TAP_OK(dlm_cli_list("--seq", "3-5,4,8", 1, 1000, &v, &n) == DLM_OK && n == 4, "duplicates dropped");
    free(v);
    TAP_OK(dlm_cli_list("--batch", "0", 1, 1000, &v, &n) == DLM_ERANGE &&
               strstr(dlm_errmsg(), "--batch") && strstr(dlm_errmsg(), "1 to 1000"),
           "batch 0 is out of range: %s", dlm_errmsg());
    TAP_OK(dlm_cli_list("--batch", "x", 1, 1000, &v, &n) == DLM_EINVAL, "text is rejected");
    TAP_OK(dlm_cli_list("--batch", "8-4", 1, 1000, &v, &n) == DLM_ERANGE, "reversed range");
    TAP_OK(dlm_cli_list("--batch", "", 1, 1000, &v, &n) == DLM_EINVAL, "empty list");
    /* hostile lists (issue 11): empty items are errors, never skipped */
    TAP_OK(dlm_cli_list("--batch", ",", 1, 1000, &v, &n) == DLM_EINVAL && !v && n == 0 &&
               strstr(dlm_errmsg(), "empty"), "',' is an error: %s", dlm_errmsg());
    TAP_OK(dlm_cli_list("--batch", "1,,2", 1, 1000, &v, &n) == DLM_EINVAL &&
               strstr(dlm_errmsg(), "item 2"), "'1,,2' names the empty item: %s", dlm_errmsg());
    TAP_OK(dlm_cli_list("--batch", "4,", 1, 1000, &v, &n) == DLM_EINVAL, "trailing comma");
    TAP_OK(dlm_cli_list("--batch", ",4", 1, 1000, &v, &n) == DLM_EINVAL, "leading comma");
    TAP_OK(dlm_cli_list("--batch", "99999999999999999999", 1, 1000, &v, &n) == DLM_ERANGE,
           "an integer beyond 64 bits is out of range (ERANGE), not saturated");
    TAP_OK(dlm_cli_list("--batch", "1-8:9223372036854775807", 1, 1000, &v, &n) == DLM_OK &&
               n == 1 && v[0] == 1, "a huge step makes one value (no overflow)");
    free(v);
    TAP_OK(dlm_cli_list("--batch", "1-1000000,1-1000000", 1, 1000000, &v, &n) == DLM_ERANGE,
           "more than DLM_CLI_LIST_MAX values refused before they are made");
    TAP_OK(dlm_cli_list("--batch", "1-200000,5,1..131072", 1, 1000000, &v, &n) == DLM_OK &&
               n == 200000 && v[0] == 1 && v[199999] == 200000,
           "200,000 values de-duplicated (n log n), first order kept");
    free(v);
    TAP_OK(dlm_cli_list("--batch", "8,3,8,1,3", 1, 100, &v, &n) == DLM_OK && n == 3 && v[0] == 8 &&
               v[1] == 3 && v[2] == 1, "duplicates dropped, first occurrence kept");
    free(v);
    TAP_OK(dlm_cli_list("--batch", "1..1000000000", 1, 1000000000, &v, &n) == DLM_OK && n == 30 &&
               v[29] == 536870912, "powers of two up to the maximum");
    free(v);

    TAP_OK(dlm_cli_size("--memory", "4GiB", &x) == DLM_OK && x == 4LL << 30, "4GiB");
    TAP_OK(dlm_cli_size("--memory", "16G", &x) == DLM_OK && x == 16LL << 30, "16G is binary");
    TAP_OK(dlm_cli_size("--memory", "80GB", &x) == DLM_OK && x == 80000000000LL, "80GB is decimal");
    TAP_OK(dlm_cli_size("--memory", "1.5 MiB", &x) == DLM_OK && x == 1572864, "1.5 MiB");
    TAP_OK(dlm_cli_size("--memory", "12", &x) == DLM_OK && x == 12, "bytes");
    TAP_OK(dlm_cli_size("--memory", "4 parsecs", &x) == DLM_EINVAL &&
               strstr(dlm_errmsg(), "4 parsecs"), "bad unit: %s", dlm_errmsg());
    TAP_OK(dlm_cli_size("--memory", "-3G", &x) == DLM_EINVAL, "negative size");

    TAP_OK(dlm_cli_int("--repeat", "5", 1, 100, &x) == DLM_OK && x == 5, "integer");
    TAP_OK(dlm_cli_int("--repeat", "500", 1, 100, &x) == DLM_ERANGE, "integer out of range");
    TAP_OK(dlm_cli_int("--repeat", "99999999999999999999", 1, 100, &x) == DLM_ERANGE,
           "integer beyond 64 bits is ERANGE");

    static const dlm_cli_opt opts[] = {{"format", 0, "FMT", ""}, {"quiet", 'q', NULL, ""},
                                       {"output", 'o', "FILE", ""}};
    dlm_cli_args a;
    char *argv1[] = {"resnet18", "--format=csv", "-q", "-o", "x.csv"};
    TAP_OK(dlm_cli_parse("t", 5, argv1, opts, 3, &a) == DLM_OK && a.n_pos == 1 &&
               !strcmp(dlm_cli_get(&a, "format"), "csv") && dlm_cli_get(&a, "quiet") &&
               !strcmp(dlm_cli_get(&a, "output"), "x.csv"),
           "long, inline, short and flag options");
    char *argv2[] = {"--fromat", "csv"};
    TAP_OK(dlm_cli_parse("t", 2, argv2, opts, 3, &a) == DLM_EINVAL &&
               strstr(dlm_errmsg(), "--fromat") && strstr(dlm_errmsg(), "--format"),
           "unknown option lists valid ones: %s", dlm_errmsg());
    char *argv3[] = {"--format"};
    TAP_OK(dlm_cli_parse("t", 1, argv3, opts, 3, &a) == DLM_EINVAL, "missing value");
    char *argv4[] = {"--quiet=1"};
    TAP_OK(dlm_cli_parse("t", 1, argv4, opts, 3, &a) == DLM_EINVAL, "flag with a value");
    return tap_done();
}
