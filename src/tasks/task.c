/* task.c — the GMM task families of the paper (README "Dataset files" and the `family` key).
 *
 * mean_scale multiplies the box of the means, U[-5 mean_scale, 5 mean_scale]^d, drawn from the
 * same uniforms (so mean_scale = 1 is today's tasks bit for bit; the cosine filter is scale-
 * invariant, so any mean_scale accepts the same attempt, scaled, up to rounding); it does not
 * scale the anisotropic family's u nor the mean_shift noise sigma_p.
 *
 * Other families of the same shape (Lee et al.'s Set Transformer benchmark: weights_prior
 * dirichlet, mean_scale 0.8, component_scale 0.3, max_cosine 1, N_min 100 with ragged): the
 * weights are K Gamma(dirichlet_alpha) draws from the same stream (sorted, normalised), every
 * standard deviation is multiplied by component_scale, the filter's bound is max_cosine (1: no
 * filter), and N_i ~ U{N_min..N}. At their defaults the tasks are the paper's, bit for bit.
 *
 * Stream layout of task `id` (key = {seed, kind}):
 *   sub 0           parameters, in this order: weights (K uniforms), then the means' rejection
 *                   loop (K*d uniforms per attempt), then the anisotropic scales' u (the same
 *                   rejection loop, cosine filter included: K*d uniforms per attempt).
 *                   phase_transition: u (d normals), then the common offset (d normals).
 *   sub 0xFFFFFFFE  mean_shift noise (K*d normals per attempt, in step with the attempts), so a
 *                   mean_shift task shares its weights and base means with the isotropic task.
 *   sub 0xFFFFFFFF  the ragged sample count N_i (so N never perturbs the parameters).
 *   sub n+1         sample n: z (one uniform), then d normals. */
#include "tgmm/task.h"

#include <math.h>
#include <stdlib.h>

#include "tgmm/common.h"
#include "tgmm/rng.h"

#define TASK_SUB_NOISE 0xFFFFFFFEu
#define TASK_SUB_N 0xFFFFFFFFu
#define TASK_MAX_ATTEMPTS 100000L
#define TASK_MAX_COS 0.8
#define TASK_PROBE_ACCEPTS 50 /* check_feasible: accepted draws needed within the limit */
#define TASK_PROBE_KIND 0xFFFFFFFFu


static double softplus(double x) { return x > 30.0 ? x : log1p(exp(x)); }

/* Largest pairwise cosine similarity of the K rows of m [K, d] (1 if a row is zero). */
static double max_cosine(const double *m /* [K, d] */, int K, int d) {
  double worst = -1.0;
  for (int i = 0; i < K; i++) {
    for (int j = i + 1; j < K; j++) {
      double dot = 0, ni = 0, nj = 0;
      for (int c = 0; c < d; c++) {
        dot += m[i * d + c] * m[j * d + c];
        ni += m[i * d + c] * m[i * d + c];
        nj += m[j * d + c] * m[j * d + c];
      }
      double cs = (ni > 0 && nj > 0) ? dot / sqrt(ni * nj) : 1.0;
      if (cs > worst) worst = cs;
    }
  }
  return worst;
}

/* The filter's bound: max_cosine (the loader keeps it in (0, 1]; a zeroed config: 0.8). */
static double cos_limit(const tgmm_config *cfg) { return cfg->max_cosine > 0 ? cfg->max_cosine : TASK_MAX_COS; }

/* One attempt: means [K, d] with coordinates U[-5 box, 5 box] (box: mean_scale for the means, 1
 * for the anisotropic family's u), plus N(0, sigma_p^2) noise for mean_shift (not scaled). */
static void draw_means_once(const tgmm_config *cfg, tgmm_rng *r, tgmm_rng *noise, int K, int d,
                            double box, double *means /* [K, d] */) {
  for (int i = 0; i < K * d; i++) means[i] = tgmm_rng_uniform_range(r, -5.0 * box, 5.0 * box);
  if (cfg->family != TGMM_FAMILY_MEAN_SHIFT) return;
  for (int i = 0; i < K * d; i++) means[i] += cfg->sigma_p * tgmm_rng_normal(noise);
}

