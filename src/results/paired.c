/* paired.c — paired comparisons over the tasks of a setting (include/tgmm/results.h): the
 * per-task difference TGMM - method, its mean with a 95% interval (Student's t), and the two-sided
 * Wilcoxon signed-rank p-value as SciPy's default `scipy.stats.wilcoxon(x, y)` computes it
 * (SciPy 1.10: zero_method "wilcox", no continuity correction, method "auto": the exact
 * distribution for at most 50 differences without a zero, else the normal approximation with the
 * zeros dropped and the tie correction of the variance). Pure functions; no MPI, no files. */
#include "tgmm/results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"

/* Student's t quantile t_{0.975, df} (df >= 1): a table to 30, then the Cornish-Fisher series
 * (within 2e-6). */
double tgmm_t975(int df) {
  static const double T[31] = {
      NAN,      12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624,
      2.306004, 2.262157,  2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450,
      2.119905, 2.109816,  2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658,
      2.063899, 2.059539,  2.055529, 2.051831, 2.048407, 2.045230, 2.042272};
  if (df < 1) return NAN;
  if (df <= 30) return T[df];
  const double z = 1.959963984540054, n = df;
  return z + (pow(z, 3) + z) / (4 * n) + (5 * pow(z, 5) + 16 * pow(z, 3) + 3 * z) / (96 * n * n) +
         (3 * pow(z, 7) + 19 * pow(z, 5) + 17 * pow(z, 3) - 15 * z) / (384 * n * n * n);
}

static int cmp_abs(const void *a, const void *b) {
  double x = fabs(*(const double *)a), y = fabs(*(const double *)b);
  return (x > y) - (x < y);
}

/* Exact two-sided p of r_plus among n differences: the distribution of the sum of the ranks of
 * the positive ones (SciPy's _get_wilcoxon_distr), r_plus truncated to an integer as SciPy does. */
static double exact_p(int n, double r_plus) {
  int top = n * (n + 1) / 2;
  double *c = tgmm_calloc((size_t)top + 1, sizeof *c), *prev = tgmm_calloc((size_t)top + 1, sizeof *c);
  if (!c || !prev) {
    free(c), free(prev);
    return NAN;
  }
  c[0] = 1;
  for (int k = 1; k <= n; k++) {
    int m = (k - 1) * k / 2 + 1, len = k * (k + 1) / 2 + 1;
    memcpy(prev, c, sizeof *c * (size_t)m);
    memset(c, 0, sizeof *c * (size_t)len);
    for (int i = 0; i < m; i++) c[i] += 0.5 * prev[i], c[len - m + i] += 0.5 * prev[i];
  }
  int r = (int)r_plus;
  double p;
  if (r == top / 2) {
    p = 1;
  } else {
    double lo = 0, hi = 0;
    for (int i = 0; i <= r && i <= top; i++) lo += c[i];
    for (int i = r; i <= top; i++) hi += c[i];
    p = fmin(1, 2 * fmin(lo, hi));
  }
  free(c), free(prev);
  return p;
}

double tgmm_wilcoxon(const double *d_in, int n, double *r_plus_out, double *r_minus_out) {
  double rp = 0, rm = 0, p = NAN;
  double *d = n > 0 ? tgmm_malloc(sizeof *d * (size_t)n) : NULL;
  if (n > 0 && d) {
    int nz = 0, m = 0;
    for (int i = 0; i < n; i++) nz += d_in[i] == 0;
    int exact = n <= 50 && nz == 0;
    for (int i = 0; i < n; i++)
      if (d_in[i] != 0 || exact) d[m++] = d_in[i]; /* approx: zeros dropped */
    qsort(d, (size_t)m, sizeof *d, cmp_abs);
    double tie = 0; /* sum of t^3 - t over groups of equal |d| */
    for (int i = 0; i < m;) {
      int j = i;
      while (j + 1 < m && fabs(d[j + 1]) == fabs(d[i])) j++;
      double rank = 0.5 * (i + j) + 1, t = j - i + 1;
      for (int q = i; q <= j; q++) rp += d[q] > 0 ? rank : 0, rm += d[q] < 0 ? rank : 0;
      tie += t * t * t - t;
      i = j + 1;
    }
    if (m == 0) {
      p = 1; /* every difference zero (SciPy raises): no evidence of a difference */
    } else if (exact) {
      p = exact_p(m, rp);
    } else {
      double mn = m * (m + 1.0) * 0.25;
      double se = sqrt((m * (m + 1.0) * (2.0 * m + 1.0) - 0.5 * tie) / 24);
      double T = fmin(rp, rm);
      p = se > 0 ? erfc(fabs((T - mn) / se) / sqrt(2.0)) : 1;
    }
  }
  free(d);
  if (r_plus_out) *r_plus_out = rp;
  if (r_minus_out) *r_minus_out = rm;
  return p;
}

void tgmm_paired_summary(const double *d, int n, tgmm_report_pair *out) {
  memset(out, 0, sizeof *out);
  out->n = n;
  out->mean = out->lo = out->hi = out->p = NAN;
  if (n < 1) return;
  double s1 = 0, s2 = 0;
  for (int i = 0; i < n; i++) {
    s1 += d[i], s2 += d[i] * d[i];
    out->lower += d[i] < 0, out->higher += d[i] > 0;
  }
  out->mean = s1 / n;
  double half = n > 1 ? tgmm_t975(n - 1) * sqrt(fmax(0, (s2 - s1 * s1 / n) / (n - 1)) / n) : NAN;
  out->lo = out->mean - half, out->hi = out->mean + half;
  out->p = tgmm_wilcoxon(d, n, &out->r_plus, &out->r_minus);
}
