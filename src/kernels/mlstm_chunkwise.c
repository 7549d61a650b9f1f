/* mlstm_chunkwise.c - mLSTM cell, chunkwise-parallel form (models.md §3.3, §3.4).
 *
 * The training and prefill algorithm. The sequence is cut into NC = ceil(T/L)
 * chunks (the last one may be shorter). Between chunks the state (C, n, m) is
 * carried as in the recurrent form (§3.1), one rank-L update per chunk;
 * inside a chunk the outputs are the parallel form (§3.2) over at most L
 * positions plus the contribution of the state entering the chunk. Cost is
 * linear in T: per chunk and sequence about 4 L dqk dv + 2 L^2 (dqk + dv)
 * FLOPs, all in four cblas_sgemm calls (K^T V state update, Q C inter-chunk
 * output, Q K^T intra scores, P V).
 *
 * Parallel over the BH independent sequences with OpenMP; the BLAS calls made
 * inside that loop run single-threaded (the OpenMP build of OpenBLAS does so
 * inside an active parallel region), so there is no oversubscription.
 *
 * Stabilisation is the spec's exactly: within chunk k, with b the log forget
 * gates summed from the chunk start (double), g = b at the chunk end,
 *   m_intra(t) = max_{j<=t} (b_t - b_j + i_j),   m_inter(t) = b_t + m_k,
 *   Mout_t = max(m_inter, m_intra)  (= the recurrent m_t of §3.1),
 * so every exponential has a non-positive argument. The forward computes the
 * outputs of chunk k from the state entering it and then folds the chunk into
 * that state, so it keeps one state per sequence, not NC of them.
 *
 * The backward (§3.4) recomputes the chunk-start states (MK's default; only
 * Nout and Mout are saved), then walks the chunks in reverse: the gradient
 * wrt the state entering chunk k+1 is all that chunk k needs, so one dC
 * matrix is carried like the forward carries C, and the reverse cumsum of
 * r_t = q_t.dq_t - k_t.dk_t for df runs along over the whole sequence.
 */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "mlstm_internal.h"
#include "sclaw_kernels.h"
#include "sclaw_status.h"

/* Workspace of one sequence, carved in this order. */
struct cw_work {
    double *b;      /* (T) log forget gates summed from each chunk's start */
    double *g;      /* (NC) total log forget gate of each chunk */
    double *mst;    /* (NC + 1) stabiliser entering each chunk, then final */
    double *rs1;    /* (L) per-row scale factors */
    double *rs2;    /* (L) */
    double *cj;     /* (L) i_j - b_j of the chunk, the column part of log D */
    double *nacc;   /* (dqk) normaliser update accumulator */
    float *Cst;     /* (NC, dqk, dv) states entering each chunk (fw: Cst[0] only) */
    float *nst;     /* (dqk) running normaliser state (forward) */
    float *dC;      /* (dqk, dv) gradient wrt the state entering the next chunk */
    float *A, *Dt;  /* (L, L) score and gate tiles */
    float *Qs;      /* (L, dqk) row-scaled copy of q or k */
    float *dQc;     /* (L, dqk) this chunk's dq */
    float *dKc;     /* (L, dqk) this chunk's dk */
    float *dH;      /* (L, dv) dh / (Nout + eps) */
    float *dHs;     /* (L, dv) row-scaled dH, later row-scaled v */
    float *dVc;     /* (L, dv) this chunk's dv */
};

static int64_t nchunks(int64_t T, int64_t L) { return (T + L - 1) / L; }

