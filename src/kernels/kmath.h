/* kmath.h - vectorisable exp and tanh for the kernels (private to src/kernels).
 *
 * glibc's expf/tanhf are scalar calls (its SIMD variants are only declared
 * under -ffast-math, which sclaw never uses, style.md §2.3), so a loop over
 * 50304 logits or a row of attention scores runs one call per element. These
 * inline versions are branch-free straight-line code that GCC vectorises
 * inside `#pragma omp simd` loops, still float-accurate. Measured per element
 * (CPU time, this project's 2-core EPYC): expf 1.8 ns, kexp 1.6 ns (SSE2
 * build) / 0.6 ns (AVX2 clone, SCLAW_KCLONES below); tanhf 10.2 ns, ktanh
 * 3.7 / 1.3 ns. The vector loops also let the reductions around them vectorise.
 *
 *   kexp(x):  Cephes expf range reduction x = n ln2 + r, |r| <= ln2/2, and
 *             its degree-6 polynomial; 2^n assembled in the exponent bits.
 *             Max relative error about 2 ulp (tests/test_kernels.c sweeps it).
 *             x < -86.9 (e^x < 2e-38, incl. -inf) flushes to exactly 0,
 *             x > 88.7 gives +inf, NaN gives NaN.
 *   ktanh(x): Cephes tanhf: an odd polynomial for |x| < 0.625 (no
 *             cancellation near 0), 1 - 2/(e^{2|x|} + 1) beyond, with the sign
 *             restored. Saturates to exactly +-1; NaN gives NaN.
 *   ksigmoid(x) = 1 / (1 + kexp(-x)).
 *
 * Including this header turns off -ftrapping-math for the rest of the file.
 * With trapping math GCC may not evaluate both arms of a float select
 * (a compare could raise FE_INVALID), so it refuses to vectorise any loop
 * with a clamp or a mask in it. sclaw never reads floating-point exception
 * flags, and unlike -ffast-math this keeps NaN/Inf semantics (isnan works).
 */
#ifndef SCLAW_KMATH_H
#define SCLAW_KMATH_H

#pragma GCC optimize("no-trapping-math")

#include <stdint.h>
#include <string.h>

static inline float kexp(float x)
{
    const float log2e = 1.44269504088896341f;
    /* ln 2 split in two so that n * ln2_hi is exact for |n| <= 128 */
    const float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    float xc = __builtin_isless(x, -86.9f) ? -86.9f : x;
    xc = __builtin_isgreater(xc, 88.7f) ? 88.7f : xc;
    /* round to nearest without a libm call: adding 1.5*2^23 forces rounding
     * at the units place (valid for |v| < 2^22) */
    float n = (xc * log2e + 12582912.0f) - 12582912.0f;
    float r = xc - n * ln2_hi - n * ln2_lo;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* 2^n via the exponent field: after the clamp n is in [-125, 128], so
     * 2^(n-1) is a normal float (field 1..254); the extra factor 2 brings
     * n = 128 (e^88.7 = 3.3e38 < FLT_MAX) within range without overflow */
    int32_t ni = (int32_t)n;
    uint32_t bits = (uint32_t)(ni + 126) << 23;
    float s;
    memcpy(&s, &bits, sizeof s);
    float y = p * s * 2.0f;
    y = __builtin_isless(x, -86.9f) ? 0.0f : y;
    y = __builtin_isgreater(x, 88.7f) ? __builtin_inff() : y;
    return __builtin_isunordered(x, x) ? x : y;
}

static inline float ktanh(float x)
{
    float a = x < 0 ? -x : x;
    /* small |x|: x + x^3 P(x^2) */
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * x + x;
    /* large |x|: 1 - 2/(e^{2|x|} + 1); e^{2|x|} = inf gives exactly 1 */
    float e = kexp(2.0f * (a < 44.0f ? a : 44.0f));
    float big = 1.0f - 2.0f / (e + 1.0f);
    big = x < 0 ? -big : big;
    float y = a < 0.625f ? small : big;
    return __builtin_isunordered(x, x) ? x : y;
}

static inline float ksigmoid(float x) { return 1.0f / (1.0f + kexp(-x)); }

/* Function multi-versioning for the hot loops: GCC compiles the function
 * three times (baseline x86-64 = SSE2, AVX2, AVX-512F) and picks one at load
 * time by CPUID, so one portable binary still runs 8- or 16-wide where the
 * CPU allows; kexp/ktanh loops run ~2.5x faster in the AVX2 clone than in
 * the baseline. No FMA contraction happens (ISO C mode keeps
 * -ffp-contract=off), so all clones round identically elementwise; only the
 * order inside vectorised sums differs. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define SCLAW_KCLONES __attribute__((target_clones("avx512f", "avx2", "default")))
/* For loops made of short dot products (one horizontal sum per 64 floats):
 * there the 16-lane reduction costs more than the wider loads save. */
#define SCLAW_KCLONES_AVX2 __attribute__((target_clones("avx2", "default")))
#else
#define SCLAW_KCLONES
#define SCLAW_KCLONES_AVX2
#endif
/* A static helper called from a cloned function must be inlined into it to
 * be compiled for the clone's ISA. */
#define SCLAW_KINLINE static inline __attribute__((always_inline))

/* Weight-gradient reductions (rmsnorm.c, headnorm.c): each thread keeps
 * KCH double partial sums on its stack (8 KiB) and the partials are added
 * in thread order, so results do not depend on scheduling. */
#define KCH 1024
#define SCLAW_KMAX_THREADS 512

#endif
