/* results.h — the results data model that `tgmm eval` writes and `tgmm report` reads
 * (src/results/results.c): per (setting, method), the mean, sd and counts of every metric over
 * the tasks, from a results file or from the sums eval reduces over its ranks. Local: no MPI
 * communication (a results file is read by the calling rank alone). */
#ifndef TGMM_RESULTS_H
#define TGMM_RESULTS_H

#include <stddef.h>
#include <stdio.h>

#define TGMM_REPORT_NMETRIC 7 /* l2_means l2_weights accuracy misclustering loglik seconds
                                 l2_scales (absent from older files: NaN) */

/* A paired comparison over the tasks of one setting (tasks are shared across methods): the
 * per-task difference d = TGMM's value - this method's, on the n tasks where both are ok and
 * finite; its mean with the 95% interval [lo, hi] (Student's t), the tasks where TGMM's value is
 * lower / higher, the Wilcoxon signed-rank sums of the positive and negative d, and the
 * two-sided p (tgmm_wilcoxon). n = 0: no pairs (NaN fields). */
typedef struct {
  int n, lower, higher;
  double mean, lo, hi, p, r_plus, r_minus;
} tgmm_report_pair;

/* Per (setting, method): mean, sample standard deviation and median of every metric over the tasks
 * whose status is ok and whose value is finite; n_ok and n_other (failed, not_applicable or a
 * non-finite value: counted, never silently dropped); vs_tgmm: paired against the tgmm method of
 * the same setting (from a results file with /task; n = 0 from sums, for tgmm itself, or when the
 * file has no tgmm rows). */
typedef struct {
  double mean[TGMM_REPORT_NMETRIC], sd[TGMM_REPORT_NMETRIC];
  double median[TGMM_REPORT_NMETRIC]; /* over the same tasks; NaN from sums (no rows) */
  int n_ok[TGMM_REPORT_NMETRIC], n_other[TGMM_REPORT_NMETRIC];
  tgmm_report_pair vs_tgmm[TGMM_REPORT_NMETRIC];
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
/* Whether some (setting, method) has a value of metric c. */
int tgmm_report_has_metric(const tgmm_report *r, int c);
/* The same aggregate from sums (what `tgmm eval` reduces over its ranks): sums [ns, nm,
 * TGMM_REPORT_NMETRIC, 4] = tasks ok with a finite value, other tasks, sum, sum of squares;
 * label [ns], methods [nm] (nm <= 32). */
int tgmm_report_from_sums(tgmm_report *r, int ns, int nm, const char (*label)[512],
                          const char *const *methods, const double *sums);

/* The cell of setting s, method j. */
static inline const tgmm_report_cell *tgmm_report_at(const tgmm_report *r, int s, int j) {
  return &r->cell[s * 32 + j];
}

/* The two-sided Wilcoxon signed-rank p-value of the n differences d (SciPy 1.10's default
 * `wilcoxon`: exact for n <= 50 without zeros, else the normal approximation without the zeros,
 * tie-corrected; 1 when every difference is zero, NaN for n = 0), and the rank sums of the
 * positive and negative differences (either pointer may be NULL). src/results/paired.c. */
double tgmm_wilcoxon(const double *d /* [n] */, int n, double *r_plus, double *r_minus);
/* The mean of d [n], its 95% interval and the Wilcoxon test, as a tgmm_report_pair. */
void tgmm_paired_summary(const double *d /* [n] */, int n, tgmm_report_pair *out);
/* Student's t quantile t_{0.975, df} (df >= 1; NaN below). */
double tgmm_t975(int df);

/* A Markdown table of metrics[0..nmetric-1] (indices into tgmm_report_metric_name). */
void tgmm_report_markdown(const tgmm_report *r, const int *metrics, int nmetric, FILE *f);

/* A grid value for display and for tables: "[3]" -> "3"; anything else unchanged. */
void tgmm_report_bare_value(const char *v, char *out, size_t n);

#endif
