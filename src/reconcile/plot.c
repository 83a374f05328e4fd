/* plot.c — writing and rendering gnuplot scripts (see plot.h). */
#include "plot.h"

#include "../core/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)

/* Text from data (model names, profiles) as a gnuplot string literal.  Single
 * quotes, because gnuplot substitutes `command` inside double-quoted strings
 * (and runs it): inside single quotes nothing is substituted and only '
 * itself, doubled, is special.  Control characters, which could end the line
 * and start a command, become '?'. */
static void gp_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\'') fputs("''", f);
        else if (c < 0x20 || c == 0x7f) fputc('?', f);
        else fputc(c, f);
    }
    fputc('\'', f);
}

static const double *sort_keys;
static int cmp_by_key(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    if (sort_keys[i] != sort_keys[j]) return sort_keys[i] < sort_keys[j] ? -1 : 1;
    return (i > j) - (i < j);
}

/* Orders point indices by x, then by position (stable for equal x). */
static void sort_by_x(int *ord, int n, const double *x)
{
    sort_keys = x;
    qsort(ord, (size_t)n, sizeof *ord, cmp_by_key);
    sort_keys = NULL;
}

static void curve_title(const dlm_plot_curve *c, char *buf, size_t n)
{
    const dlm_series *s = c->s;
    char fixed[48] = "";
    if (s->xvar == DLM_X_SEQ) snprintf(fixed, sizeof fixed, "B=%lld", (long long)s->fixed);
    else if (s->fixed > 0) snprintf(fixed, sizeof fixed, "T=%lld", (long long)s->fixed);
    snprintf(buf, n, "%s%s%s%s", s->attention, s->attention[0] && fixed[0] ? " " : "", fixed,
             (s->attention[0] || fixed[0]) ? "" : s->model);
}

