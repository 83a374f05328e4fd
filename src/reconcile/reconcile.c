/* reconcile.c — the whole reconciliation of measured series (see reconcile.h). */
#include "reconcile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "predict.h"

const char *dlm_fmt_mib(char *buf, size_t n, double bytes)
{
    snprintf(buf, n, "%.2f", bytes / (1024.0 * 1024.0));
    return buf;
}

void dlm_recon_free(dlm_recon *r)
{
    if (!r) return;
    for (int i = 0; i < r->set.n; i++) {
        if (r->data) dlm_fitdata_free(&r->data[i]);
        if (r->preds) dlm_prediction_free(&r->preds[i]);
    }
    free(r->data);
    free(r->fits);
    free(r->preds);
    free(r->cmps);
    dlm_findings_free(&r->findings);
    dlm_series_set_free(&r->set);
    free(r);
}

dlm_status dlm_recon_set(dlm_series_set *set, int sm, dlm_recon **out)
{
    *out = NULL;
    dlm_recon *r = calloc(1, sizeof *r);
    if (!r) return dlm_error(DLM_ENOMEM, "out of memory");
    r->set = *set;
    memset(set, 0, sizeof *set);
    size_t n = (size_t)(r->set.n > 0 ? r->set.n : 1);
    r->data = calloc(n, sizeof *r->data);
    r->fits = calloc(n, sizeof *r->fits);
    r->preds = calloc(n, sizeof *r->preds);
    r->cmps = calloc(n, sizeof *r->cmps);
    dlm_status st = DLM_OK;
    if (!r->data || !r->fits || !r->preds || !r->cmps) st = dlm_error(DLM_ENOMEM, "out of memory");
    for (int i = 0; st == DLM_OK && i < r->set.n; i++) {
        const dlm_series *s = &r->set.s[i];
        st = dlm_fitdata_make(s->x, s->peak, s->n, &r->data[i]);
        if (st == DLM_OK) st = dlm_fit_series(&r->data[i], s->resolution, &r->fits[i]);
        if (st == DLM_OK) st = dlm_predict_series(s, sm, &r->preds[i]);
        if (st == DLM_OK)
            st = dlm_detect(s, i, &r->data[i], &r->fits[i], &r->preds[i], &r->cmps[i],
                            &r->findings);
        if (st != DLM_OK) {
            char label[256];
            dlm_series_label(s, label, sizeof label);
            st = dlm_error_context(st, "%s (%s)", s->file, label);
        }
    }
    if (st != DLM_OK) {
        dlm_recon_free(r);
        return st;
    }
    *out = r;
    return DLM_OK;
}

dlm_status dlm_recon_files(const char *const *files, int n, int sm, dlm_recon **out)
{
    dlm_series_set set = {0};
    for (int i = 0; i < n; i++) {
        dlm_status st = dlm_series_read(files[i], &set);
        if (st != DLM_OK) {
            dlm_series_set_free(&set);
            return st;
        }
    }
    return dlm_recon_set(&set, sm, out);
}

const dlm_finding *dlm_recon_findings_of(const dlm_recon *r, int i, int *n)
{
    int a = 0;
    while (a < r->findings.n && r->findings.f[a].series != i) a++;
    int b = a;
    while (b < r->findings.n && r->findings.f[b].series == i) b++;
    *n = b - a;
    return a < r->findings.n ? &r->findings.f[a] : NULL;
}

static int same_figure(const dlm_series *a, const dlm_series *b)
{
    return !strcmp(a->model, b->model) && !strcmp(a->set, b->set) && !strcmp(a->mode, b->mode) &&
           !strcmp(a->dtype, b->dtype) && !strcmp(a->profile, b->profile) &&
           !strcmp(a->gpu, b->gpu) && !strcmp(a->variant, b->variant) &&
           !strcmp(a->optimizer, b->optimizer) && !strcmp(a->checkpoint, b->checkpoint) &&
           !strcmp(a->autocast, b->autocast) && !strcmp(a->file, b->file) && a->xvar == b->xvar;
}

static dlm_status mkdir_p(const char *dir)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return dlm_error(DLM_EIO, "%s: cannot create folder: %s", buf, strerror(errno));
            *p = '/';
        }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return dlm_error(DLM_EIO, "%s: cannot create folder: %s", buf, strerror(errno));
    return DLM_OK;
}

static char *sdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* "NVIDIA H100 80GB HBM3" -> "h100-80gb-hbm3"; "" for no GPU. */
static void gpu_tag(const char *gpu, char *out, size_t n)
{
    size_t k = 0;
    if (!strncmp(gpu, "NVIDIA ", 7)) gpu += 7;
    for (const char *p = gpu; *p && k + 1 < n && k < 24; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out[k++] = c;
        else if (k && out[k - 1] != '-') out[k++] = '-';
    }
    while (k && out[k - 1] == '-') k--;
    out[k] = '\0';
}