/* Rejection loop; returns the number of attempts used, or 0 if none was accepted. */
static long draw_means(const tgmm_config *cfg, tgmm_rng *r, tgmm_rng *noise, int K, int d,
                       double box, double *means /* [K, d] */) {
  double lim = cos_limit(cfg);
  for (long a = 1; a <= TASK_MAX_ATTEMPTS; a++) {
    draw_means_once(cfg, r, noise, K, d, box, means);
    if (K == 1 || lim >= 1.0 || max_cosine(means, K, d) < lim) return a;
  }
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Gamma(a, 1) by Marsaglia and Tsang (a < 1: boosted by U^(1/a)). */
static double gamma_draw(tgmm_rng *r, double a) {
  double boost = 1.0;
  if (a < 1.0) {
    double u = tgmm_rng_uniform(r);
    boost = pow(u > 0 ? u : 1e-300, 1.0 / a);
    a += 1.0;
  }
  double dd = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * dd);
  for (;;) {
    double x = tgmm_rng_normal(r), v = 1.0 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    double u = tgmm_rng_uniform(r);
    if (u > 0 && log(u) < 0.5 * x * x + dd - dd * v + dd * log(v)) return boost * dd * v;
  }
}

/* Weights: K draws of U[0.2, 0.8] (the paper), or (weights_prior dirichlet) K Gamma(alpha, 1)
 * draws; sorted ascending, normalised. */
static void draw_weights(const tgmm_config *cfg, tgmm_rng *r, int K, double *w /* [K] */) {
  double sum = 0;
  int dir = cfg->weights_prior == TGMM_WEIGHTS_DIRICHLET;
  for (int k = 0; k < K; k++)
    w[k] = dir ? gamma_draw(r, cfg->dirichlet_alpha) : tgmm_rng_uniform_range(r, 0.2, 0.8);
  qsort(w, (size_t)K, sizeof *w, cmp_double);
  for (int k = 0; k < K; k++) sum += w[k];
  for (int k = 0; k < K; k++) w[k] /= sum;
}

/* Standard deviations: 1, or (anisotropic) 2*softplus(u/5) with u [K, d] drawn as the means
 * are, by the same sampler, cosine filter included (as the authors' sampler does). Returns 0
 * when no draw of u passed the filter. */
static long draw_scales(const tgmm_config *cfg, tgmm_rng *r, tgmm_rng *noise, int K, int d,
                        double *s /* [K, d] */) {
  double cs = cfg->component_scale > 0 ? cfg->component_scale : 1.0; /* zeroed config: 1 */
  if (cfg->family != TGMM_FAMILY_ANISOTROPIC) {
    for (int i = 0; i < K * d; i++) s[i] = cs;
    return 1;
  }
  long a = draw_means(cfg, r, noise, K, d, 1.0, s); /* u: unscaled, no mean-shift noise here */
  for (int i = 0; i < K * d; i++) s[i] = cs * (2.0 * softplus(s[i] / 5.0));
  return a;
}

/* Phase transition (Ndaoud): means offset +- (delta/2) u, weights 1/2, scales 1. */
static void draw_phase_transition(const tgmm_config *cfg, tgmm_rng *r, int cls, tgmm_task *t) {
  int d = t->d;
  double delta = sqrt((1.0 + sqrt(cfg->pt_a[cls])) * log((double)cfg->pt_n));
  double norm = 0;
  for (int c = 0; c < d; c++) {
    t->means[c] = tgmm_rng_normal(r); /* u, normalised below */
    norm += t->means[c] * t->means[c];
  }
  norm = norm > 0 ? sqrt(norm) : 1.0;
  for (int c = 0; c < d; c++) {
    double u = t->means[c] / norm;
    double off = delta * tgmm_rng_normal(r);
    t->means[c] = off - 0.5 * delta * u;
    t->means[d + c] = off + 0.5 * delta * u;
  }
  t->weights[0] = t->weights[1] = 0.5;
  for (int i = 0; i < 2 * d; i++) t->scales[i] = 1.0;
}

/* The box of the means: mean_scale (the loader keeps it > 0); a config filled without the loader
 * (zeroed, as in the unit tests) has 0 there and gets today's box, 1. */
