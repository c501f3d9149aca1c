/* test_model.c — the whole TGMM model on a tiny configuration: tensor names and shapes,
 * deterministic GPT-2 initialisation, every parameter's gradient against central finite
 * differences (causal+learned and bidirectional+none, isotropic and anisotropic, ragged N),
 * data-parallel additivity (two half batches with the global norm = the full batch),
 * inference output; the Hungarian-matched loss: gradients with the match held fixed, the match a
 * permutation, and equal to the canonical loss when predictions are in canonical order; the label
 * head (model.head = labels | both): gradients with its permutations held fixed, its loss the
 * minimum over all label permutations (brute force, K <= 6), label inference. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model_fixture.h"
#include "tgmm/model.h"
#include "tgmm/rng.h"

static tgmm_model_dims tiny_dims(int causal, int aniso) {
  tgmm_model_dims d = {.d = 2, .C = 8, .L = 2, .H = 2, .E = 4, .Kmax = 3, .nclass = 2,
                       .n_positions = causal ? 8 : 0, .causal = causal, .aniso = aniso};
  return d;
}

static void fixture_init_h(fixture *f, int causal, int aniso, int hungarian, int head) {
  tgmm_model_dims d = tiny_dims(causal, aniso);
  d.hungarian = hungarian;
  d.head = head;
  fixture_model(f, &d);
  fixture_data(f, aniso);
}

static void fixture_init_m(fixture *f, int causal, int aniso, int hungarian) {
  fixture_init_h(f, causal, aniso, hungarian, TGMM_HEAD_MIXTURE);
}

static void fixture_init(fixture *f, int causal, int aniso) { fixture_init_m(f, causal, aniso, 0); }

static void test_layout(void **state) {
  (void)state;
  tgmm_model m;
  tgmm_model_dims d = tiny_dims(1, 1);
  assert_int_equal(tgmm_model_create(&m, &d), 0);
  const tgmm_tensor *t = tgmm_model_find(&m, "read_in.weight");
  assert_non_null(t);
  assert_true(t->ndim == 2 && t->shape[0] == 8 && t->shape[1] == 6);
  t = tgmm_model_find(&m, "blocks.1.attn.qkv.weight");
  assert_true(t && t->shape[0] == 24 && t->shape[1] == 8);
  t = tgmm_model_find(&m, "blocks.1.mlp.proj.weight");
  assert_true(t && t->shape[0] == 8 && t->shape[1] == 32);
  t = tgmm_model_find(&m, "readout.1.q"); /* W = Kmax + 2d = 7 */
  assert_true(t && t->shape[0] == 3 && t->shape[1] == 7);
  t = tgmm_model_find(&m, "readout.0.wk");
  assert_true(t && t->shape[0] == 7 && t->shape[1] == 8);
  assert_non_null(tgmm_model_find(&m, "pos_embd.weight"));
  assert_null(tgmm_model_find(&m, "readout.2.q"));
  size_t sum = 0; /* contiguous, in order, covering the buffer */
  for (int i = 0; i < m.ntensors; i++) {
    assert_true(m.tensors[i].off == sum);
    sum += m.tensors[i].numel;
  }
  assert_true(sum == m.nparams);
  tgmm_model_free(&m);
  d = tiny_dims(0, 0);
  assert_int_equal(tgmm_model_create(&m, &d), 0);
  assert_null(tgmm_model_find(&m, "pos_embd.weight"));
  tgmm_model_free(&m);
}

