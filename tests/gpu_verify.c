/* gpu_verify.c — runs dlmem's GPU runtime on weights and inputs that PyTorch
 * exported (tools/export_weights.py verify) and compares its outputs with
 * PyTorch's.  Used by tests/gpu_verify.gpu; prints one line per output and
 * per compared activation, and exits 1 if any output misses the tolerance.
 *
 *   gpu_verify MODEL WEIGHTS IO [--dtype fp32|bf16] [--tf32] [--layout auto|nchw|nhwc]
 *              [--rtol X]
 *   gpu_verify --probe        exit 0 with a usable GPU, 77 without
 *
 * Error measure: max |dlmem - PyTorch| / max |PyTorch| over a tensor (rel);
 * also ||dlmem - PyTorch||_2 / ||PyTorch||_2 (l2).  NaN anywhere fails.
 * Activations (PyTorch modules whose names are graph ops) are compared for
 * diagnosis only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure/runtime.h"
#include "models/models.h"

typedef struct ctx {
    const dlm_tensorfile *io;
    double worst_act;
    char worst_name[256];
} ctx;

static void compare(const float *got, const float *want, int64_t n, double *rel, double *l2,
                    int *nan)
{
    double maxd = 0, maxr = 0, sd = 0, sr = 0;
    *nan = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (isnan(got[i]) || isnan(want[i]) || isinf(got[i])) *nan = 1;
        if (d > maxd) maxd = d;
        if (fabs(want[i]) > maxr) maxr = fabs(want[i]);
        sd += d * d;
        sr += (double)want[i] * want[i];
    }
    *rel = maxr > 0 ? maxd / maxr : (maxd > 0 ? INFINITY : 0);
    *l2 = sr > 0 ? sqrt(sd / sr) : (sd > 0 ? INFINITY : 0);
}

/* After each op: compare its first output with PyTorch's module output. */
static dlm_status hook(dlm_rt *rt, int o, void *p)
{
    ctx *c = p;
    const dlm_graph *g = dlm_rt_graph(rt);
    char name[600];
    snprintf(name, sizeof name, "act.%s", g->ops[o].name);
    const dlm_tf_tensor *want = dlm_tensorfile_find(c->io, name);
    int t = g->ops[o].out[0];
    if (!want || g->tensors[t].elem != DLM_EL_FLOAT) return DLM_OK;
    /* a module's output is its last op's: an op named after a module with
     * ops of its own after it (GPT-2's attn, before attn.c_proj) is not it */
    size_t len = strlen(g->ops[o].name);
    for (int p2 = o + 1; p2 < g->n_ops; p2++)
        if (!strncmp(g->ops[p2].name, g->ops[o].name, len) && g->ops[p2].name[len] == '.')
            return DLM_OK;
    int64_t n = dlm_rt_numel(rt, t);
    if (want->numel != n) {
        printf("act %-50s size %lld, PyTorch's %lld (not compared)\n", g->ops[o].name,
               (long long)n, (long long)want->numel);
        return DLM_OK;
    }
    float *got = malloc((size_t)n * sizeof *got);
    if (!got) return dlm_error(DLM_ENOMEM, "out of memory");
    dlm_status st = dlm_rt_read_tensor(rt, t, got, n);
    if (st == DLM_EUNSUPPORTED) { /* a strided view: not comparable here */
        free(got);
        return DLM_OK;
    }
    if (st == DLM_OK) {
        double rel, l2;
        int nan;
        compare(got, want->data, n, &rel, &l2, &nan);
        printf("act %-50s rel %.3e  l2 %.3e%s\n", g->ops[o].name, rel, l2, nan ? "  NaN!" : "");
        if (nan) rel = INFINITY;
        if (rel > c->worst_act) {
            c->worst_act = rel;
            snprintf(c->worst_name, sizeof c->worst_name, "%s", g->ops[o].name);
        }
    }
    free(got);
    return st;
}

static int64_t meta(const dlm_tensorfile *f, const char *name, int *ok)
{
    const dlm_tf_tensor *t = dlm_tensorfile_find(f, name);
    if (!t || t->dtype != DLM_TF_I64 || t->numel != 1) {
        *ok = 0;
        return 0;
    }
    return *(const int64_t *)t->data;
}

