/* infer_time.c — CPU seconds per task of TGMM inference (tgmm_model_predict) at the laptop
 * model's shape (d = 8, 4 layers x 64 wide, 4 heads, bidirectional, Kmax = 5, random weights),
 * one thread: the least over REPS calls on CHUNK tasks of N tokens. CPU time of the process, not
 * wall time, so that a shared machine's time slicing does not count (its cache sharing does).
 *   infer_time [N (64)] [CHUNK (16)] [REPS (200)]
 * Prints: infer_cpu_ms_per_task=<..> N=<..> chunk=<..> */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tgmm/model.h"
#include "tgmm/rng.h"

void openblas_set_num_threads(int);

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  int N = argc > 1 ? atoi(argv[1]) : 64, nt = argc > 2 ? atoi(argv[2]) : 16;
  int reps = argc > 3 ? atoi(argv[3]) : 200;
  openblas_set_num_threads(1);
  tgmm_model_dims dim = {.d = 8, .C = 64, .L = 4, .H = 4, .E = 128, .Kmax = 5, .nclass = 1};
  tgmm_model m;
  if (tgmm_model_create(&m, &dim)) return 1;
  tgmm_model_init(&m, 1);
  int *off = malloc(sizeof(int) * (size_t)(nt + 1)), *K = malloc(sizeof(int) * (size_t)nt);
  int *cls = calloc((size_t)nt, sizeof(int));
  float *x = malloc(sizeof(float) * (size_t)nt * N * dim.d);
  double *w = malloc(sizeof(double) * (size_t)nt * dim.Kmax);
  double *mu = malloc(sizeof(double) * (size_t)nt * dim.Kmax * dim.d);
  if (!off || !K || !cls || !x || !w || !mu) return 1;
  tgmm_rng r;
  tgmm_rng_init(&r, 7, 1, 0, 0);
  for (size_t i = 0; i < (size_t)nt * N * dim.d; i++) x[i] = (float)tgmm_rng_normal(&r);
  for (int i = 0; i <= nt; i++) off[i] = i * N;
  for (int i = 0; i < nt; i++) K[i] = 2 + i % 4;
  tgmm_batch b = {.ntask = nt, .off = off, .K = K, .cls = cls, .x = x};
  double best = 1e30;
  for (int i = 0; i < reps; i++) {
    double t = cpu_now();
    if (tgmm_model_predict(&m, &b, w, mu, NULL)) return 1;
    t = cpu_now() - t;
    if (t < best) best = t;
  }
  printf("infer_cpu_ms_per_task=%.4f N=%d chunk=%d\n", 1e3 * best / nt, N, nt);
  tgmm_model_free(&m);
  free(off), free(K), free(cls), free(x), free(w), free(mu);
  return 0;
}
