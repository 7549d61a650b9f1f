/* attention.c - causal multi-head attention with optional document masking,
 * and the single-token decode step against a KV cache (models.md §2, §4).
 *
 *   s_ij = q_i . k_j / sqrt(hd)   for j <= i and (seg == NULL or seg_j == seg_i)
 *   p_ij = exp(s_ij - lse_i),     lse_i = log sum_j exp(s_ij)
 *   o_i  = sum_j p_ij v_j
 *
 * Shapes: q, k, v, out, dq, dk, dv, dout (B, T, NH, hd): the layout of the
 * fused QKV projection output, so a head's rows are strided by NH*hd and
 * reach BLAS as a leading dimension (no transposed copies). seg (B, T).
 * lse (B, NH, T) is saved by the forward for the backward.
 *
 * Algorithm (flash-attention style, exact): per (batch, head) and block of QB
 * query rows, the scores against every key up to the block's causal limit are
 * one sgemm; the masked softmax runs in place on that block; o = P V is a
 * second sgemm. Memory is O(QB * T) per thread instead of O(T^2). The
 * backward recomputes P from the saved lse instead of storing it, then
 *   dV += P^T dO          dP = dO V^T
 *   dS  = P * (dP - rowsum(dO * O))      (softmax backward; rowsum(P dP) = dO . o)
 *   dQ += dS K / sqrt(hd) dK += dS^T Q / sqrt(hd)
 * all as sgemm. Threads split (batch, head[, query block]); BLAS calls made
 * inside the parallel region run single-threaded (the OpenMP build of
 * OpenBLAS checks omp_in_parallel()), so there is no oversubscription.
 *
 * Segment masking skips keys before the query block's document when the ids
 * are non-decreasing along t (packed documents); any other id pattern is still
 * masked exactly, just without the skip.
 */
#include "sclaw_kernels.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "kmath.h"
#include "sclaw_status.h"

/* Query rows per block: the score block is QB x (keys). 128 rows halve the
 * packing of K and V per flop against 64 (forward 20-25% faster at 4096
 * tokens, bench_kernels) while a backward 128 x 8192 block is 4 MiB. */
#define QB SCLAW_ATTN_QB
/* Keys per score tile of the forward: a QB x KT tile (256 KiB) stays in the
 * L2 cache of any x86 core, whatever the context length. */
#define KT 512

/* Workspace slots: one per thread that may run, never more than the tasks.
 * omp_get_num_procs() is fixed for the process, so the size a caller
 * allocated stays valid when the thread count changes afterwards. */
static int64_t nslots(int64_t tasks)
{
    int64_t p = omp_get_num_procs();
    return tasks < p ? tasks : p;
}

/* Floats per slot: P and dP blocks plus the rowsum(dO*O) vector. */
static int64_t slot_floats(int64_t T) { return 2 * QB * T + QB; }

size_t sclaw_attention_workspace(int64_t B, int64_t T, int64_t NH, int64_t hd)
{
    (void)hd;
    if (B <= 0 || T <= 0 || NH <= 0)
        return 0;
    return (size_t)(nslots(B * NH) * slot_floats(T));
}

/* Threads to use: the current OpenMP setting, capped by the slots. */
static int nthreads(int64_t tasks)
{
    int64_t t = omp_get_max_threads(), s = nslots(tasks);
    return (int)(t < s ? t : s);
}

/* First key that a block of queries [i0, i1) can attend to: the start of
 * query i0's document if ids never decrease up to i1 (then every document is
 * one contiguous run), else 0. seg_b: (T) ids of this batch row, or NULL. */
static int64_t key_start(const int32_t *seg_b, int64_t i0, int64_t i1)
{
    if (!seg_b)
        return 0;
    for (int64_t t = 1; t < i1; t++)
        if (seg_b[t] < seg_b[t - 1])
            return 0;
    int64_t ks = i0;
    while (ks > 0 && seg_b[ks - 1] == seg_b[i0])
        ks--;
    return ks;
}

/* Scores of query rows [i0, i1) against keys [ks, i1) for one (b, h):
 * S (nq, nk) = scale * Q K^T, one sgemm over the strided head rows. */
static void scores(float *S, const float *qh, const float *kh, int64_t i0, int64_t i1,
                   int64_t ks, int64_t ld, int64_t hd, float scale)
{
    int64_t nq = i1 - i0, nk = i1 - ks;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)nk, (int)hd, scale,
                qh + i0 * ld, (int)ld, kh + ks * ld, (int)ld, 0.0f, S, (int)nk);
}

