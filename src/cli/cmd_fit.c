/* cmd_fit.c — `dlmem fit MODEL --gpu NAME | --memory SIZE`: the largest batch
 * (or, with --batch, the largest sequence length) whose predicted peak plus
 * the CUDA context fits in the GPU's memory, the term that grows with it, and
 * the headroom left.  Searches with the memory model; it measures nothing. */
#include <stdlib.h>
#include <string.h>

#include "../analytic/memfit.h"
#include "../core/out.h"
#include "../models/models.h"
#include "commands.h"
#include "mem_opts.h"

static const dlm_cli_opt opts[] = {
    {"memory", 'm', "SIZE", "GPU memory instead of --gpu's, with its unit (case-insensitive): "
                            "4GB, 4GiB, 16G, 512MiB; GB/MB decimal, GiB/MiB binary"},
    {"context", 0, "SIZE", "memory outside PyTorch's allocator (CUDA context, handles); default "
                           "the GPU table's figure (measured on sm_90 only; an estimate elsewhere)"},
    {"margin", 0, "SIZE|PCT", "headroom to keep free: a size (1GiB) or a share of the GPU's "
                              "memory (10%); default 0"},
    {"batch", 'b', "B", "fix the batch and search the largest sequence length instead"},
    {"seq", 't', "T", "sequence length while searching the batch (default 128 bert, 100 lstm)"},
    {"format", 0, "FMT", "table (default), csv or json"},
    DLM_MEM_OPT_ROWS,
};
#define N_OPTS ((int)(sizeof opts / sizeof opts[0]))

typedef struct fit {
    int64_t best;         /* largest fitting value, 0 if none */
    dlm_mem_result r;     /* at best (or at the smallest value when nothing fits) */
    dlm_poly law;
    int64_t usable;
} fit;

/* JSON: "complete", the unknown terms and "fits_unless_workspace_exceeds_bytes"
 * (the headroom: a fit that holds only if no unknown workspace is larger). */
static void fit_json_completeness(dlm_json *j, const dlm_mem_model *m, const dlm_mem_result *r,
                                  int64_t headroom)
{
    const dlm_graph *g = dlm_mem_model_graph(m);
    dlm_json_key(j, "complete");
    dlm_json_bool(j, r->complete);
    dlm_json_kint(j, "n_unknown", r->n_unknown);
    dlm_json_key(j, "unknown");
    dlm_json_arr_begin(j);
    for (int k = 0; k < r->n_unknown && k < DLM_MAX_UNKNOWN; k++) {
        dlm_json_obj_begin(j);
        dlm_json_kstr(j, "term", r->unknown[k].term);
        dlm_json_kstr(j, "op", r->unknown[k].op >= 0 ? g->ops[r->unknown[k].op].name : "");
        dlm_json_kstr(j, "phase", dlm_phase_name(r->unknown[k].phase));
        dlm_json_kstr(j, "call", r->unknown[k].call);
        dlm_json_obj_end(j);
    }
    dlm_json_arr_end(j);
    dlm_json_key(j, "fits_unless_workspace_exceeds_bytes");
    if (r->complete) dlm_json_null(j);
    else dlm_json_int(j, headroom);
}

/* Peak at x of the searched variable. */
static dlm_status at(const dlm_mem_model *m, int search_T, int64_t fixed, int64_t x,
                     dlm_mem_result *r)
{
    return search_T ? dlm_mem_eval(m, fixed, x, r) : dlm_mem_eval(m, x, fixed, r);
}

/* `first`: the smallest value (1; K for T with an RNN in K chunks). */
static dlm_status search(const dlm_mem_model *m, int search_T, int64_t fixed, int64_t hi_limit,
                         int64_t first, fit *f)
{
    DLM_TRY(dlm_mem_fit_search(m, search_T, fixed, hi_limit, f->usable, &f->best));
    int64_t lo = f->best ? f->best : first;
    DLM_TRY(at(m, search_T, fixed, lo, &f->r));
    return search_T ? dlm_mem_peak_poly(m, fixed, lo, &f->law)
                    : dlm_mem_peak_poly(m, lo, fixed, &f->law);
}

