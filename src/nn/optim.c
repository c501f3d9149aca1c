/* optim.c — AdamW, schedules, clipping (see include/tgmm/optim.h). */
#include "tgmm/optim.h"

#include <math.h>

void tgmm_adamw_step(const tgmm_adamw *opt, int64_t t, size_t n, float *params,
                     const float *grads, float *m, float *v) {
  double bc1 = 1.0 - pow(opt->beta1, (double)t), bc2 = 1.0 - pow(opt->beta2, (double)t);
  float b1 = (float)opt->beta1, b2 = (float)opt->beta2, eps = (float)opt->eps;
  float decay = (float)(1.0 - opt->lr * opt->weight_decay);
  float step = (float)(opt->lr / bc1), rbc2 = (float)(1.0 / sqrt(bc2));
  for (size_t i = 0; i < n; i++) {
    float g = grads[i];
    float mi = b1 * m[i] + (1.0f - b1) * g;
    float vi = b2 * v[i] + (1.0f - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] = params[i] * decay - step * mi / (sqrtf(vi) * rbc2 + eps);
  }
}

double tgmm_lr_at(const tgmm_config *cfg, int64_t s) {
  double lr = cfg->train.lr;
  int64_t w = cfg->train.warmup, S = cfg->train.steps;
  if (s < w) return lr * (double)(s + 1) / (double)w;
  if (cfg->train.schedule == TGMM_SCHED_CONSTANT || S <= w) return lr;
  double p = (double)(s - w) / (double)(S - w);
  if (p > 1.0) p = 1.0;
  return 0.5 * lr * (1.0 + cos(M_PI * p));
}

double tgmm_grad_norm(const float *g, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
  return sqrt(s);
}

double tgmm_clip_grads(float *g, size_t n, double max_norm) {
  double norm = tgmm_grad_norm(g, n);
  if (max_norm > 0.0 && norm > max_norm) {
    float c = (float)(max_norm / (norm + 1e-6));
    for (size_t i = 0; i < n; i++) g[i] *= c;
  }
  return norm;
}
