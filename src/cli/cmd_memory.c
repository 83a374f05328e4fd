/* cmd_memory.c — `dlmem memory MODEL`: predicted GPU memory at each (B, T)
 * point, the peak's phase, op and composition, the peak as a formula in B and
 * T, and with --per-layer every op's activation, saved-tensor and workspace
 * formulas.  Not a measurement: see `dlmem measure` for that. */
#include <stdlib.h>
#include <string.h>

#include "../core/out.h"
#include "../models/models.h"
#include "commands.h"
#include "mem_opts.h"

static const dlm_cli_opt opts[] = {
    {"batch", 'b', "LIST", "batch sizes: 8 | 1,2,4 | 1-8 | 1..128 (powers of two); default 1"},
    {"seq", 't', "LIST", "sequence lengths (models with T); default 128 (bert), 100 (lstm)"},
    {"per-layer", 0, NULL, "every op's output, saved and transient bytes with their formulas (table: at the last point; csv: one row per op and point, instead of the summary)"},
    {"format", 0, "FMT", "table (default), csv or json"},
    DLM_MEM_OPT_ROWS,
};
/* (--mode and --dtype take lists here: --mode infer,train --dtype fp32,bf16) */
#define N_OPTS ((int)(sizeof opts / sizeof opts[0]))

static const char *mib(char *buf, size_t n, int64_t b) { return dlm_fmt_bytes(buf, n, (double)b); }

static void formula(const dlm_poly *p, char *buf, size_t n)
{
    dlm_poly_format_scaled(p, 1.0 / 1048576.0, "MiB", buf, n);
}

typedef struct point {
    int64_t B, T;
    dlm_mem_result r;
    dlm_poly law;
    char note[640]; /* dlm_mem_note(): measured or unknown library workspaces */
    char probe[400]; /* incomplete: the command that would close it */
} point;

/* ---- completeness (issue 10): kept apart so output rework can carry it over ---- */

/* JSON: "complete" and "unknown": [{"term", "op", "phase", "call", "batch",
 * "seq", "no_engine"}], and the command that would close the point. */
static void json_completeness(dlm_json *j, const dlm_mem_model *m, const point *p)
{
    const dlm_graph *g = dlm_mem_model_graph(m);
    dlm_json_key(j, "complete");
    dlm_json_bool(j, p->r.complete);
    dlm_json_kint(j, "n_unknown", p->r.n_unknown);
    dlm_json_key(j, "unknown");
    dlm_json_arr_begin(j);
    for (int k = 0; k < p->r.n_unknown && k < DLM_MAX_UNKNOWN; k++) {
        const dlm_mem_unknown *u = &p->r.unknown[k];
        dlm_json_obj_begin(j);
        dlm_json_kstr(j, "term", u->term);
        dlm_json_kstr(j, "op", u->op >= 0 ? g->ops[u->op].name : "");
        dlm_json_kstr(j, "phase", dlm_phase_name(u->phase));
        dlm_json_kstr(j, "call", u->call);
        dlm_json_kint(j, "batch", u->batch);
        dlm_json_kint(j, "seq", u->seq);
        dlm_json_key(j, "no_engine");
        dlm_json_bool(j, u->no_engine);
        dlm_json_obj_end(j);
    }
    dlm_json_arr_end(j);
    dlm_json_kstr(j, "probe_command", p->r.complete ? "" : p->probe);
    dlm_json_kint(j, "cudnn_version", p->r.cudnn_assumed);
    dlm_json_kint(j, "cudnn_version_rows", p->r.cudnn_rows ? p->r.cudnn_rows : p->r.cudnn_assumed);
}

/* CSV: complete (1/0), n_unknown, unknown ("term:op:call;..."), probe_command */
static void csv_completeness(const dlm_mem_model *m, const point *p)
{
    const dlm_graph *g = dlm_mem_model_graph(m);
    char u[1024] = "";
    for (int k = 0; k < p->r.n_unknown && k < DLM_MAX_UNKNOWN; k++) {
        size_t l = strlen(u);
        const dlm_mem_unknown *x = &p->r.unknown[k];
        snprintf(u + l, sizeof u - l, "%s%s:%s:%s", k ? ";" : "", x->term,
                 x->op >= 0 ? g->ops[x->op].name : "", x->call);
    }
    printf(",%d,%d,", p->r.complete, p->r.n_unknown);
    dlm_csv_field(stdout, u);
    putchar(',');
    dlm_csv_field(stdout, p->r.complete ? "" : p->probe);
}

