/* cmd_reconcile.c — `dlmem reconcile CSV...`: measured memory against the
 * analytic model: per series the fits (with 95% intervals), the formula's
 * slope, curvature and intercept beside the fitted ones, per-point residuals,
 * and the deviations found with their likely causes; optional gnuplot plots.
 * Needs GSL: without it, one line says so (exit 2). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/out.h"
#include "cli.h"
#include "commands.h"
#include "config.h"

#ifdef HAVE_GSL
#include "../reconcile/reconcile.h"
#endif

#ifndef HAVE_GSL
dlm_status dlm_cmd_reconcile(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return dlm_error(DLM_EUNSUPPORTED, "dlmem reconcile needs GSL, and this dlmem was built "
                     "without it (install libgsl-dev, then ./configure && make)");
}
#else

static const dlm_cli_opt opts[] = {
    {"format", 0, "FMT", "table (default), csv or json"},
    {"plots", 0, "DIR", "write gnuplot scripts (and PNG/SVG when gnuplot is installed) to DIR"},
    {"sm", 0, "N", "GPU architecture x10 for the prediction (default: from each row's gpu, "
                   "else 90)"},
};
#define N_OPTS ((int)(sizeof opts / sizeof opts[0]))

static const char about[] =
    "Reads measured memory (dlmem measure sweeps, tools/torch_reference.py memory runs, or a\n"
    "table with at least the columns model, mode, batch, seq, peak_bytes; optional dtype,\n"
    "attention, before_bytes, status, gpu, profile = runtime|pytorch and set = the model's\n"
    "knobs, e.g. upsample=1;base=32, empty or absent for the defaults), groups the rows into\n"
    "series with B or T varying, fits each (degree 1 and 2, power law; degree chosen by an\n"
    "F-test rule printed below), compares with dlmem's prediction (profile runtime for\n"
    "dlmem's data, pytorch for PyTorch's; the model built with the row's set) and reports\n"
    "the deviations it finds.";


static const char *per_unit(const dlm_series *s) { return s->xvar == DLM_X_BATCH ? "B" : "T"; }

static dlm_status print_table(const dlm_recon *r, FILE *f)
{
    static const char *hdr[] = {"#", "series", "pts", "fit", "chi2/dof", "R^2", "power k (95%)",
                                "slope MiB/unit (95%)", "formula slope", "x^2 MiB (95%)",
                                "formula x^2", "at 0 MiB (95%)", "formula at 0", "mean|err|",
                                "findings"};
    dlm_table *t;
    DLM_TRY(dlm_table_alloc(15, hdr, "rlrlrrrrrrrrrrl", &t));
    dlm_status st = DLM_OK;
    for (int i = 0; i < r->set.n && st == DLM_OK; i++) {
        const dlm_series *s = &r->set.s[i];
        const dlm_fitset *fs = &r->fits[i];
        const dlm_compare *c = &r->cmps[i];
        const dlm_prediction *p = &r->preds[i];
        char num[16], label[256], pts[16], fit[32], sl[64], fsl[32], cu[64], fcu[32], ic[64],
            fic[32], err[32], finds[160] = "", chi[32] = "-", r2[32] = "-", pk[48] = "-";
        snprintf(num, sizeof num, "%d", i + 1);
        dlm_series_label(s, label, sizeof label);
        snprintf(pts, sizeof pts, "%d", fs->n_distinct);
        if (s->n_failed) snprintf(pts + strlen(pts), sizeof pts - strlen(pts), "+%d oom", s->n_failed);
        snprintf(fit, sizeof fit, "%s", !fs->fitted ? "too short" : fs->degree == 2 ? "quadratic"
                                                                                     : "linear");
        strcpy(sl, "-");
        strcpy(fsl, "-");
        strcpy(cu, "-");
        strcpy(fcu, "-");
        strcpy(ic, "-");
        strcpy(fic, "-");
        strcpy(err, "-");
        if (fs->fitted) {
            const dlm_polyfit *b = dlm_fitset_best(fs);
            double xm = 0.5 * (r->data[i].x[0] + r->data[i].x[r->data[i].n - 1]);
            double slope = b->c[1] + 2 * b->c[2] * xm;
            double se = sqrt(b->cov[1][1] + 4 * xm * b->cov[1][2] + 4 * xm * xm * b->cov[2][2]);
            snprintf(sl, sizeof sl, "%.4g +/- %.2g", slope / 1048576.0, b->t95 * se / 1048576.0);
            snprintf(ic, sizeof ic, "%.1f +/- %.2g", b->c[0] / 1048576.0, b->t95 * b->se[0] / 1048576.0);
            snprintf(chi, sizeof chi, "%.3g", b->chisq_dof);
            snprintf(r2, sizeof r2, "%.5f", b->r2);
            if (fs->have_pow)
                snprintf(pk, sizeof pk, "%.3f +/- %.2g", fs->pow.k, fs->pow.t95 * fs->pow.k_se);
            if (fs->have_quad)
                snprintf(cu, sizeof cu, "%.3g +/- %.2g", fs->quad.c[2] / 1048576.0,
                         fs->quad.t95 * fs->quad.se[2] / 1048576.0);
        }
        if (c->have) {
            snprintf(fsl, sizeof fsl, "%.4g", c->slope_pred / 1048576.0);
            snprintf(fcu, sizeof fcu, "%.3g", c->curv_pred / 1048576.0);
            snprintf(fic, sizeof fic, "%.1f", c->icpt_pred / 1048576.0);
            snprintf(err, sizeof err, "%.1f%%", 100 * c->mean_abs_rel);
        } else if (c->have_points) {
            snprintf(err, sizeof err, "%.1f%%", 100 * c->mean_abs_rel);
        } else if (!p->have) {
            snprintf(fsl, sizeof fsl, "none");
        }
        int nf;
        const dlm_finding *fd = dlm_recon_findings_of(r, i, &nf);
        for (int k = 0; k < nf; k++) {
            size_t L = strlen(finds);
            snprintf(finds + L, sizeof finds - L, "%s%s", L ? ", " : "", dlm_finding_name(fd[k].kind));
        }
        if (!nf) snprintf(finds, sizeof finds, c->have ? "none" : "-");
        (void)per_unit;
        const char *cells[] = {num, label, pts, fit, chi, r2, pk, sl, fsl, cu, fcu, ic, fic, err, finds};
        st = dlm_table_add(t, cells);
    }
    if (st == DLM_OK) {
        fprintf(f, "Measured peak memory against dlmem's prediction, per series (MiB; slopes per "
                   "unit of the varying B or T, at the middle of its range; 95%% intervals; "
                   "chi2/dof against the data's resolution; power k: the exponent of a*x^k):\n");
        st = dlm_table_print(t, f, 2);
    }
    dlm_table_free(t);
    if (st != DLM_OK) return st;
    fprintf(f, "  Degree rule: %s.\n", dlm_fit_rule());
    for (int i = 0; i < r->set.n; i++)
        if (r->preds[i].have && strstr(r->preds[i].what, "(assumed")) {
            fprintf(f, "  The GPU architecture is assumed sm_90 for series whose file names no GPU "
                       "dlmem knows\n  (#%d first; --sm N sets it): workspaces measured on sm_90 "
                       "are used.\n", i + 1);
            break;
        }
    /* the units the files gave their peaks in, once per file */
    for (int i = 0; i < r->set.n; i++) {
        const dlm_series *s = &r->set.s[i];
        int seen = !strcmp(s->peak_unit, "bytes") || !s->peak_unit[0];
        for (int k = 0; k < i && !seen; k++) seen = !strcmp(r->set.s[k].file, s->file);
        if (!seen)
            fprintf(f, "  %s: peaks read from %s, in %s (%s bytes)\n", s->file,
                    !strcmp(s->peak_unit, "MiB") ? "peak_mib" : "peak_mb", s->peak_unit,
                    !strcmp(s->peak_unit, "MiB") ? "2^20" : "10^6");
    }
    int none = 1;
    for (int i = 0; i < r->set.n; i++) {
        const dlm_prediction *p = &r->preds[i];
        if (!p->have && p->why[0]) {
            if (none) fprintf(f, "\nNo prediction for:\n");
            none = 0;
            fprintf(f, "  #%d: %s\n", i + 1, p->why);
        }
    }
    for (int i = 0; i < r->set.n; i++) {
        if (r->fits[i].fitted) continue;
        fprintf(f, "  #%d %s\n", i + 1, r->fits[i].reason);
        const dlm_series *s = &r->set.s[i];
        const dlm_prediction *p = &r->preds[i];
        if (!r->cmps[i].have_points) continue;
        fprintf(f, "     measured against predicted, point by point (%s):\n", p->what);
        for (int k = 0; k < s->n; k++) {
            char mb[32], pb[32];
            fprintf(f, "       %s=%-6g %s measured, %s predicted (%+.1f%%)\n",
                    dlm_xvar_letter(s->xvar), s->x[k], dlm_fmt_bytes(mb, sizeof mb, s->peak[k]),
                    dlm_fmt_bytes(pb, sizeof pb, p->peak[k]),
                    p->peak[k] > 0 ? 100 * (s->peak[k] - p->peak[k]) / p->peak[k] : 0.0);
        }
    }
    if (r->findings.n) {
        fprintf(f, "\nFindings (%d):\n", r->findings.n);
        for (int k = 0; k < r->findings.n; k++) {
            const dlm_finding *fd = &r->findings.f[k];
            fprintf(f, "  #%d [%s] %s.\n", fd->series + 1, dlm_finding_name(fd->kind), fd->text);
        }
    } else {
        fprintf(f, "\nNo deviation found.\n");
    }
    return dlm_check_stream(f, "standard output");
}