static void test_init(void **state) {
  (void)state;
  tgmm_model a, b;
  tgmm_model_dims d = {.d = 8, .C = 64, .L = 4, .H = 4, .E = 16, .Kmax = 5, .nclass = 4,
                       .n_positions = 64, .causal = 1};
  assert_int_equal(tgmm_model_create(&a, &d), 0);
  assert_int_equal(tgmm_model_create(&b, &d), 0);
  tgmm_model_init(&a, 42);
  tgmm_model_init(&b, 42);
  assert_memory_equal(a.params, b.params, sizeof(float) * a.nparams);
  struct {
    const char *name;
    double mean, std;
  } want[] = {{"blocks.0.attn.qkv.weight", 0, 0.02}, {"blocks.2.mlp.proj.weight", 0, 0.02 / sqrt(8)},
              {"readout.3.q", 0, 1.0},                {"blocks.1.ln2.weight", 1, 0},
              {"blocks.1.mlp.fc.bias", 0, 0},         {"pos_embd.weight", 0, 0.02}};
  for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
    const tgmm_tensor *t = tgmm_model_find(&a, want[k].name);
    assert_non_null(t);
    double s = 0, s2 = 0;
    for (size_t i = 0; i < t->numel; i++) {
      double v = a.params[t->off + i];
      s += v;
      s2 += v * v;
    }
    double mean = s / t->numel, sd = sqrt(s2 / t->numel - mean * mean);
    double se = want[k].std / sqrt((double)t->numel); /* 5 standard errors */
    assert_true(fabs(mean - want[k].mean) < 5 * se + 1e-6);
    assert_true(fabs(sd - want[k].std) < 5 * se / sqrt(2.0) + 1e-6);
  }
  tgmm_model_init(&b, 43);
  assert_true(memcmp(a.params, b.params, sizeof(float) * a.nparams) != 0);
  tgmm_model_free(&a);
  tgmm_model_free(&b);
}

static int match_permutes(const tgmm_model *m) { return permutes(m->a.match, m->dim.Kmax); }

static void grad_check_h(int causal, int aniso, int hungarian, int head) {
  fixture f;
  fixture_init_h(&f, causal, aniso, hungarian, head);
  loss_of(&f);
  if (hungarian && head != TGMM_HEAD_LABELS) assert_true(match_permutes(&f.m));
  if (head != TGMM_HEAD_MIXTURE) assert_true(permutes(f.m.a.lmatch, 3)); /* else fixed tests nothing */
  /* pos_embd rows beyond the longest task and task_embd row 0 (K = 1) get no gradient */
  double worst = fd_check(&f, 2e-4, 1e-3);
  print_message("causal=%d aniso=%d hungarian=%d head=%d: %d tensors, worst relative error %.2e\n",
                causal, aniso, hungarian, head, f.m.ntensors, worst);
  fixture_free(&f);
}

static void grad_check(int causal, int aniso, int hungarian) {
  grad_check_h(causal, aniso, hungarian, TGMM_HEAD_MIXTURE);
}

static void test_grad_causal_learned_iso(void **state) {
  (void)state;
  grad_check(1, 0, 0);
}
static void test_grad_bidir_none_aniso(void **state) {
  (void)state;
  grad_check(0, 1, 0);
}
static void test_grad_causal_learned_aniso(void **state) {
  (void)state;
  grad_check(1, 1, 0);
}

static void test_grad_hungarian_iso(void **state) {
  (void)state;
  grad_check(0, 0, 1);
}
static void test_grad_hungarian_aniso(void **state) {
  (void)state;
  grad_check(0, 1, 1);
}

/* train.loss = nll: the whole model's gradient of the samples' negative log-likelihood. */
static void grad_check_nll(int aniso) {
  fixture f;
  tgmm_model_dims d = tiny_dims(0, aniso);
  d.hungarian = 1; /* ignored by the nll: no matching */
  d.nll = 1;
  fixture_model(&f, &d);
  fixture_data(&f, aniso);
  double L = loss_of(&f);
  assert_true(isfinite(L) && L > 0.0);
  double worst = fd_check(&f, 2e-4, 1e-3);
  print_message("nll aniso=%d: loss %.6f, worst relative error %.2e\n", aniso, L, worst);
  fixture_free(&f);
}

static void test_grad_nll_iso(void **state) {
  (void)state;
  grad_check_nll(0);
}
static void test_grad_nll_aniso(void **state) {
  (void)state;
  grad_check_nll(1);
}

/* tgmm_model_match: a permutation; the identity for means in canonical order; the inverse of a
 * known shuffle. */
