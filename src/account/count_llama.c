/* count_llama.c - Llama parameters, training FLOPs and inference FLOPs/bytes:
 * accounting-and-fits.md §1.2, §2.4, §3.1-§3.4. */
#include "count_families.h"
#include "sclaw_config.h"

/* §1.2 with general head shapes: q is d -> nh*dqk, k/v are d -> nkv*(dqk|dv),
 * the out projection nh*dv -> d (= d*d for standard MHA). */
void sclaw_count_params_llama(const struct sclaw_config *c, struct sclaw_params *p)
{
    double d = (double)c->embedding_dim, nh = (double)c->num_heads, nkv = (double)c->num_kv_heads;
    double dqk = (double)c->head_dim_qk, dv = (double)c->head_dim_v;
    double dff = (double)c->ffn_dim, V = (double)c->vocab_size, nb = (double)c->num_blocks;
    double attn = d * (nh * dqk + nkv * (dqk + dv)) + nh * dv * d + d;
    double ffn = 3 * d * dff + d;
    p->noembed_nohead = nb * (attn + ffn) + d;
    p->noembed = p->noembed_nohead + V * d;
    p->total = p->noembed + V * d;
}

void sclaw_count_flops_llama(const struct sclaw_config *c, double S, const struct sclaw_flop_opts *o,
                             struct sclaw_flops *f)
{
    double d = (double)c->embedding_dim, nh = (double)c->num_heads, nkv = (double)c->num_kv_heads;
    double dqk = (double)c->head_dim_qk, dv = (double)c->head_dim_v;
    double dff = (double)c->ffn_dim, V = (double)c->vocab_size, nb = (double)c->num_blocks;
    double linear = 0, other = 0, attn;

    linear += 2 * S * d * (nh * dqk + nkv * (dqk + dv)); /* q, k, v: 2*S*d*nh*(2dqk+dv) for MHA */
    linear += 2 * S * d * nh * dv;                        /* out projection */
    sclaw_count_ffn_fw(S, d, dff, &linear, &other);
    if (o->attn == SCLAW_ATTN_FLOPS_CHINCHILLA) /* no causality, softmax 3 per score */
        attn = 2 * S * S * dqk * nh + 3 * nh * S * S + 2 * S * S * dv * nh;
    else /* distill_scaling: causal half of QK^T and PV, softmax 2.5 per score */
        attn = S * S * dqk * nh + 2.5 * nh * S * S + S * S * dv * nh;
    f->linear = nb * linear + 2 * S * V * d;
    f->seqmix = nb * attn;
    f->other = nb * other;
}

/* §3.1 per-token backbone FLOPs of the blocks. */
static double backbone_flops(const struct sclaw_config *c)
{
    double nh = (double)c->num_heads, nkv = (double)c->num_kv_heads;
    double dqk = (double)c->head_dim_qk, dv = (double)c->head_dim_v;
    double d = dqk * nh, dff = (double)c->ffn_dim; /* d = d_qk * n_head (§3) */
    return (double)c->num_blocks * (4 * d + 2 * d * (dqk * nh + dqk * nkv + dv * nkv) +
                                    2 * d * nkv * dv + 4 * d + 6 * d * dff + 2 * dff);
}

static double backbone_bytes(const struct sclaw_config *c, double B, double T)
{
    const double ba = SCLAW_BYTES_ACT, bw = SCLAW_BYTES_W;
    double nh = (double)c->num_heads, nkv = (double)c->num_kv_heads;
    double dqk = (double)c->head_dim_qk, dv = (double)c->head_dim_v;
    double d = dqk * nh, dff = (double)c->ffn_dim, nb = (double)c->num_blocks;
    double act = d + (d + dqk * nh + dqk * nkv + dv * nkv) + (d + nh * dv) + d + 3 * (d + dff);
    double w = d + d * (dqk * nh + (dqk + dv) * nkv) + d * nh * dv + d + 3 * d * dff;
    return B * T * ba * d /* embedding read, with bytes_act (quirk §10.14) */
           + nb * B * T * ba * act + nb * bw * w;
}

void sclaw_count_infer_llama(const struct sclaw_config *c, const struct sclaw_infer_opts *o,
                             struct sclaw_infer_acct *r)
{
    const double Fc = 0.65, Fsm = 5, ba = SCLAW_BYTES_ACT;
    double B = o->batch, T = o->prefill, G = o->generate;
    double nh = (double)c->num_heads, nkv = (double)c->num_kv_heads;
    double dqk = (double)c->head_dim_qk, dv = (double)c->head_dim_v;
    double d = dqk * nh, V = (double)c->vocab_size, nb = (double)c->num_blocks;

    /* §3.2 attention prefill and generation (causal factor 0.65, softmax 5) */
    double attn_pre = 2 * Fc * T * T * nh * (dqk + dv + 0.5 * Fsm);
    double attn_gen = 2 * Fc * nh * (dqk + dv + 0.5 * Fsm) * (T * G + 0.5 * G * (G + 1));
    r->ttft_flops = B * (T * backbone_flops(c) + nb * attn_pre + 2 * nh * dv * V);
    r->has_gen = 1;
    /* totals over G tokens (quirk §10.13) */
    r->gen_flops = B * ((T + G) * backbone_flops(c) + nb * attn_gen) + B * 2 * nh * dqk * V * (G + 1);

    double attn_pre_bytes = B * T * (dqk + dv) * (nh + nkv) * ba;
    double attn_gen_bytes = B * ba * (dqk + dv) * nkv * (G + T * G + 0.5 * G * (G - 1));
    r->ttft_bytes = backbone_bytes(c, B, T) + sclaw_bytes_lm_head(B, 1, d, V) + nb * attn_pre_bytes;
    r->gen_bytes_per_token =
        G > 0 ? (backbone_bytes(c, B, G) + sclaw_bytes_lm_head(B, G, d, V) + nb * attn_gen_bytes) / G
              : 0;
    r->gen_cache_bytes_per_token = G > 0 ? nb * attn_gen_bytes / G : 0;
}