/* Carve one sequence's workspace; returns its size in floats (base NULL: count only). */
static size_t cw_carve(struct cw_work *w, float *base, int64_t T, int64_t dqk, int64_t dv,
                       int64_t L)
{
    struct mlstm_carve cv = { base, 0 };
    size_t t = (size_t)T, nc = (size_t)nchunks(T, L), l = (size_t)L;
    size_t sq = (size_t)dqk, sv = (size_t)dv;
    w->b = mlstm_take_d(&cv, t);
    w->g = mlstm_take_d(&cv, nc);
    w->mst = mlstm_take_d(&cv, nc + 1);
    w->rs1 = mlstm_take_d(&cv, l);
    w->rs2 = mlstm_take_d(&cv, l);
    w->cj = mlstm_take_d(&cv, l);
    w->nacc = mlstm_take_d(&cv, sq);
    w->Cst = mlstm_take_f(&cv, (nc ? nc : 1) * sq * sv);
    w->nst = mlstm_take_f(&cv, sq);
    w->dC = mlstm_take_f(&cv, sq * sv);
    w->A = mlstm_take_f(&cv, l * l);
    w->Dt = mlstm_take_f(&cv, l * l);
    w->Qs = mlstm_take_f(&cv, l * sq);
    w->dQc = mlstm_take_f(&cv, l * sq);
    w->dKc = mlstm_take_f(&cv, l * sq);
    w->dH = mlstm_take_f(&cv, l * sv);
    w->dHs = mlstm_take_f(&cv, l * sv);
    w->dVc = mlstm_take_f(&cv, l * sv);
    return cv.used;
}

static size_t cw_floats_one(int64_t T, int64_t dqk, int64_t dv, int64_t L)
{
    struct cw_work w;
    return cw_carve(&w, NULL, T, dqk, dv, L);
}

size_t sclaw_mlstm_chunkwise_workspace(int64_t BH, int64_t T, int64_t dqk, int64_t dv, int64_t L)
{
    SCLAW_ASSERT(BH >= 0 && T >= 0 && dqk > 0 && dv > 0 && L > 0);
    return (size_t)BH * cw_floats_one(T, dqk, dv, L);
}

/* (A) of §3.3 for one chunk: b[tau] = sum_{j<=tau} logsig(f_j) from the chunk
 * start; returns g = b[Lk-1]. If cj != NULL also cj[tau] = i_tau - b_tau. */
static double chunk_gates(double *b, double *cj, const float *f, const float *i, int64_t Lk)
{
    double acc = 0.0;
    for (int64_t tau = 0; tau < Lk; tau++) {
        acc += mlstm_logsig(f[tau]);
        b[tau] = acc;
        if (cj)
            cj[tau] = (double)i[tau] - acc;
    }
    return acc;
}

/* Causal gate tile of one chunk: Dt_tj = exp(b_t - M_t + cj_j) for j <= t,
 * 0 above the diagonal. Dt: (Lk, Lk) row stride Lk; b, cj, M: (Lk). The
 * exponent is formed in double (b can reach -25 per document reset). */
static void chunk_dbar(float *Dt, const double *b, const double *cj, const double *M, int64_t Lk)
{
    for (int64_t t = 0; t < Lk; t++) {
        float *row = Dt + t * Lk;
        double base = b[t] - M[t];
        /* two passes: the double -> float exponent, then exp in float, so
         * that each loop vectorises */
#pragma omp simd
        for (int64_t j = 0; j <= t; j++)
            row[j] = (float)(base + cj[j]);
#pragma omp simd
        for (int64_t j = 0; j <= t; j++)
            row[j] = mlstm_expf(row[j]);
        for (int64_t j = t + 1; j < Lk; j++)
            row[j] = 0.0f;
    }
}

/* (B) of §3.3: fold chunk (k, v, i) into the state (C, m) entering it.
 * Returns the new m; C: (dqk, dv) updated in place; n: (dqk) or NULL.
 *   m_new = max(g + m, max_tau a_tau),  a_tau = g - b_tau + i_tau
 *   C = exp(g + m - m_new) C + sum_tau exp(a_tau - m_new) k_tau v_tau^T */
static double chunk_state_update(float *C, float *n, double *nacc, float *Ks, double m,
                                 double g, const double *b, const float *k, const float *v,
                                 const float *i, int64_t Lk, int64_t dqk, int64_t dv)
{
    double m_new = g + m;
    for (int64_t tau = 0; tau < Lk; tau++)
        m_new = fmax(m_new, g - b[tau] + (double)i[tau]);
    float gamma = (float)exp(g + m - m_new);
    for (int64_t tau = 0; tau < Lk; tau++) {
        float abar = (float)exp(g - b[tau] + (double)i[tau] - m_new);
#pragma omp simd
        for (int64_t a = 0; a < dqk; a++)
            Ks[tau * dqk + a] = abar * k[tau * dqk + a];
    }
    /* C = gamma C + Ks^T V   (dqk, dv) = (Lk, dqk)^T (Lk, dv) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)dqk, (int)dv, (int)Lk, 1.0f, Ks,
                (int)dqk, v, (int)dv, gamma, C, (int)dv);
    if (n) {
        /* n = gamma n + sum_tau abar_tau k_tau, summed in double */
        for (int64_t a = 0; a < dqk; a++)
            nacc[a] = 0.0;
        for (int64_t tau = 0; tau < Lk; tau++) {
            const float *kr = Ks + tau * dqk;
#pragma omp simd
            for (int64_t a = 0; a < dqk; a++)
                nacc[a] += kr[a];
        }
        for (int64_t a = 0; a < dqk; a++)
            n[a] = (float)(gamma * (double)n[a] + nacc[a]);
    }
    return m_new;
}

