/* test_memory_runtime.c — the runtime profile against dlmem's own GPU
 * runtime: every infer point that a `dlmem measure` sweep committed under
 * data/measured/ (columns: src/measure/columns.c) is predicted with the
 * sweep's measured workspace sizes as the model's named inputs, and must
 * match peak_bytes, before_bytes and after_bytes to the byte (the runtime
 * counts exact bytes: src/measure/plan.h).  Each row's model is built with the
 * knobs of its set column (absent in older files: the defaults).  SKIP while
 * no sweep is committed. */
#include <dirent.h>

#include "analytic/memory.h"
#include "core/csv.h"
#include "core/paths.h"
#include "models/models.h"
#include "tap.h"

/* The whole test skipped: TAP's "1..0 # SKIP", exit 0 (the TAP driver reads
 * the plan; a non-zero status would be an error). */
static int skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    return 0;
}

static const char *inputs[] = {"cublas_workspace", "cudnn_conv_workspace", "cudnn_rnn_workspace",
                               "cudnn_rnn_reserve", "rnn_seq_lengths"};
#define N_INPUTS 5

static int check_file(const char *path)
{
    static const char *cols[] = {"model", "mode", "dtype", "batch", "seq", "status",
                                 "before_bytes", "peak_bytes", "after_bytes"};
    int idx[9], in_idx[N_INPUTS], checked = 0, c_set;
    dlm_csv *csv;
    if (dlm_csv_read(path, &csv) != DLM_OK || dlm_csv_require(csv, 9, cols, idx) != DLM_OK) {
        TAP_OK(0, "%s: %s", path, dlm_errmsg());
        return 0;
    }
    c_set = dlm_csv_col(csv, "set");
    char name[64];
    for (int k = 0; k < N_INPUTS; k++) {
        snprintf(name, sizeof name, "%s_bytes", inputs[k]);
        in_idx[k] = dlm_csv_col(csv, name);
    }
    for (int i = 0; i < csv->nrows; i++) {
        if (strcmp(dlm_csv_get(csv, i, idx[5]), "ok") || strcmp(dlm_csv_get(csv, i, idx[1]), "infer"))
            continue;
        dlm_mem_config c;
        dlm_mem_config_default(&c);
        c.profile = DLM_PROFILE_RUNTIME;
        int64_t B, T, v[3];
        dlm_graph *g = NULL;
        dlm_mem_model *m = NULL;
        dlm_mem_result r;
        int ok = dlm_dtype_parse(dlm_csv_get(csv, i, idx[2]), &c.dtype) == DLM_OK &&
                 dlm_csv_int(csv, i, idx[3], &B) == DLM_OK && dlm_csv_int(csv, i, idx[4], &T) == DLM_OK &&
                 dlm_csv_int(csv, i, idx[6], &v[0]) == DLM_OK &&
                 dlm_csv_int(csv, i, idx[7], &v[1]) == DLM_OK &&
                 dlm_csv_int(csv, i, idx[8], &v[2]) == DLM_OK &&
                 dlm_model_build_builtin(dlm_csv_get(csv, i, idx[0]),
                                         c_set >= 0 ? dlm_csv_get(csv, i, c_set) : NULL,
                                         &g) == DLM_OK;
        /* the measured workspaces as the model's inputs (--input): the RNN's replaces
         * the probe's runtime rows, which hold another cuDNN's sizes for some files */
        for (int k = 0; ok && k < N_INPUTS; k++) {
            int64_t bytes;
            if (in_idx[k] < 0 || dlm_csv_int(csv, i, in_idx[k], &bytes) != DLM_OK) continue;
            const char *model = dlm_csv_get(csv, i, idx[0]);
            if (strcmp(inputs[k], "cudnn_rnn_workspace") ||
                (!strstr(model, "lstm") && !strstr(model, "gru")))
                continue;
            snprintf(c.inputs[c.n_inputs].name, sizeof c.inputs[0].name, "%s", inputs[k]);
            c.inputs[c.n_inputs++].bytes = bytes;
        }
        ok = ok && dlm_mem_model_alloc(g, &c, &m) == DLM_OK;
        for (int k = 0; ok && k < N_INPUTS; k++) {
            int64_t bytes;
            if (in_idx[k] < 0 || dlm_csv_int(csv, i, in_idx[k], &bytes) != DLM_OK) continue;
            if (!strcmp(inputs[k], "cudnn_rnn_workspace")) continue; /* given above */
            if (dlm_mem_model_set_input(m, inputs[k], bytes) != DLM_OK && bytes != 0) ok = 0;
        }
        ok = ok && dlm_mem_eval(m, B, T > 0 ? T : 1, &r) == DLM_OK;
        if (!ok) {
            TAP_OK(0, "%s:%d: %s", path, csv->lines[i], dlm_errmsg());
        } else {
            TAP_EQ(r.peak_bytes, v[1], "%s:%d %s %s B=%lld T=%lld: peak to the byte", path,
                   csv->lines[i], g->name, dlm_dtype_name(c.dtype), (long long)B, (long long)T);
            TAP_EQ(r.before_bytes, v[0], "%s:%d: before to the byte", path, csv->lines[i]);
            TAP_EQ(r.after_bytes, v[2], "%s:%d: after to the byte", path, csv->lines[i]);
            checked++;
        }
        dlm_mem_model_free(m);
        dlm_graph_free(g);
    }
    dlm_csv_free(csv);
    return checked;
}

int main(void)
{
    char dir[1024];
    if (!dlm_data_path("measured", dir, sizeof dir)) return skip_all("no data/measured/ directory");
    DIR *d = opendir(dir);
    if (!d) return skip_all("data/measured/ cannot be opened");
    int files = 0, points = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".csv")) continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        dlm_csv *csv;
        if (dlm_csv_read(path, &csv) != DLM_OK) continue;
        int is_runtime = dlm_csv_col(csv, "cublas_workspace_bytes") >= 0;
        dlm_csv_free(csv);
        if (!is_runtime) continue;
        files++;
        points += check_file(path);
    }
    closedir(d);
    if (!files) return skip_all("no dlmem measure sweep under data/measured/ yet");
    TAP_OK(points > 0, "%d infer points of %d sweeps checked", points, files);
    return tap_done();
}
