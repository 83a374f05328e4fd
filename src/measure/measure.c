/* measure.c — the sweep behind `dlmem measure` (protocol in measure.h). */
#include "measure.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/csv.h"
#include "../core/fileio.h"
#include "config.h"
#include "runtime.h"

#define WEIGHT_SEED 1
#define INPUT_SEED 2

/* What one point measured. */
typedef struct point {
    int64_t B, T;
    int oom;
    int64_t before, peak, after, by_kind[DLM_MK_COUNT];
    const char *peak_op;
    dlm_rt_workspaces ws;
    int64_t pool_high, pool_reserved, untracked;
    double median, min, max;
} point;

static int has_attention(const dlm_graph *g)
{
    for (int o = 0; o < g->n_ops; o++)
        if (g->ops[o].kind == DLM_OP_ATTENTION) return 1;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- per-op times (--op-times) ----------------------------------------------------- */

typedef struct op_timer {
    cudaEvent_t *ev;   /* ev[0] before op 0, ev[o + 1] after op o */
    int n;
} op_timer;

static dlm_status op_time_hook(dlm_rt *rt, int o, void *p)
{
    op_timer *t = p;
    DLM_CUDA(cudaEventRecord(t->ev[o + 1], dlm_rt_stream(rt)));
    return DLM_OK;
}

/* One extra pass with an event after every op; rows appended to c->op_times. */
static dlm_status time_ops(dlm_rt *rt, const dlm_measure_config *c, int64_t B, int64_t T)
{
    const dlm_graph *g = dlm_rt_graph(rt);
    op_timer t = {calloc((size_t)g->n_ops + 1, sizeof(cudaEvent_t)), g->n_ops + 1};
    dlm_status st = DLM_OK;
    FILE *f = NULL;
    if (!t.ev) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int i = 0; i < t.n; i++) DLM_CUDA_GO(cudaEventCreate(&t.ev[i]));
    DLM_CUDA_GO(cudaEventRecord(t.ev[0], dlm_rt_stream(rt)));
    dlm_rt_set_hook(rt, op_time_hook, &t);
    st = dlm_rt_forward(rt);
    dlm_rt_set_hook(rt, NULL, NULL);
    if (st != DLM_OK) goto fail;
    DLM_CUDA_GO(cudaEventSynchronize(t.ev[t.n - 1]));
    DLM_GO(dlm_rt_release_outputs(rt));
    int fresh = access(c->op_times, F_OK) != 0;
    if (!(f = fopen(c->op_times, "a"))) {
        st = dlm_error(DLM_EIO, "%s: cannot open (%s)", c->op_times, strerror(errno));
        goto fail;
    }
    if (fresh) fprintf(f, "model,dtype,tf32,batch,seq,op_index,op,kind,detail,ms\n");
    for (int o = 0; o < g->n_ops; o++) {
        float ms = 0;
        DLM_CUDA_GO(cudaEventElapsedTime(&ms, t.ev[o], t.ev[o + 1]));
        fprintf(f, "%s,%s,%d,%lld,%lld,%d,", g->name, dlm_rt_dtype_name(c->dtype), c->tf32,
                (long long)B, (long long)T, o);
        char detail[96];
        dlm_rt_op_detail(rt, o, detail, sizeof detail);
        dlm_csv_field(f, g->ops[o].name);
        fprintf(f, ",%s,%s,%.5f\n", dlm_op_kind_name(g->ops[o].kind), detail, ms);
    }
    st = dlm_check_stream(f, c->op_times);
fail:
    if (f && fclose(f) != 0 && st == DLM_OK) st = dlm_error(DLM_EIO, "%s: write failed", c->op_times);
    for (int i = 0; i < t.n; i++)
        if (t.ev[i]) cudaEventDestroy(t.ev[i]);
    free(t.ev);
    return st;
}

/* ---- one point ------------------------------------------------------------------ */

