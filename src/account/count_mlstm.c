/* count_mlstm.c - xLSTM (mlstm_v1) parameters, training FLOPs and inference
 * FLOPs/bytes: accounting-and-fits.md §1.2, §2.3, §3.1-§3.4. */
#include "count_families.h"
#include "sclaw_config.h"

#include <math.h>

/* §1.2. The spec writes the o-gate, out projection and head norm with d; they
 * are d -> nh*dv maps, identical when nh*dv = d (always, unless overridden). */
void sclaw_count_params_mlstm(const struct sclaw_config *c, struct sclaw_params *p)
{
    double d = (double)c->embedding_dim, nh = (double)c->num_heads;
    double dqk = (double)c->head_dim_qk, dv = (double)c->head_dim_v;
    double dff = (double)c->ffn_dim, V = (double)c->vocab_size, nb = (double)c->num_blocks;
    double layer = d * nh * (2 * dqk + dv)  /* q, k, v */
                   + 2 * d * nh + 2 * nh    /* input and forget gate (weight + bias) */
                   + d * nh * dv            /* output gate */
                   + nh * dv * d            /* out projection */
                   + d + nh * dv;           /* pre-norm + multi-head out-norm */
    double ffn = 3 * d * dff + d;
    p->noembed_nohead = nb * (layer + ffn) + d; /* + final norm */
    p->noembed = p->noembed_nohead + V * d;     /* + LM head */
    p->total = p->noembed + V * d;              /* + embedding */
}

/* mLSTM cell forward FLOPs per head per chunk (§2.3), all F factors = 1. */
static double cell_first(double L, double dqk, double dv)
{
    /* C-part: chunkwise gates 0.5L(L+1)+2L, gates & max state 5+5L,
     * numerator 2dqk*dv + 4L*dqk*dv + 3L*dqk, denominator 2dqk + 4L*dqk */
    double c_part = 0.5 * L * (L + 1) + 2 * L + (5 + 5 * L) +
                    (2 * dqk * dv + 4 * L * dqk * dv + 3 * L * dqk) + (2 * dqk + 4 * L * dqk);
    /* H-part: gate matrix 0.5L(L+1)+6L^2+2L, gated attention 2L^2*dqk+2L^2,
     * h_intra 2L^2*dv, n_intra 2L^2, output combination 7L + 2L*dv */
    double h_part = 0.5 * L * (L + 1) + 6 * L * L + 2 * L + (2 * L * L * dqk + 2 * L * L) +
                    2 * L * L * dv + 2 * L * L + (7 * L + 2 * L * dv);
    return c_part + h_part;
}

/* "tfla" variant (§2.3, quirk §10.4): causal factor 0.75 only if L > 64. */
static double cell_tfla(double L, double dqk, double dv, double causal)
{
    double gates = 2 * L + 0.5 * L * (L + 1) + 4 * L + 3;   /* + F_max + F_exp below */
    gates += 2;
    double rec_C = 2 * dqk * dv + 2 * L * dqk * dv + L * dqk;
    double rec_n = 2 * dqk + 2 * L * dqk;
    double intra = (L * L * 3 + L * L * 2 + L * 2 + 2 * L * L * (dqk + dv) + 3 * L * L) * causal +
                   0.5 * L * (L + 1) + 2 * L;
    double inter = 2 * L * dqk * dv + 3 * L * dqk;
    double comb = 2 * L * dv + 4 * L;
    return gates + rec_C + rec_n + intra + inter + comb;
}

void sclaw_count_flops_mlstm(const struct sclaw_config *c, double S, const struct sclaw_flop_opts *o,
                             struct sclaw_flops *f)
{
    double d = (double)c->embedding_dim, nh = (double)c->num_heads, nb = (double)c->num_blocks;
    double dqk = (double)c->head_dim_qk, dv = (double)c->head_dim_v;
    double dff = (double)c->ffn_dim, V = (double)c->vocab_size, L = (double)c->chunk_size;
    double linear = 0, other = 0;

    linear += 2 * S * d * nh * (2 * dqk + dv + 2); /* q, k, v + i, f gates */
    linear += 2 * S * d * nh * dv + S * nh * dv;   /* o gate; sigmoid booked as linear (§10.5) */
    linear += 2 * S * d * nh * dv;                 /* out projection */
    sclaw_count_ffn_fw(S, d, dff, &linear, &other);

