/* sclaw_kernels.h - forward and backward kernels of both model families.
 *
 * Plain functions on contiguous row-major float32 arrays, in llm.c style:
 * outputs first, then saved buffers, then const inputs, then dimensions.
 * Each kernel has a plain `_ref` twin (simple loops, double accumulation) used
 * by the tests; the fast versions use BLAS (through sclaw_matmul) and OpenMP.
 *
 * Conventions (hold for every kernel here):
 *   - Backward kernels ACCUMULATE (+=) into every gradient buffer; the caller
 *     zeroes gradients once per step.
 *   - No kernel allocates: scratch memory comes from the caller, sized by the
 *     matching *_workspace() function, allocated once per run.
 *   - Reductions accumulate in double where the length can be large.
 *   - Linear weights have the PyTorch layout (out, in): y = x W^T.
 *
 * Dimension legend (models.md):
 *   B  batch            T  sequence length      D   model width (embedding_dim)
 *   V  vocabulary       NH heads                dqk q/k head size   dv v head size
 *   hd attention head size                      dff SwiGLU hidden size
 *   L  mLSTM chunk size BH = B*NH (independent mLSTM sequences)
 *   N  rows = B*T       M,K rows/cols of a matmul operand
 */
#ifndef SCLAW_KERNELS_H
#define SCLAW_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* ---- matmul (all dense products) ------------------------------------------
 * out (M,N) = inp (M,K) . w(N,K)^T   (+= if accumulate)      cblas_sgemm */
void sclaw_matmul_forward(float *out, const float *inp, const float *w, int64_t M, int64_t K,
                          int64_t N, int accumulate);
/* dinp (M,K) += dout (M,N) . w (N,K);  dw (N,K) += dout^T . inp.  Either
 * gradient may be NULL to skip it. */
void sclaw_matmul_backward(float *dinp, float *dw, const float *dout, const float *inp,
                           const float *w, int64_t M, int64_t K, int64_t N);
void sclaw_matmul_forward_ref(float *out, const float *inp, const float *w, int64_t M, int64_t K,
                              int64_t N, int accumulate);
void sclaw_matmul_backward_ref(float *dinp, float *dw, const float *dout, const float *inp,
                               const float *w, int64_t M, int64_t K, int64_t N);

/* ---- RMSNorm (models.md §1.2, §3.7) ---------------------------------------
 * out = x * rsqrt(mean(x^2) + eps) * w.   out, x: (N, D)  w: (D)  rstd: (N) saved */
void sclaw_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int64_t N,
                           int64_t D, float eps);
void sclaw_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                            const float *w, const float *rstd, int64_t N, int64_t D);

/* ---- per-head LayerNorm without bias (mLSTM multi-head out-norm) ----------
 * For each row and head: xhat = (x - mean) * rsqrt(var + eps); out = xhat * w.
 * out, x: (N, NH*dv)   w: (NH*dv)   mean, rstd: (N, NH) saved */
void sclaw_headnorm_forward(float *out, float *mean, float *rstd, const float *x, const float *w,
                            int64_t N, int64_t NH, int64_t dv, float eps);
void sclaw_headnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                             const float *w, const float *mean, const float *rstd, int64_t N,
                             int64_t NH, int64_t dv);

/* ---- SwiGLU gating:  out = silu(a) * b      all (n) ---------------------- */
void sclaw_swiglu_forward(float *out, const float *a, const float *b, int64_t n);
void sclaw_swiglu_backward(float *da, float *db, const float *dout, const float *a,
                           const float *b, int64_t n);

/* ---- sigmoid gate:  out = sigmoid(o) * h    all (n)   (mLSTM output gate) - */
void sclaw_ogate_forward(float *out, const float *o, const float *h, int64_t n);
void sclaw_ogate_backward(float *dO, float *dh, const float *dout, const float *o,
                          const float *h, int64_t n);

/* ---- soft-cap:  y = cap * tanh(x / cap)     all (n) ----------------------
 * Backward uses the saved output: dx += dy * (1 - (y/cap)^2). */
