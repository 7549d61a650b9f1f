/* softcap.c - soft-cap y = cap * tanh(x / cap) (models.md §1.2: gates, cap 15;
 * output logits, cap 30; backward §3.7).
 *
 * x, y, dx, dy: (n). The backward needs only the saved output, because
 * d/dx cap tanh(x/cap) = 1 - tanh^2 = 1 - (y/cap)^2; this lets the caller
 * drop the pre-cap values. Backward accumulates (+=), so dx must not alias
 * dy. Forward may run in place (y == x).
 */
#include "sclaw_kernels.h"

#include "kmath.h"

SCLAW_KCLONES
void sclaw_softcap_forward(float *y, const float *x, int64_t n, float cap)
{
    float inv = 1.0f / cap;
#pragma omp parallel for simd
    for (int64_t i = 0; i < n; i++)
        y[i] = cap * ktanh(x[i] * inv);
}

SCLAW_KCLONES
void sclaw_softcap_backward(float *dx, const float *dy, const float *y, int64_t n, float cap)
{
    float inv = 1.0f / cap;
#pragma omp parallel for simd
    for (int64_t i = 0; i < n; i++) {
        float t = y[i] * inv;
        dx[i] += dy[i] * (1.0f - t * t);
    }
}
