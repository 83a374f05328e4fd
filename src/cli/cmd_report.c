/* cmd_report.c — `dlmem report [--out DIR] [--measure]`: the whole story in
 * one Markdown file (DIR/report.md, default report/) with its plots: the
 * parameter counts of the seed's three networks against PyTorch, the analytic
 * memory of the seed's sweeps in each mode with formulas, the measured data
 * committed under data/ reconciled with the model (fits, findings, plots), and
 * the seed audit.  A short summary goes to the terminal.  No GPU needed.
 * Needs GSL (the fits): without it, one line says so (exit 2). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <dirent.h>

#include "../advise/advise.h"
#include "../analytic/gpus.h"
#include "../analytic/memfit.h"
#include "../analytic/params.h"
#include "../analytic/torchref.h"
#include "../core/out.h"
#include "../core/paths.h"
#include "../measure/measure.h"
#include "../models/models.h"
#include "cli.h"
#include "cmd_audit.h"
#include "commands.h"
#include "config.h"

#ifdef HAVE_GSL
#include "../reconcile/audit.h"
#include "../reconcile/predict.h"
#include "../reconcile/reconcile.h"
#endif

#ifndef HAVE_GSL
dlm_status dlm_cmd_report(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return dlm_error(DLM_EUNSUPPORTED, "dlmem report needs GSL, and this dlmem was built without "
                     "it (install libgsl-dev, then ./configure && make)");
}
#else

static const dlm_cli_opt opts[] = {
    {"out", 'o', "DIR", "where report.md and its plots go (default report)"},
    {"measure", 0, NULL, "also measure live on this machine's GPU (needs dlmem's GPU runtime)"},
    {"data", 0, "CSV", "with MODEL...: your measurements to reconcile (repeatable)"},
    {"gpu", 0, "NAME", "with MODEL...: the GPU to predict for and fit (default h200; dlmem fit "
                       "--gpu list)"},
    {"batch", 'b', "LIST", "with MODEL...: the batch sizes of the memory tables (default "
                           "1,2,4,8,16,32,64)"},
    {"seq", 't', "T", "with MODEL...: the sequence length for models with one (default 128 for "
                      "transformers, 100 for RNNs)"},
    {"format", 0, "FMT", "the summary on stdout: table (default), csv or json (dlmem.report/1: "
                         "the file written and its counts)"},
};
#define N_OPTS ((int)(sizeof opts / sizeof opts[0]))


#define MIB (1024.0 * 1024.0)

static const char *seed_models[] = {"resnet18", "lstm", "bert"};

/* The seed's sweeps (section 6), with B = 1 where the report does not say. */
typedef struct sweep {
    const char *model;
    dlm_xvar xv;
    int64_t fixed;
    int n;
    double x[8];
} sweep;

static const sweep sweeps[] = {
    {"resnet18", DLM_X_BATCH, 0, 4, {1, 4, 8, 16}},
    {"lstm", DLM_X_SEQ, 1, 4, {50, 100, 200, 300}},
    {"bert", DLM_X_SEQ, 1, 5, {8, 32, 64, 128, 256}},
};

typedef struct summary {
    int models, params_match;
    int series, fitted, predicted, findings;
    int audit_items, audit_wrong;
    int figures, rendered;
    double mean_err_sum;
    int mean_err_n;
} summary;

/* A data file as the report shows it: from "data/" on, so that the report is the
 * same wherever the tree lies. */
static const char *shown(const char *path)
{
    const char *d = strstr(path, "/data/");
    return d ? d + 1 : path;
}

