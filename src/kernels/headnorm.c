/* headnorm.c - per-head LayerNorm without bias: the mLSTM multi-head out-norm
 * (models.md §1.2 "hn = concat_h LayerNorm_head(h_h)", backward §3.7).
 *
 *   xhat = (x - mean) * r,  r = (var + eps)^-1/2   over each head's dv values
 *   out  = xhat * w                                 w spans all heads (NH*dv)
 *
 * Shapes: x, out, dx, dout (N, NH*dv)   w, dw (NH*dv)   mean, rstd (N, NH).
 * The variance is the biased one (divide by dv), as in torch LayerNorm.
 * OpenMP over rows; dw in a second pass over column blocks (no write races,
 * no allocation). Reductions in double.
 */
#include "sclaw_kernels.h"

#include <math.h>

#define COLS 64

void sclaw_headnorm_forward(float *out, float *mean, float *rstd, const float *x, const float *w,
                            int64_t N, int64_t NH, int64_t dv, float eps)
{
    int64_t D = NH * dv;
#pragma omp parallel for
    for (int64_t n = 0; n < N; n++) {
        for (int64_t h = 0; h < NH; h++) {
            const float *xr = x + n * D + h * dv;
            const float *wr = w + h * dv;
            float *yr = out + n * D + h * dv;
            double s = 0;
            for (int64_t e = 0; e < dv; e++)
                s += xr[e];
            double mu = s / (double)dv, ss = 0;
            /* two-pass variance: no cancellation when |mean| >> std */
            for (int64_t e = 0; e < dv; e++) {
                double d = xr[e] - mu;
                ss += d * d;
            }
            double r = 1.0 / sqrt(ss / (double)dv + (double)eps);
            mean[n * NH + h] = (float)mu;
            rstd[n * NH + h] = (float)r;
            for (int64_t e = 0; e < dv; e++)
                yr[e] = (float)((xr[e] - mu) * r) * wr[e];
        }
    }
}

void sclaw_headnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                             const float *w, const float *mean, const float *rstd, int64_t N,
                             int64_t NH, int64_t dv)
{
    int64_t D = NH * dv;
    /* forward: y = w xhat, xhat = (x - mean) r. With g = w dy, the standard
     * LayerNorm gradient is  dx = r (g - mean(g) - xhat mean(g xhat)). */
#pragma omp parallel for
    for (int64_t n = 0; n < N; n++) {
        for (int64_t h = 0; h < NH; h++) {
            const float *xr = x + n * D + h * dv, *dyr = dout + n * D + h * dv;
            const float *wr = w + h * dv;
            float *dxr = dx + n * D + h * dv;
            double mu = mean[n * NH + h], r = rstd[n * NH + h];
            double sg = 0, sgx = 0;
            for (int64_t e = 0; e < dv; e++) {
                double g = (double)wr[e] * dyr[e];
                sg += g;
                sgx += g * (xr[e] - mu) * r;
            }
            double mg = sg / (double)dv, mgx = sgx / (double)dv;
            for (int64_t e = 0; e < dv; e++) {
                double g = (double)wr[e] * dyr[e], xhat = (xr[e] - mu) * r;
                dxr[e] += (float)(r * (g - mg - xhat * mgx));
            }
        }
    }
    /* dw_c += sum_n dy_nc xhat_nc, column block per task */
    int64_t nblk = (D + COLS - 1) / COLS;
#pragma omp parallel for
    for (int64_t b = 0; b < nblk; b++) {
        int64_t c0 = b * COLS, c1 = c0 + COLS < D ? c0 + COLS : D;
        double acc[COLS] = { 0 };
        for (int64_t n = 0; n < N; n++) {
            const float *xr = x + n * D, *dyr = dout + n * D;
            for (int64_t c = c0; c < c1; c++) {
                int64_t h = c / dv;
                double xhat = ((double)xr[c] - mean[n * NH + h]) * rstd[n * NH + h];
                acc[c - c0] += dyr[c] * xhat;
            }
        }
        for (int64_t c = c0; c < c1; c++)
            dw[c] += (float)acc[c - c0];
    }
}
