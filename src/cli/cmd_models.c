/* cmd_models.c — `dlmem models`: the networks dlmem knows and their knobs. */
#include <string.h>

#include "../analytic/params.h"
#include "../models/models.h"
#include "cli.h"
#include "commands.h"

static const dlm_cli_opt opts[] = {
    {"format", 0, "FMT", "table (default), csv or json"},
};

dlm_status dlm_cmd_models(int argc, char **argv)
{
    dlm_cli_args a;
    dlm_format fmt;
    DLM_TRY(dlm_cli_parse("models", argc, argv, opts, 1, &a));
    if (a.help) {
        dlm_cli_usage(stdout, "models", "[options]",
                      "The networks dlmem knows, the PyTorch code each matches, and the sizes\n"
                      "(knobs) that --set changes.",
                      opts, 1);
        return DLM_OK;
    }
    if (a.n_pos) return dlm_error(DLM_EINVAL, "dlmem models: unexpected argument '%s'", a.pos[0]);
    DLM_TRY(dlm_cli_format(&a, &fmt));
    int n;
    const dlm_model_info *m = dlm_models(&n);
    dlm_json j;
    if (fmt == DLM_FMT_JSON) {
        dlm_json_init(&j, stdout, "dlmem.models/1");
        dlm_json_obj_begin(&j);
        dlm_json_key(&j, "models");
        dlm_json_arr_begin(&j);
    } else if (fmt == DLM_FMT_CSV) {
        fputs("model,knob,default,min,max,help\n", stdout);
    }
    for (int i = 0; i < n; i++) {
        dlm_graph *g;
        dlm_status st = dlm_model_build_named(m[i].name, NULL, &g);
        if (st != DLM_OK) {
            if (fmt == DLM_FMT_JSON) dlm_json_free(&j);
            return st;
        }
        int64_t np = dlm_graph_param_count(g);
        dlm_graph_free(g);
        if (fmt == DLM_FMT_JSON) {
            dlm_json_obj_begin(&j);
            dlm_json_kstr(&j, "model", m[i].name);
            dlm_json_kstr(&j, "summary", m[i].summary);
            dlm_json_kstr(&j, "pytorch", m[i].pytorch);
            dlm_json_kint(&j, "params", np);
            dlm_json_key(&j, "knobs");
            dlm_json_arr_begin(&j);
            for (const dlm_knob *k = m[i].knobs; k->name; k++) {
                dlm_json_obj_begin(&j);
                dlm_json_kstr(&j, "name", k->name);
                dlm_json_kint(&j, "default", k->value);
                dlm_json_kint(&j, "min", k->min);
                dlm_json_kint(&j, "max", k->max);
                dlm_json_kstr(&j, "help", k->help);
                dlm_json_obj_end(&j);
            }
            dlm_json_arr_end(&j);
            dlm_json_obj_end(&j);
        } else if (fmt == DLM_FMT_CSV) {
            for (const dlm_knob *k = m[i].knobs; k->name; k++) {
                printf("%s,%s,%lld,%lld,%lld,", m[i].name, k->name, (long long)k->value,
                       (long long)k->min, (long long)k->max);
                dlm_csv_field(stdout, k->help);
                putchar('\n');
            }
        } else {
            char pc[32];
            printf("%-11s %s\n            PyTorch: %s\n            %s parameters; knobs:",
                   m[i].name, m[i].summary, m[i].pytorch, dlm_fmt_int(pc, sizeof pc, np));
            for (const dlm_knob *k = m[i].knobs; k->name; k++)
                printf(" %s=%lld", k->name, (long long)k->value);
            printf("\n\n");
        }
    }
    if (fmt == DLM_FMT_JSON) {
        dlm_json_arr_end(&j);
        dlm_json_obj_end(&j);
        return dlm_json_finish(&j);
    }
    return dlm_check_stream(stdout, "standard output");
}
