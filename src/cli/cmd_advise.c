/* cmd_advise.c — `dlmem advise MODEL`: every memory-saving technique for a
 * workload, evaluated with the analytic memory model, ranked by the memory it
 * saves, priced (recomputation, accuracy risk, GPUs), with the largest batch
 * that then fits the budget and the cheapest combination that makes the
 * workload fit.  Table for people, CSV or JSON for programs.  It measures
 * nothing: see tools/torch_reference.py `techniques` for PyTorch's numbers. */
#include <stdlib.h>
#include <string.h>

#include "../advise/advise.h"
#include "../core/out.h"
#include "../models/models.h"
#include "commands.h"
#include "mem_opts.h"

static const dlm_cli_opt opts[] = {
    {"batch", 'b', "B", "batch size of the workload (default 32)"},
    {"seq", 't', "T", "sequence length (models with T; default 128 bert, 100 lstm)"},
    {"mode", 0, "MODE", "train (default: a whole step, loss sum(o.pow(2).mean()) over the outputs), forward or infer"},
    {"dtype", 0, "DTYPE", "fp32 (default), fp16, bf16 or mixed: how the workload runs now"},
    {"attention", 0, "KIND", "eager (default) or fused (SDPA/flash)"},
    {"optimizer", 0, "OPT", "adam (default), sgd, sgd-momentum or adam8bit"},
    {"loss", 0, "LOSS", "mse (default: sum(o.pow(2).mean())) or ce (cross-entropy over the "
                        "output's last dimension)"},
    {"profile", 0, "P", "pytorch (default: max_memory_allocated) or runtime (dlmem's runtime)"},
    {"gpu", 0, "NAME", "the budget's GPU (default rtx3050-4gb, the seed's; dlmem fit --help "
                       "lists them)"},
    {"memory", 'm', "SIZE", "the budget as a size with its unit instead (4GB, 4GiB, 16G; case-insensitive); with --gpu, that "
                            "GPU's architecture"},
    {"context", 0, "SIZE", "memory outside PyTorch's allocator (default: the GPU table's CUDA "
                           "context and handles)"},
    {"techniques", 0, "LIST", "only these (comma list; a+b combines); default all"},
    {"input", 0, "NAME=BYTES", "a measured workspace size for the runtime profile"},
    {"set", 0, "K=V,...", "change model sizes (e.g. hidden=512); see dlmem models"},
    {"workspaces", 0, "FILE", "library workspace rows from `dlmem probe` (repeatable)"},
    {"cudnn-version", 0, "V", "the cuDNN version the rows should be from (default: the newest)"},
    {"progress", 0, NULL, "report the search's progress on stderr"},
    {"seed", 0, NULL, "also check the seed report's \"FP16 reduces memory by 50%\" at this point"},
    {"format", 0, "FMT", "table (default), csv or json"},
};
#define N_OPTS ((int)(sizeof opts / sizeof opts[0]))

static const char *B(char *buf, size_t n, int64_t v) { return dlm_fmt_bytes(buf, n, (double)v); }

static void pct(char *buf, size_t n, double v) { snprintf(buf, n, "%.1f%%", 100 * v); }

static const char *batch_str(char *buf, size_t n, const dlm_advice *a)
{
    if (!a->applicable) snprintf(buf, n, "-");
    else if (a->max_batch <= 0) snprintf(buf, n, "none");
    else snprintf(buf, n, "%lld", (long long)a->max_batch);
    return buf;
}

/* ---- completeness (issue 10): a fit that holds only if the unknown library
 * workspaces are small says so; kept apart for the output rework ---- */

/* "fits" / "no" / "unless ws > 16.76 MiB" for a table cell. */
static const char *fits_cell(char *buf, size_t n, const dlm_advice *a, int64_t usable)
{
    char v[32];
    if (!a->fits) return "no";
    if (a->r.complete) return "yes";
    snprintf(buf, n, "unless ws > %s", B(v, sizeof v, usable - a->peak));
    return buf;
}