/* A file's name without directory and extension: "data/x/lstm-h200.csv" -> "lstm-h200". */
static void file_tag(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t L = strcspn(b, ".");
    snprintf(out, n, "%.*s", (int)(L < n ? L : n - 1), b);
}

dlm_status dlm_recon_plots(const dlm_recon *r, const char *dir, int render, char ***stems,
                           char ***titles, int *n, int *rendered)
{
    *stems = NULL;
    *titles = NULL;
    *n = 0;
    *rendered = 0;
    DLM_TRY(mkdir_p(dir));
    int ns = r->set.n;
    int *done = calloc((size_t)(ns > 0 ? ns : 1), sizeof *done);
    char **st_ = calloc((size_t)(ns > 0 ? ns : 1), sizeof *st_);
    char **ti_ = calloc((size_t)(ns > 0 ? ns : 1), sizeof *ti_);
    dlm_plot_curve *cv = calloc((size_t)(ns > 0 ? ns : 1), sizeof *cv);
    dlm_status st = (done && st_ && ti_ && cv) ? DLM_OK : dlm_error(DLM_ENOMEM, "out of memory");
    int nfig = 0, can_render = render && dlm_gnuplot_available();
    for (int i = 0; st == DLM_OK && i < ns; i++) {
        if (done[i] || r->set.s[i].n == 0) continue;
        int nc = 0;
        for (int j = i; j < ns && nc < 4; j++) {
            if (done[j] || !same_figure(&r->set.s[i], &r->set.s[j]) || r->set.s[j].n == 0) continue;
            done[j] = 1;
            int nf;
            const dlm_finding *f = dlm_recon_findings_of(r, j, &nf);
            cv[nc++] = (dlm_plot_curve){&r->set.s[j], &r->fits[j], &r->data[j], &r->preds[j], f, nf};
        }
        const dlm_series *s = &r->set.s[i];
        char stem[256], title[512], raw[512], gpu[64], src[64];
        /* named by what tells figures apart: the configuration, the source
         * (profile and GPU), then the file; never a bare number */
        gpu_tag(s->gpu, gpu, sizeof gpu);
        file_tag(s->file, src, sizeof src);
        snprintf(raw, sizeof raw, "%s%s%s%s%s-%s-%s%s%s-%s%s%s-vs-%s", s->tag, s->tag[0] ? "-" : "",
                 s->model, s->set[0] ? "-" : "", s->set, s->mode, s->dtype,
                 strcmp(s->variant, "base") ? "-" : "",
                 strcmp(s->variant, "base") ? s->variant : "", s->profile, gpu[0] ? "-" : "", gpu,
                 dlm_xvar_letter(s->xvar));
        for (int q = 0; q < nfig; q++)
            if (!strncmp(st_[q], raw, strlen(raw))) {
                size_t L = strlen(raw);
                snprintf(raw + L, sizeof raw - L, "-%s", src);
                break;
            }
        size_t k = 0;
        for (const char *p = raw; *p && k + 1 < sizeof stem; p++)
            stem[k++] = ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                         (*p >= '0' && *p <= '9') || *p == '-' || *p == '.') ? *p : '_';
        stem[k] = '\0';
        /* make stems unique */
        for (int q = 0; q < nfig; q++)
            if (!strcmp(st_[q], stem)) {
                size_t L = strlen(stem);
                snprintf(stem + L, sizeof stem - L, "-%d", nfig + 1);
                break;
            }
        snprintf(title, sizeof title, "%s%s%s%s %s %s: peak memory vs %s (%s%s%s)", s->model,
                 s->set[0] ? " (" : "", s->set, s->set[0] ? ")" : "", s->mode, s->dtype,
                 dlm_xvar_name(s->xvar), s->profile, s->gpu[0] ? ", " : "", s->gpu);
        st = dlm_plot_write(dir, stem, title, cv, nc);
        if (st == DLM_OK && can_render) st = dlm_plot_render(dir, stem);
        if (st == DLM_OK) {
            st_[nfig] = sdup(stem);
            ti_[nfig] = sdup(title);
            if (!st_[nfig] || !ti_[nfig]) st = dlm_error(DLM_ENOMEM, "out of memory");
            nfig++;
        }
    }
    free(done);
    free(cv);
    if (st != DLM_OK) {
        for (int k = 0; k < nfig; k++) {
            free(st_[k]);
            free(ti_[k]);
        }
        free(st_);
        free(ti_);
        return st;
    }
    *stems = st_;
    *titles = ti_;
    *n = nfig;
    *rendered = can_render;
    return DLM_OK;
}