static dlm_status measure_point(dlm_rt *rt, const dlm_measure_config *c, point *p, float *ms)
{
    dlm_devmem *m = dlm_rt_devmem(rt);
    cudaStream_t s = dlm_rt_stream(rt);
    const dlm_graph *g = dlm_rt_graph(rt);
    cudaEvent_t e0 = NULL, e1 = NULL;
    int64_t used0, used1, high, res0, res1;
    dlm_status st;

    DLM_TRY(dlm_rt_prepare(rt, p->B, p->T));
    DLM_GO(dlm_rt_random_inputs(rt, INPUT_SEED));
    /* warm-up, twice: loads kernels and settles the pool, so that the measured
     * pass finds the addresses its RNN graph was captured with (ops_rnn.c) */
    for (int i = 0; i < 2; i++) {
        DLM_GO(dlm_rt_forward(rt));
        DLM_GO(dlm_rt_release_outputs(rt));
    }
    DLM_GO(dlm_devmem_pool_stats(m, &high, &res0));
    DLM_GO(dlm_gpu_used(&used0));
    DLM_GO(dlm_devmem_reset_peak(m));
    p->before = m->cur;
    DLM_GO(dlm_rt_forward(rt));
    DLM_CUDA_GO(cudaStreamSynchronize(s));
    p->peak = m->peak;
    p->after = m->cur;
    p->peak_op = m->peak_op >= 0 ? g->ops[m->peak_op].name : "";
    memcpy(p->by_kind, m->peak_by_kind, sizeof p->by_kind);
    DLM_GO(dlm_devmem_pool_stats(m, &p->pool_high, &res1));
    DLM_GO(dlm_gpu_used(&used1));
    p->pool_reserved = res1;
    p->untracked = (used1 - used0) - (res1 - res0);
    dlm_rt_workspaces_get(rt, &p->ws);
    DLM_GO(dlm_rt_release_outputs(rt));

    DLM_CUDA_GO(cudaEventCreate(&e0));
    DLM_CUDA_GO(cudaEventCreate(&e1));
    for (int i = 0; i < c->repeat; i++) {
        DLM_CUDA_GO(cudaEventRecord(e0, s));
        DLM_GO(dlm_rt_forward(rt));
        DLM_CUDA_GO(cudaEventRecord(e1, s));
        DLM_GO(dlm_rt_release_outputs(rt));
        DLM_CUDA_GO(cudaEventSynchronize(e1));
        DLM_CUDA_GO(cudaEventElapsedTime(&ms[i], e0, e1));
    }
    double *d = malloc((size_t)c->repeat * sizeof *d);
    if (!d) {
        st = dlm_error(DLM_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < c->repeat; i++) d[i] = ms[i];
    qsort(d, (size_t)c->repeat, sizeof *d, cmp_double);
    p->min = d[0];
    p->max = d[c->repeat - 1];
    p->median = c->repeat % 2 ? d[c->repeat / 2] : 0.5 * (d[c->repeat / 2 - 1] + d[c->repeat / 2]);
    free(d);
    st = c->op_times ? time_ops(rt, c, p->B, p->T) : DLM_OK;
fail:
    if (e0) cudaEventDestroy(e0);
    if (e1) cudaEventDestroy(e1);
    dlm_rt_unprepare(rt);
    return st;
}

/* ---- the CSV ---------------------------------------------------------------------- */

typedef struct sweep {
    const dlm_measure_config *c;
    dlm_rt *rt;
    dlm_gpu_info gpu;
    dlm_rt_overhead over;
    FILE *out;
    int out_cols;        /* the -o file's columns: all, or all but set (an older file) */
    char weights[256];
    int64_t *done_B, *done_T;
    int n_done;
} sweep;

/* One row's cells, in the order of dlm_measure_columns(): the CSV writer and
 * the JSON writer (dlm_measure_row_json, typed by column) read the same cells. */
#define ROW_CELLS 64
typedef struct row {
    char cell[ROW_CELLS][320];
    int n;
} row;

static void put_str(row *r, const char *s)
{
    if (r->n < ROW_CELLS) snprintf(r->cell[r->n++], sizeof r->cell[0], "%s", s ? s : "");
}

static void put_int(row *r, int64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)v);
    put_str(r, b);
}

static void put_ms(row *r, double v)
{
    char b[32];
    snprintf(b, sizeof b, "%.4f", v);
    put_str(r, b);
}

