/* test_convtab.c — the measured cuDNN convolution workspace table
 * (src/analytic/convtab.h): the loader's errors, and data/cudnn/conv_workspace.csv
 * against the per-op log it was read off (every row is what the log says, and
 * the log has no convolution the table lacks), so that a hand edit or a stale
 * table fails here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytic/convtab.h"
#include "core/csv.h"
#include "core/paths.h"
#include "tap.h"

static void load_errors(void)
{
    char path[] = "/tmp/dlmem-convtab-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        TAP_OK(0, "temporary file");
        return;
    }
    fputs("gpu,sm,dtype,phase,in_c,in_h,in_w,out_c,kernel_h,kernel_w,out_h,out_w,batch,bytes\n"
          "G,90,fp32,forward,3,8,8,4,3,3,8,8,2,512\n"
          "G,90,fp32,forward,3,8,8,4,3,3,8,8,2,1024\n", f);
    fclose(f);
    dlm_convtab *t = NULL;
    dlm_status st = dlm_convtab_load(path, &t);
    TAP_OK(st == DLM_EPARSE && strstr(dlm_errmsg(), ":3: batch 2 listed twice"),
           "a batch size listed twice for one shape is an error naming the line (%s)", dlm_errmsg());
    dlm_convtab_free(t);
    remove(path);
}

/* One per-op log against the table: for each convolution op, its table row's
 * smallest transient so far (least[], indexed like the table's rows). */
static void scan_log(const dlm_convtab *t, const char *rel, int64_t *least, const int *base,
                     int *ops, int *missing)
{
    char lpath[1024];
    dlm_csv *log;
    if (!dlm_data_path(rel, lpath, sizeof lpath) || dlm_csv_read(lpath, &log) != DLM_OK) {
        TAP_OK(0, "read %s: %s", rel, dlm_errmsg());
        return;
    }
    static const char *names[] = {"point", "op", "inputs", "outputs", "before", "after", "peak"};
    int c[7];
    if (dlm_csv_require(log, 7, names, c) != DLM_OK) {
        TAP_OK(0, "%s", dlm_errmsg());
        dlm_csv_free(log);
        return;
    }
    for (int r = 0; r < log->nrows; r++) {
        const char *op = dlm_csv_get(log, r, c[1]);
        int fwd = !strcmp(op, "convolution.default");
        if (!fwd && strcmp(op, "convolution_backward.default")) continue;
        int x[4], w[4], y[4], B;
        const char *in = dlm_csv_get(log, r, c[2]), *out = dlm_csv_get(log, r, c[3]);
        const char *pt = strstr(dlm_csv_get(log, r, c[0]), ":B");
        if (!pt || sscanf(pt, ":B%d", &B) != 1) continue;
        int ok = fwd ? sscanf(in, "%dx%dx%dx%d %dx%dx%dx%d", &x[0], &x[1], &x[2], &x[3], &w[0], &w[1],
                              &w[2], &w[3]) == 8 &&
                           sscanf(out, "%dx%dx%dx%d", &y[0], &y[1], &y[2], &y[3]) == 4
                     : sscanf(in, "%dx%dx%dx%d %dx%dx%dx%d %dx%dx%dx%d", &y[0], &y[1], &y[2], &y[3],
                              &x[0], &x[1], &x[2], &x[3], &w[0], &w[1], &w[2], &w[3]) == 12;
        int64_t b, a, p;
        if (!ok || dlm_csv_int(log, r, c[4], &b) != DLM_OK || dlm_csv_int(log, r, c[5], &a) != DLM_OK ||
            dlm_csv_int(log, r, c[6], &p) != DLM_OK) {
            TAP_OK(0, "%s line %d: %s", rel, log->lines[r], ok ? dlm_errmsg() : "unreadable shapes");
            continue;
        }
        dlm_conv_key key = {x[1], x[2], x[3], w[0], w[2], w[3], y[2], y[3]};
        const dlm_conv_series *s = dlm_convtab_find(t, 90, "fp32", fwd ? DLM_CONV_FWD : DLM_CONV_BWD, &key);
        int j = -1;
        for (int q = 0; s && q < s->n; q++)
            if (s->B[q] == B) j = q;
        (*ops)++;
        if (j < 0) {
            if ((*missing)++ < 5) printf("# %s line %d: no table row for it\n", rel, log->lines[r]);
            continue;
        }
        int64_t v = p - (a > b ? a : b), *l = &least[base[s - t->s] + j];
        if (*l < 0 || v < *l) *l = v;
    }
    dlm_csv_free(log);
}

