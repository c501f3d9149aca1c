/* test_nn_ssm.c — every Mamba2 layer's backward pass (RMSNorm, gated RMSNorm, SiLU, softplus,
 * the causal depthwise conv, the selective scan) against central finite differences of its
 * forward pass (objective sum(out * R) in double, step 1e-2, tolerance 1e-2 of the largest
 * gradient entry, as test_nn.c), over packed tasks and strided column blocks; plus packing
 * independence of the conv and the scan, and the same bits for any pool size. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tgmm/nn_ssm.h"
#include "tgmm/rng.h"

#define FD_EPS 1e-2f
#define FD_TOL 1e-2

static float *randv(size_t n, double mean, double std, uint64_t id) {
  float *p = malloc(sizeof(float) * (n ? n : 1));
  assert_non_null(p);
  tgmm_rng r;
  tgmm_rng_init(&r, 11, 98, id, 0);
  for (size_t i = 0; i < n; i++) p[i] = (float)(mean + std * tgmm_rng_normal(&r));
  return p;
}

static double dotd(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

typedef double (*objective)(void *ctx);

/* Analytic gradient g[i * stride] (i < n) of x[i * stride] against central differences of f. */
static void check_grad(const char *what, objective f, void *ctx, float *x, const float *g,
                       size_t n, size_t stride, size_t width) {
  double gmax = 0, emax = 0;
  for (size_t r = 0; r < n; r++)
    for (size_t c = 0; c < width; c++) {
      size_t i = r * stride + c;
      float x0 = x[i];
      x[i] = x0 + FD_EPS;
      double fp = f(ctx);
      x[i] = x0 - FD_EPS;
      double fm = f(ctx);
      x[i] = x0;
      double num = (fp - fm) / (2.0 * ((double)(x0 + FD_EPS) - (double)x0));
      gmax = fmax(gmax, fabs(num));
      emax = fmax(emax, fabs(num - g[i]));
    }
  print_message("%-28s n=%5zu max|grad|=%.3e max err=%.3e\n", what, n * width, gmax, emax);
  assert_true(gmax > 1e-6);
  assert_true(emax <= FD_TOL * gmax);
}

#define NT 3
static const int OFF[NT + 1] = {0, 4, 11, 13};
#define T_ 13

/* ---------------- RMSNorm ---------------- */
typedef struct {
  int M, C;
  float *in, *w, *out, *rstd, *R;
} rms_ctx;

static double rms_obj(void *p) {
  rms_ctx *c = p;
  nn_rmsnorm_fwd(NULL, c->out, c->rstd, c->in, c->w, c->M, c->C);
  return dotd(c->out, c->R, (size_t)c->M * c->C);
}

static void test_rmsnorm(void **state) {
  (void)state;
  rms_ctx c = {.M = 5, .C = 7};
  c.in = randv(35, 0, 1, 1), c.w = randv(7, 1, 0.3, 2), c.R = randv(35, 0, 1, 3);
  c.out = malloc(sizeof(float) * 35), c.rstd = malloc(sizeof(float) * 5);
  float *din = calloc(35, sizeof(float)), *dw = calloc(7, sizeof(float));
  rms_obj(&c);
  nn_rmsnorm_bwd(NULL, din, dw, c.R, c.in, c.w, c.rstd, c.M, c.C);
  check_grad("rmsnorm din", rms_obj, &c, c.in, din, 35, 1, 1);
  check_grad("rmsnorm dw", rms_obj, &c, c.w, dw, 7, 1, 1);
  /* din accumulates */
  nn_rmsnorm_bwd(NULL, din, dw, c.R, c.in, c.w, c.rstd, c.M, c.C);
  float *d1 = calloc(35, sizeof(float)), *dw1 = calloc(7, sizeof(float));
  nn_rmsnorm_bwd(NULL, d1, dw1, c.R, c.in, c.w, c.rstd, c.M, c.C);
  for (int i = 0; i < 35; i++) assert_true(fabsf(din[i] - 2 * d1[i]) <= 1e-6f * (1 + fabsf(din[i])));
  free(c.in), free(c.w), free(c.R), free(c.out), free(c.rstd), free(din), free(dw), free(d1), free(dw1);
}

/* ---------------- gated RMSNorm (z a strided column block) ---------------- */
typedef struct {
  int M, I, ldz;
  float *y, *z, *w, *out, *rstd, *R;
} grms_ctx;

static double grms_obj(void *p) {
  grms_ctx *c = p;
  nn_gated_rmsnorm_fwd(NULL, c->out, c->rstd, c->y, c->z, c->ldz, c->w, c->M, c->I);
  return dotd(c->out, c->R, (size_t)c->M * c->I);
}