/* " (fits unless cuDNN's workspace exceeds X: N library workspaces not
 * known)" after a line that says something fits; "" when complete. */
static const char *unless(char *buf, size_t n, const dlm_advice *a, int64_t usable)
{
    char v[32];
    if (a->r.complete) return "";
    if (a->fits)
        snprintf(buf, n, " (only unless cuDNN's workspace exceeds %s: %d library workspaces are not "
                 "known and were counted 0 B)", B(v, sizeof v, usable - a->peak), a->r.n_unknown);
    else
        snprintf(buf, n, " (a lower bound: %d library workspaces are not known)", a->r.n_unknown);
    return buf;
}

static void json_completeness(dlm_json *j, const dlm_advice *a, int64_t usable)
{
    dlm_json_key(j, "complete");
    dlm_json_bool(j, a->r.complete);
    dlm_json_kint(j, "n_unknown", a->r.n_unknown);
    dlm_json_key(j, "fits_unless_workspace_exceeds_bytes");
    if (a->r.complete || !a->fits) dlm_json_null(j);
    else dlm_json_int(j, usable - a->peak);
}

static dlm_status add_row(dlm_table *t, int rank, const dlm_advice *a, int64_t usable)
{
    char r[16], pk[40], sv[32], sh[16], mb[24], g[16], rc[16], ft[48], pv[32];
    snprintf(r, sizeof r, "%d", rank);
    if (!a->applicable) {
        const char *cells[] = {r, a->name, a->family, "-", "-", "-", "-", "-", "-", "-", "-",
                               a->model_only ? "yes" : "", a->note};
        return dlm_table_add(t, cells);
    }
    snprintf(g, sizeof g, "%d", a->gpus);
    pct(sh, sizeof sh, a->share);
    pct(rc, sizeof rc, a->recompute);
    char what[640];
    snprintf(what, sizeof what, "%s%s%s", a->what, a->note[0] ? " — " : "", a->note);
    snprintf(pk, sizeof pk, "%s%s", a->r.complete ? "" : ">= ", B(pv, sizeof pv, a->peak));
    const char *cells[] = {r, a->name, a->family, pk, B(sv, sizeof sv, a->saved),
                           sh, fits_cell(ft, sizeof ft, a, usable), batch_str(mb, sizeof mb, a), g,
                           a->recompute > 0 ? rc : "-", dlm_risk_name(a->risk),
                           a->model_only ? "yes" : "", what};
    return dlm_table_add(t, cells);
}

static void describe(const dlm_advice_report *rep, char *buf, size_t n)
{
    const dlm_mem_config *c = &rep->w.cfg;
    char t[32] = "";
    if (rep->uses_T) snprintf(t, sizeof t, ", T=%lld", (long long)rep->w.seq);
    snprintf(buf, n, "%s: %s, %s%s%s%s%s, B=%lld%s, %s profile", rep->net, dlm_mode_name(c->mode),
             dlm_dtype_name(c->dtype), c->mode == DLM_MODE_TRAIN ? ", " : "",
             c->mode == DLM_MODE_TRAIN ? dlm_optimizer_name(c->optimizer) : "",
             rep->uses_T && rep->w.model[0] == 'b' ? ", attention " : "",
             rep->uses_T && rep->w.model[0] == 'b' ? dlm_attention_name(c->attention) : "",
             (long long)rep->w.batch, t, dlm_profile_name(c->profile));
}