void sclaw_softcap_forward(float *y, const float *x, int64_t n, float cap);
void sclaw_softcap_backward(float *dx, const float *dy, const float *y, int64_t n, float cap);

/* ---- RoPE, interleaved pairs (x[2j], x[2j+1]) (models.md §2) --------------
 * In place on x: (N, NH, hd), rotation angle pos[row] * theta^(-2j/hd).
 * Backward = the same rotation by -angle (in place on the gradient). */
void sclaw_rope_forward(float *x, const int32_t *pos, int64_t N, int64_t NH, int64_t hd,
                        float theta);
void sclaw_rope_backward(float *dx, const int32_t *pos, int64_t N, int64_t NH, int64_t hd,
                         float theta);

/* ---- cross-entropy over the vocabulary ------------------------------------
 * losses[n] = logsumexp(logits[n]) - logits[n][targets[n]]   logits: (N, V).
 * Rows with target < 0 are ignored (loss 0). Backward writes (not +=) the
 * logits gradient IN PLACE of the logits to save an (N, V) buffer:
 * dlogits = (softmax(logits) - onehot) * dloss[n]. */
void sclaw_xent_forward(float *losses, const float *logits, const int32_t *targets, int64_t N,
                        int64_t V);
void sclaw_xent_backward_inplace(float *logits, const float *dloss, const int32_t *targets,
                                 int64_t N, int64_t V);

/* ---- causal multi-head attention (models.md §2) ---------------------------
 * q, k, v, out: (B, T, NH, hd) (the layout of the fused projection output).
 * Scores s = q.k / sqrt(hd), causal, and if seg != NULL masked to the same
 * segment id (seg: (B, T), document masking: key j is visible from query t
 * iff j <= t and seg[j] == seg[t]; packed documents with non-decreasing ids
 * also skip the keys of earlier documents). lse: (B, NH, T) saved.
 * work: sclaw_attention_workspace() FLOATS (not bytes), O(T) per thread;
 * forward and backward share it. Not to be called from a parallel region. */
size_t sclaw_attention_workspace(int64_t B, int64_t T, int64_t NH, int64_t hd);
void sclaw_attention_forward(float *out, float *lse, const float *q, const float *k,
                             const float *v, const int32_t *seg, int64_t B, int64_t T,
                             int64_t NH, int64_t hd, float *work);
void sclaw_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                              const float *out, const float *lse, const float *q, const float *k,
                              const float *v, const int32_t *seg, int64_t B, int64_t T,
                              int64_t NH, int64_t hd, float *work);
void sclaw_attention_forward_ref(float *out, const float *q, const float *k, const float *v,
                                 const int32_t *seg, int64_t B, int64_t T, int64_t NH, int64_t hd);
/* The forward's building block, for callers with other layouts (the Llama
 * prefill over a KV cache): causal attention of nq <= SCLAW_ATTN_QB query rows
 * of one head, query r at absolute position p0 + r seeing keys ks .. p0 + r
 * (and, if seg != NULL, only keys of its own segment; seg indexed by
 * absolute position). q, out: the block's first rows (strides ldq, ldo);
 * k, v: key/value row 0 (strides ldk, ldv). lse: nq floats or NULL.
 * work: sclaw_attention_block_workspace() floats, private to the caller's
 * thread. Single-threaded; safe to call from a parallel region. */
#define SCLAW_ATTN_QB 128
size_t sclaw_attention_block_workspace(void);
void sclaw_attention_block(float *out, int64_t ldo, float *lse, const float *q, int64_t ldq,
                           const float *k, int64_t ldk, const float *v, int64_t ldv,
                           const int32_t *seg, int64_t nq, int64_t p0, int64_t ks, int64_t hd,
                           float *work);
/* One decode step against a KV cache: q, out: (B, NH, hd); kcache, vcache:
 * (B, NH, Tmax, hd) holding Tk valid positions (the new token's k, v already
 * appended; 1 <= Tk <= Tmax; slots past Tk are never read). No mask: a
 * decoded sequence is one document. Equals row Tk-1 of the forward. */
