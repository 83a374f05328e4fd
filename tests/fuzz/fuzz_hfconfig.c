/* fuzz_hfconfig.c — the HuggingFace config.json reader (src/models/hfconfig.c,
 * through jansson) and what reads its graph: parameter counts and the memory
 * model in inference at a small and a huge point.  Findings: crashes,
 * sanitizer reports, an error of more than one line, a graph returned with an
 * error, a negative count. */
#include "fuzz.h"

#include "analytic/memory.h"
#include "models/hfconfig.h"

static void at(const dlm_graph *g, int64_t B, int64_t T)
{
    dlm_mem_config cfg;
    dlm_mem_config_default(&cfg);
    dlm_mem_model *m = NULL;
    dlm_status st = dlm_mem_model_alloc(g, &cfg, &m);
    if (st == DLM_OK) {
        dlm_mem_result r;
        st = dlm_mem_eval(m, B, T, &r);
        if (st == DLM_OK)
            fuzz_require(r.peak_bytes >= 0 && r.before_bytes >= 0 && r.after_bytes >= 0,
                         "a negative byte count");
    }
    if (st != DLM_OK) fuzz_check_error(st);
    dlm_mem_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("config.json", data, size);
    dlm_graph *g = NULL;
    dlm_status st = dlm_hfconfig_build(path, &g);
    if (st != DLM_OK) {
        fuzz_check_error(st);
        fuzz_require(g == NULL, "a graph returned with an error");
        return 0;
    }
    fuzz_require(dlm_graph_param_count(g) >= 0, "a negative parameter count");
    int64_t T = g->uses_T ? (g->max_T > 0 && g->max_T < 7 ? g->max_T : 7) : 1;
    at(g, 2, T);
    at(g, 1000000, g->uses_T ? (g->max_T > 0 ? g->max_T : 1000000) : 1);
    dlm_graph_free(g);
    return 0;
}
