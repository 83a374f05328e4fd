/* test_plot.c — gnuplot scripts: self-contained (data inline), axes labelled
 * with units, a log axis where the range spans 8x or more, findings marked; and
 * rendered to PNG and SVG when gnuplot is on PATH (skipped, and said, when not;
 * without gnuplot the renderer must say so). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reconcile/plot.h"
#include "tap.h"

#define MIB (1024.0 * 1024.0)

static char dir[] = "/tmp/dlmem-test-plot.XXXXXX";

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

int main(void)
{
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp failed\n");
        return 1;
    }
    double x[] = {1, 2, 4, 8, 16, 32, 64, 128}, y[8], pr[8];
    int line[8];
    for (int i = 0; i < 8; i++) {
        y[i] = (80 + 6.7 * x[i]) * MIB;
        pr[i] = (79 + 6.7 * x[i]) * MIB;
        line[i] = i + 2;
    }
    y[5] += 30 * MIB;
    dlm_series s;
    memset(&s, 0, sizeof s);
    strcpy(s.model, "resnet18");
    strcpy(s.mode, "infer");
    strcpy(s.dtype, "fp32");
    strcpy(s.variant, "base");
    strcpy(s.profile, "pytorch");
    s.xvar = DLM_X_BATCH;
    s.n = 8;
    s.x = x;
    s.peak = y;
    s.line = line;
    s.resolution = 512;
    dlm_fitdata d;
    dlm_fitset fs;
    TAP_EQ(dlm_fitdata_make(x, y, 8, &d), DLM_OK, "fit data");
    TAP_EQ(dlm_fit_series(&d, 512, &fs), DLM_OK, "fit");
    dlm_prediction p;
    memset(&p, 0, sizeof p);
    p.have = 1;
    p.peak = pr;
    dlm_finding f;
    memset(&f, 0, sizeof f);
    f.kind = DLM_FIND_OUTLIER;
    f.x = 32;
    f.y = y[5];
    dlm_plot_curve c = {&s, &fs, &d, &p, &f, 1};
    TAP_EQ(dlm_plot_write(dir, "fig", "resnet18 infer fp32: peak memory vs batch size", &c, 1),
           DLM_OK, "script written: %s", dlm_errmsg());
    char path[256];
    snprintf(path, sizeof path, "%s/fig.gp", dir);
    char *t = slurp(path);
    TAP_OK(t != NULL, "fig.gp exists");
    if (!t) t = "";
    TAP_OK(strstr(t, "$meas0 << EOD") && strstr(t, "$pred0 << EOD") && strstr(t, "$fit0 << EOD"),
           "measured points, prediction and fit are inline");
    TAP_OK(strstr(t, "128 942.") != NULL || strstr(t, "128 937.6") != NULL,
           "the B=128 point is in MiB (937.60)");
    TAP_OK(strstr(t, "set xlabel \"batch size B (samples)\"") != NULL, "x axis labelled with unit");
    TAP_OK(strstr(t, "set ylabel \"peak GPU memory (MiB)\"") != NULL, "y axis labelled with unit");
    TAP_OK(strstr(t, "set logscale x 2") != NULL, "B 1..128 spans 128x: log x axis");
    TAP_OK(strstr(t, "32 ") && strstr(t, "outlier") && strstr(t, "finding (circled)"),
           "the outlier at B=32 is marked and named");
    TAP_OK(strstr(t, "analytic") && strstr(t, "fit ") && strstr(t, "measured "),
           "legend entries for measured, analytic and fit");
    TAP_OK(strstr(t, "outstem = 'fig'") && strstr(t, "set output outstem.'.png'") &&
               strstr(t, "set output outstem.'.svg'"),
           "the script writes PNG and SVG beside itself (fig.png, fig.svg by default)");

    if (dlm_gnuplot_available()) {
        TAP_EQ(dlm_plot_render(dir, "fig"), DLM_OK, "gnuplot renders it: %s", dlm_errmsg());
        snprintf(path, sizeof path, "%s/fig.png", dir);
        FILE *png = fopen(path, "rb");
        unsigned char sig[8] = {0};
        size_t got = png ? fread(sig, 1, 8, png) : 0;
        if (png) fclose(png);
        TAP_OK(got == 8 && sig[1] == 'P' && sig[2] == 'N' && sig[3] == 'G', "fig.png is a PNG");
        snprintf(path, sizeof path, "%s/fig.svg", dir);
        char *svg = slurp(path);
        TAP_OK(svg && strstr(svg, "<svg"), "fig.svg is an SVG");
        remove(path);
        snprintf(path, sizeof path, "%s/fig.png", dir);
        remove(path);
    } else {
        printf("ok %d - # SKIP gnuplot is not on PATH: rendering not tested\n", ++tap_n);
    }
    /* Hostile text from data (issue 11): gnuplot runs `command` inside double
     * quotes, so every data string is single-quoted, ' doubled, control
     * characters replaced; rendering it runs nothing. */
    {
        char flag[300], title[600];
        snprintf(flag, sizeof flag, "%s/pwned", dir);
        snprintf(title, sizeof title, "`touch %s` it's\nset output '/tmp/x'\n\"q\"", flag);
        dlm_series hs = s;
        snprintf(hs.profile, sizeof hs.profile, "`id`'\n");
        dlm_plot_curve hc = {&hs, &fs, &d, &p, &f, 1};
        TAP_EQ(dlm_plot_write(dir, "evil", title, &hc, 1), DLM_OK, "hostile title written: %s",
               dlm_errmsg());
        snprintf(path, sizeof path, "%s/evil.gp", dir);
        char *e = slurp(path);
        int dq_backtick = 0;
        for (char *q = e; q && (q = strchr(q, '"')); q++) {
            char *end = strchr(q + 1, '"');
            if (!end) break;
            if (memchr(q, '`', (size_t)(end - q))) dq_backtick = 1;
            q = end;
        }
        TAP_OK(e && !dq_backtick, "no backtick inside a double-quoted gnuplot string");
        TAP_OK(e && strstr(e, "set title '`touch ") && strstr(e, "it''s?set output ''/tmp/x''?\"q\"'"),
               "the title is one single-quoted line: ' doubled, newlines replaced");
        if (dlm_gnuplot_available()) {
            TAP_EQ(dlm_plot_render(dir, "evil"), DLM_OK, "the hostile script renders: %s",
                   dlm_errmsg());
            TAP_OK(access(flag, F_OK) != 0, "and runs no command (%s not created)", flag);
        } else {
            printf("ok %d - # SKIP gnuplot is not on PATH\n", ++tap_n);
            printf("ok %d - # SKIP gnuplot is not on PATH\n", ++tap_n);
        }
        remove(flag);
        remove(path);
        snprintf(path, sizeof path, "%s/evil.png", dir);
        remove(path);
        snprintf(path, sizeof path, "%s/evil.svg", dir);
        remove(path);
    }
    /* A gnuplot that fails, or leaves a truncated PNG (a full disk), keeps the
     * earlier plot: a stand-in gnuplot on PATH plays both. */
    {
        char bin[300], fake[400], png[300], keep[16] = "old plot\n";
        snprintf(bin, sizeof bin, "%s/bin", dir);
        snprintf(fake, sizeof fake, "%s/gnuplot", bin);
        snprintf(png, sizeof png, "%s/fig.png", dir);
        FILE *o = fopen(png, "w");
        if (o) { fputs(keep, o); fclose(o); }
        char *oldp = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
        setenv("PATH", bin, 1);
        for (int mode = 0; mode < 2; mode++) {
            mkdir(bin, 0700);
            FILE *g = fopen(fake, "w");
            if (g) {
                /* $2 is outstem='...': write a PNG without its end, then exit 0 or 1 */
                fprintf(g, "#!/bin/sh\nstem=${2#outstem=\\'}\nstem=${stem%%\\'}\n"
                           "printf '\\211PNG\\r\\n' > \"$stem.png\"\nprintf '<svg>' > \"$stem.svg\"\n"
                           "exit %d\n", mode == 0 ? 1 : 0);
                fclose(g);
                chmod(fake, 0700);
            }
            dlm_status rs = dlm_plot_render(dir, "fig");
            TAP_OK(rs == DLM_EIO && strstr(dlm_errmsg(), mode ? "incomplete" : "gnuplot failed"),
                   "%s: refused: %s", mode ? "a truncated PNG" : "gnuplot's exit 1", dlm_errmsg());
            char *kept = slurp(png);
            TAP_OK(kept && !strcmp(kept, keep), "the earlier fig.png is kept");
            DIR *dd = opendir(dir);
            int left = 0;
            for (struct dirent *de; dd && (de = readdir(dd));)
                if (strstr(de->d_name, ".tmp-")) left++;
            if (dd) closedir(dd);
            TAP_EQ(left, 0, "no temporary file left behind");
        }
        remove(fake);
        rmdir(bin);
        remove(png);
        if (oldp) {
            setenv("PATH", oldp, 1);
            free(oldp);
        }
    }
    /* with an empty PATH the renderer says gnuplot is missing */
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", "/nonexistent", 1);
    TAP_EQ(dlm_gnuplot_available(), 0, "no gnuplot on an empty PATH");
    TAP_EQ(dlm_plot_render(dir, "fig"), DLM_EUNSUPPORTED, "render without gnuplot refused");
    TAP_OK(strstr(dlm_errmsg(), "gnuplot is not on PATH") != NULL, "and says so: %s", dlm_errmsg());
    if (old) {
        setenv("PATH", old, 1);
        free(old);
    }
    snprintf(path, sizeof path, "%s/fig.gp", dir);
    remove(path);
    rmdir(dir);
    dlm_fitdata_free(&d);
    return tap_done();
}
