/* mlstm_parallel.c - mLSTM cell, parallel (quadratic) form (models.md §3.2).
 *
 * The attention-like form: h_i = sum_j C~_ij v_j / (N_i + eps) with the gated
 * score matrix C~ = (s Q K^T) o D̄. It costs O(T^2 (dqk + dv)) and is the
 * reference the chunkwise form (§3.3, §3.4) is tested against, forward and
 * backward. Queries are processed in blocks of PAR_ROWS rows, so the score
 * tiles are (PAR_ROWS, T) and every product is one cblas_sgemm.
 *
 * Gate bookkeeping in double: b_t = sum_{tau<=t} logsig(f_tau) grows without
 * bound over the whole sequence (-25 per document reset), and the exponent
 * b_i - b_j + i_j must keep its absolute precision. The row stabiliser is
 * m_i = max_{j<=i} (b_i - b_j + i_j) = b_i + max_{j<=i} (i_j - b_j), a prefix
 * maximum, so no pass over the row is needed to find it.
 */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "mlstm_internal.h"
#include "sclaw_kernels.h"
#include "sclaw_status.h"

enum { PAR_ROWS = 64 };

/* Per-sequence workspace: b, c, m, rq, rk (T doubles each), three (R, T)
 * score tiles and one (R, dv) block of scaled output gradients. */
static size_t par_floats_one(int64_t T, int64_t dv)
{
    size_t t = (size_t)T, R = (size_t)(T < PAR_ROWS ? T : PAR_ROWS);
    return 5 * mlstm_round16(2 * t) + 3 * mlstm_round16(R * t) + mlstm_round16(R * (size_t)dv);
}

size_t sclaw_mlstm_parallel_workspace(int64_t BH, int64_t T, int64_t dqk, int64_t dv)
{
    (void)dqk;
    return (size_t)BH * par_floats_one(T, dv);
}

/* b_t (cumulative log forget gate), c_t = i_t - b_t (column part of log D)
 * and m_t (row stabiliser), all (T). */
static void par_gates(double *b, double *c, double *mrow, const float *i, const float *f,
                      int64_t T)
{
    double acc = 0.0, best = -INFINITY;
    for (int64_t t = 0; t < T; t++) {
        acc += mlstm_logsig(f[t]);
        b[t] = acc;
        c[t] = (double)i[t] - acc;
        best = fmax(best, c[t]);
        mrow[t] = acc + best;
    }
}

/* Rows r0..r1-1 of the gate matrix D̄_tj = exp(b_t - m_t + c_j), j < r1,
 * zero above the diagonal. D: (r1 - r0, r1). */
static void par_dbar(float *D, const double *b, const double *c, const double *mrow, int64_t r0,
                     int64_t r1)
{
    for (int64_t t = r0; t < r1; t++) {
        float *row = D + (t - r0) * r1;
        double base = b[t] - mrow[t];
#pragma omp simd
        for (int64_t j = 0; j <= t; j++)
            row[j] = (float)(base + c[j]);
#pragma omp simd
        for (int64_t j = 0; j <= t; j++)
            row[j] = mlstm_expf(row[j]);
        for (int64_t j = t + 1; j < r1; j++)
            row[j] = 0.0f;
    }
}

