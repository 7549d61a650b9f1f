/* sclaw_train.h - training: AdamW, the LR schedule, checkpoints, the trainer.
 *
 * Recipe (models.md §1.5): AdamW beta1 0.9, beta2 0.95, eps 1e-8, decoupled
 * weight decay 0.1 on every matrix except the embedding (the tensor table's
 * decay flags), global gradient-norm clipping at 0.5, linear warmup then
 * cosine decay to 0.1 x peak LR (optionally a final linear cooldown to 0).
 * Training loss must be finite at every step: NaN/Inf stops the run with
 * SCLAW_E_NUMERIC naming the step and the last good checkpoint.
 *
 * A run directory RUNDIR holds (every file written atomically):
 *   config.json              the model config
 *   train.json               the training options (a resume uses these)
 *   checkpoint.safetensors   params (model names) + "exp_avg.<name>" and
 *                            "exp_avg_sq.<name>" (Adam m, v); __metadata__
 *                            "sclaw_state" = JSON {step, tokens, flops,
 *                            elapsed_s, adam_step, train_data, val_loss}: one file,
 *                            so a checkpoint is never half old, half new
 *   model.safetensors        the params alone (Hugging Face names, sclaw_model.h)
 *   log.csv                  step, tokens, flops, lr, train_loss, val_loss,
 *                            grad_norm, tokens_per_s (one row per step; val_loss
 *                            empty except at evaluations)
 *   result.json              written when the run finishes: the paper's run-table
 *                            fields (model_type, num_params, num_tokens_training,
 *                            num_flops_training, val_loss, ...) + peak RSS
 * Resuming (sclaw_train_run with resume = 1) restores params, Adam state, the
 * step, the data position and the log up to the checkpoint; with the same
 * thread count the resumed run's losses equal the uninterrupted run's bit for
 * bit (every reduction has a fixed order).
 */
#ifndef SCLAW_TRAIN_H
#define SCLAW_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include <jansson.h>

#include "sclaw_config.h"
#include "sclaw_data.h"
#include "sclaw_model.h"
#include "sclaw_tensor.h"

/* ---- AdamW ------------------------------------------------------------------ */
struct sclaw_adamw_range {
    int64_t begin, end;  /* [begin, end) of the flat buffer */
    int decay;           /* weight decay applies */
};
struct sclaw_adamw {
    double beta1, beta2, eps, weight_decay;
    int64_t t;        /* updates done (bias correction uses t + 1) */
    int64_t n;        /* floats (= tensor table numel) */
    float *m, *v;     /* [n] first and second moments, the params' layout */
    int64_t nrange;
    struct sclaw_adamw_range *range; /* runs of tensors with equal decay flags (from the table) */
};
/* Allocate zeroed moments for a table; hyperparameters as given. */
int sclaw_adamw_init(struct sclaw_adamw *o, const struct sclaw_tensor_table *tt, double beta1,
                     double beta2, double eps, double weight_decay);
void sclaw_adamw_free(struct sclaw_adamw *o);
/* One update with learning rate lr on gradients scaled by gscale (the clip
 * factor):  g' = gscale g;  m = b1 m + (1-b1) g';  v = b2 v + (1-b2) g'^2;
 * p -= lr (mhat / (sqrt(vhat) + eps) + wd decay p). */
void sclaw_adamw_step(struct sclaw_adamw *o, float *params, const float *grads, double lr,
                      double gscale);
/* Global L2 norm of n floats, summed in double in a fixed order (the same
 * bits for any thread count). */
double sclaw_grad_norm(const float *g, int64_t n);

/* ---- learning-rate schedule ------------------------------------------------- */
struct sclaw_lr_schedule {
    double peak;        /* peak LR */
    double min_ratio;   /* cosine floor as a fraction of peak (0.1) */
    int64_t warmup;     /* linear warmup steps */
    int64_t total;      /* total steps */
    int64_t cooldown;   /* final linear decay to 0 over this many steps (0 = none) */
};
/* LR of 0-based step s: peak (s+1)/warmup during warmup; then cosine from peak
 * to min_ratio peak at step total - cooldown; then linear to 0 at total. */
double sclaw_lr_at(const struct sclaw_lr_schedule *s, int64_t step);
/* Peak LR of the paper's runs for a config (models.md §1.5): xLSTM 3e-3 for
 * D <= 1024, 2e-3 up to 1408, 1e-3 up to 2048, else 5e-4; Llama 3e-3 for
 * D <= 1024, 1e-3 up to 1792, else 7e-4. */
double sclaw_default_lr(const struct sclaw_config *c);

/* ---- data -------------------------------------------------------------------
 * The trainer reads batches through this interface (cli/cmd_train.c connects
 * the token-shard loader of sclaw_data.h; tests use fixed batches). */
struct sclaw_batch_source {
    void *ctx;
    /* Next B x T batch: inputs, targets, seg (document ids) each (B, T). */
    int (*next)(void *ctx, int32_t *inputs, int32_t *targets, int32_t *seg, int64_t B, int64_t T);
    /* Position state as JSON (new reference) and its restore. */
    json_t *(*save)(void *ctx);
    int (*load)(void *ctx, const json_t *state);
    /* Back to the first batch (validation: the same batches every eval). */
    int (*rewind)(void *ctx);
};

