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
    {"memory", 'm', "SIZE", "GPU memory instead of --gpu's: 4GiB, 16G, 80GB, 512MiB, bytes"},
    {"context", 0, "SIZE", "memory outside PyTorch's allocator (CUDA context, handles); default "
                           "the GPU table's figure"},
    {"batch", 'b', "B", "fix the batch and search the largest sequence length instead"},
    {"seq", 't', "T", "sequence length while searching the batch (default 128 bert, 100 lstm)"},
    {"format", 0, "FMT", "table (default) or json"},
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

dlm_status dlm_cmd_fit(int argc, char **argv)
{
    dlm_cli_args a;
    dlm_format fmt;
    DLM_TRY(dlm_cli_parse("fit", argc, argv, opts, N_OPTS, &a));
    if (a.help) {
        dlm_cli_usage(stdout, "fit", "MODEL (--gpu NAME | --memory SIZE) [options]",
                      "The largest batch size (or, with --batch, the largest sequence length)\n"
                      "whose predicted peak plus the CUDA context fits in the GPU's memory, the\n"
                      "term that grows with it and the headroom left.  GPUs: rtx3050-4gb, t4,\n"
                      "a10, l4, a100-40gb, a100-80gb, h100, h200.",
                      opts, N_OPTS);
        return DLM_OK;
    }
    if (a.n_pos != 1)
        return dlm_error(DLM_EINVAL, "dlmem fit: expected one MODEL (see dlmem models), got %d "
                         "arguments", a.n_pos);
    DLM_TRY(dlm_cli_format(&a, &fmt));
    if (fmt == DLM_FMT_CSV) return dlm_error(DLM_EINVAL, "--format: fit writes table or json");
    if (!dlm_cli_get(&a, "gpu") && !dlm_cli_get(&a, "memory"))
        return dlm_error(DLM_EINVAL, "dlmem fit: give --gpu NAME or --memory SIZE");
    dlm_mem_config cfg;
    const dlm_gpu *gpu;
    DLM_TRY(dlm_cli_mem_config(&a, &cfg, &gpu));
    int64_t total = gpu->memory, context = gpu->context;
    if (dlm_cli_get(&a, "memory")) DLM_TRY(dlm_cli_size("--memory", dlm_cli_get(&a, "memory"), &total));
    if (dlm_cli_get(&a, "context")) {
        const char *s = dlm_cli_get(&a, "context");
        if (strcmp(s, "0")) DLM_TRY(dlm_cli_size("--context", s, &context));
        else context = 0;
    }
    dlm_graph *g;
    DLM_TRY(dlm_model_build_named(a.pos[0], dlm_cli_get(&a, "set"), &g));
    dlm_status st = DLM_OK;
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
    f.usable = total - context;
    dlm_mem_model *m = NULL;
    if (st == DLM_OK && f.usable <= 0)
        st = dlm_error(DLM_ERANGE, "--memory: %lld bytes do not exceed the context (%lld bytes)",
                       (long long)total, (long long)context);
    if (st == DLM_OK) st = dlm_mem_model_alloc(g, &cfg, &m);
    int64_t first = search_T && cfg.rnn_chunks > 1 ? cfg.rnn_chunks : 1;
    if (st == DLM_OK) st = search(m, search_T, fixed, limit, first, &f);
    if (st == DLM_OK) {
        /* the term that grows with the searched variable: the largest part of
         * the peak's law that depends on it */
        const char *var = search_T ? "T" : "B";
        int64_t grow = 0;
        dlm_mem_result r2;
        dlm_mem_result r1 = f.r;
        int64_t x = f.best ? f.best : first;
        if (x + 1 <= limit) st = at(m, search_T, fixed, x + 1, &r2);
        else { /* at the model's limit: the step into it */
            r2 = f.r;
            st = at(m, search_T, fixed, x - 1 >= first ? x - 1 : first, &r1);
        }
        int bind = DLM_TERM_SAVED;
        for (int k = 0; k < DLM_TERM_COUNT && st == DLM_OK; k++)
            if (r2.by_term[k] - r1.by_term[k] > grow) {
                grow = r2.by_term[k] - r1.by_term[k];
                bind = k;
            }
        int64_t headroom = f.usable - f.r.peak_bytes;
        char law[512], b1[32], b2[32], b3[32], b4[32], note[240];
        dlm_mem_note(m, search_T ? fixed : (f.best ? f.best : 1), note, sizeof note);
        dlm_poly_format_scaled(&f.law, 1.0 / 1048576.0, "MiB", law, sizeof law);
        if (st != DLM_OK) {
        } else if (fmt == DLM_FMT_JSON) {
            dlm_json j;
            dlm_json_init(&j, stdout);
            dlm_json_obj_begin(&j);
            dlm_json_kstr(&j, "model", g->name);
            dlm_json_kstr(&j, "gpu", gpu->name);
            dlm_json_kint(&j, "memory_bytes", total);
            dlm_json_kint(&j, "context_bytes", context);
            dlm_json_kstr(&j, "mode", dlm_mode_name(cfg.mode));
            dlm_json_kstr(&j, "dtype", dlm_dtype_name(cfg.dtype));
            dlm_json_kstr(&j, "profile", dlm_profile_name(cfg.profile));
            dlm_json_kstr(&j, "searched", search_T ? "seq" : "batch");
            dlm_json_kint(&j, search_T ? "batch" : "seq", g->uses_T || search_T ? fixed : 0);
            dlm_json_kint(&j, search_T ? "max_seq" : "max_batch", f.best);
            dlm_json_kint(&j, "peak_bytes", f.r.peak_bytes);
            dlm_json_kint(&j, "headroom_bytes", f.best ? headroom : 0);
            dlm_json_kstr(&j, "binding_term", dlm_term_name((dlm_term)bind));
            dlm_json_kint(&j, "binding_growth_bytes", grow);
            dlm_json_kstr(&j, "peak_where", f.r.peak_where);
            dlm_json_kstr(&j, "workspace_note", note);
            fit_json_completeness(&j, m, &f.r, f.best ? headroom : 0);
            dlm_json_obj_end(&j);
            st = dlm_json_finish(&j);
        } else {
            printf("%s on %s (%s memory, %s of it taken by the CUDA context and handles; %s)\n",
                   g->name, dlm_cli_get(&a, "memory") ? "the given memory" : gpu->full,
                   dlm_fmt_bytes(b1, sizeof b1, (double)total), dlm_fmt_bytes(b2, sizeof b2, (double)context),
                   gpu->source);
            printf("mode %s, dtype %s, %s profile%s%s\n", dlm_mode_name(cfg.mode),
                   dlm_dtype_name(cfg.dtype), dlm_profile_name(cfg.profile),
                   search_T ? ", batch " : (g->uses_T ? ", sequence " : ""),
                   search_T || g->uses_T ? (snprintf(b4, sizeof b4, "%lld", (long long)fixed), b4) : "");
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
                printf("  peak there: %s at %s\n", dlm_fmt_bytes(b1, sizeof b1, (double)f.r.peak_bytes),
                       f.r.peak_where);
                printf("  headroom:   %s of %s usable\n", dlm_fmt_bytes(b2, sizeof b2, (double)headroom),
                       dlm_fmt_bytes(b3, sizeof b3, (double)f.usable));
                printf("  binding term: %s, growing %s per unit of %s\n", dlm_term_name((dlm_term)bind),
                       dlm_fmt_bytes(b4, sizeof b4, (double)grow), var);
                printf("  peak law there: %s\n", law);
            }
            if (note[0]) printf("note: %s\n", note);
            if (!f.r.complete) {
                char ops[600], cmd[400];
                dlm_mem_unknown_list(m, &f.r, ops, sizeof ops);
                dlm_cli_probe_command(&a, &cfg, search_T ? fixed : (f.best ? f.best : first),
                                      search_T ? (f.best ? f.best : first) : fixed, g->uses_T, cmd,
                                      sizeof cmd);
                if (f.best)
                    printf("incomplete: fits only unless cuDNN's workspace exceeds %s: %d library "
                           "workspaces are not known at %s=%lld and were counted 0 B (%s); the "
                           "peak above is a lower bound and %lld an upper bound on the largest "
                           "%s\n",
                           dlm_fmt_bytes(b1, sizeof b1, (double)headroom), f.r.n_unknown, var,
                           (long long)f.best, ops, (long long)f.best, var);
                else
                    printf("incomplete: %d library workspaces are not known (%s): the peak is a "
                           "lower bound, so it does not fit either way\n", f.r.n_unknown, ops);
                printf("  to close it, on the target GPU: %s\n", cmd);
            }
            st = dlm_check_stream(stdout, "standard output");
        }
    }
    dlm_mem_model_free(m);
    dlm_graph_free(g);
    return st;
}