/* Is key j visible from query i? (The reference; the fast path uses ranges.) */
static inline int visible(const int32_t *seg_b, int64_t i, int64_t j)
{
    return j <= i && (!seg_b || seg_b[j] == seg_b[i]);
}

/* Online-softmax update of one query row for one key tile (the forward).
 * row[0 .. nt) holds the scores of keys j0 .. j0+nt-1, of which the first nv
 * are causally visible (nv <= 0: none); sk (the tile's key segment ids) and
 * si (the query's id) mask further, or sk == NULL. With the row's running max
 * *m and sum *l over earlier tiles:
 *   m' = max(m, max_j s_j),  row_j = exp(s_j - m') (0 where masked),
 *   l' = l exp(m - m') + sum_j row_j
 * Returns exp(m - m'), the factor the row's output accumulated so far must be
 * scaled by (1 when the max did not grow, 0 while nothing was visible yet).
 * Split into mask/no-mask loops so that each vectorises. */
SCLAW_KINLINE float tile_row(float *row, int64_t nv, int64_t nt, const int32_t *sk, int32_t si,
                             float *m, double *l)
{
    nv = nv < 0 ? 0 : nv > nt ? nt : nv;
    float mt = -INFINITY;
    if (!sk) {
#pragma omp simd reduction(max : mt)
        for (int64_t j = 0; j < nv; j++)
            mt = row[j] > mt ? row[j] : mt;
    } else {
#pragma omp simd reduction(max : mt)
        for (int64_t j = 0; j < nv; j++)
            mt = sk[j] == si && row[j] > mt ? row[j] : mt;
    }
    if (mt == -INFINITY) { /* nothing visible in this tile */
        memset(row, 0, sizeof *row * (size_t)nt);
        return 1.0f;
    }
    float mn = mt > *m ? mt : *m;
    /* kexp(-inf) is exactly 0: no visible key before this tile */
    float alpha = mn == *m ? 1.0f : kexp(*m - mn);
    float sum = 0; /* one tile's sum (<= KT terms); *l carries the total in double */
    if (!sk) {
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < nv; j++) {
            row[j] = kexp(row[j] - mn);
            sum += row[j];
        }
    } else {
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < nv; j++) {
            row[j] = sk[j] == si ? kexp(row[j] - mn) : 0.0f;
            sum += row[j];
        }
    }
    /* keys after the query in this tile are in its future */
    for (int64_t j = nv; j < nt; j++)
        row[j] = 0.0f;
    *l = *l * alpha + sum;
    *m = mn;
    return alpha;
}

/* Attention of one block of nq <= QB query rows (flash-attention style,
 * exact). Query r sits at absolute position p0 + r and sees keys
 * ks .. p0 + r (and, with seg, only those of its own segment; seg is indexed
 * by absolute position). Keys are visited in tiles of KT: S = scale Q K^T is
 * one sgemm, tile_row updates each row's running max and sum, and
 * O = O diag(alpha) + P V is a second sgemm accumulating into out. At the
 * end each output row is divided by its sum (hd multiplies instead of a pass
 * over the probabilities) and lse = m + log(l) is stored if lse != NULL.
 * Row strides: q ldq, k ldk, v ldv, out ldo. work: QB * KT floats. */
