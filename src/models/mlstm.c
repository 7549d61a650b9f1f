/* mlstm.c - the xLSTM family ("mlstm_v1": xLSTM-7B blocks of mLSTM layer + SwiGLU
 * FFN, models.md §1): config defaults and derived dimensions. Accounting is in
 * src/account/count_mlstm.c; the block forward/backward (model ops) below. */
#include "sclaw_arch.h"
#include "sclaw_kernels.h"
#include "sclaw_model.h"
#include "sclaw_status.h"
#include "sclaw_tensor.h"
#include "../account/count_families.h"
#include "blocks.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int derive_mlstm(struct sclaw_config *c, const char *where)
{
    if (!c->proj_factor_qk)
        c->proj_factor_qk = 0.5;
    if (!c->chunk_size)
        c->chunk_size = 64;
    if (c->embedding_dim % c->num_heads)
        return sclaw_fail(SCLAW_E_ARG,
                          "%s: key 'embedding_dim' (%lld) is not divisible by 'num_heads' (%lld)",
                          where, (long long)c->embedding_dim, (long long)c->num_heads);
    /* spec §1.1: d_qk = (d*pqk)//nh (float floor division), d_v = d//nh */
    if (!c->head_dim_qk)
        c->head_dim_qk = (int64_t)floor((double)c->embedding_dim * c->proj_factor_qk /
                                        (double)c->num_heads);
    if (c->head_dim_qk < 1)
        return sclaw_fail(SCLAW_E_ARG,
                          "%s: key 'proj_factor_qk' (%g) gives a q/k head size below 1 with %lld heads",
                          where, c->proj_factor_qk, (long long)c->num_heads);
    if (!c->head_dim_v)
        c->head_dim_v = c->embedding_dim / c->num_heads;
    if (!c->ffn_dim)
        c->ffn_dim = sclaw_ffn_dim(c->embedding_dim, c->proj_factor_ffn, c->ffn_multiple_of,
                                   SCLAW_FFN_CEIL);
    c->num_kv_heads = c->num_heads;
    return SCLAW_OK;
}

/* ---------------------------------------------------------------------------
 * Model ops: the xLSTM block (models.md §1.2 forward, §1.3 init, §3.7 backward).
 *   u = RMSNorm(x);  q,k,v,o = u W^T;  i~,f~ = u W^T + b;  i,f = 15 tanh(./15)
 *   [f = -25 at document borders];  h = mLSTM(q,k,v,i,f) (chunkwise, §3.3)
 *   xm = x + (sigmoid(o) * MultiHeadLayerNorm(h)) Wout^T;  y = xm + SwiGLU-FFN(xm)
 * Dimensions: N = B*T rows, Dqk = NH*dqk, Dv = NH*dv, F = dff.
 */

/* Block tensors in table order (m->lp[l][k]). */
enum {
    X_NORM, X_WQ, X_WK, X_WV, X_WO, X_WI, X_BI, X_WF, X_BF, X_MHN, X_WOUT,
    X_NORM2, X_WG, X_WU, X_WD, X_NT
};

