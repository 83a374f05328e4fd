/* cmd_measure.c — `dlmem measure MODEL`: runs the network on the GPU over a
 * grid of batch sizes and sequence lengths and records what it used (the
 * protocol is in src/measure/measure.h).  Options are checked before the GPU
 * is touched, so usage errors say so the same way on every machine. */
#include <stdlib.h>
#include <string.h>

#include "../measure/measure.h"
#include "../measure/plan.h"
#include "../models/models.h"
#include "cli.h"
#include "commands.h"

/* the most points one sweep runs (each is a run on the GPU) */
#define DLM_MEASURE_MAX_POINTS 100000

static const dlm_cli_opt opts[] = {
    {"batch", 'b', "LIST", "batch sizes: 1,2,4 or 1-8 or 1..128 (powers of two)"},
    {"seq", 't', "LIST", "sequence lengths (models with a sequence): 8..512, 50,100,200"},
    {"mode", 0, "MODE", "infer (the only mode the GPU runtime measures)"},
    {"dtype", 0, "DTYPE", "fp32 (default, exact: no TF32) or bf16 (all but the RNNs)"},
    {"tf32", 0, NULL, "let cuDNN and cuBLAS use TF32 for fp32 (PyTorch's cuDNN default)"},
    {"repeat", 'r', "N", "timed passes per point; the median is reported (default 10)"},
    {"output", 'o', "FILE", "append one CSV row per point to FILE, flushed as it is measured"},
    {"resume", 0, NULL, "continue FILE: skip the points it already has"},
    {"weights", 0, "FILE", "weights from tools/export_weights.py (default: random, seed 1)"},
    {"mem-limit", 0, "SIZE", "refuse tracked allocations beyond SIZE (simulates a smaller GPU)"},
    {"conv-workspace", 0, "SIZE", "auto (default): each conv's workspace allocated around it, "
                                  "below the plan's headroom (never raises the peak); SIZE: one "
                                  "resident buffer of at most SIZE (0: no workspace)"},
    {"conv-algo", 0, "HOW", "search (default: time the candidates, take the fastest) or "
                            "heuristic (cuDNN's ranking)"},
    {"conv-api", 0, "API", "where conv candidates come from: all (default), legacy "
                           "(cudnnConvolutionForward's algorithms), graph (cuDNN's backend API "
                           "engines) or gemm (im2col + cuBLAS, fp32/NCHW)"},
    {"layout", 0, "L", "conv nets: auto (default: nhwc in bf16, nchw in fp32), nchw or nhwc"},
    {"set", 0, "K=V,...", "change model sizes (see dlmem models); each row records them in "
                          "its set column"},
    {"format", 0, "FMT", "stdout: table (default), csv (the -o columns) or json (dlmem.measure/1: "
                         "one object a point, bytes as integers)"},
    {"op-times", 0, "FILE", "append each op's GPU time (one extra pass per point) to FILE"},
};
#define N_OPTS ((int)(sizeof opts / sizeof opts[0]))

static const char about[] =
    "Runs MODEL on the GPU (cuDNN, cuBLAS and dlmem's kernels, the same graph `dlmem params`\n"
    "and `dlmem memory` read) at every batch size and sequence length, and records per\n"
    "point the exact bytes before, at the peak and after a measured inference pass, the\n"
    "named library workspaces, the CUDA pool's own watermark and the median time of N\n"
    "passes.  A point that runs out of GPU memory is recorded as oom and the sweep goes on.\n"
    "Progress goes to stderr; without a GPU dlmem says so and exits with status 2.";

