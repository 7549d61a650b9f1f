/* llama.c - the Llama-2 Transformer family ("llama", models.md §2): config
 * defaults and derived dimensions, and the block forward/backward (model ops).
 * Accounting is in src/account/count_llama.c. */
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


static int derive_llama(struct sclaw_config *c, const char *where)
{
    if (c->embedding_dim % c->num_heads)
        return sclaw_fail(SCLAW_E_ARG,
                          "%s: key 'embedding_dim' (%lld) is not divisible by 'num_heads' (%lld)",
                          where, (long long)c->embedding_dim, (long long)c->num_heads);
    if (!c->head_dim_qk)
        c->head_dim_qk = c->head_dim_v ? c->head_dim_v : c->embedding_dim / c->num_heads;
    if (!c->head_dim_v)
        c->head_dim_v = c->head_dim_qk;
    if (!c->ffn_dim)
        c->ffn_dim = sclaw_ffn_dim(c->embedding_dim, c->proj_factor_ffn, c->ffn_multiple_of,
                                   SCLAW_FFN_FLOOR);
    if (!c->num_kv_heads)
        c->num_kv_heads = c->num_heads;
    if (c->num_heads % c->num_kv_heads)
        return sclaw_fail(SCLAW_E_ARG,
                          "%s: key 'num_heads' (%lld) is not a multiple of 'num_kv_heads' (%lld)",
                          where, (long long)c->num_heads, (long long)c->num_kv_heads);
    c->chunk_size = 0;
    c->proj_factor_qk = 0;
    return SCLAW_OK;
}

/* ---------------------------------------------------------------------------
 * Model ops: the Llama block (models.md §2 forward and init, §3.7 backward).
 *   u = RMSNorm(x);  q,k,v = u W^T;  RoPE(q, k) at in-document positions
 *   (theta 5e5, interleaved pairs);  a = causal softmax(q k^T / sqrt(hd)) v,
 *   masked to the document;  xm = x + a Wo^T;  y = xm + SwiGLU-FFN(xm)
 * Dimensions: N = B*T rows, A = NH*hd (= D unless head_dim is overridden).
 */

enum { L_NORM, L_WQ, L_WK, L_WV, L_WO, L_NORM2, L_WG, L_WU, L_WD, L_NT };

static int check_llama(const struct sclaw_config *c)
{
    if (c->num_kv_heads != c->num_heads)
        return sclaw_fail(SCLAW_E_ARG,
                          "training supports multi-head attention only: 'num_kv_heads' (%lld) "
                          "differs from 'num_heads' (%lld)",
                          (long long)c->num_kv_heads, (long long)c->num_heads);
    if (c->head_dim_qk != c->head_dim_v || c->head_dim_qk % 2)
        return sclaw_fail(SCLAW_E_ARG,
                          "training needs equal, even q/k and v head sizes (got %lld and %lld)",
                          (long long)c->head_dim_qk, (long long)c->head_dim_v);
    return SCLAW_OK;
}

static int add_block_llama(const struct sclaw_config *c, int64_t l, struct sclaw_tensor_table *tt)
{
    const int64_t D = c->embedding_dim, A = c->num_heads * c->head_dim_qk, F = c->ffn_dim;
    const double small = sqrt(2.0 / (5.0 * (double)D));
    /* wang(D, 2 NB) = 1/(NB sqrt(D)): half the xLSTM value (models.md §2) */
    const double wang = 1.0 / ((double)c->num_blocks * sqrt((double)D));
    static const char *const names[L_NT] = {
        [L_NORM] = "input_layernorm.weight",   [L_WQ] = "self_attn.q_proj.weight",
        [L_WK] = "self_attn.k_proj.weight",    [L_WV] = "self_attn.v_proj.weight",
        [L_WO] = "self_attn.o_proj.weight",    [L_NORM2] = "post_attention_layernorm.weight",
        [L_WG] = "mlp.gate_proj.weight",       [L_WU] = "mlp.up_proj.weight",
        [L_WD] = "mlp.down_proj.weight",
    };
    const int64_t d0[L_NT] = {D, A, A, A, D, D, F, F, D};
    const int64_t d1[L_NT] = {0, D, D, D, A, 0, D, D, F};
    for (int k = 0; k < L_NT; k++) {
        char name[SCLAW_TENSOR_NAME_MAX];
        snprintf(name, sizeof name, "model.layers.%lld.%s", (long long)l, names[k]);
        int st;
        if (d1[k] == 0) /* norm scale */
            st = sclaw_tensor_table_add(tt, name, 1, d0[k], 0, 0, SCLAW_INIT_CONST, 1.0, 0, l);
        else
            st = sclaw_tensor_table_add(tt, name, 2, d0[k], d1[k], 1, SCLAW_INIT_NORMAL,
                                        k == L_WO || k == L_WD ? wang : small, 0, l);
        if (st)
            return st;
    }
    return SCLAW_OK;
}