/* checkpoint-chunks' trade-off over K. */
static dlm_status print_chunks(const dlm_advice_report *rep)
{
    static const char *hdr[] = {"K", "steps per chunk", "new peak", "saved", "fits", "max B", ""};
    printf("\ncheckpoint-chunks, the trade-off over K (every K recomputes the RNN's forward once; "
           "more chunks: less cuDNN reserve and workspace per call,\nmore states kept, shorter "
           "cuDNN calls; chosen: the fewest chunks that fit, else the lowest peak):\n");
    dlm_table *t;
    DLM_TRY(dlm_table_alloc(7, hdr, "rrrrlrl", &t));
    dlm_status st = DLM_OK;
    for (int i = 0; i < rep->n_chunk_rows && st == DLM_OK; i++) {
        const struct dlm_chunk_row *r = &rep->chunk_rows[i];
        char k[16], steps[24], pk[32], sv[32], mb[24];
        snprintf(k, sizeof k, "%d", r->chunks);
        snprintf(steps, sizeof steps, "%lld", (long long)r->steps);
        if (r->max_batch > 0) snprintf(mb, sizeof mb, "%lld", (long long)r->max_batch);
        else snprintf(mb, sizeof mb, "none");
        const char *mark = r->chunks == rep->chunks_chosen && r->chunks == rep->chunks_lowest
                               ? "chosen; lowest peak found"
                           : r->chunks == rep->chunks_chosen ? "chosen"
                           : r->chunks == rep->chunks_lowest ? "lowest peak found" : "";
        const char *cells[] = {k, steps, B(pk, sizeof pk, r->peak), B(sv, sizeof sv, r->saved),
                               r->fits ? "yes" : "no", mb, mark};
        st = dlm_table_add(t, cells);
    }
    if (st == DLM_OK) st = dlm_table_print(t, stdout, 2);
    dlm_table_free(t);
    return st;
}

/* How the budget's memory and context are known (set by dlm_cmd_advise). */
static char mem_echo[200], ctx_note[160];
static int ctx_measured, show_seed;