/* --margin: a size with its unit, or a percentage of the GPU's memory. */
static dlm_status parse_margin(const char *s, int64_t total, int64_t *out, char *echo, size_t n)
{
    size_t len = strlen(s);
    if (len > 1 && s[len - 1] == '%') {
        char num[32], *end;
        if (len - 1 >= sizeof num) goto bad;
        memcpy(num, s, len - 1);
        num[len - 1] = '\0';
        double pct = strtod(num, &end);
        if (*end || end == num || !(pct >= 0 && pct < 100)) goto bad;
        *out = (int64_t)((double)total * pct / 100.0);
        char b[32];
        snprintf(echo, n, "%g%% of the memory = %s", pct, dlm_fmt_bytes(b, sizeof b, (double)*out));
        return DLM_OK;
    }
    return dlm_cli_mem_size("--margin", s, 1, out, echo, n);
bad:
    return dlm_error(DLM_EINVAL, "--margin: '%s' is not a size (1GiB, 512MB) or a percentage "
                     "from 0%% to under 100%% (10%%)", s);
}

/* `dlmem fit --gpu list`: the GPU table and where each number comes from. */
static dlm_status list_gpus(dlm_format fmt)
{
    int n;
    const dlm_gpu *g = dlm_gpus(&n);
    if (fmt == DLM_FMT_JSON) {
        dlm_json j;
        dlm_json_init(&j, stdout, "dlmem.gpus/1");
        dlm_json_obj_begin(&j);
        dlm_json_key(&j, "gpus");
        dlm_json_arr_begin(&j);
        for (int i = 0; i < n; i++) {
            dlm_json_obj_begin(&j);
            dlm_json_kstr(&j, "name", g[i].name);
            dlm_json_kstr(&j, "full", g[i].full);
            dlm_json_kint(&j, "memory_bytes", g[i].memory);
            dlm_json_kint(&j, "sm", g[i].sm);
            dlm_json_kint(&j, "context_bytes", g[i].context);
            dlm_json_kbool(&j, "context_measured", g[i].context_measured);
            dlm_json_kstr(&j, "source", g[i].source);
            dlm_json_obj_end(&j);
        }
        dlm_json_arr_end(&j);
        dlm_json_obj_end(&j);
        return dlm_json_finish(&j);
    }
    if (fmt == DLM_FMT_CSV) {
        printf("name,full,memory_bytes,sm,context_bytes,context_measured,source\n");
        for (int i = 0; i < n; i++) {
            printf("%s,", g[i].name);
            dlm_csv_field(stdout, g[i].full);
            printf(",%lld,%d,%lld,%s,", (long long)g[i].memory, g[i].sm, (long long)g[i].context,
                   g[i].context_measured ? "true" : "false");
            dlm_csv_field(stdout, g[i].source);
            putchar('\n');
        }
        return dlm_check_stream(stdout, "standard output");
    }
    /* the memory's kind in the table, each GPU's whole source under it */
    static const char *hdr[] = {"name", "GPU", "memory MiB", "memory from", "sm", "context MiB"};
    dlm_table *t;
    DLM_TRY(dlm_table_alloc(6, hdr, "llrlrr", &t));
    dlm_status st = DLM_OK;
    for (int i = 0; i < n && st == DLM_OK; i++) {
        char mem[32], sm[16], ctx[40];
        snprintf(mem, sizeof mem, "%lld", (long long)(g[i].memory / 1048576));
        snprintf(sm, sizeof sm, "%d", g[i].sm);
        snprintf(ctx, sizeof ctx, "%lld%s", (long long)(g[i].context / 1048576),
                 g[i].context_measured ? "" : " (est.)");
        const char *kind = !strncmp(g[i].source, "nvidia-smi", 10) ? "nvidia-smi"
                           : !strncmp(g[i].source, "nominal", 7)  ? "nominal (spec)"
                                                                  : "measured";
        const char *cells[] = {g[i].name, g[i].full, mem, kind, sm, ctx};
        st = dlm_table_add(t, cells);
    }
    if (st == DLM_OK) {
        printf("GPUs dlmem knows (MiB = 2^20 bytes; the architecture sm selects the measured "
               "workspace rows):\n");
        st = dlm_table_print(t, stdout, 2);
    }
    dlm_table_free(t);
    if (st == DLM_OK) printf("\nSources:\n");
    for (int i = 0; i < n && st == DLM_OK; i++)
        st = dlm_para(stdout, 2, "%s: %s", g[i].name, g[i].source);
    if (st == DLM_OK) putchar('\n');
    if (st == DLM_OK)
        st = dlm_para(stdout, 0, "The CUDA context (+ cuBLAS and cuDNN handles, outside PyTorch's "
                      "allocator) was measured on an H200 (sm_90) only; (est.) marks where that "
                      "figure stands in for an unmeasured architecture.  --context SIZE gives "
                      "your own (nvidia-smi's memory used by a process that has only "
                      "initialised CUDA, cuBLAS and cuDNN).");
    return st;
}