static int add_block_mlstm(const struct sclaw_config *c, int64_t l, struct sclaw_tensor_table *tt)
{
    const int64_t D = c->embedding_dim, NH = c->num_heads, F = c->ffn_dim;
    const int64_t Dqk = NH * c->head_dim_qk, Dv = NH * c->head_dim_v;
    const double small = sqrt(2.0 / (5.0 * (double)D));
    /* wang(D, NB) for the two projections back into the residual stream */
    const double wang = 2.0 / ((double)c->num_blocks * sqrt((double)D));
    static const char *const fmt = "backbone.blocks.%lld.%s";
    static const struct {
        const char *name;
        int out, in; /* 0 D, 1 Dqk, 2 Dv, 3 NH, 4 F, -1 none (1-D) */
        int decay;
        enum sclaw_init init;
        int std; /* 0 const a, 1 small, 2 wang, 3 linspace(3, 6) */
        double a;
    } spec[X_NT] = {
        [X_NORM] = {"norm_mlstm.weight", 0, -1, 0, SCLAW_INIT_CONST, 0, 1.0},
        [X_WQ] = {"mlstm_layer.q.weight", 1, 0, 1, SCLAW_INIT_NORMAL, 1, 0},
        [X_WK] = {"mlstm_layer.k.weight", 1, 0, 1, SCLAW_INIT_NORMAL, 1, 0},
        [X_WV] = {"mlstm_layer.v.weight", 2, 0, 1, SCLAW_INIT_NORMAL, 1, 0},
        [X_WO] = {"mlstm_layer.ogate_preact.weight", 2, 0, 1, SCLAW_INIT_CONST, 0, 0.0},
        [X_WI] = {"mlstm_layer.igate_preact.weight", 3, 0, 1, SCLAW_INIT_CONST, 0, 0.0},
        [X_BI] = {"mlstm_layer.igate_preact.bias", 3, -1, 0, SCLAW_INIT_CONST, 0, -10.0},
        [X_WF] = {"mlstm_layer.fgate_preact.weight", 3, 0, 1, SCLAW_INIT_CONST, 0, 0.0},
        [X_BF] = {"mlstm_layer.fgate_preact.bias", 3, -1, 0, SCLAW_INIT_LINSPACE, 3, 0},
        [X_MHN] = {"mlstm_layer.multihead_norm.weight", 2, -1, 0, SCLAW_INIT_CONST, 0, 1.0},
        [X_WOUT] = {"mlstm_layer.out_proj.weight", 0, 2, 1, SCLAW_INIT_NORMAL, 2, 0},
        [X_NORM2] = {"norm_ffn.weight", 0, -1, 0, SCLAW_INIT_CONST, 0, 1.0},
        [X_WG] = {"ffn.proj_up_gate.weight", 4, 0, 1, SCLAW_INIT_NORMAL, 1, 0},
        [X_WU] = {"ffn.proj_up.weight", 4, 0, 1, SCLAW_INIT_NORMAL, 1, 0},
        [X_WD] = {"ffn.proj_down.weight", 0, 4, 1, SCLAW_INIT_NORMAL, 2, 0},
    };
    const int64_t dim[5] = {D, Dqk, Dv, NH, F};
    for (int k = 0; k < X_NT; k++) {
        char name[SCLAW_TENSOR_NAME_MAX];
        snprintf(name, sizeof name, fmt, (long long)l, spec[k].name);
        double a = spec[k].std == 1 ? small : spec[k].std == 2 ? wang : spec[k].a, b = 0;
        if (spec[k].std == 3) /* forget-gate bias linspace(3, 6, NH) (models.md §1.3) */
            a = 3.0, b = 6.0;
        int st = sclaw_tensor_table_add(tt, name, spec[k].in < 0 ? 1 : 2, dim[spec[k].out],
                                        spec[k].in < 0 ? 0 : dim[spec[k].in], spec[k].decay,
                                        spec[k].init, a, b, l);
        if (st)
            return st;
    }
    return SCLAW_OK;
}

/* Pointers into one block's saved buffer and the shared scratch (built once
 * per reserve by bind_mlstm). */
