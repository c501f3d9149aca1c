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

/* The vector helpers below are always inlined into their (target_clones) callers, so no vector
 * crosses a call boundary: GCC's note that passing one would change the ABI does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"

/* 16 floats as one GCC vector (one AVX-512 register, two AVX2 registers, four SSE registers:
 * the lanes compute the same values on every target, bar the fused multiply-adds), and 8 floats
 * (one AVX2 register). GCC 12 lowers a comparison or a shuffle of a vector wider than the
 * target's registers lane by lane through memory, so code that runs where there is no AVX-512
 * uses the 8-float family (nn_v8_*): the same functions, generated below for both widths. */
typedef float nn_v16 __attribute__((vector_size(64)));
typedef int nn_v16i __attribute__((vector_size(64)));
typedef float nn_v16u __attribute__((vector_size(64), aligned(4))); /* unaligned access */
typedef float nn_v8 __attribute__((vector_size(32)));
typedef int nn_v8i __attribute__((vector_size(32)));
typedef float nn_v8u __attribute__((vector_size(32), aligned(4)));

#define NN_AI static inline __attribute__((always_inline))

#define NN_GELU_K 0.7978845608028654f /* sqrt(2/pi) */

/* P_load, P_store, P_splat, P_max, P_min (a > b ? a : b, ...), P_keep_below (lanes i < n of v,
 * fill elsewhere), P_tanh (nn_fast_tanh lane by lane) and P_exp_neg: exp(x) for x <= 0
 * (softmax after subtracting the row maximum; below -87 the result is exp(-87), a normal
 * float): Cephes' range reduction x = n ln 2 + r, |r| <= ln2 / 2 (n rounded to nearest by the
 * 1.5 * 2^23 trick), and its degree-5 polynomial (|relative error| < 2e-7); branch-free.
 * P_gelu: GELU, tanh approximation (nn_gelu_fwd's, lane by lane). */
#define NN_VEC_FUNCS(P, V, VI, VU, W)                                                         \
  NN_AI V P##_load(const float *p) { return *(const VU *)p; }                                 \
  NN_AI void P##_store(float *p, V v) { *(VU *)p = v; }                                       \
  NN_AI V P##_splat(float x) { return (V){0} + x; }                                           \
  NN_AI V P##_sel(VI m, V a, V b) { return (V)(((VI)a & m) | ((VI)b & ~m)); }                 \
  NN_AI V P##_max(V a, V b) { return P##_sel(a > b, a, b); }                                  \
  NN_AI V P##_min(V a, V b) { return P##_sel(a < b, a, b); }                                  \
  NN_AI V P##_keep_below(V v, int n, V fill) {                                                \
    V iota;                                                                                   \
    for (int i = 0; i < W; i++) iota[i] = (float)i;                                           \
    return P##_sel(iota < (float)n, v, fill);                                                 \
  }                                                                                           \
  NN_AI V P##_tanh(V x) {                                                                     \
    const float lim = 7.90531110763549805f;                                                   \
    x = P##_min(P##_max(x, P##_splat(-lim)), P##_splat(lim));                                 \
    V x2 = x * x;                                                                             \
    V p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;                                \
    p = p * x2 + -8.60467152213735e-11f;                                                      \
    p = p * x2 + 5.12229709037114e-08f;                                                       \
    p = p * x2 + 1.48572235717979e-05f;                                                       \
    p = p * x2 + 6.37261928875436e-04f;                                                       \
    p = p * x2 + 4.89352455891786e-03f;                                                       \
    V q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;                                 \
    q = q * x2 + 2.26843463243900e-03f;                                                       \
    q = q * x2 + 4.89352518554385e-03f;                                                       \
    return p * x / q;                                                                         \
  }                                                                                           \
  NN_AI V P##_exp_neg(V x) {                                                                  \
    x = P##_max(x, P##_splat(-87.0f));                                                        \
    V n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;                             \
    V r = x - n * 0.693359375f;                                                               \
    r = r - n * -2.12194440e-4f;                                                              \
    V p = P##_splat(1.9875691500e-4f);                                                        \
    p = p * r + 1.3981999507e-3f;                                                             \
    p = p * r + 8.3334519073e-3f;                                                             \
    p = p * r + 4.1665795894e-2f;                                                             \
    p = p * r + 1.6666665459e-1f;                                                             \
    p = p * r + 5.0000001201e-1f;                                                             \
    p = p * r * r + r + 1.0f;                                                                 \
    VI e = (__builtin_convertvector(n, VI) + 127) << 23;                                      \
    return p * (V)e;                                                                          \
  }                                                                                           \
  NN_AI V P##_gelu(V x) {                                                                     \
    return 0.5f * x * (1.0f + P##_tanh(NN_GELU_K * (x + 0.044715f * x * x * x)));             \
  }