static dlm_status make_row(const sweep *w, const point *p, row *r)
{
    const dlm_measure_config *c = w->c;
    const dlm_rt_workspaces *ws = &p->ws;
    r->n = 0;
    put_str(r, c->g->name);
    put_str(r, "runtime");
    put_str(r, "infer");
    put_str(r, dlm_rt_dtype_name(c->dtype));
    put_str(r, has_attention(c->g) ? "eager" : "");
    put_int(r, c->tf32);
    put_int(r, p->B);
    put_int(r, p->T);
    put_str(r, p->oom ? "oom" : "ok");
    if (p->oom) {
        for (int i = 9; i <= 26; i++) put_str(r, ""); /* before_bytes .. untracked_bytes */
    } else {
        put_int(r, p->before);
        put_int(r, p->peak);
        put_int(r, p->after);
        put_str(r, p->peak_op);
        put_int(r, p->by_kind[DLM_MK_WEIGHTS]);
        put_int(r, p->by_kind[DLM_MK_BUFFERS]);
        put_int(r, p->by_kind[DLM_MK_INPUTS]);
        put_int(r, p->by_kind[DLM_MK_ACT]);
        put_int(r, p->by_kind[DLM_MK_SCRATCH]);
        put_int(r, ws->cublas);
        put_int(r, ws->cudnn_conv);
        put_int(r, ws->cudnn_rnn);
        put_int(r, ws->cudnn_rnn_reserve);
        put_int(r, ws->rnn_seq_lengths);
        put_int(r, ws->cudnn_conv_transient_max);
        put_int(r, p->pool_high);
        put_int(r, p->pool_reserved);
        put_int(r, p->untracked);
    }
    put_int(r, w->over.context);
    put_int(r, w->over.cudnn_handle);
    put_int(r, w->over.cublas_handle);
    if (p->oom) {
        for (int i = 0; i < 3; i++) put_str(r, "");
    } else {
        put_ms(r, p->median);
        put_ms(r, p->min);
        put_ms(r, p->max);
    }
    put_int(r, c->repeat);
    put_str(r, w->weights);
    put_str(r, w->gpu.name);
    put_int(r, w->gpu.total_bytes);
    put_int(r, w->gpu.sm);
    put_str(r, w->gpu.driver);
    put_str(r, w->gpu.cuda);
    put_str(r, w->gpu.cuda_driver);
    put_str(r, w->gpu.cudnn);
    put_str(r, w->gpu.cublas);
    put_str(r, PACKAGE_VERSION);
    put_str(r, dlm_rt_layout_name(w->rt));
    put_str(r, c->set);
    int ncol;
    dlm_measure_columns(&ncol);
    if (r->n != ncol)
        return dlm_error(DLM_EINTERNAL, "measure: a row of %d cells for %d columns", r->n, ncol);
    return DLM_OK;
}

/* ncells: the row's first cells that the file has columns for */
static dlm_status write_row(const sweep *w, FILE *f, const point *p, int ncells)
{
    row r;
    DLM_TRY(make_row(w, p, &r));
    for (int i = 0; i < r.n && i < ncells; i++) {
        if (i) fputc(',', f);
        dlm_csv_field(f, r.cell[i]);
    }
    fputc('\n', f);
    return dlm_check_stream(f, f == stdout ? "stdout" : w->c->output);
}

static dlm_status json_row(const sweep *w, dlm_json *j, const point *p)
{
    row r;
    const char *cells[ROW_CELLS];
    DLM_TRY(make_row(w, p, &r));
    for (int i = 0; i < r.n; i++) cells[i] = r.cell[i];
    return dlm_measure_row_json(j, cells, r.n);
}

/* Reads the points already measured (status ok or oom) for this model, its
 * knobs and setting from the file to resume.  The header must be this
 * version's, or the one before the set column (ncol - 1 columns: rows of the
 * defaults, and the sweep must be of the defaults to add to them). */
