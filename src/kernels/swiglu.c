/* swiglu.c - the two elementwise gates (models.md §1.2, backward §3.7):
 *
 *   SwiGLU (FFN):              out = silu(a) * b,   silu(a) = a sigmoid(a)
 *   sigmoid output gate (mLSTM): out = sigmoid(o) * h
 *
 * All arrays (n), contiguous. Backward accumulates (+=). OpenMP over elements.
 */
#include "sclaw_kernels.h"

#include "kmath.h"

/* ksigmoid = 1/(1+e^-x) is safe for every x: e^-x overflows to inf for very
 * negative x and the quotient becomes 0, never NaN. */

SCLAW_KCLONES
void sclaw_swiglu_forward(float *out, const float *a, const float *b, int64_t n)
{
#pragma omp parallel for simd
    for (int64_t i = 0; i < n; i++)
        out[i] = a[i] * ksigmoid(a[i]) * b[i];
}

SCLAW_KCLONES
void sclaw_swiglu_backward(float *da, float *db, const float *dout, const float *a,
                           const float *b, int64_t n)
{
    /* d silu(a)/da = s + a s (1 - s) = s (1 + a (1 - s)),  s = sigmoid(a) */
#pragma omp parallel for simd
    for (int64_t i = 0; i < n; i++) {
        float s = ksigmoid(a[i]);
        da[i] += dout[i] * b[i] * s * (1.0f + a[i] * (1.0f - s));
        db[i] += dout[i] * a[i] * s;
    }
}

SCLAW_KCLONES
void sclaw_ogate_forward(float *out, const float *o, const float *h, int64_t n)
{
#pragma omp parallel for simd
    for (int64_t i = 0; i < n; i++)
        out[i] = ksigmoid(o[i]) * h[i];
}

SCLAW_KCLONES
void sclaw_ogate_backward(float *dO, float *dh, const float *dout, const float *o,
                          const float *h, int64_t n)
{
    /* d sigmoid(o)/do = s (1 - s) */
#pragma omp parallel for simd
    for (int64_t i = 0; i < n; i++) {
        float s = ksigmoid(o[i]);
        dO[i] += dout[i] * h[i] * s * (1.0f - s);
        dh[i] += dout[i] * s;
    }
}
