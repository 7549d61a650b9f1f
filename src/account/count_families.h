/* count_families.h - per-family accounting entry points (internal; reached by
 * the rest of sclaw through struct sclaw_arch). */
#ifndef SCLAW_COUNT_FAMILIES_H
#define SCLAW_COUNT_FAMILIES_H

#include "sclaw_account.h"

void sclaw_count_params_mlstm(const struct sclaw_config *c, struct sclaw_params *p);
void sclaw_count_flops_mlstm(const struct sclaw_config *c, double T, const struct sclaw_flop_opts *o,
                             struct sclaw_flops *f);
void sclaw_count_infer_mlstm(const struct sclaw_config *c, const struct sclaw_infer_opts *o,
                             struct sclaw_infer_acct *r);

void sclaw_count_params_llama(const struct sclaw_config *c, struct sclaw_params *p);
void sclaw_count_flops_llama(const struct sclaw_config *c, double T, const struct sclaw_flop_opts *o,
                             struct sclaw_flops *f);
void sclaw_count_infer_llama(const struct sclaw_config *c, const struct sclaw_infer_opts *o,
                             struct sclaw_infer_acct *r);

/* Shared pieces (account.c). */
/* SwiGLU FFN forward FLOPs per block (§2.2): linear 6*S*d*dff, other 2*S*dff. */
void sclaw_count_ffn_fw(double S, double d, double dff, double *linear, double *other);
/* Inference byte-size constants of the runtime models (§3): bf16 weights and
 * activations, fp32 mLSTM states. */
#define SCLAW_BYTES_ACT 2.0
#define SCLAW_BYTES_W 2.0
#define SCLAW_BYTES_STATE 4.0
/* LM-head bytes for B sequences, T_head positions (§3.4). */
double sclaw_bytes_lm_head(double B, double T_head, double d, double V);

#endif
