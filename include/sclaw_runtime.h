/* sclaw_runtime.h - runtime models of inference fitted to measured timings.
 *
 * Implements accounting-and-fits.md §3.5 (model_accounting/inference_time_model
 * in the paper's repository): a measured time-to-first-token (TTFT) or
 * generation step time is explained by the FLOPs F and memory bytes M of the
 * step (§3.3, §3.4, from sclaw_count_infer) and a few hardware constants:
 *
 *   linear_flops             t = F/alpha + eps
 *   linear_memops            t = M/beta + eps + B*eps_bp
 *   linear_sum_flops_memops  t = F/alpha + M/beta + eps
 *   roofline                 t = F/min(alpha, beta*AI) + eps,   AI = F/M
 *                              (= max(F/alpha, M/beta) + eps: the repo's
 *                              attainable_flops_min and linear_max_flops_memops)
 *   log_<form>               log(t) fitted to log(measured)
 *
 * alpha is the attainable FLOP/s, beta the attainable bytes/s, eps a constant
 * overhead in seconds, eps_bp an overhead per sequence of the batch (B).
 * Times are fitted in milliseconds, as the paper does.
 *
 * Objective (exactly the paper's): scipy least_squares on the residuals
 * r_i = huber(pred_ms_i - meas_ms_i, delta) (log modes: log pred_ms - log
 * meas_ms), i.e. minimise 0.5 * sum_i huber(r_i)^2 with
 * huber(x) = 0.5 x^2 for |x| <= delta, delta*(|x| - delta/2) beyond. Note the
 * Huber value itself is squared: for small residuals this is sum x^4 / 8.
 * The solver is Levenberg-Marquardt in double precision, in well-scaled
 * variables (inverse rates alpha0/alpha, beta0/beta and overheads over their
 * initial values), with an analytic Jacobian.
 *
 * Data: a CSV in the schema of the paper's inference tables (data/paper/
 * README.md: inference_xlstm.csv, inference_llama2.csv). One fit per model_tag.
 * Rows with prefill 0 and rows whose target time is missing (<= 0 or empty)
 * are skipped, as the paper does.
 *
 * Deliberate differences from the repository (spec §10.9, §10.13):
 * *   - fits use the plain data by default; sclaw_rt_bootstrap gives the
 *     repo's resample (seed 0) for reproducing the paper's numbers;
 *   - Llama step FLOPs are per generated token (total over T_gen=100 / 100),
 *     like the step bytes; the repo mixes totals and per-token values, which
 *     only matters for modes that use F on step times (the paper fits bytes);
 *   - log_roofline is log(max(F/alpha, M/beta) + eps); the repo's
 *     log_attainable_flops_min has no eps.
 */
#ifndef SCLAW_RUNTIME_H
#define SCLAW_RUNTIME_H

#include <stdint.h>

#include "sclaw_config.h"

/* Which measured time is modelled. */
enum sclaw_rt_target { SCLAW_RT_TTFT = 0, SCLAW_RT_STEPTIME };

/* Functional forms; SCLAW_RT_LOG may be or'ed onto any of them. */
enum sclaw_rt_mode {
    SCLAW_RT_LINEAR_FLOPS = 0,
    SCLAW_RT_LINEAR_MEMOPS,
    SCLAW_RT_LINEAR_SUM,
    SCLAW_RT_ROOFLINE,
    SCLAW_RT_NFORMS,
    SCLAW_RT_LOG = 0x10,
};

/* One measurement: a model at batch B and prefill T with its accounting. */
struct sclaw_rt_point {
    double batch;    /* B */
    double prefill;  /* T */
    double flops;    /* F of the timed step (TTFT or one generation step) */
    double bytes;    /* M of the timed step */
    double meas_ms;  /* measured time in ms */
    int64_t line;    /* CSV line, for messages */
};

/* The usable points of one model_tag. */
struct sclaw_rt_group {
    char model_tag[64];
    struct sclaw_config config;  /* the model of the first row */
    int64_t n;
    struct sclaw_rt_point *pts;  /* [n] */
};

/* All groups of one file for one target. Groups keep the file's order. */
struct sclaw_rt_data {
    char *path;
    enum sclaw_rt_target target;
    int64_t ngroups;
    struct sclaw_rt_group *groups;  /* [ngroups] */
};

struct sclaw_rt_read_opts {
    double min_batch;        /* keep rows with batchsize >= this (paper Llama steps: 8) */
    const char *model_tag;   /* keep only this model_tag (NULL: all) */
};