SCLAW_KINLINE void attend_qblock(float *out, int64_t ldo, float *lse, const float *q,
                                 int64_t ldq, const float *k, int64_t ldk, const float *v,
                                 int64_t ldv, const int32_t *seg, int64_t nq, int64_t p0,
                                 int64_t ks, int64_t hd, float scale, float *work)
{
    float m[QB];
    double l[QB];
    for (int64_t r = 0; r < nq; r++) {
        m[r] = -INFINITY;
        l[r] = 0;
    }
    const int64_t kend = p0 + nq; /* keys the block's last query sees */
    for (int64_t j0 = ks; j0 < kend; j0 += KT) {
        int64_t nt = kend - j0 < KT ? kend - j0 : KT;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)nt, (int)hd, scale,
                    q, (int)ldq, k + j0 * ldk, (int)ldk, 0.0f, work, (int)nt);
        for (int64_t r = 0; r < nq; r++) {
            const int32_t *sk = seg ? seg + j0 : NULL;
            int32_t si = seg ? seg[p0 + r] : 0;
            float alpha = tile_row(work + r * nt, p0 + r + 1 - j0, nt, sk, si, m + r, l + r);
            if (j0 > ks && alpha != 1.0f) {
#pragma omp simd
                for (int64_t e = 0; e < hd; e++)
                    out[r * ldo + e] *= alpha;
            }
        }
        /* O (nq, hd) (+)= P (nq, nt) . V[j0 : j0+nt] (nt, hd) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nq, (int)hd, (int)nt, 1.0f,
                    work, (int)nt, v + j0 * ldv, (int)ldv, j0 > ks ? 1.0f : 0.0f, out, (int)ldo);
    }
    /* every query sees at least itself, so l >= 1 */
    for (int64_t r = 0; r < nq; r++) {
        float inv = (float)(1.0 / l[r]);
#pragma omp simd
        for (int64_t e = 0; e < hd; e++)
            out[r * ldo + e] *= inv;
        if (lse)
            lse[r] = (float)(m[r] + log(l[r]));
    }
}

/* Recompute P from the saved lse (backward): row[j] = exp(s - lse) where
 * visible, else 0. Same range conventions as softmax_row. */
SCLAW_KINLINE void probs_row(float *row, const int32_t *seg_b, int64_t ks, int64_t i,
                             int64_t i1, float lse)
{
    int64_t nv = i + 1 - ks;
    if (!seg_b) {
#pragma omp simd
        for (int64_t j = 0; j < nv; j++)
            row[j] = kexp(row[j] - lse);
    } else {
        const int32_t *sk = seg_b + ks, si = seg_b[i];
#pragma omp simd
        for (int64_t j = 0; j < nv; j++)
            row[j] = sk[j] == si ? kexp(row[j] - lse) : 0.0f;
    }
    for (int64_t j = nv; j < i1 - ks; j++)
        row[j] = 0.0f;
}

size_t sclaw_attention_block_workspace(void) { return (size_t)QB * KT; }

SCLAW_KCLONES
void sclaw_attention_block(float *out, int64_t ldo, float *lse, const float *q, int64_t ldq,
                           const float *k, int64_t ldk, const float *v, int64_t ldv,
                           const int32_t *seg, int64_t nq, int64_t p0, int64_t ks, int64_t hd,
                           float *work)
{
    SCLAW_ASSERT(nq >= 0 && nq <= QB && ks >= 0 && ks <= p0 && hd >= 1);
    if (nq == 0)
        return;
    attend_qblock(out, ldo, lse, q, ldq, k, ldk, v, ldv, seg, nq, p0, ks, hd,
                  (float)(1.0 / sqrt((double)hd)), work);
}

static void check_dims(int64_t B, int64_t T, int64_t NH, int64_t hd)
{
    SCLAW_ASSERT(B >= 0 && T >= 0 && NH >= 0 && hd >= 1);
    SCLAW_ASSERT(T <= INT_MAX && NH * hd <= INT_MAX);
}

SCLAW_KCLONES
void sclaw_attention_forward(float *out, float *lse, const float *q, const float *k,
                             const float *v, const int32_t *seg, int64_t B, int64_t T,
                             int64_t NH, int64_t hd, float *work)
{
    check_dims(B, T, NH, hd);
    if (B == 0 || T == 0 || NH == 0)
        return;
    const int64_t ld = NH * hd, nblk = (T + QB - 1) / QB, ntask = B * NH * nblk;
    const float scale = (float)(1.0 / sqrt((double)hd));
    const int64_t per = slot_floats(T);
    /* Forward blocks are independent, so tasks are (b, h, block). Later
     * blocks see more keys; dynamic scheduling evens that out. */
#pragma omp parallel num_threads(nthreads(B * NH))
    {
        float *S = work + (int64_t)omp_get_thread_num() * per;
#pragma omp for schedule(dynamic)
        for (int64_t task = 0; task < ntask; task++) {
            int64_t bh = task / nblk, blk = task % nblk, b = bh / NH, h = bh % NH;
            int64_t i0 = blk * QB, i1 = i0 + QB < T ? i0 + QB : T, nq = i1 - i0;
            const int32_t *seg_b = seg ? seg + b * T : NULL;
            int64_t ks = key_start(seg_b, i0, i1);
            const float *qh = q + b * T * ld + h * hd, *kh = k + b * T * ld + h * hd;
            const float *vh = v + b * T * ld + h * hd;
            attend_qblock(out + b * T * ld + i0 * ld + h * hd, ld, lse + bh * T + i0,
                          qh + i0 * ld, ld, kh, ld, vh, ld, seg_b, nq, i0, ks, hd, scale, S);
        }
    }
}

