/* rope.c - rotary position embedding, interleaved pairs (models.md §2).
 *
 * For each row n (a token), head and pair j in [0, hd/2), the pair
 * (x[2j], x[2j+1]) is rotated by the angle pos[n] * theta^(-2j/hd):
 *
 *   x0' = x0 cos - x1 sin        x1' = x0 sin + x1 cos
 *
 * (Meta/complex pairing, not the rotate-half layout.) pos holds each token's
 * position inside its document, so positions restart at 0 at every document
 * border; the kernel simply uses whatever pos says.
 *
 * Shapes: x, dx (N, NH, hd) with hd even   pos (N).
 * Both directions work in place. A rotation is orthogonal, so the backward is
 * the rotation by -angle (the transpose); it overwrites the gradient rather
 * than accumulating, which is the one exception to the += convention.
 * Angles are formed and reduced to [-pi, pi] in double: pos * omega reaches
 * ~1e4 rad, where a float angle would lose 3 digits before cos/sin start.
 * (One sincos per token and pair, shared by all heads.)
 */
#include "sclaw_kernels.h"

#include <math.h>

#include "kmath.h"
#include "sclaw_status.h"

/* Pairs per chunk: the chunk's cos/sin live on the stack and are reused by
 * every head of the token. */
#define RCH 64

/* sign = +1 forward, -1 backward (inverse rotation). */
SCLAW_KCLONES
static void rotate(float *x, const int32_t *pos, int64_t N, int64_t NH, int64_t hd, float theta,
                   double sign)
{
    SCLAW_ASSERT(hd % 2 == 0);
    const int64_t D = NH * hd, npair = hd / 2;
    const double two_pi = 6.283185307179586, ratio = pow((double)theta, -2.0 / (double)hd);
#pragma omp parallel for
    for (int64_t n = 0; n < N; n++) {
        for (int64_t j0 = 0; j0 < npair; j0 += RCH) {
            int64_t nj = npair - j0 < RCH ? npair - j0 : RCH;
            float c[RCH], s[RCH];
            /* omega_j = theta^(-2j/hd) = ratio^j, stepped by multiplication */
            double omega = pow((double)theta, -2.0 * (double)j0 / (double)hd);
            for (int64_t jj = 0; jj < nj; jj++) {
                /* reduce the angle to [-pi, pi] in double, then float sincos */
                double ang = sign * (double)pos[n] * omega;
                ang -= two_pi * nearbyint(ang / two_pi);
                /* GCC merges the pair into one sincosf call */
                s[jj] = sinf((float)ang);
                c[jj] = cosf((float)ang);
                omega *= ratio;
            }
            for (int64_t h = 0; h < NH; h++) {
                float *p = x + n * D + h * hd + 2 * j0;
#pragma omp simd
                for (int64_t jj = 0; jj < nj; jj++) {
                    float x0 = p[2 * jj], x1 = p[2 * jj + 1];
                    p[2 * jj] = x0 * c[jj] - x1 * s[jj];
                    p[2 * jj + 1] = x0 * s[jj] + x1 * c[jj];
                }
            }
        }
    }
}

void sclaw_rope_forward(float *x, const int32_t *pos, int64_t N, int64_t NH, int64_t hd,
                        float theta)
{
    rotate(x, pos, N, NH, hd, theta, 1.0);
}

void sclaw_rope_backward(float *dx, const int32_t *pos, int64_t N, int64_t NH, int64_t hd,
                         float theta)
{
    /* forward y = R(a) x  =>  dx = R(a)^T dy = R(-a) dy */
    rotate(dx, pos, N, NH, hd, theta, -1.0);
}