/* Table: the notes under it, one per incomplete point. */
static dlm_status table_completeness(const dlm_mem_model *m, const point *p, int n)
{
    int any = 0;
    dlm_status st = DLM_OK;
    for (int i = 0; i < n && st == DLM_OK; i++) {
        if (p[i].r.complete) continue;
        char ops[600], at[48];
        dlm_mem_unknown_list(m, &p[i].r, ops, sizeof ops);
        if (!any++)
            st = dlm_para(stdout, 0, "incomplete: \">=\" marks a lower bound: library workspaces "
                          "that no probed or measured row gives were counted 0 B");
        if (p[i].T) snprintf(at, sizeof at, "B=%lld T=%lld", (long long)p[i].B, (long long)p[i].T);
        else snprintf(at, sizeof at, "B=%lld", (long long)p[i].B);
        if (st == DLM_OK)
            st = dlm_para(stdout, 2, "%s: %d unknown: %s; to close it, on the target GPU:", at,
                          p[i].r.n_unknown, ops);
        if (st == DLM_OK) printf("    %s\n", p[i].probe); /* whole, to copy */
    }
    for (int i = 0; i < n && st == DLM_OK; i++)
        if (p[i].r.cudnn_rows) {
            st = dlm_para(stdout, 0, "note: workspace rows from cuDNN %d, prediction assumes %d",
                          p[i].r.cudnn_rows, p[i].r.cudnn_assumed);
            break;
        }
    return st;
}

/* The most memory each op adds while it runs, at (B, T), from the model's own
 * per-op log: peak inside minus allocated before, the largest over the op's
 * forward runs (rise[2*op]) and backward runs (rise[2*op+1]).  This is where a
 * library workspace shows, as the op allocates it. */
static dlm_status op_rises(const dlm_mem_model *m, int64_t B, int64_t T, int64_t **out)
{
    const dlm_graph *g = dlm_mem_model_graph(m);
    int cap = 8 * g->n_ops + 64, n = 0;
    dlm_mem_opstep *log = NULL;
    int64_t *rise = calloc((size_t)g->n_ops * 2 + 1, sizeof *rise);
    dlm_status st = rise ? DLM_OK : dlm_error(DLM_ENOMEM, "out of memory");
    for (int tries = 0; st == DLM_OK && tries < 2; tries++) {
        free(log);
        if (!(log = malloc((size_t)cap * sizeof *log))) {
            st = dlm_error(DLM_ENOMEM, "out of memory");
            break;
        }
        st = dlm_mem_oplog(m, B, T, log, cap, &n);
        if (st != DLM_OK || n <= cap) break;
        cap = n;
    }
    for (int i = 0; st == DLM_OK && i < n && i < cap; i++) {
        if (log[i].op < 0 || log[i].op >= g->n_ops) continue;
        int slot = 2 * log[i].op + (log[i].phase == DLM_PHASE_FORWARD ? 0 : 1);
        if (log[i].phase != DLM_PHASE_FORWARD && log[i].phase != DLM_PHASE_BACKWARD) continue;
        if (log[i].peak - log[i].before > rise[slot]) rise[slot] = log[i].peak - log[i].before;
    }
    free(log);
    if (st != DLM_OK) {
        free(rise);
        rise = NULL;
    }
    *out = rise;
    return st;
}

/* --per-layer, for people: each op's sizes at one point (B, T), and the
 * formulas they follow in B and T (beside them with --wide, else in a second
 * table numbered alike, so that each fits 100 columns). */