NN_VEC_FUNCS(nn_v16, nn_v16, nn_v16i, nn_v16u, 16)
NN_VEC_FUNCS(nn_v8, nn_v8, nn_v8i, nn_v8u, 8)

/* Sum / maximum of the lanes by a fixed tree (halves, quarters, ...: the same order on every
 * target of a width). */
NN_AI nn_v16 nn_v16_fold(nn_v16 v, int w) {
  static const nn_v16i m8 = {8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7};
  static const nn_v16i m4 = {4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11};
  static const nn_v16i m2 = {2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13};
  static const nn_v16i m1 = {1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14};
  return __builtin_shuffle(v, w == 8 ? m8 : w == 4 ? m4 : w == 2 ? m2 : m1);
}
NN_AI float nn_v16_sum(nn_v16 v) {
  for (int w = 8; w >= 1; w /= 2) v += nn_v16_fold(v, w);
  return v[0];
}
NN_AI float nn_v16_hmax(nn_v16 v) {
  for (int w = 8; w >= 1; w /= 2) v = nn_v16_max(v, nn_v16_fold(v, w));
  return v[0];
}
NN_AI nn_v8 nn_v8_fold(nn_v8 v, int w) {
  return w == 4 ? __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3)
       : w == 2 ? __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5)
                : __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6);
}
NN_AI float nn_v8_sum(nn_v8 v) {
  for (int w = 4; w >= 1; w /= 2) v += nn_v8_fold(v, w);
  return v[0];
}
NN_AI float nn_v8_hmax(nn_v8 v) {
  for (int w = 4; w >= 1; w /= 2) v = nn_v8_max(v, nn_v8_fold(v, w));
  return v[0];
}

/* 1 where the loader picked a clone without AVX-512: code that has both widths takes the 8-float
 * one there. */
static inline int nn_narrow(void) { return !__builtin_cpu_supports("avx512f"); }

/* The register block of the inference kernels (nn_gemm.c, nn_attn_infer.c): for the 6 rows
 * a[r] and 16 columns, lo[r] (columns 0..7) and hi[r] (8..15) += sum_{k < n} a[r][k] *
 * B[k * ldb + 0..15]. */
#define NN_MR 6
NN_AI void nn_block6x16(nn_v8 lo[NN_MR], nn_v8 hi[NN_MR], const float *const a[NN_MR],
                        const float *B /* [n][ldb] */, size_t ldb, int n) {
  for (int r = 0; r < NN_MR; r++) lo[r] = hi[r] = (nn_v8){0};
  for (int k = 0; k < n; k++) {
    nn_v8 b0 = nn_v8_load(B + (size_t)k * ldb), b1 = nn_v8_load(B + (size_t)k * ldb + 8);
    for (int r = 0; r < NN_MR; r++) {
      float x = a[r][k];
      nn_v8 av = {x, x, x, x, x, x, x, x}; /* a broadcast load (nn_v8_splat adds a 0) */
      lo[r] += av * b0;
      hi[r] += av * b1;
    }
  }
}

/* Compiled for AVX-512, AVX2+FMA and baseline; the loader picks the best (GCC ifunc). */
#define TGMM_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))

#endif
