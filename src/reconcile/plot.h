/* plot.h — gnuplot scripts comparing theory and measurement, and rendering
 * them when gnuplot is installed.
 *
 * A figure shows one or more series of the same model, mode and input
 * variable: measured points, the analytic prediction as a dashed line, the
 * chosen fit as a solid line, and findings marked (points circled and named;
 * whole-series findings named in the legend).  Axes carry units (samples,
 * tokens, MiB); the x axis is logarithmic (base 2) when it spans 8x or more.
 * Each script is self-contained (data inline) and writes NAME.png and NAME.svg
 * beside itself when run with `gnuplot NAME.gp` in its folder.
 *
 * What it is not: a plotting library; nothing but gnuplot's text is written.
 */
#ifndef DLM_PLOT_H
#define DLM_PLOT_H

#include "deviation.h"
#include "fit.h"
#include "series.h"

typedef struct dlm_plot_curve {
    const dlm_series *s;
    const dlm_fitset *fit;        /* may be NULL or not fitted */
    const dlm_fitdata *data;      /* the points per x the fit used; may be NULL */
    const dlm_prediction *pred;   /* may be NULL or have == 0 */
    const dlm_finding *findings;  /* this series' findings */
    int n_findings;
} dlm_plot_curve;

/* Writes DIR/STEM.gp.  title: one line.  Errors: DLM_EIO naming the file. */
dlm_status dlm_plot_write(const char *dir, const char *stem, const char *title,
                          const dlm_plot_curve *curves, int n);

/* 1 if an executable gnuplot is on PATH. */
int dlm_gnuplot_available(void);

/* Runs gnuplot on DIR/STEM.gp in DIR (writing STEM.png and STEM.svg).
 * Without gnuplot: DLM_EUNSUPPORTED with a message saying so. */
dlm_status dlm_plot_render(const char *dir, const char *stem);

#endif