static int run(int argc, char **argv)
{
    const char *model = NULL, *wpath = NULL, *iopath = NULL;
    dlm_rt_options o = {.dtype = DLM_RT_FP32, .conv_ws_limit = DLM_RT_CONV_WS_AUTO,
                        .conv_search = 1};
    double rtol = 1e-5;
    int npos = 0;
    const char *settings = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dtype") && i + 1 < argc) {
            const char *d = argv[++i];
            o.dtype = !strcmp(d, "bf16") ? DLM_RT_BF16 : DLM_RT_FP32;
        } else if (!strcmp(argv[i], "--tf32")) {
            o.tf32 = 1;
        } else if (!strcmp(argv[i], "--layout") && i + 1 < argc) {
            const char *l = argv[++i];
            o.layout = !strcmp(l, "nchw") ? DLM_RT_LAYOUT_NCHW
                       : !strcmp(l, "nhwc") ? DLM_RT_LAYOUT_NHWC : DLM_RT_LAYOUT_AUTO;
        } else if (!strcmp(argv[i], "--conv-api") && i + 1 < argc) {
            const char *a = argv[++i];
            o.conv_api = !strcmp(a, "legacy")  ? DLM_RT_CONV_API_LEGACY
                         : !strcmp(a, "graph") ? DLM_RT_CONV_API_GRAPH
                         : !strcmp(a, "gemm")  ? DLM_RT_CONV_API_GEMM
                                               : DLM_RT_CONV_API_ALL;
        } else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            settings = argv[++i];
        } else if (!strcmp(argv[i], "--rtol") && i + 1 < argc) {
            rtol = atof(argv[++i]);
        } else if (npos == 0) {
            model = argv[i], npos++;
        } else if (npos == 1) {
            wpath = argv[i], npos++;
        } else if (npos == 2) {
            iopath = argv[i], npos++;
        } else {
            fprintf(stderr, "gpu_verify: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (npos != 3) {
        fprintf(stderr, "usage: gpu_verify MODEL WEIGHTS IO [--dtype fp32|bf16] [--tf32] "
                        "[--layout auto|nchw|nhwc] [--conv-api all|legacy|graph|gemm] [--set K=V,...] "
                        "[--rtol X]\n");
        return 2;
    }
    dlm_graph *g = NULL;
    dlm_tensorfile *wf = NULL, *io = NULL;
    dlm_rt *rt = NULL;
    ctx c = {0};
    int fails = 0, ok = 1;
    dlm_status st = dlm_model_build_named(model, settings, &g);
    if (st == DLM_OK) st = dlm_tensorfile_read(wpath, &wf);
    if (st == DLM_OK) st = dlm_tensorfile_read(iopath, &io);
    if (st == DLM_OK) st = dlm_rt_create(g, &o, &rt);
    if (st == DLM_OK) st = dlm_rt_load_weights(rt, wf);
    int64_t B = io ? meta(io, "meta.B", &ok) : 0, T = io ? meta(io, "meta.T", &ok) : 0;
    if (st == DLM_OK && !ok) st = dlm_error(DLM_EPARSE, "%s: no meta.B / meta.T", iopath);
    if (st == DLM_OK) st = dlm_rt_prepare(rt, B, T);
    for (int i = 0; st == DLM_OK && i < g->n_inputs; i++) {
        char name[300];
        snprintf(name, sizeof name, "input.%s", g->tensors[g->inputs[i]].name);
        const dlm_tf_tensor *x = dlm_tensorfile_find(io, name);
        if (!x) st = dlm_error(DLM_EPARSE, "%s: no %s", iopath, name);
        else st = dlm_rt_set_input(rt, i, x->data, x->numel);
    }
    c.io = io;
    if (st == DLM_OK) {
        dlm_rt_set_hook(rt, hook, &c);
        st = dlm_rt_forward(rt);
    }
    for (int k = 0; st == DLM_OK && k < g->n_outputs; k++) {
        char name[64];
        snprintf(name, sizeof name, "output.%d", k);
        const dlm_tf_tensor *want = dlm_tensorfile_find(io, name);
        int t = g->outputs[k];
        int64_t n = dlm_rt_numel(rt, t);
        if (!want || want->numel != n) {
            st = dlm_error(DLM_EPARSE, "%s: %s missing or of another size", iopath, name);
            break;
        }
        float *got = malloc((size_t)n * sizeof *got);
        if (!got) {
            st = dlm_error(DLM_ENOMEM, "out of memory");
            break;
        }
        st = dlm_rt_read_tensor(rt, t, got, n);
        if (st == DLM_OK) {
            double rel, l2;
            int nan;
            compare(got, want->data, n, &rel, &l2, &nan);
            int64_t nz = 0;
            for (int64_t i = 0; i < n; i++) nz += ((const float *)want->data)[i] != 0.0f;
            /* an all-zero reference (a zero-initialised head) agrees with anything
             * that is zero too: it checks nothing */
            int pass = !nan && rel <= rtol && nz > 0;
            printf("OUTPUT %s %s (%s, %lld values, %lld nonzero in PyTorch's): rel %.3e  l2 %.3e  "
                   "(tolerance rel <= %g) %s\n",
                   model, g->tensors[t].name, dlm_rt_dtype_name(o.dtype), (long long)n,
                   (long long)nz, rel, l2, rtol, pass ? "PASS" : "FAIL");
            fails += !pass;
        }
        free(got);
    }
    if (st == DLM_OK && c.worst_name[0])
        printf("worst activation: %s rel %.3e\n", c.worst_name, c.worst_act);
    if (st != DLM_OK) printf("ERROR: %s\n", dlm_errmsg());
    dlm_rt_free(rt);
    dlm_tensorfile_free(wf);
    dlm_tensorfile_free(io);
    dlm_graph_free(g);
    return st != DLM_OK || fails ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--probe")) {
        if (dlm_gpu_open(0) != DLM_OK) {
            printf("%s\n", dlm_errmsg());
            return 77;
        }
        return 0;
    }
    return run(argc, argv);
}