static dlm_status print_table(const dlm_advice_report *rep)
{
    static const char *hdr[] = {"#", "technique", "family", "new peak", "saved", "of peak", "fits",
                                "max B", "GPUs", "recompute", "risk", "model-only", "what, price"};
    char a[64], b2[64], c2[64], d[64], line[512], un[200];
    describe(rep, line, sizeof line);
    printf("%s\n", line);
    DLM_TRY(dlm_para(stdout, 0, "budget: %s — %s (%s) minus %s outside the allocator (CUDA "
                     "context and handles: %s) = %s usable",
                     rep->b.gpu[0] ? rep->b.gpu : "given size", B(a, sizeof a, rep->b.memory),
                     mem_echo, B(b2, sizeof b2, rep->b.context), ctx_note,
                     B(c2, sizeof c2, rep->usable)));
    const dlm_advice *base = &rep->base;
    if (base->fits)
        DLM_TRY(dlm_para(stdout, 0, "as given: peak %s%s at %s — fits%s, %s to spare; largest batch that fits: %lld",
               base->r.complete ? "" : ">= ", B(a, sizeof a, base->peak), base->r.peak_where,
               unless(un, sizeof un, base, rep->usable), B(b2, sizeof b2, rep->usable - base->peak),
               (long long)base->max_batch));
    else
        DLM_TRY(dlm_para(stdout, 0, "as given: peak %s%s at %s — does NOT fit (%s over)%s; largest batch that fits: %s",
               base->r.complete ? "" : ">= ", B(a, sizeof a, base->peak), base->r.peak_where,
               B(b2, sizeof b2, base->peak - rep->usable), unless(un, sizeof un, base, rep->usable),
               base->max_batch > 0 ? (snprintf(d, sizeof d, "%lld", (long long)base->max_batch), d)
                                   : "none"));
    if (rep->ws_note[0]) DLM_TRY(dlm_para(stdout, 0, "note: %s", rep->ws_note));
    if (rep->usable < rep->weight_bytes)
        printf("The weights alone (%s, %lld parameters in %s) exceed the %s usable.\n",
               B(a, sizeof a, rep->weight_bytes), (long long)rep->params,
               dlm_dtype_name(rep->w.cfg.dtype), B(b2, sizeof b2, rep->usable));
    printf("\n");
    DLM_TRY(dlm_para(stdout, 0, "Techniques, ranked by memory saved (one at a time; max B: the "
                     "largest batch that then fits, at the same T; recompute: extra forward "
                     "operations as a share of the forward's — a training step is about three "
                     "forwards):"));
    dlm_table *t;
    DLM_TRY(dlm_table_alloc(13, hdr, "rllrrrlrrrlll", &t));
    dlm_table_set_keys(t, 2); /* # and technique */
    dlm_status st = DLM_OK;
    for (int i = 0; i < rep->n_rows && st == DLM_OK; i++)
        st = add_row(t, i + 1, &rep->rows[i], rep->usable);
    if (st == DLM_OK) st = dlm_table_print(t, stdout, 2);
    dlm_table_free(t);
    if (st == DLM_OK && rep->n_chunk_rows) st = print_chunks(rep);
    if (st != DLM_OK) return st;
    if (base->fits) {
        printf("\n");
        DLM_TRY(dlm_para(stdout, 0, "The workload fits as given%s: no technique is needed (the max "
                         "B column shows what each buys).", base->r.complete ? "" : " unless cuDNN's "
                         "unknown workspaces are larger than the headroom"));
    } else if (rep->n_combos) {
        printf("\n");
        DLM_TRY(dlm_para(stdout, 0, "Combinations (%d evaluated, %d fit; cheapest = fewest GPUs, then lowest risk, then "
               "least recomputation):", rep->n_combos, rep->n_fitting));
        if (rep->best.applicable) {
            const dlm_advice *x = &rep->best;
            DLM_TRY(dlm_para(stdout, 2, "cheapest that fits: %s — peak %s (saves %s, %.1f%%), risk %s, recompute %.1f%%, "
                   "%d GPU%s, largest batch %lld%s", x->name, B(a, sizeof a, x->peak),
                   B(b2, sizeof b2, x->saved), 100 * x->share, dlm_risk_name(x->risk),
                   100 * x->recompute, x->gpus, x->gpus > 1 ? "s" : "", (long long)x->max_batch,
                   unless(un, sizeof un, x, rep->usable)));
            for (int i = 0; i < rep->n_alt; i++) {
                x = &rep->alt[i];
                DLM_TRY(dlm_para(stdout, 2, "also fits:          %s — peak %s, risk %s, recompute %.1f%%, %d GPU%s%s",
                       x->name, B(a, sizeof a, x->peak), dlm_risk_name(x->risk), 100 * x->recompute,
                       x->gpus, x->gpus > 1 ? "s" : "", unless(un, sizeof un, x, rep->usable)));
            }
        } else {
            printf("  none fits.\n");
        }
        if (rep->lowest.applicable)
            printf("  lowest single-GPU peak found: %s with %s%s%s\n", B(a, sizeof a, rep->lowest.peak),
                   rep->lowest.name, rep->lowest.fits ? "" : ", still over by ",
                   rep->lowest.fits ? "" : B(b2, sizeof b2, rep->lowest.peak - rep->usable));
    }
    if (rep->has_precision) {
        static const char *terms[] = {"weights + buffers", "gradients", "optimizer state",
                                      "saved activations", "transient + input", "workspace",
                                      "allocator rounding", "peak"};
        printf("\nPrecision at this point — what halves and what does not:\n");
        const char *ph[4] = {"at the peak", rep->prec_name[0], rep->prec_name[1], rep->prec_name[2]};
        DLM_TRY(dlm_table_alloc(4, ph, "lrrr", &t));
        for (int k = 0; k < 8 && st == DLM_OK; k++) {
            char v[3][32];
            for (int j = 0; j < 3; j++) {
                const dlm_mem_result *r = &rep->prec[j];
                int64_t x;
                switch (k) {
                case 0: x = r->by_term[DLM_TERM_WEIGHTS] + r->by_term[DLM_TERM_BUFFERS]; break;
                case 1: x = r->by_term[DLM_TERM_GRADS]; break;
                case 2: x = r->by_term[DLM_TERM_OPTIMIZER]; break;
                case 3: x = r->by_term[DLM_TERM_SAVED]; break;
                case 4: x = r->by_term[DLM_TERM_TRANSIENT] + r->by_term[DLM_TERM_INPUTS]; break;
                case 5: x = r->by_term[DLM_TERM_WORKSPACE]; break;
                case 6: x = r->by_term[DLM_TERM_ROUNDING]; break;
                default: x = r->peak_bytes; break;
                }
                B(v[j], sizeof v[j], x);
            }
            const char *cells[] = {terms[k], v[0], v[1], v[2]};
            st = dlm_table_add(t, cells);
        }
        if (st == DLM_OK) st = dlm_table_print(t, stdout, 2);
        dlm_table_free(t);
        if (st != DLM_OK) return st;
        printf("  (each column is the composition at its own peak, which may fall at another op)\n");
        if (show_seed)
            printf("The seed's \"FP16 reduces memory by 50%%\", at this point: fp16 inference saves %.1f%% "
               "(%+.1f points from 50%%), autocast training %.1f%% (%+.1f points).\n",
               100 * rep->fp16_infer_share, 100 * rep->fp16_infer_share - 50,
               100 * rep->mixed_train_share, 100 * rep->mixed_train_share - 50);
    }
    return dlm_check_stream(stdout, "standard output");
}

