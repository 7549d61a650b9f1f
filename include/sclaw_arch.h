/* sclaw_arch.h - the table of model families.
 *
 * Each family (xLSTM = "mlstm_v1", Llama = "llama") is one constant
 * struct sclaw_arch holding what differs between families: how a config's
 * derived dimensions are computed and how its parameters, FLOPs and bytes are
 * counted. Code outside a family's own files never tests the family by name;
 * it calls through this table.
 *
 * How to add an architecture "foo":
 *   1. src/models/foo.c defines `const struct sclaw_arch sclaw_arch_foo` and its
 *      derive function (defaults, derived dimensions, validation);
 *   2. src/account/count_foo.c holds its accounting (params, FLOPs, inference);
 *   3. the same file src/models/foo.c fills the model ops below (block tensor
 *      table, activation sizes, block forward/backward); the shared LM code in
 *      src/models/lm.c (embedding, block stack, final norm, head, loss,
 *      sclaw_model.h) calls them and never looks at the family;
 *   4. one line in the table in src/models/arch.c;
 *   5. tests/test_foo.c.
 * Nothing else changes.
 */
#ifndef SCLAW_ARCH_H
#define SCLAW_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "sclaw_account.h"
#include "sclaw_config.h"

struct sclaw_model;
struct sclaw_tensor_table;
struct sclaw_infer_ops;

struct sclaw_arch {
    const char *name;     /* model_type as in the run tables: "mlstm_v1" */
    const char *alias;    /* accepted alternative name or NULL: "xlstm" */
    const char *display;  /* for people: "xLSTM" */
    /* Config keys only this family accepts (NULL-terminated). */
    const char *const *own_keys;
    /* Fill defaults for keys left at 0, derive dimensions, validate. */
    int (*derive)(struct sclaw_config *c, const char *where);
    /* Heads of a model of width d in sclaw's scaled-down study family
     * (models.md §5.3): xLSTM d_v = 128 (NH = d/128), Llama head_dim 64. */
    int64_t (*study_heads)(int64_t d);
    /* Accounting (accounting-and-fits.md §1-§3). */
    void (*count_params)(const struct sclaw_config *c, struct sclaw_params *p);
    void (*count_flops)(const struct sclaw_config *c, double T, const struct sclaw_flop_opts *o,
                        struct sclaw_flops *f);
    void (*count_infer)(const struct sclaw_config *c, const struct sclaw_infer_opts *o,
                        struct sclaw_infer_acct *r);

    /* ---- model ops (sclaw_model.h; models.md §1.2-§1.3, §2, §3.7) ----------
     * Append block l's tensors to the table (names, shapes, decay flags, init
     * rules), exactly block_ntensors of them, always in the same order: the
     * block functions find their weights as m->lp[l][k] in that order. */
    int (*add_block_tensors)(const struct sclaw_config *c, int64_t l,
                             struct sclaw_tensor_table *tt);
    int64_t block_ntensors;
    /* Checkpoint names of the tensors outside the blocks (sclaw_model.h). */
    const char *embedding_name, *out_norm_name;
    /* Fail (SCLAW_E_ARG) for configs the family's training code cannot run
     * (e.g. grouped-query attention); NULL if every derived config works. */
    int (*check_trainable)(const struct sclaw_config *c);
    /* Peak learning rate of the paper's runs for this size (models.md §1.5). */
    double (*default_lr)(const struct sclaw_config *c);
    /* Output-logit soft-cap (30 for xLSTM, 0 = none for Llama). */
    double logit_softcap;
    /* Floats one block saves for backward, and floats of scratch shared by all
     * blocks (temporaries and kernel workspaces), for B sequences of T tokens. */
    int64_t (*block_saved)(const struct sclaw_config *c, int64_t B, int64_t T);
    int64_t (*block_scratch)(const struct sclaw_config *c, int64_t B, int64_t T);
    /* Per-block view: block_view_bytes of family-defined pointers into the
     * block's saved buffer and the shared scratch, built once by block_bind
     * when activations are reserved, so no pass redoes pointer arithmetic. */
    size_t block_view_bytes;
    void (*block_bind)(const struct sclaw_config *c, int64_t B, int64_t T, float *saved,
                       float *scratch, void *view);
    /* x, y: (B*T, D). Forward: y = block(x), saving what backward needs.
     * Backward: on entry dxy = dL/dy, on exit dL/dx; parameter gradients are
     * accumulated (+=) into m->lg[l][k]. */
    void (*block_forward)(const struct sclaw_model *m, int64_t l, const void *view,
                          const float *x, float *y);
    void (*block_backward)(const struct sclaw_model *m, int64_t l, const void *view,
                           const float *x, float *dxy);
    /* Inference ops (sclaw_infer.h, src/infer/<family>_infer.c); NULL: none. */
    const struct sclaw_infer_ops *infer;
};

extern const struct sclaw_arch sclaw_arch_mlstm;
extern const struct sclaw_arch sclaw_arch_llama;
extern const struct sclaw_infer_ops sclaw_infer_ops_mlstm, sclaw_infer_ops_llama;

/* Look a family up by name or alias; NULL if unknown. */
const struct sclaw_arch *sclaw_arch_find(const char *name);
/* All families, NULL-terminated. */
extern const struct sclaw_arch *const sclaw_archs[];

#endif
