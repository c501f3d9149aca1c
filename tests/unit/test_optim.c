/* test_optim.c — AdamW against a double-precision transcription of torch.optim.AdamW, the
 * learning-rate schedules and global-norm clipping. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tgmm/optim.h"

static void test_adamw(void **state) {
  (void)state;
  enum { n = 5 };
  tgmm_adamw opt = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1};
  float p[n] = {1.0f, -2.0f, 0.5f, 0.0f, 3.0f}, m[n] = {0}, v[n] = {0};
  double pd[n], md[n] = {0}, vd[n] = {0};
  for (int i = 0; i < n; i++) pd[i] = p[i];
  for (int t = 1; t <= 4; t++) {
    float g[n];
    for (int i = 0; i < n; i++) g[i] = (float)(0.3 * (i - 2) + 0.1 * t);
    tgmm_adamw_step(&opt, t, n, p, g, m, v);
    for (int i = 0; i < n; i++) { /* torch: decay, moments, bias-corrected step */
      pd[i] *= 1 - opt.lr * opt.weight_decay;
      md[i] = 0.9 * md[i] + 0.1 * g[i];
      vd[i] = 0.999 * vd[i] + 0.001 * (double)g[i] * g[i];
      double mh = md[i] / (1 - pow(0.9, t)), vh = vd[i] / (1 - pow(0.999, t));
      pd[i] -= opt.lr * mh / (sqrt(vh) + opt.eps);
    }
  }
  for (int i = 0; i < n; i++) assert_true(fabs(p[i] - pd[i]) < 1e-6);
  /* first step moves every parameter with a non-zero gradient by about lr */
  float q[1] = {0.0f}, g1[1] = {1e-3f}, m1[1] = {0}, v1[1] = {0};
  tgmm_adamw opt0 = opt;
  opt0.weight_decay = 0;
  tgmm_adamw_step(&opt0, 1, 1, q, g1, m1, v1);
  assert_true(fabs(q[0] + 1e-2) < 1e-6);
}

static void test_schedule(void **state) {
  (void)state;
  tgmm_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.train.lr = 1e-3;
  cfg.train.steps = 110;
  cfg.train.warmup = 10;
  cfg.train.schedule = TGMM_SCHED_CONSTANT;
  assert_true(fabs(tgmm_lr_at(&cfg, 0) - 1e-4) < 1e-15);
  assert_true(fabs(tgmm_lr_at(&cfg, 9) - 1e-3) < 1e-15);
  assert_true(tgmm_lr_at(&cfg, 50) == 1e-3);
  cfg.train.schedule = TGMM_SCHED_COSINE;
  assert_true(fabs(tgmm_lr_at(&cfg, 10) - 1e-3) < 1e-15);
  assert_true(fabs(tgmm_lr_at(&cfg, 60) - 0.5e-3) < 1e-12);
  assert_true(tgmm_lr_at(&cfg, 109) > 0 && tgmm_lr_at(&cfg, 109) < 1e-6);
  cfg.train.warmup = 0;
  assert_true(tgmm_lr_at(&cfg, 0) == 1e-3);
}

static void test_clip(void **state) {
  (void)state;
  float g[2] = {3.0f, 4.0f};
  assert_true(fabs(tgmm_clip_grads(g, 2, 10.0) - 5.0) < 1e-6 && g[0] == 3.0f);
  assert_true(fabs(tgmm_clip_grads(g, 2, 1.0) - 5.0) < 1e-6);
  assert_true(fabs(tgmm_grad_norm(g, 2) - 1.0) < 1e-5);
  assert_true(fabs(tgmm_clip_grads(g, 2, 0.0) - 1.0) < 1e-5);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_adamw), cmocka_unit_test(test_schedule),
                                     cmocka_unit_test(test_clip)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