struct llama_view {
    /* saved */
    float *u, *rstd1;         /* (N, D), (N) */
    float *q, *k, *v;         /* (B, T, NH, hd), q and k after RoPE */
    float *att, *lse;         /* (N, A) attention output, (B, NH, T) log-sum-exp */
    float *xm;                /* (N, D) */
    float *u2, *rstd2, *a, *b, *z; /* FFN */
    /* scratch */
    float *dq, *dk, *dv, *datt, *du; /* (N, A|D) */
    float *dz, *da, *db;      /* (N, F) */
    float *work;              /* attention kernel workspace */
};

/* Saved per block: norm inputs/statistics, q and k after RoPE (the attention
 * backward wants the rotated ones; its dq, dk are rotated back afterwards), v,
 * the attention output and its log-sum-exp (the backward recomputes the
 * probabilities from them instead of storing (T, T) per head), and the FFN. */
static int64_t saved_llama(const struct sclaw_config *c, int64_t B, int64_t T)
{
    const int64_t N = B * T, D = c->embedding_dim, NH = c->num_heads, F = c->ffn_dim;
    const int64_t A = NH * c->head_dim_qk;
    return 3 * blocks_round(N * D) + 2 * blocks_round(N) + 4 * blocks_round(N * A) +
           blocks_round(N * NH) + 3 * blocks_round(N * F);
}

static int64_t scratch_llama(const struct sclaw_config *c, int64_t B, int64_t T)
{
    const int64_t N = B * T, D = c->embedding_dim, NH = c->num_heads, F = c->ffn_dim;
    const int64_t A = NH * c->head_dim_qk;
    size_t w = sclaw_attention_workspace(B, T, NH, c->head_dim_qk);
    return 4 * blocks_round(N * A) + blocks_round(N * D) + 3 * blocks_round(N * F) +
           blocks_round((int64_t)w);
}

static void bind_llama(const struct sclaw_config *c, int64_t B, int64_t T, float *saved,
                       float *scratch, void *view)
{
    const int64_t N = B * T, D = c->embedding_dim, NH = c->num_heads, F = c->ffn_dim;
    const int64_t A = NH * c->head_dim_qk;
    struct llama_view *v = view;
    float *s = saved;
    v->u = blocks_take(&s, N * D);
    v->rstd1 = blocks_take(&s, N);
    v->q = blocks_take(&s, N * A);
    v->k = blocks_take(&s, N * A);
    v->v = blocks_take(&s, N * A);
    v->att = blocks_take(&s, N * A);
    v->lse = blocks_take(&s, N * NH);
    v->xm = blocks_take(&s, N * D);
    v->u2 = blocks_take(&s, N * D);
    v->rstd2 = blocks_take(&s, N);
    v->a = blocks_take(&s, N * F);
    v->b = blocks_take(&s, N * F);
    v->z = blocks_take(&s, N * F);
    SCLAW_ASSERT(s - saved <= saved_llama(c, B, T));
    s = scratch;
    v->dq = blocks_take(&s, N * A);
    v->dk = blocks_take(&s, N * A);
    v->dv = blocks_take(&s, N * A);
    v->datt = blocks_take(&s, N * A);
    v->du = blocks_take(&s, N * D);
    v->dz = blocks_take(&s, N * F);
    v->da = blocks_take(&s, N * F);
    v->db = blocks_take(&s, N * F);
    v->work = s;
    SCLAW_ASSERT(s - scratch <= scratch_llama(c, B, T));
}

static void forward_llama(const struct sclaw_model *m, int64_t l, const void *view,
                          const float *x, float *y)
{
    const struct sclaw_config *c = &m->cfg;
    const struct llama_view *v = view;
    float *const *p = sclaw_model_lp(m, l);
    const int64_t B = m->nB, T = m->T, N = B * T, D = c->embedding_dim, NH = c->num_heads;
    const int64_t hd = c->head_dim_qk, A = NH * hd;

    sclaw_rmsnorm_forward(v->u, v->rstd1, x, p[L_NORM], N, D, SCLAW_NORM_EPS);
    sclaw_matmul_forward(v->q, v->u, p[L_WQ], N, D, A, 0);
    sclaw_matmul_forward(v->k, v->u, p[L_WK], N, D, A, 0);
    sclaw_matmul_forward(v->v, v->u, p[L_WV], N, D, A, 0);
    /* positions restart at document borders (m->pos; plain 0..T-1 without) */
    sclaw_rope_forward(v->q, m->pos, N, NH, hd, SCLAW_ROPE_THETA);
    sclaw_rope_forward(v->k, m->pos, N, NH, hd, SCLAW_ROPE_THETA);
    sclaw_attention_forward(v->att, v->lse, v->q, v->k, v->v, m->has_seg ? m->seg : NULL, B, T,
                            NH, hd, v->work);
    memcpy(v->xm, x, (size_t)(N * D) * sizeof *x);
    sclaw_matmul_forward(v->xm, v->att, p[L_WO], N, A, D, 1);
    sclaw_ffn_forward(y, v->u2, v->rstd2, v->a, v->b, v->z, v->xm, p[L_NORM2], p[L_WG], p[L_WU],
                      p[L_WD], N, D, c->ffn_dim);
}