static dlm_status load_done(sweep *w)
{
    const dlm_measure_config *c = w->c;
    const char *set = c->set ? c->set : "";
    dlm_csv *csv;
    DLM_TRY(dlm_csv_read(c->output, &csv));
    dlm_status st = DLM_OK;
    int ncol;
    const char *const *columns = dlm_measure_columns(&ncol);
    int ok = csv->ncols == ncol || csv->ncols == ncol - 1;
    for (int i = 0; ok && i < csv->ncols; i++) ok = !strcmp(csv->header[i], columns[i]);
    if (!ok) {
        st = dlm_error(DLM_EPARSE, "%s:1: --resume: the header is not the one this dlmem writes "
                       "(%s)", c->output, dlm_measure_header());
        goto done;
    }
    w->out_cols = csv->ncols;
    if (csv->ncols < ncol && set[0]) {
        st = dlm_error(DLM_EINVAL, "%s:1: --resume: the file has no set column (it was written "
                       "before dlmem recorded the knobs: its rows are %s's defaults), so rows "
                       "of --set %s cannot be added to it; choose another -o", c->output,
                       c->g->name, set);
        goto done;
    }
    w->done_B = malloc((size_t)(csv->nrows + 1) * sizeof *w->done_B);
    w->done_T = malloc((size_t)(csv->nrows + 1) * sizeof *w->done_T);
    if (!w->done_B || !w->done_T) {
        st = dlm_error(DLM_ENOMEM, "out of memory");
        goto done;
    }
    for (int r = 0; r < csv->nrows && st == DLM_OK; r++) {
        int64_t tf32, B, T;
        const char *status = dlm_csv_get(csv, r, 8);
        if (strcmp(dlm_csv_get(csv, r, 0), c->g->name) || strcmp(dlm_csv_get(csv, r, 2), "infer") ||
            strcmp(dlm_csv_get(csv, r, 3), dlm_rt_dtype_name(c->dtype)))
            continue;
        if ((st = dlm_csv_int(csv, r, 5, &tf32)) != DLM_OK) break;
        if ((st = dlm_csv_int(csv, r, 6, &B)) != DLM_OK) break;
        if ((st = dlm_csv_int(csv, r, 7, &T)) != DLM_OK) break;
        if (tf32 != c->tf32 || (strcmp(status, "ok") && strcmp(status, "oom"))) continue;
        if (csv->ncols == ncol && strcmp(dlm_csv_get(csv, r, ncol - 1), set)) continue;
        w->done_B[w->n_done] = B;
        w->done_T[w->n_done++] = T;
    }
done:
    dlm_csv_free(csv);
    return st;
}

static int is_done(const sweep *w, int64_t B, int64_t T)
{
    for (int i = 0; i < w->n_done; i++)
        if (w->done_B[i] == B && w->done_T[i] == T) return 1;
    return 0;
}

/* ---- progress and the people's table ---------------------------------------------- */

static void progress(int k, int n, const dlm_graph *g, const point *p)
{
    char bar[21], pk[32];
    int fill = n ? 20 * k / n : 20;
    for (int i = 0; i < 20; i++) bar[i] = i < fill ? '#' : '.';
    bar[20] = '\0';
    int tty = isatty(fileno(stderr));
    if (p && !p->oom)
        fprintf(stderr, "%s[%s] %d/%d %s B=%lld T=%lld: peak %s, %.3f ms%s", tty ? "\r" : "",
                bar, k, n, g->name, (long long)p->B, (long long)p->T,
                dlm_fmt_bytes(pk, sizeof pk, (double)p->peak), p->median, tty ? "\033[K" : "\n");
    else if (p)
        fprintf(stderr, "%s[%s] %d/%d %s B=%lld T=%lld: out of memory%s", tty ? "\r" : "", bar,
                k, n, g->name, (long long)p->B, (long long)p->T, tty ? "\033[K" : "\n");
    else
        fprintf(stderr, "%s[%s] %d/%d %s%s", tty ? "\r" : "", bar, k, n, g->name,
                tty ? "\033[K" : "\n");
    if (tty && k == n) fputc('\n', stderr);
    fflush(stderr);
}

static dlm_status table_add(dlm_table *t, const point *p)
{
    char b[32], s[32], st[8], be[32], pk[32], ac[32], ws[32], tr[32], pool[32], ms[32];
    snprintf(b, sizeof b, "%lld", (long long)p->B);
    snprintf(s, sizeof s, "%lld", (long long)p->T);
    snprintf(st, sizeof st, "%s", p->oom ? "oom" : "ok");
    if (p->oom) {
        const char *row[] = {b, s, st, "", "", "", "", "", "", ""};
        return dlm_table_add(t, row);
    }
    dlm_fmt_bytes(be, sizeof be, (double)p->before);
    dlm_fmt_bytes(pk, sizeof pk, (double)p->peak);
    dlm_fmt_bytes(ac, sizeof ac, (double)(p->by_kind[DLM_MK_ACT] + p->by_kind[DLM_MK_SCRATCH]));
    dlm_fmt_bytes(ws, sizeof ws, (double)(p->ws.cublas + p->ws.cudnn_conv + p->ws.cudnn_rnn +
                                          p->ws.rnn_seq_lengths));
    dlm_fmt_bytes(tr, sizeof tr, (double)p->ws.cudnn_conv_transient_max);
    dlm_fmt_bytes(pool, sizeof pool, (double)p->pool_high);
    snprintf(ms, sizeof ms, "%.3f ms", p->median);
    const char *row[] = {b, s, st, be, pk, ac, ws, tr, pool, ms};
    return dlm_table_add(t, row);
}