static void json_advice(dlm_json *j, const char *key, const dlm_advice *a, int64_t usable)
{
    if (key) dlm_json_key(j, key);
    dlm_json_obj_begin(j);
    dlm_json_kstr(j, "technique", a->name);
    dlm_json_kstr(j, "family", a->family);
    dlm_json_key(j, "applicable");
    dlm_json_bool(j, a->applicable);
    dlm_json_key(j, "model_only");
    dlm_json_bool(j, a->model_only);
    dlm_json_kstr(j, "what", a->what);
    dlm_json_kstr(j, "note", a->note);
    if (a->applicable) {
        dlm_json_kint(j, "peak_bytes", a->peak);
        dlm_json_kint(j, "saved_bytes", a->saved);
        dlm_json_knum(j, "saved_share", a->share);
        dlm_json_key(j, "fits");
        dlm_json_bool(j, a->fits);
        json_completeness(j, a, usable);
        dlm_json_kint(j, "max_batch", a->max_batch);
        dlm_json_kint(j, "gpus", a->gpus);
        dlm_json_kint(j, "gpu_batch", a->gpu_batch);
        dlm_json_knum(j, "recompute_share", a->recompute);
        if (a->rnn_chunks) dlm_json_kint(j, "rnn_chunks", a->rnn_chunks);
        dlm_json_kstr(j, "risk", dlm_risk_name(a->risk));
        dlm_json_kstr(j, "peak_where", a->r.peak_where);
        dlm_json_key(j, "breakdown");
        dlm_json_obj_begin(j);
        for (int k = 0; k < DLM_TERM_COUNT; k++) dlm_json_kint(j, dlm_term_name((dlm_term)k), a->r.by_term[k]);
        dlm_json_obj_end(j);
    }
    dlm_json_obj_end(j);
}

