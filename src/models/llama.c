/* llama.c - the Llama-2 Transformer family ("llama", models.md §2): config
 * defaults and derived dimensions. Accounting is in src/account/count_llama.c. */
#include "sclaw_arch.h"
#include "sclaw_status.h"
#include "../account/count_families.h"


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
};
