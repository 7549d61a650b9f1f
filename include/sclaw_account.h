/* sclaw_account.h - exact parameter, FLOP and memory-traffic accounting.
 *
 * Implements accounting-and-fits.md §1 (parameter counts), §2 (training FLOPs,
 * the repo's counting: embedding FLOPs excluded, LM head included, backward =
 * 2 x forward, norms and skips not counted) and §3 (inference FLOPs and bytes
 * of the runtime models). All counts are doubles: the paper's formulas produce
 * non-integers (2.5 FLOPs per attention score, T/L real division).
 *
 * Per-family formulas live in src/account/count_<family>.c and are reached
 * through the family's struct sclaw_arch (sclaw_arch.h); the functions here
 * dispatch and combine.
 */
#ifndef SCLAW_ACCOUNT_H
#define SCLAW_ACCOUNT_H

#include <stdint.h>

#include "sclaw_config.h"

/* §1.2: N with everything, without the input embedding, without embedding
 * and LM head. */
struct sclaw_params {
    double total;
    double noembed;
    double noembed_nohead;
};

/* xLSTM cell FLOP formula (§2.3): "first" is what all run data uses. */
enum sclaw_mlstm_flops { SCLAW_MLSTM_FLOPS_FIRST = 0, SCLAW_MLSTM_FLOPS_TFLA };
/* Attention FLOPs (§2.4): causal "distill_scaling" (default) or "chinchilla". */
enum sclaw_attn_flops { SCLAW_ATTN_FLOPS_DISTILL = 0, SCLAW_ATTN_FLOPS_CHINCHILLA };

struct sclaw_flop_opts {
    enum sclaw_mlstm_flops mlstm;
    enum sclaw_attn_flops attn;
};

/* Forward FLOPs of one sequence and their split (§2.2). fwbw = 3 * fw. */
struct sclaw_flops {
    double fw;
    double linear;  /* projections, FFN matmuls, LM head */
    double seqmix;  /* mLSTM cell or attention */
    double other;   /* FFN gating elementwise */
    double fwbw;
};

/* Inference accounting (§3.3, §3.4) for B sequences, prefill P, G generated. */
struct sclaw_infer_opts {
    double batch;     /* B */
    double prefill;   /* T: prompt length */
    double generate;  /* T_gen (Llama generation totals), default 100 */
};

struct sclaw_infer_acct {
    double ttft_flops, ttft_bytes;
    /* recurrent models (xLSTM): one generation step, prefill-independent */
    int has_step;
    double step_flops, step_bytes;
    /* KV-cache models (Llama): total FLOPs over G tokens, bytes per token,
     * and the KV-cache reads among those bytes (bf16, 2 bytes per element) */
    int has_gen;
    double gen_flops, gen_bytes_per_token, gen_cache_bytes_per_token;
};

void sclaw_count_params(const struct sclaw_config *c, struct sclaw_params *p);
/* Forward FLOPs at sequence length T (the config's context if T <= 0). */
void sclaw_count_flops(const struct sclaw_config *c, double T, const struct sclaw_flop_opts *o,
                       struct sclaw_flops *f);
/* Training compute C = fwbw(T) * B * steps and tokens D = B * T * steps. */
double sclaw_count_training_flops(const struct sclaw_config *c, const struct sclaw_flop_opts *o,
                                  double batch, double steps);
double sclaw_count_training_tokens(const struct sclaw_config *c, double batch, double steps);
void sclaw_count_infer(const struct sclaw_config *c, const struct sclaw_infer_opts *o,
                       struct sclaw_infer_acct *r);

/* Parse "first"/"tfla" and "distill"/"chinchilla"; -1 if unknown. */
int sclaw_mlstm_flops_parse(const char *s);
int sclaw_attn_flops_parse(const char *s);


/* ---- run tables ----------------------------------------------------------
 * Recompute the accounting of every row of a run table in the paper's CSV
 * schema (shared/data/paper_runs/README.md). Each row's config comes from its
 * columns model_type, embedding_dim, num_blocks, num_heads, vocab_size,
 * context_length (+ chunk_size, proj_factor_ffn, proj_factor_qk,
 * ffn_multiple_of when present); D and C also need global_batch_size and
 * num_train_steps. C uses the repo's counting (§2.1); rows whose `dataset`
 * ends in "_flops_chinchilla" use chinchilla attention FLOPs, as the paper's
 * data does.
 *
 * Stored values are compared (num_params exactly; D, C and the optional
 * columns head_dim_qk, head_dim_v, ffn_dim, num_params_noembed[_nohead],
 * flops_fw_per_seq, flops_fwbw_per_seq, num_flops_training_attn_chinchilla,
 * num_flops_training_mlstm_tfla to 1e-12 relative); each disagreement is
 * reported through sclaw_warn naming file, line, column and both values.
 * Stored values are kept; empty N/D/C cells are filled with the computed
 * ones. A `count_ok` column is added: 1 agree, 0 disagree, empty when the row
 * has no config (e.g. failed runs). */
struct sclaw_csv;
struct sclaw_count_summary {
    int64_t rows, ok, mismatched, skipped;
};
int sclaw_count_run_table(struct sclaw_csv *t, struct sclaw_count_summary *s);
/* Build the config of one row (SCLAW_E_FORMAT if a config cell is empty). */
int sclaw_config_from_run_row(struct sclaw_config *c, const struct sclaw_csv *t, int64_t row);

#endif