SCLAW_KCLONES
void sclaw_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                              const float *out, const float *lse, const float *q, const float *k,
                              const float *v, const int32_t *seg, int64_t B, int64_t T,
                              int64_t NH, int64_t hd, float *work)
{
    check_dims(B, T, NH, hd);
    if (B == 0 || T == 0 || NH == 0)
        return;
    const int64_t ld = NH * hd, nblk = (T + QB - 1) / QB;
    const float scale = (float)(1.0 / sqrt((double)hd));
    const int64_t per = slot_floats(T);
    /* Tasks are whole (b, h): dK and dV of a head collect contributions from
     * every query block, and one owner per head means no write races. */
#pragma omp parallel num_threads(nthreads(B * NH))
    {
        float *P = work + (int64_t)omp_get_thread_num() * per;
        float *dP = P + QB * T, *Di = dP + QB * T;
#pragma omp for schedule(dynamic)
        for (int64_t bh = 0; bh < B * NH; bh++) {
            int64_t b = bh / NH, h = bh % NH, base = b * T * ld + h * hd;
            const int32_t *seg_b = seg ? seg + b * T : NULL;
            const float *qh = q + base, *kh = k + base, *vh = v + base;
            const float *oh = out + base, *doh = dout + base;
            float *dqh = dq + base, *dkh = dk + base, *dvh = dv + base;
            for (int64_t blk = 0; blk < nblk; blk++) {
                int64_t i0 = blk * QB, i1 = i0 + QB < T ? i0 + QB : T, nq = i1 - i0;
                int64_t ks = key_start(seg_b, i0, i1), nk = i1 - ks;
                /* recompute P = exp(S - lse), zero where masked */
                scores(P, qh, kh, i0, i1, ks, ld, hd, scale);
                for (int64_t r = 0; r < nq; r++) {
                    int64_t i = i0 + r;
                    probs_row(P + r * nk, seg_b, ks, i, i1, lse[bh * T + i]);
                    /* Di = rowsum(dO * O) = sum_j P_ij dP_ij */
                    double d = 0;
#pragma omp simd reduction(+ : d)
                    for (int64_t e = 0; e < hd; e++)
                        d += (double)doh[i * ld + e] * oh[i * ld + e];
                    Di[r] = (float)d;
                }
                /* dV[ks:i1] (nk, hd) += P^T (nk, nq) . dO (nq, hd) */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nk, (int)hd, (int)nq,
                            1.0f, P, (int)nk, doh + i0 * ld, (int)ld, 1.0f, dvh + ks * ld,
                            (int)ld);
                /* dP (nq, nk) = dO (nq, hd) . V[ks:i1]^T */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)nk, (int)hd,
                            1.0f, doh + i0 * ld, (int)ld, vh + ks * ld, (int)ld, 0.0f, dP,
                            (int)nk);
                /* dS = P * (dP - Di), the softmax Jacobian applied row by row;
                 * masked entries have P = 0 and so dS = 0 */
                for (int64_t r = 0; r < nq; r++) {
                    float *dpr = dP + r * nk, di = Di[r];
                    const float *pr = P + r * nk;
#pragma omp simd
                    for (int64_t j = 0; j < nk; j++)
                        dpr[j] = pr[j] * (dpr[j] - di);
                }
                /* s = scale q.k:  dQ (nq, hd) += scale dS . K,  dK += scale dS^T . Q */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nq, (int)hd, (int)nk,
                            scale, dP, (int)nk, kh + ks * ld, (int)ld, 1.0f, dqh + i0 * ld,
                            (int)ld);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nk, (int)hd, (int)nq,
                            scale, dP, (int)nk, qh + i0 * ld, (int)ld, 1.0f, dkh + ks * ld,
                            (int)ld);
            }
        }
    }
}

