/* test_workspaces.c — the workspace rows (src/analytic/workspaces.h): the
 * row format of `dlmem probe` read from hand-written files, exact lookups
 * (a batch size between two rows is not known: no interpolation), the cuDNN
 * version chosen, which source wins, the reader's errors naming file:line,
 * the old measured table read as exact rows with keys that match every
 * convolution of torchvision's ResNet-18 as the model builds it, and the
 * memory model's completeness at points with and without rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytic/memory.h"
#include "analytic/workspaces.h"
#include "core/paths.h"
#include "models/models.h"
#include "tap.h"

#define HDR "gpu,sm,cudnn_version,cublas_version,logic,op,phase,dtype,layout,key,batch,seq," \
            "workspace_bytes,reserve_bytes,engine,status\n"
#define KEY "c64x56x56-o64x56x56-k3x3-s1x1-p1x1-d1x1-g1"

static char tmpl[] = "/tmp/dlm-wsXXXXXX";

/* Writes text to a fresh temporary file; its path in buf. */
static int write_file(const char *text, char *buf, size_t n)
{
    snprintf(buf, n, "%s", tmpl);
    int fd = mkstemp(buf);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) return 0;
    fputs(text, f);
    return fclose(f) == 0;
}

static dlm_ws_db *load(const char *text, dlm_status *st)
{
    char path[64];
    dlm_ws_db *db = NULL;
    *st = DLM_EIO;
    if (!write_file(text, path, sizeof path)) return NULL;
    if ((*st = dlm_ws_db_alloc(&db)) == DLM_OK && (*st = dlm_ws_db_read(db, path)) == DLM_OK)
        *st = dlm_ws_db_finish(db);
    remove(path);
    if (*st != DLM_OK) {
        dlm_ws_db_free(db);
        return NULL;
    }
    return db;
}

