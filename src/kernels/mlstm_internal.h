/* mlstm_internal.h - helpers shared by the mLSTM cell kernels (models.md §3).
 *
 * Private to src/kernels/mlstm_*.c: the stable log-sigmoid of the forget gate,
 * the q scale, and a bump carver for the caller's float workspace (which also
 * holds double arrays, hence the 8-byte alignment rule in sclaw_kernels.h).
 */
#ifndef SCLAW_MLSTM_INTERNAL_H
#define SCLAW_MLSTM_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* logsig(x) = min(x, 0) - log1p(exp(-|x|)): never overflows (§3). */
static inline double mlstm_logsig(double x)
{
    return fmin(x, 0.0) - log1p(exp(-fabs(x)));
}

static inline float mlstm_logsigf(float x)
{
    return fminf(x, 0.0f) - log1pf(expf(-fabsf(x)));
}

/* d logsig(x)/dx = sigmoid(-x) = 1 / (1 + exp(x)), written to stay finite. */
static inline double mlstm_sigmoid_neg(double x)
{
    return x >= 0 ? exp(-x) / (1.0 + exp(-x)) : 1.0 / (1.0 + exp(x));
}

/* exp(x) for the stabilised gate exponents (x <= 0 by construction), written
 * so that `#pragma omp simd` loops vectorise it: libm's expf has no vector
 * variant without -ffast-math, and under the default -ftrapping-math GCC
 * will not if-convert a float comparison, so the range checks are integer
 * compares on the bit pattern turned into masks (no branch, no ?:).
 * Cephes expf: x = n ln2 + r, |r| <= ln2/2, degree-5 minimax polynomial, then
 * 2^n from the exponent bits; ~1.3 ulp. Below -87 (e^-87 ~ 1.6e-38, the end of
 * the normal range) it returns exactly 0, so no denormals reach the GEMMs;
 * above 88 it saturates at e^88. NaN inputs are not propagated here. */
static inline float mlstm_expf(float x)
{
    const int32_t lo = (int32_t)0xC2AE0000u; /* bits of -87.0f */
    const int32_t hi = 0x42B00000;           /* bits of  88.0f */
    int32_t xb, rb;
    memcpy(&xb, &x, sizeof xb);
    /* negative floats order like their bits read as int32 (larger = more
     * negative), positive ones like plain ints */
    int32_t under = -((xb < 0) & (xb > lo)); /* all ones if x < -87 */
    int32_t over = -(xb > hi);               /* all ones if x > 88 */
    xb = (lo & under) | (hi & over) | (xb & ~(under | over));
    float xc;
    memcpy(&xc, &xb, sizeof xc);
    /* n = round(x / ln2) by the 1.5 * 2^23 trick (vectorises without SSE4.1) */
    float n = (xc * 1.44269504089f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693359375f - n * -2.12194440e-4f;
    float z = r * r;
    float y = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
                4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f;
    y = y * z + r + 1.0f;
    int32_t pb = ((int32_t)n + 127) * (1 << 23); /* 2^n, n in [-126, 127] */
    float p2;
    memcpy(&p2, &pb, sizeof p2);
    float res = y * p2;
    memcpy(&rb, &res, sizeof rb);
    rb &= ~under;
    memcpy(&res, &rb, sizeof res);
    return res;
}

/* Every sub-array starts on a 64-byte boundary relative to the workspace
 * start (16 floats), so BLAS sees aligned operands when the block is. */
static inline size_t mlstm_round16(size_t nfloats)
{
    return (nfloats + 15) / 16 * 16;
}

/* Bump carver over a float workspace: take n floats or n doubles. With a
 * NULL base it only counts (used to size the workspace). */
struct mlstm_carve {
    float *base;
    size_t used; /* floats */
};

static inline float *mlstm_take_f(struct mlstm_carve *c, size_t n)
{
    float *r = c->base ? c->base + c->used : NULL;
    c->used += mlstm_round16(n);
    return r;
}

static inline double *mlstm_take_d(struct mlstm_carve *c, size_t n)
{
    double *r = c->base ? (double *)(void *)(c->base + c->used) : NULL;
    c->used += mlstm_round16(2 * n);
    return r;
}

#endif