/* Forward of one sequence. h: (T, dv)  nout, mout: (T) or NULL
 * C: (dqk, dv), n: (dqk), m: (1) in/out or all NULL. */
static void chunkwise_fw_one(float *h, float *nout, float *mout, float *C, float *n, float *m,
                             const float *q, const float *k, const float *v, const float *i,
                             const float *f, int64_t T, int64_t dqk, int64_t dv, int64_t L,
                             float *work)
{
    struct cw_work w;
    cw_carve(&w, work, T, dqk, dv, L);
    const float s = 1.0f / sqrtf((float)dqk);
    float *Cs = w.Cst; /* the running state: (C, n, m) entering the chunk */
    double mrun = 0.0;
    if (C) {
        memcpy(Cs, C, (size_t)(dqk * dv) * sizeof *Cs);
        memcpy(w.nst, n, (size_t)dqk * sizeof *w.nst);
        mrun = *m;
    } else {
        memset(Cs, 0, (size_t)(dqk * dv) * sizeof *Cs);
        memset(w.nst, 0, (size_t)dqk * sizeof *w.nst);
    }
    for (int64_t t0 = 0; t0 < T; t0 += L) {
        int64_t Lk = t0 + L <= T ? L : T - t0;
        const float *qc = q + t0 * dqk, *kc = k + t0 * dqk, *vc = v + t0 * dv, *ic = i + t0;
        float *hc = h + t0 * dv;
        double *b = w.b + t0, *M = w.rs1, *inv = w.rs2;
        double g = chunk_gates(b, w.cj, f + t0, ic, Lk);

        /* (C) stabiliser per row: Mout = max(b_t + m, b_t + max_{j<=t}(i_j - b_j)) */
        double best = -INFINITY;
        for (int64_t t = 0; t < Lk; t++) {
            best = fmax(best, (double)ic[t] - b[t]);
            M[t] = b[t] + fmax(mrun, best);
        }
        /* intra scores P = (s Q K^T) o D̄  (Lk, Lk) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Lk, (int)Lk, (int)dqk, s, qc,
                    (int)dqk, kc, (int)dqk, 0.0f, w.A, (int)Lk);
        chunk_dbar(w.Dt, b, w.cj, M, Lk);
        for (int64_t t = 0; t < Lk; t++) {
            float *p = w.A + t * Lk;
            const float *d = w.Dt + t * Lk, *qt = qc + t * dqk;
            float *qs = w.Qs + t * dqk;
            double den = 0.0;
#pragma omp simd reduction(+ : den)
            for (int64_t j = 0; j < Lk; j++) {
                p[j] *= d[j];
                den += p[j];
            }
            /* inter weight w_t = s exp(m_inter - Mout); Qs = w_t q_t */
            double wt = (double)s * exp(b[t] + mrun - M[t]);
            double qn = 0.0;
            float wtf = (float)wt;
#pragma omp simd reduction(+ : qn)
            for (int64_t a = 0; a < dqk; a++) {
                qn += (double)qt[a] * w.nst[a];
                qs[a] = wtf * qt[a];
            }
            den += wt * qn;
            double N = fmax(fabs(den), exp(-M[t]));
            inv[t] = 1.0 / (N + SCLAW_MLSTM_EPS);
            if (nout)
                nout[t0 + t] = (float)N;
            if (mout)
                mout[t0 + t] = (float)M[t];
        }
        /* num = Qs C + P V   (Lk, dv) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Lk, (int)dv, (int)dqk, 1.0f,
                    w.Qs, (int)dqk, Cs, (int)dv, 0.0f, hc, (int)dv);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Lk, (int)dv, (int)Lk, 1.0f,
                    w.A, (int)Lk, vc, (int)dv, 1.0f, hc, (int)dv);
        for (int64_t t = 0; t < Lk; t++) {
            float sc = (float)inv[t];
#pragma omp simd
            for (int64_t c = 0; c < dv; c++)
                hc[t * dv + c] *= sc;
        }
        /* (B) carry the state into the next chunk */
        mrun = chunk_state_update(Cs, w.nst, w.nacc, w.Qs, mrun, g, b, kc, vc, ic, Lk, dqk, dv);
    }
    if (C) {
        memcpy(C, Cs, (size_t)(dqk * dv) * sizeof *C);
        memcpy(n, w.nst, (size_t)dqk * sizeof *n);
        *m = (float)mrun;
    }
}

