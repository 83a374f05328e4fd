/* fuzz_netfile.c — the network-file parser and what reads its graph: parameter
 * counts and the memory model at small and huge points, inference and
 * training.  Findings: crashes, sanitizer reports, an error of more than one
 * line, a negative byte count. */
#include "fuzz.h"

#include "analytic/memory.h"
#include "models/netfile.h"

static void at(const dlm_graph *g, dlm_mode mode, int64_t B, int64_t T)
{
    dlm_mem_config cfg;
    dlm_mem_config_default(&cfg);
    cfg.mode = mode;
    dlm_mem_model *m = NULL;
    dlm_status st = dlm_mem_model_alloc(g, &cfg, &m);
    if (st == DLM_OK) {
        dlm_mem_result r;
        st = dlm_mem_eval(m, B, T, &r);
        if (st == DLM_OK) {
            fuzz_require(r.peak_bytes >= 0 && r.before_bytes >= 0 && r.after_bytes >= 0,
                         "a negative byte count");
            dlm_poly law;
            st = dlm_mem_peak_poly(m, B, T, &law);
        }
    }
    if (st != DLM_OK) fuzz_check_error(st);
    dlm_mem_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("x.net", data, size);
    dlm_graph *g = NULL;
    dlm_status st = dlm_netfile_build(path, &g);
    if (st != DLM_OK) {
        fuzz_check_error(st);
        fuzz_require(g == NULL, "a graph returned with an error");
        return 0;
    }
    fuzz_require(dlm_graph_param_count(g) >= 0, "a negative parameter count");
    int64_t T = g->uses_T ? (g->max_T > 0 && g->max_T < 5 ? g->max_T : 5) : 1;
    at(g, DLM_MODE_INFER, 1, T);
    at(g, DLM_MODE_TRAIN, 3, T);
    at(g, DLM_MODE_INFER, 1000000000, g->uses_T ? (g->max_T > 0 ? g->max_T : 100000000) : 1);
    dlm_graph_free(g);
    return 0;
}