static void test_match_permutation(void **state) {
  (void)state;
  enum { Q = 5, D = 3, W = Q + D };
  float O[Q * W], mu[Q * D];
  int shuffle[Q] = {3, 0, 4, 1, 2}, perm[Q];
  tgmm_rng r;
  tgmm_rng_init(&r, 9, 77, 0, 0);
  for (int k = 0; k < Q * D; k++) mu[k] = (float)(5 * tgmm_rng_normal(&r));
  for (int k = 0; k < Q; k++) /* predicted component k = true component k + small noise */
    for (int j = 0; j < D; j++) O[k * W + Q + j] = mu[k * D + j] + (float)(0.01 * tgmm_rng_normal(&r));
  tgmm_model_match(O, Q, W, D, Q, mu, perm);
  for (int k = 0; k < Q; k++) assert_int_equal(perm[k], k);
  for (int k = 0; k < Q; k++) /* predicted component shuffle[k] = true component k */
    for (int j = 0; j < D; j++) O[shuffle[k] * W + Q + j] = mu[k * D + j];
  tgmm_model_match(O, Q, W, D, Q, mu, perm);
  for (int k = 0; k < Q; k++) assert_int_equal(perm[k], shuffle[k]);
  int seen[Q] = {0}; /* K = 4 < Q: a permutation of 0..3 */
  tgmm_model_match(O, Q, W, D, 4, mu, perm);
  for (int k = 0; k < 4; k++) {
    assert_true(perm[k] >= 0 && perm[k] < 4);
    seen[perm[k]]++;
  }
  for (int k = 0; k < 4; k++) assert_int_equal(seen[k], 1);
}

/* With predictions already in canonical order (true means := predicted means + noise), the
 * hungarian loss and gradients equal the canonical ones. */
static void test_hungarian_equals_canonical(void **state) {
  (void)state;
  fixture c, h;
  fixture_init_m(&c, 0, 1, 0);
  fixture_init_m(&h, 0, 1, 1);
  double w[NT * 3], mu[NT * 6];
  for (int r = 0; r < 2; r++) { /* spread the predicted means apart: a swap is then visible */
    const tgmm_tensor *t = tgmm_model_find(&c.m, r ? "readout.1.wv" : "readout.0.wv");
    for (size_t i = 0; i < t->numel; i++) c.m.params[t->off + i] *= 30.0f;
  }
  memcpy(h.m.params, c.m.params, sizeof(float) * c.m.nparams);
  assert_int_equal(tgmm_model_predict(&c.m, &c.b, w, mu, NULL), 0);
  for (int i = 0; i < NT * 6; i++) c.mu[i] = h.mu[i] = (float)mu[i] + 0.01f * (float)((i % 3) - 1);
  double Lc, Lh;
  assert_int_equal(tgmm_model_forward(&c.m, &c.b, NT, &Lc, NULL), 0);
  tgmm_model_zero_grad(&c.m);
  tgmm_model_backward(&c.m, &c.b, NT);
  assert_int_equal(tgmm_model_forward(&h.m, &h.b, NT, &Lh, NULL), 0);
  tgmm_model_zero_grad(&h.m);
  tgmm_model_backward(&h.m, &h.b, NT);
  assert_false(match_permutes(&h.m));
  assert_true(Lc == Lh);
  assert_memory_equal(c.m.grads, h.m.grads, sizeof(float) * c.m.nparams);
  /* and a shuffled truth changes the canonical loss but not the matched one */
  for (int j = 0; j < 2; j++) { /* swap components 0 and 1 of task 0 (K = 2) */
    float t = c.mu[j];
    c.mu[j] = c.mu[2 + j];
    c.mu[2 + j] = t;
  }
  memcpy(h.mu, c.mu, sizeof(float) * NT * 6);
  float sw = c.w[0];
  c.w[0] = c.w[1], c.w[1] = sw;
  h.w[0] = c.w[0], h.w[1] = c.w[1];
  float ss[4];
  memcpy(ss, c.sd, sizeof ss); /* scales of task 0 follow its components */
  for (int j = 0; j < 2; j++) c.sd[j] = ss[2 + j], c.sd[2 + j] = ss[j];
  memcpy(h.sd, c.sd, sizeof ss);
  double Lc2, Lh2;
  assert_int_equal(tgmm_model_forward(&c.m, &c.b, NT, &Lc2, NULL), 0);
  assert_int_equal(tgmm_model_forward(&h.m, &h.b, NT, &Lh2, NULL), 0);
  assert_true(Lc2 > Lc + 0.1);
  assert_true(fabs(Lh2 - Lh) < 1e-6 * fabs(Lh));
  fixture_free(&c);
  fixture_free(&h);
}

