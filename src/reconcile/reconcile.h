/* reconcile.h — measured series against the analytic model, end to end: read
 * CSVs, group into series, fit, predict, compare, detect deviations, plot.
 * `dlmem reconcile` and `dlmem report` are thin layers over this.
 *
 * What it is not: output formatting for a command (src/cli/).
 */
#ifndef DLM_RECONCILE_H
#define DLM_RECONCILE_H

#include <stdio.h>

#include "deviation.h"
#include "fit.h"
#include "plot.h"
#include "series.h"

typedef struct dlm_recon {
    dlm_series_set set;
    dlm_fitdata *data;       /* per series */
    dlm_fitset *fits;
    dlm_prediction *preds;
    dlm_compare *cmps;
    dlm_findings findings;   /* .series indexes set.s */
} dlm_recon;

/* Reads every file (all are read before anything is analysed, so a malformed
 * one fails first), then analyses.  sm <= 0: from each series' GPU name. */
dlm_status dlm_recon_files(const char *const *files, int n, int sm, dlm_recon **out);

/* Analyses a set the caller filled (takes ownership of *set). */
dlm_status dlm_recon_set(dlm_series_set *set, int sm, dlm_recon **out);

void dlm_recon_free(dlm_recon *r);

/* Findings of series i (pointer into r->findings, count in *n; they are
 * stored contiguously per series). */
const dlm_finding *dlm_recon_findings_of(const dlm_recon *r, int i, int *n);

/* Figures: series of one model, mode, dtype, profile, GPU and input variable
 * together (at most 4 curves each).  Writes DIR/<stem>.gp for each, renders
 * when gnuplot is available (render = 1), and returns the stems written
 * (caller frees each and the array) and whether they were rendered. */
dlm_status dlm_recon_plots(const dlm_recon *r, const char *dir, int render, char ***stems,
                           char ***titles, int *n, int *rendered);

/* Number formatting shared by the commands: MiB with 2 decimals ("12.34"),
 * and "a +/- b" of a coefficient in MiB per unit. */
const char *dlm_fmt_mib(char *buf, size_t n, double bytes);

#endif
