/* lloyd.c — Lloyd's k-means and the k-means++ start, collective over a communicator (em.h). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/em.h"
#include "tgmm/rng.h"

#define KMPP_SAMPLE 16384 /* rows k-means++ runs on (all rows when there are fewer) */
#define LL_BLOCK 2048
#define KMPP_SUB 1000000 /* rng sub-stream offset: k-means++ draws vs the random starts */

/* Gather the rows with global index floor((j + u) * N / M), j = 0..M-1, in global order. */
static int gather_sample(const double *x, int64_t n, int64_t row0, int d, MPI_Comm comm,
                         tgmm_rng *r, double **out, int64_t *M_out) {
  int size;
  MPI_Comm_size(comm, &size);
  int64_t N = n;
  MPI_Allreduce(MPI_IN_PLACE, &N, 1, MPI_INT64_T, MPI_SUM, comm);
  int64_t M = N <= KMPP_SAMPLE ? N : KMPP_SAMPLE;
  double u = N <= KMPP_SAMPLE ? 0.0 : tgmm_rng_uniform(r);
  double *loc = tgmm_malloc(sizeof(double) * (size_t)(M > 0 ? M : 1) * d);
  double *all = tgmm_malloc(sizeof(double) * (size_t)(M > 0 ? M : 1) * d);
  int *counts = tgmm_malloc(sizeof(int) * (size_t)size), *displs = tgmm_malloc(sizeof(int) * (size_t)size);
  int rc = (loc && all && counts && displs) ? TGMM_OK : TGMM_ENOMEM;
  int nloc = 0;
  for (int64_t j = 0; rc == TGMM_OK && j < M; j++) {
    int64_t g = N <= KMPP_SAMPLE ? j : (int64_t)(((double)j + u) * (double)N / (double)M);
    if (g >= N) g = N - 1;
    if (g >= row0 && g < row0 + n) memcpy(loc + (size_t)nloc++ * d, x + (size_t)(g - row0) * d, sizeof(double) * d);
  }
  int mine = nloc * d;
  int bad = rc != TGMM_OK;
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, comm);
  if (!bad) {
    MPI_Allgather(&mine, 1, MPI_INT, counts, 1, MPI_INT, comm);
    displs[0] = 0;
    for (int i = 1; i < size; i++) displs[i] = displs[i - 1] + counts[i - 1];
    MPI_Allgatherv(loc, mine, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, comm);
  } else if (rc == TGMM_OK) {
    rc = TGMM_ENOMEM;
  }
  free(loc), free(counts), free(displs);
  if (rc != TGMM_OK) {
    free(all);
    return rc;
  }
  *out = all;
  *M_out = M;
  return TGMM_OK;
}

static double sqdist(const double *a, const double *b, int d) {
  double s = 0;
  for (int j = 0; j < d; j++) s += (a[j] - b[j]) * (a[j] - b[j]);
  return s;
}

/* Index i with prefix-sum crossing t (D^2 sampling). */
static int64_t pick(const double *w, int64_t M, double t) {
  double acc = 0;
  for (int64_t i = 0; i < M; i++) {
    acc += w[i];
    if (acc > t) return i;
  }
  return M - 1;
}

int tgmm_kmeanspp(const double *x, int64_t n, int64_t row0, int d, int K, MPI_Comm comm,
                  uint32_t seed, int64_t task_id, int restart, double *means) {
  tgmm_rng r;
  tgmm_rng_init(&r, seed, TGMM_STREAM_EM, (uint64_t)task_id, KMPP_SUB + (uint32_t)restart);
  double *s = NULL;
  int64_t M = 0;
  TGMM_TRY(gather_sample(x, n, row0, d, comm, &r, &s, &M));
  if (M == 0) { /* no data: fall back to zeros */
    memset(means, 0, sizeof(double) * (size_t)K * d);
    free(s);
    return TGMM_OK;
  }
  int trials = 2 + (int)log((double)K);
  double *dmin = tgmm_malloc(sizeof(double) * (size_t)M), *dc = tgmm_malloc(sizeof(double) * (size_t)M);
  double *best = tgmm_malloc(sizeof(double) * (size_t)M);
  if (!dmin || !dc || !best) {
    free(s), free(dmin), free(dc), free(best);
    return TGMM_ENOMEM;
  }
  int64_t first = tgmm_rng_int(&r, 0, M - 1);
  memcpy(means, s + (size_t)first * d, sizeof(double) * d);
  double pot = 0;
  for (int64_t i = 0; i < M; i++) pot += dmin[i] = sqdist(s + (size_t)i * d, means, d);
  for (int k = 1; k < K; k++) {
    double best_pot = INFINITY;
    int64_t best_i = 0;
    for (int t = 0; t < trials; t++) {
      int64_t c = pot > 0 ? pick(dmin, M, tgmm_rng_uniform(&r) * pot) : tgmm_rng_int(&r, 0, M - 1);
      double p = 0;
      for (int64_t i = 0; i < M; i++) {
        double v = sqdist(s + (size_t)i * d, s + (size_t)c * d, d);
        dc[i] = v < dmin[i] ? v : dmin[i];
        p += dc[i];
      }
      if (p < best_pot) {
        best_pot = p, best_i = c;
        memcpy(best, dc, sizeof(double) * (size_t)M);
      }
    }
    memcpy(means + (size_t)k * d, s + (size_t)best_i * d, sizeof(double) * d);
    memcpy(dmin, best, sizeof(double) * (size_t)M);
    pot = best_pot;
  }
  free(s), free(dmin), free(dc), free(best);
  return TGMM_OK;
}