/* ---- the sweep ---------------------------------------------------------------------- */

/* Rows are appended to -o and --op-times files: one whose last row was cut
 * (an interrupted write) would have the next row glued to it, so it is
 * refused before the GPU is touched. */
static dlm_status whole_lines(const char *path, const char *opt)
{
    FILE *f;
    long long size;
    DLM_TRY(dlm_file_open_input(path, &f, &size));
    int last = EOF, line = 1, ch;
    while ((ch = getc(f)) != EOF) {
        if (ch == '\n') line++;
        last = ch;
    }
    int rerr = ferror(f);
    fclose(f);
    if (rerr) return dlm_error(DLM_EIO, "%s: read error", path);
    if (last != EOF && last != '\n')
        return dlm_error(DLM_EPARSE, "%s:%d: %s: the file does not end in a newline (its last "
                         "row was cut off); delete that line, then run again (nothing was "
                         "written)", path, line, opt);
    return DLM_OK;
}

/* Before the GPU is touched: an existing file is only continued (--resume). */
static dlm_status check_output(sweep *w)
{
    const dlm_measure_config *c = w->c;
    dlm_measure_columns(&w->out_cols);
    if (access(c->output, F_OK) != 0) return DLM_OK;
    if (!c->resume)
        return dlm_error(DLM_EINVAL, "%s exists: pass --resume to continue it, or choose "
                         "another -o (nothing was overwritten)", c->output);
    DLM_TRY(whole_lines(c->output, "--resume"));
    return load_done(w);
}

static dlm_status open_output(sweep *w)
{
    const dlm_measure_config *c = w->c;
    int exists = access(c->output, F_OK) == 0;
    w->out = fopen(c->output, "a");
    if (!w->out) return dlm_error(DLM_EIO, "%s: cannot open for writing (%s)", c->output,
                                  strerror(errno));
    if (!exists) {
        fprintf(w->out, "%s\n", dlm_measure_header());
        DLM_TRY(dlm_check_stream(w->out, c->output));
    }
    return DLM_OK;
}

