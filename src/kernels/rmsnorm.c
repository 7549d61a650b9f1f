/* rmsnorm.c - RMSNorm forward and backward (models.md §1.2, §3.7).
 *
 *   y = x * r * w,   r = (mean(x^2) + eps)^-1/2   per row
 *
 * Shapes: x, out, dx, dout (N, D)   w, dw (D)   rstd (N), saved by forward.
 * Rows are independent, so forward and dx run OpenMP over rows. The weight
 * gradient is a sum over rows: each thread sums its rows into a partial on
 * its own stack (kernels do not allocate), in the same pass that computes
 * dx, and the partials are added in thread order. Reductions in double.
 */
#include "sclaw_kernels.h"

#include <math.h>
#include <omp.h>

#include "kmath.h"
#include "sclaw_status.h"

SCLAW_KCLONES
void sclaw_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int64_t N,
                           int64_t D, float eps)
{
#pragma omp parallel for
    for (int64_t n = 0; n < N; n++) {
        const float *xr = x + n * D;
        float *yr = out + n * D;
        double ss = 0;
#pragma omp simd reduction(+ : ss)
        for (int64_t j = 0; j < D; j++)
            ss += (double)xr[j] * xr[j];
        float r = (float)(1.0 / sqrt(ss / (double)D + (double)eps));
        rstd[n] = r;
#pragma omp simd
        for (int64_t j = 0; j < D; j++)
            yr[j] = xr[j] * r * w[j];
    }
}

SCLAW_KCLONES
void sclaw_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                            const float *w, const float *rstd, int64_t N, int64_t D)
{
    /* Per-thread partial sums of dw, one column chunk at a time, reduced in a
     * fixed order afterwards (deterministic for a given thread count). */
    double *parts[SCLAW_KMAX_THREADS];
    for (int64_t c0 = 0; c0 < D; c0 += KCH) {
        int64_t nc = D - c0 < KCH ? D - c0 : KCH;
#pragma omp parallel
        {
            int nt = omp_get_num_threads(), tid = omp_get_thread_num();
            SCLAW_ASSERT(nt <= SCLAW_KMAX_THREADS);
            double acc[KCH];
            for (int64_t j = 0; j < nc; j++)
                acc[j] = 0;
            parts[tid] = acc;
#pragma omp for schedule(static)
            for (int64_t n = 0; n < N; n++) {
                const float *xr = x + n * D, *dyr = dout + n * D;
                float r = rstd[n];
                if (c0 == 0) {
                    /* forward: y_j = w_j x_j r, r = (mean(x^2)+eps)^-1/2,
                     * dr/dx_j = -r^3 x_j / D.  With g = w dy:
                     *   dx = r g - x r^3 mean(x g) */
                    float *dxr = dx + n * D;
                    double xg = 0;
#pragma omp simd reduction(+ : xg)
                    for (int64_t j = 0; j < D; j++)
                        xg += (double)(xr[j] * w[j] * dyr[j]);
                    float c = (float)((double)r * r * r * xg / (double)D);
#pragma omp simd
                    for (int64_t j = 0; j < D; j++)
                        dxr[j] += r * w[j] * dyr[j] - c * xr[j];
                }
                /* dw_j += dy_nj x_nj r_n */
#pragma omp simd
                for (int64_t j = 0; j < nc; j++)
                    acc[j] += (double)(dyr[c0 + j] * xr[c0 + j] * r);
            }
            /* the barrier above ends every thread's accumulation; this loop's
             * own barrier keeps the stacks alive until all reads are done */
#pragma omp for schedule(static)
            for (int64_t j = 0; j < nc; j++) {
                double sum = 0;
                for (int t = 0; t < nt; t++)
                    sum += parts[t][j];
                dw[c0 + j] += (float)sum;
            }
        }
    }
}