static dlm_status print_layers_table(const dlm_mem_model *m, int64_t B, int64_t T, FILE *f)
{
    static const char *hdr[] = {"#", "layer", "op", "output", "saved", "transient",
                                "rise fwd", "rise bwd", "formula (MiB): output | saved | transient",
                                "saved / transient is"};
    const dlm_mem_layer *L;
    int n;
    const dlm_graph *g = dlm_mem_model_graph(m);
    const dlm_mem_config *c = dlm_mem_model_config(m);
    int train = c->mode == DLM_MODE_TRAIN, beside = dlm_table_width() == 0;
    dlm_mem_layers(m, &L, &n);
    int64_t *rise;
    DLM_TRY(op_rises(m, B, T, &rise));
    dlm_table *t = NULL, *tf = NULL;
    static const char *fhdr[] = {"#", "layer", "formula (MiB): output | saved | transient",
                                 "saved / transient is"};
    dlm_status st = dlm_table_alloc(beside ? 10 : 8, hdr, "rllrrrrrll", &t);
    if (st == DLM_OK && !beside) st = dlm_table_alloc(4, fhdr, "rlll", &tf);
    for (int i = 0; i < n && st == DLM_OK; i++) {
        char num[16], ov[32], sv[32], tv[32], rf[32], rb[32], ob[128], sb[128], tb[128],
            fm[400], what[280];
        snprintf(num, sizeof num, "%d", i + 1);
        mib(ov, sizeof ov, dlm_poly_eval(&L[i].out_bytes, B, T));
        mib(sv, sizeof sv, dlm_poly_eval(&L[i].saved_bytes, B, T));
        mib(tv, sizeof tv, dlm_poly_eval(&L[i].temp_bytes, B, T));
        mib(rf, sizeof rf, rise[2 * L[i].op]);
        mib(rb, sizeof rb, rise[2 * L[i].op + 1]);
        formula(&L[i].out_bytes, ob, sizeof ob);
        formula(&L[i].saved_bytes, sb, sizeof sb);
        formula(&L[i].temp_bytes, tb, sizeof tb);
        snprintf(fm, sizeof fm, "%s | %s | %s", ob, sb, tb);
        snprintf(what, sizeof what, "%s / %s", L[i].saved[0] ? L[i].saved : "-",
                 L[i].temp[0] ? L[i].temp : "-");
        const char *name = g->ops[L[i].op].name;
        const char *cells[] = {num, name, dlm_op_kind_name(g->ops[L[i].op].kind),
                               ov, sv, tv, rf, train ? rb : "-", fm, what};
        const char *fcells[] = {num, name, fm, what};
        st = dlm_table_add(t, cells);
        if (st == DLM_OK && tf) st = dlm_table_add(tf, fcells);
    }
    free(rise);
    char at[64];
    if (g->uses_T) snprintf(at, sizeof at, "B=%lld, T=%lld", (long long)B, (long long)T);
    else snprintf(at, sizeof at, "B=%lld", (long long)B);
    if (st == DLM_OK) {
        fprintf(f, "\n");
        st = dlm_para(f, 0, "Per op at %s (%s profile, %s, %s; MiB = 2^20 bytes):", at,
                      dlm_profile_name(c->profile), dlm_mode_name(c->mode), dlm_dtype_name(c->dtype));
    }
    if (st == DLM_OK) st = dlm_table_print(t, f, 2);
    if (st == DLM_OK)
        fprintf(f, "  output: new storage the op makes (0 B: a view or an in-place op); saved:\n"
                   "  what autograd keeps for backward (train, forward modes); transient: the\n"
                   "  largest temporary the rules name; rise: the most the op adds above what\n"
                   "  was allocated before it, while it runs (forward / backward), library\n"
                   "  workspaces (cuDNN, cuBLAS) included: the model's own per-op log.\n");
    if (st == DLM_OK && tf) {
        fprintf(f, "\n");
        st = dlm_para(f, 0, "The formulas those values follow, in B%s (MiB; --wide puts them "
                      "beside the values):", g->uses_T ? " and T" : "");
        if (st == DLM_OK) st = dlm_table_print(tf, f, 2);
    }
    dlm_table_free(t);
    dlm_table_free(tf);
    return st;
}

static dlm_status json_layers(dlm_json *j, const dlm_mem_model *m, const point *p, int np)
{
    const dlm_mem_layer *L;
    int n;
    const dlm_graph *g = dlm_mem_model_graph(m);
    dlm_mem_layers(m, &L, &n);
    int64_t **rise = calloc((size_t)np, sizeof *rise);
    if (!rise) return dlm_error(DLM_ENOMEM, "out of memory");
    dlm_status st = DLM_OK;
    for (int k = 0; k < np && st == DLM_OK; k++) st = op_rises(m, p[k].B, p[k].T, &rise[k]);
    if (st != DLM_OK) {
        for (int k = 0; k < np; k++) free(rise[k]);
        free(rise);
        return st;
    }
    dlm_json_key(j, "layers");
    dlm_json_arr_begin(j);
    for (int i = 0; i < n; i++) {
        char a[160], b[160], c[160], d[160];
        dlm_poly_format(&L[i].out_elems, a, sizeof a);
        dlm_poly_format(&L[i].out_bytes, b, sizeof b);
        dlm_poly_format(&L[i].saved_bytes, c, sizeof c);
        dlm_poly_format(&L[i].temp_bytes, d, sizeof d);
        dlm_json_obj_begin(j);
        dlm_json_kint(j, "index", i + 1);
        dlm_json_kstr(j, "layer", g->ops[L[i].op].name);
        dlm_json_kstr(j, "op", dlm_op_kind_name(g->ops[L[i].op].kind));
        dlm_json_kstr(j, "saved", L[i].saved);
        dlm_json_kstr(j, "transient", L[i].temp);
        dlm_json_key(j, "formulas");
        dlm_json_obj_begin(j);
        dlm_json_kstr(j, "output_elements", a);
        dlm_json_kstr(j, "output_bytes", b);
        dlm_json_kstr(j, "saved_bytes", c);
        dlm_json_kstr(j, "transient_bytes", d);
        dlm_json_obj_end(j);
        dlm_json_key(j, "at");
        dlm_json_arr_begin(j);
        for (int k = 0; k < np; k++) {
            int64_t B = p[k].B, T = p[k].T;
            dlm_json_obj_begin(j);
            dlm_json_kint(j, "batch", B);
            dlm_json_kint(j, "seq", g->uses_T ? T : 0);
            dlm_json_kint(j, "output_elements", dlm_poly_eval(&L[i].out_elems, B, T));
            dlm_json_kint(j, "output_bytes", dlm_poly_eval(&L[i].out_bytes, B, T));
            dlm_json_kint(j, "saved_bytes", dlm_poly_eval(&L[i].saved_bytes, B, T));
            dlm_json_kint(j, "transient_bytes", dlm_poly_eval(&L[i].temp_bytes, B, T));
            dlm_json_kint(j, "forward_rise_bytes", rise[k][2 * L[i].op]);
            dlm_json_kint(j, "backward_rise_bytes", rise[k][2 * L[i].op + 1]);
            dlm_json_obj_end(j);
        }
        dlm_json_arr_end(j);
        dlm_json_obj_end(j);
    }
    dlm_json_arr_end(j);
    for (int k = 0; k < np; k++) free(rise[k]);
    free(rise);
    return DLM_OK;
}

