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
 * Angles are formed in double: pos * omega reaches ~1e4 rad, where a float
 * angle would lose 3 digits before cos/sin even start.
 */
#include "sclaw_kernels.h"

#include <math.h>

#include "sclaw_status.h"

/* sign = +1 forward, -1 backward (inverse rotation). */
static void rotate(float *x, const int32_t *pos, int64_t N, int64_t NH, int64_t hd, float theta,
                   double sign)
{
    SCLAW_ASSERT(hd % 2 == 0);
    int64_t D = NH * hd;
#pragma omp parallel for
    for (int64_t n = 0; n < N; n++) {
        for (int64_t j = 0; j < hd / 2; j++) {
            double omega = pow((double)theta, -2.0 * (double)j / (double)hd);
            double ang = sign * (double)pos[n] * omega;
            float c = (float)cos(ang), s = (float)sin(ang);
            /* one cos/sin per (token, pair), shared by all heads */
            for (int64_t h = 0; h < NH; h++) {
                float *p = x + n * D + h * hd + 2 * j;
                float x0 = p[0], x1 = p[1];
                p[0] = x0 * c - x1 * s;
                p[1] = x0 * s + x1 * c;
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
