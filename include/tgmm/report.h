/* report.h — results files of `tgmm eval` turned into tables (Markdown, CSV, LaTeX) and plots
 * (PNG through gnuplot when it is installed). Rank 0 only; no MPI communication. */
#ifndef TGMM_REPORT_H
#define TGMM_REPORT_H

#include <stdint.h>
#include <stdio.h>

#define TGMM_REPORT_NMETRIC 6 /* l2_means l2_weights accuracy misclustering loglik seconds */

/* Per (setting, method): mean and sample standard deviation of every metric over the tasks
 * whose status is ok and whose value is finite; n_ok and n_other (failed, not_applicable or a
 * non-finite value: counted, never silently dropped). */
typedef struct {
  double mean[TGMM_REPORT_NMETRIC], sd[TGMM_REPORT_NMETRIC];
  int n_ok[TGMM_REPORT_NMETRIC], n_other[TGMM_REPORT_NMETRIC];
} tgmm_report_cell;

typedef struct {
  int ns, nm;
  char (*label)[512];   /* [ns] setting labels */
  char (*method)[16];   /* [nm] methods, in order of first appearance */
  tgmm_report_cell *cell; /* [ns, nm] */
} tgmm_report;

extern const char *const tgmm_report_metric_name[TGMM_REPORT_NMETRIC];

/* Read a results file and aggregate. Errors name the file and dataset (TGMM_EUSER). */
int tgmm_report_load(const char *path, tgmm_report *r);
void tgmm_report_free(tgmm_report *r);

/* A Markdown table of metrics[0..nmetric-1] (indices into tgmm_report_metric_name). */
void tgmm_report_markdown(const tgmm_report *r, const int *metrics, int nmetric, FILE *f);

/* With methods tgmm and em: per setting, whether TGMM's mean l2 error of means is below EM's,
 * with spectral's and the oracle's beside it, in plain words (Markdown list). */
void tgmm_report_verdict(const tgmm_report *r, FILE *f);

/* Learning curves of a training run (RUN_DIR/metrics.h5): PREFIX.loss.png, PREFIX.heldout.png
 * with their .gp and .dat (PREFIX NULL: RUN_DIR/curves) and the last held-out evaluation
 * against EM and spectral on stdout. */
int tgmm_report_curves(const char *run_dir, const char *prefix);

#endif