void sclaw_attention_forward_ref(float *out, const float *q, const float *k, const float *v,
                                 const int32_t *seg, int64_t B, int64_t T, int64_t NH, int64_t hd)
{
    check_dims(B, T, NH, hd);
    const int64_t ld = NH * hd;
    const double scale = 1.0 / sqrt((double)hd);
    /* Plain loops in double, no BLAS, no blocking, no scratch memory: the
     * scores are recomputed for every output element (O(T^2 hd^2), fine for
     * the sizes tests and benchmark verification use). */
#pragma omp parallel for collapse(3)
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < NH; h++)
            for (int64_t i = 0; i < T; i++) {
                const int32_t *seg_b = seg ? seg + b * T : NULL;
                const float *qi = q + (b * T + i) * ld + h * hd;
                double mx = -INFINITY, sum = 0;
                for (int64_t j = 0; j <= i; j++) {
                    if (!visible(seg_b, i, j))
                        continue;
                    const float *kj = k + (b * T + j) * ld + h * hd;
                    double s = 0;
                    for (int64_t e = 0; e < hd; e++)
                        s += (double)qi[e] * kj[e];
                    mx = fmax(mx, s * scale);
                }
                float *oi = out + (b * T + i) * ld + h * hd;
                for (int64_t e = 0; e < hd; e++)
                    oi[e] = 0;
                /* accumulate o in double in a second pass, one key at a time */
                for (int64_t e = 0; e < hd; e++) {
                    double acc = 0;
                    sum = 0;
                    for (int64_t j = 0; j <= i; j++) {
                        if (!visible(seg_b, i, j))
                            continue;
                        const float *kj = k + (b * T + j) * ld + h * hd;
                        double s = 0;
                        for (int64_t c = 0; c < hd; c++)
                            s += (double)qi[c] * kj[c];
                        double p = exp(s * scale - mx);
                        sum += p;
                        acc += p * v[(b * T + j) * ld + h * hd + e];
                    }
                    oi[e] = (float)(acc / sum);
                }
            }
}

/* Keys per block of the decode step; their scores live on the stack. */
#define KB 64

/* AVX2 at most: the decode step measured 15-20% slower in an AVX-512 clone
 * (bench_kernels, attention step GB/s) */
SCLAW_KCLONES_AVX2
void sclaw_attention_step(float *out, const float *q, const float *kcache, const float *vcache,
                          int64_t B, int64_t NH, int64_t Tk, int64_t Tmax, int64_t hd)
{
    SCLAW_ASSERT(Tk >= 1 && Tk <= Tmax && hd >= 1);
    const float scale = (float)(1.0 / sqrt((double)hd));
    /* One pass over the cache with an online softmax (running max m and sum
     * l, the output row rescaled whenever m grows): decode is bound by
     * reading K and V, so each is read once. */
#pragma omp parallel for collapse(2)
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < NH; h++) {
            int64_t bh = b * NH + h;
            const float *qh = q + bh * hd;
            const float *kh = kcache + bh * Tmax * hd, *vh = vcache + bh * Tmax * hd;
            float *o = out + bh * hd;
            float s[KB], m = -INFINITY;
            double l = 0;
            for (int64_t e = 0; e < hd; e++)
                o[e] = 0;
            for (int64_t j0 = 0; j0 < Tk; j0 += KB) {
                int64_t nb = Tk - j0 < KB ? Tk - j0 : KB;
                float bm = -INFINITY;
                for (int64_t jj = 0; jj < nb; jj++) {
                    const float *kj = kh + (j0 + jj) * hd;
                    float d = 0;
#pragma omp simd reduction(+ : d)
                    for (int64_t e = 0; e < hd; e++)
                        d += qh[e] * kj[e];
                    s[jj] = d * scale;
                    bm = s[jj] > bm ? s[jj] : bm;
                }
                if (bm > m) {
                    /* exp(-inf) = 0 on the first block: o and l are still 0 */
                    float f = kexp(m - bm);
                    l *= f;
                    for (int64_t e = 0; e < hd; e++)
                        o[e] *= f;
                    m = bm;
                }
                for (int64_t jj = 0; jj < nb; jj++) {
                    float p = kexp(s[jj] - m);
                    const float *vj = vh + (j0 + jj) * hd;
                    l += p;
#pragma omp simd
                    for (int64_t e = 0; e < hd; e++)
                        o[e] += p * vj[e];
                }
            }
            float inv = (float)(1.0 / l);
            for (int64_t e = 0; e < hd; e++)
                o[e] *= inv;
        }
}
