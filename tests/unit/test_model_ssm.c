/* test_model_ssm.c — the whole model with the Mamba2 backbone on a tiny configuration: tensor
 * names and shapes, initialisation, every parameter's gradient against central finite
 * differences (isotropic and anisotropic, ragged N; the label head of model.head = both with its
 * permutations held fixed), a task's outputs unchanged when another
 * task is added to the batch, data-parallel additivity, and the same bits for any size of a
 * fixed pool (train.deterministic). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model_fixture.h"
#include "tgmm/model.h"
#include "tgmm/rng.h"

/* I = 4 x 3 = 12, G = 2, N = 2, k = 3: in_proj [2*12 + 8 + 4, 8] */
static tgmm_model_dims tiny_dims(int aniso) {
  tgmm_model_dims d = {.d = 2, .C = 8, .L = 2, .H = 2, .E = 4, .Kmax = 3, .nclass = 2,
                       .aniso = aniso, .ssm = 1, .sH = 4, .sP = 3, .sN = 2, .sG = 2, .sK = 3};
  return d;
}

static void fixture_init_h(fixture *f, int aniso, int head) {
  tgmm_model_dims d = tiny_dims(aniso);
  d.head = head;
  fixture_model(f, &d);
  for (int l = 0; l < 2; l++) { /* dt ~ 1 rather than 1e-2 and a slower decay A, so that the
                                  * scan's parameter gradients stand above float32 FD noise */
    char n[64];
    snprintf(n, sizeof n, "layers.%d.mixer.dt_bias", l);
    const tgmm_tensor *t = tgmm_model_find(&f->m, n);
    for (size_t i = 0; i < t->numel; i++) f->m.params[t->off + i] = 0.5f + 0.3f * (float)i;
    snprintf(n, sizeof n, "layers.%d.mixer.A_log", l);
    t = tgmm_model_find(&f->m, n);
    for (size_t i = 0; i < t->numel; i++) f->m.params[t->off + i] = -1.0f + 0.2f * (float)i;
    snprintf(n, sizeof n, "layers.%d.mixer.out_proj.weight", l);
    t = tgmm_model_find(&f->m, n);
    for (size_t i = 0; i < t->numel; i++) f->m.params[t->off + i] *= 4.0f;
  }
  fixture_data(f, aniso);
}

static void fixture_init(fixture *f, int aniso) { fixture_init_h(f, aniso, TGMM_HEAD_MIXTURE); }

static void test_layout(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f, 0);
  const tgmm_model *m = &f.m;
  const struct {
    const char *name;
    int s0, s1;
  } want[] = {{"task_embd.weight", 3, 4},
              {"read_in.weight", 8, 6},
              {"layers.0.norm.weight", 8, 1},
              {"layers.0.mixer.in_proj.weight", 36, 8},
              {"layers.0.mixer.conv1d.weight", 20, 1},
              {"layers.0.mixer.conv1d.bias", 20, 1},
              {"layers.1.mixer.dt_bias", 4, 1},
              {"layers.1.mixer.A_log", 4, 1},
              {"layers.1.mixer.D", 4, 1},
              {"layers.1.mixer.norm.weight", 12, 1},
              {"layers.1.mixer.out_proj.weight", 8, 12},
              {"norm_f.weight", 8, 1},
              {"readout.1.wv", 5, 8}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const tgmm_tensor *t = tgmm_model_find(m, want[i].name);
    assert_non_null(t);
    assert_int_equal(t->shape[0], want[i].s0);
    assert_int_equal(t->shape[1], want[i].s1);
  }
  const tgmm_tensor *cw = tgmm_model_find(m, "layers.1.mixer.conv1d.weight");
  assert_true(cw->ndim == 3 && cw->shape[2] == 3 && cw->numel == 60);
  assert_null(tgmm_model_find(m, "pos_embd.weight"));
  assert_null(tgmm_model_find(m, "ln_f.weight"));
  assert_int_equal(m->ntensors, 3 + 2 * 9 + 1 + 3 * 2);
  /* initialisation: A_log = log(1..H), D = 1, norms 1, dt = softplus(dt_bias) in [1e-3, 1e-1] */
  tgmm_model g;
  tgmm_model_dims d = tiny_dims(0);
  assert_int_equal(tgmm_model_create(&g, &d), 0);
  tgmm_model_init(&g, 42);
  const float *al = g.params + tgmm_model_find(&g, "layers.1.mixer.A_log")->off;
  const float *D = g.params + tgmm_model_find(&g, "layers.1.mixer.D")->off;
  const float *dtb = g.params + tgmm_model_find(&g, "layers.0.mixer.dt_bias")->off;
  const float *nw = g.params + tgmm_model_find(&g, "layers.0.mixer.norm.weight")->off;
  for (int h = 0; h < 4; h++) {
    assert_true(fabsf(al[h] - logf((float)h + 1)) < 1e-6f);
    assert_true(D[h] == 1.0f);
    double dt = log1p(exp((double)dtb[h]));
    assert_true(dt > 0.99e-3 && dt < 1.01e-1);
  }
  for (int i = 0; i < 12; i++) assert_true(nw[i] == 1.0f);
  tgmm_model_free(&g);
  fixture_free(&f);
}