static void test_gated_rmsnorm(void **state) {
  (void)state;
  grms_ctx c = {.M = 5, .I = 6, .ldz = 9};
  c.y = randv(30, 0, 1, 4), c.z = randv(45, 0, 1.5, 5), c.w = randv(6, 1, 0.3, 6);
  c.R = randv(30, 0, 1, 7), c.out = malloc(sizeof(float) * 30), c.rstd = malloc(sizeof(float) * 5);
  float *dy = malloc(sizeof(float) * 30), *dz = malloc(sizeof(float) * 5 * 11),
        *dw = calloc(6, sizeof(float));
  for (int i = 0; i < 55; i++) dz[i] = 123.0f; /* columns beyond I must stay untouched */
  grms_obj(&c);
  nn_gated_rmsnorm_bwd(NULL, dy, dz, 11, dw, c.R, c.y, c.z, c.ldz, c.w, c.rstd, c.M, c.I);
  check_grad("gated rmsnorm dy", grms_obj, &c, c.y, dy, 30, 1, 1);
  float *dzc = malloc(sizeof(float) * 45);
  for (int r = 0; r < 5; r++)
    for (int k = 0; k < 9; k++) dzc[r * 9 + k] = k < 6 ? dz[r * 11 + k] : 0;
  check_grad("gated rmsnorm dz", grms_obj, &c, c.z, dzc, 5, 9, 6);
  check_grad("gated rmsnorm dw", grms_obj, &c, c.w, dw, 6, 1, 1);
  for (int r = 0; r < 5; r++)
    for (int k = 6; k < 11; k++) assert_true(dz[r * 11 + k] == 123.0f);
  free(c.y), free(c.z), free(c.w), free(c.R), free(c.out), free(c.rstd), free(dy), free(dz);
  free(dw), free(dzc);
}

/* ---------------- SiLU and softplus ---------------- */
typedef struct {
  int M, H, ld;
  float *in, *bias, *out, *R;
} ew_ctx;

static double silu_obj(void *p) {
  ew_ctx *c = p;
  nn_silu_fwd(NULL, c->out, c->in, (size_t)c->M);
  return dotd(c->out, c->R, (size_t)c->M);
}

static double softplus_obj(void *p) {
  ew_ctx *c = p;
  nn_softplus_bias_fwd(c->out, c->in, c->ld, c->bias, c->M, c->H);
  return dotd(c->out, c->R, (size_t)c->M * c->H);
}

static void test_silu_softplus(void **state) {
  (void)state;
  ew_ctx c = {.M = 40};
  c.in = randv(40, 0, 3, 8), c.R = randv(40, 0, 1, 9), c.out = malloc(sizeof(float) * 40);
  float *din = malloc(sizeof(float) * 40);
  nn_silu_bwd(NULL, din, c.R, c.in, 40);
  check_grad("silu", silu_obj, &c, c.in, din, 40, 1, 1);
  free(c.in), free(c.R), free(c.out), free(din);
  ew_ctx s = {.M = 6, .H = 3, .ld = 5};
  s.in = randv(30, 0, 3, 10), s.bias = randv(3, -1, 1, 11), s.R = randv(18, 0, 1, 12);
  s.out = malloc(sizeof(float) * 18);
  float *dd = calloc(30, sizeof(float)), *db = calloc(3, sizeof(float));
  nn_softplus_bias_bwd(dd, 5, db, s.R, s.in, s.ld, s.bias, s.M, s.H);
  check_grad("softplus din", softplus_obj, &s, s.in, dd, 6, 5, 3);
  check_grad("softplus dbias", softplus_obj, &s, s.bias, db, 3, 1, 1);
  free(s.in), free(s.bias), free(s.R), free(s.out), free(dd), free(db);
}

/* ---------------- causal depthwise conv over packed tasks ---------------- */
typedef struct {
  int Cc, k, ld;
  float *in, *w, *b, *out, *R;
} conv_ctx;

static double conv_obj(void *p) {
  conv_ctx *c = p;
  nn_conv_fwd(NULL, c->out, c->in, c->ld, c->w, c->b, OFF, NT, c->Cc, c->k);
  return dotd(c->out, c->R, (size_t)T_ * c->Cc);
}

static void test_conv(void **state) {
  (void)state;
  conv_ctx c = {.Cc = 5, .k = 3, .ld = 8};
  c.in = randv(T_ * 8, 0, 1, 13), c.w = randv(15, 0, 1, 14), c.b = randv(5, 0, 1, 15);
  c.R = randv(T_ * 5, 0, 1, 16), c.out = malloc(sizeof(float) * T_ * 5);
  float *din = calloc(T_ * 6, sizeof(float)), *dw = calloc(15, sizeof(float)),
        *db = calloc(5, sizeof(float));
  nn_conv_bwd(NULL, din, 6, dw, db, c.R, c.in, c.ld, c.w, OFF, NT, c.Cc, c.k);
  float *dinc = calloc(T_ * 8, sizeof(float));
  for (int t = 0; t < T_; t++)
    for (int ch = 0; ch < 5; ch++) dinc[t * 8 + ch] = din[t * 6 + ch];
  check_grad("conv din", conv_obj, &c, c.in, dinc, T_, 8, 5);
  check_grad("conv dw", conv_obj, &c, c.w, dw, 15, 1, 1);
  check_grad("conv db", conv_obj, &c, c.b, db, 5, 1, 1);
  /* causal, and zeros before each task: task 1 alone gives the same outputs */
  conv_obj(&c);
  int off1[2] = {0, OFF[2] - OFF[1]};
  float *o1 = malloc(sizeof(float) * 7 * 5);
  nn_conv_fwd(NULL, o1, c.in + OFF[1] * 8, 8, c.w, c.b, off1, 1, 5, 3);
  assert_memory_equal(o1, c.out + OFF[1] * 5, sizeof(float) * 7 * 5);
  free(c.in), free(c.w), free(c.b), free(c.R), free(c.out), free(din), free(dw), free(db);
  free(dinc), free(o1);
}