static double mean_box(const tgmm_config *cfg) { return cfg->mean_scale > 0 ? cfg->mean_scale : 1.0; }

int tgmm_task_draw_N(const tgmm_config *cfg, uint32_t kind, int64_t id, int ragged) {
  if (!ragged) return cfg->N;
  tgmm_rng r;
  tgmm_rng_init(&r, (uint32_t)cfg->seed, kind, (uint64_t)id, TASK_SUB_N);
  int lo = cfg->N_min > 0 && cfg->N_min <= cfg->N ? cfg->N_min : (cfg->N + 1) / 2;
  return (int)tgmm_rng_int(&r, lo, cfg->N);
}

static int alloc_params(tgmm_task *t) {
  t->weights = tgmm_malloc(sizeof(double) * (size_t)t->K);
  t->means = tgmm_malloc(sizeof(double) * (size_t)t->K * (size_t)t->d);
  t->scales = tgmm_malloc(sizeof(double) * (size_t)t->K * (size_t)t->d);
  if (t->weights && t->means && t->scales) return TGMM_OK;
  tgmm_task_free(t);
  return TGMM_ENOMEM;
}

int tgmm_task_params(const tgmm_config *cfg, uint32_t kind, int64_t id, int cls, tgmm_task *t) {
  *t = (tgmm_task){0};
  t->id = id;
  t->cls = cls;
  t->d = cfg->d;
  t->K = tgmm_config_class_K(cfg, cls);
  TGMM_TRY(alloc_params(t));
  tgmm_rng r, noise;
  tgmm_rng_init(&r, (uint32_t)cfg->seed, kind, (uint64_t)id, 0);
  if (cfg->family == TGMM_FAMILY_PHASE_TRANSITION) {
    draw_phase_transition(cfg, &r, cls, t);
    return TGMM_OK;
  }
  tgmm_rng_init(&noise, (uint32_t)cfg->seed, kind, (uint64_t)id, TASK_SUB_NOISE);
  draw_weights(cfg, &r, t->K, t->weights);
  if (draw_means(cfg, &r, &noise, t->K, t->d, mean_box(cfg), t->means) == 0) {
    tgmm_error("task %lld: no draw of K = %d means in d = %d has all pairwise cosines < %.1f "
               "after %ld attempts; use fewer components or a larger d",
               (long long)id, t->K, t->d, cos_limit(cfg), TASK_MAX_ATTEMPTS);
    tgmm_task_free(t);
    return TGMM_EUSER;
  }
  if (draw_scales(cfg, &r, &noise, t->K, t->d, t->scales) == 0) {
    tgmm_error("task %lld: no draw of the K = %d scale vectors u in d = %d has all pairwise "
               "cosines < %.1f after %ld attempts", (long long)id, t->K, t->d, TASK_MAX_COS,
               TASK_MAX_ATTEMPTS);
    tgmm_task_free(t);
    return TGMM_EUSER;
  }
  return TGMM_OK;
}

void tgmm_task_samples(const tgmm_config *cfg, uint32_t kind, const tgmm_task *t, int64_t n0,
                       int64_t n1, double *x /* [n1-n0, d] */, int32_t *z /* [n1-n0] */) {
  int d = t->d;
  for (int64_t n = n0; n < n1; n++) {
    tgmm_rng r;
    tgmm_rng_init(&r, (uint32_t)cfg->seed, kind, (uint64_t)t->id, (uint32_t)(n + 1));
    int k = tgmm_rng_categorical(&r, t->weights, t->K);
    double *row = x + (n - n0) * d;
    for (int c = 0; c < d; c++)
      row[c] = t->means[k * d + c] + t->scales[k * d + c] * tgmm_rng_normal(&r);
    z[n - n0] = k;
  }
}

