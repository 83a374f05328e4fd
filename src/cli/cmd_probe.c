/* cmd_probe.c — `dlmem probe MODEL`: the library workspaces the memory model
 * needs, asked of cuDNN and cuBLAS on this GPU as PyTorch 2.11 asks for them
 * (src/measure/probe.h).  Options are checked before the GPU is touched, so
 * usage errors read the same on every machine. */
#include <stdlib.h>
#include <string.h>

#include "../measure/probe.h"
#include "../models/models.h"
#include "cli.h"
#include "commands.h"

static const dlm_cli_opt opts[] = {
    {"batch", 'b', "LIST", "batch sizes: 1,2,4 or 1-256 or 1..128 (powers of two)"},
    {"seq", 't', "LIST", "sequence lengths (models with a sequence): 50:1000:50, 100"},
    {"mode", 0, "MODE", "infer (inference rows), train (training rows: forward + backward) "
                        "or all (default)"},
    {"dtype", 0, "LIST", "fp32 (default; TF32 off), fp32-tf32 (TF32 allowed), fp16, bf16, "
                         "as a comma list"},
    {"layout", 0, "L", "convolutions: nchw (default: PyTorch's contiguous tensors) or nhwc "
                       "(a model converted to channels_last)"},
    {"alignment", 0, "BYTES", "the data pointers' alignment PyTorch's getAlignment() reports "
                              "(default 32: PyTorch's 512-byte-aligned blocks)"},
    {"set", 0, "K=V,...", "change model sizes (see dlmem models)"},
    {"output", 'o', "FILE", "rows to FILE (appended; keys it has are not probed again), '-' for "
                            "stdout; default: the user cache (see below)"},
};
#define N_OPTS ((int)(sizeof opts / sizeof opts[0]))

static const char about[] =
    "Asks cuDNN and cuBLAS on this GPU, without running MODEL or allocating its activations,\n"
    "for the workspace of every library call the memory model counts, as PyTorch 2.11 makes\n"
    "them (cudnn.benchmark off): each convolution's engine config and workspace (forward,\n"
    "and with training backward-data and backward-filter), each RNN's workspace and reserve,\n"
    "the cuBLAS and cuBLASLt workspaces.  One CSV row per op instance shape, phase, dtype\n"
    "and batch (and sequence length), with the GPU, its compute capability and the cuDNN\n"
    "and cuBLAS versions loaded (point LD_LIBRARY_PATH at another cuDNN 9 to probe it).\n"
    "Default output: ${XDG_CACHE_HOME:-~/.cache}/dlmem/workspaces-<gpu>-cudnn<version>.csv,\n"
    "which dlmem memory reads.  Progress on stderr; without a usable GPU one error line and\n"
    "exit status 2.";

static dlm_status parse_dtypes(const char *s, dlm_probe_dtype *out, int *n)
{
    char buf[256];
    *n = 0;
    if (strlen(s) >= sizeof buf) return dlm_error(DLM_EINVAL, "--dtype: list too long");
    strcpy(buf, s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int d = -1;
        for (int i = 0; i < DLM_PROBE_N_DTYPES; i++)
            if (!strcmp(t, dlm_probe_dtype_name((dlm_probe_dtype)i))) d = i;
        if (d < 0)
            return dlm_error(DLM_EINVAL, "--dtype: '%s' (valid: fp32, fp32-tf32, fp16, bf16)", t);
        int dup = 0;
        for (int i = 0; i < *n; i++) dup |= out[i] == (dlm_probe_dtype)d;
        if (!dup) out[(*n)++] = (dlm_probe_dtype)d;
    }
    if (!*n) return dlm_error(DLM_EINVAL, "--dtype: empty list");
    return DLM_OK;
}

dlm_status dlm_cmd_probe(int argc, char **argv)
{
    dlm_cli_args a;
    dlm_probe_config c;
    dlm_probe_dtype dtypes[DLM_PROBE_N_DTYPES];
    dlm_graph *g = NULL;
    int64_t *batch = NULL, *seq = NULL, zero = 0, align = 32;
    dlm_status st;
    const char *s;
    memset(&c, 0, sizeof c);
    DLM_TRY(dlm_cli_parse("probe", argc, argv, opts, N_OPTS, &a));
    if (a.help) {
        dlm_cli_usage(stdout, "probe", "MODEL --batch LIST [--seq LIST] [options]", about, opts,
                      N_OPTS);
        return DLM_OK;
    }
    if (a.n_pos != 1)
        return dlm_error(DLM_EINVAL, "dlmem probe: expected one MODEL, got %d arguments (see "
                         "dlmem models)", a.n_pos);
    DLM_TRY(dlm_model_build_named(a.pos[0], dlm_cli_get(&a, "set"), &g));
    c.g = g;
    c.infer = c.train = 1;
    if ((s = dlm_cli_get(&a, "mode"))) {
        if (!strcmp(s, "infer")) c.train = 0;
        else if (!strcmp(s, "train") || !strcmp(s, "forward")) c.infer = 0;
        else if (strcmp(s, "all")) {
            st = dlm_error(DLM_EINVAL, "--mode: unknown mode '%s' (valid: infer, train, all)", s);
            goto done;
        }
    }
    dtypes[0] = DLM_PROBE_FP32;
    c.n_dtypes = 1;
    if ((s = dlm_cli_get(&a, "dtype")) && (st = parse_dtypes(s, dtypes, &c.n_dtypes)) != DLM_OK)
        goto done;
    c.dtypes = dtypes;
    if ((s = dlm_cli_get(&a, "layout"))) {
        if (!strcmp(s, "nhwc")) c.nhwc = 1;
        else if (strcmp(s, "nchw")) {
            st = dlm_error(DLM_EINVAL, "--layout: '%s' (valid: nchw, nhwc)", s);
            goto done;
        }
    }
    if ((s = dlm_cli_get(&a, "alignment"))) {
        if ((st = dlm_cli_int("--alignment", s, 1, 256, &align)) != DLM_OK) goto done;
        if (align & (align - 1)) {
            st = dlm_error(DLM_EINVAL, "--alignment: %lld is not a power of two", (long long)align);
            goto done;
        }
    }
    c.align = (int)align;
    if ((st = dlm_cli_points(&a, "dlmem probe", g->name, g->uses_T, g->max_T, &batch, &c.n_batch, &seq,
                             &c.n_seq)) != DLM_OK)
        goto done;
    c.batch = batch;
    c.seq = seq ? seq : &zero;
    c.output = dlm_cli_get(&a, "output");
    st = dlm_probe_run(&c);
done:
    free(batch);
    free(seq);
    dlm_graph_free(g);
    return st;
}
