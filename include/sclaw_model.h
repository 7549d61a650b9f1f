/* sclaw_model.h - trainable language models of both families.
 *
 * One model = embedding, NB blocks of the family, final RMSNorm, untied LM head
 * and cross-entropy loss (models.md §1.2, §2). This module (src/models/lm.c)
 * owns everything outside the blocks; the blocks are the family's ops in
 * struct sclaw_arch (sclaw_arch.h), written in src/models/<family>.c.
 *
 * Memory (style.md §2.4), one block per lifetime:
 *   - params and grads: flat buffers laid out by the tensor table m->tt
 *     (sclaw_tensor.h); Adam's m and v use the same layout (sclaw_train.h);
 *   - activations: sized once by sclaw_model_reserve(m, B, T) (residual
 *     stream, each block's saved tensors, one scratch block shared by all
 *     blocks, LM-head row chunk), never allocated inside forward;
 *   - per-layer views (m->lp[l][k], m->lg[l][k], the family's block views)
 *     are built once.
 *   sclaw_model_plan() gives the byte counts before anything is allocated.
 *
 * Lifecycle: sclaw_model_init (table + params + grads) -> sclaw_model_init_params
 * or a checkpoint load -> sclaw_model_reserve(B, T) -> forward / forward_backward
 * any number of times -> sclaw_model_free.
 *
 * Checkpoint tensor names (the table's names) follow Hugging Face where a
 * counterpart exists; PyTorch Linear layout (out, in):
 *
 *   xLSTM (transformers xLSTMForCausalLM; models.md §1.2)
 *     backbone.embeddings.weight                     (V, D)   small init, no decay
 *     backbone.blocks.{l}.norm_mlstm.weight          (D)      1
 *     backbone.blocks.{l}.mlstm_layer.q.weight       (NH*dqk, D)  small
 *     backbone.blocks.{l}.mlstm_layer.k.weight       (NH*dqk, D)  small
 *     backbone.blocks.{l}.mlstm_layer.v.weight       (NH*dv, D)   small
 *     backbone.blocks.{l}.mlstm_layer.ogate_preact.weight (NH*dv, D) 0
 *     backbone.blocks.{l}.mlstm_layer.igate_preact.weight (NH, D)    0
 *     backbone.blocks.{l}.mlstm_layer.igate_preact.bias   (NH)       -10
 *     backbone.blocks.{l}.mlstm_layer.fgate_preact.weight (NH, D)    0
 *     backbone.blocks.{l}.mlstm_layer.fgate_preact.bias   (NH)       linspace(3, 6)
 *     backbone.blocks.{l}.mlstm_layer.multihead_norm.weight (NH*dv) 1
 *     backbone.blocks.{l}.mlstm_layer.out_proj.weight (D, NH*dv)  wang(D, NB)
 *     backbone.blocks.{l}.norm_ffn.weight            (D)      1
 *     backbone.blocks.{l}.ffn.proj_up_gate.weight    (dff, D) small
 *     backbone.blocks.{l}.ffn.proj_up.weight         (dff, D) small
 *     backbone.blocks.{l}.ffn.proj_down.weight       (D, dff) wang(D, NB)
 *     backbone.out_norm.weight                       (D)      1
 *     lm_head.weight                                 (V, D)   small
 *
 *   Llama (transformers LlamaForCausalLM; models.md §2)
 *     model.embed_tokens.weight                      (V, D)   small, no decay
 *     model.layers.{l}.input_layernorm.weight        (D)      1
 *     model.layers.{l}.self_attn.{q,k,v}_proj.weight (NH*hd, D)  small
 *     model.layers.{l}.self_attn.o_proj.weight       (D, NH*hd)  wang(D, 2NB)
 *     model.layers.{l}.post_attention_layernorm.weight (D)    1
 *     model.layers.{l}.mlp.{gate,up}_proj.weight     (dff, D) small
 *     model.layers.{l}.mlp.down_proj.weight          (D, dff) wang(D, 2NB)
 *     model.norm.weight                              (D)      1
 *     lm_head.weight                                 (V, D)   small
 *   NOTE: sclaw's RoPE pairs interleaved features (x[2j], x[2j+1]) as in Meta's
 *   Llama code (models.md §2); Hugging Face pairs x[j] with x[j+hd/2]. Loading
 *   these q_proj/k_proj into transformers needs the usual row permutation
 *   (the one HF's convert_llama_weights_to_hf applies); every other tensor maps
 *   one to one.
 *
 * small = N(0, 2/(5D)); wang(D, n) = N(0, (2/(n sqrt(D)))^2). Weight decay
 * (models.md §1.5): every matrix except the embedding (all Dense kernels,
 * gates and LM head included); never norm scales or biases.
 *
 * Document boundaries (models.md §1.5, §2): a token is a border when its
 * segment id differs from the previous token's (position 0 always is). With
 * m->doc_reset (default on) xLSTM sets the forget-gate preactivation to -25
 * there (after the soft-cap, so no gradient flows through it), and Llama
 * restarts RoPE positions at 0 and masks attention across documents. A batch
 * without segment ids is one document per row.
 */
