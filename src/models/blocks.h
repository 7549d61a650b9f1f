/* blocks.h - helpers shared by the family block files (internal to
 * src/models/, not part of the public API). */
#ifndef SCLAW_MODELS_BLOCKS_H
#define SCLAW_MODELS_BLOCKS_H

#include <stdint.h>

/* Carve n floats off *at (a bump pointer over one caller-owned block). */
static inline float *blocks_take(float **at, int64_t n)
{
    float *p = *at;
    *at += (n + 15) / 16 * 16; /* keep every region 64-byte aligned */
    return p;
}
/* Floats blocks_take consumes for n. */
static inline int64_t blocks_round(int64_t n)
{
    return (n + 15) / 16 * 16;
}

/* SwiGLU FFN sub-block (models.md §1.2 / §2), shared by both families:
 *   u2 = RMSNorm(x; wn);  a = u2 Wg^T;  b = u2 Wu^T;  z = silu(a) b;  y = x + z Wd^T
 * x, y, u2: (N, D)  rstd: (N)  a, b, z: (N, F). y may not alias x. */
void sclaw_ffn_forward(float *y, float *u2, float *rstd, float *a, float *b, float *z,
                       const float *x, const float *wn, const float *Wg, const float *Wu,
                       const float *Wd, int64_t N, int64_t D, int64_t F);
/* dxy: on entry dL/dy, on exit dL/dx. Gradients accumulate into dwn, dWg, dWu,
 * dWd. Scratch: du2 (N, D), dz, da, db (N, F). */
void sclaw_ffn_backward(float *dxy, float *dwn, float *dWg, float *dWu, float *dWd, float *du2,
                        float *dz, float *da, float *db, const float *x, const float *u2,
                        const float *rstd, const float *a, const float *b, const float *z,
                        const float *wn, const float *Wg, const float *Wu, const float *Wd,
                        int64_t N, int64_t D, int64_t F);

/* Gradient of a bias: db[j] += sum_n d[n, j]   d: (N, K). */
void sclaw_bias_backward(float *db, const float *d, int64_t N, int64_t K);

/* (B, T, H, d) <-> (B, H, T, d) layout change (heads-major for the mLSTM cell). */
void sclaw_to_heads(float *out, const float *in, int64_t B, int64_t T, int64_t H, int64_t d);
void sclaw_from_heads(float *out, const float *in, int64_t B, int64_t T, int64_t H, int64_t d);

#endif