/* One sequence. h: (T, dv)  q, k: (T, dqk)  v: (T, dv)  i, f: (T) */
static void parallel_fw_one(float *h, const float *q, const float *k, const float *v,
                            const float *i, const float *f, int64_t T, int64_t dqk, int64_t dv,
                            float *work)
{
    struct mlstm_carve cv = { work, 0 };
    double *b = mlstm_take_d(&cv, (size_t)T), *cc = mlstm_take_d(&cv, (size_t)T);
    double *mrow = mlstm_take_d(&cv, (size_t)T);
    double *scale = mlstm_take_d(&cv, (size_t)T); /* 1/(N_t+eps); rq in the backward */
    int64_t R = T < PAR_ROWS ? T : PAR_ROWS;
    float *A = mlstm_take_f(&cv, (size_t)(R * T)), *Dt = mlstm_take_f(&cv, (size_t)(R * T));
    const float s = 1.0f / sqrtf((float)dqk);

    par_gates(b, cc, mrow, i, f, T);
    for (int64_t r0 = 0; r0 < T; r0 += R) {
        int64_t r1 = r0 + R < T ? r0 + R : T, nr = r1 - r0;
        /* A = s Q_blk K^T  (nr, r1) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)r1, (int)dqk, s,
                    q + r0 * dqk, (int)dqk, k, (int)dqk, 0.0f, A, (int)r1);
        par_dbar(Dt, b, cc, mrow, r0, r1);
        for (int64_t t = r0; t < r1; t++) {
            float *a = A + (t - r0) * r1;
            const float *d = Dt + (t - r0) * r1;
            double rs = 0.0;
#pragma omp simd reduction(+ : rs)
            for (int64_t j = 0; j < r1; j++) {
                a[j] *= d[j];
                rs += a[j];
            }
            /* N_t = max(|sum_j C~_tj|, e^{-m_t}) (§3.2) */
            scale[t] = 1.0 / (fmax(fabs(rs), exp(-mrow[t])) + SCLAW_MLSTM_EPS);
        }
        /* h_blk = C~ V  (nr, dv) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, (int)dv, (int)r1, 1.0f,
                    A, (int)r1, v, (int)dv, 0.0f, h + r0 * dv, (int)dv);
        for (int64_t t = r0; t < r1; t++) {
            float sc = (float)scale[t];
#pragma omp simd
            for (int64_t c = 0; c < dv; c++)
                h[t * dv + c] *= sc;
        }
    }
}

void sclaw_mlstm_forward_parallel(float *h, const float *q, const float *k, const float *v,
                                  const float *i, const float *f, int64_t BH, int64_t T,
                                  int64_t dqk, int64_t dv, float *work)
{
    SCLAW_ASSERT(BH >= 0 && T >= 0 && dqk > 0 && dv > 0);
    SCLAW_ASSERT(work && ((uintptr_t)work & 7) == 0);
    SCLAW_ASSERT(T <= INT_MAX && dqk <= INT_MAX && dv <= INT_MAX); /* cblas dims are int */
    if (T == 0)
        return;
    size_t per = par_floats_one(T, dv);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < BH; bh++)
        parallel_fw_one(h + bh * T * dv, q + bh * T * dqk, k + bh * T * dqk, v + bh * T * dv,
                        i + bh * T, f + bh * T, T, dqk, dv, work + (size_t)bh * per);
}

/* One sequence; accumulates into dq, dk, dv_ (T, dqk/dqk/dv) and di, df (T).
 * Forward being differentiated (N_t, m_t constant, §3.5):
 *   h_t = (1/(N_t+eps)) sum_j (s q_t.k_j) D̄_tj v_j,  D̄_tj = exp(b_t - b_j + i_j - m_t)
 * With dĤ_t = dh_t/(N_t+eps), P = (dĤ V^T) o D̄ and G = P o S (S = s Q K^T):
 *   dQ = s P K,  dK = s P^T Q,  dV = C~^T dĤ,  dlogD_tj = G_tj.
 * logD depends on i_j (column j) and on b_t - b_j = sum_{j<tau<=t} logsig f_tau,
 * so di_j = sum_t G_tj (column sums) and dlogsig(f_tau) = sum over pairs with
 * j < tau <= t = sum_{t>=tau} (rowsum_t - colsum_t): a reverse cumsum. */