/* --per-layer --format csv: one row per op and point, values and formulas in
 * separate fields. */
static dlm_status print_layers_csv(const dlm_mem_model *m, const point *p, int np)
{
    const dlm_mem_layer *L;
    int n;
    const dlm_graph *g = dlm_mem_model_graph(m);
    const dlm_mem_config *c = dlm_mem_model_config(m);
    dlm_mem_layers(m, &L, &n);
    fputs("model,profile,mode,dtype,batch,seq,index,layer,op,output_elements,output_bytes,"
          "saved_bytes,transient_bytes,forward_rise_bytes,backward_rise_bytes,saved,transient,"
          "output_elements_formula,"
          "output_bytes_formula,saved_bytes_formula,transient_bytes_formula\n", stdout);
    for (int k = 0; k < np; k++) {
        int64_t *rise;
        DLM_TRY(op_rises(m, p[k].B, p[k].T, &rise));
        for (int i = 0; i < n; i++) {
            int64_t B = p[k].B, T = p[k].T;
            const dlm_poly *f[] = {&L[i].out_elems, &L[i].out_bytes, &L[i].saved_bytes,
                                   &L[i].temp_bytes};
            printf("%s,%s,%s,%s,%lld,%lld,%d,", g->name, dlm_profile_name(c->profile),
                   dlm_mode_name(c->mode), dlm_dtype_name(c->dtype), (long long)B,
                   (long long)(g->uses_T ? T : 0), i + 1);
            dlm_csv_field(stdout, g->ops[L[i].op].name);
            printf(",%s", dlm_op_kind_name(g->ops[L[i].op].kind));
            for (int q = 0; q < 4; q++) printf(",%lld", (long long)dlm_poly_eval(f[q], B, T));
            printf(",%lld,%lld,", (long long)rise[2 * L[i].op], (long long)rise[2 * L[i].op + 1]);
            dlm_csv_field(stdout, L[i].saved);
            putchar(',');
            dlm_csv_field(stdout, L[i].temp);
            for (int q = 0; q < 4; q++) {
                char buf[160];
                dlm_poly_format(f[q], buf, sizeof buf);
                putchar(',');
                dlm_csv_field(stdout, buf);
            }
            putchar('\n');
        }
        free(rise);
    }
    return dlm_check_stream(stdout, "standard output");
}

static void json_begin(dlm_json *jp, const dlm_mem_model *m, const dlm_gpu *gpu)
{
    const dlm_mem_config *c = dlm_mem_model_config(m);
    const dlm_graph *g = dlm_mem_model_graph(m);
    dlm_json_init(jp, stdout, "dlmem.memory/1");
    dlm_json_obj_begin(jp);
    dlm_json_kstr(jp, "model", g->name);
    dlm_json_kstr(jp, "profile", dlm_profile_name(c->profile));
    dlm_json_kstr(jp, "attention", dlm_attention_name(c->attention));
    dlm_json_kstr(jp, "optimizer", dlm_optimizer_name(c->optimizer));
    dlm_json_kstr(jp, "loss", dlm_loss_name(c->loss));
    dlm_json_kstr(jp, "gpu", gpu->name);
    dlm_json_kint(jp, "sm", c->sm);
    /* --parallel: how the step is shared, on how many GPUs, which rank (null:
     * the one that keeps the most); the batch of every point is per GPU */
    dlm_json_kstr(jp, "parallel", dlm_parallel_name(c->parallel));
    dlm_json_kint(jp, "gpus", c->gpus > 0 ? c->gpus : 1);
    /* --checkpoint: how many segments run under torch.utils.checkpoint (0: none) */
    dlm_json_kint(jp, "checkpoint_segments", c->n_checkpoint);
    dlm_json_key(jp, "rank");
    if (c->rank >= 0 || c->parallel == DLM_PAR_NONE) dlm_json_int(jp, c->rank > 0 ? c->rank : 0);
    else dlm_json_null(jp);
    dlm_json_key(jp, "points");
    dlm_json_arr_begin(jp);
}

