/* llama_infer.c - Llama inference block with a KV cache (models.md §2, §4).
 *
 *   u = RMSNorm(x);  q,k,v = u W^T;  RoPE(q, k) at positions pos..pos+P-1
 *   (theta 5e5, interleaved pairs);  K, V caches <- k, v at those positions;
 *   P > 1: a = causal attention of the P queries over cache positions
 *          [0, pos+P) (the prefill; earlier pieces are already cached);
 *   P = 1: a = sclaw_attention_step over pos+1 cached positions;
 *   xm = x + a Wo^T;  y = xm + FFN(xm)
 *
 * Cache per layer: K, V (B, NH, Tmax, hd) each, post-RoPE, sized once for the
 * maximum context Tmax: a cell of one (b, h) holds its keys as a contiguous
 * (Tmax, hd) matrix, so both the prefill GEMMs and the decode step read it
 * with unit stride.
 *
 * Prefill attention: the training forward's flash-style query-block kernel
 * (sclaw_attention_block, src/kernels/attention.c) over the cache layout,
 * query i at absolute position pos+i seeing keys 0..pos+i; its score tiles
 * have a fixed size, so the scratch does not grow with the context.
 */
#include "sclaw_infer.h"
#include "sclaw_kernels.h"
#include "sclaw_model.h"
#include "sclaw_status.h"
#include "../models/blocks.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

/* Query rows per attention task (sclaw_attention_block). */
#define QB SCLAW_ATTN_QB

enum { W_NORM, W_Q, W_K, W_V, W_O, W_NORM2, W_G, W_U, W_D, W_N };

static const char *const wnames[W_N] = {
    [W_NORM] = "input_layernorm.weight",   [W_Q] = "self_attn.q_proj.weight",
    [W_K] = "self_attn.k_proj.weight",     [W_V] = "self_attn.v_proj.weight",
    [W_O] = "self_attn.o_proj.weight",     [W_NORM2] = "post_attention_layernorm.weight",
    [W_G] = "mlp.gate_proj.weight",        [W_U] = "mlp.up_proj.weight",
    [W_D] = "mlp.down_proj.weight",
};

static int weights_llama(const struct sclaw_model *m, int64_t l, float **w)
{
    return sclaw_infer_find_weights(m, "model.layers", l, wnames, W_N, w);
}

static int64_t state_llama(const struct sclaw_config *c, int64_t B, int64_t Tmax)
{
    /* K and V: 2 NB B Tmax D elements in all (models.md §4) */
    return 2 * blocks_round(B * c->num_heads * Tmax * c->head_dim_qk);
}

struct llama_iview {
    float *u, *rstd;          /* (N, D), (N) */
    float *q, *k, *v, *att;   /* (B, P, NH, hd) */
    float *xm, *u2, *rstd2;   /* FFN input and its norm */
    float *a, *b, *z;         /* (N, F) */
    int32_t *pos;             /* (N) RoPE positions */
    float *S;                 /* score tiles, one per thread slot */
    int64_t slots, slot_floats;
};

/* Score slots: one per processor that may run a (b, h) task. The count is
 * fixed for the process, so a state sized once stays valid. */
static int64_t nslots(int64_t B, int64_t NH)
{
    int64_t p = omp_get_num_procs(), t = B * NH;
    return t < p ? t : p;
}

static int64_t scratch_llama(const struct sclaw_config *c, int64_t B, int64_t P, int64_t Tmax)
{
    const int64_t N = B * P, D = c->embedding_dim, NH = c->num_heads, F = c->ffn_dim;
    const int64_t A = NH * c->head_dim_qk;
    return 3 * blocks_round(N * D) + 4 * blocks_round(N * A) + 2 * blocks_round(N) +
           3 * blocks_round(N * F) + blocks_round(N) + nslots(B, NH) * blocks_round((int64_t)sclaw_attention_block_workspace());
}

static void bind_llama(const struct sclaw_config *c, int64_t B, int64_t P, int64_t Tmax,
                       float *scratch, void *view)
{
    const int64_t N = B * P, D = c->embedding_dim, NH = c->num_heads, F = c->ffn_dim;
    const int64_t A = NH * c->head_dim_qk;
    struct llama_iview *v = view;
    float *s = scratch;
    v->u = blocks_take(&s, N * D);
    v->rstd = blocks_take(&s, N);
    v->q = blocks_take(&s, N * A);
    v->k = blocks_take(&s, N * A);
    v->v = blocks_take(&s, N * A);
    v->att = blocks_take(&s, N * A);
    v->xm = blocks_take(&s, N * D);
    v->u2 = blocks_take(&s, N * D);
    v->rstd2 = blocks_take(&s, N);
    v->a = blocks_take(&s, N * F);
    v->b = blocks_take(&s, N * F);
    v->z = blocks_take(&s, N * F);
    v->pos = (int32_t *)blocks_take(&s, N);
    v->slots = nslots(B, NH);
    v->slot_floats = blocks_round((int64_t)sclaw_attention_block_workspace());
    v->S = s;
    s += v->slots * v->slot_floats;
    SCLAW_ASSERT(s - scratch <= scratch_llama(c, B, P, Tmax));
}

