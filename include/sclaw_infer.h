/* sclaw_infer.h - inference: prefill, decode steps, sampling, timing (issue 6).
 *
 * Implements models.md §4 (prefill / time-to-first-token and the generation
 * step) for both families on top of a trained or freshly initialised model
 * (struct sclaw_model, sclaw_model.h): the parameters and the kernels are the
 * training model's; only the per-sequence decode state is new.
 *
 *   xLSTM  state per layer and sequence: C (NH, dqk, dv), n (NH, dqk), m (NH),
 *          fp32, CONSTANT size whatever the context. Prefill runs the
 *          chunkwise cell (§3.3) with state in/out; a decode step is the
 *          recurrent form (§3.1) in place on the state.
 *   Llama  KV cache per layer: K and V (B, NH, Tmax, hd), post-RoPE, sized
 *          once for the maximum context Tmax. Prefill is batched causal
 *          attention of the prompt's queries against the cache it fills; a
 *          decode step appends one position and attends over all of them
 *          (sclaw_attention_step).
 *
 * Memory (style.md §2.4): sclaw_infer_init allocates the decode state (its
 * own block) and one activation block sized for `piece` tokens per sequence;
 * nothing is allocated afterwards. A prompt longer than `piece` is fed in
 * pieces that carry the state along, so the memory of a prefill does not grow
 * with the prompt (the xLSTM state is exact across pieces; for Llama the cache
 * holds every earlier position). Logits are computed for the last position
 * only (the runtime model of accounting-and-fits.md §3.3 does the same).
 *
 * All sequences of a batch advance together: they share the position. A
 * prompt is one document (no segment resets inside it).
 *
 * The family-specific code is reached through arch->infer (struct
 * sclaw_infer_ops below), filled in src/infer/<family>_infer.c.
 *
 * This header does not include sclaw_model.h: the tool reaches models through
 * the handles below (sclaw_infer_model_*), so it never needs the model's
 * definition.
 */
#ifndef SCLAW_INFER_H
#define SCLAW_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "sclaw_config.h"

struct sclaw_model;
struct sclaw_infer;

/* How an xLSTM prefill cuts a prompt whose length is not a multiple of the
 * chunk size L (models.md §3.6). Both give the same state up to rounding. */
enum sclaw_prefill_mode {
    SCLAW_PREFILL_CHUNKED = 0, /* the kernel's shorter last chunk (default) */
    SCLAW_PREFILL_SPLIT        /* §3.6: L on the largest multiple, then 32, 16,
                                  the last < 16 tokens by recurrent steps */
};

/* Per-family inference ops (one constant per family, reached as arch->infer).
 * "Floats" counts are float32 elements. */
struct sclaw_infer_ops {
    /* Block l's weights in the family's order, looked up by their checkpoint
     * names in the model's tensor table once at init (so the order here never
     * depends on the training code's): nweights pointers into w. */
    int64_t nweights;
    int (*weights)(const struct sclaw_model *m, int64_t l, float **w);
    /* Decode-state floats of ONE layer for B sequences and context Tmax. */
    int64_t (*state_floats)(const struct sclaw_config *c, int64_t B, int64_t Tmax);
    /* Scratch floats one block needs for B sequences of P new tokens at
     * context up to Tmax, and the bytes of the family's view of that scratch
     * (bound once by bind). */
    int64_t (*scratch_floats)(const struct sclaw_config *c, int64_t B, int64_t P, int64_t Tmax);
    size_t view_bytes;
    void (*bind)(const struct sclaw_config *c, int64_t B, int64_t P, int64_t Tmax,
                 float *scratch, void *view);
    /* Block l over P new tokens of every sequence at positions s->pos ..
     * s->pos+P-1: x, y (B, P, D); the layer's state is read and updated.
     * P == 1 is a decode step (recurrent cell / cached attention step). */
    void (*block)(const struct sclaw_infer *s, int64_t l, const float *x, float *y, int64_t P);
    /* 1: the state is a KV cache that needs a length (Tmax defaults to the
     * config's context_length); 0: constant-size recurrent state. */
    int kv_cache;
    /* Fail with a clear message for contexts the family cannot hold
     * (NULL: any length). */
    int (*check_context)(const struct sclaw_infer *s, int64_t T);
};

/* For a family's `weights` op: w[k] = the parameters of tensor
 * "<prefix>.<l>.<names[k]>" for k < n, or an error naming a missing tensor. */
int sclaw_infer_find_weights(const struct sclaw_model *m, const char *prefix, int64_t l,
                             const char *const *names, int n, float **w);

extern const struct sclaw_infer_ops sclaw_infer_ops_mlstm;
extern const struct sclaw_infer_ops sclaw_infer_ops_llama;

/* What sclaw_infer_init sizes. */
struct sclaw_infer_setup {
    int64_t batch;       /* B sequences (>= 1) */
    int64_t max_context; /* Tmax: prompt + generated tokens. Llama: the KV cache
                            length, 0 = the config's context_length; xLSTM: a
                            limit only (0 = none), the state does not grow */
    int64_t piece;       /* tokens per prefill piece and sequence (0 = 512) */
    enum sclaw_prefill_mode mode;
};

/* The inference state of one batch of sequences. Read-only for callers,
 * except through the functions below. */