/* The table's rows against the logs it was read from (B 1..128 on the H200,
 * B 256 and the half-width ResNet's shapes on an H100, whose workspaces equal
 * the H200's at B 8 and 32: data/reference/pytorch_oplog_resnet_fp32_h100.csv):
 * key, phase and batch ->
 * smallest transient. */
static void against_log(void)
{
    static const char *logs[] = {"reference/pytorch_oplog_resnet_fp32.csv",
                                 "reference/pytorch_oplog_resnet_fp32_b256.csv",
                                 "reference/pytorch_oplog_resnet_base32_fp32.csv"};
    char tpath[1024];
    if (!dlm_data_path("cudnn/conv_workspace.csv", tpath, sizeof tpath)) {
        printf("# no table: not checked\n");
        return;
    }
    dlm_convtab *t;
    if (dlm_convtab_load(tpath, &t) != DLM_OK) {
        TAP_OK(0, "read the table: %s", dlm_errmsg());
        return;
    }
    int total = 0;
    for (int i = 0; i < t->n; i++) total += t->s[i].n;
    int64_t *least = malloc((size_t)(total ? total : 1) * sizeof *least);
    int *base = malloc((size_t)(t->n + 1) * sizeof *base);
    if (!least || !base) {
        TAP_OK(0, "out of memory");
        free(least);
        free(base);
        dlm_convtab_free(t);
        return;
    }
    for (int i = 0, k = 0; i < t->n; k += t->s[i].n, i++) base[i] = k;
    for (int k = 0; k < total; k++) least[k] = -1;
    int ops = 0, missing = 0;
    for (size_t f = 0; f < sizeof logs / sizeof logs[0]; f++)
        scan_log(t, logs[f], least, base, &ops, &missing);
    TAP_OK(ops >= 500 && missing == 0, "every one of the logs' %d convolution ops has its table row "
           "(%d without)", ops, missing);
    int wrong = 0, unseen = 0;
    for (int i = 0; i < t->n; i++)
        for (int q = 0; q < t->s[i].n; q++) {
            int64_t l = least[base[i] + q];
            if (l < 0) unseen++;
            else if (l != t->s[i].bytes[q] && wrong++ < 5)
                printf("# table %dx%dx%d -> %d k%dx%d, %s, B=%lld: %lld B, the log says %lld B\n",
                       t->s[i].key.in_c, t->s[i].key.in_h, t->s[i].key.in_w, t->s[i].key.out_c,
                       t->s[i].key.kh, t->s[i].key.kw, t->s[i].phase == DLM_CONV_FWD ? "fwd" : "bwd",
                       (long long)t->s[i].B[q], (long long)t->s[i].bytes[q], (long long)l);
        }
    TAP_OK(wrong == 0 && unseen == 0, "each of the table's %d rows is the logs' smallest transient for "
           "its shape, phase and batch (%d differ, %d not in the logs)", total, wrong, unseen);
    TAP_OK(strstr(t->gpu, "NVIDIA H200") && strstr(t->gpu, "NVIDIA H100 80GB HBM3"),
           "the GPUs the rows were measured on are named: %s", t->gpu);
    free(least);
    free(base);
    dlm_convtab_free(t);
}

int main(void)
{
    load_errors();
    against_log();
    return tap_done();
}
