/* model_fixture.h — what test_model.c (transformer) and test_model_ssm.c (Mamba2) share: a tiny
 * ragged batch of four tasks (K = 2, 3, 3, 2; two classes; true labels), larger-than-init random
 * parameters, the check of every parameter's gradient against central finite differences with
 * the matches (Hungarian set loss, label head) held fixed, and data-parallel additivity. */
#ifndef TGMM_TEST_MODEL_FIXTURE_H
#define TGMM_TEST_MODEL_FIXTURE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/model.h"
#include "tgmm/rng.h"

#define NT 4
static const int OFF[NT + 1] = {0, 5, 12, 15, 21};
static const int KS[NT] = {2, 3, 3, 2};
static const int CLS[NT] = {0, 1, 1, 0};

typedef struct {
  tgmm_model m;
  tgmm_batch b;
  float *x, *w, *mu, *sd;
  int32_t z[21]; /* [OFF[NT]] true component of each sample */
} fixture;

static inline float *randv(size_t n, double mean, double std, uint64_t id) {
  float *p = malloc(sizeof(float) * n);
  assert_non_null(p);
  tgmm_rng r;
  tgmm_rng_init(&r, 3, 77, id, 0);
  for (size_t i = 0; i < n; i++) p[i] = (float)(mean + std * tgmm_rng_normal(&r));
  return p;
}

/* Create the model of dims d (Kmax 3, d 2), GPT-2 init plus N(0, 0.1^2) noise, so that every
 * gradient stands well above the finite-difference noise. */
static inline void fixture_model(fixture *f, const tgmm_model_dims *d) {
  assert_int_equal(tgmm_model_create(&f->m, d), 0);
  tgmm_model_init(&f->m, 42);
  tgmm_rng r;
  tgmm_rng_init(&r, 5, 77, 0, 0);
  for (size_t i = 0; i < f->m.nparams; i++)
    f->m.params[i] = f->m.params[i] + (float)(0.1 * tgmm_rng_normal(&r));
}

/* The batch: samples, true weights, means, scales (anisotropic) and labels. */
static inline void fixture_data(fixture *f, int aniso) {
  f->x = randv((size_t)OFF[NT] * 2, 0, 2, 1);
  f->w = randv(NT * 3, 0.33, 0.05, 2);
  f->mu = randv(NT * 6, 0, 1, 3);
  f->sd = randv(NT * 6, 1.2, 0.3, 4);
  tgmm_rng r;
  tgmm_rng_init(&r, 6, 77, 0, 0);
  for (int i = 0; i < NT; i++)
    for (int t = OFF[i]; t < OFF[i + 1]; t++) f->z[t] = (int32_t)tgmm_rng_int(&r, 0, KS[i] - 1);
  tgmm_batch b = {.ntask = NT, .off = OFF, .K = KS, .cls = CLS, .x = f->x, .weights = f->w,
                  .means = f->mu, .scales = aniso ? f->sd : NULL, .z = f->z};
  f->b = b;
}

static inline void fixture_free(fixture *f) {
  tgmm_model_free(&f->m);
  free(f->x), free(f->w), free(f->mu), free(f->sd);
}

static inline double loss_of(fixture *f) {
  double L;
  assert_int_equal(tgmm_model_forward(&f->m, &f->b, NT, &L, NULL), 0);
  return L;
}

/* Is some task's match [NT, Kmax] not the identity? */
static inline int permutes(const int *match, int Kmax) {
  for (int i = 0; i < NT; i++)
    for (int k = 0; k < KS[i]; k++)
      if (match[i * Kmax + k] != k) return 1;
  return 0;
}

/* Every tensor's gradient against central differences (eps 5e-3): max error <= 2e-2 max|grad| +
 * slack, and max|grad| > min_grad (a missing gradient fails). The Hungarian match (mixture head
 * with dim.hungarian) and the label permutations (label head) must not change under any
 * perturbation, else holding them fixed would be untested; the caller asserts that they permute
 * something. Returns the worst relative error. */
static inline double fd_check(fixture *f, double slack, double min_grad) {
  tgmm_model *m = &f->m;
  int match = m->dim.hungarian && tgmm_model_has_mixture(m), lab = tgmm_model_has_labels(m);
  loss_of(f);
  tgmm_model_zero_grad(m);
  tgmm_model_backward(m, &f->b, NT);
  int match0[NT * 3], lmatch0[NT * 3];
  memcpy(match0, m->a.match, sizeof match0);
  memcpy(lmatch0, m->a.lmatch, sizeof lmatch0);
  const float eps = 5e-3f;
  double worst = 0;
  for (int j = 0; j < m->ntensors; j++) {
    const tgmm_tensor *t = &m->tensors[j];
    double gmax = 0, emax = 0;
    for (size_t i = 0; i < t->numel; i++) {
      float *p = m->params + t->off + i, p0 = *p;
      double L[2];
      for (int s = 0; s < 2; s++) {
        *p = s ? p0 - eps : p0 + eps;
        L[s] = loss_of(f);
        if (match) assert_memory_equal(m->a.match, match0, sizeof match0);
        if (lab) assert_memory_equal(m->a.lmatch, lmatch0, sizeof lmatch0);
      }
      *p = p0;
      double num = (L[0] - L[1]) / (2.0 * eps), an = m->grads[t->off + i];
      gmax = fmax(gmax, fabs(num));
      emax = fmax(emax, fabs(num - an));
    }
    double tol = 2e-2 * gmax + slack;
    if (emax > tol || gmax < min_grad)
      print_message("%s: max|grad| %.3e err %.3e\n", t->name, gmax, emax);
    assert_true(emax <= tol);
    assert_true(gmax > min_grad);
    worst = fmax(worst, emax / (gmax + 1e-12));
  }
  return worst;
}

/* Loss and gradients of the batch = sums over two half batches normalised by the global B. */
static inline void split_batch_check(fixture *f) {
  tgmm_model *m = &f->m;
  double Lfull, L1, L2;
  assert_int_equal(tgmm_model_forward(m, &f->b, NT, &Lfull, NULL), 0);
  tgmm_model_zero_grad(m);
  tgmm_model_backward(m, &f->b, NT);
  float *gfull = malloc(sizeof(float) * m->nparams);
  assert_non_null(gfull);
  memcpy(gfull, m->grads, sizeof(float) * m->nparams);
  tgmm_model_zero_grad(m);
  int off2[3] = {0, 3, 9};
  tgmm_batch h1 = f->b, h2 = f->b;
  h1.ntask = 2;
  h2.ntask = 2, h2.off = off2, h2.K = KS + 2, h2.cls = CLS + 2, h2.x = f->x + 12 * 2;
  h2.weights = f->w + 2 * 3, h2.means = f->mu + 2 * 6, h2.scales = f->sd + 2 * 6;
  h2.z = f->z + 12;
  assert_int_equal(tgmm_model_forward(m, &h1, NT, &L1, NULL), 0);
  tgmm_model_backward(m, &h1, NT);
  assert_int_equal(tgmm_model_forward(m, &h2, NT, &L2, NULL), 0);
  tgmm_model_backward(m, &h2, NT);
  assert_true(fabs(L1 + L2 - Lfull) < 1e-5 * fabs(Lfull));
  double gmax = 0, emax = 0;
  for (size_t i = 0; i < m->nparams; i++) {
    gmax = fmax(gmax, fabs(gfull[i]));
    emax = fmax(emax, fabs(gfull[i] - m->grads[i]));
  }
  assert_true(emax <= 1e-5 * gmax);
  free(gfull);
}

#endif