/* The points of one (mode, dtype): objects in the open "points" array. */
static void json_points(dlm_json *jp, const dlm_mem_model *m, const point *p, int n)
{
    const dlm_mem_config *c = dlm_mem_model_config(m);
    const dlm_graph *g = dlm_mem_model_graph(m);
    for (int i = 0; i < n; i++) {
        char law[512];
        dlm_poly_format(&p[i].law, law, sizeof law);
        dlm_json_obj_begin(jp);
        dlm_json_kint(jp, "batch", p[i].B);
        dlm_json_kint(jp, "seq", g->uses_T ? p[i].T : 0);
        dlm_json_kstr(jp, "mode", dlm_mode_name(c->mode));
        dlm_json_kstr(jp, "dtype", dlm_dtype_name(c->dtype));
        dlm_json_kint(jp, "peak_bytes", p[i].r.peak_bytes);
        dlm_json_kint(jp, "before_bytes", p[i].r.before_bytes);
        dlm_json_kint(jp, "after_bytes", p[i].r.after_bytes);
        dlm_json_kstr(jp, "peak_phase", dlm_phase_name(p[i].r.peak_phase));
        dlm_json_kstr(jp, "peak_op", p[i].r.peak_op >= 0 ? g->ops[p[i].r.peak_op].name : "");
        dlm_json_kstr(jp, "peak_where", p[i].r.peak_where);
        dlm_json_kstr(jp, "peak_formula_bytes", law);
        dlm_json_kstr(jp, "workspace_note", p[i].note);
        json_completeness(jp, m, &p[i]);
        dlm_json_key(jp, "breakdown");
        dlm_json_obj_begin(jp);
        for (int k = 0; k < DLM_TERM_COUNT; k++) dlm_json_kint(jp, dlm_term_name((dlm_term)k), p[i].r.by_term[k]);
        dlm_json_obj_end(jp);
        dlm_json_key(jp, "named");
        dlm_json_obj_begin(jp);
        for (int k = 0; k < p[i].r.n_named; k++) dlm_json_kint(jp, p[i].r.named[k].name, p[i].r.named[k].bytes);
        dlm_json_obj_end(jp);
        dlm_json_obj_end(jp);
    }
}

/* Closes "points", adds the per-op "layers" (of model m, at its points), writes. */
static dlm_status json_end(dlm_json *jp, const dlm_mem_model *m, const point *p, int n,
                           int per_layer)
{
    dlm_json_arr_end(jp);
    if (per_layer) {
        dlm_status st = json_layers(jp, m, p, n);
        if (st != DLM_OK) {
            dlm_json_free(jp);
            return st;
        }
    }
    dlm_json_obj_end(jp);
    return dlm_json_finish(jp);
}

static dlm_status print_csv(const dlm_mem_model *m, const point *p, int n, int header)
{
    const dlm_mem_config *c = dlm_mem_model_config(m);
    const dlm_graph *g = dlm_mem_model_graph(m);
    if (header) {
        fputs("model,profile,mode,dtype,attention,optimizer,batch,seq,peak_bytes,before_bytes,"
              "after_bytes,peak_phase,peak_where", stdout);
        for (int k = 0; k < DLM_TERM_COUNT; k++) printf(",%s_bytes", dlm_term_name((dlm_term)k));
        fputs(",workspace_note,complete,n_unknown,unknown,probe_command\n", stdout);
    }
    for (int i = 0; i < n; i++) {
        printf("%s,%s,%s,%s,%s,%s,%lld,%lld,%lld,%lld,%lld,%s,", g->name,
               dlm_profile_name(c->profile), dlm_mode_name(c->mode), dlm_dtype_name(c->dtype),
               dlm_attention_name(c->attention), dlm_optimizer_name(c->optimizer),
               (long long)p[i].B, (long long)(g->uses_T ? p[i].T : 0), (long long)p[i].r.peak_bytes,
               (long long)p[i].r.before_bytes, (long long)p[i].r.after_bytes,
               dlm_phase_name(p[i].r.peak_phase));
        dlm_csv_field(stdout, p[i].r.peak_where);
        for (int k = 0; k < DLM_TERM_COUNT; k++) printf(",%lld", (long long)p[i].r.by_term[k]);
        putchar(',');
        dlm_csv_field(stdout, p[i].note);
        csv_completeness(m, &p[i]);
        putchar('\n');
    }
    return dlm_check_stream(stdout, "standard output");
}

/* --parallel on up to 16 GPUs without --rank: every rank's peak at point p
 * (the table shows the rank that keeps the most). */