/* ---------------- the selective scan ---------------- */
#define H_ 4
#define P_ 3
#define N_ 2
#define G_ 2
#define LDX (H_ * P_ + 2 * G_ * N_)

typedef struct {
  float *xbc, *dt, *A_log, *D, *y, *R;
} scan_ctx;

static double scan_obj(void *p) {
  scan_ctx *c = p;
  nn_scan_fwd(NULL, c->y, c->xbc, c->dt, c->A_log, c->D, OFF, NT, H_, P_, N_, G_);
  return dotd(c->y, c->R, (size_t)T_ * H_ * P_);
}

static void scan_grads(nn_par *pool, const scan_ctx *c, float *dxbc, float *ddt, float *dA,
                       float *dD) {
  size_t ns = nn_scan_scratch(pool, 7, NT, H_, P_, N_);
  float *scr = malloc(sizeof(float) * ns);
  nn_scan_bwd(pool, dxbc, ddt, dA, dD, scr, c->R, c->xbc, c->dt, c->A_log, c->D, OFF, NT, 7, H_,
              P_, N_, G_);
  free(scr);
}

static void test_scan(void **state) {
  (void)state;
  scan_ctx c;
  c.xbc = randv(T_ * LDX, 0, 1, 17), c.dt = randv(T_ * H_, 0.6, 0.2, 18);
  c.A_log = randv(H_, 0, 0.5, 19), c.D = randv(H_, 1, 0.5, 20), c.R = randv(T_ * H_ * P_, 0, 1, 21);
  c.y = malloc(sizeof(float) * T_ * H_ * P_);
  float *dxbc = malloc(sizeof(float) * T_ * LDX), *ddt = malloc(sizeof(float) * T_ * H_);
  float *dA = calloc(H_, sizeof(float)), *dD = calloc(H_, sizeof(float));
  scan_grads(NULL, &c, dxbc, ddt, dA, dD);
  check_grad("scan dx, dB, dC", scan_obj, &c, c.xbc, dxbc, (size_t)T_ * LDX, 1, 1);
  check_grad("scan ddt", scan_obj, &c, c.dt, ddt, T_ * H_, 1, 1);
  check_grad("scan dA_log", scan_obj, &c, c.A_log, dA, H_, 1, 1);
  check_grad("scan dD", scan_obj, &c, c.D, dD, H_, 1, 1);
  /* packing: each task from a zero state; task 1 alone gives the same outputs */
  scan_obj(&c);
  int off1[2] = {0, OFF[2] - OFF[1]};
  float *y1 = malloc(sizeof(float) * 7 * H_ * P_);
  nn_scan_fwd(NULL, y1, c.xbc + OFF[1] * LDX, c.dt + OFF[1] * H_, c.A_log, c.D, off1, 1, H_, P_,
              N_, G_);
  assert_memory_equal(y1, c.y + OFF[1] * H_ * P_, sizeof(float) * 7 * H_ * P_);
  /* the same bits on a 3-thread pool and a fixed pool */
  float *dx2 = malloc(sizeof(float) * T_ * LDX), *ddt2 = malloc(sizeof(float) * T_ * H_);
  float *dA2 = calloc(H_, sizeof(float)), *dD2 = calloc(H_, sizeof(float));
  nn_par *pools[2] = {nn_par_create(3), nn_par_create_fixed(2)};
  for (int q = 0; q < 2; q++) {
    memset(dA2, 0, sizeof(float) * H_), memset(dD2, 0, sizeof(float) * H_);
    memset(dA, 0, sizeof(float) * H_), memset(dD, 0, sizeof(float) * H_);
    scan_grads(NULL, &c, dxbc, ddt, dA, dD);
    scan_grads(pools[q], &c, dx2, ddt2, dA2, dD2);
    assert_memory_equal(dxbc, dx2, sizeof(float) * T_ * LDX);
    assert_memory_equal(ddt, ddt2, sizeof(float) * T_ * H_);
    assert_memory_equal(dA, dA2, sizeof(float) * H_);
    assert_memory_equal(dD, dD2, sizeof(float) * H_);
    nn_par_free(pools[q]);
  }
  free(c.xbc), free(c.dt), free(c.A_log), free(c.D), free(c.R), free(c.y), free(dxbc), free(ddt);
  free(dA), free(dD), free(y1), free(dx2), free(ddt2), free(dA2), free(dD2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rmsnorm),       cmocka_unit_test(test_gated_rmsnorm),
      cmocka_unit_test(test_silu_softplus), cmocka_unit_test(test_conv),
      cmocka_unit_test(test_scan),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
