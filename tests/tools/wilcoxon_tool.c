/* wilcoxon_tool — runs tgmm_paired_summary on samples read from stdin (for the reference test).
 * Input: whitespace-separated text: count, then per sample n followed by n differences (%.17g).
 * Output: one line per sample: p, r_plus, r_minus, mean, lo, hi (%.17g).
 * Exit 0 on success, 2 on malformed input. */
#include <stdio.h>
#include <stdlib.h>

#include "tgmm/results.h"

int main(void) {
  int count = 0;
  if (scanf("%d", &count) != 1 || count < 0) {
    fprintf(stderr, "wilcoxon_tool: expected a sample count on stdin\n");
    return 2;
  }
  for (int s = 0; s < count; s++) {
    int n = 0;
    if (scanf("%d", &n) != 1 || n < 0 || n > 10000000) return 2;
    double *d = malloc(sizeof *d * ((size_t)n + 1));
    if (!d) return 1;
    for (int i = 0; i < n; i++)
      if (scanf("%lf", &d[i]) != 1) {
        fprintf(stderr, "wilcoxon_tool: malformed sample %d\n", s);
        free(d);
        return 2;
      }
    tgmm_report_pair p;
    tgmm_paired_summary(d, n, &p);
    printf("%.17g %.17g %.17g %.17g %.17g %.17g\n", p.p, p.r_plus, p.r_minus, p.mean, p.lo, p.hi);
    free(d);
  }
  return 0;
}