/* Causal attention of P new queries over the cache (prefill piece).
 * att, q: (B, P, NH, hd)  K, V: (B, NH, Tmax, hd) with positions [0, p0+P)
 * filled; query i sits at absolute position p0 + i. Tasks are (b, h, block
 * of QB queries), each one sclaw_attention_block call. */
static void attend_prefix(float *att, const float *q, const float *K, const float *V,
                          float *Sbase, int64_t slots, int64_t slot_floats, int64_t B,
                          int64_t NH, int64_t P, int64_t p0, int64_t Tmax, int64_t hd)
{
    const int64_t ld = NH * hd, nblk = (P + QB - 1) / QB, ntask = B * NH * nblk;
    int nth = (int)(omp_get_max_threads() < slots ? omp_get_max_threads() : slots);
#pragma omp parallel num_threads(nth)
    {
        float *S = Sbase + (int64_t)omp_get_thread_num() * slot_floats;
        /* later blocks see more keys; dynamic scheduling evens that out */
#pragma omp for schedule(dynamic)
        for (int64_t task = 0; task < ntask; task++) {
            int64_t bh = task / nblk, blk = task % nblk, b = bh / NH, h = bh % NH;
            int64_t i0 = blk * QB, nq = i0 + QB < P ? QB : P - i0;
            size_t row = (size_t)((b * P + i0) * ld + h * hd);
            const float *Kh = K + bh * Tmax * hd, *Vh = V + bh * Tmax * hd;
            sclaw_attention_block(att + row, ld, NULL, q + row, ld, Kh, hd, Vh, hd, NULL, nq,
                                  p0 + i0, 0, hd, S);
        }
    }
}

static void block_llama(const struct sclaw_infer *s, int64_t l, const float *x, float *y,
                        int64_t P)
{
    const struct sclaw_config *c = &s->m->cfg;
    const struct llama_iview *v = s->views;
    float *const *w = s->w + l * W_N;
    const int64_t B = s->B, N = B * P, D = c->embedding_dim, NH = c->num_heads;
    const int64_t hd = c->head_dim_qk, A = NH * hd, p0 = s->pos, Tmax = s->Tmax;
    float *K, *V, *unused;
    sclaw_infer_layer_state(s, l, &K, &V, &unused);

    sclaw_rmsnorm_forward(v->u, v->rstd, x, w[W_NORM], N, D, SCLAW_NORM_EPS);
    sclaw_matmul_forward(v->q, v->u, w[W_Q], N, D, A, 0);
    sclaw_matmul_forward(v->k, v->u, w[W_K], N, D, A, 0);
    sclaw_matmul_forward(v->v, v->u, w[W_V], N, D, A, 0);
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < P; t++)
            v->pos[b * P + t] = (int32_t)(p0 + t);
    sclaw_rope_forward(v->q, v->pos, N, NH, hd, SCLAW_ROPE_THETA);
    sclaw_rope_forward(v->k, v->pos, N, NH, hd, SCLAW_ROPE_THETA);
    /* append the new positions to the cache: (B, P, NH, hd) -> (B, NH, Tmax, hd) */
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < P; t++)
            for (int64_t h = 0; h < NH; h++) {
                size_t src = (size_t)(((b * P + t) * NH + h) * hd);
                size_t dst = (size_t)(((b * NH + h) * Tmax + p0 + t) * hd);
                memcpy(K + dst, v->k + src, (size_t)hd * sizeof *K);
                memcpy(V + dst, v->v + src, (size_t)hd * sizeof *V);
            }
    if (P == 1) /* (B, 1, NH, hd) is (B, NH, hd): the step kernel's layout */
        sclaw_attention_step(v->att, v->q, K, V, B, NH, p0 + 1, Tmax, hd);
    else
        attend_prefix(v->att, v->q, K, V, v->S, v->slots, v->slot_floats, B, NH, P, p0, Tmax,
                      hd);
    memcpy(v->xm, x, (size_t)(N * D) * sizeof *x);
    sclaw_matmul_forward(v->xm, v->att, w[W_O], N, A, D, 1);
    sclaw_ffn_forward(y, v->u2, v->rstd2, v->a, v->b, v->z, v->xm, w[W_NORM2], w[W_G], w[W_U],
                      w[W_D], N, D, c->ffn_dim);
}

/* RoPE positions are int32 and the cache was sized for Tmax (checked by the
 * caller); only head layouts the block above handles are accepted. */
static int check_llama(const struct sclaw_infer *s, int64_t T)
{
    const struct sclaw_config *c = &s->m->cfg;
    if (c->num_kv_heads != c->num_heads || c->head_dim_qk != c->head_dim_v)
        return sclaw_fail(SCLAW_E_ARG,
                          "inference supports multi-head attention with equal q/k and v head "
                          "sizes only");
    if (T > INT32_MAX)
        return sclaw_fail(SCLAW_E_ARG, "context of %lld tokens is too long", (long long)T);
    return SCLAW_OK;
}

const struct sclaw_infer_ops sclaw_infer_ops_llama = {
    .nweights = W_N,
    .weights = weights_llama,
    .state_floats = state_llama,
    .scratch_floats = scratch_llama,
    .view_bytes = sizeof(struct llama_iview),
    .bind = bind_llama,
    .kv_cache = 1,
    .block = block_llama,
    .check_context = check_llama,
};