static dlm_status print_json(const dlm_advice_report *rep)
{
    dlm_json j;
    const dlm_mem_config *c = &rep->w.cfg;
    dlm_json_init(&j, stdout, "dlmem.advise/1");
    dlm_json_obj_begin(&j);
    dlm_json_kstr(&j, "model", rep->net);
    dlm_json_key(&j, "workload");
    dlm_json_obj_begin(&j);
    dlm_json_kstr(&j, "mode", dlm_mode_name(c->mode));
    dlm_json_kstr(&j, "dtype", dlm_dtype_name(c->dtype));
    dlm_json_kstr(&j, "optimizer", dlm_optimizer_name(c->optimizer));
    dlm_json_kstr(&j, "attention", dlm_attention_name(c->attention));
    dlm_json_kstr(&j, "profile", dlm_profile_name(c->profile));
    dlm_json_kint(&j, "batch", rep->w.batch);
    dlm_json_kint(&j, "seq", rep->uses_T ? rep->w.seq : 0);
    dlm_json_obj_end(&j);
    dlm_json_key(&j, "budget");
    dlm_json_obj_begin(&j);
    dlm_json_kstr(&j, "gpu", rep->b.gpu);
    dlm_json_kint(&j, "memory_bytes", rep->b.memory);
    dlm_json_kstr(&j, "memory_source", mem_echo);
    dlm_json_kint(&j, "context_bytes", rep->b.context);
    dlm_json_kbool(&j, "context_measured", ctx_measured);
    dlm_json_kstr(&j, "context_source", ctx_note);
    dlm_json_kint(&j, "usable_bytes", rep->usable);
    dlm_json_obj_end(&j);
    dlm_json_kint(&j, "parameters", rep->params);
    dlm_json_kint(&j, "weight_bytes", rep->weight_bytes);
    dlm_json_key(&j, "weights_exceed_budget");
    dlm_json_bool(&j, rep->usable < rep->weight_bytes);
    json_advice(&j, "baseline", &rep->base, rep->usable);
    dlm_json_kstr(&j, "workspace_note", rep->ws_note);
    dlm_json_key(&j, "techniques");
    dlm_json_arr_begin(&j);
    for (int i = 0; i < rep->n_rows; i++) json_advice(&j, NULL, &rep->rows[i], rep->usable);
    dlm_json_arr_end(&j);
    if (rep->n_chunk_rows) {
        dlm_json_key(&j, "checkpoint_chunks");
        dlm_json_obj_begin(&j);
        dlm_json_kint(&j, "chosen", rep->chunks_chosen);
        dlm_json_kint(&j, "lowest_peak", rep->chunks_lowest);
        dlm_json_key(&j, "tradeoff");
        dlm_json_arr_begin(&j);
        for (int i = 0; i < rep->n_chunk_rows; i++) {
            const struct dlm_chunk_row *r = &rep->chunk_rows[i];
            dlm_json_obj_begin(&j);
            dlm_json_kint(&j, "chunks", r->chunks);
            dlm_json_kint(&j, "steps_per_chunk", r->steps);
            dlm_json_kint(&j, "peak_bytes", r->peak);
            dlm_json_kint(&j, "saved_bytes", r->saved);
            dlm_json_key(&j, "fits");
            dlm_json_bool(&j, r->fits);
            dlm_json_kint(&j, "max_batch", r->max_batch);
            dlm_json_obj_end(&j);
        }
        dlm_json_arr_end(&j);
        dlm_json_obj_end(&j);
    }
    if (rep->n_combos) {
        dlm_json_kint(&j, "combinations_evaluated", rep->n_combos);
        dlm_json_kint(&j, "combinations_fitting", rep->n_fitting);
        if (rep->best.applicable) json_advice(&j, "cheapest_fitting", &rep->best, rep->usable);
        else {
            dlm_json_key(&j, "cheapest_fitting");
            dlm_json_null(&j);
        }
        dlm_json_key(&j, "also_fitting");
        dlm_json_arr_begin(&j);
        for (int i = 0; i < rep->n_alt; i++) json_advice(&j, NULL, &rep->alt[i], rep->usable);
        dlm_json_arr_end(&j);
        if (rep->lowest.applicable) json_advice(&j, "lowest_single_gpu", &rep->lowest, rep->usable);
    }
    if (rep->has_precision) {
        dlm_json_key(&j, "precision");
        dlm_json_obj_begin(&j);
        for (int k = 0; k < 3; k++) {
            dlm_json_key(&j, rep->prec_name[k]);
            dlm_json_obj_begin(&j);
            dlm_json_kint(&j, "peak_bytes", rep->prec[k].peak_bytes);
            for (int t = 0; t < DLM_TERM_COUNT; t++)
                dlm_json_kint(&j, dlm_term_name((dlm_term)t), rep->prec[k].by_term[t]);
            dlm_json_obj_end(&j);
        }
        dlm_json_knum(&j, "fp16_inference_saved_share", rep->fp16_infer_share);
        dlm_json_knum(&j, "mixed_training_saved_share", rep->mixed_train_share);
        if (show_seed) dlm_json_knum(&j, "seed_claimed_share", 0.5);
        dlm_json_obj_end(&j);
    }
    dlm_json_obj_end(&j);
    return dlm_json_finish(&j);
}

