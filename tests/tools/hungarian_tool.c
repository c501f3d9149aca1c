/* hungarian_tool — runs tgmm_hungarian on matrices read from stdin (for the reference test).
 * Input: whitespace-separated text: count, then per matrix n followed by n*n costs (row-major).
 * Output: one line per matrix: the total cost (%.17g), then assign[0..n-1].
 * Exit 0 on success, 2 on malformed input. */
#include <stdio.h>
#include <stdlib.h>

#include "tgmm/metrics.h"

static int run_one(FILE *in, FILE *out) {
  int n = 0;
  if (fscanf(in, "%d", &n) != 1 || n < 0 || n > 100000) return 2;
  double *cost = malloc(sizeof(double) * ((size_t)n * (size_t)n + 1));
  int *assign = malloc(sizeof(int) * ((size_t)n + 1));
  int rc = (cost && assign) ? 0 : 1;
  for (long i = 0; rc == 0 && i < (long)n * n; i++)
    if (fscanf(in, "%lf", &cost[i]) != 1) rc = 2;
  if (rc == 0) {
    double total = tgmm_hungarian(cost, n, assign);
    fprintf(out, "%.17g", total);
    for (int i = 0; i < n; i++) fprintf(out, " %d", assign[i]);
    fputc('\n', out);
  }
  free(cost);
  free(assign);
  return rc;
}

int main(void) {
  int count = 0;
  if (scanf("%d", &count) != 1 || count < 0) {
    fprintf(stderr, "hungarian_tool: expected a matrix count on stdin\n");
    return 2;
  }
  for (int m = 0; m < count; m++) {
    int rc = run_one(stdin, stdout);
    if (rc != 0) {
      fprintf(stderr, "hungarian_tool: malformed matrix %d\n", m);
      return rc;
    }
  }
  return 0;
}
