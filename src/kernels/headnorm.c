/* headnorm.c - per-head LayerNorm without bias: the mLSTM multi-head out-norm
 * (models.md §1.2 "hn = concat_h LayerNorm_head(h_h)", backward §3.7).
 *
 *   xhat = (x - mean) * r,  r = (var + eps)^-1/2   over each head's dv values
 *   out  = xhat * w                                 w spans all heads (NH*dv)
 *
 * Shapes: x, out, dx, dout (N, NH*dv)   w, dw (NH*dv)   mean, rstd (N, NH).
 * The variance is the biased one (divide by dv), as in torch LayerNorm.
 * OpenMP over rows; dw from per-thread partials summed in thread order (see
 * rmsnorm.c). Reductions in double.
 */
#include "sclaw_kernels.h"

#include <math.h>
#include <omp.h>

#include "kmath.h"
#include "sclaw_status.h"

SCLAW_KCLONES
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
#pragma omp simd reduction(+ : s)
            for (int64_t e = 0; e < dv; e++)
                s += xr[e];
            double mu = s / (double)dv, ss = 0;
            /* two-pass variance: no cancellation when |mean| >> std */
#pragma omp simd reduction(+ : ss)
            for (int64_t e = 0; e < dv; e++) {
                double d = xr[e] - mu;
                ss += d * d;
            }
            /* mean and rstd are saved as float; normalise with exactly those
             * values so that backward sees the same xhat */
            float fmu = (float)mu, r = (float)(1.0 / sqrt(ss / (double)dv + (double)eps));
            mean[n * NH + h] = fmu;
            rstd[n * NH + h] = r;
#pragma omp simd
            for (int64_t e = 0; e < dv; e++)
                yr[e] = (xr[e] - fmu) * r * wr[e];
        }
    }
}

SCLAW_KCLONES
void sclaw_headnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                             const float *w, const float *mean, const float *rstd, int64_t N,
                             int64_t NH, int64_t dv)
{
    int64_t D = NH * dv;
    /* dw partials per thread and column chunk, as in rmsnorm.c */
    double *parts[SCLAW_KMAX_THREADS];
    for (int64_t c0 = 0; c0 < D; c0 += KCH) {
        int64_t nc = D - c0 < KCH ? D - c0 : KCH;
#pragma omp parallel
        {
            int nt = omp_get_num_threads(), tid = omp_get_thread_num();
            SCLAW_ASSERT(nt <= SCLAW_KMAX_THREADS);
            double acc[KCH];
            for (int64_t c = 0; c < nc; c++)
                acc[c] = 0;
            parts[tid] = acc;
#pragma omp for schedule(static)
            for (int64_t n = 0; n < N; n++) {
                const float *xr = x + n * D, *dyr = dout + n * D;
                if (c0 == 0) {
                    /* forward: y = w xhat, xhat = (x - mean) r. With g = w dy
                     * the LayerNorm gradient is
                     *   dx = r (g - mean(g) - xhat mean(g xhat)) */
                    for (int64_t h = 0; h < NH; h++) {
                        const float *xh = xr + h * dv, *dyh = dyr + h * dv, *wh = w + h * dv;
                        float *dxh = dx + n * D + h * dv;
                        float mu = mean[n * NH + h], r = rstd[n * NH + h];
                        double sg = 0, sgx = 0;
#pragma omp simd reduction(+ : sg, sgx)
                        for (int64_t e = 0; e < dv; e++) {
                            float g = wh[e] * dyh[e];
                            sg += g;
                            sgx += (double)(g * (xh[e] - mu) * r);
                        }
                        float mg = (float)(sg / (double)dv), mgx = (float)(sgx / (double)dv);
#pragma omp simd
                        for (int64_t e = 0; e < dv; e++) {
                            float g = wh[e] * dyh[e], xhat = (xh[e] - mu) * r;
                            dxh[e] += r * (g - mg - xhat * mgx);
                        }
                    }
                }
                /* dw_c += dy_nc xhat_nc over this chunk's columns */
                for (int64_t h = c0 / dv; h * dv < c0 + nc; h++) {
                    int64_t e0 = h * dv > c0 ? h * dv : c0;
                    int64_t e1 = (h + 1) * dv < c0 + nc ? (h + 1) * dv : c0 + nc;
                    float mu = mean[n * NH + h], r = rstd[n * NH + h];
#pragma omp simd
                    for (int64_t c = e0; c < e1; c++)
                        acc[c - c0] += (double)(dyr[c] * (xr[c] - mu) * r);
                }
            }
#pragma omp for schedule(static)
            for (int64_t c = 0; c < nc; c++) {
                double sum = 0;
                for (int t = 0; t < nt; t++)
                    sum += parts[t][c];
                dw[c0 + c] += (float)sum;
            }
        }
    }
}