static dlm_status print_csv(const dlm_advice_report *rep)
{
    const dlm_mem_config *c = &rep->w.cfg;
    fputs("model,mode,dtype,optimizer,attention,batch,seq,usable_bytes,technique,family,applicable,"
          "model_only,peak_bytes,saved_bytes,saved_share,fits,max_batch,gpus,gpu_batch,"
          "recompute_share,risk,what,note\n", stdout);
    for (int i = -1; i < rep->n_rows + 1; i++) {
        const dlm_advice *a = i < 0 ? &rep->base : i < rep->n_rows ? &rep->rows[i] : &rep->best;
        if (i == rep->n_rows && !a->applicable) break;
        printf("%s,%s,%s,%s,%s,%lld,%lld,%lld,", rep->net, dlm_mode_name(c->mode),
               dlm_dtype_name(c->dtype), dlm_optimizer_name(c->optimizer),
               dlm_attention_name(c->attention), (long long)rep->w.batch,
               (long long)(rep->uses_T ? rep->w.seq : 0), (long long)rep->usable);
        dlm_csv_field(stdout, i == rep->n_rows ? "cheapest-fitting" : a->name);
        printf(",%s,%d,%d,", i == rep->n_rows ? "combination" : a->family, a->applicable, a->model_only);
        if (a->applicable)
            printf("%lld,%lld,%.6f,%d,%lld,%d,%lld,%.6f,%s,", (long long)a->peak, (long long)a->saved,
                   a->share, a->fits, (long long)a->max_batch, a->gpus, (long long)a->gpu_batch,
                   a->recompute, dlm_risk_name(a->risk));
        else
            printf(",,,,,,,,,");
        char what[480];
        snprintf(what, sizeof what, "%s%s%s", i == rep->n_rows ? a->name : a->what,
                 i == rep->n_rows ? ": " : "", i == rep->n_rows ? a->what : "");
        dlm_csv_field(stdout, what);
        putchar(',');
        dlm_csv_field(stdout, a->note);
        putchar('\n');
    }
    return dlm_check_stream(stdout, "standard output");
}