/* Markdown-safe cell (pipes escaped). */
static void md(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

static dlm_status section_params(FILE *f, summary *sm)
{
    char ref[1024];
    if (!dlm_data_path("reference/pytorch_params.csv", ref, sizeof ref))
        return dlm_error(DLM_EIO, "%s: PyTorch reference not found (set DLMEM_DATA)", ref);
    fprintf(f, "## 1. Parameters: dlmem's formulas against PyTorch\n\n"
               "Every parameter and buffer tensor dlmem derives from its one description of "
               "each network, compared one to one, in order, with what PyTorch lists "
               "(`%s`). `dlmem params MODEL` shows each layer's formula.\n\n"
               "| model | PyTorch code | dlmem parameters | PyTorch parameters | buffers (dlmem / "
               "PyTorch) | tensors compared | mismatches | fp32 weights |\n"
               "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n", shown(ref));
    for (int m = 0; m < 3; m++) {
        dlm_graph *g = NULL;
        dlm_torch_ref *r = NULL;
        dlm_ref_row *rows = NULL;
        int n = 0, mism = 0;
        const dlm_model_info *info;
        dlm_status st = dlm_model_find(seed_models[m], &info);
        if (st == DLM_OK) st = dlm_model_build_named(seed_models[m], NULL, &g);
        if (st == DLM_OK) st = dlm_torchref_load(ref, seed_models[m], &r);
        if (st == DLM_OK) st = dlm_torchref_compare(g, r, &rows, &n, &mism);
        if (st == DLM_OK) {
            int64_t tp = 0, tb = 0;
            for (int i = 0; i < r->n; i++) {
                if (r->t[i].is_buffer) tb += r->t[i].numel;
                else tp += r->t[i].numel;
            }
            char a[32], b[32], c[32], d[32], e[32];
            fprintf(f, "| %s | `", info->name);
            md(f, info->pytorch);
            fprintf(f, "` | %s | %s | %s / %s | %d | %d | %s |\n",
                    dlm_fmt_int(a, sizeof a, dlm_graph_param_count(g)),
                    dlm_fmt_int(b, sizeof b, tp), dlm_fmt_int(c, sizeof c, dlm_graph_buffer_count(g)),
                    dlm_fmt_int(d, sizeof d, tb), n, mism,
                    dlm_fmt_bytes(e, sizeof e, (double)dlm_params_bytes(g, 4)));
            sm->models++;
            if (mism == 0 && tp == dlm_graph_param_count(g)) sm->params_match++;
        }
        free(rows);
        dlm_torchref_free(r);
        dlm_graph_free(g);
        if (st != DLM_OK) return st;
    }
    fprintf(f, "\nPyTorch versions: as recorded in the reference file. The seed report's own "
               "Table 1 is checked in section 4.\n\n");
    return DLM_OK;
}

static dlm_status section_analytic(FILE *f)
{
    static const char *modes[] = {"infer", "forward", "train"};
    fprintf(f, "## 2. Analytic memory of the seed's sweeps\n\n"
               "dlmem's prediction of `torch.cuda.max_memory_allocated()` (profile `pytorch`, "
               "fp32, Adam for training, eager attention, the seed's RTX 3050: sm 86) at the "
               "seed's points, in MiB. B = 1 where the seed does not state its batch. "
               "`infer` is a forward pass under `torch.no_grad()`, `forward` one with autograd "
               "recording, `train` a whole step. The formula is the peak's law in bytes around "
               "the middle of the sweep (B batch, T sequence length), from `dlmem memory`'s "
               "engine.\n\n");
    for (size_t w = 0; w < sizeof sweeps / sizeof sweeps[0]; w++) {
        const sweep *sw = &sweeps[w];
        fprintf(f, "**%s**, %s varies%s:\n\n| mode |", sw->model, dlm_xvar_letter(sw->xv),
                sw->xv == DLM_X_SEQ ? " (B = 1)" : "");
        for (int i = 0; i < sw->n; i++) fprintf(f, " %s=%g |", dlm_xvar_letter(sw->xv), sw->x[i]);
        fprintf(f, " peak formula (bytes) |\n| --- |");
        for (int i = 0; i < sw->n; i++) fprintf(f, " ---: |");
        fprintf(f, " --- |\n");
        for (int m = 0; m < 3; m++) {
            dlm_series s;
            memset(&s, 0, sizeof s);
            snprintf(s.model, sizeof s.model, "%s", sw->model);
            snprintf(s.mode, sizeof s.mode, "%s", modes[m]);
            snprintf(s.dtype, sizeof s.dtype, "fp32");
            snprintf(s.variant, sizeof s.variant, "base");
            snprintf(s.checkpoint, sizeof s.checkpoint, "none");
            snprintf(s.autocast, sizeof s.autocast, "none");
            snprintf(s.profile, sizeof s.profile, "pytorch");
            if (!strcmp(sw->model, "bert")) snprintf(s.attention, sizeof s.attention, "eager");
            if (m == 2) snprintf(s.optimizer, sizeof s.optimizer, "adam");
            s.xvar = sw->xv;
            s.fixed = sw->fixed;
            s.n = sw->n;
            s.x = (double *)sw->x;
            dlm_prediction p;
            DLM_TRY(dlm_predict_series(&s, 86, &p));
            fprintf(f, "| %s |", modes[m]);
            for (int i = 0; i < sw->n; i++) {
                if (p.have) fprintf(f, " %.2f |", p.peak[i] / MIB);
                else fprintf(f, " - |");
            }
            fprintf(f, " %s |\n", p.have ? p.formula : p.why);
            dlm_prediction_free(&p);
        }
        fprintf(f, "\n");
    }
    return DLM_OK;
}

static void md_series_rows(FILE *f, const dlm_recon *r, const char *model, summary *sm);

/* The series table, one table per model (series keep their global numbers,
 * which the findings use). */
static void md_series_table(FILE *f, const dlm_recon *r, summary *sm)
{
    for (int first = 0; first < r->set.n; first++) {
        int seen = 0;
        for (int k = 0; k < first && !seen; k++) seen = !strcmp(r->set.s[k].model, r->set.s[first].model);
        if (seen) continue;
        fprintf(f, "**%s**\n\n", r->set.s[first].model);
        md_series_rows(f, r, r->set.s[first].model, sm);
        fprintf(f, "\n");
    }
    fprintf(f, "Degree rule: %s. Slopes are taken at the middle of the range; 95%% intervals "
               "use Student's t; chi²/dof measures the residuals against the data's resolution "
               "(512 B for PyTorch's allocator, 1 B for dlmem's runtime): far above 1 means the "
               "smooth law does not reproduce the data to the byte.\n\n", dlm_fit_rule());
}

static void md_series_rows(FILE *f, const dlm_recon *r, const char *model, summary *sm)
{
    fprintf(f, "| # | series | points | fit | chi²/dof, R² | power law k (95%%) | slope MiB/unit "
               "(95%%) | formula slope | x² coefficient MiB (95%%) | formula x² | at 0 MiB (95%%) "
               "| formula at 0 | mean abs. error | findings |\n| ---: | --- | ---: | --- | ---: | "
               "---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for (int i = 0; i < r->set.n; i++) {
        const dlm_series *s = &r->set.s[i];
        if (strcmp(s->model, model)) continue;
        const dlm_fitset *fs = &r->fits[i];
        const dlm_compare *c = &r->cmps[i];
        char label[256];
        dlm_series_label(s, label, sizeof label);
        sm->series++;
        fprintf(f, "| %d | ", i + 1);
        md(f, label);
        fprintf(f, " | %d%s | %s |", fs->n_distinct, s->n_failed ? " (+oom)" : "",
                !fs->fitted ? "too short, not fitted" : fs->degree == 2 ? "quadratic" : "linear");
        if (fs->fitted) {
            sm->fitted++;
            const dlm_polyfit *b = dlm_fitset_best(fs);
            fprintf(f, " %.3g, %.5f |", b->chisq_dof, b->r2);
            if (fs->have_pow) fprintf(f, " %.3f ± %.2g |", fs->pow.k, fs->pow.t95 * fs->pow.k_se);
            else fprintf(f, " - |");
            double xm = 0.5 * (r->data[i].x[0] + r->data[i].x[r->data[i].n - 1]);
            double slope = b->c[1] + 2 * b->c[2] * xm;
            double se = sqrt(b->cov[1][1] + 4 * xm * b->cov[1][2] + 4 * xm * xm * b->cov[2][2]);
            fprintf(f, " %.4g ± %.2g |", slope / MIB, b->t95 * se / MIB);
        } else {
            fprintf(f, " - | - | - |");
        }
        fprintf(f, c->have ? " %.4g |" : " - |", c->slope_pred / MIB);
        if (fs->fitted && fs->have_quad)
            fprintf(f, " %.3g ± %.2g |", fs->quad.c[2] / MIB, fs->quad.t95 * fs->quad.se[2] / MIB);
        else
            fprintf(f, " - |");
        fprintf(f, c->have ? " %.3g |" : " - |", c->curv_pred / MIB);
        if (fs->fitted) {
            const dlm_polyfit *b = dlm_fitset_best(fs);
            fprintf(f, " %.1f ± %.2g |", b->c[0] / MIB, b->t95 * b->se[0] / MIB);
        } else {
            fprintf(f, " - |");
        }
        fprintf(f, c->have ? " %.1f |" : " - |", c->icpt_pred / MIB);
        if (c->have) {
            sm->predicted++;
            sm->mean_err_sum += c->mean_abs_rel;
            sm->mean_err_n++;
            fprintf(f, " %.1f%% |", 100 * c->mean_abs_rel);
        } else {
            fprintf(f, " %s |", r->preds[i].have ? "-" : "no prediction");
        }
        int nf;
        const dlm_finding *fd = dlm_recon_findings_of(r, i, &nf);
        for (int k = 0; k < nf; k++) fprintf(f, "%s%s", k ? ", " : " ", dlm_finding_name(fd[k].kind));
        fprintf(f, "%s |\n", nf ? "" : " none");
    }
}

static void md_findings(FILE *f, const dlm_recon *r, summary *sm)
{
    if (r->findings.n == 0) {
        fprintf(f, "No deviation found.\n\n");
        return;
    }
    fprintf(f, "Findings:\n\n");
    for (int k = 0; k < r->findings.n; k++) {
        const dlm_finding *fd = &r->findings.f[k];
        fprintf(f, "- **#%d %s**: ", fd->series + 1, dlm_finding_name(fd->kind));
        md(f, fd->text);
        fprintf(f, ".\n");
        sm->findings++;
    }
    for (int i = 0; i < r->set.n; i++)
        if (!r->preds[i].have && r->preds[i].why[0])
            fprintf(f, "- #%d has no prediction: %s.\n", i + 1, r->preds[i].why);
    fprintf(f, "\n");
}

static dlm_status md_plots(FILE *f, const dlm_recon *r, const char *dir, summary *sm)
{
    char **stems, **titles;
    int n, rendered;
    DLM_TRY(dlm_recon_plots(r, dir, 1, &stems, &titles, &n, &rendered));
    sm->figures += n;
    sm->rendered = rendered;
    for (int k = 0; k < n; k++) {
        if (rendered) fprintf(f, "![%s](%s.png)\n\n", titles[k], stems[k]);
        else fprintf(f, "- `%s.gp`: %s (not rendered: gnuplot is not installed)\n", stems[k],
                     titles[k]);
        free(stems[k]);
        free(titles[k]);
    }
    free(stems);
    free(titles);
    if (!rendered && n) fprintf(f, "\n");
    return DLM_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The measured CSVs under data/: the PyTorch reference and each .csv file in
 * data/measured/; then the `extra` files (live measurements). */
static dlm_status measured_files(const char *const *extra, int n_extra, char ***out, int *n)
{
    char **v = calloc(65 + (size_t)n_extra, sizeof *v);
    int k = 0;
    *out = NULL;
    *n = 0;
    if (!v) return dlm_error(DLM_ENOMEM, "out of memory");
    char buf[1024];
    if (dlm_data_path("reference/pytorch_memory.csv", buf, sizeof buf)) v[k++] = strdup(buf);
    char dir[1024];
    if (dlm_data_path("measured", dir, sizeof dir)) {
        DIR *d = opendir(dir);
        struct dirent *e;
        int first = k;
        while (d && (e = readdir(d)) && k < 64) {
            size_t L = strlen(e->d_name);
            if (L > 4 && !strcmp(e->d_name + L - 4, ".csv")) {
                if (snprintf(buf, sizeof buf, "%s/%.200s", dir, e->d_name) >= (int)sizeof buf)
                    continue;
                v[k++] = strdup(buf);
            }
        }
        if (d) closedir(d);
        qsort(v + first, (size_t)(k - first), sizeof *v, cmp_str);
    }
    for (int i = 0; i < n_extra; i++) v[k++] = strdup(extra[i]);
    for (int i = 0; i < k; i++)
        if (!v[i]) return dlm_error(DLM_ENOMEM, "out of memory");
    *out = v;
    *n = k;
    return DLM_OK;
}

static dlm_status section_measured(FILE *f, const char *dir, const char *const *live, int n_live,
                                   summary *sm)
{
    char **files = NULL;
    int n = 0;
    DLM_TRY(measured_files(live, n_live, &files, &n));
    fprintf(f, "## 3. Measured memory against the model\n\n");
    dlm_status st = DLM_OK;
    if (n == 0) {
        fprintf(f, "No measured data under data/ (data/reference/pytorch_memory.csv, "
                   "data/measured/*.csv).\n\n");
    } else {
        fprintf(f, "Sources (each row carries its GPU, driver and library versions):\n\n");
        for (int i = 0; i < n; i++) fprintf(f, "- `%s`\n", shown(files[i]));
        fprintf(f, "\nEach series is one configuration with B or T varying; it is fitted "
                   "(linear and quadratic least squares, power law) and compared with dlmem's "
                   "prediction for the same points (profile `pytorch` for PyTorch's data, "
                   "`runtime` for dlmem's own).\n\n");
        dlm_recon *r;
        st = dlm_recon_files((const char *const *)files, n, 0, &r);
        if (st == DLM_OK) {
            md_series_table(f, r, sm);
            md_findings(f, r, sm);
            st = md_plots(f, r, dir, sm);
            dlm_recon_free(r);
        }
    }
    for (int i = 0; i < n; i++) free(files[i]);
    free(files);
    return st;
}

static dlm_status section_audit(FILE *f, const char *dir, summary *sm)
{
    char paths[5][1024];
    const char *files[5];
    DLM_TRY(dlm_seed_files(paths));
    for (int i = 0; i < 5; i++) files[i] = paths[i];
    dlm_audit *a;
    DLM_TRY(dlm_audit_run(files, 5, &a));
    fprintf(f, "## 4. The seed report audited\n\n"
               "`dlmem audit` on the seed's tables as transcribed under data/seed/ (%s). "
               "Tables 3 and 4 do not state the batch size: predictions there use B = 1, the "
               "smallest, so every predicted growth is a lower bound.\n\n"
               "| table | subject | the seed says | verdict | what dlmem finds |\n"
               "| --- | --- | --- | --- | --- |\n", a->setup);
    for (int i = 0; i < a->n_items; i++) {
        const dlm_audit_item *it = &a->items[i];
        fprintf(f, "| %s | ", it->table);
        md(f, it->subject);
        fprintf(f, " | ");
        md(f, it->claim);
        fprintf(f, " | **%s** | ", dlm_verdict_name(it->verdict));
        md(f, it->text);
        fprintf(f, " |\n");
        sm->audit_items++;
        if (it->verdict == DLM_VERDICT_WRONG) sm->audit_wrong++;
    }
    fprintf(f, "\n");
    /* the seed's tables plotted against the model */
    dlm_recon *r;
    dlm_series_set set = a->series;
    memset(&a->series, 0, sizeof a->series);
    for (int i = 0; i < set.n; i++) {
        snprintf(set.s[i].file, sizeof set.s[i].file, "seed");
    }
    /* the audit's per-series arrays refer to the moved set: free them now */
    for (int i = 0; i < set.n; i++) {
        dlm_fitdata_free(&a->data[i]);
        dlm_prediction_free(&a->preds[i]);
    }
    dlm_audit_free(a);
    dlm_status st = dlm_recon_set(&set, 86, &r);
    if (st == DLM_OK) {
        fprintf(f, "The seed's Tables 2-4 against dlmem's prediction (inference, B = 1 where "
                   "unstated):\n\n");
        st = md_plots(f, r, dir, sm);
        dlm_recon_free(r);
    }
    return st;
}

/* `--measure`: the seed's grids measured by dlmem's own GPU runtime (fp32,
 * inference, the protocol of `dlmem measure`) into DIR/live-<model>.csv.  The
 * sweeps resume: after an interruption, a second run keeps what was measured
 * and measures the rest.  The files join the committed data in section 3. */
static const struct { const char *model, *batch, *seq; } live_grid[] = {
    {"resnet18", "1..128", NULL},
    {"lstm", "1,32", "50,100,200,300,500,1000"},
    {"bert", "1,8", "8..512"},
};
#define N_LIVE ((int)(sizeof live_grid / sizeof live_grid[0]))

static dlm_status live_measure(const char *dir, char paths[][1100])
{
    for (int i = 0; i < N_LIVE; i++) {
        dlm_measure_config c;
        dlm_graph *g = NULL;
        int64_t *batch = NULL, *seq = NULL, zero = 0;
        memset(&c, 0, sizeof c);
        snprintf(paths[i], 1100, "%s/live-%s.csv", dir, live_grid[i].model);
        dlm_status st = dlm_model_build_named(live_grid[i].model, NULL, &g);
        if (st == DLM_OK) st = dlm_cli_list("--batch", live_grid[i].batch, 1, 1000000, &batch,
                                            &c.n_batch);
        if (st == DLM_OK && live_grid[i].seq)
            st = dlm_cli_list("--seq", live_grid[i].seq, 1, 1000000, &seq, &c.n_seq);
        if (st == DLM_OK) {
            c.g = g;
            c.dtype = DLM_RT_FP32;
            c.batch = batch;
            c.seq = seq ? seq : &zero;
            if (!seq) c.n_seq = 1;
            c.repeat = 10;
            c.output = paths[i];
            c.resume = 1;
            c.conv_ws_limit = DLM_RT_CONV_WS_AUTO;
            c.conv_search = 1;
            c.layout = DLM_RT_LAYOUT_AUTO;
            c.format = DLM_FMT_TABLE;
            c.quiet = 1;
            fprintf(stderr, "dlmem report: measuring %s on this GPU -> %s\n", g->name, paths[i]);
            st = dlm_measure_run(&c);
        }
        free(batch);
        free(seq);
        dlm_graph_free(g);
        if (st != DLM_OK) return dlm_error_context(st, "dlmem report --measure");
    }
    return DLM_OK;
}

static dlm_status mkdir_one(const char *d)
{
    if (mkdir(d, 0777) != 0 && errno != EEXIST)
        return dlm_error(DLM_EIO, "%s: cannot create folder: %s", d, strerror(errno));
    return DLM_OK;
}

/* ---- the report for the user's own networks: dlmem report MODEL... ---------------- */

static const dlm_mode user_modes[] = {DLM_MODE_INFER, DLM_MODE_FORWARD, DLM_MODE_TRAIN};

/* Section 1: each network's parameters, against PyTorch's counts where dlmem has
 * them (built-in networks at their built-in sizes). */
static dlm_status user_params(FILE *f, char *const *models, int n)
{
    char ref[1024];
    int have_ref = dlm_data_path("reference/pytorch_params.csv", ref, sizeof ref);
    fprintf(f, "## 1. Parameters\n\n| network | PyTorch code or file | parameters | buffers | "
               "fp32 weights | against PyTorch |\n| --- | --- | ---: | ---: | ---: | --- |\n");
    for (int m = 0; m < n; m++) {
        const dlm_model_info *info = NULL;
        dlm_graph *g = NULL;
        DLM_TRY(dlm_model_open(models[m], NULL, &info, &g));
        char a[32], b[32], c[64], check[160] = "no PyTorch reference (a network file: compare "
                                               "with `dlmem params FILE`)";
        dlm_torch_ref *r = NULL;
        dlm_ref_row *rows = NULL;
        int nr = 0, mism = 0;
        dlm_status st = DLM_OK;
        if (info && have_ref) {
            st = dlm_torchref_load(ref, info->name, &r);
            if (st == DLM_OK && r->n) st = dlm_torchref_compare(g, r, &rows, &nr, &mism);
            if (st == DLM_OK)
                snprintf(check, sizeof check, r->n ? "%d tensors compared, %d mismatches"
                                                   : "no PyTorch reference rows", nr, mism);
        }
        if (st == DLM_OK) {
            fprintf(f, "| %s | `", g->name);
            md(f, info ? info->pytorch : models[m]);
            fprintf(f, "` | %s | %s | %s | %s |\n", dlm_fmt_int(a, sizeof a, dlm_graph_param_count(g)),
                    dlm_fmt_int(b, sizeof b, dlm_graph_buffer_count(g)),
                    dlm_fmt_bytes(c, sizeof c, (double)dlm_params_bytes(g, 4)), check);
        }
        free(rows);
        dlm_torchref_free(r);
        dlm_graph_free(g);
        DLM_TRY(st);
    }
    fprintf(f, "\n`dlmem params NETWORK` shows each layer's formula.\n\n");
    return DLM_OK;
}

/* Section 2: predicted memory over the batch sizes, each mode; ">= " marks a
 * lower bound (library workspaces not known for this GPU). */
/* The sequence length a user-network report evaluates a model at: --seq, or
 * 128 for a model with bounded positions (a transformer) and 100 steps for an
 * unbounded one (an RNN); 0 for a model without a sequence length. */
static dlm_status report_seq(const dlm_graph *g, const char *seq, int64_t *T)
{
    *T = 0;
    if (!g->uses_T) return DLM_OK;
    if (seq) return dlm_cli_int("--seq", seq, 1, g->max_T > 0 ? g->max_T : 100000000, T);
    *T = g->max_T > 0 ? 128 : 100;
    return DLM_OK;
}

static dlm_status user_memory(FILE *f, char *const *models, int n, const dlm_gpu *gpu,
                              const int64_t *bs, int nb, const char *seq)
{
    fprintf(f, "## 2. Predicted memory on %s (sm_%d)\n\n"
               "dlmem's prediction of `torch.cuda.max_memory_allocated()` (profile `pytorch`, "
               "fp32, Adam for training, eager attention) in MiB. `infer` is a forward pass "
               "under `torch.no_grad()`, `forward` one with autograd recording, `train` a whole "
               "step (loss `sum(o.pow(2).mean())` over the outputs). \">=\" marks a lower bound: "
               "library workspaces no measurement gives for this GPU were counted 0 B. The "
               "formula is the train peak's law in bytes at the largest batch.\n\n",
            gpu->full, gpu->sm);
    for (int m = 0; m < n; m++) {
        dlm_graph *g = NULL;
        DLM_TRY(dlm_model_open(models[m], NULL, NULL, &g));
        int64_t T = 0;
        dlm_status st = report_seq(g, seq, &T);
        if (st == DLM_OK) {
            fprintf(f, "**%s**%s:\n\n| mode |", g->name, g->uses_T ? "" : " (no sequence length)");
            if (g->uses_T) fprintf(f, " (T = %lld) |", (long long)T);
            for (int i = 0; i < nb; i++) fprintf(f, " B=%lld |", (long long)bs[i]);
            fprintf(f, "\n| --- |%s", g->uses_T ? " --- |" : "");
            for (int i = 0; i < nb; i++) fprintf(f, " ---: |");
            fprintf(f, "\n");
        }
        char law[512] = "", note[240] = "";
        for (int k = 0; k < 3 && st == DLM_OK; k++) {
            dlm_mem_config cfg;
            dlm_mem_config_default(&cfg);
            cfg.mode = user_modes[k];
            cfg.sm = gpu->sm;
            dlm_mem_model *mm = NULL;
            st = dlm_mem_model_alloc(g, &cfg, &mm);
            fprintf(f, "| %s |%s", dlm_mode_name(cfg.mode), g->uses_T ? " |" : "");
            for (int i = 0; i < nb && st == DLM_OK; i++) {
                dlm_mem_result r;
                st = dlm_mem_eval(mm, bs[i], T, &r);
                if (st == DLM_OK)
                    fprintf(f, " %s%.2f |", r.complete ? "" : ">= ", r.peak_bytes / MIB);
            }
            fprintf(f, "\n");
            if (st == DLM_OK && k == 2) {
                dlm_poly lp;
                st = dlm_mem_peak_poly(mm, bs[nb - 1], T, &lp);
                if (st == DLM_OK) dlm_poly_format(&lp, law, sizeof law);
                dlm_mem_note(mm, bs[nb - 1], note, sizeof note);
            }
            dlm_mem_model_free(mm);
        }
        if (st == DLM_OK) {
            fprintf(f, "\ntrain peak = `%s` bytes", law);
            if (note[0]) {
                fprintf(f, "; ");
                md(f, note);
            }
            fprintf(f, "\n\n");
        }
        dlm_graph_free(g);
        DLM_TRY(st);
    }
    return DLM_OK;
}

/* Section 3: the largest batch that fits the GPU in each mode, and advice for
 * training at the largest table batch. */
static dlm_status user_fit(FILE *f, char *const *models, int n, const dlm_gpu *gpu,
                           const int64_t *bs, int nb, const char *seq)
{
    char ctx[160], b1[32], b2[32], b3[32];
    dlm_gpu_context_note(gpu, ctx, sizeof ctx);
    int64_t usable = gpu->memory - gpu->context;
    fprintf(f, "## 3. What fits %s, and how to fit more\n\n%s memory (%s) minus %s for the CUDA "
               "context and library handles (%s) = %s usable.\n\n| network | infer: largest B | "
               "forward: largest B | train: largest B |\n| --- | ---: | ---: | ---: |\n",
            gpu->full, dlm_fmt_bytes(b1, sizeof b1, (double)gpu->memory), gpu->source,
            dlm_fmt_bytes(b2, sizeof b2, (double)gpu->context), ctx,
            dlm_fmt_bytes(b3, sizeof b3, (double)usable));
    for (int m = 0; m < n; m++) {
        dlm_graph *g = NULL;
        DLM_TRY(dlm_model_open(models[m], NULL, NULL, &g));
        int64_t T = 0;
        dlm_status st = report_seq(g, seq, &T);
        fprintf(f, "| %s |", g->name);
        for (int k = 0; k < 3 && st == DLM_OK; k++) {
            dlm_mem_config cfg;
            dlm_mem_config_default(&cfg);
            cfg.mode = user_modes[k];
            cfg.sm = gpu->sm;
            dlm_mem_model *mm = NULL;
            int64_t best = 0;
            st = dlm_mem_model_alloc(g, &cfg, &mm);
            if (st == DLM_OK) st = dlm_mem_fit_search(mm, 0, g->uses_T ? T : 1, 1LL << 30, usable, &best);
            dlm_mem_result r;
            memset(&r, 0, sizeof r);
            r.complete = 1;
            if (st == DLM_OK && best) st = dlm_mem_eval(mm, best, T, &r);
            if (st == DLM_OK) fprintf(f, " %s%lld |", r.complete ? "" : "<= ", (long long)best);
            dlm_mem_model_free(mm);
        }
        fprintf(f, "\n");
        dlm_graph_free(g);
        DLM_TRY(st);
    }
    fprintf(f, "\n\"<=\" marks an upper bound (workspaces not known for this GPU counted 0 B). "
               "0: not even B = 1 fits.\n\n");
    for (int m = 0; m < n; m++) {
        dlm_workload w;
        dlm_budget b;
        memset(&w, 0, sizeof w);
        memset(&b, 0, sizeof b);
        snprintf(w.model, sizeof w.model, "%s", models[m]);
        dlm_mem_config_default(&w.cfg);
        w.cfg.mode = DLM_MODE_TRAIN;
        w.cfg.sm = gpu->sm;
        w.batch = bs[nb - 1];
        dlm_graph *g = NULL;
        DLM_TRY(dlm_model_open(models[m], NULL, NULL, &g));
        w.seq = g->uses_T ? (seq ? atoll(seq) : g->max_T > 0 ? 128 : 100) : 0;
        dlm_graph_free(g);
        snprintf(b.gpu, sizeof b.gpu, "%s", gpu->name);
        b.memory = gpu->memory;
        b.context = gpu->context;
        DLM_TRY(dlm_advise_markdown(f, &w, &b, 0));
    }
    return DLM_OK;
}

/* key: {k1: v1, k2: v2} when `present`, else null. */
static void json_pair(dlm_json *j, const char *key, int present, const char *k1, int64_t v1,
                      const char *k2, int64_t v2)
{
    dlm_json_key(j, key);
    if (!present) {
        dlm_json_null(j);
        return;
    }
    dlm_json_obj_begin(j);
    dlm_json_kint(j, k1, v1);
    dlm_json_kint(j, k2, v2);
    dlm_json_obj_end(j);
}

/* The summary on stdout, for people (a few lines) or programs (one CSV row
 * under its header, or a dlmem.report/1 document).  `seed`: the seed report
 * (parameters against PyTorch, the audit); else the user's networks on `gpu`. */
static dlm_status print_summary(dlm_format fmt, const char *path, int seed,
                                const char *const *nets, int n_nets, const dlm_gpu *gpu,
                                const summary *sm)
{
    double mean = sm->mean_err_n ? 100 * sm->mean_err_sum / sm->mean_err_n : NAN;
    if (fmt == DLM_FMT_TABLE) {
        printf("dlmem report: %s\n", path);
        if (seed) {
            printf("  parameters: %d of %d seed networks match PyTorch tensor for tensor\n",
                   sm->params_match, sm->models);
        } else {
            printf("  networks:   %d, predicted on %s (sm_%d)\n", n_nets, gpu->name, gpu->sm);
        }
        printf("  measured:   %d series, %d fitted, %d compared with the model", sm->series,
               sm->fitted, sm->predicted);
        if (sm->mean_err_n) printf(" (mean |error| %.1f%%)", mean);
        printf(", %d findings\n", sm->findings);
        if (seed) printf("  seed audit: %d items, %d found wrong\n", sm->audit_items, sm->audit_wrong);
        printf("  plots:      %d figures%s\n", sm->figures,
               !sm->figures ? "" : sm->rendered ? " (PNG and SVG)"
                                                : ", gnuplot not installed: scripts only (.gp)");
        return dlm_check_stream(stdout, "standard output");
    }
    if (fmt == DLM_FMT_CSV) {
        printf("report,kind,networks,gpu,sm,params_match,params_models,series,fitted,compared,"
               "mean_abs_error_pct,findings,audit_items,audit_wrong,figures,rendered\n");
        dlm_csv_field(stdout, path);
        printf(",%s,", seed ? "seed" : "networks");
        char list[4096] = "";
        for (int m = 0; m < n_nets; m++) {
            strncat(list, m ? ";" : "", sizeof list - strlen(list) - 1);
            strncat(list, nets[m], sizeof list - strlen(list) - 1);
        }
        dlm_csv_field(stdout, list);
        putchar(',');
        if (!seed) {
            dlm_csv_field(stdout, gpu->name);
            printf(",%d", gpu->sm);
        } else {
            putchar(',');
        }
        if (seed) printf(",%d,%d", sm->params_match, sm->models);
        else printf(",,");
        printf(",%d,%d,%d,", sm->series, sm->fitted, sm->predicted);
        if (sm->mean_err_n) printf("%.4f", mean);
        printf(",%d", sm->findings);
        if (seed) printf(",%d,%d", sm->audit_items, sm->audit_wrong);
        else printf(",,");
        printf(",%d,%d\n", sm->figures, sm->rendered ? 1 : 0);
        return dlm_check_stream(stdout, "standard output");
    }
    dlm_json j;
    dlm_json_init(&j, stdout, "dlmem.report/1");
    dlm_json_obj_begin(&j);
    dlm_json_kstr(&j, "report", path);
    dlm_json_kstr(&j, "kind", seed ? "seed" : "networks");
    dlm_json_key(&j, "networks");
    dlm_json_arr_begin(&j);
    for (int m = 0; m < n_nets; m++) dlm_json_str(&j, nets[m]);
    dlm_json_arr_end(&j);
    dlm_json_key(&j, "gpu");
    if (seed) dlm_json_null(&j);
    else dlm_json_str(&j, gpu->name);
    dlm_json_key(&j, "sm");
    if (seed) dlm_json_null(&j);
    else dlm_json_int(&j, gpu->sm);
    json_pair(&j, "parameters", seed, "networks_matching_pytorch", sm->params_match, "networks",
              sm->models);
    dlm_json_key(&j, "measured");
    dlm_json_obj_begin(&j);
    dlm_json_kint(&j, "series", sm->series);
    dlm_json_kint(&j, "fitted", sm->fitted);
    dlm_json_kint(&j, "compared", sm->predicted);
    dlm_json_knum(&j, "mean_abs_error_pct", mean);
    dlm_json_kint(&j, "findings", sm->findings);
    dlm_json_obj_end(&j);
    json_pair(&j, "audit", seed, "items", sm->audit_items, "wrong", sm->audit_wrong);
    dlm_json_key(&j, "plots");
    dlm_json_obj_begin(&j);
    dlm_json_kint(&j, "figures", sm->figures);
    dlm_json_kbool(&j, "rendered", sm->rendered);
    dlm_json_obj_end(&j);
    dlm_json_obj_end(&j);
    return dlm_json_finish(&j);
}

/* `dlmem report MODEL... [--data CSV...] [--gpu NAME]`: the same story for the
 * user's networks and measurements. */
static dlm_status user_report(const dlm_cli_args *a, const char *dir, dlm_format fmt)
{
    const dlm_gpu *gpu;
    const char *gname = dlm_cli_get(a, "gpu");
    DLM_TRY(dlm_gpu_find(gname ? gname : "h200", &gpu));
    int64_t *bs = NULL;
    int nb = 0;
    const char *seq = dlm_cli_get(a, "seq");
    DLM_TRY(dlm_cli_list("--batch", dlm_cli_get(a, "batch") ? dlm_cli_get(a, "batch")
                                                             : "1,2,4,8,16,32,64",
                         1, 1000000000, &bs, &nb));
    const char *data[64];
    int nd = dlm_cli_get_all(a, "data", data, 64);
    dlm_status st = nd > 64 ? dlm_error(DLM_EINVAL, "--data: more than 64 files") : DLM_OK;
    for (int m = 0; st == DLM_OK && m < a->n_pos; m++) { /* every network opens, before writing */
        dlm_graph *g = NULL;
        st = dlm_model_open(a->pos[m], NULL, NULL, &g);
        if (st == DLM_OK && seq && !g->uses_T)
            st = dlm_error(DLM_EINVAL, "--seq: %s has no sequence length", g->name);
        dlm_graph_free(g);
    }
    char path[1100], tmp[1110];
    snprintf(path, sizeof path, "%s/report.md", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = NULL;
    if (st == DLM_OK && !(f = fopen(tmp, "w")))
        st = dlm_error(DLM_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    summary sm;
    memset(&sm, 0, sizeof sm);
    if (st == DLM_OK) {
        fprintf(f, "# dlmem report:");
        for (int m = 0; m < a->n_pos; m++) fprintf(f, "%s %s", m ? "," : "", a->pos[m]);
        fprintf(f, "\n\nWritten by `dlmem report");
        for (int m = 0; m < a->n_pos; m++) fprintf(f, " %s", a->pos[m]);
        for (int k = 0; k < nd; k++) fprintf(f, " --data %s", data[k]);
        fprintf(f, " --gpu %s` (dlmem %s); every number below can be regenerated with that "
                   "command.\n\n", gpu->name, PACKAGE_VERSION);
        fprintf(stderr, "dlmem report: parameters...\n");
        st = user_params(f, a->pos, a->n_pos);
    }
    if (st == DLM_OK) {
        fprintf(stderr, "dlmem report: predicted memory...\n");
        st = user_memory(f, a->pos, a->n_pos, gpu, bs, nb, seq);
    }
    if (st == DLM_OK) {
        fprintf(stderr, "dlmem report: what fits, advice...\n");
        st = user_fit(f, a->pos, a->n_pos, gpu, bs, nb, seq);
    }
    if (st == DLM_OK) {
        fprintf(f, "## 4. Measured memory against the model\n\n");
        if (!nd) {
            fprintf(f, "No measurements given (`--data CSV`: columns model, mode, batch, seq and "
                       "peak_bytes, peak_mib or peak_mb; `dlmem reconcile --help`).\n");
        } else {
            fprintf(stderr, "dlmem report: measured data, fits, plots...\n");
            fprintf(f, "Sources:\n\n");
            for (int k = 0; k < nd; k++) fprintf(f, "- `%s`\n", data[k]);
            fprintf(f, "\n");
            dlm_recon *r;
            st = dlm_recon_files(data, nd, 0, &r);
            if (st == DLM_OK) {
                md_series_table(f, r, &sm);
                md_findings(f, r, &sm);
                st = md_plots(f, r, dir, &sm);
                dlm_recon_free(r);
            }
        }
    }
    free(bs);
    if (f) {
        int werr = ferror(f);
        if ((fclose(f) != 0 || werr) && st == DLM_OK) st = dlm_error(DLM_EIO, "%s: write failed", tmp);
        if (st != DLM_OK) remove(tmp);
    }
    if (st != DLM_OK) return st;
    if (rename(tmp, path) != 0)
        return dlm_error(DLM_EIO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    return print_summary(fmt, path, 0, (const char *const *)a->pos, a->n_pos, gpu, &sm);
}

dlm_status dlm_cmd_report(int argc, char **argv)
{
    dlm_cli_args a;
    DLM_TRY(dlm_cli_parse("report", argc, argv, opts, N_OPTS, &a));
    if (a.help) {
        dlm_cli_usage(stdout, "report", "[MODEL... [--data CSV]... [--gpu NAME]] [options]",
                      "Writes DIR/report.md (default report/) with its plots.  Without MODEL: the\n"
                      "seed report's story — parameters against PyTorch, the analytic memory of the\n"
                      "seed's sweeps, the measured data under data/ reconciled with the model, the\n"
                      "seed audit and advice; --measure first runs the seed's grids on this\n"
                      "machine's GPU with dlmem's own runtime (DIR/live-<model>.csv; an interrupted\n"
                      "run resumes) and adds them.\n\n"
                      "With MODEL... (built-in names or network files): the same for your networks\n"
                      "— parameters, predicted memory over --batch in each mode on --gpu, the\n"
                      "largest batch that fits and the ways to fit more, and your measurements\n"
                      "(--data CSV, repeatable) reconciled with the model.",
                      opts, N_OPTS);
        return DLM_OK;
    }
    dlm_format fmt;
    DLM_TRY(dlm_cli_format(&a, &fmt));
    const char *dir = dlm_cli_get(&a, "out");
    if (!dir) dir = "report";
    if (a.n_pos) {
        if (dlm_cli_get(&a, "measure"))
            return dlm_error(DLM_EINVAL, "dlmem report: --measure runs the seed's grids; measure "
                             "your networks with dlmem measure and give the CSV with --data");
        DLM_TRY(mkdir_one(dir));
        return user_report(&a, dir, fmt);
    }
    static const char *user_only[] = {"data", "gpu", "batch", "seq"};
    for (int k = 0; k < 4; k++)
        if (dlm_cli_get(&a, user_only[k]))
            return dlm_error(DLM_EINVAL, "dlmem report: --%s is for a report on your networks: "
                             "give MODEL... (the seed report takes none)", user_only[k]);
    DLM_TRY(mkdir_one(dir));
    int measure = dlm_cli_get(&a, "measure") != NULL;
    char live[N_LIVE][1100];
    const char *live_files[N_LIVE];
    if (measure) {
        DLM_TRY(live_measure(dir, live));
        for (int i = 0; i < N_LIVE; i++) live_files[i] = live[i];
    }
    char path[1100], tmp[1110];
    snprintf(path, sizeof path, "%s/report.md", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return dlm_error(DLM_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    summary sm;
    memset(&sm, 0, sizeof sm);
    fprintf(f, "# dlmem report: parameters and GPU memory of ResNet18, the seed's LSTM and "
               "BERT-base\n\nWritten by `dlmem report%s` (dlmem %s) from the data committed under "
               "data/%s; every number below can be regenerated with that command.\n\n",
               measure ? " --measure" : "", PACKAGE_VERSION,
               measure ? " and dlmem's own measurements on this machine's GPU (live-*.csv beside "
                         "this report)" : "");
    fprintf(stderr, "dlmem report: parameters...\n");
    dlm_status st = section_params(f, &sm);
    if (st == DLM_OK) {
        fprintf(stderr, "dlmem report: analytic memory...\n");
        st = section_analytic(f);
    }
    if (st == DLM_OK) {
        fprintf(stderr, "dlmem report: measured data, fits, plots...\n");
        st = section_measured(f, dir, live_files, measure ? N_LIVE : 0, &sm);
    }
    if (st == DLM_OK) {
        fprintf(stderr, "dlmem report: seed audit...\n");
        st = section_audit(f, dir, &sm);
    }
    if (st == DLM_OK) {
        fprintf(stderr, "dlmem report: advice...\n");
        st = dlm_advise_report_section(f, "## 5. Advice: fitting the seed's networks in 4 GB");
    }
    int werr = ferror(f);
    if (fclose(f) != 0 || werr) {
        remove(tmp);
        return st != DLM_OK ? st : dlm_error(DLM_EIO, "%s: write failed", tmp);
    }
    if (st != DLM_OK) {
        remove(tmp);
        return st;
    }
    if (rename(tmp, path) != 0)
        return dlm_error(DLM_EIO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    return print_summary(fmt, path, 1, seed_models, 3, NULL, &sm);
}
#endif
