/* plot.c — writing and rendering gnuplot scripts (see plot.h). */
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)

/* Text safe inside a gnuplot double-quoted string. */
static void gp_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*s, f);
    }
    fputc('"', f);
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
    snprintf(path, sizeof path, "%s/%s.gp", dir, stem);
    FILE *f = fopen(path, "w");
    if (!f) return dlm_error(DLM_EIO, "%s: cannot write: %s", path, strerror(errno));
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
    fprintf(f, "# Data inline: measured points, the analytic prediction and the fit, in MiB.\n");
    for (int k = 0; k < n; k++) {
        const dlm_plot_curve *c = &cv[k];
        const dlm_series *s = c->s;
        fprintf(f, "$meas%d << EOD\n", k);
        for (int i = 0; i < s->n; i++) fprintf(f, "%.17g %.6f\n", s->x[i], s->peak[i] / MIB);
        fprintf(f, "EOD\n");
        if (c->pred && c->pred->have) {
            fprintf(f, "$pred%d << EOD\n", k);
            /* sorted by x (series points may come in any order) */
            double last = -INFINITY;
            for (;;) {
                int best = -1;
                for (int i = 0; i < s->n; i++)
                    if (s->x[i] > last && (best < 0 || s->x[i] < s->x[best])) best = i;
                if (best < 0) break;
                fprintf(f, "%.17g %.6f\n", s->x[best], c->pred->peak[best] / MIB);
                last = s->x[best];
            }
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
    if (logy)
        fprintf(f, "set logscale y 10\nset yrange [%.6f:%.6f]\n", 0.8 * ymin / MIB, 1.25 * ymax / MIB);
    if (n > 0 && ymax - ymin <= 1e-3 * fabs(ymax))
        /* a flat series: give gnuplot a range instead of letting it warn */
        fprintf(f, "set yrange [%.6f:%.6f]\n", (ymin - 0.02 * fabs(ymin) - 1) / MIB,
                (ymax + 0.02 * fabs(ymax) + 1) / MIB);
    fprintf(f, "set grid\nset key top left noenhanced box opaque\nset offsets graph 0.03, graph "
               "0.03, graph 0.05, graph 0.05\n");
    fprintf(f, "set style line 1 lc rgb '#1f77b4' pt 7 ps 1.2\nset style line 2 lc rgb '#d62728' "
               "pt 5 ps 1.2\nset style line 3 lc rgb '#2ca02c' pt 9 ps 1.2\nset style line 4 lc "
               "rgb '#9467bd' pt 11 ps 1.2\n");
    /* the plot command, written once into a macro-free function of the terminal */
    for (int term = 0; term < 2; term++) {
        if (term == 0)
            fprintf(f, "\nset terminal pngcairo size 1000,640 font \"sans,10\" noenhanced\n"
                       "set output \"%s.png\"\n", stem);
        else
            fprintf(f, "\nset terminal svg size 1000,640 font \"sans,10\" noenhanced\n"
                       "set output \"%s.svg\"\n", stem);
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
    int werr = ferror(f);
    if (fclose(f) != 0 || werr) return dlm_error(DLM_EIO, "%s: write failed", path);
    return DLM_OK;
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

dlm_status dlm_plot_render(const char *dir, const char *stem)
{
    if (!dlm_gnuplot_available())
        return dlm_error(DLM_EUNSUPPORTED, "gnuplot is not on PATH: %s/%s.gp written but not "
                         "rendered (install gnuplot, then run `gnuplot %s.gp` in %s)",
                         dir, stem, stem, dir);
    char script[512];
    snprintf(script, sizeof script, "%s.gp", stem);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return dlm_error(DLM_EIO, "cannot start gnuplot: %s", strerror(errno));
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
        if (chdir(dir) != 0) _exit(126);
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int wst;
    while (waitpid(pid, &wst, 0) < 0)
        if (errno != EINTR) return dlm_error(DLM_EIO, "waiting for gnuplot: %s", strerror(errno));
    if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0)
        return dlm_error(DLM_EIO, "gnuplot failed on %s/%s.gp (exit %d)", dir, stem,
                         WIFEXITED(wst) ? WEXITSTATUS(wst) : -1);
    return DLM_OK;
}