struct sclaw_infer {
    const struct sclaw_model *m;
    const struct sclaw_infer_ops *ops;
    int64_t B, Tmax, P;           /* batch, context limit (0 = none), piece length */
    enum sclaw_prefill_mode mode;
    int64_t pos;                  /* tokens consumed per sequence so far */
    /* decode state: NB layers of layer_floats each */
    float *state;
    int64_t layer_floats;
    float **w;                    /* [NB * ops->nweights] block weights */
    double state_bytes;           /* NB * layer_floats * 4 */
    /* activations, sized for B x P tokens */
    float *acts;
    double acts_bytes;
    float *x, *y;                 /* (B*P, D) residual stream in/out of a block */
    float *last, *lastn, *rstd;   /* (B, D) last position, normed; (B) */
    float *logit_raw;             /* (B, V) before the soft-cap */
    float *logits;                /* (B, V) logits of the last position */
    void *views;                  /* family view of the block scratch */
    float *scratch;
    int32_t *rows;                /* (B*P) token ids of the current piece */
};

/* Allocate the state and activations for model m (which must outlive s) and
 * reset. Errors: bad sizes (SCLAW_E_ARG), out of memory naming the bytes. */
int sclaw_infer_init(struct sclaw_infer *s, const struct sclaw_model *m,
                     const struct sclaw_infer_setup *o);
/* Release (safe on a zeroed or half-built struct). */
void sclaw_infer_free(struct sclaw_infer *s);
/* Forget every sequence: zero state, position 0. */
void sclaw_infer_reset(struct sclaw_infer *s);

/* Feed T >= 1 tokens of every sequence (tokens: (B, T)), continuing from the
 * current position, and leave the logits of the last position in s->logits
 * (B, V). Errors (state unchanged): T < 1, a token outside the vocabulary, a
 * context beyond the limit (message names both lengths). */
int sclaw_infer_prefill(struct sclaw_infer *s, const int32_t *tokens, int64_t T);
/* One decode step: tok (B), one new token per sequence; logits in s->logits. */
int sclaw_infer_step(struct sclaw_infer *s, const int32_t *tok);
/* The xLSTM state (C, n, m) of layer l as pointers into s->state:
 * C (B, NH, dqk, dv), n (B, NH, dqk), m (B, NH). Llama: K, V caches
 * (B, NH, Tmax, hd) in C and n, m = NULL. For tests and tools. */
void sclaw_infer_layer_state(const struct sclaw_infer *s, int64_t l, float **C, float **n,
                             float **m);

/* The training model's full forward (sclaw_model_forward: chunkwise cell /
 * full causal attention over T tokens from an empty state) with the logits
 * of EVERY position: logits (B, T, V). Reserves the model's activations for
 * (B, T). The reference the cached paths are tested against. */
int sclaw_infer_full_logits(struct sclaw_model *m, const int32_t *tokens, int64_t B, int64_t T,
                            float *logits);

/* ---- model handles (for code that does not include sclaw_model.h) -------- */

/* Load a model for inference from PATH: a run directory holding config.json
 * and model.safetensors, or a .safetensors checkpoint whose directory holds
 * config.json. *out is allocated here; release with sclaw_infer_model_close. */
int sclaw_infer_model_open(struct sclaw_model **out, const char *path);
/* A model of config c with freshly initialised parameters (seed). */
int sclaw_infer_model_random(struct sclaw_model **out, const struct sclaw_config *c,
                             uint64_t seed);
void sclaw_infer_model_close(struct sclaw_model *m);
const struct sclaw_config *sclaw_infer_model_config(const struct sclaw_model *m);
/* Parameter count of the loaded model. */
int64_t sclaw_infer_model_params(const struct sclaw_model *m);

/* ---- sampling ------------------------------------------------------------- */

/* Temperature 0: greedy argmax (lowest id on ties). Otherwise softmax of
 * logits / temperature, restricted to the smallest set of most likely tokens
 * whose probability reaches top_p (1 = all), drawn with a seeded 64-bit RNG:
 * the same seed and logits give the same tokens on every machine. */
struct sclaw_cand {
    float p;
    int32_t id;
};
struct sclaw_sampler {
    double temperature, top_p;
    uint64_t rng;
    int64_t V;
    float *prob;              /* [V] */
    struct sclaw_cand *cand;  /* [V] nucleus candidates */
};
int sclaw_sampler_init(struct sclaw_sampler *sp, int64_t V, double temperature, double top_p,
                       uint64_t seed);
void sclaw_sampler_free(struct sclaw_sampler *sp);
/* Next token from one row of logits (V). */
int32_t sclaw_sampler_next(struct sclaw_sampler *sp, const float *logits);
/* Index of the largest value (the lowest index on ties). */
int32_t sclaw_argmax(const float *x, int64_t n);

/* ---- timing (sclaw bench inference) ----------------------------------------- */

/* One cell of the inference grid. */
struct sclaw_infer_timing {
    int64_t batch, prefill, generate;
    double ttft_ms;       /* median over repeats: prefill (or one step from an
                             empty state when prefill = 0) + logits of the
                             last position + the first token's sampling */
    double step_ms;       /* median over repeats of the mean decode-step time */
    double ttft_best_ms;  /* fastest TTFT of the repeats */
    double step_best_ms;  /* fastest single decode step of all repeats (a
                             busy moment of a shared host only slows steps,
                             so this is the one to set beside best-of roofs) */
    double state_bytes;   /* decode state (xLSTM C,n,m / Llama KV cache) */
    double acts_bytes;    /* activation block of the inference state */
};
/* Time TTFT and generate decode steps (greedy) for B sequences of random
 * prompt tokens (seed): one untimed warm-up (prefill of at most 512 tokens,
 * a few steps), then the median of `repeat` runs. The state is allocated once for the cell (Llama cache length
 * prefill + generate + 1). */
int sclaw_infer_time(const struct sclaw_model *m, int64_t B, int64_t prefill, int64_t generate,
                     int repeat, int64_t piece, uint64_t seed, struct sclaw_infer_timing *r);

#endif