void sclaw_attention_step(float *out, const float *q, const float *kcache, const float *vcache,
                          int64_t B, int64_t NH, int64_t Tk, int64_t Tmax, int64_t hd);

/* ---- mLSTM cell (models.md §3) ----------------------------------------------
 * Per independent sequence (BH = B*NH of them):
 *   q, k: (BH, T, dqk)   v, h: (BH, T, dv)   i, f: (BH, T) gate preactivations
 *   after the soft-cap (i = log input gate, logsigmoid(f) = log forget gate).
 * State: C (BH, dqk, dv), n (BH, dqk), m (BH). A NULL state pointer means a
 * zero initial state (m = 0) and no final state wanted; C, n, m are either all
 * NULL or all non-NULL. eps = 1e-6, q scaled by dqk^-1/2 (§3.8).
 * Workspaces are counted in floats and must be 8-byte aligned (any malloc'd
 * block is; 64-byte alignment is best for BLAS). They hold double arrays.
 * The forms differ only at eps level: h = num / (max(|n.q|, e^-m) + eps)
 * with a form-dependent stabiliser m. Document reset (f = -25 after the cap)
 * scales the old state by e^-25 relative to the new token; the old document
 * leaks at about e^(-25 + i_old - i_new), so it is forgotten unless its input
 * gates were far larger than the new one's (i near +15 vs near -15).  */
#define SCLAW_MLSTM_EPS 1e-6f

/* §3.1 recurrent form: T steps, state updated in place (must be non-NULL). */
void sclaw_mlstm_forward_recurrent(float *h, float *C, float *n, float *m, const float *q,
                                   const float *k, const float *v, const float *i,
                                   const float *f, int64_t BH, int64_t T, int64_t dqk,
                                   int64_t dv);
/* §3.2 parallel form (zero initial state), O(T^2): the reference for tests.
 * Forward and backward share one workspace size. The backward recomputes the
 * normaliser (it is not saved) and, like the chunkwise one, treats it and the
 * stabiliser as constants (§3.5). */
size_t sclaw_mlstm_parallel_workspace(int64_t BH, int64_t T, int64_t dqk, int64_t dv);
void sclaw_mlstm_forward_parallel(float *h, const float *q, const float *k, const float *v,
                                  const float *i, const float *f, int64_t BH, int64_t T,
                                  int64_t dqk, int64_t dv, float *work);
void sclaw_mlstm_backward_parallel(float *dq, float *dk, float *dv_, float *di, float *df,
                                   const float *dh, const float *q, const float *k,
                                   const float *v, const float *i, const float *f, int64_t BH,
                                   int64_t T, int64_t dqk, int64_t dv, float *work);
/* §3.3 chunkwise form, chunk L; T need not be a multiple of L (the last chunk
 * is shorter). C, n, m: initial state in, final state out (NULL: zero / not
 * wanted). nout, mout: (BH, T) saved for backward (NULL if not training).
 * The workspace is sized for the backward (it keeps the NC = ceil(T/L) chunk
 * start states, BH*NC*dqk*dv floats); the forward uses a small part of it. */
size_t sclaw_mlstm_chunkwise_workspace(int64_t BH, int64_t T, int64_t dqk, int64_t dv, int64_t L);
void sclaw_mlstm_forward_chunkwise(float *h, float *nout, float *mout, float *C, float *n,
                                   float *m, const float *q, const float *k, const float *v,
                                   const float *i, const float *f, int64_t BH, int64_t T,
                                   int64_t dqk, int64_t dv, int64_t L, float *work);
/* §3.4 chunkwise backward from zero initial state, normaliser and stabiliser
 * treated as constants (§3.5: exact only because a scale-invariant per-head
 * norm follows the cell). nout, mout from the forward (any chunk size: they
 * are the recurrent normaliser and stabiliser of every step). */
void sclaw_mlstm_backward_chunkwise(float *dq, float *dk, float *dv_, float *di, float *df,
                                    const float *dh, const float *q, const float *k,
                                    const float *v, const float *i, const float *f,
                                    const float *nout, const float *mout, int64_t BH, int64_t T,
                                    int64_t dqk, int64_t dv, int64_t L, float *work);

#endif