#ifndef SCLAW_MODEL_H
#define SCLAW_MODEL_H

#include <stdint.h>

#include "sclaw_arch.h"
#include "sclaw_config.h"
#include "sclaw_tensor.h"

#define SCLAW_NORM_EPS 1e-6f        /* every RMSNorm / LayerNorm (models.md §1.2) */
#define SCLAW_GATE_SOFTCAP 15.0f    /* mLSTM i/f gate soft-cap */
#define SCLAW_DOC_RESET_FGATE -25.0f /* forget preactivation at document borders */
#define SCLAW_ROPE_THETA 500000.0f  /* Llama RoPE base (scaling-law runs) */

/* One training/eval batch. inputs, targets: (B, T); a target < 0 is ignored.
 * seg: (B, T) document ids or NULL (one document per row). */
struct sclaw_lm_batch {
    int64_t B, T;
    const int32_t *inputs;
    const int32_t *targets;
    const int32_t *seg;
};

/* Byte counts of a run (before allocating). */
struct sclaw_mem_plan {
    double params, grads, optim, acts, total; /* bytes; optim = Adam m + v */
};

struct sclaw_model {
    struct sclaw_config cfg;
    const struct sclaw_arch *arch;
    struct sclaw_tensor_table tt;
    float *params, *grads;       /* [tt.numel] each */
    int64_t nbt;                 /* tensors per block (arch->block_ntensors) */
    float **lp, **lg;            /* [NB][nbt] flattened: lp[l*nbt + k] (views, built once) */
    float *emb, *out_norm, *head;        /* views into params */
    float *demb, *dout_norm, *dhead;     /* views into grads */
    int doc_reset;               /* apply document borders (default 1) */

    /* ---- activations, sized by sclaw_model_reserve ---- */
    int64_t B, T;                /* reserved batch shape (0 before reserve) */
    int64_t nB;                  /* rows of the current batch (<= B); blocks use nB x T */
    float *acts;                 /* the one activation block */
    int64_t acts_floats;
    float *resid;                /* (NB+1, B*T, D) residual stream */
    float *xf, *rstd_f;          /* final norm output (B*T, D), rstd (B*T) */
    float *dres, *dxf;           /* (B*T, D) backward stream and final-norm grad */
    float *logit_raw, *logit;    /* (R, V) head chunk: raw and capped / dlogits */
    float *losses;               /* (B*T) */
    int64_t head_rows;           /* R rows per head chunk */
    float *scratch;              /* shared block scratch */
    float **saved;               /* [NB] each block's saved buffer */
    void *views;                 /* [NB] arch views, block_view_bytes each */
    int32_t *tok, *tgt, *seg, *pos; /* (B*T) copies of the batch / derived */
    uint8_t *border;             /* (B*T) 1 at document borders */
    int has_seg;                 /* current batch has segment ids */
};

/* Views of one block's parameters and gradients (k in the family's order). */
static inline float *const *sclaw_model_lp(const struct sclaw_model *m, int64_t l)
{
    return m->lp + l * m->nbt;
}
static inline float *const *sclaw_model_lg(const struct sclaw_model *m, int64_t l)
{
    return m->lg + l * m->nbt;
}

/* The tensor table of a config (pure; the caller frees tt). */
int sclaw_model_table(const struct sclaw_config *c, struct sclaw_tensor_table *tt);
/* Memory of training this config at (B, T): params, grads, AdamW state and
 * activations (with_optim = 0 for evaluation). */
void sclaw_model_plan(const struct sclaw_config *c, int64_t B, int64_t T, int with_optim,
                      struct sclaw_mem_plan *p);

/* Build the table and allocate params and grads (zeroed, not initialised). */
int sclaw_model_init(struct sclaw_model *m, const struct sclaw_config *c);
/* Initialise params by the table's rules (models.md §1.3, §2). */
void sclaw_model_init_params(struct sclaw_model *m, uint64_t seed);
/* Allocate activations for batches of at most B sequences of exactly T tokens
 * (once per run; calling again with a different shape reallocates). */
int sclaw_model_reserve(struct sclaw_model *m, int64_t B, int64_t T);
/* Release everything (safe on a zeroed or half-built model). */
void sclaw_model_free(struct sclaw_model *m);

/* Mean cross-entropy over the batch's valid targets (nats/token), no
 * gradients. *ntok receives the number of valid targets (may be NULL). */
int sclaw_model_forward(struct sclaw_model *m, const struct sclaw_lm_batch *b, double *loss,
                        int64_t *ntok);
/* Forward and backward: zeroes m->grads, then fills them with the gradient of
 * the mean loss over the batch's valid targets. */
int sclaw_model_forward_backward(struct sclaw_model *m, const struct sclaw_lm_batch *b,
                                 double *loss, int64_t *ntok);

#endif