int tgmm_task_sample(const tgmm_config *cfg, uint32_t kind, int64_t id, int cls, int N, tgmm_task *t) {
  TGMM_TRY(tgmm_task_params(cfg, kind, id, cls, t));
  t->N = N;
  t->x = tgmm_malloc(sizeof(double) * (size_t)N * (size_t)t->d);
  t->z = tgmm_malloc(sizeof(int32_t) * (size_t)N);
  if (!t->x || !t->z) {
    tgmm_task_free(t);
    return TGMM_ENOMEM;
  }
  tgmm_task_samples(cfg, kind, t, 0, N, t->x, t->z);
  return TGMM_OK;
}

/* Exact geometric limits: in d = 1 at most 2 directions (+-), in d = 2 at most 9 directions with
 * pairwise angles > acos(0.8) (~36.87 degrees). */
static int geometric_limit(int d) {
  if (d == 1) return 2;
  if (d == 2) return 9;
  return 0; /* no exact bound used */
}

/* Monte Carlo probe on a private stream: does the rejection loop accept often enough that every
 * task finishes well within the attempt limit? (acceptance >= ~1e-3 -> failure odds ~e^-100) */
static int probe_acceptance(const tgmm_config *cfg, int K, int d) {
  double *m = tgmm_malloc(sizeof(double) * (size_t)K * (size_t)d);
  if (!m) return TGMM_ENOMEM;
  tgmm_rng r, noise;
  tgmm_rng_init(&r, (uint32_t)cfg->seed, TASK_PROBE_KIND, (uint64_t)K, 0);
  tgmm_rng_init(&noise, (uint32_t)cfg->seed, TASK_PROBE_KIND, (uint64_t)K, TASK_SUB_NOISE);
  long limit = TASK_MAX_ATTEMPTS / 2, a = 0;
  int accepted = 0;
  for (a = 0; a < limit && accepted < TASK_PROBE_ACCEPTS; a++) {
    draw_means_once(cfg, &r, &noise, K, d, mean_box(cfg), m);
    if (cos_limit(cfg) >= 1.0 || max_cosine(m, K, d) < cos_limit(cfg)) accepted++;
  }
  free(m);
  if (accepted >= TASK_PROBE_ACCEPTS) return TGMM_OK;
  tgmm_error0("K = %d components in d = %d: only %d of %ld random draws of the means have all "
              "pairwise cosines < %.1f; the task family cannot be sampled reliably (use fewer "
              "components or a larger d)",
              K, d, accepted, a, cos_limit(cfg));
  return TGMM_EUSER;
}

int tgmm_task_check_feasible(const tgmm_config *cfg) {
  if (cfg->d < 1) {
    tgmm_error0("d = %d: the dimension must be at least 1", cfg->d);
    return TGMM_EUSER;
  }
  if (cfg->family == TGMM_FAMILY_PHASE_TRANSITION) return TGMM_OK; /* K = 2, no cosine filter */
  for (int c = 0; c < tgmm_config_nclass(cfg); c++) {
    int K = tgmm_config_class_K(cfg, c), lim = geometric_limit(cfg->d);
    if (K < 1) {
      tgmm_error0("K = %d: a task needs at least one component", K);
      return TGMM_EUSER;
    }
    if (K == 1) continue;
    if (lim > 0 && K > lim && cos_limit(cfg) == TASK_MAX_COS) {
      tgmm_error0("K = %d components in d = %d is impossible: at most %d means can have all "
                  "pairwise cosines < %.1f in d = %d",
                  K, cfg->d, lim, TASK_MAX_COS, cfg->d);
      return TGMM_EUSER;
    }
    TGMM_TRY(probe_acceptance(cfg, K, cfg->d));
  }
  return TGMM_OK;
}

double tgmm_task_min_distance(const double *means /* [K, d] */, int K, int d) {
  if (K < 2 || !means) return NAN;
  double best = INFINITY;
  for (int i = 0; i < K; i++)
    for (int j = i + 1; j < K; j++) {
      double s = 0;
      for (int c = 0; c < d; c++) {
        double e = means[i * d + c] - means[j * d + c];
        s += e * e;
      }
      if (s < best) best = s;
    }
  return sqrt(best);
}

void tgmm_task_free(tgmm_task *t) {
  free(t->weights);
  free(t->means);
  free(t->scales);
  free(t->x);
  free(t->z);
  t->weights = t->means = t->scales = t->x = NULL;
  t->z = NULL;
}
