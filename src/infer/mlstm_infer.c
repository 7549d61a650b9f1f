/* mlstm_infer.c - xLSTM inference block (models.md §1.2 forward, §3.1, §3.3,
 * §3.6, §4): the training block's forward without the saved tensors, with
 * the mLSTM cell continuing from and updating the per-layer state (C, n, m).
 *
 *   u = RMSNorm(x);  q,k,v,o = u W^T;  i,f = 15 tanh((u W^T + b)/15)
 *   P > 1: h = chunkwise cell over the P new tokens, state in/out (§3.3), or
 *          the §3.6 split (L on the largest multiple, then 32, 16, then
 *          recurrent steps for the last < 16 tokens);
 *   P = 1: h = one recurrent step in place on the state (§3.1);
 *   xm = x + (sigmoid(o) * MultiHeadLayerNorm(h)) Wout^T;  y = xm + FFN(xm)
 *
 * State per layer (B*NH independent cells): C (B, NH, dqk, dv), n (B, NH,
 * dqk), m (B, NH): fp32, the same size at every context length.
 */
#include "sclaw_infer.h"
#include "sclaw_kernels.h"
#include "sclaw_model.h"
#include "sclaw_status.h"
#include "../models/blocks.h"

#include <stdio.h>
#include <string.h>

/* Block weights, in this file's order (looked up by checkpoint name). */
enum { W_NORM, W_Q, W_K, W_V, W_O, W_I, W_BI, W_F, W_BF, W_MHN, W_OUT, W_NORM2, W_G, W_U,
       W_D, W_N };

static const char *const wnames[W_N] = {
    [W_NORM] = "norm_mlstm.weight",
    [W_Q] = "mlstm_layer.q.weight",
    [W_K] = "mlstm_layer.k.weight",
    [W_V] = "mlstm_layer.v.weight",
    [W_O] = "mlstm_layer.ogate_preact.weight",
    [W_I] = "mlstm_layer.igate_preact.weight",
    [W_BI] = "mlstm_layer.igate_preact.bias",
    [W_F] = "mlstm_layer.fgate_preact.weight",
    [W_BF] = "mlstm_layer.fgate_preact.bias",
    [W_MHN] = "mlstm_layer.multihead_norm.weight",
    [W_OUT] = "mlstm_layer.out_proj.weight",
    [W_NORM2] = "norm_ffn.weight",
    [W_G] = "ffn.proj_up_gate.weight",
    [W_U] = "ffn.proj_up.weight",
    [W_D] = "ffn.proj_down.weight",
};

static int weights_mlstm(const struct sclaw_model *m, int64_t l, float **w)
{
    return sclaw_infer_find_weights(m, "backbone.blocks", l, wnames, W_N, w);
}

static int64_t state_mlstm(const struct sclaw_config *c, int64_t B, int64_t Tmax)
{
    const int64_t BH = B * c->num_heads, dqk = c->head_dim_qk, dv = c->head_dim_v;
    (void)Tmax; /* constant in the context length: the point of the model */
    return blocks_round(BH * dqk * dv) + blocks_round(BH * dqk) + blocks_round(BH);
}

struct mlstm_iview {
    float *u, *rstd;          /* (N, D), (N) */
    float *qf, *kf, *vf, *o;  /* (N, Dqk|Dv) projections, token-major */
    float *ig, *fg;           /* (N, NH) gates (capped in place) */
    float *qh, *kh, *vh;      /* (B, NH, P, dqk|dv) heads-major */
    float *ih, *fh;           /* (B, NH, P) */
    float *hh, *ht;           /* cell output heads-major / token-major (N, Dv) */
    float *hmean, *hrstd;     /* (N, NH) */
    float *hn, *g, *xm;       /* (N, Dv), (N, Dv), (N, D) */
    float *u2, *rstd2, *a, *b, *z; /* FFN */
    float *work;              /* chunkwise workspace */
};

/* Chunkwise workspace: the B*NH cells at chunk L, or one cell at chunk 16
 * (the smallest of the §3.6 split), whichever is larger. */
static size_t cell_work(const struct sclaw_config *c, int64_t B, int64_t P)
{
    const int64_t BH = B * c->num_heads, dqk = c->head_dim_qk, dv = c->head_dim_v;
    size_t a = sclaw_mlstm_chunkwise_workspace(BH, P, dqk, dv, c->chunk_size);
    size_t b = sclaw_mlstm_chunkwise_workspace(1, P, dqk, dv, 16);
    return a > b ? a : b;
}