static void lookups(void)
{
    dlm_status st;
    dlm_ws_db *db = load(HDR
        "NVIDIA H200,90,91900,130100,pytorch-2.11,conv2d,forward,fp32,nchw," KEY ",8,0,1000,0,eng1,ok\n"
        "NVIDIA H200,90,91900,130100,pytorch-2.11,conv2d,forward,fp32,nchw," KEY ",32,0,0,0,eng2,ok\n"
        "NVIDIA H200,90,91400,130100,pytorch-2.11,conv2d,forward,fp32,nchw," KEY ",32,0,777,0,eng9,ok\n"
        "NVIDIA H200,90,91400,130100,pytorch-2.11,conv2d,forward,fp32,nchw," KEY ",16,0,555,0,eng9,ok\n"
        "NVIDIA H200,90,91900,130100,pytorch-2.11,conv2d,backward_data,fp32,nchw," KEY ",8,0,0,0,-,none\n"
        "NVIDIA H200,90,91900,130100,pytorch-2.11,lstm,training,fp32,-,i100-h256-l2-b1-d1-p0,32,100,5,7,rnn-standard,ok\n"
        "# a comment line\n"
        "NVIDIA H200,90,91900,130100,dlmem-runtime,conv2d,forward,fp32,nchw," KEY ",8,0,42,0,algo1,ok\n",
        &st);
    TAP_OK(db != NULL, "reads probe rows: %s", db ? "" : dlm_errmsg());
    if (!db) return;
    TAP_EQ(dlm_ws_db_rows(db), 7, "seven rows");
    TAP_EQ(dlm_ws_db_newest_version(db, 90), 91900, "newest cuDNN for sm_90: 9.19");
    TAP_EQ(dlm_ws_db_newest_version(db, 86), 0, "none for sm_86");
    const dlm_ws_series *s =
        dlm_ws_find(db, 90, DLM_WS_LOGIC_PYTORCH, "conv2d", "forward", "fp32", "nchw", KEY);
    TAP_OK(s != NULL, "the forward series is found");
    const dlm_ws_row *r = dlm_ws_series_at(s, 8, 0, 91900);
    TAP_EQ(r ? r->workspace : -1, 1000, "B=8: its row");
    TAP_OK(dlm_ws_series_at(s, 12, 0, 91900) == NULL, "B=12, between two rows: not known");
    TAP_OK(dlm_ws_series_at(s, 64, 0, 91900) == NULL, "B=64, beyond the rows: not known");
    TAP_OK(dlm_ws_series_at(s, 4, 0, 91900) == NULL, "B=4, below them: not known");
    r = dlm_ws_series_at(s, 32, 0, 91900);
    TAP_OK(r && r->workspace == 0 && r->cudnn_version == 91900, "B=32 under 9.19: the 9.19 row (0 B)");
    r = dlm_ws_series_at(s, 32, 0, 91400);
    TAP_OK(r && r->workspace == 777, "B=32 under 9.14: the 9.14 row");
    r = dlm_ws_series_at(s, 16, 0, 91900);
    TAP_OK(r && r->workspace == 555 && r->cudnn_version == 91400,
           "B=16 under 9.19: only a 9.14 row, used and marked with its version");
    s = dlm_ws_find(db, 90, DLM_WS_LOGIC_PYTORCH, "conv2d", "backward_data", "fp32", "nchw", KEY);
    r = dlm_ws_series_at(s, 8, 0, 91900);
    TAP_OK(r && !r->ok, "status none: a row that says no engine runs the op");
    s = dlm_ws_find(db, 90, DLM_WS_LOGIC_RUNTIME, "conv2d", "forward", "fp32", "nchw", KEY);
    r = dlm_ws_series_at(s, 8, 0, 91900);
    TAP_EQ(r ? r->workspace : -1, 42, "dlmem-runtime rows are their own series");
    TAP_OK(!dlm_ws_find(db, 86, DLM_WS_LOGIC_PYTORCH, "conv2d", "forward", "fp32", "nchw", KEY),
           "another architecture: no series");
    TAP_OK(!dlm_ws_find(db, 90, DLM_WS_LOGIC_PYTORCH, "conv2d", "forward", "fp16", "nchw", KEY),
           "another dtype: no series");
    s = dlm_ws_find(db, 90, DLM_WS_LOGIC_PYTORCH, "lstm", "training", "fp32", "-", "i100-h256-l2-b1-d1-p0");
    r = dlm_ws_series_at(s, 32, 100, 91900);
    TAP_OK(r && r->workspace == 5 && r->reserve == 7, "RNN: exact on batch and steps");
    TAP_OK(dlm_ws_series_at(s, 32, 101, 91900) == NULL, "another number of steps: not known");
    dlm_ws_db_free(db);
}

static void precedence(void)
{
    char a[64], b[64];
    int ok = write_file(HDR "g,90,91900,0,pytorch-2.11,conv2d,forward,fp32,nchw," KEY ",8,0,111,0,e,ok\n",
                        a, sizeof a) &&
             write_file(HDR "g,90,91900,0,pytorch-2.11,conv2d,forward,fp32,nchw," KEY ",8,0,222,0,e,ok\n",
                        b, sizeof b);
    dlm_ws_db *db = NULL;
    ok = ok && dlm_ws_db_alloc(&db) == DLM_OK && dlm_ws_db_read(db, a) == DLM_OK &&
         dlm_ws_db_read(db, b) == DLM_OK && dlm_ws_db_finish(db) == DLM_OK;
    const dlm_ws_row *r = ok ? dlm_ws_series_at(dlm_ws_find(db, 90, DLM_WS_LOGIC_PYTORCH, "conv2d",
                                                            "forward", "fp32", "nchw", KEY), 8, 0, 91900)
                             : NULL;
    TAP_OK(r && r->workspace == 111 && !strcmp(dlm_ws_db_source(db, r->source), a),
           "the same row in two files: the first file read wins (--workspaces before the shipped)");
    TAP_EQ(dlm_ws_db_rows(db), 1, "one row kept");
    dlm_ws_db_free(db);
    remove(a);
    remove(b);
}

