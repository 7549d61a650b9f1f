/* mlstm_recurrent.c - mLSTM cell, recurrent step form (models.md §3.1).
 *
 * The generation step of inference (§4) and the simplest form of the cell:
 * one rank-1 state update and one matrix-vector product per token. The state
 * (C, n, m) lives in fp32 and is updated in place, so a prefill done by the
 * chunkwise form (§3.3) can be continued token by token here.
 */
#include <math.h>

#include "mlstm_internal.h"
#include "sclaw_kernels.h"
#include "sclaw_status.h"

/* One sequence, T steps.
 * h: (T, dv)   C: (dqk, dv)   n: (dqk)   m: scalar   q, k: (T, dqk)   v: (T, dv)
 * i, f: (T) */
static void recurrent_one(float *h, float *C, float *n, float *m, const float *q, const float *k,
                          const float *v, const float *i, const float *f, int64_t T,
                          int64_t dqk, int64_t dv)
{
    const float s = 1.0f / sqrtf((float)dqk);
    float mc = *m;
    for (int64_t t = 0; t < T; t++) {
        const float *qt = q + t * dqk, *kt = k + t * dqk, *vt = v + t * dv;
        float *ht = h + t * dv;
        /* m_new = max(logsig(f) + m, i): the running log-scale of the state,
         * so both decay factors below are <= 1 and exp never overflows. */
        float lf = mlstm_logsigf(f[t]);
        float m_new = fmaxf(lf + mc, i[t]);
        float fa = expf(lf + mc - m_new);
        float ia = expf(i[t] - m_new);
        for (int64_t c = 0; c < dv; c++)
            ht[c] = 0.0f;
        double den = 0.0;
        /* One pass over C: update row a (C = fa C + ia k v^T), then add its
         * contribution s q_a C[a, :] to the numerator C^T (s q). */
        for (int64_t a = 0; a < dqk; a++) {
            float *Ca = C + a * dv;
            float ik = ia * kt[a], qa = s * qt[a];
#pragma omp simd
            for (int64_t c = 0; c < dv; c++) {
                Ca[c] = fa * Ca[c] + ik * vt[c];
                ht[c] += qa * Ca[c];
            }
            n[a] = fa * n[a] + ik;
            den += (double)qa * n[a];
        }
        /* h = C^T qs / (max(|qs.n|, e^{-m}) + eps): the unstabilised lower
         * bound 1 becomes e^{-m} after scaling by e^{-m} (§3). */
        float scale = (float)(1.0 / (fmax(fabs(den), exp(-(double)m_new)) + SCLAW_MLSTM_EPS));
#pragma omp simd
        for (int64_t c = 0; c < dv; c++)
            ht[c] *= scale;
        mc = m_new;
    }
    *m = mc;
}

void sclaw_mlstm_forward_recurrent(float *h, float *C, float *n, float *m, const float *q,
                                   const float *k, const float *v, const float *i,
                                   const float *f, int64_t BH, int64_t T, int64_t dqk,
                                   int64_t dv)
{
    SCLAW_ASSERT(C && n && m);
    SCLAW_ASSERT(BH >= 0 && T >= 0 && dqk > 0 && dv > 0);
#pragma omp parallel for schedule(static) if (BH > 1 && T * dqk * dv > 4096)
    for (int64_t b = 0; b < BH; b++)
        recurrent_one(h + b * T * dv, C + b * dqk * dv, n + b * dqk, m + b, q + b * T * dqk,
                      k + b * T * dqk, v + b * T * dv, i + b * T, f + b * T, T, dqk, dv);
}
