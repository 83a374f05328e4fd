/* test_series.c — reading measured CSVs into series: the accepted columns,
 * grouping (B series, T series, too-short ones), status rows, profiles, and
 * malformed files refused with file and line.  Files are written to a
 * temporary folder by the test itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reconcile/series.h"
#include "tap.h"

static char dir[] = "/tmp/dlmem-test-series.XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

static int find(const dlm_series_set *set, const char *model, const char *mode, dlm_xvar xv,
                long long fixed)
{
    for (int i = 0; i < set->n; i++)
        if (!strcmp(set->s[i].model, model) && !strcmp(set->s[i].mode, mode) &&
            set->s[i].xvar == xv && set->s[i].fixed == fixed)
            return i;
    return -1;
}

static void expect_parse_error(const char *name, const char *text, const char *want, const char *what)
{
    const char *p = write_file(name, text);
    dlm_series_set set = {0};
    dlm_status st = dlm_series_read(p, &set);
    TAP_EQ(st, DLM_EPARSE, "%s is refused", what);
    TAP_OK(strstr(dlm_errmsg(), want) != NULL && strstr(dlm_errmsg(), name) != NULL,
           "%s: message names the file and '%s' (%s)", what, want, dlm_errmsg());
    dlm_series_set_free(&set);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp failed\n");
        return 1;
    }

    /* a user's minimal table: a ResNet B sweep with a repeat and an oom row */
    const char *p = write_file("user.csv",
                               "# my runs\n"
                               "model,mode,batch,seq,peak_bytes,status\n"
                               "resnet18,infer,1,0,88488960,ok\n"
                               "resnet18,infer,2,0,95964160,ok\n"
                               "resnet18,infer,2,,95964672,ok\n"
                               "resnet18,infer,4,0,109510656,ok\n"
                               "resnet18,infer,4096,0,,oom\n");
    dlm_series_set set = {0};
    TAP_EQ(dlm_series_read(p, &set), DLM_OK, "minimal user table read: %s", dlm_errmsg());
    TAP_EQ(set.n, 1, "one series");
    if (set.n == 1) {
        dlm_series *s = &set.s[0];
        TAP_EQ(s->n, 4, "4 ok points (the repeat kept)");
        TAP_EQ(s->n_failed, 1, "the oom row counted, not fitted");
        TAP_EQ(s->xvar, DLM_X_BATCH, "varies B");
        TAP_STREQ(s->profile, "pytorch", "no profile column: pytorch");
        TAP_STREQ(s->dtype, "fp32", "no dtype column: fp32");
        TAP_OK(s->before == NULL, "no before column: no baseline");
        TAP_EQ(s->line[0], 3, "first point from line 3 (after a comment and the header)");
        TAP_OK(s->resolution == 512, "pytorch data: 512-byte resolution");
    }
    dlm_series_set_free(&set);

    /* a grid: B in {1, 32} x T in {50, 100, 200}; attention sdpa; runtime header */
    p = write_file("grid.csv",
                   "model,mode,dtype,attention,batch,seq,status,before_bytes,peak_bytes,after_bytes,"
                   "median_ms,gpu,cublas\n"
                   "bert,infer,fp32,sdpa,1,50,ok,1,100,1,0.1,H200,13\n"
                   "bert,infer,fp32,sdpa,1,100,ok,1,110,1,0.1,H200,13\n"
                   "bert,infer,fp32,sdpa,1,200,ok,1,120,1,0.1,H200,13\n"
                   "bert,infer,fp32,sdpa,32,50,ok,1,200,1,0.1,H200,13\n"
                   "bert,infer,fp32,sdpa,32,100,ok,1,210,1,0.1,H200,13\n"
                   "bert,infer,fp32,sdpa,32,200,ok,1,220,1,0.1,H200,13\n");
    TAP_EQ(dlm_series_read(p, &set), DLM_OK, "grid read: %s", dlm_errmsg());
    TAP_EQ(set.n, 2, "two T series (the 2-point B series are left out beside longer ones)");
    int a = find(&set, "bert", "infer", DLM_X_SEQ, 1), b = find(&set, "bert", "infer", DLM_X_SEQ, 32);
    TAP_OK(a >= 0 && b >= 0, "T series at B=1 and B=32");
    if (a >= 0) {
        TAP_STREQ(set.s[a].attention, "fused", "sdpa is read as fused");
        TAP_STREQ(set.s[a].profile, "runtime", "dlmem measure's header: runtime profile");
        TAP_OK(set.s[a].before != NULL, "before column read");
        TAP_EQ(set.s[a].n_extra, 1, "one other byte column (after_bytes) kept for the predictor");
        if (set.s[a].n_extra == 1) TAP_STREQ(set.s[a].extra_name[0], "after", "named without _bytes");
        char label[256];
        dlm_series_label(&set.s[a], label, sizeof label);
        TAP_STREQ(label, "bert infer fp32 fused, B=1, T varies (runtime, H200)", "series label");
    }
    dlm_series_set_free(&set);

    /* a lone point is one (too short) series, not an error */
    p = write_file("one.csv", "model,mode,batch,seq,peak_bytes,profile\nlstm,infer,1,50,5,runtime\n");
    TAP_EQ(dlm_series_read(p, &set), DLM_OK, "one point read");
    TAP_OK(set.n == 1 && set.s[0].n == 1, "one series of one point");
    dlm_series_set_free(&set);

    /* the knobs a model was built with (dlmem measure's set column): part of
     * the configuration, in one spelling; no column or an empty cell: the defaults */
    p = write_file("set.csv",
                   "model,mode,batch,seq,peak_bytes,set\n"
                   "unet,infer,1,0,100,\n"
                   "unet,infer,2,0,110,\n"
                   "unet,infer,1,0,90,upsample=1\n"
                   "unet,infer,2,0,95,base=64;upsample=1\n"
                   "unet,infer,4,0,99,\"upsample=1,depth=4\"\n"
                   "mynet,infer,1,0,5,width=7\n");
    TAP_EQ(dlm_series_read(p, &set), DLM_OK, "a set column read: %s", dlm_errmsg());
    TAP_EQ(set.n, 3, "three series: unet, unet with upsample=1, mynet");
    int d = -1, u = -1, m = -1;
    for (int i = 0; i < set.n; i++) {
        if (!strcmp(set.s[i].model, "unet") && !set.s[i].set[0]) d = i;
        if (!strcmp(set.s[i].model, "unet") && !strcmp(set.s[i].set, "upsample=1")) u = i;
        if (!strcmp(set.s[i].model, "mynet")) m = i;
    }
    TAP_OK(d >= 0 && set.s[d].n == 2, "an empty set: the defaults, 2 points");
    TAP_OK(u >= 0 && set.s[u].n == 3, "upsample=1, base=64;upsample=1 and \"upsample=1,depth=4\" "
           "are one configuration: 3 points");
    TAP_OK(m >= 0 && !strcmp(set.s[m].set, "width=7"), "a model dlmem does not know keeps its "
           "set as written");
    if (u >= 0) {
        char label[256];
        dlm_series_label(&set.s[u], label, sizeof label);
        TAP_STREQ(label, "unet[upsample=1] infer fp32, B varies (pytorch)", "the set is in the label");
        dlm_series_stem(&set.s[u], label, sizeof label);
        TAP_STREQ(label, "unet-upsample_1-infer-fp32-pytorch-T0-B", "and in the stem, file-name safe");
    }
    dlm_series_set_free(&set);
    expect_parse_error("badset.csv", "model,mode,batch,seq,peak_bytes,set\nunet,infer,1,0,5,\n"
                       "unet,infer,2,0,6,depth=9\n",
                       "badset.csv:3: column 'set': depth=9: out of range [1, 8]",
                       "a set value out of range");
    expect_parse_error("badknob.csv", "model,mode,batch,seq,peak_bytes,set\nunet,infer,1,0,5,deep=2\n",
                       "badknob.csv:2: column 'set': model unet has no knob 'deep'",
                       "a set naming an unknown knob");

    expect_parse_error("empty.csv", "", "empty file", "an empty file");
    expect_parse_error("header.csv", "model,mode,batch,seq,peak_bytes\n", "no data rows",
                       "a header without rows");
    expect_parse_error("missing.csv", "model,mode,batch,peak_bytes\nlstm,infer,1,5\n",
                       "missing column 'seq'", "a missing column");
    expect_parse_error("text.csv", "model,mode,batch,seq,peak_bytes\nlstm,infer,1,50,lots\n",
                       "text.csv:2: column 'peak_bytes': 'lots' is not a number",
                       "text where a number belongs");
    expect_parse_error("batch.csv", "model,mode,batch,seq,peak_bytes\nlstm,infer,0,50,5\n",
                       "batch.csv:2: column 'batch'", "a zero batch");
    expect_parse_error("fields.csv", "model,mode,batch,seq,peak_bytes\nlstm,infer,1,50\n",
                       "fields.csv:2: 4 fields", "a short row");
    expect_parse_error("profile.csv",
                       "model,mode,batch,seq,peak_bytes,profile\nlstm,infer,1,50,5,tensorflow\n",
                       "not a profile", "an unknown profile");

    const char *names[] = {"user.csv", "grid.csv", "one.csv", "empty.csv", "header.csv",
                           "missing.csv", "text.csv", "batch.csv", "fields.csv", "profile.csv",
                           "set.csv", "badset.csv", "badknob.csv"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        remove(path);
    }
    rmdir(dir);
    return tap_done();
}