/* The term that binds: among the parts of the peak that grow with the searched
 * variable, the one that grows most on average from the smallest value to the
 * largest that fits (not over one step, where an allocator rounding jump can
 * dwarf the real growth).  The rounding's own step there is kept apart. */
typedef struct binding {
    int term;
    int64_t growth;        /* bytes per unit, average */
    int64_t from;          /* the value the average starts at */
    int64_t rounding_step; /* rounding at best+1 minus at best */
    int64_t next_peak;     /* the peak at best+1 (0 at the search's limit) */
} binding;

static dlm_status find_binding(const dlm_mem_model *m, int search_T, int64_t fixed, int64_t first,
                               int64_t limit, const fit *f, binding *b)
{
    int64_t x = f->best ? f->best : first;
    dlm_mem_result lo, hi = f->r, nx;
    int64_t from = x > first ? first : x, to = x;
    b->term = DLM_TERM_SAVED;
    if (from == to) { /* one point: the step to the next value */
        if (to + 1 > limit) return DLM_OK;
        DLM_TRY(at(m, search_T, fixed, to + 1, &hi));
        to++;
    }
    DLM_TRY(at(m, search_T, fixed, from, &lo));
    b->from = from;
    b->growth = -1;
    for (int k = 0; k < DLM_TERM_COUNT; k++) {
        if (k == DLM_TERM_ROUNDING) continue;
        int64_t gk = (hi.by_term[k] - lo.by_term[k]) / (to - from);
        if (gk > b->growth) {
            b->growth = gk;
            b->term = k;
        }
    }
    if (b->growth < 0) b->growth = 0;
    if (f->best && f->best + 1 <= limit) {
        DLM_TRY(at(m, search_T, fixed, f->best + 1, &nx));
        b->rounding_step = nx.by_term[DLM_TERM_ROUNDING] - f->r.by_term[DLM_TERM_ROUNDING];
        b->next_peak = nx.peak_bytes;
    }
    return DLM_OK;
}

