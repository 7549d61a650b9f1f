/* account.c - accounting entry points: dispatch to the family and combine
 * (accounting-and-fits.md §1-§3). */
#include "sclaw_account.h"
#include "sclaw_arch.h"
#include "count_families.h"

#include <string.h>

void sclaw_count_params(const struct sclaw_config *c, struct sclaw_params *p)
{
    c->arch->count_params(c, p);
}

void sclaw_count_flops(const struct sclaw_config *c, double T, const struct sclaw_flop_opts *o,
                       struct sclaw_flops *f)
{
    static const struct sclaw_flop_opts defaults = {SCLAW_MLSTM_FLOPS_FIRST, SCLAW_ATTN_FLOPS_DISTILL};
    if (T <= 0)
        T = (double)c->context_length;
    memset(f, 0, sizeof *f);
    c->arch->count_flops(c, T, o ? o : &defaults, f);
    f->fw = f->linear + f->seqmix + f->other;
    /* bw_flop_count_mode "total_factor_2": backward = 2 x forward (§2.1) */
    f->fwbw = 3.0 * f->fw;
}

double sclaw_count_training_flops(const struct sclaw_config *c, const struct sclaw_flop_opts *o,
                                  double batch, double steps)
{
    struct sclaw_flops f;
    sclaw_count_flops(c, 0, o, &f);
    return f.fwbw * batch * steps;
}

double sclaw_count_training_tokens(const struct sclaw_config *c, double batch, double steps)
{
    return batch * (double)c->context_length * steps;
}

void sclaw_count_infer(const struct sclaw_config *c, const struct sclaw_infer_opts *o,
                       struct sclaw_infer_acct *r)
{
    memset(r, 0, sizeof *r);
    c->arch->count_infer(c, o, r);
}

void sclaw_count_ffn_fw(double S, double d, double dff, double *linear, double *other)
{
    /* up + gate projections 4*S*d*dff, down 2*S*d*dff; gating S*dff*(1 + F_act) */
    *linear += 4.0 * S * d * dff + 2.0 * S * d * dff;
    *other += 2.0 * S * dff;
}

double sclaw_bytes_lm_head(double B, double T_head, double d, double V)
{
    /* activations in/out of final norm and the logits, plus norm and head weights */
    return B * T_head * SCLAW_BYTES_ACT * (d + d + V) + SCLAW_BYTES_W * (d + d * V);
}

int sclaw_mlstm_flops_parse(const char *s)
{
    if (!strcmp(s, "first"))
        return SCLAW_MLSTM_FLOPS_FIRST;
    if (!strcmp(s, "tfla"))
        return SCLAW_MLSTM_FLOPS_TFLA;
    return -1;
}

int sclaw_attn_flops_parse(const char *s)
{
    if (!strcmp(s, "distill") || !strcmp(s, "distill_scaling"))
        return SCLAW_ATTN_FLOPS_DISTILL;
    if (!strcmp(s, "chinchilla"))
        return SCLAW_ATTN_FLOPS_CHINCHILLA;
    return -1;
}