/* The token-shard loader (sclaw_data.h) as a batch source: split 0 serves
 * training windows (state = loader position, restored on resume), split 1 the
 * fixed validation batches in order (a short last batch is padded with
 * ignored targets). B is the batch size the source will be asked for. */
struct sclaw_loader_source {
    struct sclaw_loader *l;
    int val;
    int64_t k;                /* next validation batch */
    struct sclaw_batch b;     /* one loader batch: tokens (B, T+1), seg (B, T) */
};
int sclaw_loader_source_init(struct sclaw_loader_source *s, struct sclaw_batch_source *bs,
                             struct sclaw_loader *l, int64_t B, int val);
void sclaw_loader_source_free(struct sclaw_loader_source *s);

/* ---- trainer ------------------------------------------------------------------ */
struct sclaw_train_opts {
    int64_t batch;          /* sequences per step B */
    int64_t steps;          /* total steps S */
    double lr;              /* peak LR */
    double min_lr_ratio;    /* 0.1 */
    int64_t warmup;         /* steps */
    int64_t cooldown;       /* steps (0) */
    double beta1, beta2, eps, weight_decay, clip;
    int64_t eval_every;     /* steps between validations (0: only at the end) */
    int64_t eval_batches;   /* validation batches per evaluation */
    int64_t save_every;     /* steps between checkpoints (0: only at the end) */
    uint64_t seed;          /* parameter init */
    int doc_reset;          /* document borders (models.md §1.5), default 1 */
    int64_t stop_after;     /* stop (checkpointed) after this many steps of this
                               invocation; 0 = run to the end */
    const volatile sig_atomic_t *interrupt; /* nonzero: checkpoint and stop */
    const char *data_name;  /* recorded in result.json (may be NULL) */
};
/* The paper's recipe (models.md §1.5) for a config: AdamW 0.9/0.95/1e-8,
 * wd 0.1, clip 0.5, min ratio 0.1, LR by sclaw_default_lr, batch 8,
 * doc_reset 1, eval_batches 8. steps/warmup/eval/save left 0. */
void sclaw_train_defaults(struct sclaw_train_opts *o, const struct sclaw_config *c);
/* Fill warmup (min(750, max(1, steps/10)) when 0) and check every value:
 * SCLAW_E_ARG naming the option. */
int sclaw_train_check(struct sclaw_train_opts *o, const struct sclaw_config *c);
json_t *sclaw_train_opts_to_json(const struct sclaw_train_opts *o);
int sclaw_train_opts_from_json(struct sclaw_train_opts *o, const json_t *j, const char *where);

/* Called after every step (the CLI prints progress; the library never does). */
struct sclaw_train_progress {
    int64_t step, steps;        /* steps done, total */
    double loss, lr, grad_norm, tokens_per_s, elapsed_s, eta_s;
    double val_loss;            /* NaN unless this step evaluated */
};
typedef void (*sclaw_train_progress_fn)(const struct sclaw_train_progress *p, void *user);

struct sclaw_train_result {
    int finished;               /* reached opts.steps (else stopped early) */
    int64_t step;               /* steps done */
    double train_loss, val_loss;
    double tokens, flops;       /* training tokens D and compute C so far */
    double peak_rss;            /* bytes */
};

/* Train a config in rundir (created if needed). resume = 0: rundir must not
 * hold a run (finished or not). resume = 1: continue the run in rundir with
 * its saved config and options (o may be NULL then). */
int sclaw_train_run(const struct sclaw_config *c, const struct sclaw_train_opts *o,
                    const char *rundir, int resume, struct sclaw_batch_source *train,
                    struct sclaw_batch_source *val, sclaw_train_progress_fn progress, void *user,
                    struct sclaw_train_result *res);

/* Mean validation loss of n batches of B x T from src (rewound first). */
int sclaw_eval_loss(struct sclaw_model *m, struct sclaw_batch_source *src, int64_t n,
                    int64_t B, double *loss);

/* ---- checkpoints ----------------------------------------------------------- */
/* Load params (and, when o != NULL, Adam moments) from a checkpoint or model
 * file into a model built from the matching config; *state (may be NULL)
 * receives the "sclaw_state" metadata object (new reference, NULL if absent). */
int sclaw_ckpt_load(const char *path, struct sclaw_model *m, struct sclaw_adamw *o,
                    json_t **state);
/* Save params + Adam moments + state atomically as one safetensors file. */
int sclaw_ckpt_save(const char *path, const struct sclaw_model *m, const struct sclaw_adamw *o,
                    const json_t *state);

/* Memory the system can give this process (MemAvailable, capped by a cgroup
 * limit); SCLAW_E_IO if unknown. */
int sclaw_mem_available(double *bytes);
/* Peak resident set size of this process in bytes. */
double sclaw_peak_rss(void);

#endif