dlm_status dlm_cmd_fit(int argc, char **argv)
{
    dlm_cli_args a;
    dlm_format fmt;
    DLM_TRY(dlm_cli_parse("fit", argc, argv, opts, N_OPTS, &a));
    if (a.help) {
        dlm_cli_usage(stdout, "fit", "MODEL (--gpu NAME | --memory SIZE) [options]",
                      "The largest batch size (or, with --batch, the largest sequence length)\n"
                      "whose predicted peak plus the CUDA context fits in the GPU's memory, the\n"
                      "term that grows with it and the headroom left.  `dlmem fit --gpu list`\n"
                      "lists the GPUs it knows (memory as nvidia-smi reports it, architecture,\n"
                      "CUDA context and where each number comes from).",
                      opts, N_OPTS);
        return DLM_OK;
    }
    if (a.n_pos != 1)
        return dlm_error(DLM_EINVAL, "dlmem fit: expected one MODEL (see dlmem models), got %d "
                         "arguments", a.n_pos);
    DLM_TRY(dlm_cli_format(&a, &fmt));
    if (dlm_cli_get(&a, "gpu") && !strcmp(dlm_cli_get(&a, "gpu"), "list")) return list_gpus(fmt);
    if (!dlm_cli_get(&a, "gpu") && !dlm_cli_get(&a, "memory"))
        return dlm_error(DLM_EINVAL, "dlmem fit: give --gpu NAME (--gpu list lists them) or "
                         "--memory SIZE");
    dlm_mem_config cfg;
    const dlm_gpu *gpu;
    DLM_TRY(dlm_cli_mem_single(&a, "fit"));
    DLM_TRY(dlm_cli_mem_config(&a, &cfg, &gpu));
    int64_t total = gpu->memory, context = gpu->context, margin = 0;
    char mem_echo[160] = "", ctx_note[160], margin_echo[160] = "";
    int ctx_measured = gpu->context_measured;
    dlm_gpu_context_note(gpu, ctx_note, sizeof ctx_note);
    if (dlm_cli_get(&a, "memory"))
        DLM_TRY(dlm_cli_mem_size("--memory", dlm_cli_get(&a, "memory"), 0, &total, mem_echo,
                                 sizeof mem_echo));
    if (dlm_cli_get(&a, "context")) {
        DLM_TRY(dlm_cli_mem_size("--context", dlm_cli_get(&a, "context"), 1, &context, NULL, 0));
        snprintf(ctx_note, sizeof ctx_note, "given with --context");
        ctx_measured = 1;
    }
    if (dlm_cli_get(&a, "margin")) DLM_TRY(parse_margin(dlm_cli_get(&a, "margin"), total, &margin,
                                                        margin_echo, sizeof margin_echo));
    dlm_graph *g;
    DLM_TRY(dlm_model_build_named(a.pos[0], dlm_cli_get(&a, "set"), &g));
    {
        dlm_status lst = dlm_cli_mem_lora(&a, &cfg, g);
        if (lst != DLM_OK) {
            dlm_graph_free(g);
            return lst;
        }
    }
    dlm_status st = dlm_cli_mem_check(&a, g);
    if (st == DLM_OK) st = dlm_cli_loss_check(&a, cfg.mode == DLM_MODE_TRAIN);
    int search_T = dlm_cli_get(&a, "batch") != NULL;
    int64_t fixed = 1, limit = 1LL << 30;
    if (search_T) {
        if (!g->uses_T) st = dlm_error(DLM_EINVAL, "--batch: model %s has no sequence length to "
                                       "search; leave --batch out to search the batch", g->name);
        else st = dlm_cli_int("--batch", dlm_cli_get(&a, "batch"), 1, 1000000000, &fixed);
        if (g->max_T > 0) limit = g->max_T;
        else limit = 100000000; /* dlm_mem_eval's range for an unbounded T */
    } else if (dlm_cli_get(&a, "seq")) {
        if (!g->uses_T) st = dlm_error(DLM_EINVAL, "--seq: model %s has no sequence length", g->name);
        else st = dlm_cli_int("--seq", dlm_cli_get(&a, "seq"), 1, g->max_T > 0 ? g->max_T : 100000000, &fixed);
    } else if (g->uses_T) {
        fixed = g->max_T > 0 ? 128 : 100;
    }
    fit f;
    memset(&f, 0, sizeof f);
    f.usable = total - context - margin;
    dlm_mem_model *m = NULL;
    if (st == DLM_OK && f.usable <= 0)
        st = dlm_error(DLM_ERANGE, "--memory: %lld bytes do not exceed the context and margin "
                       "(%lld + %lld bytes)", (long long)total, (long long)context,
                       (long long)margin);
    if (st == DLM_OK) st = dlm_mem_model_alloc(g, &cfg, &m);
    int64_t first = search_T && cfg.rnn_chunks > 1 ? cfg.rnn_chunks : 1;
    if (st == DLM_OK) st = search(m, search_T, fixed, limit, first, &f);
    binding bd;
    memset(&bd, 0, sizeof bd);
    if (st == DLM_OK) st = find_binding(m, search_T, fixed, first, limit, &f, &bd);
    if (st == DLM_OK) {
        const char *var = search_T ? "T" : "B";
        int64_t headroom = f.usable - f.r.peak_bytes;
        char law[512], b1[32], b2[32], b3[32], b4[32], note[640];
        dlm_mem_note(m, search_T ? fixed : (f.best ? f.best : 1), note, sizeof note);
        dlm_poly_format_scaled(&f.law, 1.0 / 1048576.0, "MiB", law, sizeof law);
        const char *gpu_name = dlm_cli_get(&a, "memory") ? "given" : gpu->name;
        if (fmt == DLM_FMT_JSON) {
            dlm_json j;
            dlm_json_init(&j, stdout, "dlmem.fit/1");
            dlm_json_obj_begin(&j);
            dlm_json_kstr(&j, "model", g->name);
            dlm_json_kstr(&j, "gpu", gpu_name);
            dlm_json_kint(&j, "sm", cfg.sm);
            dlm_json_kint(&j, "memory_bytes", total);
            dlm_json_kstr(&j, "memory_source", dlm_cli_get(&a, "memory") ? mem_echo : gpu->source);
            dlm_json_kint(&j, "context_bytes", context);
            dlm_json_kbool(&j, "context_measured", ctx_measured);
            dlm_json_kstr(&j, "context_source", ctx_note);
            dlm_json_kint(&j, "margin_bytes", margin);
            dlm_json_kint(&j, "usable_bytes", f.usable);
            dlm_json_kstr(&j, "mode", dlm_mode_name(cfg.mode));
            dlm_json_kstr(&j, "dtype", dlm_dtype_name(cfg.dtype));
            dlm_json_kstr(&j, "profile", dlm_profile_name(cfg.profile));
            dlm_json_kint(&j, "checkpoint_segments", cfg.n_checkpoint);
            dlm_json_kstr(&j, "searched", search_T ? "seq" : "batch");
            dlm_json_kint(&j, search_T ? "batch" : "seq", g->uses_T || search_T ? fixed : 0);
            dlm_json_kint(&j, search_T ? "max_seq" : "max_batch", f.best);
            dlm_json_kint(&j, "peak_bytes", f.r.peak_bytes);
            dlm_json_kint(&j, "headroom_bytes", f.best ? headroom : 0);
            dlm_json_kstr(&j, "binding_term", dlm_term_name((dlm_term)bd.term));
            dlm_json_kint(&j, "binding_growth_bytes", bd.growth);
            dlm_json_kint(&j, "rounding_step_bytes", bd.rounding_step);
            dlm_json_kint(&j, "next_peak_bytes", bd.next_peak);
            dlm_json_kstr(&j, "peak_where", f.r.peak_where);
            dlm_json_kstr(&j, "workspace_note", note);
            fit_json_completeness(&j, m, &f.r, f.best ? headroom : 0);
            dlm_json_obj_end(&j);
            st = dlm_json_finish(&j);
        } else if (fmt == DLM_FMT_CSV) {
            printf("model,gpu,sm,memory_bytes,context_bytes,context_measured,margin_bytes,"
                   "usable_bytes,mode,dtype,profile,searched,fixed,max,peak_bytes,headroom_bytes,"
                   "binding_term,binding_growth_bytes,rounding_step_bytes,next_peak_bytes,"
                   "peak_where,workspace_note\n");
            printf("%s,%s,%d,%lld,%lld,%s,%lld,%lld,%s,%s,%s,%s,%lld,%lld,%lld,%lld,%s,%lld,%lld,"
                   "%lld,", g->name, gpu_name, cfg.sm, (long long)total, (long long)context,
                   ctx_measured ? "true" : "false", (long long)margin, (long long)f.usable,
                   dlm_mode_name(cfg.mode), dlm_dtype_name(cfg.dtype),
                   dlm_profile_name(cfg.profile), search_T ? "seq" : "batch",
                   (long long)(g->uses_T || search_T ? fixed : 0), (long long)f.best,
                   (long long)f.r.peak_bytes, (long long)(f.best ? headroom : 0),
                   dlm_term_name((dlm_term)bd.term), (long long)bd.growth,
                   (long long)bd.rounding_step, (long long)bd.next_peak);
            dlm_csv_field(stdout, f.r.peak_where);
            putchar(',');
            dlm_csv_field(stdout, note);
            putchar('\n');
            st = dlm_check_stream(stdout, "standard output");
        } else {
            if (dlm_cli_get(&a, "memory"))
                st = dlm_para(stdout, 0, "%s with --memory %s (architecture sm_%d, %s)", g->name,
                              mem_echo, cfg.sm,
                              dlm_cli_get(&a, "gpu") ? "--gpu's"
                                                     : "assumed: the default h200's; --gpu NAME "
                                                       "picks the architecture");
            else
                st = dlm_para(stdout, 0, "%s on %s, sm_%d: %s memory (%s)", g->name, gpu->full,
                              gpu->sm, dlm_fmt_bytes(b1, sizeof b1, (double)total), gpu->source);
            if (st == DLM_OK)
                st = dlm_para(stdout, 0, "  minus %s CUDA context and handles (%s)%s%s%s = %s "
                              "usable", dlm_fmt_bytes(b2, sizeof b2, (double)context), ctx_note,
                              margin ? ", minus a margin of " : "", margin ? margin_echo : "",
                              margin ? "" : "", dlm_fmt_bytes(b3, sizeof b3, (double)f.usable));
            printf("mode %s, dtype %s, %s profile%s%s", dlm_mode_name(cfg.mode),
                   dlm_dtype_name(cfg.dtype), dlm_profile_name(cfg.profile),
                   search_T ? ", batch " : (g->uses_T ? ", sequence " : ""),
                   search_T || g->uses_T ? (snprintf(b4, sizeof b4, "%lld", (long long)fixed), b4) : "");
            if (cfg.n_checkpoint > 0)
                printf(", torch.utils.checkpoint around each of %d segments", cfg.n_checkpoint);
            printf("\n");
            if (!f.best) {
                printf("Does not fit even at %s=%lld: the peak is %s, %s more than the %s available.\n",
                       var, (long long)first, dlm_fmt_bytes(b1, sizeof b1, (double)f.r.peak_bytes),
                       dlm_fmt_bytes(b2, sizeof b2, (double)(f.r.peak_bytes - f.usable)),
                       dlm_fmt_bytes(b3, sizeof b3, (double)f.usable));
            } else {
                printf("largest %s that fits: %lld%s%s\n", search_T ? "sequence length T" : "batch B",
                       (long long)f.best,
                       f.r.complete ? "" : " (only unless cuDNN's workspace exceeds the headroom: see below)",
                       f.best < limit ? ""
                       : search_T && g->max_T > 0 ? " (the model's limit: its position embeddings)"
                                                  : " (the end of the search range)");
                st = dlm_para(stdout, 2, "peak there: %s at %s",
                              dlm_fmt_bytes(b1, sizeof b1, (double)f.r.peak_bytes), f.r.peak_where);
                printf("  headroom:   %s of %s usable\n", dlm_fmt_bytes(b2, sizeof b2, (double)headroom),
                       dlm_fmt_bytes(b3, sizeof b3, (double)f.usable));
                printf("  binding term: %s, growing %s per unit of %s (average from %s=%lld)\n",
                       dlm_term_name((dlm_term)bd.term),
                       dlm_fmt_bytes(b4, sizeof b4, (double)bd.growth), var, var,
                       (long long)bd.from);
                if (bd.rounding_step > 0 && f.best < limit)
                    printf("  the allocator's rounding jumps by %s from %s=%lld to %lld\n",
                           dlm_fmt_bytes(b4, sizeof b4, (double)bd.rounding_step), var,
                           (long long)f.best, (long long)f.best + 1);
                if (f.best < limit)
                    printf("  at %s=%lld the peak would be %s, %s over\n", var, (long long)f.best + 1,
                           dlm_fmt_bytes(b1, sizeof b1, (double)bd.next_peak),
                           dlm_fmt_bytes(b2, sizeof b2, (double)(bd.next_peak - f.usable)));
                if (st == DLM_OK) st = dlm_para(stdout, 2, "peak law there: %s", law);
            }
            if (note[0] && st == DLM_OK) st = dlm_para(stdout, 0, "note: %s", note);
            if (!f.r.complete) {
                char ops[600], cmd[400];
                dlm_mem_unknown_list(m, &f.r, ops, sizeof ops);
                dlm_cli_probe_command(&a, &cfg, search_T ? fixed : (f.best ? f.best : first),
                                      search_T ? (f.best ? f.best : first) : fixed, g->uses_T, cmd,
                                      sizeof cmd);
                if (f.best)
                    st = dlm_para(stdout, 0, "incomplete: fits only unless cuDNN's workspace "
                                  "exceeds %s: %d library workspaces are not known at %s=%lld "
                                  "and were counted 0 B (%s); the peak above is a lower bound "
                                  "and %lld an upper bound on the largest %s",
                                  dlm_fmt_bytes(b1, sizeof b1, (double)headroom), f.r.n_unknown,
                                  var, (long long)f.best, ops, (long long)f.best, var);
                else
                    st = dlm_para(stdout, 0, "incomplete: %d library workspaces are not known "
                                  "(%s): the peak is a lower bound, so it does not fit either way",
                                  f.r.n_unknown, ops);
                printf("  to close it, on the target GPU: %s\n", cmd);
            }
            if (st == DLM_OK) st = dlm_check_stream(stdout, "standard output");
        }
    }
    dlm_mem_model_free(m);
    dlm_graph_free(g);
    return st;
}
