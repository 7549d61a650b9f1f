/* mlstm.c - the xLSTM family ("mlstm_v1": xLSTM-7B blocks of mLSTM layer + SwiGLU
 * FFN, models.md §1): config defaults and derived dimensions. Accounting is in
 * src/account/count_mlstm.c. */
#include "sclaw_arch.h"
#include "sclaw_status.h"
#include "../account/count_families.h"

#include <math.h>

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
};