struct mlstm_view {
    /* saved for backward */
    float *u, *rstd1;          /* (N, D), (N): pre-norm */
    float *qh, *kh, *vh;       /* (B, NH, T, dqk|dv): heads-major cell inputs */
    float *o;                  /* (N, Dv) output-gate preactivation */
    float *icap, *fcap;        /* (N, NH) capped gates (before the border reset) */
    float *ih, *fh;            /* (B, NH, T) cell gates (after the reset) */
    float *nout, *mout;        /* (B, NH, T) cell normaliser / stabiliser */
    float *ht;                 /* (N, Dv) cell output, token-major */
    float *hmean, *hrstd;      /* (N, NH) multi-head norm statistics */
    float *hn, *g;             /* (N, Dv) normed, gated */
    float *xm;                 /* (N, D) residual after the mLSTM sub-block */
    float *u2, *rstd2;         /* FFN pre-norm */
    float *a, *b, *z;          /* (N, F) SwiGLU */
    /* shared scratch (forward temporaries reused as backward buffers) */
    float *qf, *kf, *vf;       /* (N, Dqk|Dv): projections / dq, dk, dv */
    float *ig, *fg;            /* (N, NH): raw gates / their gradients */
    float *hh;                 /* (B, NH, T, dv): cell output / dh */
    float *dqh, *dkh, *dvh, *dih, *dfh; /* heads-major cell gradients */
    float *di, *df;            /* (N, NH) */
    float *du, *dg, *dO, *dhn, *dht;    /* (N, D|Dv) */
    float *dz, *da, *db;       /* (N, F) */
    float *work;               /* chunkwise kernel workspace */
};

/* Saved per block: everything the backward reads, i.e. the inputs of every
 * kernel whose backward needs them (norm inputs and statistics, projections'
 * inputs u, u2, g, z, the cell's q/k/v/i/f and normaliser/stabiliser, the gate
 * values for the soft-cap backward). Counts round up; bind_mlstm asserts. */
static int64_t saved_mlstm(const struct sclaw_config *c, int64_t B, int64_t T)
{
    const int64_t N = B * T, D = c->embedding_dim, NH = c->num_heads, F = c->ffn_dim;
    const int64_t Dqk = NH * c->head_dim_qk, Dv = NH * c->head_dim_v;
    return 4 * blocks_round(N * D) + 2 * blocks_round(N) + 2 * blocks_round(N * Dqk) +
           5 * blocks_round(N * Dv) + 10 * blocks_round(N * NH) + 3 * blocks_round(N * F);
}

/* Scratch shared by all blocks: forward temporaries (token-major projections,
 * raw gates, the heads-major cell output) are dead by the time the backward
 * runs, so the backward reuses them for the matching gradients. */
static int64_t scratch_mlstm(const struct sclaw_config *c, int64_t B, int64_t T)
{
    const int64_t N = B * T, D = c->embedding_dim, NH = c->num_heads, F = c->ffn_dim;
    const int64_t Dqk = NH * c->head_dim_qk, Dv = NH * c->head_dim_v;
    size_t w = sclaw_mlstm_chunkwise_workspace(B * NH, T, c->head_dim_qk, c->head_dim_v,
                                               c->chunk_size);
    return 4 * blocks_round(N * Dqk) + 7 * blocks_round(N * Dv) + blocks_round(N * D) +
           6 * blocks_round(N * NH) + 3 * blocks_round(N * F) + blocks_round((int64_t)w);
}