static dlm_status print_ranks(const dlm_mem_model *m, const point *p)
{
    const dlm_mem_config *c = dlm_mem_model_config(m);
    if (c->parallel == DLM_PAR_NONE || c->gpus < 2 || c->gpus > 16 || c->rank >= 0) return DLM_OK;
    char line[1024] = "";
    for (int k = 0; k < c->gpus; k++) {
        dlm_mem_config rc = *c;
        dlm_mem_result r;
        rc.rank = k;
        DLM_TRY(dlm_mem_predict(dlm_mem_model_graph(m), &rc, p->B, p->T, &r));
        size_t l = strlen(line);
        snprintf(line + l, sizeof line - l, "%srank %d %.2f", k ? ", " : "", k,
                 (double)r.peak_bytes / 1048576.0);
    }
    if (dlm_mem_model_graph(m)->uses_T)
        return dlm_para(stdout, 2, "each rank's peak at B=%lld, T=%lld (MiB): %s; the table is the "
                        "rank that keeps the most", (long long)p->B, (long long)p->T, line);
    return dlm_para(stdout, 2, "each rank's peak at B=%lld (MiB): %s; the table is the rank that "
                    "keeps the most", (long long)p->B, line);
}

static dlm_status print_table(const dlm_mem_model *m, const dlm_gpu *gpu, const point *p, int n)
{
    static const char *hdr[] = {"B", "T", "peak", "before", "weights", "grads", "optim",
                                "saved", "transient", "workspace", "rounding"};
    const dlm_mem_config *c = dlm_mem_model_config(m);
    const dlm_graph *g = dlm_mem_model_graph(m);
    dlm_table *t;
    int nc = g->uses_T ? 11 : 10;
    const char *const *h = hdr;
    static const char *hdr_b[] = {"B", "peak", "before", "weights", "grads", "optim",
                                  "saved", "transient", "workspace", "rounding"};
    if (!g->uses_T) h = hdr_b;
    DLM_TRY(dlm_table_alloc(nc, h, "rrrrrrrrrrr", &t));
    dlm_status st = DLM_OK;
    for (int i = 0; i < n && st == DLM_OK; i++) {
        const dlm_mem_result *r = &p[i].r;
        int64_t v[] = {r->peak_bytes, r->before_bytes,
                       r->by_term[DLM_TERM_WEIGHTS] + r->by_term[DLM_TERM_BUFFERS],
                       r->by_term[DLM_TERM_GRADS], r->by_term[DLM_TERM_OPTIMIZER],
                       r->by_term[DLM_TERM_SAVED],
                       r->by_term[DLM_TERM_TRANSIENT] + r->by_term[DLM_TERM_INPUTS],
                       r->by_term[DLM_TERM_WORKSPACE], r->by_term[DLM_TERM_ROUNDING]};
        char b[24], tt[24], cell[9][24];
        snprintf(b, sizeof b, "%lld", (long long)p[i].B);
        snprintf(tt, sizeof tt, "%lld", (long long)p[i].T);
        const char *cells[11];
        int k = 0;
        cells[k++] = b;
        if (g->uses_T) cells[k++] = tt;
        for (int q = 0; q < 9; q++) {
            snprintf(cell[q], sizeof cell[q], "%s%.2f", q == 0 && !r->complete ? ">= " : "",
                     (double)v[q] / 1048576.0);
            cells[k++] = cell[q];
        }
        st = dlm_table_add(t, cells);
    }
    if (st == DLM_OK) {
        char what[400];
        snprintf(what, sizeof what, "%s: predicted GPU memory in MiB (2^20 bytes), %s profile (%s), "
                 "mode %s, dtype %s%s%s%s%s%s%s; GPU architecture sm_%d (%s)", g->name,
                 dlm_profile_name(c->profile),
                 c->profile == DLM_PROFILE_PYTORCH ? "torch.cuda.max_memory_allocated() of one step "
                                                     "after a warm-up"
                                                   : "dlmem's GPU runtime, exact bytes",
                 dlm_mode_name(c->mode), dlm_dtype_name(c->dtype),
                 c->mode == DLM_MODE_TRAIN ? ", optimizer " : "",
                 c->mode == DLM_MODE_TRAIN ? dlm_optimizer_name(c->optimizer) : "",
                 c->mode == DLM_MODE_TRAIN ? ", loss " : "",
                 c->mode == DLM_MODE_TRAIN ? dlm_loss_name(c->loss) : "",
                 g->uses_T && g->max_T ? ", attention " : "",
                 g->uses_T && g->max_T ? dlm_attention_name(c->attention) : "", c->sm, gpu->name);
        st = dlm_para(stdout, 0, "%s", what);
        if (st == DLM_OK) st = dlm_table_print(t, stdout, 2);
    }
    dlm_table_free(t);
    if (st != DLM_OK) return st;
    printf("  (\"weights\" includes buffers, \"transient\" the input)\n");
    if (c->n_checkpoint > 0)
        printf("  activation checkpointing: torch.utils.checkpoint (use_reentrant=False) around "
               "each of %d segments\n", c->n_checkpoint);
    if (n > 0) DLM_TRY(print_ranks(m, &p[n - 1]));
    /* where each peak is, under the table (the text is long) */
    for (int i = 0; i < n && st == DLM_OK; i++) {
        char at[64];
        if (g->uses_T) snprintf(at, sizeof at, "B=%lld, T=%lld", (long long)p[i].B, (long long)p[i].T);
        else snprintf(at, sizeof at, "B=%lld", (long long)p[i].B);
        st = dlm_para(stdout, 2, "peak at %s: %s", at, p[i].r.peak_where);
    }
    if (st != DLM_OK) return st;
    /* The law the peak follows around the last point, and the named terms. */
    const point *last = &p[n - 1];
    char law[512], lawb[512], at[64];
    formula(&last->law, law, sizeof law);
    dlm_poly_format(&last->law, lawb, sizeof lawb);
    if (g->uses_T) snprintf(at, sizeof at, "B=%lld, T=%lld", (long long)last->B, (long long)last->T);
    else snprintf(at, sizeof at, "B=%lld", (long long)last->B);
    printf("\n");
    DLM_TRY(dlm_para(stdout, 0, "%s peak (around %s, %s phase) = %s", dlm_mode_name(c->mode), at,
                     dlm_phase_name(last->r.peak_phase), law));
    DLM_TRY(dlm_para(stdout, 2, "in bytes: %s%s", lawb,
                     c->profile == DLM_PROFILE_PYTORCH ? "  (before the allocator's rounding)" : ""));
    if (c->rnn_chunks > 1 && g->uses_T)
        printf("  (RNN in %d chunks: a chunk's sizes enter at this T's chunk length, %lld steps "
               "at most, as constants)\n", c->rnn_chunks,
               (long long)((last->T + c->rnn_chunks - 1) / c->rnn_chunks));
    char named[1024] = "";
    for (int k = 0; k < last->r.n_named; k++) {
        char v[32], one[160];
        snprintf(one, sizeof one, "%s %s %s", k ? "," : "", last->r.named[k].name,
                 mib(v, sizeof v, last->r.named[k].bytes));
        strncat(named, one, sizeof named - strlen(named) - 1);
    }
    dlm_status st2 = dlm_para(stdout, 2, "named terms at that peak:%s", named);
    /* how the library workspaces no law gives are known, once per distinct line */
    for (int i = 0; i < n && st2 == DLM_OK; i++) {
        int seen = !p[i].note[0];
        for (int k = 0; k < i && !seen; k++) seen = !strcmp(p[k].note, p[i].note);
        if (!seen) st2 = dlm_para(stdout, 0, "note: %s", p[i].note);
    }
    if (st2 != DLM_OK) return st2;
    DLM_TRY(table_completeness(m, p, n));
    return dlm_check_stream(stdout, "standard output");
}