static dlm_status print_csv(const dlm_recon *r, FILE *f)
{
    fputs("series,model,set,variant,mode,dtype,attention,profile,gpu,varies,fixed,points,fitted,"
          "degree,c0_bytes,c0_ci95,c1_bytes,c1_ci95,c2_bytes,c2_ci95,chi2_dof,r2,power_k,"
          "power_k_ci95,pred_slope_bytes,pred_x2_bytes,pred_at0_bytes,mean_abs_rel_err,findings\n",
          f);
    for (int i = 0; i < r->set.n; i++) {
        const dlm_series *s = &r->set.s[i];
        const dlm_fitset *fs = &r->fits[i];
        const dlm_compare *c = &r->cmps[i];
        const char *text[] = {s->model, s->set, s->variant, s->mode, s->dtype, s->attention,
                              s->profile, s->gpu};
        fprintf(f, "%d", i + 1);
        for (int k = 0; k < 8; k++) {
            fputc(',', f);
            dlm_csv_field(f, text[k]);
        }
        fprintf(f, ",%s,%lld,%d,%d,", dlm_xvar_letter(s->xvar), (long long)s->fixed,
                fs->n_distinct, fs->fitted);
        if (fs->fitted) {
            const dlm_polyfit *b = dlm_fitset_best(fs);
            /* bytes without exponents: the intercept to the byte, slopes to 1/1000 byte */
            fprintf(f, "%d,%.0f,%.0f,%.3f,%.3f,%.3f,%.3f,%.6g,%.6g,", b->degree, b->c[0],
                    b->t95 * b->se[0], b->c[1], b->t95 * b->se[1], b->c[2], b->t95 * b->se[2],
                    b->chisq_dof, b->r2);
            if (fs->have_pow) fprintf(f, "%.6g,%.6g,", fs->pow.k, fs->pow.t95 * fs->pow.k_se);
            else fputs(",,", f);
        } else {
            fputs(",,,,,,,,,,,", f);
        }
        if (c->have)
            fprintf(f, "%.3f,%.3f,%.0f,%.6g,", c->slope_pred, c->curv_pred, c->icpt_pred,
                    c->mean_abs_rel);
        else
            fputs(",,,,", f);
        int nf;
        const dlm_finding *fd = dlm_recon_findings_of(r, i, &nf);
        char kinds[160] = "";
        for (int k = 0; k < nf; k++) {
            size_t L = strlen(kinds);
            snprintf(kinds + L, sizeof kinds - L, "%s%s", L ? ";" : "", dlm_finding_name(fd[k].kind));
        }
        fprintf(f, "%s\n", kinds);
    }
    return dlm_check_stream(f, "standard output");
}