static void parallel_bw_one(float *dq, float *dk, float *dv_, float *di, float *df,
                            const float *dh, const float *q, const float *k, const float *v,
                            const float *i, const float *f, int64_t T, int64_t dqk, int64_t dv,
                            float *work)
{
    struct mlstm_carve cv = { work, 0 };
    double *b = mlstm_take_d(&cv, (size_t)T), *cc = mlstm_take_d(&cv, (size_t)T);
    double *mrow = mlstm_take_d(&cv, (size_t)T);
    double *rq = mlstm_take_d(&cv, (size_t)T), *rk = mlstm_take_d(&cv, (size_t)T);
    int64_t R = T < PAR_ROWS ? T : PAR_ROWS;
    float *A = mlstm_take_f(&cv, (size_t)(R * T)), *Dt = mlstm_take_f(&cv, (size_t)(R * T));
    float *Ct = mlstm_take_f(&cv, (size_t)(R * T)), *dH = mlstm_take_f(&cv, (size_t)(R * dv));
    const float s = 1.0f / sqrtf((float)dqk);

    par_gates(b, cc, mrow, i, f, T);
    memset(rq, 0, (size_t)T * sizeof *rq);
    memset(rk, 0, (size_t)T * sizeof *rk);
    for (int64_t r0 = 0; r0 < T; r0 += R) {
        int64_t r1 = r0 + R < T ? r0 + R : T, nr = r1 - r0;
        /* recompute S (A), D̄ (Dt), C~ = S o D̄ (Ct) and the normaliser */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)r1, (int)dqk, s,
                    q + r0 * dqk, (int)dqk, k, (int)dqk, 0.0f, A, (int)r1);
        par_dbar(Dt, b, cc, mrow, r0, r1);
        for (int64_t t = r0; t < r1; t++) {
            const float *a = A + (t - r0) * r1, *d = Dt + (t - r0) * r1;
            float *c = Ct + (t - r0) * r1;
            double rs = 0.0;
#pragma omp simd reduction(+ : rs)
            for (int64_t j = 0; j < r1; j++) {
                c[j] = a[j] * d[j];
                rs += c[j];
            }
            float sc = (float)(1.0 / (fmax(fabs(rs), exp(-mrow[t])) + SCLAW_MLSTM_EPS));
#pragma omp simd
            for (int64_t c2 = 0; c2 < dv; c2++)
                dH[(t - r0) * dv + c2] = dh[t * dv + c2] * sc;
        }
        /* dV[0:r1] += C~^T dĤ   (r1, dv) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)r1, (int)dv, (int)nr, 1.0f, Ct,
                    (int)r1, dH, (int)dv, 1.0f, dv_, (int)dv);
        /* P = (dĤ V^T) o D̄, computed into Ct */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)r1, (int)dv, 1.0f, dH,
                    (int)dv, v, (int)dv, 0.0f, Ct, (int)r1);
        for (int64_t t = r0; t < r1; t++) {
            float *p = Ct + (t - r0) * r1;
            const float *a = A + (t - r0) * r1, *d = Dt + (t - r0) * r1;
            double rsum = 0.0;
#pragma omp simd reduction(+ : rsum)
            for (int64_t j = 0; j < r1; j++) {
                p[j] *= d[j];
                double g = (double)p[j] * a[j];
                rsum += g;
                rk[j] += g;
            }
            rq[t] += rsum;
        }
        /* dQ_blk += s P K;   dK[0:r1] += s P^T Q_blk */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, (int)dqk, (int)r1, s, Ct,
                    (int)r1, k, (int)dqk, 1.0f, dq + r0 * dqk, (int)dqk);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)r1, (int)dqk, (int)nr, s, Ct,
                    (int)r1, q + r0 * dqk, (int)dqk, 1.0f, dk, (int)dqk);
    }
    /* rq_t = q_t.dq_t and rk_t = k_t.dk_t restricted to this call's
     * contribution (dq, dk accumulate into the caller's values). */
    double suffix = 0.0;
    for (int64_t t = T - 1; t >= 0; t--) {
        suffix += rq[t] - rk[t];
        di[t] += (float)rk[t];
        df[t] += (float)(mlstm_sigmoid_neg(f[t]) * suffix);
    }
}

void sclaw_mlstm_backward_parallel(float *dq, float *dk, float *dv_, float *di, float *df,
                                   const float *dh, const float *q, const float *k,
                                   const float *v, const float *i, const float *f, int64_t BH,
                                   int64_t T, int64_t dqk, int64_t dv, float *work)
{
    SCLAW_ASSERT(BH >= 0 && T >= 0 && dqk > 0 && dv > 0);
    SCLAW_ASSERT(work && ((uintptr_t)work & 7) == 0);
    SCLAW_ASSERT(T <= INT_MAX && dqk <= INT_MAX && dv <= INT_MAX); /* cblas dims are int */
    if (T == 0)
        return;
    size_t per = par_floats_one(T, dv);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < BH; bh++) {
        size_t oq = (size_t)(bh * T * dqk), ov = (size_t)(bh * T * dv), og = (size_t)(bh * T);
        parallel_bw_one(dq + oq, dk + oq, dv_ + ov, di + og, df + og, dh + ov, q + oq, k + oq,
                        v + ov, i + og, f + og, T, dqk, dv, work + (size_t)bh * per);
    }
}
