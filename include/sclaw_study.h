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
 * multiple of 16 (from 32), num_blocks = d/64 + 2, heads per family (struct
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
/* The expected compute-optimal size at budget C, the default centre of an
 * IsoFLOP spread: N = sqrt(C / 120), i.e. 20 tokens per parameter at 6ND. */
double sclaw_study_expected_nopt(const struct sclaw_arch *a, double C);

int sclaw_plan_isoflop(struct sclaw_plan *p, const struct sclaw_plan_opts *o);
int sclaw_plan_tokenparam(struct sclaw_plan *p, const struct sclaw_plan_opts *o);
/* Save atomically / load and validate (errors name the file and the run). */
int sclaw_plan_save(const struct sclaw_plan *p, const char *path);
int sclaw_plan_load(struct sclaw_plan *p, const char *path);
json_t *sclaw_plan_to_json(const struct sclaw_plan *p);
void sclaw_plan_free(struct sclaw_plan *p);

/* ---- running a plan -------------------------------------------------------
 * A study directory DIR holds plan.json (a copy of the plan), configs/<run>.json,
 * logs/<run>.log and one run directory DIR/<run>/ per planned run, written by
 * `sclaw train` (RUNDIR layout: config.json, model.safetensors, log.csv,
 * result.json). A run is finished exactly when DIR/<run>/result.json parses,
 * holds a finite val_loss and the planned num_train_steps: result.json is
 * written atomically as the trainer's last act, so a killed run is never taken
 * for a finished one. */
enum sclaw_run_state {
    SCLAW_RUN_PENDING = 0,  /* no run directory yet */
    SCLAW_RUN_PARTIAL,      /* started, not finished: resumed from its checkpoint */
    SCLAW_RUN_FINISHED,     /* result.json complete */
    SCLAW_RUN_CORRUPT       /* result.json present but unreadable or incomplete */
};

struct sclaw_run_status {
    enum sclaw_run_state state;
    int64_t step;           /* last logged step (partial runs), steps (finished) */
    double val_loss;        /* finished runs */
    char problem[256];      /* why a run is corrupt */
};

/* State of every run of plan p in directory dir; st: [p->nruns]. */
int sclaw_study_scan(const struct sclaw_plan *p, const char *dir, struct sclaw_run_status *st);
const char *sclaw_run_state_str(enum sclaw_run_state s);

struct sclaw_study_progress {
    int64_t runs_total, runs_done, runs_running, runs_failed;
    double flops_total, flops_done;  /* planned training FLOPs, and of finished + partial work */
    double seconds;                   /* since the start of this invocation */
    double flops_per_s;               /* rate of this invocation */
    const char *event;                /* a one-line event ("run X failed ...") or NULL */
};
typedef void (*sclaw_study_progress_fn)(const struct sclaw_study_progress *pr, void *user);

struct sclaw_study_opts {
    const char *sclaw;       /* path of the sclaw executable that trains (`sclaw train`) */
    const char *data;        /* token dataset directory (overrides the plan's) */
    int jobs;                /* runs trained at once (default 1) */
    int threads;             /* threads in all (default: one per core), split over jobs */
    int rank, nranks;        /* this process takes runs i with i % nranks == rank */
    volatile int *stop;      /* set to non-zero (e.g. by a signal) to stop: children get
                                SIGTERM and the call returns SCLAW_E_INTERRUPTED */
    sclaw_study_progress_fn progress;
    void *user;
};

/* Train every unfinished run of the plan into dir (finished runs are skipped,
 * partial ones resumed). A failed run does not stop the others; the call then
 * returns SCLAW_E_NUMERIC naming the failed runs and their logs. */
int sclaw_study_run(const struct sclaw_plan *p, const char *dir, const struct sclaw_study_opts *o);
/* This process's share of the runs under Open MPI's mpirun (from
 * OMPI_COMM_WORLD_RANK/SIZE, or PMI_RANK/PMI_SIZE); rank 0 of 1 otherwise. */
void sclaw_study_mpi_share(int *rank, int *nranks);

/* Collect the finished runs of a study into a run table in the paper's CSV
 * schema (data/paper/README.md), readable by every `sclaw fit` command.
 * Unfinished and corrupt runs are reported through sclaw_warn and skipped;
 * *n_collected receives the number of rows. */
int sclaw_study_collect(const char *dir, const char *out_csv, int64_t *n_collected);

#endif