static void json_fit(dlm_json *j, const char *key, const dlm_polyfit *b)
{
    dlm_json_key(j, key);
    dlm_json_obj_begin(j);
    dlm_json_kint(j, "degree", b->degree);
    dlm_json_kint(j, "dof", b->dof);
    dlm_json_kint(j, "weighted", b->weighted);
    dlm_json_key(j, "coef_bytes");
    dlm_json_arr_begin(j);
    for (int k = 0; k <= b->degree; k++) dlm_json_num(j, b->c[k]);
    dlm_json_arr_end(j);
    dlm_json_key(j, "se_bytes");
    dlm_json_arr_begin(j);
    for (int k = 0; k <= b->degree; k++) dlm_json_num(j, b->se[k]);
    dlm_json_arr_end(j);
    dlm_json_knum(j, "t95", b->t95);
    dlm_json_knum(j, "chi2_dof", b->chisq_dof);
    dlm_json_knum(j, "r2", b->r2);
    dlm_json_obj_end(j);
}

static dlm_status print_json(const dlm_recon *r, FILE *f)
{
    dlm_json j;
    dlm_json_init(&j, f, "dlmem.reconcile/1");
    dlm_json_obj_begin(&j);
    dlm_json_kstr(&j, "degree_rule", dlm_fit_rule());
    dlm_json_key(&j, "series");
    dlm_json_arr_begin(&j);
    for (int i = 0; i < r->set.n; i++) {
        const dlm_series *s = &r->set.s[i];
        const dlm_fitset *fs = &r->fits[i];
        const dlm_prediction *p = &r->preds[i];
        const dlm_compare *c = &r->cmps[i];
        char label[256];
        dlm_series_label(s, label, sizeof label);
        dlm_json_obj_begin(&j);
        dlm_json_kstr(&j, "label", label);
        dlm_json_kstr(&j, "file", s->file);
        dlm_json_kstr(&j, "peak_unit", s->peak_unit);
        dlm_json_kstr(&j, "model", s->model);
        dlm_json_kstr(&j, "set", s->set);
        dlm_json_kstr(&j, "mode", s->mode);
        dlm_json_kstr(&j, "dtype", s->dtype);
        dlm_json_kstr(&j, "attention", s->attention);
        dlm_json_kstr(&j, "profile", s->profile);
        dlm_json_kstr(&j, "gpu", s->gpu);
        dlm_json_kstr(&j, "varies", dlm_xvar_letter(s->xvar));
        dlm_json_kint(&j, "fixed", s->fixed);
        dlm_json_kint(&j, "failed_points", s->n_failed);
        dlm_json_key(&j, "points");
        dlm_json_arr_begin(&j);
        for (int k = 0; k < s->n; k++) {
            dlm_json_obj_begin(&j);
            dlm_json_kint(&j, "x", (int64_t)llround(s->x[k]));
            dlm_json_kint(&j, "line", s->line[k]);
            dlm_json_kbytes(&j, "peak_bytes", s->peak[k]);
            if (p->have) {
                dlm_json_kbytes(&j, "predicted_bytes", p->peak[k]);
                dlm_json_kbytes(&j, "residual_bytes", s->peak[k] - p->peak[k]);
            }
            dlm_json_obj_end(&j);
        }
        dlm_json_arr_end(&j);
        dlm_json_kint(&j, "fitted", fs->fitted);
        dlm_json_kstr(&j, "fit_reason", fs->reason);
        if (fs->fitted) {
            json_fit(&j, "linear", &fs->lin);
            if (fs->have_quad) json_fit(&j, "quadratic", &fs->quad);
            dlm_json_kint(&j, "chosen_degree", fs->degree);
            if (fs->have_pow) {
                dlm_json_key(&j, "power_law");
                dlm_json_obj_begin(&j);
                dlm_json_knum(&j, "a", fs->pow.a);
                dlm_json_knum(&j, "k", fs->pow.k);
                dlm_json_knum(&j, "k_se", fs->pow.k_se);
                dlm_json_knum(&j, "t95", fs->pow.t95);
                dlm_json_knum(&j, "r2", fs->pow.r2);
                dlm_json_obj_end(&j);
            }
        }
        dlm_json_key(&j, "prediction");
        if (p->have) {
            dlm_json_obj_begin(&j);
            dlm_json_kstr(&j, "what", p->what);
            dlm_json_kstr(&j, "formula_bytes", p->formula);
            dlm_json_key(&j, "law_bytes");
            dlm_json_arr_begin(&j);
            for (int k = 0; k < 3; k++) dlm_json_num(&j, p->law[k]);
            dlm_json_arr_end(&j);
            if (c->have) {
                dlm_json_knum(&j, "slope_fit", c->slope_fit);
                dlm_json_knum(&j, "slope_pred", c->slope_pred);
                dlm_json_knum(&j, "x2_pred", c->curv_pred);
                dlm_json_knum(&j, "at0_fit", c->icpt_fit);
                dlm_json_knum(&j, "at0_pred", c->icpt_pred);
                dlm_json_knum(&j, "mean_abs_rel_err", c->mean_abs_rel);
                dlm_json_knum(&j, "max_abs_rel_err", c->max_abs_rel);
            }
            dlm_json_obj_end(&j);
        } else {
            dlm_json_obj_begin(&j);
            dlm_json_kstr(&j, "none", p->why);
            dlm_json_obj_end(&j);
        }
        dlm_json_key(&j, "findings");
        dlm_json_arr_begin(&j);
        int nf;
        const dlm_finding *fd = dlm_recon_findings_of(r, i, &nf);
        for (int k = 0; k < nf; k++) {
            dlm_json_obj_begin(&j);
            dlm_json_kstr(&j, "kind", dlm_finding_name(fd[k].kind));
            dlm_json_key(&j, "x");
            if (isnan(fd[k].x)) dlm_json_null(&j);
            else dlm_json_num(&j, fd[k].x);
            dlm_json_kstr(&j, "text", fd[k].text);
            dlm_json_obj_end(&j);
        }
        dlm_json_arr_end(&j);
        dlm_json_obj_end(&j);
    }
    dlm_json_arr_end(&j);
    dlm_json_obj_end(&j);
    return dlm_json_finish(&j);
}