static int64_t scratch_mlstm(const struct sclaw_config *c, int64_t B, int64_t P, int64_t Tmax)
{
    (void)Tmax;
    const int64_t N = B * P, D = c->embedding_dim, NH = c->num_heads, F = c->ffn_dim;
    const int64_t Dqk = NH * c->head_dim_qk, Dv = NH * c->head_dim_v;
    return 4 * blocks_round(N * Dqk) + 7 * blocks_round(N * Dv) + 3 * blocks_round(N * D) +
           8 * blocks_round(N * NH) + 2 * blocks_round(N) + 3 * blocks_round(N * F) +
           blocks_round((int64_t)cell_work(c, B, P));
}

static void bind_mlstm(const struct sclaw_config *c, int64_t B, int64_t P, int64_t Tmax,
                       float *scratch, void *view)
{
    const int64_t N = B * P, D = c->embedding_dim, NH = c->num_heads, F = c->ffn_dim;
    const int64_t Dqk = NH * c->head_dim_qk, Dv = NH * c->head_dim_v;
    struct mlstm_iview *v = view;
    float *s = scratch;
    v->u = blocks_take(&s, N * D);
    v->rstd = blocks_take(&s, N);
    v->qf = blocks_take(&s, N * Dqk);
    v->kf = blocks_take(&s, N * Dqk);
    v->vf = blocks_take(&s, N * Dv);
    v->o = blocks_take(&s, N * Dv);
    v->ig = blocks_take(&s, N * NH);
    v->fg = blocks_take(&s, N * NH);
    v->qh = blocks_take(&s, N * Dqk);
    v->kh = blocks_take(&s, N * Dqk);
    v->vh = blocks_take(&s, N * Dv);
    v->ih = blocks_take(&s, N * NH);
    v->fh = blocks_take(&s, N * NH);
    v->hh = blocks_take(&s, N * Dv);
    v->ht = blocks_take(&s, N * Dv);
    v->hmean = blocks_take(&s, N * NH);
    v->hrstd = blocks_take(&s, N * NH);
    v->hn = blocks_take(&s, N * Dv);
    v->g = blocks_take(&s, N * Dv);
    v->xm = blocks_take(&s, N * D);
    v->u2 = blocks_take(&s, N * D);
    v->rstd2 = blocks_take(&s, N);
    v->a = blocks_take(&s, N * F);
    v->b = blocks_take(&s, N * F);
    v->z = blocks_take(&s, N * F);
    v->work = s;
    s += blocks_round((int64_t)cell_work(c, B, P));
    SCLAW_ASSERT(s - scratch <= scratch_mlstm(c, B, P, Tmax));
}

/* out (N, K) = u W^T + bias */
static void linear_bias(float *out, const float *u, const float *W, const float *bias, int64_t N,
                        int64_t D, int64_t K)
{
    sclaw_matmul_forward(out, u, W, N, D, K, 0);
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < K; j++)
            out[n * K + j] += bias[j];
}

/* §3.6 for one cell: chunk lengths L, 32, 16 on the largest multiples in
 * turn, the remainder (< 16 tokens) by recurrent steps; state passed along.
 * h: (P, dv)  q, k: (P, dqk)  v: (P, dv)  i, f: (P)  C, n, m: one cell. */
static void cell_split(float *h, float *C, float *n, float *m, const float *q, const float *k,
                       const float *v, const float *i, const float *f, int64_t P, int64_t dqk,
                       int64_t dv, int64_t L, float *work)
{
    const int64_t lens[3] = {L, 32, 16};
    int64_t t = 0, prev = P + 1;
    for (int j = 0; j < 3; j++) {
        int64_t Lj = lens[j];
        if (Lj >= prev || Lj < 1)
            continue; /* only decreasing chunk lengths */
        prev = Lj;
        int64_t cnt = (P - t) / Lj * Lj;
        if (cnt > 0)
            sclaw_mlstm_forward_chunkwise(h + t * dv, NULL, NULL, C, n, m, q + t * dqk,
                                          k + t * dqk, v + t * dv, i + t, f + t, 1, cnt, dqk,
                                          dv, Lj, work);
        t += cnt;
    }
    if (t < P)
        sclaw_mlstm_forward_recurrent(h + t * dv, C, n, m, q + t * dqk, k + t * dqk, v + t * dv,
                                      i + t, f + t, 1, P - t, dqk, dv);
}