void sclaw_mlstm_forward_chunkwise(float *h, float *nout, float *mout, float *C, float *n,
                                   float *m, const float *q, const float *k, const float *v,
                                   const float *i, const float *f, int64_t BH, int64_t T,
                                   int64_t dqk, int64_t dv, int64_t L, float *work)
{
    SCLAW_ASSERT(BH >= 0 && T >= 0 && dqk > 0 && dv > 0 && L > 0);
    SCLAW_ASSERT((C && n && m) || (!C && !n && !m));
    SCLAW_ASSERT(dqk <= INT_MAX && dv <= INT_MAX && L <= INT_MAX); /* cblas dims are int */
    SCLAW_ASSERT(work && ((uintptr_t)work & 7) == 0);
    size_t per = cw_floats_one(T, dqk, dv, L);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < BH; bh++) {
        size_t oq = (size_t)(bh * T * dqk), ov = (size_t)(bh * T * dv), og = (size_t)(bh * T);
        chunkwise_fw_one(h + ov, nout ? nout + og : NULL, mout ? mout + og : NULL,
                         C ? C + bh * dqk * dv : NULL, n ? n + bh * dqk : NULL, m ? m + bh : NULL,
                         q + oq, k + oq, v + ov, i + og, f + og, T, dqk, dv, L,
                         work + (size_t)bh * per);
    }
}

/* Row-scale: dst[t, :] = sc[t] * src[t, :]   dst, src: (Lk, w) */
static void row_scale(float *dst, const float *src, const double *sc, float extra, int64_t Lk,
                      int64_t width)
{
    for (int64_t t = 0; t < Lk; t++) {
        float a = extra * (float)sc[t];
#pragma omp simd
        for (int64_t c = 0; c < width; c++)
            dst[t * width + c] = a * src[t * width + c];
    }
}

static void add_into(float *dst, const float *src, int64_t n)
{
#pragma omp simd
    for (int64_t x = 0; x < n; x++)
        dst[x] += src[x];
}

/* Backward of one sequence (zero initial state); accumulates into dq, dk, dv_
 * ((T, dqk), (T, dqk), (T, dv)) and di, df ((T)). The forward being
 * differentiated, for t in chunk k with Nout, Mout constant (§3.5):
 *   h_t = [ w_t q_t^T Cst_k + sum_{j<=t in k} (s q_t.k_j) D̄_tj v_j^T ] / (Nout_t + eps)
 *   w_t = s exp(b_t + m_k - Mout_t),   D̄_tj = exp(b_t - b_j + i_j - Mout_t)
 *   Cst_{k+1} = gamma_k Cst_k + sum_tau abar_tau k_tau v_tau^T
 *   gamma_k = exp(g_k + m_k - m_{k+1}),   abar_tau = exp(g_k - b_tau + i_tau - m_{k+1}) */
