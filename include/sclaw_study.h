/* sclaw_study.h - scaling studies: plans of training runs from a compute budget.
 *
 * A plan is a readable, editable JSON file listing the runs of a study; each
 * run has a name, a model config (sclaw_config.h), and its training length and
 * optimisation settings:
 *
 *   {"kind": "isoflop", "data": "out/data", "context_length": 512, ...,
 *    "runs": [{"name": "xlstm-1e14-d128", "budget": 1e14, "config": {...},
 *              "steps": 310, "batch": 16, "lr": 0.003, "warmup": 31, "seed": 0,
 *              "num_params": ..., "num_tokens_training": ..., "num_flops_training": ...},
 *             ...]}
 *
 * IsoFLOP plans (accounting-and-fits.md §2.6): for every budget C and family, a
 * spread of model shapes around the expected compute-optimal size, each with
 * the step count that makes its exact training FLOPs (sclaw_account.h, the
 * repo's counting) hit C; a shape whose rounded step count misses C by more
 * than 1% or that would train for too few steps is left out with a warning.
 * Token/param plans: for every shape and token/parameter ratio M, the steps
 * giving D = M * N tokens.
 *
 * Shapes come from sclaw's scaled-down family (models.md §5.3): width d a
 * multiple of 64, num_blocks = d/64 + 2, heads per family (struct
 * sclaw_arch.study_heads), derived sizes by the config rules.
 */
#ifndef SCLAW_STUDY_H
#define SCLAW_STUDY_H

#include <stdint.h>

#include "sclaw_arch.h"
#include "sclaw_config.h"

struct sclaw_plan_run {
    char name[128];
    struct sclaw_config config;
    double budget;      /* IsoFLOP target C, 0 if none */
    double ratio;       /* token/param target, 0 if none */
    int64_t steps, batch, warmup, seed;
    double lr;
    /* exact accounting of the planned run */
    double num_params, num_tokens_training, num_flops_training;
};

struct sclaw_plan {
    char kind[16];      /* "isoflop" or "tokenparam" */
    char data[1024];    /* token dataset directory ("" if not given) */
    int64_t nruns, cap;
    struct sclaw_plan_run *runs;
};

struct sclaw_plan_opts {
    const double *budgets;   /* isoflop: target FLOPs */
    int64_t nbudgets;
    const double *ratios;    /* tokenparam: D/N targets */
    int64_t nratios;
    const int64_t *widths;   /* tokenparam: model widths d */
    int64_t nwidths;
    const struct sclaw_arch *const *archs;
    int64_t narchs;
    int64_t ctx;             /* context length T */
    int64_t vocab;           /* vocabulary size V */
    int64_t points;          /* isoflop: shapes per budget and family (default 5) */
    int64_t batch;           /* sequences per step (default 16) */
    double lr;               /* peak learning rate (default 3e-3) */
    int64_t warmup;          /* warmup steps (default: 10% of the run) */
    int64_t seed;
    double center;           /* isoflop: expected optimal N; 0 = paper power law */
    int64_t min_steps;       /* shortest run allowed (default 20) */
    const char *data;        /* dataset directory recorded in the plan */
};

/* The config of the study family at width d (models.md §5.3). */
int sclaw_study_shape(struct sclaw_config *c, const struct sclaw_arch *a, int64_t d, int64_t vocab,
                      int64_t ctx);
/* The paper's ctx-8192 IsoFLOP power law N*(C) = A' C^a of a family (§5.3),
 * used as the default centre of an IsoFLOP spread. */
double sclaw_study_expected_nopt(const struct sclaw_arch *a, double C);

int sclaw_plan_isoflop(struct sclaw_plan *p, const struct sclaw_plan_opts *o);
int sclaw_plan_tokenparam(struct sclaw_plan *p, const struct sclaw_plan_opts *o);
/* Save atomically / load and validate (errors name the file and the run). */
int sclaw_plan_save(const struct sclaw_plan *p, const char *path);
int sclaw_plan_load(struct sclaw_plan *p, const char *path);
json_t *sclaw_plan_to_json(const struct sclaw_plan *p);
void sclaw_plan_free(struct sclaw_plan *p);

#endif