    double nc = floor(S / L); /* training: S // L chunks */
    double per_chunk = o->mlstm == SCLAW_MLSTM_FLOPS_TFLA
                           ? cell_tfla(L, dqk, dv, L > 64 ? 0.75 : 1.0)
                           : cell_first(L, dqk, dv);
    f->linear = nb * linear + 2 * S * V * d; /* + LM head; embedding lookup costs 0 */
    f->seqmix = nb * nh * nc * per_chunk;
    f->other = nb * other;
}

/* §3.1: per-token backbone FLOPs of the blocks (norms, skips and FFN included). */
static double backbone_flops(const struct sclaw_config *c)
{
    double d = (double)c->num_heads * (double)c->head_dim_v; /* d = d_hv * n_head (§3) */
    double nh = (double)c->num_heads, dqk = (double)c->head_dim_qk, dv = (double)c->head_dim_v;
    double dff = (double)c->ffn_dim;
    return (double)c->num_blocks *
           (4 * d + 2 * d * nh * (2 * dqk + dv) + 2 * d * nh + 2 * nh + 2 * d * nh * dv + nh * dv +
            3 * nh * dv + 2 * d * nh * dv + 4 * d + 6 * d * dff + 2 * dff);
}

/* §3.2: chunkwise cell per block per sequence (causal factor 0.75 for all L,
 * T/L real division) and recurrent step per block per token. */
static double cell_cwp_flops(double T, double L, double nh, double dqk, double dv)
{
    const double Fc = 0.75;
    return nh * (T / L) *
           (L * L + 13 * L + 5 + Fc * (8 * L * L + 2 * L + 2 * L * L * (dqk + dv)) +
            4 * L * dqk * dv + 6 * L * dqk + 2 * L * dv + 2 * dqk * dv + 2 * dqk);
}

static double cell_rec_flops(double nh, double dqk, double dv)
{
    return nh * (6 * dv * dqk + dv + 7 * dqk + 12);
}

/* §3.4: backbone bytes for B sequences of T tokens, LM head excluded. */
static double backbone_bytes(const struct sclaw_config *c, double B, double T)
{
    const double ba = SCLAW_BYTES_ACT, bw = SCLAW_BYTES_W;
    double nh = (double)c->num_heads, dqk = (double)c->head_dim_qk, dv = (double)c->head_dim_v;
    double d = nh * dv, dff = (double)c->ffn_dim, nb = (double)c->num_blocks;
    double act = d + (d + nh * (2 * dqk + dv)) + 2 * (d + nh) + (d + nh * dv) + nh * dv +
                 (d + nh * dv) + d + 3 * (d + dff);
    double w = d + d * nh * (2 * dqk + dv) + 2 * d * nh + 2 * nh + d * nh * dv + nh * dv +
               d * nh * dv + d + 3 * d * dff;
    return B * T * bw * d /* embedding read, with bytes_w (quirk §10.14) */
           + nb * B * T * ba * act + nb * bw * w;
}

void sclaw_count_infer_mlstm(const struct sclaw_config *c, const struct sclaw_infer_opts *o,
                             struct sclaw_infer_acct *r)
{
    double B = o->batch, T = o->prefill;
    double nh = (double)c->num_heads, dqk = (double)c->head_dim_qk, dv = (double)c->head_dim_v;
    double d = nh * dv, V = (double)c->vocab_size, nb = (double)c->num_blocks;
    double L = (double)c->chunk_size;
    const double bC = SCLAW_BYTES_STATE, ba = SCLAW_BYTES_ACT;

    /* §3.3: logits only for the last prompt token */
    r->ttft_flops = B * (T * backbone_flops(c) + nb * cell_cwp_flops(T, L, nh, dqk, dv) +
                         2 * nh * dv * V);
    double unembed = 3 * d + 2 * d * V;
    r->has_step = 1;
    r->step_flops = B * (backbone_flops(c) + unembed + nb * cell_rec_flops(nh, dqk, dv));

    double state = dv * dqk + dqk + 1; /* C, n, m per head */
    double cwp_bytes = nh * (T / L) * B *
                       (2 * L * bC + 4 * L * ba + 3 * L * ba * (dv + dqk) + 2 * bC * state);
    double rec_bytes = nh * B * (2 * bC * state + 2 * ba + 2 * ba * (dv + dqk));
    r->ttft_bytes = backbone_bytes(c, B, T) + sclaw_bytes_lm_head(B, 1, d, V) + nb * cwp_bytes;
    r->step_bytes = backbone_bytes(c, B, 1) + sclaw_bytes_lm_head(B, 1, d, V) + nb * rec_bytes;
}