dlm_status dlm_cmd_reconcile(int argc, char **argv)
{
    dlm_cli_args a;
    dlm_format fmt;
    DLM_TRY(dlm_cli_parse("reconcile", argc, argv, opts, N_OPTS, &a));
    if (a.help) {
        dlm_cli_usage(stdout, "reconcile", "CSV... [options]", about, opts, N_OPTS);
        return DLM_OK;
    }
    if (a.n_pos < 1)
        return dlm_error(DLM_EINVAL, "dlmem reconcile: expected at least one CSV file (see "
                         "dlmem reconcile --help)");
    DLM_TRY(dlm_cli_format(&a, &fmt));
    int64_t sm = 0;
    if (dlm_cli_get(&a, "sm")) DLM_TRY(dlm_cli_int("--sm", dlm_cli_get(&a, "sm"), 30, 200, &sm));
    dlm_recon *r;
    DLM_TRY(dlm_recon_files((const char *const *)a.pos, a.n_pos, (int)sm, &r));
    dlm_status st;
    if (fmt == DLM_FMT_JSON) st = print_json(r, stdout);
    else if (fmt == DLM_FMT_CSV) st = print_csv(r, stdout);
    else st = print_table(r, stdout);
    const char *dir = dlm_cli_get(&a, "plots");
    if (st == DLM_OK && dir) {
        char **stems, **titles;
        int n, rendered;
        st = dlm_recon_plots(r, dir, 1, &stems, &titles, &n, &rendered);
        if (st == DLM_OK) {
            fprintf(stderr, "dlmem reconcile: %d gnuplot script%s in %s/%s\n", n, n == 1 ? "" : "s",
                    dir, rendered ? ", rendered to PNG and SVG"
                                  : "; gnuplot is not on PATH, so nothing was rendered (run "
                                    "`gnuplot NAME.gp` there once it is installed)");
            for (int k = 0; k < n; k++) {
                free(stems[k]);
                free(titles[k]);
            }
            free(stems);
            free(titles);
        }
    }
    dlm_recon_free(r);
    return st;
}
#endif