static void grad_check(int aniso, int head) {
  fixture f;
  fixture_init_h(&f, aniso, head);
  if (head != TGMM_HEAD_MIXTURE) { /* z = the model's own labels shifted by one: a decisive,
                               * non-identity best permutation that no perturbation flips */
    int32_t lab[21];
    assert_int_equal(tgmm_model_predict_labels(&f.m, &f.b, lab), 0);
    for (int i = 0; i < NT; i++)
      for (int t = OFF[i]; t < OFF[i + 1]; t++) f.z[t] = (lab[t] + 1) % KS[i];
    loss_of(&f);
    assert_true(permutes(f.m.a.lmatch, 3));
  }
  /* the FD noise here is ~3e-6: an absolute slack of 1e-5, and every tensor's gradient at
   * least 5e-5, so that a missing or zero gradient fails */
  double worst = fd_check(&f, 1e-5, 5e-5);
  print_message("mamba2 aniso=%d head=%d: %d tensors, worst relative error %.2e\n", aniso, head,
                f.m.ntensors, worst);
  fixture_free(&f);
}

static void test_grad_iso(void **state) {
  (void)state;
  grad_check(0, TGMM_HEAD_MIXTURE);
  grad_check(0, TGMM_HEAD_BOTH);
}
static void test_grad_aniso(void **state) {
  (void)state;
  grad_check(1, TGMM_HEAD_MIXTURE);
}

/* Task 1's predictions alone = in the batch of four (no state or conv input crosses tasks). */
static void test_task_independent(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f, 1);
  double w[NT * 3], mu[NT * 6], sd[NT * 6], w1[3], mu1[6], sd1[6];
  assert_int_equal(tgmm_model_predict(&f.m, &f.b, w, mu, sd), 0);
  int off1[2] = {0, OFF[2] - OFF[1]};
  tgmm_batch one = f.b;
  one.ntask = 1, one.off = off1, one.K = KS + 1, one.cls = CLS + 1, one.x = f.x + OFF[1] * 2;
  assert_int_equal(tgmm_model_predict(&f.m, &one, w1, mu1, sd1), 0);
  for (int k = 0; k < 3; k++) assert_true(fabs(w1[k] - w[3 + k]) <= 1e-6);
  for (int k = 0; k < 6; k++)
    assert_true(fabs(mu1[k] - mu[6 + k]) <= 1e-5 && fabs(sd1[k] - sd[6 + k]) <= 1e-5);
  fixture_free(&f);
}

/* Loss and gradients of the batch = sums over two half batches normalised by the global B. */
static void test_split_batch(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f, 1);
  split_batch_check(&f);
  fixture_free(&f);
}

/* A fixed pool of 1, 2 or 3 threads gives the same loss and gradient bits. */
static void test_fixed_pool_bitwise(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f, 0);
  tgmm_model *m = &f.m;
  float *g0 = malloc(sizeof(float) * m->nparams);
  double L0 = 0;
  for (int n = 1; n <= 3; n++) {
    assert_int_equal(tgmm_model_set_threads_fixed(m, n), 0);
    double L;
    assert_int_equal(tgmm_model_forward(m, &f.b, NT, &L, NULL), 0);
    tgmm_model_zero_grad(m);
    tgmm_model_backward(m, &f.b, NT);
    if (n == 1) {
      L0 = L;
      memcpy(g0, m->grads, sizeof(float) * m->nparams);
    } else {
      assert_true(L == L0);
      assert_memory_equal(g0, m->grads, sizeof(float) * m->nparams);
    }
  }
  free(g0);
  fixture_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layout),           cmocka_unit_test(test_grad_iso),
      cmocka_unit_test(test_grad_aniso),       cmocka_unit_test(test_task_independent),
      cmocka_unit_test(test_split_batch),      cmocka_unit_test(test_fixed_pool_bitwise),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