static void bind_mlstm(const struct sclaw_config *c, int64_t B, int64_t T, float *saved,
                       float *scratch, void *view)
{
    const int64_t N = B * T, D = c->embedding_dim, NH = c->num_heads, F = c->ffn_dim;
    const int64_t Dqk = NH * c->head_dim_qk, Dv = NH * c->head_dim_v;
    struct mlstm_view *v = view;
    float *s = saved;
    v->u = blocks_take(&s, N * D);
    v->rstd1 = blocks_take(&s, N);
    v->qh = blocks_take(&s, N * Dqk);
    v->kh = blocks_take(&s, N * Dqk);
    v->vh = blocks_take(&s, N * Dv);
    v->o = blocks_take(&s, N * Dv);
    v->icap = blocks_take(&s, N * NH);
    v->fcap = blocks_take(&s, N * NH);
    v->ih = blocks_take(&s, N * NH);
    v->fh = blocks_take(&s, N * NH);
    v->nout = blocks_take(&s, N * NH);
    v->mout = blocks_take(&s, N * NH);
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
    SCLAW_ASSERT(s - saved <= saved_mlstm(c, B, T));
    s = scratch;
    v->qf = blocks_take(&s, N * Dqk);
    v->kf = blocks_take(&s, N * Dqk);
    v->vf = blocks_take(&s, N * Dv);
    v->ig = blocks_take(&s, N * NH);
    v->fg = blocks_take(&s, N * NH);
    v->hh = blocks_take(&s, N * Dv);
    v->dqh = blocks_take(&s, N * Dqk);
    v->dkh = blocks_take(&s, N * Dqk);
    v->dvh = blocks_take(&s, N * Dv);
    v->dih = blocks_take(&s, N * NH);
    v->dfh = blocks_take(&s, N * NH);
    v->di = blocks_take(&s, N * NH);
    v->df = blocks_take(&s, N * NH);
    v->du = blocks_take(&s, N * D);
    v->dg = blocks_take(&s, N * Dv);
    v->dO = blocks_take(&s, N * Dv);
    v->dhn = blocks_take(&s, N * Dv);
    v->dht = blocks_take(&s, N * Dv);
    v->dz = blocks_take(&s, N * F);
    v->da = blocks_take(&s, N * F);
    v->db = blocks_take(&s, N * F);
    v->work = s;
    SCLAW_ASSERT(s - scratch <= scratch_mlstm(c, B, T));
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

static void forward_mlstm(const struct sclaw_model *m, int64_t l, const void *view,
                          const float *x, float *y)
{
    const struct sclaw_config *c = &m->cfg;
    const struct mlstm_view *v = view;
    float *const *p = sclaw_model_lp(m, l);
    const int64_t B = m->nB, T = m->T, N = B * T, D = c->embedding_dim, NH = c->num_heads;
    const int64_t dqk = c->head_dim_qk, dv = c->head_dim_v, Dqk = NH * dqk, Dv = NH * dv;

    sclaw_rmsnorm_forward(v->u, v->rstd1, x, p[X_NORM], N, D, SCLAW_NORM_EPS);
    sclaw_matmul_forward(v->qf, v->u, p[X_WQ], N, D, Dqk, 0);
    sclaw_matmul_forward(v->kf, v->u, p[X_WK], N, D, Dqk, 0);
    sclaw_matmul_forward(v->vf, v->u, p[X_WV], N, D, Dv, 0);
    sclaw_matmul_forward(v->o, v->u, p[X_WO], N, D, Dv, 0);
    linear_bias(v->ig, v->u, p[X_WI], p[X_BI], N, D, NH);
    linear_bias(v->fg, v->u, p[X_WF], p[X_BF], N, D, NH);
    sclaw_softcap_forward(v->icap, v->ig, N * NH, SCLAW_GATE_SOFTCAP);
    sclaw_softcap_forward(v->fcap, v->fg, N * NH, SCLAW_GATE_SOFTCAP);
    /* the cell runs per (sequence, head): heads-major layout */
    sclaw_to_heads(v->qh, v->qf, B, T, NH, dqk);
    sclaw_to_heads(v->kh, v->kf, B, T, NH, dqk);
    sclaw_to_heads(v->vh, v->vf, B, T, NH, dv);
    sclaw_to_heads(v->ih, v->icap, B, T, NH, 1);
    sclaw_to_heads(v->fh, v->fcap, B, T, NH, 1);
    if (m->has_seg) {
        /* document borders: forget gate -25 (memory reset), after the cap */
        for (int64_t bb = 0; bb < B; bb++)
            for (int64_t t = 0; t < T; t++)
                if (m->border[bb * T + t])
                    for (int64_t h = 0; h < NH; h++)
                        v->fh[(bb * NH + h) * T + t] = SCLAW_DOC_RESET_FGATE;
    }
    sclaw_mlstm_forward_chunkwise(v->hh, v->nout, v->mout, NULL, NULL, NULL, v->qh, v->kh, v->vh,
                                  v->ih, v->fh, B * NH, T, dqk, dv, c->chunk_size, v->work);
    sclaw_from_heads(v->ht, v->hh, B, T, NH, dv);
    sclaw_headnorm_forward(v->hn, v->hmean, v->hrstd, v->ht, p[X_MHN], N, NH, dv, SCLAW_NORM_EPS);
    sclaw_ogate_forward(v->g, v->o, v->hn, N * Dv);
    memcpy(v->xm, x, (size_t)(N * D) * sizeof *x);
    sclaw_matmul_forward(v->xm, v->g, p[X_WOUT], N, Dv, D, 1);
    sclaw_ffn_forward(y, v->u2, v->rstd2, v->a, v->b, v->z, v->xm, p[X_NORM2], p[X_WG], p[X_WU],
                      p[X_WD], N, D, c->ffn_dim);
}

static void zero(float *p, int64_t n)
{
    memset(p, 0, (size_t)n * sizeof *p);
}

static void backward_mlstm(const struct sclaw_model *m, int64_t l, const void *view,
                           const float *x, float *dxy)
{
    const struct sclaw_config *c = &m->cfg;
    const struct mlstm_view *v = view;
    float *const *p = sclaw_model_lp(m, l);
    float *const *g = sclaw_model_lg(m, l);
    const int64_t B = m->nB, T = m->T, N = B * T, D = c->embedding_dim, NH = c->num_heads;
    const int64_t dqk = c->head_dim_qk, dv = c->head_dim_v, Dqk = NH * dqk, Dv = NH * dv;

    /* FFN sub-block: dxy becomes dL/dxm */
    sclaw_ffn_backward(dxy, g[X_NORM2], g[X_WG], g[X_WU], g[X_WD], v->du, v->dz, v->da, v->db,
                       v->xm, v->u2, v->rstd2, v->a, v->b, v->z, p[X_NORM2], p[X_WG], p[X_WU],
                       p[X_WD], N, D, c->ffn_dim);
    /* xm = x + g Wout^T */
    zero(v->dg, N * Dv);
    sclaw_matmul_backward(v->dg, g[X_WOUT], dxy, v->g, p[X_WOUT], N, Dv, D);
    /* g = sigmoid(o) * hn */
    zero(v->dO, N * Dv);
    zero(v->dhn, N * Dv);
    sclaw_ogate_backward(v->dO, v->dhn, v->dg, v->o, v->hn, N * Dv);
    /* hn = MultiHeadLayerNorm(h) */
    zero(v->dht, N * Dv);
    sclaw_headnorm_backward(v->dht, g[X_MHN], v->dhn, v->ht, p[X_MHN], v->hmean, v->hrstd, N, NH,
                            dv);
    /* cell (normaliser/stabiliser treated as constants, exact because the
     * scale-invariant head norm follows: models.md §3.5) */
    sclaw_to_heads(v->hh, v->dht, B, T, NH, dv);
    zero(v->dqh, N * Dqk);
    zero(v->dkh, N * Dqk);
    zero(v->dvh, N * Dv);
    zero(v->dih, N * NH);
    zero(v->dfh, N * NH);
    sclaw_mlstm_backward_chunkwise(v->dqh, v->dkh, v->dvh, v->dih, v->dfh, v->hh, v->qh, v->kh,
                                   v->vh, v->ih, v->fh, v->nout, v->mout, B * NH, T, dqk, dv,
                                   c->chunk_size, v->work);
    sclaw_from_heads(v->qf, v->dqh, B, T, NH, dqk);
    sclaw_from_heads(v->kf, v->dkh, B, T, NH, dqk);
    sclaw_from_heads(v->vf, v->dvh, B, T, NH, dv);
    sclaw_from_heads(v->di, v->dih, B, T, NH, 1);
    sclaw_from_heads(v->df, v->dfh, B, T, NH, 1);
    if (m->has_seg) /* f was overwritten at borders: nothing flows back there */
        for (int64_t n = 0; n < N; n++)
            if (m->border[n])
                for (int64_t h = 0; h < NH; h++)
                    v->df[n * NH + h] = 0;
    /* i = 15 tanh(i~/15), f likewise; then the gate biases */
    zero(v->ig, N * NH);
    zero(v->fg, N * NH);
    sclaw_softcap_backward(v->ig, v->di, v->icap, N * NH, SCLAW_GATE_SOFTCAP);
    sclaw_softcap_backward(v->fg, v->df, v->fcap, N * NH, SCLAW_GATE_SOFTCAP);
    sclaw_bias_backward(g[X_BI], v->ig, N, NH);
    sclaw_bias_backward(g[X_BF], v->fg, N, NH);
    /* all six projections read u */
    zero(v->du, N * D);
    sclaw_matmul_backward(v->du, g[X_WQ], v->qf, v->u, p[X_WQ], N, D, Dqk);
    sclaw_matmul_backward(v->du, g[X_WK], v->kf, v->u, p[X_WK], N, D, Dqk);
    sclaw_matmul_backward(v->du, g[X_WV], v->vf, v->u, p[X_WV], N, D, Dv);
    sclaw_matmul_backward(v->du, g[X_WO], v->dO, v->u, p[X_WO], N, D, Dv);
    sclaw_matmul_backward(v->du, g[X_WI], v->ig, v->u, p[X_WI], N, D, NH);
    sclaw_matmul_backward(v->du, g[X_WF], v->fg, v->u, p[X_WF], N, D, NH);
    /* u = RMSNorm(x), plus the residual identity already in dxy */
    sclaw_rmsnorm_backward(dxy, g[X_NORM], v->du, x, p[X_NORM], v->rstd1, N, D);
}

/* models.md §1.5: 3e-3 for D <= 1024, 2e-3 for 1152-1408, 1e-3 ... 5e-4 above */
static double lr_mlstm(const struct sclaw_config *c)
{
    const int64_t D = c->embedding_dim;
    return D <= 1024 ? 3e-3 : D <= 1408 ? 2e-3 : D <= 2048 ? 1e-3 : 5e-4;
}

/* models.md §5.3: NH = d/128 (d_v 128, d_qk 64), at least one head, and a
 * divisor of d for widths that are not multiples of 128. */
static int64_t study_heads_mlstm(int64_t d)
{
    int64_t nh = d / 128 > 1 ? d / 128 : 1;
    while (d % nh)
        nh--;
    return nh;
}

static const char *const mlstm_keys[] = {"chunk_size", "proj_factor_qk", NULL};

const struct sclaw_arch sclaw_arch_mlstm = {
    .name = "mlstm_v1",
    .alias = "xlstm",
    .display = "xLSTM",
    .own_keys = mlstm_keys,
    .derive = derive_mlstm,
    .study_heads = study_heads_mlstm,
    .count_params = sclaw_count_params_mlstm,
    .count_flops = sclaw_count_flops_mlstm,
    .count_infer = sclaw_count_infer_mlstm,
    .add_block_tensors = add_block_mlstm,
    .block_ntensors = X_NT,
    .embedding_name = "backbone.embeddings.weight",
    .out_norm_name = "backbone.out_norm.weight",
    .check_trainable = NULL,
    .default_lr = lr_mlstm,
    .logit_softcap = 30.0,
    .block_saved = saved_mlstm,
    .block_scratch = scratch_mlstm,
    .block_view_bytes = sizeof(struct mlstm_view),
    .block_bind = bind_mlstm,
    .block_forward = forward_mlstm,
    .block_backward = backward_mlstm,
    .infer = &sclaw_infer_ops_mlstm,
};