dlm_status dlm_cmd_advise(int argc, char **argv)
{
    dlm_cli_args a;
    dlm_format fmt;
    DLM_TRY(dlm_cli_parse("advise", argc, argv, opts, N_OPTS, &a));
    if (a.help) {
        dlm_cli_usage(stdout, "advise", "MODEL [workload options] [--gpu NAME | --memory SIZE]",
                      "Every memory-saving technique for the workload, evaluated with the analytic\n"
                      "memory model: new peak, bytes saved, the largest batch that then fits the\n"
                      "budget, the price (recomputation, accuracy risk, GPUs), and the cheapest\n"
                      "combination that makes the workload fit (the techniques are listed below\n"
                      "the options).  The training step's loss is sum(o.pow(2).mean()) over the\n"
                      "network's outputs, as tools/torch_reference.py runs it.",
                      opts, N_OPTS);
        printf("\ntechniques (--techniques a,b; a+b combines):\n");
        dlm_cli_wrap(stdout, dlm_advise_names(), 2);
        printf("  (8-bit Adam is model-only: PyTorch did not run it for the reference data; ddp\n"
               "  and zero1/2/3 follow rules read from PyTorch 2.11's source, their multi-GPU\n"
               "  points not measured on 2 GPUs)\n");
        return DLM_OK;
    }
    if (a.n_pos != 1)
        return dlm_error(DLM_EINVAL, "dlmem advise: expected one MODEL (see dlmem models), got %d "
                         "arguments", a.n_pos);
    DLM_TRY(dlm_cli_format(&a, &fmt));
    const char *only = dlm_cli_get(&a, "techniques");
    dlm_workload w;
    dlm_budget bud;
    memset(&w, 0, sizeof w);
    memset(&bud, 0, sizeof bud);
    const dlm_gpu *gpu;
    int given_gpu = dlm_cli_get(&a, "gpu") != NULL, given_mem = dlm_cli_get(&a, "memory") != NULL;
    DLM_TRY(dlm_cli_mem_single(&a, "advise"));
    DLM_TRY(dlm_cli_mem_config(&a, &w.cfg, &gpu));
    if (!dlm_cli_get(&a, "mode")) w.cfg.mode = DLM_MODE_TRAIN;
    show_seed = dlm_cli_get(&a, "seed") != NULL;
    if (!given_gpu && !given_mem) { /* the seed's card */
        DLM_TRY(dlm_gpu_find("rtx3050-4gb", &gpu));
        w.cfg.sm = gpu->sm;
    }
    bud.memory = gpu->memory;
    bud.context = gpu->context;
    if (given_gpu || !given_mem) snprintf(bud.gpu, sizeof bud.gpu, "%s", gpu->name);
    if (given_mem)
        DLM_TRY(dlm_cli_mem_size("--memory", dlm_cli_get(&a, "memory"), 0, &bud.memory, mem_echo,
                                 sizeof mem_echo));
    else
        snprintf(mem_echo, sizeof mem_echo, "%s", gpu->source);
    dlm_gpu_context_note(gpu, ctx_note, sizeof ctx_note);
    ctx_measured = gpu->context_measured;
    if (dlm_cli_get(&a, "context")) {
        DLM_TRY(dlm_cli_mem_size("--context", dlm_cli_get(&a, "context"), 1, &bud.context, NULL, 0));
        snprintf(ctx_note, sizeof ctx_note, "given with --context");
        ctx_measured = 1;
    }
    if (bud.memory <= bud.context)
        return dlm_error(DLM_ERANGE, "--memory: %lld bytes do not exceed the context (%lld bytes)",
                         (long long)bud.memory, (long long)bud.context);
    /* the model's name or path and --set are kept whole or refused, never cut */
    const char *set = dlm_cli_get(&a, "set");
    if (strlen(a.pos[0]) >= sizeof w.model)
        return dlm_error(DLM_EINVAL, "dlmem advise: MODEL is %zu characters (at most %zu)",
                         strlen(a.pos[0]), sizeof w.model - 1);
    if (set && strlen(set) >= sizeof w.settings)
        return dlm_error(DLM_EINVAL, "--set: %zu characters (at most %zu)", strlen(set),
                         sizeof w.settings - 1);
    snprintf(w.model, sizeof w.model, "%s", a.pos[0]);
    if (set) snprintf(w.settings, sizeof w.settings, "%s", set);
    dlm_graph *g;
    DLM_TRY(dlm_model_build_named(w.model, w.settings[0] ? w.settings : NULL, &g));
    int uses_T = g->uses_T;
    int64_t max_T = g->max_T > 0 ? g->max_T : 100000000;
    dlm_status st = dlm_cli_mem_check(&a, g);
    if (st == DLM_OK) st = dlm_cli_loss_check(&a, w.cfg.mode == DLM_MODE_TRAIN);
    w.batch = 32;
    if (st == DLM_OK && dlm_cli_get(&a, "batch")) st = dlm_cli_int("--batch", dlm_cli_get(&a, "batch"), 1, 1000000000, &w.batch);
    if (st == DLM_OK && dlm_cli_get(&a, "seq") && !uses_T)
        st = dlm_error(DLM_EINVAL, "--seq: model %s has no sequence length", g->name);
    w.seq = uses_T ? (g->max_T > 0 ? 128 : 100) : 0;
    if (st == DLM_OK && dlm_cli_get(&a, "seq")) st = dlm_cli_int("--seq", dlm_cli_get(&a, "seq"), 1, max_T, &w.seq);
    dlm_graph_free(g);
    DLM_TRY(st);
    dlm_advice_report *rep;
    DLM_TRY(dlm_advise(&w, &bud, only, dlm_cli_get(&a, "progress") != NULL, &rep));
    if (fmt == DLM_FMT_JSON) st = print_json(rep);
    else if (fmt == DLM_FMT_CSV) st = print_csv(rep);
    else st = print_table(rep);
    dlm_advice_report_free(rep);
    return st;
}