/* Read an inference table and build each usable row's accounting. Errors:
 * a missing column ("PATH: missing column 'ttft'"), a bad cell (names the
 * line), an unknown model_type, a model_tag filter that matches no row, or no
 * usable row at all. Free with sclaw_rt_data_free. */
int sclaw_rt_read(struct sclaw_rt_data *d, const char *path, enum sclaw_rt_target target,
                  const struct sclaw_rt_read_opts *o);
void sclaw_rt_data_free(struct sclaw_rt_data *d);

/* Parameters of a runtime model; NAN where the mode has no such parameter. */
struct sclaw_rt_params {
    double alpha;   /* FLOP/s */
    double beta;    /* bytes/s */
    double eps;     /* s */
    double eps_bp;  /* s per sequence */
};

struct sclaw_rt_fit_opts {
    double delta;                 /* Huber delta (ms, or log-ms in log modes) */
    struct sclaw_rt_params init;  /* initial values; NAN: sclaw_rt_default_init's */
    int64_t max_iter;             /* 0: 2000 */
    double tol;                   /* relative step/objective tolerance; 0: 1e-15 */
};

struct sclaw_rt_fit {
    struct sclaw_rt_params p;  /* fitted values (NAN where unused) */
    int64_t n_points;
    double objective;          /* 0.5 * sum huber(r)^2 at the solution */
    double rms_rel;            /* sqrt(mean((pred/meas - 1)^2)) in linear time */
    int64_t iterations;
    int converged;             /* 0: stopped at max_iter */
    int identifiable;          /* 0: the data do not determine all parameters */
};

/* Mode names: "linear_flops", "linear_memops", "linear_sum_flops_memops",
 * "roofline" (aliases "attainable_flops_min", "linear_max_flops_memops"),
 * each optionally prefixed "log_". Returns -1 if unknown. */
int sclaw_rt_mode_parse(const char *s);
const char *sclaw_rt_mode_name(int mode);
int sclaw_rt_target_parse(const char *s);  /* "ttft", "steptime"; -1 if unknown */
const char *sclaw_rt_target_name(enum sclaw_rt_target t);
/* Which parameters a mode fits (1) or not (0). */
void sclaw_rt_mode_uses(int mode, int *alpha, int *beta, int *eps, int *eps_bp);

/* The paper's initial values (§3.5): TTFT alpha 0.9*900e12 (xLSTM) or
 * 0.39*900e12 (Llama), eps 2e-3 / 1e-3, eps_bp 1e-6 / 1e-5; step time beta
 * 3.35e12, eps 1e-4, eps_bp 1e-5; beta in TTFT and alpha in step-time modes
 * take the other target's value. */
void sclaw_rt_default_init(const struct sclaw_config *c, enum sclaw_rt_target target,
                           struct sclaw_rt_params *p);

/* Predicted time of one point in ms (linear time, also for log modes). */
double sclaw_rt_predict_ms(int mode, const struct sclaw_rt_params *p, const struct sclaw_rt_point *x);

/* Huber function of the paper (delta == 0: |x|). */
double sclaw_rt_huber(double x, double delta);

/* Fit a mode to n points. Inits left NAN come from sclaw_rt_default_init(c)
 * (c == NULL: the Llama values).
 * Errors: SCLAW_E_ARG (no points, bad delta, an init that gives a
 * non-positive time in a log mode), SCLAW_E_NUMERIC (non-finite objective).
 * A fit that stops at max_iter or whose parameters are not identifiable is
 * returned with converged/identifiable = 0 (the caller warns). */
int sclaw_rt_fit(const struct sclaw_rt_point *pts, int64_t n, const struct sclaw_config *c,
                 enum sclaw_rt_target target, int mode, const struct sclaw_rt_fit_opts *o,
                 struct sclaw_rt_fit *out);

/* ---- the paper's bootstrap resample (quirk §10.9) -------------------------
 * The repo fits the rows that pandas' df.sample(n, replace=True,
 * random_state=numpy.random.default_rng(seed)) draws (seed 0 by default);
 * these reproduce numpy's PCG64/SeedSequence stream bit for bit. */
/* idx: (n) the row positions drawn, each in [0, n). */
int sclaw_rt_bootstrap_indices(int64_t n, uint64_t seed, int64_t *idx);
/* A resampled copy of pts (n points, in the drawn order); *out is malloc'ed. */
int sclaw_rt_bootstrap(const struct sclaw_rt_point *pts, int64_t n, uint64_t seed,
                       struct sclaw_rt_point **out);

#endif