static void backward_llama(const struct sclaw_model *m, int64_t l, const void *view,
                           const float *x, float *dxy)
{
    const struct sclaw_config *c = &m->cfg;
    const struct llama_view *v = view;
    float *const *p = sclaw_model_lp(m, l);
    float *const *g = sclaw_model_lg(m, l);
    const int64_t B = m->nB, T = m->T, N = B * T, D = c->embedding_dim, NH = c->num_heads;
    const int64_t hd = c->head_dim_qk, A = NH * hd;

    sclaw_ffn_backward(dxy, g[L_NORM2], g[L_WG], g[L_WU], g[L_WD], v->du, v->dz, v->da, v->db,
                       v->xm, v->u2, v->rstd2, v->a, v->b, v->z, p[L_NORM2], p[L_WG], p[L_WU],
                       p[L_WD], N, D, c->ffn_dim);
    /* xm = x + att Wo^T */
    memset(v->datt, 0, (size_t)(N * A) * sizeof *v->datt);
    sclaw_matmul_backward(v->datt, g[L_WO], dxy, v->att, p[L_WO], N, A, D);
    memset(v->dq, 0, (size_t)(N * A) * sizeof *v->dq);
    memset(v->dk, 0, (size_t)(N * A) * sizeof *v->dk);
    memset(v->dv, 0, (size_t)(N * A) * sizeof *v->dv);
    sclaw_attention_backward(v->dq, v->dk, v->dv, v->datt, v->att, v->lse, v->q, v->k, v->v,
                             m->has_seg ? m->seg : NULL, B, T, NH, hd, v->work);
    /* RoPE is a rotation: its backward rotates the gradient back */
    sclaw_rope_backward(v->dq, m->pos, N, NH, hd, SCLAW_ROPE_THETA);
    sclaw_rope_backward(v->dk, m->pos, N, NH, hd, SCLAW_ROPE_THETA);
    memset(v->du, 0, (size_t)(N * D) * sizeof *v->du);
    sclaw_matmul_backward(v->du, g[L_WQ], v->dq, v->u, p[L_WQ], N, D, A);
    sclaw_matmul_backward(v->du, g[L_WK], v->dk, v->u, p[L_WK], N, D, A);
    sclaw_matmul_backward(v->du, g[L_WV], v->dv, v->u, p[L_WV], N, D, A);
    sclaw_rmsnorm_backward(dxy, g[L_NORM], v->du, x, p[L_NORM], v->rstd1, N, D);
}

/* models.md §1.5: 3e-3 for D <= 1024, 1e-3 for 1152-1792, 8e-4 ... 7e-4 above */
static double lr_llama(const struct sclaw_config *c)
{
    const int64_t D = c->embedding_dim;
    return D <= 1024 ? 3e-3 : D <= 1792 ? 1e-3 : 7e-4;
}
/* models.md §5.3: head_dim 64. */
static int64_t study_heads_llama(int64_t d) { return d / 64 > 1 ? d / 64 : 1; }

static const char *const llama_keys[] = {"head_dim", "num_kv_heads", NULL};

const struct sclaw_arch sclaw_arch_llama = {
    .name = "llama",
    .alias = NULL,
    .display = "Llama",
    .own_keys = llama_keys,
    .derive = derive_llama,
    .study_heads = study_heads_llama,
    .count_params = sclaw_count_params_llama,
    .count_flops = sclaw_count_flops_llama,
    .count_infer = sclaw_count_infer_llama,
    .add_block_tensors = add_block_llama,
    .block_ntensors = L_NT,
    .embedding_name = "model.embed_tokens.weight",
    .out_norm_name = "model.norm.weight",
    .check_trainable = check_llama,
    .default_lr = lr_llama,
    .logit_softcap = 0.0, /* trained uncapped (models.md §2, pitfall 3) */
    .block_saved = saved_llama,
    .block_scratch = scratch_llama,
    .block_view_bytes = sizeof(struct llama_view),
    .block_bind = bind_llama,
    .block_forward = forward_llama,
    .block_backward = backward_llama,
    .infer = &sclaw_infer_ops_llama,
};
