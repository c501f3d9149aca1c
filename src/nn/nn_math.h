/* nn_math.h — private to the layers (nn.c, nn_ssm.c): branch-free float approximations that
 * vectorise, and the function-multiversioning attribute of the hot loops. */
#ifndef TGMM_NN_MATH_H
#define TGMM_NN_MATH_H

/* tanh as a rational function (Eigen's float approximation, |error| < 4e-7 on all of R);
 * branch-free so that the loops below vectorise. */
static inline float nn_fast_tanh(float x) {
  const float lim = 7.90531110763549805f;
  x = x > lim ? lim : (x < -lim ? -lim : x);
  float x2 = x * x;
  float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return p * x / q;
}

/* sigmoid(x) = (1 + tanh(x/2)) / 2 (|error| < 2e-7). */
static inline float nn_fast_sigmoid(float x) { return 0.5f + 0.5f * nn_fast_tanh(0.5f * x); }

/* Compiled for AVX-512, AVX2+FMA and baseline; the loader picks the best (GCC ifunc). */
#define TGMM_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))

#endif
