/* optim.h — AdamW with PyTorch's semantics (torch.optim.AdamW, amsgrad off), learning-rate
 * schedules and global-norm gradient clipping, on the model's contiguous buffers. */
#ifndef TGMM_OPTIM_H
#define TGMM_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "tgmm/config.h"

typedef struct {
  double lr, beta1, beta2, eps, weight_decay;
} tgmm_adamw;

/* One AdamW step t (1-based) over n parameters:
 *   p -= lr * wd * p;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). */
void tgmm_adamw_step(const tgmm_adamw *opt, int64_t t, size_t n, float *params /* [n] */,
                     const float *grads /* [n] */, float *m /* [n] */, float *v /* [n] */);

/* Learning rate of step s (0-based) of `steps`: linear warm-up over train.warmup steps
 * (lr * (s+1)/warmup), then constant or cosine decay to 0 at `steps`. */
double tgmm_lr_at(const tgmm_config *cfg, int64_t s);

/* Global L2 norm of g[n] (accumulated in double). */
double tgmm_grad_norm(const float *g, size_t n);
/* torch.nn.utils.clip_grad_norm_: if norm > max_norm, g *= max_norm / (norm + 1e-6).
 * Returns the norm before clipping. max_norm <= 0: no clipping. */
double tgmm_clip_grads(float *g, size_t n, double max_norm);

#endif
