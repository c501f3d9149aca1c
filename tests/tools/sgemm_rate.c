/* sgemm_rate.c — this machine's cblas_sgemm rate (GFLOP/s) on the shapes of the TGMM model's
 * linear maps: M tokens x (K, N) in {(128,384), (128,128), (128,512), (512,128)}, OpenBLAS with
 * the given number of threads. Prints the best rate over a few repetitions of each shape, then
 * the mean over shapes (used by tests/bench/train_vs_torch.sh).
 * usage: sgemm_rate THREADS [M] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "tgmm/common.h"

void openblas_set_num_threads(int);

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1, M = argc > 2 ? atoi(argv[2]) : 24576;
  openblas_set_num_threads(threads);
  const int shapes[4][2] = {{128, 384}, {128, 128}, {128, 512}, {512, 128}};
  float *A = malloc(sizeof(float) * (size_t)M * 512), *B = malloc(sizeof(float) * 512 * 512),
        *C = malloc(sizeof(float) * (size_t)M * 512);
  if (!A || !B || !C) return 1;
  for (size_t i = 0; i < (size_t)M * 512; i++) A[i] = (float)(i % 7) * 0.1f;
  for (size_t i = 0; i < 512 * 512; i++) B[i] = (float)(i % 5) * 0.1f;
  double sum = 0;
  for (int s = 0; s < 4; s++) {
    int K = shapes[s][0], N = shapes[s][1];
    double best = 0;
    for (int r = 0; r < 5; r++) {
      double t = tgmm_now();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
      t = tgmm_now() - t;
      double g = 2.0 * M * N * K / t * 1e-9;
      if (g > best) best = g;
    }
    printf("sgemm M=%d K=%d N=%d threads=%d: %.1f GFLOP/s\n", M, K, N, threads, best);
    sum += best;
  }
  printf("mean %.1f\n", sum / 4);
  free(A), free(B), free(C);
  return 0;
}
