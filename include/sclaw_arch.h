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
 *   3. one line in the table in src/models/arch.c;
 *   4. tests/test_foo.c.
 * Nothing else changes.
 */
#ifndef SCLAW_ARCH_H
#define SCLAW_ARCH_H

#include "sclaw_account.h"
#include "sclaw_config.h"

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
};

extern const struct sclaw_arch sclaw_arch_mlstm;
extern const struct sclaw_arch sclaw_arch_llama;

/* Look a family up by name or alias; NULL if unknown. */
const struct sclaw_arch *sclaw_arch_find(const char *name);
/* All families, NULL-terminated. */
extern const struct sclaw_arch *const sclaw_archs[];

#endif