static void block_mlstm(const struct sclaw_infer *s, int64_t l, const float *x, float *y,
                        int64_t P)
{
    const struct sclaw_config *c = &s->m->cfg;
    const struct mlstm_iview *v = s->views;
    float *const *w = s->w + l * W_N;
    const int64_t B = s->B, N = B * P, D = c->embedding_dim, NH = c->num_heads, BH = B * NH;
    const int64_t dqk = c->head_dim_qk, dv = c->head_dim_v, Dqk = NH * dqk, Dv = NH * dv;
    float *C, *n, *m;
    sclaw_infer_layer_state(s, l, &C, &n, &m);

    sclaw_rmsnorm_forward(v->u, v->rstd, x, w[W_NORM], N, D, SCLAW_NORM_EPS);
    sclaw_matmul_forward(v->qf, v->u, w[W_Q], N, D, Dqk, 0);
    sclaw_matmul_forward(v->kf, v->u, w[W_K], N, D, Dqk, 0);
    sclaw_matmul_forward(v->vf, v->u, w[W_V], N, D, Dv, 0);
    sclaw_matmul_forward(v->o, v->u, w[W_O], N, D, Dv, 0);
    linear_bias(v->ig, v->u, w[W_I], w[W_BI], N, D, NH);
    linear_bias(v->fg, v->u, w[W_F], w[W_BF], N, D, NH);
    /* gate soft-cap in place (no saved pre-cap values: no backward here).
     * No document-border reset: a prompt is one document */
    sclaw_softcap_forward(v->ig, v->ig, N * NH, SCLAW_GATE_SOFTCAP);
    sclaw_softcap_forward(v->fg, v->fg, N * NH, SCLAW_GATE_SOFTCAP);
    if (P == 1) {
        /* one token: (B, 1, NH, d) is already heads-major; one recurrent
         * step per cell, in place on the state (§3.1) */
        sclaw_mlstm_forward_recurrent(v->ht, C, n, m, v->qf, v->kf, v->vf, v->ig, v->fg, BH, 1,
                                      dqk, dv);
    } else {
        sclaw_to_heads(v->qh, v->qf, B, P, NH, dqk);
        sclaw_to_heads(v->kh, v->kf, B, P, NH, dqk);
        sclaw_to_heads(v->vh, v->vf, B, P, NH, dv);
        sclaw_to_heads(v->ih, v->ig, B, P, NH, 1);
        sclaw_to_heads(v->fh, v->fg, B, P, NH, 1);
        if (s->mode == SCLAW_PREFILL_SPLIT) {
            /* per cell: the sub-ranges of one cell are contiguous in its
             * (P, d) rows, not across cells, so the split runs cell by cell */
            for (int64_t bh = 0; bh < BH; bh++)
                cell_split(v->hh + bh * P * dv, C + bh * dqk * dv, n + bh * dqk, m + bh,
                           v->qh + bh * P * dqk, v->kh + bh * P * dqk, v->vh + bh * P * dv,
                           v->ih + bh * P, v->fh + bh * P, P, dqk, dv, c->chunk_size, v->work);
        } else {
            /* the kernel takes a shorter last chunk when L does not divide P */
            sclaw_mlstm_forward_chunkwise(v->hh, NULL, NULL, C, n, m, v->qh, v->kh, v->vh,
                                          v->ih, v->fh, BH, P, dqk, dv, c->chunk_size, v->work);
        }
        sclaw_from_heads(v->ht, v->hh, B, P, NH, dv);
    }
    /* the rest of the block is position-wise, identical to training */
    sclaw_headnorm_forward(v->hn, v->hmean, v->hrstd, v->ht, w[W_MHN], N, NH, dv,
                           SCLAW_NORM_EPS);
    sclaw_ogate_forward(v->g, v->o, v->hn, N * Dv);
    memcpy(v->xm, x, (size_t)(N * D) * sizeof *x);
    sclaw_matmul_forward(v->xm, v->g, w[W_OUT], N, Dv, D, 1);
    sclaw_ffn_forward(y, v->u2, v->rstd2, v->a, v->b, v->z, v->xm, w[W_NORM2], w[W_G], w[W_U],
                      w[W_D], N, D, c->ffn_dim);
}

const struct sclaw_infer_ops sclaw_infer_ops_mlstm = {
    .nweights = W_N,
    .weights = weights_mlstm,
    .state_floats = state_mlstm,
    .scratch_floats = scratch_mlstm,
    .view_bytes = sizeof(struct mlstm_iview),
    .bind = bind_mlstm,
    .kv_cache = 0,
    .block = block_mlstm,
    .check_context = NULL,
};
