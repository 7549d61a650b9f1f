/* rmsnorm.c - RMSNorm forward and backward (models.md §1.2, §3.7).
 *
 *   y = x * r * w,   r = (mean(x^2) + eps)^-1/2   per row
 *
 * Shapes: x, out, dx, dout (N, D)   w, dw (D)   rstd (N), saved by forward.
 * Rows are independent, so forward and dx run OpenMP over rows; the weight
 * gradient is a sum over rows, computed in a second pass over column blocks so
 * that no two threads write the same dw element (kernels do not allocate, so
 * there are no per-thread partial buffers). Row reductions accumulate in double.
 */
#include "sclaw_kernels.h"

#include <math.h>

/* Columns per block of the weight-gradient pass: 64 doubles of accumulators
 * stay in registers/L1 while the rows stream past. */
#define COLS 64

void sclaw_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int64_t N,
                           int64_t D, float eps)
{
#pragma omp parallel for
    for (int64_t n = 0; n < N; n++) {
        const float *xr = x + n * D;
        float *yr = out + n * D;
        double ss = 0;
        for (int64_t j = 0; j < D; j++)
            ss += (double)xr[j] * xr[j];
        float r = (float)(1.0 / sqrt(ss / (double)D + (double)eps));
        rstd[n] = r;
        for (int64_t j = 0; j < D; j++)
            yr[j] = xr[j] * r * w[j];
    }
}

void sclaw_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                            const float *w, const float *rstd, int64_t N, int64_t D)
{
    /* forward: y_j = w_j x_j r, r = (mean(x^2)+eps)^-1/2, dr/dx_j = -r^3 x_j / D.
     * With g = w * dy:  dx = r g - x r^3 mean(x g). */
#pragma omp parallel for
    for (int64_t n = 0; n < N; n++) {
        const float *xr = x + n * D, *dyr = dout + n * D;
        float *dxr = dx + n * D;
        double r = rstd[n], xg = 0;
        for (int64_t j = 0; j < D; j++)
            xg += (double)xr[j] * w[j] * dyr[j];
        double c = r * r * r * xg / (double)D;
        for (int64_t j = 0; j < D; j++)
            dxr[j] += (float)(r * w[j] * dyr[j] - c * xr[j]);
    }
    /* dw_j += sum_n dy_nj x_nj r_n, one column block per task */
    int64_t nblk = (D + COLS - 1) / COLS;
#pragma omp parallel for
    for (int64_t b = 0; b < nblk; b++) {
        int64_t j0 = b * COLS, j1 = j0 + COLS < D ? j0 + COLS : D;
        double acc[COLS] = { 0 };
        for (int64_t n = 0; n < N; n++) {
            const float *xr = x + n * D, *dyr = dout + n * D;
            double r = rstd[n];
            for (int64_t j = j0; j < j1; j++)
                acc[j - j0] += (double)dyr[j] * xr[j] * r;
        }
        for (int64_t j = j0; j < j1; j++)
            dw[j] += (float)acc[j - j0];
    }
}