dlm_status dlm_cmd_measure(int argc, char **argv)
{
    dlm_cli_args a;
    dlm_measure_config c;
    dlm_graph *g = NULL;
    int64_t *batch = NULL, *seq = NULL, repeat = 10, zero = 0;
    dlm_status st;
    memset(&c, 0, sizeof c);
    DLM_TRY(dlm_cli_parse("measure", argc, argv, opts, N_OPTS, &a));
    if (a.help) {
        dlm_cli_usage(stdout, "measure", "MODEL --batch LIST [--seq LIST] [options]", about, opts,
                      N_OPTS);
        return DLM_OK;
    }
    if (a.n_pos != 1)
        return dlm_error(DLM_EINVAL, "dlmem measure: expected one MODEL, got %d arguments (see "
                         "dlmem models)", a.n_pos);
    const dlm_model_info *info;
    DLM_TRY(dlm_model_open(a.pos[0], dlm_cli_get(&a, "set"), &info, &g));

    /* the knobs as the CSV records them (its set column): the readers build
     * the same graph from it */
    char set[DLM_MODEL_SET_MAX] = "";
    if (info) {
        dlm_model_config mc;
        if ((st = dlm_model_config_init(info, dlm_cli_get(&a, "set"), &mc)) != DLM_OK ||
            (st = dlm_model_config_format(&mc, set, sizeof set)) != DLM_OK)
            goto done;
    }
    const char *s;
    c.g = g;
    c.set = set;
    if ((s = dlm_cli_get(&a, "mode")) && strcmp(s, "infer")) {
        st = !strcmp(s, "forward") || !strcmp(s, "train")
                 ? dlm_error(DLM_EUNSUPPORTED, "--mode %s: the GPU runtime measures infer only "
                             "(PyTorch's forward/train: tools/torch_reference.py)", s)
                 : dlm_error(DLM_EINVAL, "--mode: unknown mode '%s' (valid: infer)", s);
        goto done;
    }
    c.dtype = DLM_RT_FP32;
    if ((s = dlm_cli_get(&a, "dtype"))) {
        if (!strcmp(s, "bf16")) c.dtype = DLM_RT_BF16;
        else if (strcmp(s, "fp32")) {
            st = dlm_error(!strcmp(s, "fp16") || !strcmp(s, "mixed") ? DLM_EUNSUPPORTED : DLM_EINVAL,
                           "--dtype: '%s' is not run by the GPU runtime (valid: fp32, bf16)", s);
            goto done;
        }
    }
    c.tf32 = dlm_cli_get(&a, "tf32") != NULL;
    if (c.tf32 && c.dtype != DLM_RT_FP32) {
        st = dlm_error(DLM_EINVAL, "--tf32 applies to --dtype fp32 only");
        goto done;
    }
    if ((st = dlm_cli_points(&a, "dlmem measure", g->name, g->uses_T, g->max_T, &batch, &c.n_batch, &seq,
                             &c.n_seq)) != DLM_OK)
        goto done;
    c.batch = batch;
    c.seq = seq ? seq : &zero;
    /* every point is a run on the GPU: a grid no sweep needs is refused before any */
    if ((int64_t)c.n_batch * c.n_seq > DLM_MEASURE_MAX_POINTS) {
        st = dlm_error(DLM_ERANGE, "dlmem measure: --batch and --seq make %lld points (at most "
                       "%d in one sweep; split it with --resume)",
                       (long long)c.n_batch * c.n_seq, DLM_MEASURE_MAX_POINTS);
        goto done;
    }
    if ((s = dlm_cli_get(&a, "repeat")) &&
        (st = dlm_cli_int("--repeat", s, 1, 100000, &repeat)) != DLM_OK)
        goto done;
    c.repeat = (int)repeat;
    c.output = dlm_cli_get(&a, "output");
    c.resume = dlm_cli_get(&a, "resume") != NULL;
    if (c.resume && !c.output) {
        st = dlm_error(DLM_EINVAL, "--resume needs -o FILE (the sweep to continue)");
        goto done;
    }
    c.weights = dlm_cli_get(&a, "weights");
    c.op_times = dlm_cli_get(&a, "op-times");
    if ((s = dlm_cli_get(&a, "mem-limit")) &&
        (st = dlm_cli_size("--mem-limit", s, &c.mem_limit)) != DLM_OK)
        goto done;
    c.conv_ws_limit = DLM_RT_CONV_WS_AUTO;
    if ((s = dlm_cli_get(&a, "conv-workspace")) && strcmp(s, "auto") && strcmp(s, "0") &&
        (st = dlm_cli_size("--conv-workspace", s, &c.conv_ws_limit)) != DLM_OK)
        goto done;
    if (s && !strcmp(s, "0")) c.conv_ws_limit = 0;
    c.conv_search = 1;
    if ((s = dlm_cli_get(&a, "conv-algo"))) {
        if (!strcmp(s, "heuristic")) c.conv_search = 0;
        else if (strcmp(s, "search")) {
            st = dlm_error(DLM_EINVAL, "--conv-algo: '%s' (valid: search, heuristic)", s);
            goto done;
        }
    }
    c.conv_api = DLM_RT_CONV_API_ALL;
    if ((s = dlm_cli_get(&a, "conv-api"))) {
        if (!strcmp(s, "legacy")) c.conv_api = DLM_RT_CONV_API_LEGACY;
        else if (!strcmp(s, "graph")) c.conv_api = DLM_RT_CONV_API_GRAPH;
        else if (!strcmp(s, "gemm")) c.conv_api = DLM_RT_CONV_API_GEMM;
        else if (strcmp(s, "all")) {
            st = dlm_error(DLM_EINVAL, "--conv-api: '%s' (valid: all, legacy, graph, gemm)", s);
            goto done;
        }
    }
    c.layout = DLM_RT_LAYOUT_AUTO;
    if ((s = dlm_cli_get(&a, "layout"))) {
        if (!strcmp(s, "nchw")) c.layout = DLM_RT_LAYOUT_NCHW;
        else if (!strcmp(s, "nhwc")) c.layout = DLM_RT_LAYOUT_NHWC;
        else if (strcmp(s, "auto")) {
            st = dlm_error(DLM_EINVAL, "--layout: '%s' (valid: auto, nchw, nhwc)", s);
            goto done;
        }
    }
    if (c.layout == DLM_RT_LAYOUT_NHWC && c.dtype != DLM_RT_BF16) {
        st = dlm_error(DLM_EUNSUPPORTED, "--layout nhwc: the runtime runs channels-last in bf16 "
                       "only (--dtype bf16)");
        goto done;
    }
    if ((st = dlm_cli_format(&a, &c.format)) != DLM_OK) goto done;
    st = dlm_measure_run(&c);
done:
    free(batch);
    free(seq);
    dlm_graph_free(g);
    return st;
}
