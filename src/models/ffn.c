/* ffn.c - the SwiGLU FFN sub-block and small layout helpers shared by both
 * model families (models.md §1.2, §2, §3.7); see blocks.h. */
#include "blocks.h"
#include "sclaw_kernels.h"
#include "sclaw_model.h"

#include <string.h>

void sclaw_ffn_forward(float *y, float *u2, float *rstd, float *a, float *b, float *z,
                       const float *x, const float *wn, const float *Wg, const float *Wu,
                       const float *Wd, int64_t N, int64_t D, int64_t F)
{
    sclaw_rmsnorm_forward(u2, rstd, x, wn, N, D, SCLAW_NORM_EPS);
    sclaw_matmul_forward(a, u2, Wg, N, D, F, 0);
    sclaw_matmul_forward(b, u2, Wu, N, D, F, 0);
    sclaw_swiglu_forward(z, a, b, N * F);
    /* residual: y = x + z Wd^T (copy, then let the GEMM accumulate) */
    memcpy(y, x, (size_t)(N * D) * sizeof *y);
    sclaw_matmul_forward(y, z, Wd, N, F, D, 1);
}

void sclaw_ffn_backward(float *dxy, float *dwn, float *dWg, float *dWu, float *dWd, float *du2,
                        float *dz, float *da, float *db, const float *x, const float *u2,
                        const float *rstd, const float *a, const float *b, const float *z,
                        const float *wn, const float *Wg, const float *Wu, const float *Wd,
                        int64_t N, int64_t D, int64_t F)
{
    /* y = x + z Wd^T:  dz = dy Wd,  dWd += dy^T z;  the identity path keeps dy in dxy */
    memset(dz, 0, (size_t)(N * F) * sizeof *dz);
    sclaw_matmul_backward(dz, dWd, dxy, z, Wd, N, F, D);
    /* z = silu(a) * b */
    memset(da, 0, (size_t)(N * F) * sizeof *da);
    memset(db, 0, (size_t)(N * F) * sizeof *db);
    sclaw_swiglu_backward(da, db, dz, a, b, N * F);
    /* a = u2 Wg^T, b = u2 Wu^T */
    memset(du2, 0, (size_t)(N * D) * sizeof *du2);
    sclaw_matmul_backward(du2, dWg, da, u2, Wg, N, D, F);
    sclaw_matmul_backward(du2, dWu, db, u2, Wu, N, D, F);
    /* u2 = RMSNorm(x): accumulates into dxy, which already holds the identity path */
    sclaw_rmsnorm_backward(dxy, dwn, du2, x, wn, rstd, N, D);
}

void sclaw_bias_backward(float *db, const float *d, int64_t N, int64_t K)
{
    for (int64_t j = 0; j < K; j++) {
        double s = 0;
        for (int64_t n = 0; n < N; n++)
            s += d[n * K + j];
        db[j] += (float)s;
    }
}

void sclaw_to_heads(float *out, const float *in, int64_t B, int64_t T, int64_t H, int64_t d)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t bb = 0; bb < B; bb++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t t = 0; t < T; t++)
                memcpy(out + ((bb * H + h) * T + t) * d, in + ((bb * T + t) * H + h) * d,
                       (size_t)d * sizeof *out);
}

void sclaw_from_heads(float *out, const float *in, int64_t B, int64_t T, int64_t H, int64_t d)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t bb = 0; bb < B; bb++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t t = 0; t < T; t++)
                memcpy(out + ((bb * T + t) * H + h) * d, in + ((bb * H + h) * T + t) * d,
                       (size_t)d * sizeof *out);
}