/* Loss and gradients of the batch = sums over two half batches normalised by the global B. */
static void test_split_batch(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f, 1, 1);
  split_batch_check(&f);
  fixture_free(&f);
  fixture_init_h(&f, 0, 0, 1, TGMM_HEAD_BOTH);
  split_batch_check(&f);
  fixture_free(&f);
}

static void test_predict(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f, 0, 1);
  double w[NT * 3], mu[NT * 6], sd[NT * 6];
  assert_int_equal(tgmm_model_predict(&f.m, &f.b, w, mu, sd), 0);
  for (int i = 0; i < NT; i++) {
    double s = 0;
    for (int k = 0; k < KS[i]; k++) s += w[i * 3 + k];
    assert_true(fabs(s - 1) < 1e-9);
    if (KS[i] < 3) assert_true(w[i * 3 + 2] == 0 && mu[i * 6 + 4] == 0 && sd[i * 6 + 5] == 0);
    for (int k = 0; k < KS[i] * 2; k++) assert_true(sd[i * 6 + k] > 0);
  }
  fixture_free(&f);
}

static void test_grad_labels(void **state) {
  (void)state;
  grad_check_h(0, 0, 0, TGMM_HEAD_LABELS);
  grad_check_h(1, 0, 0, TGMM_HEAD_LABELS);
}
static void test_grad_both(void **state) {
  (void)state;
  grad_check_h(0, 1, 1, TGMM_HEAD_BOTH);
  grad_check_h(0, 0, 0, TGMM_HEAD_BOTH);
}

/* The tensors of each head: labels has no read-out, both has read-outs and the label head last. */
static void test_label_layout(void **state) {
  (void)state;
  tgmm_model m;
  tgmm_model_dims d = tiny_dims(0, 0);
  d.head = TGMM_HEAD_LABELS;
  assert_int_equal(tgmm_model_create(&m, &d), 0);
  assert_null(tgmm_model_find(&m, "readout.0.q"));
  const tgmm_tensor *w = tgmm_model_find(&m, "label_head.weight");
  const tgmm_tensor *b = tgmm_model_find(&m, "label_head.bias");
  assert_true(w && w->shape[0] == 3 && w->shape[1] == 8 && b && b->ndim == 1 && b->shape[0] == 3);
  assert_true(b->off + b->numel == m.nparams);
  double wt[NT * 3], mu[NT * 6];
  fixture f;
  fixture_init(&f, 0, 0);
  assert_int_equal(tgmm_model_predict(&m, &f.b, wt, mu, NULL), 2); /* TGMM_EUSER */
  tgmm_model_free(&m);
  d.head = TGMM_HEAD_BOTH;
  assert_int_equal(tgmm_model_create(&m, &d), 0);
  assert_non_null(tgmm_model_find(&m, "readout.1.wv"));
  assert_true(tgmm_model_find(&m, "label_head.bias")->off + 3 == m.nparams);
  tgmm_model_free(&m);
  int32_t lab[21];
  assert_int_equal(tgmm_model_predict_labels(&f.m, &f.b, lab), 2); /* a mixture model */
  fixture_free(&f);
}

/* Recursive brute force: the least sum over samples of -log p_n(perm[z_n]) over all K! perms. */
static double brute(const double *cost /* [K, K] row = true */, int K, int k, int *used, double acc) {
  if (k == K) return acc;
  double best = INFINITY;
  for (int a = 0; a < K; a++)
    if (!used[a]) {
      used[a] = 1;
      best = fmin(best, brute(cost, K, k + 1, used, acc + cost[k * K + a]));
      used[a] = 0;
    }
  return best;
}