int tgmm_lloyd_fit(const double *x, int64_t n, int d, int K, MPI_Comm comm, int max_iter,
                   double *means, double *weights, tgmm_lloyd_result *res) {
  memset(res, 0, sizeof *res);
  size_t nn = (size_t)(n > 0 ? n : 1), Kd = (size_t)K * d;
  int32_t *lab = tgmm_malloc(sizeof(int32_t) * nn);
  double *xsq = tgmm_malloc(sizeof(double) * nn), *lp = tgmm_malloc(sizeof(double) * LL_BLOCK * K);
  double *mm = tgmm_malloc(sizeof(double) * (size_t)K);
  double *st = tgmm_malloc(sizeof(double) * (3 + K + Kd)); /* changes, inertia, N, counts, sums */
  int rc = (lab && xsq && lp && mm && st) ? TGMM_OK : TGMM_ENOMEM;
  int bad = rc != TGMM_OK;
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, comm);
  if (bad) {
    free(lab), free(xsq), free(lp), free(mm), free(st);
    return TGMM_ENOMEM;
  }
  for (int64_t i = 0; i < n; i++) {
    double s = 0;
    for (int j = 0; j < d; j++) s += x[(size_t)i * d + j] * x[(size_t)i * d + j];
    xsq[i] = s;
    lab[i] = -1;
  }
  double *counts = st + 3, *sums = counts + K;
  for (int it = 1; it <= max_iter; it++) {
    memset(st, 0, sizeof(double) * (3 + K + Kd));
    for (int k = 0; k < K; k++) {
      double s = 0;
      for (int j = 0; j < d; j++) s += means[(size_t)k * d + j] * means[(size_t)k * d + j];
      mm[k] = s;
    }
    for (int64_t i0 = 0; i0 < n; i0 += LL_BLOCK) {
      int B = (int)(n - i0 < LL_BLOCK ? n - i0 : LL_BLOCK);
      /* lp = x mu^T; squared distance = ||x||^2 - 2 lp + ||mu||^2 */
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, K, d, 1.0, x + (size_t)i0 * d, d,
                  means, d, 0.0, lp, K);
      for (int b = 0; b < B; b++) {
        int64_t i = i0 + b;
        int kb = 0;
        double db = INFINITY;
        for (int k = 0; k < K; k++) {
          double v = xsq[i] - 2 * lp[(size_t)b * K + k] + mm[k];
          if (v < db) db = v, kb = k;
        }
        if (lab[i] != kb) st[0] += 1;
        lab[i] = kb;
        st[1] += db > 0 ? db : 0;
        counts[kb] += 1;
        double *sk = sums + (size_t)kb * d;
        for (int j = 0; j < d; j++) sk[j] += x[(size_t)i * d + j];
      }
    }
    st[2] = (double)n;
    MPI_Allreduce(MPI_IN_PLACE, st, (int)(3 + K + Kd), MPI_DOUBLE, MPI_SUM, comm);
    res->iterations = it;
    res->inertia = st[1] / (st[2] > 0 ? st[2] : 1);
    for (int k = 0; k < K; k++) weights[k] = counts[k] / (st[2] > 0 ? st[2] : 1);
    if (it > 1 && st[0] == 0) {
      res->converged = 1;
      break;
    }
    for (int k = 0; k < K; k++)
      if (counts[k] > 0)
        for (int j = 0; j < d; j++) means[(size_t)k * d + j] = sums[(size_t)k * d + j] / counts[k];
  }
  free(lab), free(xsq), free(lp), free(mm), free(st);
  return TGMM_OK;
}
