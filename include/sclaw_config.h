/* sclaw_config.h - model configurations: JSON in and out, derived dimensions.
 *
 * A model config is a JSON object whose keys have the names of the paper-run
 * CSV columns (accounting-and-fits.md §1.1, models.md §1.1, §2):
 *
 *   model_type       "mlstm_v1" (alias "xlstm") or "llama"           required
 *   embedding_dim    d, model width                                   required
 *   num_blocks       nb                                               required
 *   num_heads        nh (Llama: d / head_dim)                         required
 *   vocab_size       V                                                required
 *   context_length   training sequence length T                       required
 *   chunk_size       mLSTM chunk length L                             mlstm, default 64
 *   proj_factor_ffn  FFN width factor                                 default 2.667
 *   proj_factor_qk   mLSTM q/k width factor                           mlstm, default 0.5
 *   ffn_multiple_of  FFN width rounding                               default 64
 *   head_dim         Llama head size override (default d / nh)        llama
 *   head_dim_qk, head_dim_v   per-head q/k and v sizes (override)
 *   ffn_dim          SwiGLU hidden size (override)
 *   num_kv_heads     Llama key/value heads (default nh: MHA)          llama
 *   name             free text
 *
 * Derived dimensions are computed in exactly one place, the family's derive
 * function (sclaw_arch.h), following the spec including its quirks (§10.1-2):
 *   xLSTM: d_qk = floor(d*pqk / nh), d_v = d / nh, dff = ffn_dim(d, pf, m, ceil)
 *   Llama: d_qk = d_v = head_dim,                   dff = ffn_dim(d, pf, m, floor)
 */
#ifndef SCLAW_CONFIG_H
#define SCLAW_CONFIG_H

#include <stdint.h>

#include <jansson.h>

struct sclaw_arch;

struct sclaw_config {
    const struct sclaw_arch *arch; /* model family (never NULL after a load) */
    char name[128];
    int64_t embedding_dim;   /* d */
    int64_t num_blocks;      /* nb */
    int64_t num_heads;       /* nh */
    int64_t vocab_size;      /* V */
    int64_t context_length;  /* T */
    int64_t chunk_size;      /* L (mLSTM) */
    double proj_factor_ffn;
    double proj_factor_qk;
    int64_t ffn_multiple_of;
    /* derived (or given as overrides): */
    int64_t head_dim_qk;
    int64_t head_dim_v;
    int64_t ffn_dim;
    int64_t num_kv_heads;
};

/* Rounding modes of get_ffn_dim (accounting-and-fits.md §1.1). */
enum sclaw_ffn_round { SCLAW_FFN_CEIL, SCLAW_FFN_FLOOR };

/* get_ffn_dim: x = ceil or floor of d*p, then always rounded UP to a multiple
 * of m (spec §1.1 and quirk §10.1). */
int64_t sclaw_ffn_dim(int64_t d, double p, int64_t m, enum sclaw_ffn_round mode);

/* Parse a config object. `where` names the source in messages (a file path).
 * Unknown keys, missing required keys, wrong types and invalid sizes are
 * SCLAW_E_FORMAT / SCLAW_E_ARG errors naming `where` and the key. */
int sclaw_config_from_json(struct sclaw_config *c, const json_t *obj, const char *where);
/* Load and parse a JSON config file. */
int sclaw_config_load(struct sclaw_config *c, const char *path);
/* Fill in defaults for a family and derive the dimensions; used by code that
 * builds configs programmatically (set the base keys, zero the derived ones). */
int sclaw_config_init(struct sclaw_config *c, const char *model_type);
int sclaw_config_derive(struct sclaw_config *c, const char *where);
/* The config as a JSON object (every key, derived ones included). New reference. */
json_t *sclaw_config_to_json(const struct sclaw_config *c);
/* Save atomically as JSON. */
int sclaw_config_save(const struct sclaw_config *c, const char *path);

#endif