static void chunkwise_bw_one(float *dq, float *dk, float *dv_, float *di, float *df,
                             const float *dh, const float *q, const float *k, const float *v,
                             const float *i, const float *f, const float *nout,
                             const float *mout, int64_t T, int64_t dqk, int64_t dv, int64_t L,
                             float *work)
{
    struct cw_work w;
    cw_carve(&w, work, T, dqk, dv, L);
    const float s = 1.0f / sqrtf((float)dqk);
    const int64_t NC = nchunks(T, L), CS = dqk * dv;
    if (NC == 0)
        return;

    /* Recompute the chunk-start states Cst[0..NC-1] and m_k for k = 0..NC. */
    memset(w.Cst, 0, (size_t)CS * sizeof *w.Cst);
    w.mst[0] = 0.0;
    for (int64_t kk = 0; kk < NC; kk++) {
        int64_t t0 = kk * L, Lk = t0 + L <= T ? L : T - t0;
        w.g[kk] = chunk_gates(w.b + t0, NULL, f + t0, i + t0, Lk);
        if (kk + 1 < NC) {
            float *Cn = w.Cst + (kk + 1) * CS;
            memcpy(Cn, w.Cst + kk * CS, (size_t)CS * sizeof *Cn);
            w.mst[kk + 1] = chunk_state_update(Cn, NULL, NULL, w.Qs, w.mst[kk], w.g[kk],
                                               w.b + t0, k + t0 * dqk, v + t0 * dv, i + t0, Lk,
                                               dqk, dv);
        } else {
            double mn = w.g[kk] + w.mst[kk];
            for (int64_t tau = 0; tau < Lk; tau++)
                mn = fmax(mn, w.g[kk] - w.b[t0 + tau] + (double)i[t0 + tau]);
            w.mst[kk + 1] = mn;
        }
    }

    /* Reverse sweep; dC = gradient wrt the state entering chunk kk+1. */
    memset(w.dC, 0, (size_t)CS * sizeof *w.dC);
    double suffix = 0.0; /* sum_{t' >= t} r_t' for df */
    for (int64_t kk = NC - 1; kk >= 0; kk--) {
        int64_t t0 = kk * L, Lk = t0 + L <= T ? L : T - t0;
        const float *qc = q + t0 * dqk, *kc = k + t0 * dqk, *vc = v + t0 * dv, *ic = i + t0;
        const double *b = w.b + t0;
        double *M = w.rs1, *sc = w.rs2;
        const float *Cs = w.Cst + kk * CS;
        for (int64_t t = 0; t < Lk; t++) {
            M[t] = (double)mout[t0 + t];
            sc[t] = 1.0 / ((double)nout[t0 + t] + SCLAW_MLSTM_EPS);
            w.cj[t] = (double)ic[t] - b[t];
        }
        row_scale(w.dH, dh + t0 * dv, sc, 1.0f, Lk, dv); /* dĤ = dh / (Nout + eps) */

        /* intra: C~ = (s Q K^T) o D̄;  dV = C~^T dĤ;  dS = (dĤ V^T) o D̄;
         *        dQ = s dS K;  dK = s dS^T Q */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Lk, (int)Lk, (int)dqk, s, qc,
                    (int)dqk, kc, (int)dqk, 0.0f, w.A, (int)Lk);
        chunk_dbar(w.Dt, b, w.cj, M, Lk);
#pragma omp simd
        for (int64_t x = 0; x < Lk * Lk; x++)
            w.A[x] *= w.Dt[x];
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Lk, (int)dv, (int)Lk, 1.0f, w.A,
                    (int)Lk, w.dH, (int)dv, 0.0f, w.dVc, (int)dv);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Lk, (int)Lk, (int)dv, 1.0f,
                    w.dH, (int)dv, vc, (int)dv, 0.0f, w.A, (int)Lk);