dlm_status dlm_plot_write(const char *dir, const char *stem, const char *title,
                          const dlm_plot_curve *cv, int n)
{
    char path[1024];
    if ((size_t)snprintf(path, sizeof path, "%s/%s.gp", dir, stem) >= sizeof path)
        return dlm_error(DLM_EINVAL, "%s/%s.gp: path too long", dir, stem);
    for (const char *p = stem; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.' || *p == '_'))
            return dlm_error(DLM_EINTERNAL, "plot stem '%s' has a character outside [A-Za-z0-9._-]",
                             stem);
    dlm_output out;
    DLM_TRY(dlm_output_open(path, &out));
    FILE *f = out.f;
    double xmin = INFINITY, xmax = -INFINITY;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < cv[k].s->n; i++) {
            if (cv[k].s->x[i] < xmin) xmin = cv[k].s->x[i];
            if (cv[k].s->x[i] > xmax) xmax = cv[k].s->x[i];
        }
    int logx = n > 0 && xmin > 0 && xmax / xmin >= 8;
    double ymin = INFINITY, ymax = -INFINITY;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < cv[k].s->n; i++) {
            double v[2] = {cv[k].s->peak[i], cv[k].pred && cv[k].pred->have ? cv[k].pred->peak[i]
                                                                             : cv[k].s->peak[i]};
            for (int j = 0; j < 2; j++) {
                if (v[j] < ymin) ymin = v[j];
                if (v[j] > ymax) ymax = v[j];
            }
        }
    int logy = n > 0 && ymin > 0 && ymax / ymin >= 10;
    dlm_xvar xv = n > 0 ? cv[0].s->xvar : DLM_X_BATCH;

    fprintf(f, "# %s.gp — written by dlmem: theory vs measurement.\n", stem);
    fprintf(f, "# Render in this folder with `gnuplot %s.gp` (writes %s.png and %s.svg).\n", stem,
            stem, stem);
    fprintf(f, "# dlmem sets outstem to a temporary name and renames the files when both are "
               "complete.\nif (!exists(\"outstem\")) outstem = '%s'\n", stem);
    fprintf(f, "# Data inline: measured points, the analytic prediction and the fit, in MiB.\n");
    for (int k = 0; k < n; k++) {
        const dlm_plot_curve *c = &cv[k];
        const dlm_series *s = c->s;
        fprintf(f, "$meas%d << EOD\n", k);
        for (int i = 0; i < s->n; i++) fprintf(f, "%.17g %.6f\n", s->x[i], s->peak[i] / MIB);
        fprintf(f, "EOD\n");
        if (c->pred && c->pred->have) {
            fprintf(f, "$pred%d << EOD\n", k);
            /* sorted by x (series points may come in any order), one line per
             * distinct x (its first point's prediction), n log n */
            int *ord = malloc((size_t)(s->n > 0 ? s->n : 1) * sizeof *ord);
            if (!ord) {
                dlm_output_abort(&out);
                return dlm_error(DLM_ENOMEM, "out of memory");
            }
            for (int i = 0; i < s->n; i++) ord[i] = i;
            sort_by_x(ord, s->n, s->x);
            for (int q = 0; q < s->n; q++)
                if (q == 0 || s->x[ord[q]] != s->x[ord[q - 1]])
                    fprintf(f, "%.17g %.6f\n", s->x[ord[q]], c->pred->peak[ord[q]] / MIB);
            free(ord);
            fprintf(f, "EOD\n");
        }
        if (c->fit && c->fit->fitted && c->data && c->data->n > 0) {
            const dlm_polyfit *pf = dlm_fitset_best(c->fit);
            double a = c->data->x[0], b = c->data->x[c->data->n - 1];
            fprintf(f, "$fit%d << EOD\n", k);
            for (int i = 0; i <= 64; i++) {
                double x = logx ? a * pow(b / a, i / 64.0) : a + (b - a) * i / 64.0;
                fprintf(f, "%.17g %.6f\n", x, dlm_polyfit_eval(pf, x) / MIB);
            }
            fprintf(f, "EOD\n");
        }
        int marks = 0;
        for (int j = 0; j < c->n_findings; j++)
            if (!isnan(c->findings[j].x)) marks++;
        if (marks) {
            fprintf(f, "$mark%d << EOD\n", k);
            for (int j = 0; j < c->n_findings; j++)
                if (!isnan(c->findings[j].x))
                    fprintf(f, "%.17g %.6f %s\n", c->findings[j].x, c->findings[j].y / MIB,
                            dlm_finding_name(c->findings[j].kind));
            fprintf(f, "EOD\n");
        }
    }
    fprintf(f, "\nset title ");
    gp_str(f, title);
    fprintf(f, " noenhanced\n");
    if (xv == DLM_X_BATCH) fprintf(f, "set xlabel \"batch size B (samples)\"\n");
    else fprintf(f, "set xlabel \"sequence length T (tokens or steps)\"\n");
    fprintf(f, "set ylabel \"peak GPU memory (MiB)\"\n");
    if (logx) fprintf(f, "set logscale x 2\n");
    if (logy) {
        double lo = 0.8 * ymin / MIB, hi = 1.25 * ymax / MIB;
        fprintf(f, "set logscale y 10\nset yrange [%.6f:%.6f]\n", lo, hi);
        /* label the log axis densely: 1-2-5 steps, or every integer multiple of
         * the decade when the range spans less than one */
        static const double steps[2][9] = {{1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
        static const int nsteps[2] = {3, 9};
        for (int dense = 0; dense < 2; dense++) {
            int count = 0;
            for (double dec = pow(10, floor(log10(lo))); dec <= hi; dec *= 10)
                for (int q = 0; q < nsteps[dense]; q++)
                    count += steps[dense][q] * dec >= lo && steps[dense][q] * dec <= hi;
            if (count < 4 && !dense) continue;
            fprintf(f, "set ytics (");
            int first = 1;
            for (double dec = pow(10, floor(log10(lo))); dec <= hi; dec *= 10)
                for (int q = 0; q < nsteps[dense]; q++) {
                    double v = steps[dense][q] * dec;
                    if (v < lo || v > hi) continue;
                    fprintf(f, "%s%.6g", first ? "" : ", ", v);
                    first = 0;
                }
            fprintf(f, ")\n");
            break;
        }
    }
    if (n > 0 && ymax - ymin <= 1e-3 * fabs(ymax))
        /* a flat series: give gnuplot a range instead of letting it warn */
        fprintf(f, "set yrange [%.6f:%.6f]\n", (ymin - 0.02 * fabs(ymin) - 1) / MIB,
                (ymax + 0.02 * fabs(ymax) + 1) / MIB);
    /* the legend beside the plot, never over the points */
    fprintf(f, "set grid\nset key outside right top vertical noenhanced box\nset offsets graph 0.03, "
               "graph 0.03, graph 0.05, graph 0.05\n");
    fprintf(f, "set style line 1 lc rgb '#1f77b4' pt 7 ps 1.2\nset style line 2 lc rgb '#d62728' "
               "pt 5 ps 1.2\nset style line 3 lc rgb '#2ca02c' pt 9 ps 1.2\nset style line 4 lc "
               "rgb '#9467bd' pt 11 ps 1.2\n");
    /* the plot command, written once into a macro-free function of the terminal */
    for (int term = 0; term < 2; term++) {
        if (term == 0)
            fprintf(f, "\nset terminal pngcairo size 1000,640 font \"sans,10\" noenhanced\n"
                       "set output outstem.'.png'\n");
        else
            fprintf(f, "\nset terminal svg size 1000,640 font \"sans,10\" noenhanced\n"
                       "set output outstem.'.svg'\n");
        fprintf(f, "plot ");
        int first = 1, marked = 0;
        for (int k = 0; k < n; k++) {
            const dlm_plot_curve *c = &cv[k];
            char name[96], kinds[160] = "";
            curve_title(c, name, sizeof name);
            for (int j = 0; j < c->n_findings; j++)
                if (isnan(c->findings[j].x)) {
                    size_t L = strlen(kinds);
                    snprintf(kinds + L, sizeof kinds - L, "%s%s", L ? ", " : " [finding: ",
                             dlm_finding_name(c->findings[j].kind));
                }
            if (kinds[0]) strncat(kinds, "]", sizeof kinds - strlen(kinds) - 1);
            int ls = k % 4 + 1;
            char t[320];
            snprintf(t, sizeof t, "measured %s (%s)%s", name, c->s->profile, kinds);
            fprintf(f, "%s$meas%d using 1:2 with points ls %d title ", first ? "" : ", \\\n     ",
                    k, ls);
            gp_str(f, t);
            first = 0;
            if (c->pred && c->pred->have) {
                snprintf(t, sizeof t, "analytic %s", name);
                fprintf(f, ", \\\n     $pred%d using 1:2 with linespoints ls %d dt 2 pt 1 title ", k,
                        ls);
                gp_str(f, t);
            }
            if (c->fit && c->fit->fitted && c->data && c->data->n > 0) {
                snprintf(t, sizeof t, "fit %s (%s)", name,
                         c->fit->degree == 2 ? "quadratic" : "linear");
                fprintf(f, ", \\\n     $fit%d using 1:2 with lines ls %d lw 1.5 title ", k, ls);
                gp_str(f, t);
            }
            int marks = 0;
            for (int j = 0; j < c->n_findings; j++)
                if (!isnan(c->findings[j].x)) marks++;
            if (marks) {
                fprintf(f, ", \\\n     $mark%d using 1:2 with points pt 6 ps 3 lw 2 lc rgb "
                           "'#ff7f0e' %s, \\\n     $mark%d using 1:2:3 with labels "
                           "offset 0,1.6 tc rgb '#ff7f0e' notitle",
                        k, marked ? "notitle" : "title \"finding (circled)\"", k);
                marked = 1;
            }
        }
        if (first) fprintf(f, "NaN notitle");
        fprintf(f, "\n");
    }
    fprintf(f, "unset output\n");
    return dlm_output_commit(&out);
}

int dlm_gnuplot_available(void)
{
    const char *path = getenv("PATH");
    if (!path) return 0;
    char buf[4096];
    const char *p = path;
    while (*p) {
        const char *e = strchr(p, ':');
        size_t L = e ? (size_t)(e - p) : strlen(p);
        snprintf(buf, sizeof buf, "%.*s/gnuplot", (int)(L ? L : 1), L ? p : ".");
        if (access(buf, X_OK) == 0) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

/* 1 if file `path` ends as a complete PNG (the IEND chunk) or SVG (</svg>) does. */
static int complete_image(const char *path, int png)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char tail[64];
    size_t n = 0;
    if (fseek(f, -(long)sizeof tail, SEEK_END) != 0) rewind(f);
    n = fread(tail, 1, sizeof tail, f);
    fclose(f);
    if (png) {
        static const unsigned char iend[8] = {'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
        return n >= 8 && !memcmp(tail + n - 8, iend, 8);
    }
    for (size_t i = 0; i + 6 <= n; i++)
        if (!memcmp(tail + i, "</svg>", 6)) return 1;
    return 0;
}

dlm_status dlm_plot_render(const char *dir, const char *stem)
{
    if (!dlm_gnuplot_available())
        return dlm_error(DLM_EUNSUPPORTED, "gnuplot is not on PATH: %s/%s.gp written but not "
                         "rendered (install gnuplot, then run `gnuplot %s.gp` in %s)",
                         dir, stem, stem, dir);
    /* gnuplot writes .STEM.tmp-PID.png/.svg; they replace STEM.png/.svg only when
     * gnuplot succeeded and both files are complete (a full disk leaves the old ones) */
    char script[600], setvar[700], tmpstem[600], tmp[2][1400], final[2][1400];
    snprintf(script, sizeof script, "./%s.gp", stem);
    snprintf(tmpstem, sizeof tmpstem, ".%s.tmp-%ld", stem, (long)getpid());
    snprintf(setvar, sizeof setvar, "outstem='%s'", tmpstem);
    for (int k = 0; k < 2; k++) {
        snprintf(tmp[k], sizeof tmp[k], "%s/%s.%s", dir, tmpstem, k ? "svg" : "png");
        snprintf(final[k], sizeof final[k], "%s/%s.%s", dir, stem, k ? "svg" : "png");
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return dlm_error(DLM_EIO, "cannot start gnuplot: %s", strerror(errno));
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
        if (chdir(dir) != 0) _exit(126);
        execlp("gnuplot", "gnuplot", "-e", setvar, script, (char *)NULL);
        _exit(127);
    }
    int wst;
    while (waitpid(pid, &wst, 0) < 0)
        if (errno != EINTR) return dlm_error(DLM_EIO, "waiting for gnuplot: %s", strerror(errno));
    dlm_status st = DLM_OK;
    if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0)
        st = dlm_error(DLM_EIO, "gnuplot failed on %s/%s.gp (%s %d); earlier plots, if any, are "
                       "kept", dir, stem, WIFEXITED(wst) ? "exit" : "signal",
                       WIFEXITED(wst) ? WEXITSTATUS(wst) : WTERMSIG(wst));
    for (int k = 0; k < 2 && st == DLM_OK; k++)
        if (!complete_image(tmp[k], !k))
            st = dlm_error(DLM_EIO, "%s: gnuplot's %s is incomplete (a full disk?); earlier "
                           "plots, if any, are kept", final[k], k ? "SVG" : "PNG");
    for (int k = 0; k < 2 && st == DLM_OK; k++) st = dlm_output_rename(tmp[k], final[k]);
    for (int k = 0; k < 2; k++) remove(tmp[k]); /* after a failure; gone after a rename */
    return st;
}