static void errors(void)
{
    static const struct {
        const char *text, *want, *what;
    } bad[] = {
        {HDR "g,90,91900,0,pytorch-2.11,conv2d,forwards,fp32,nchw," KEY ",8,0,1,0,e,ok\n",
         ":2: column 'phase': 'forwards' is not valid", "an unknown phase"},
        {HDR "g,90,91900,0,pytorch-2.11,lstm,forward,fp32,-,k,8,5,1,0,e,ok\n",
         ":2: column 'phase': 'forward' is not valid", "a conv phase on an RNN row"},
        {HDR "g,90,91900,0,pytorch-2.11,conv2d,forward,fp64,nchw," KEY ",8,0,1,0,e,ok\n",
         ":2: column 'dtype'", "an unknown dtype"},
        {HDR "g,90,91900,0,pytorch-2.11,conv2d,forward,fp32,nchw," KEY ",0,0,1,0,e,ok\n",
         ":2: column 'batch': 0 is out of range", "batch 0"},
        {HDR "g,90,91900,0,pytorch-2.11,conv2d,forward,fp32,nchw," KEY ",8,0,-5,0,e,ok\n",
         ":2: column 'workspace_bytes': -5 is out of range", "negative bytes"},
        {HDR "g,90,91900,0,pytorch-2.11,conv2d,forward,fp32,nchw," KEY ",8,0,1,0,e,maybe\n",
         ":2: column 'status': 'maybe' is not valid", "an unknown status"},
        {HDR "g,90,91900,0,pytorch-2.11,lstm,training,fp32,-,k,8,0,1,0,e,ok\n",
         ":2: column 'seq': an lstm row needs its sequence length", "an RNN row without steps"},
        {HDR "g,90,91900,0,pytorch-2.11,conv2d,forward,fp32,nchw," KEY ",8,0,1,0,e,ok\n"
             "g,90,91900,0,pytorch-2.11,conv2d,forward,fp32,nchw," KEY ",8,0,2,0,e,ok\n",
         ":3: the row of line 2 again with other bytes", "one file giving a row twice"},
        {"gpu,sm\nx,90\n", "missing", "a file without the row columns"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dlm_status st;
        dlm_ws_db *db = load(bad[i].text, &st);
        TAP_OK(!db && st == DLM_EPARSE && strstr(dlm_errmsg(), bad[i].want), "%s: %s", bad[i].what,
               dlm_errmsg());
        dlm_ws_db_free(db);
    }
    dlm_ws_db *db;
    if (dlm_ws_db_alloc(&db) == DLM_OK) {
        TAP_OK(dlm_ws_db_read(db, "/nonexistent/ws.csv") == DLM_EIO, "a missing file: %s", dlm_errmsg());
        dlm_ws_db_free(db);
    }
}

/* The old table's rows, keyed with the stride and padding read back from
 * their sizes, match every convolution of the ResNet-18 graph (whose
 * stride and padding come from torchvision's definition, not from the
 * table), and memory predictions there are complete at a table batch size
 * and incomplete between two. */
static void old_table(void)
{
    char path[1024];
    if (!dlm_data_path("cudnn/conv_workspace.csv", path, sizeof path)) {
        printf("# no data/cudnn/conv_workspace.csv: not checked\n");
        return;
    }
    dlm_ws_db *db = NULL;
    int ok = dlm_ws_db_alloc(&db) == DLM_OK && dlm_ws_db_read(db, path) == DLM_OK &&
             dlm_ws_db_finish(db) == DLM_OK;
    TAP_OK(ok, "reads %s as rows: %s", path, ok ? "" : dlm_errmsg());
    dlm_graph *g;
    if (!ok || dlm_model_build_named("resnet18", NULL, &g) != DLM_OK) {
        dlm_ws_db_free(db);
        return;
    }
    int convs = 0, found = 0;
    for (int o = 0; o < g->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        if (op->kind != DLM_OP_CONV2D) continue;
        const dlm_tensor *x = &g->tensors[op->in[0]], *y = &g->tensors[op->out[0]];
        char key[160];
        dlm_ws_conv_key(key, sizeof key, op->a.conv.cin, (int)dlm_poly_eval(&x->shape[2], 1, 1),
                        (int)dlm_poly_eval(&x->shape[3], 1, 1), op->a.conv.cout,
                        (int)dlm_poly_eval(&y->shape[2], 1, 1), (int)dlm_poly_eval(&y->shape[3], 1, 1),
                        op->a.conv.kh, op->a.conv.kw, op->a.conv.sh, op->a.conv.sw, op->a.conv.ph,
                        op->a.conv.pw, op->a.conv.dh, op->a.conv.dw, op->a.conv.groups);
        convs++;
        const dlm_ws_series *f = dlm_ws_find(db, 90, DLM_WS_LOGIC_PYTORCH, "conv2d", "forward", "fp32", "nchw", key);
        const dlm_ws_series *b = dlm_ws_find(db, 90, DLM_WS_LOGIC_PYTORCH, "conv2d", "backward", "fp32", "nchw", key);
        found += f && b && dlm_ws_series_at(f, 32, 0, 91900) && !dlm_ws_series_at(f, 2, 0, 91900);
    }
    TAP_OK(convs == 20 && found == convs, "every one of ResNet-18's %d convolutions has forward and "
           "backward rows at B=32 and none at B=2 (%d)", convs, found);
    TAP_OK(dlm_ws_find(db, 90, DLM_WS_LOGIC_PYTORCH, "conv2d", "forward", "fp32", "nchw",
                       "c3x224x224-o64x112x112-k7x7-s2x2-p3x3-d1x1-g1") != NULL,
           "the stem's key: 7x7, stride 2, padding 3");
    dlm_mem_config c;
    dlm_mem_config_default(&c);
    c.workspaces = db;
    c.mode = DLM_MODE_TRAIN;
    dlm_mem_result r32, r2;
    memset(&r32, 0, sizeof r32);
    memset(&r2, 0, sizeof r2);
    ok = dlm_mem_predict(g, &c, 32, 1, &r32) == DLM_OK && dlm_mem_predict(g, &c, 2, 1, &r2) == DLM_OK;
    TAP_OK(ok && r32.complete && r32.n_unknown == 0 && r32.cudnn_assumed == 91900,
           "train B=32: complete (cuDNN %d assumed)", r32.cudnn_assumed);
    /* B=2: forward for 20 convolutions, the old table's one backward peak
     * for each of the 20: 40 unknown terms */
    TAP_OK(ok && !r2.complete && r2.n_unknown == 40, "train B=2: incomplete, %d unknown terms (40)",
           r2.n_unknown);
    TAP_OK(ok && !strcmp(r2.unknown[0].term, "cudnn_conv_workspace") &&
               !strcmp(g->ops[r2.unknown[0].op].name, "conv1") && !strcmp(r2.unknown[0].call, "forward") &&
               r2.unknown[0].batch == 2,
           "the first unknown term: conv1's forward workspace at B=2");
    c.sm = 86;
    ok = dlm_mem_predict(g, &c, 32, 1, &r32) == DLM_OK;
    /* per call: 20 forward, 19 backward-data (the stem's input needs no
     * gradient: output_mask[0] false), 20 backward-filter */
    TAP_OK(ok && !r32.complete && r32.n_unknown == 59, "sm_86 (no rows): incomplete, %d unknown "
           "terms (20 forward + 19 backward-data + 20 backward-filter)", r32.n_unknown);
    c.sm = 90;
    c.dtype = DLM_DTYPE_BF16;
    ok = dlm_mem_predict(g, &c, 32, 1, &r32) == DLM_OK;
    TAP_OK(ok && !r32.complete, "bf16 (no half-precision rows in the table): incomplete");
    dlm_graph_free(g);
    dlm_ws_db_free(db);
}

int main(void)
{
    char key[160];
    dlm_ws_conv_key(key, sizeof key, 3, 224, 224, 64, 112, 112, 7, 7, 2, 2, 3, 3, 1, 1, 1);
    TAP_STREQ(key, "c3x224x224-o64x112x112-k7x7-s2x2-p3x3-d1x1-g1", "the conv key of WSROWS.md");
    dlm_ws_rnn_key(key, sizeof key, 100, 256, 2, 1, 1, 0);
    TAP_STREQ(key, "i100-h256-l2-b1-d1-p0", "the RNN key");
    lookups();
    precedence();
    errors();
    old_table();
    return tap_done();
}