#pragma omp simd
        for (int64_t x = 0; x < Lk * Lk; x++)
            w.A[x] *= w.Dt[x];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Lk, (int)dqk, (int)Lk, s, w.A,
                    (int)Lk, kc, (int)dqk, 0.0f, w.dQc, (int)dqk);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Lk, (int)dqk, (int)Lk, s, w.A,
                    (int)Lk, qc, (int)dqk, 0.0f, w.dKc, (int)dqk);

        /* inter, output side: dQ_t += s b̄_t Cst_k dĤ_t, b̄_t = exp(b_t + m_k - Mout_t).
         * sc is reused for b̄ (dĤ is already scaled). */
        for (int64_t t = 0; t < Lk; t++)
            sc[t] = exp(b[t] + w.mst[kk] - M[t]);
        row_scale(w.dHs, w.dH, sc, s, Lk, dv);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Lk, (int)dqk, (int)dv, 1.0f,
                    w.dHs, (int)dv, Cs, (int)dv, 1.0f, w.dQc, (int)dqk);
        /* inter, state side (not for the last chunk: dC_last = 0):
         * dK_t += abar_t dC v_t;  dV_t += abar_t dC^T k_t */
        if (kk + 1 < NC) {
            double *ab = M; /* Mout no longer needed */
            for (int64_t t = 0; t < Lk; t++)
                ab[t] = exp(w.g[kk] - b[t] + (double)ic[t] - w.mst[kk + 1]);
            row_scale(w.dHs, vc, ab, 1.0f, Lk, dv);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Lk, (int)dqk, (int)dv,
                        1.0f, w.dHs, (int)dv, w.dC, (int)dv, 1.0f, w.dKc, (int)dqk);
            row_scale(w.Qs, kc, ab, 1.0f, Lk, dqk);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Lk, (int)dv, (int)dqk,
                        1.0f, w.Qs, (int)dqk, w.dC, (int)dv, 1.0f, w.dVc, (int)dv);
        }

        /* (C) gates: di_t = v_t.dv_t; df_t = sigmoid(-f_t) sum_{t'>=t} r_t',
         * r = q.dq - k.dk, all from this call's contribution only. */
        for (int64_t t = Lk - 1; t >= 0; t--) {
            double dI = 0.0, r = 0.0;
            const float *vt = vc + t * dv, *dvt = w.dVc + t * dv;
            const float *qt = qc + t * dqk, *dqt = w.dQc + t * dqk;
            const float *kt = kc + t * dqk, *dkt = w.dKc + t * dqk;
#pragma omp simd reduction(+ : dI)
            for (int64_t c = 0; c < dv; c++)
                dI += (double)vt[c] * dvt[c];
#pragma omp simd reduction(+ : r)
            for (int64_t a = 0; a < dqk; a++)
                r += (double)qt[a] * dqt[a] - (double)kt[a] * dkt[a];
            suffix += r;
            di[t0 + t] += (float)dI;
            df[t0 + t] += (float)(mlstm_sigmoid_neg(f[t0 + t]) * suffix);
        }
        add_into(dq + t0 * dqk, w.dQc, Lk * dqk);
        add_into(dk + t0 * dqk, w.dKc, Lk * dqk);
        add_into(dv_ + t0 * dv, w.dVc, Lk * dv);

        /* (A) of §3.4: dC <- gamma_k dC + Qbar^T dĤ, Qbar_t = s b̄_t q_t, the
         * gradient wrt the state entering chunk kk (not needed for kk = 0). */
        if (kk > 0) {
            float gamma = (float)exp(w.g[kk] + w.mst[kk] - w.mst[kk + 1]);
            row_scale(w.Qs, qc, sc, s, Lk, dqk);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)dqk, (int)dv, (int)Lk, 1.0f,
                        w.Qs, (int)dqk, w.dH, (int)dv, gamma, w.dC, (int)dv);
        }
    }
}

void sclaw_mlstm_backward_chunkwise(float *dq, float *dk, float *dv_, float *di, float *df,
                                    const float *dh, const float *q, const float *k,
                                    const float *v, const float *i, const float *f,
                                    const float *nout, const float *mout, int64_t BH, int64_t T,
                                    int64_t dqk, int64_t dv, int64_t L, float *work)
{
    SCLAW_ASSERT(BH >= 0 && T >= 0 && dqk > 0 && dv > 0 && L > 0);
    SCLAW_ASSERT(nout && mout && work && ((uintptr_t)work & 7) == 0);
    SCLAW_ASSERT(dqk <= INT_MAX && dv <= INT_MAX && L <= INT_MAX); /* cblas dims are int */
    size_t per = cw_floats_one(T, dqk, dv, L);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < BH; bh++) {
        size_t oq = (size_t)(bh * T * dqk), ov = (size_t)(bh * T * dv), og = (size_t)(bh * T);
        chunkwise_bw_one(dq + oq, dk + oq, dv_ + ov, di + og, df + og, dh + ov, q + oq, k + oq,
                         v + ov, i + og, f + og, nout + og, mout + og, T, dqk, dv, L,
                         work + (size_t)bh * per);
    }
}