dlm_status dlm_measure_run(const dlm_measure_config *c)
{
    sweep w;
    dlm_status st = DLM_OK;
    dlm_table *table = NULL;
    dlm_tensorfile *tf = NULL;
    float *ms = NULL;
    dlm_json doc;
    int json_open = 0;
    dlm_rt_options o = {.dtype = c->dtype, .tf32 = c->tf32, .mem_limit = c->mem_limit,
                        .conv_ws_limit = c->conv_ws_limit,
                        .conv_search = c->conv_search,
                        .conv_api = c->conv_api, .layout = c->layout, .device = 0};
    static const char *hdr[] = {"batch", "seq", "status", "before", "peak", "activations",
                                "workspaces", "conv ws (transient)", "pool peak", "median"};
    memset(&w, 0, sizeof w);
    w.c = c;
    if (c->repeat < 1) return dlm_error(DLM_ERANGE, "--repeat must be at least 1");
    if (c->output) DLM_GO(check_output(&w));
    if (c->op_times && access(c->op_times, F_OK) == 0) DLM_GO(whole_lines(c->op_times, "--op-times"));
    if (c->weights) DLM_GO(dlm_tensorfile_read(c->weights, &tf));
    DLM_GO(dlm_rt_create(c->g, &o, &w.rt));
    if (c->output) DLM_GO(open_output(&w));
    DLM_GO(dlm_gpu_query(0, &w.gpu));
    dlm_rt_overhead_get(w.rt, &w.over);
    if (tf) {
        DLM_GO(dlm_rt_load_weights(w.rt, tf));
        const char *base = strrchr(c->weights, '/');
        snprintf(w.weights, sizeof w.weights, "%s", base ? base + 1 : c->weights);
    } else {
        DLM_GO(dlm_rt_init_weights(w.rt, WEIGHT_SEED));
        snprintf(w.weights, sizeof w.weights, "random:%d", WEIGHT_SEED);
    }
    DLM_GO(dlm_table_alloc(10, hdr, "rrlrrrrrrr", &table));
    if (!(ms = malloc((size_t)c->repeat * sizeof *ms))) {
        st = dlm_error(DLM_ENOMEM, "out of memory");
        goto fail;
    }
    int n = c->n_batch * c->n_seq, k = 0;
    if (c->format == DLM_FMT_CSV && !c->quiet) printf("%s\n", dlm_measure_header());
    if (c->format == DLM_FMT_JSON && !c->quiet) {
        dlm_json_init(&doc, stdout, "dlmem.measure/1");
        json_open = 1;
        dlm_json_obj_begin(&doc);
        dlm_json_kstr(&doc, "model", c->g->name);
        dlm_json_key(&doc, "points");
        dlm_json_arr_begin(&doc);
    }
    progress(0, n, c->g, NULL);
    for (int i = 0; i < c->n_batch; i++)
        for (int j = 0; j < c->n_seq; j++) {
            point p;
            memset(&p, 0, sizeof p);
            p.B = c->batch[i];
            p.T = c->seq[j];
            k++;
            if (c->output && is_done(&w, p.B, p.T)) {
                progress(k, n, c->g, NULL);
                continue;
            }
            st = measure_point(w.rt, c, &p, ms);
            if (st == DLM_EGPUOOM) {
                p.oom = 1;
                st = DLM_OK;
            }
            if (st != DLM_OK) {
                st = dlm_error_context(st, "%s B=%lld T=%lld", c->g->name, (long long)p.B,
                                       (long long)p.T);
                goto fail;
            }
            if (w.out) DLM_GO(write_row(&w, w.out, &p, w.out_cols));
            if (c->quiet) {
                /* the caller reads the CSV */
            } else if (c->format == DLM_FMT_CSV) {
                DLM_GO(write_row(&w, stdout, &p, ROW_CELLS));
            } else if (c->format == DLM_FMT_JSON) {
                DLM_GO(json_row(&w, &doc, &p));
            } else {
                DLM_GO(table_add(table, &p));
            }
            progress(k, n, c->g, &p);
        }
    if (c->quiet) {
        st = DLM_OK;
    } else if (c->format == DLM_FMT_CSV) {
        st = dlm_check_stream(stdout, "stdout");
    } else if (c->format == DLM_FMT_JSON) {
        dlm_json_arr_end(&doc);
        dlm_json_obj_end(&doc);
        json_open = 0;
        st = dlm_json_finish(&doc);
    } else {
        const char *lay = dlm_rt_layout_name(w.rt);
        int knobs = c->set && c->set[0];
        printf("%s%s%s%s on %s (sm %d), %s%s%s%s, driver %s, CUDA %s, cuDNN %s, cuBLAS %s; "
               "weights %s\n", c->g->name, knobs ? " (" : "", knobs ? c->set : "", knobs ? ")" : "",
               w.gpu.name, w.gpu.sm, dlm_rt_dtype_name(c->dtype),
               c->tf32 ? " (TF32 allowed)"
                       : (c->dtype == DLM_RT_FP32 ? " (exact, no TF32)" : ""),
               *lay ? ", " : "", lay,
               w.gpu.driver, w.gpu.cuda, w.gpu.cudnn, w.gpu.cublas, w.weights);
        printf("context %lld B, cuDNN handle %lld B, cuBLAS handle %lld B (cudaMemGetInfo; "
               "outside the peaks below)\n\n", (long long)w.over.context,
               (long long)w.over.cudnn_handle, (long long)w.over.cublas_handle);
        DLM_GO(dlm_table_print(table, stdout, 2));
        st = dlm_check_stream(stdout, "stdout");
    }
fail:
    if (json_open) dlm_json_free(&doc);
    if (w.out && fclose(w.out) != 0 && st == DLM_OK)
        st = dlm_error(DLM_EIO, "%s: write failed (%s)", c->output, strerror(errno));
    dlm_rt_free(w.rt);
    dlm_tensorfile_free(tf);
    dlm_table_free(table);
    free(w.done_B);
    free(w.done_T);
    free(ms);
    return st;
}