dlm_status dlm_cmd_memory(int argc, char **argv)
{
    dlm_cli_args a;
    dlm_format fmt;
    DLM_TRY(dlm_cli_parse("memory", argc, argv, opts, N_OPTS, &a));
    if (a.help) {
        dlm_cli_usage(stdout, "memory", "MODEL [options]",
                      "Predicted GPU memory of MODEL at each batch size B (and sequence length T):\n"
                      "the peak, where it happens (phase and op), what it is made of, and the\n"
                      "formula in B and T it follows.  Profile pytorch predicts\n"
                      "torch.cuda.max_memory_allocated() for tools/torch_reference.py's protocol;\n"
                      "profile runtime predicts dlmem's own GPU runtime to the byte.  --mode and\n"
                      "--dtype take comma lists (--mode infer,train --dtype fp32,bf16,mixed): one\n"
                      "table per configuration, all in one CSV or JSON.",
                      opts, N_OPTS);
        return DLM_OK;
    }
    if (a.n_pos != 1)
        return dlm_error(DLM_EINVAL, "dlmem memory: expected one MODEL (see dlmem models), got %d "
                         "arguments", a.n_pos);
    DLM_TRY(dlm_cli_format(&a, &fmt));
    dlm_mem_config cfg;
    const dlm_gpu *gpu;
    DLM_TRY(dlm_cli_mem_config(&a, &cfg, &gpu));
    dlm_graph *g;
    DLM_TRY(dlm_model_build_named(a.pos[0], dlm_cli_get(&a, "set"), &g));
    {
        dlm_status lst = dlm_cli_mem_lora(&a, &cfg, g);
        if (lst != DLM_OK) {
            dlm_graph_free(g);
            return lst;
        }
    }
    int64_t *bs = NULL, *ts = NULL;
    int nb = 0, nt = 0;
    int64_t tmax = g->max_T > 0 ? g->max_T : 100000000;
    const char *seq = dlm_cli_get(&a, "seq");
    char dflt_seq[16];
    snprintf(dflt_seq, sizeof dflt_seq, "%d", g->max_T > 0 ? 128 : 100);
    dlm_status st = dlm_cli_list("--batch", dlm_cli_get(&a, "batch") ? dlm_cli_get(&a, "batch") : "1",
                                 1, 1000000000, &bs, &nb);
    if (st == DLM_OK) {
        if (!g->uses_T && seq)
            st = dlm_error(DLM_EINVAL, "--seq: model %s has no sequence length", g->name);
        else
            st = dlm_cli_list("--seq", g->uses_T && seq ? seq : dflt_seq, 1, tmax, &ts, &nt);
    }
    if (st == DLM_OK && !g->uses_T) nt = 1;
    if (st == DLM_OK && (int64_t)nb * nt > DLM_CLI_LIST_MAX)
        st = dlm_error(DLM_ERANGE, "dlmem memory: --batch and --seq make %lld points (at most %d)",
                       (long long)nb * nt, DLM_CLI_LIST_MAX);
    dlm_mode modes[3];
    dlm_dtype dtypes[4];
    int nm = 1, nd = 1, per_layer = dlm_cli_get(&a, "per-layer") != NULL;
    if (st == DLM_OK) st = dlm_cli_mem_check(&a, g);
    if (st == DLM_OK) st = dlm_cli_mem_lists(&a, &cfg, modes, &nm, dtypes, &nd);
    int has_train = 0;
    for (int k = 0; k < nm; k++) has_train |= modes[k] == DLM_MODE_TRAIN;
    if (st == DLM_OK) st = dlm_cli_loss_check(&a, has_train);
    if (st == DLM_OK && per_layer && nm * nd > 1)
        st = dlm_error(DLM_EINVAL, "--per-layer: give one --mode and one --dtype (the per-op "
                       "table is for one configuration)");
    dlm_mem_model *m = NULL;
    point *p = NULL;
    dlm_json j;
    if (st == DLM_OK && !(p = calloc((size_t)nb * (size_t)nt, sizeof *p)))
        st = dlm_error(DLM_ENOMEM, "out of memory");
    /* one configuration after the other: modes outer, dtypes inner */
    for (int combo = 0; combo < nm * nd && st == DLM_OK; combo++) {
        int last = combo == nm * nd - 1;
        cfg.mode = modes[combo / nd];
        cfg.dtype = dtypes[combo % nd];
        dlm_mem_model_free(m);
        m = NULL;
        st = dlm_mem_model_alloc(g, &cfg, &m);
        int n = 0;
        for (int i = 0; i < nb && st == DLM_OK; i++)
            for (int k = 0; k < nt && st == DLM_OK; k++) {
                memset(&p[n], 0, sizeof p[n]);
                p[n].B = bs[i];
                p[n].T = g->uses_T ? ts[k] : 0;
                st = dlm_mem_eval(m, p[n].B, p[n].T, &p[n].r);
                if (st == DLM_OK) st = dlm_mem_peak_poly(m, p[n].B, p[n].T, &p[n].law);
                if (st == DLM_OK) dlm_mem_note(m, p[n].B, p[n].note, sizeof p[n].note);
                if (st == DLM_OK && !p[n].r.complete)
                    dlm_cli_probe_command(&a, &cfg, p[n].B, p[n].T, g->uses_T, p[n].probe,
                                          sizeof p[n].probe);
                n++;
            }
        if (st != DLM_OK) {
            if (fmt == DLM_FMT_JSON && combo > 0) dlm_json_free(&j);
            break;
        }
        if (fmt == DLM_FMT_JSON) {
            if (combo == 0) json_begin(&j, m, gpu);
            json_points(&j, m, p, n);
            if (last) st = json_end(&j, m, p, n, per_layer);
        } else if (fmt == DLM_FMT_CSV && per_layer) {
            st = print_layers_csv(m, p, n);
        } else if (fmt == DLM_FMT_CSV) {
            st = print_csv(m, p, n, combo == 0);
        } else {
            if (combo) printf("\n");
            st = print_table(m, gpu, p, n);
            if (st == DLM_OK && per_layer)
                st = print_layers_table(m, p[n - 1].B, p[n - 1].T, stdout);
            if (st == DLM_OK) st = dlm_check_stream(stdout, "standard output");
        }
    }
    free(p);
    free(bs);
    free(ts);
    dlm_mem_model_free(m);
    dlm_graph_free(g);
    return st;
}