static void test_label_loss_bruteforce(void **state) {
  (void)state;
  enum { N = 37, Q = 7 };
  float logits[N * Q], dl[N * Q];
  int32_t z[N];
  tgmm_rng r;
  tgmm_rng_init(&r, 11, 77, 0, 0);
  for (int K = 1; K <= 6; K++)
    for (int rep = 0; rep < 20; rep++) {
      for (int i = 0; i < N * Q; i++) logits[i] = (float)(2.0 * tgmm_rng_normal(&r));
      for (int n = 0; n < N; n++) z[n] = (int32_t)tgmm_rng_int(&r, 0, K - 1);
      double cost[36] = {0};
      for (int n = 0; n < N; n++) { /* cost[b][a] = sum_{z_n = b} -log p_n(a), p over a < K */
        double mx = -INFINITY, s = 0;
        for (int a = 0; a < K; a++) mx = fmax(mx, logits[n * Q + a]);
        for (int a = 0; a < K; a++) s += exp(logits[n * Q + a] - mx);
        for (int a = 0; a < K; a++) cost[z[n] * K + a] -= logits[n * Q + a] - mx - log(s);
      }
      int used[6] = {0}, perm[6], seen[6] = {0};
      double want = brute(cost, K, 0, used, 0.0) / N;
      double got = tgmm_label_loss(logits, N, Q, K, z, 1.0f, dl, perm);
      assert_true(fabs(got - want) <= 1e-12 * fabs(want) + 1e-12);
      double at = 0; /* perm is a permutation achieving the minimum */
      for (int b = 0; b < K; b++) {
        assert_true(perm[b] >= 0 && perm[b] < K);
        seen[perm[b]]++;
        at += cost[b * K + perm[b]];
      }
      for (int a = 0; a < K; a++) assert_int_equal(seen[a], 1);
      assert_true(fabs(at / N - want) <= 1e-12 * fabs(want) + 1e-12);
      for (int n = 0; n < N; n++) { /* gradient rows sum to 0; masked classes get none */
        double s = 0;
        for (int a = 0; a < Q; a++) s += dl[n * Q + a];
        assert_true(fabs(s) < 1e-6);
        for (int a = K; a < Q; a++) assert_true(dl[n * Q + a] == 0.0f);
      }
    }
}

/* Labels: argmax over the task's K classes of the forward's logits. */
static void test_predict_labels(void **state) {
  (void)state;
  fixture f;
  fixture_init_h(&f, 0, 0, 0, TGMM_HEAD_BOTH);
  int32_t lab[21];
  for (int t = 0; t < 21; t++) lab[t] = -7;
  assert_int_equal(tgmm_model_predict_labels(&f.m, &f.b, lab), 0);
  double L;
  assert_int_equal(tgmm_model_forward(&f.m, &f.b, NT, &L, NULL), 0);
  for (int i = 0; i < NT; i++)
    for (int t = OFF[i]; t < OFF[i + 1]; t++) {
      assert_true(lab[t] >= 0 && lab[t] < KS[i]);
      for (int a = 0; a < KS[i]; a++) assert_true(f.m.a.lab[t * 3 + a] <= f.m.a.lab[t * 3 + lab[t]]);
    }
  fixture_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layout),
      cmocka_unit_test(test_init),
      cmocka_unit_test(test_grad_causal_learned_iso),
      cmocka_unit_test(test_grad_bidir_none_aniso),
      cmocka_unit_test(test_grad_causal_learned_aniso),
      cmocka_unit_test(test_grad_hungarian_iso),
      cmocka_unit_test(test_grad_hungarian_aniso), cmocka_unit_test(test_grad_nll_iso),
      cmocka_unit_test(test_grad_nll_aniso),
      cmocka_unit_test(test_match_permutation),
      cmocka_unit_test(test_hungarian_equals_canonical),
      cmocka_unit_test(test_split_batch),
      cmocka_unit_test(test_predict),
      cmocka_unit_test(test_grad_labels),
      cmocka_unit_test(test_grad_both),
      cmocka_unit_test(test_label_layout),
      cmocka_unit_test(test_label_loss_bruteforce),
      cmocka_unit_test(test_predict_labels),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
