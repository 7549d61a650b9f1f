/* sclaw_fit.h - scaling-law fits: run selection, the parametric loss L(N,D),
 * IsoFLOP parabolas and power laws, token/param-ratio slopes, the Pareto
 * frontier and compute-optimal tables (accounting-and-fits.md §4-§8, quirks §10).
 *
 * Data flow (what `sclaw fit ...` and `sclaw report paper` do):
 *
 *     struct sclaw_runs r;                       // rows of a paper-schema run table
 *     struct sclaw_runs_filter f = {0};          // everything: no filter
 *     f.model_type = "llama"; f.set = SCLAW_RUNS_SET_TOKENPARAM; f.ctx = 8192;
 *     sclaw_runs_load(&r, "data/paper/runs_all.csv", &f);
 *     struct sclaw_lnd_opts o; sclaw_lnd_opts_default(&o);  o.gamma_free = 1;
 *     struct sclaw_lnd_result res;
 *     sclaw_fit_lnd(r.N, r.D, r.loss, r.n, &o, &res);
 *     sclaw_runs_free(&r);
 *
 * Ownership: sclaw_runs_load allocates every array of struct sclaw_runs and
 * sclaw_runs_free releases them (safe on a zeroed struct). Result structs of
 * the fits are plain values, except where a function says it allocates.
 * All functions are re-entrant; sclaw_fit_lnd runs its initialisation grid on
 * OpenMP threads and its result does not depend on the thread count.
 *
 * Numbers: everything is double precision. N = num_params (all parameters),
 * D = num_tokens_training, C = num_flops_training (the repo's counting, §0),
 * loss = val_loss (nats). Logs in L(N,D) are natural; IsoFLOP parabolas are in
 * log10 of N or D (§5.2); power laws are fitted in natural logs (§5.3).
 */
#ifndef SCLAW_FIT_H
#define SCLAW_FIT_H

#include <stdint.h>

/* ======================================================================
 * Run selection (§4.4, §5.1)
 * ====================================================================== */

enum sclaw_runs_set {
    SCLAW_RUNS_SET_ALL = 0,     /* every experiment set */
    SCLAW_RUNS_SET_TOKENPARAM,  /* experiment_set == "tokenparam" */
    SCLAW_RUNS_SET_ISOFLOP      /* experiment_set == "isoflop" */
};

/* Row filter; a zeroed struct selects every usable row. */
struct sclaw_runs_filter {
    const char *model_type;   /* NULL: any; else "llama" or "mlstm_v1" ("xlstm" and
                                 "transformer" are accepted as aliases) */
    enum sclaw_runs_set set;
    int64_t ctx;              /* context_length; 0: any */
    int has_ratio;            /* 1: keep ratio_lo <= D/N <= ratio_hi */
    double ratio_lo, ratio_hi;
    /* 1: apply the paper's IsoFLOP filters of §5.1 to isoflop rows: only the
     * datasets isoflop_<llama|mlstm>_ctx<2048|8192|16384> (not the chinchilla
     * and batch-size ablations), then the per model/ctx loss, batch-size and
     * budget cuts and the duplicate removal. TokenParam rows are all kept.
     * Needs the columns dataset and global_batch_size. */
    int paper_filters;
};

/* Selected rows, in file order. Every array has n entries. */
struct sclaw_runs {
    int64_t n;
    char *path;               /* file the rows came from (messages) */
    double *N;                /* num_params */
    double *D;                /* num_tokens_training */
    double *C;                /* num_flops_training (NaN if absent and not computable) */
    double *C_tfla;           /* C with the xLSTM `tfla` cell formula (§2.3, used by §6 and
                                 §8): column num_flops_training_mlstm_tfla, else recomputed
                                 from the row's config; equals C for Llama rows */
    double *loss;             /* val_loss */
    int64_t *ctx;             /* context_length (0 if the column is absent) */
    char **model_type;        /* "llama" / "mlstm_v1" */
    char **experiment_set;    /* "tokenparam" / "isoflop" ("" if absent) */
    char **model_size;        /* TokenParam size label ("160M", "7B long"; "" if none) */
    double *budget;           /* IsoFLOP budget label of §5.1 computed from C (6e18 ...), or,
                                 when C is outside the paper's categories, the numeric
                                 isoflop_budget_tag column (studies sclaw planned);
                                 NaN for "extra" and for non-IsoFLOP rows */
    double *ratio_label;      /* preset token/param ratio label of §5.1 (22 ... 2200),
                                 NaN for "extra" */
    int64_t *line;            /* file line of the row (1-based, header = 1) */
};

/* Load a run table in the paper schema (data/paper/README.md). Required
 * columns: model_type, num_params, num_tokens_training, val_loss. Rows whose
 * N, D or loss cell is empty (failed or unfinished runs) are skipped; a
 * non-numeric or non-positive value is an error naming file:line and the
 * column. Optional columns: experiment_set, context_length,
 * num_flops_training, num_flops_training_mlstm_tfla, model_size, dataset,
 * global_batch_size, and the config columns (to recompute C when empty).
 * Zero selected rows is not an error (r->n == 0). f may be NULL. */
int sclaw_runs_load(struct sclaw_runs *r, const char *path, const struct sclaw_runs_filter *f);
void sclaw_runs_free(struct sclaw_runs *r);
/* Parse "tokenparam" | "isoflop" | "all"; -1 if unknown. */
int sclaw_runs_set_parse(const char *s);
/* Canonical model type for "llama"/"transformer"/"mlstm_v1"/"xlstm"/"mlstm";
 * NULL if unknown. */
const char *sclaw_runs_model_type(const char *s);

/* The repo's round_to_catgorical_vals (§5.1, quirk §10.10): among categories
 * with |cat - x| < frac*cat, the one minimising | frac*cat - |cat - x| |;
 * NaN ("extra") when none is in range. cats: [n]. */
double sclaw_round_to_category(double x, const double *cats, int64_t n, double frac);
/* IsoFLOP budget label of a run with compute C: categories
 * {6e18,1e19,3e19,1e20,6e20,3e21}, frac 0.1. NaN = "extra". */
double sclaw_isoflop_budget_label(double C);
/* Preset token/param ratio label (categories {22,44,110,220,550,1100,2200},
 * frac 0.07 for IsoFLOP rows, 0.18 for TokenParam rows) with the repo's
 * manual override: the xLSTM TokenParam run at D/N = 51.1 is "extra". */
double sclaw_ratio_label(double ratio, int tokenparam, const char *model_type);

/* ======================================================================
 * Parametric loss L(N,D) (§4)
 * ====================================================================== */

/* Log-parameters: A = e^a, B = e^b, E = e^e. gamma = 1 when not fitted. */
struct sclaw_lnd_params {
    double a, b, e, alpha, beta, gamma;
};

/* Huber loss of §4.2: 0.5 x^2 for |x| <= delta, delta (|x| - delta/2) beyond. */
double sclaw_huber(double x, double delta);
/* Its derivative (x clipped to [-delta, delta]). */
double sclaw_huber_grad(double x, double delta);

/* Predicted loss  L = E + (A N^-alpha + B D^-beta)^gamma  (§4.1). */
double sclaw_lnd_predict(const struct sclaw_lnd_params *p, double N, double D);
/* log L_hat in the paper's log-sum-exp form:
 * LSE(gamma * LSE(a - alpha ln N, b - beta ln D), e). */
double sclaw_lnd_log_predict(const struct sclaw_lnd_params *p, double N, double D);
/* Objective of §4.2: sum_i huber_delta(ln L_i - log L_hat(N_i, D_i)).
 * If grad is non-NULL it receives d obj / d(a, b, e, alpha, beta, gamma)
 * (analytic; grad[5] is the gamma derivative even when gamma is fixed).
 * N, D, L: [n]. */
double sclaw_lnd_objective(const struct sclaw_lnd_params *p, const double *N, const double *D,
                           const double *L, int64_t n, double delta, double grad[6]);

/* The paper's initialisation grid (§4.3) in numpy meshgrid('xy').T.reshape
 * order: a, b in {0,5,10,15,20}, e in {-1,-0.5,0,0.5,1}, alpha, beta in
 * {0,0.2,0.5,1} (2000 points), times gamma in {0,0.5,1,1.5} when gamma is free
 * (8000 points; gamma = 1 otherwise). Returns the number of points; fills
 * out[] when out is non-NULL (capacity 8000). */
int64_t sclaw_lnd_grid(int gamma_free, struct sclaw_lnd_params *out);

struct sclaw_lnd_opts {
    double delta;                           /* Huber delta (default 1e-3) */
    int gamma_free;                         /* 1: fit gamma; 0: gamma = 1 (default) */
    const struct sclaw_lnd_params *inits;   /* NULL: the paper's grid */
    int64_t n_inits;                        /* entries of inits */
    int64_t bootstrap;                      /* K resamples for intervals; 0: none */
    uint64_t seed;                          /* bootstrap seed */
    int threads;                            /* OpenMP threads; 0: the current default */
    int64_t max_iter;                       /* L-BFGS iterations per init (default 2000) */
    /* Optional progress report, called from the calling thread (never
     * concurrently) with the L-BFGS runs finished so far, grid and bootstrap
     * together, out of total. The callee rate-limits its own output. */
    void (*progress)(int64_t done, int64_t total, void *user);
    void *progress_user;
};
void sclaw_lnd_opts_default(struct sclaw_lnd_opts *o);

/* Percentile intervals (2.5%, 97.5%) of the bootstrap, in this order. */
enum sclaw_lnd_ci {
    SCLAW_LND_CI_A_LOG = 0, /* a */
    SCLAW_LND_CI_B_LOG,     /* b */
    SCLAW_LND_CI_E_LOG,     /* e */
    SCLAW_LND_CI_ALPHA,
    SCLAW_LND_CI_BETA,
    SCLAW_LND_CI_GAMMA,
    SCLAW_LND_CI_A,         /* A = e^a */
    SCLAW_LND_CI_B,
    SCLAW_LND_CI_E,
    SCLAW_LND_CI_A_OPT,     /* beta / (alpha + beta): N_opt ~ C^a_opt (Chinchilla) */
    SCLAW_LND_CI_B_OPT,     /* alpha / (alpha + beta): D_opt ~ C^b_opt */
    SCLAW_LND_NCI
};
/* JSON/table names of the interval entries: "a", "b", "e", "alpha", "beta",
 * "gamma", "A", "B", "E", "a_opt", "b_opt". */
extern const char *const sclaw_lnd_ci_names[SCLAW_LND_NCI];

struct sclaw_lnd_result {
    struct sclaw_lnd_params p;   /* best fit: lowest objective, ties -> lowest init index */
    double A, B, E;
    double objective;
    int64_t n_points;
    int64_t n_inits;             /* starting points tried */
    int64_t n_converged;         /* of those, runs that ended on a convergence test */
    int64_t best_init;           /* index of the init that gave p */
    int best_converged;          /* 1 if the best run itself converged */
    /* bootstrap (opts.bootstrap > 0): each resample (n draws with replacement,
     * seeded by (seed, k)) is fitted from the best full-data fit */
    int64_t n_bootstrap;         /* resamples fitted */
    int64_t n_bootstrap_failed;  /* resamples whose fit did not converge (kept) */
    double ci_lo[SCLAW_LND_NCI], ci_hi[SCLAW_LND_NCI];
};

/* Fit L(N,D) to n >= 3 points (N, D, L: [n], all finite and > 0): one L-BFGS
 * run (analytic gradient) from every initial point, best by objective. An
 * error (SCLAW_E_NUMERIC) only when no run gives a finite objective; runs
 * that stop without meeting a convergence test are counted, not hidden. */
int sclaw_fit_lnd(const double *N, const double *D, const double *L, int64_t n,
                  const struct sclaw_lnd_opts *o, struct sclaw_lnd_result *r);

/* ======================================================================
 * IsoFLOP analysis (§5.2, §5.3)
 * ====================================================================== */

/* One budget's parabola  y = c2 x^2 + c1 x + c0,  x = log10(N or D), y = loss. */
struct sclaw_isoflop_budget {
    double budget;      /* label (6e18 ...) */
    double flops_mean;  /* mean C of the budget's runs: its x-coordinate in §5.3 */
    int64_t n_runs;
    double poly[3];     /* c2, c1, c0 */
    double x_opt;       /* 10^(-c1 / (2 c2)) */
    double loss_opt;    /* parabola value there */
};

/* Group runs by budget label (NaN labels are ignored), fit one parabola per
 * budget by exact linear least squares, budgets in increasing order. Budgets
 * with fewer than 3 runs are skipped with a sclaw_warn naming the budget; a
 * parabola that opens downwards (c2 <= 0) is kept and warned about (x_opt is
 * then a maximum). x, loss, C, budget: [n]; out: capacity n.
 * *n_out = number of budgets written. */
int sclaw_fit_isoflop(const double *x, const double *loss, const double *C, const double *budget,
                      int64_t n, struct sclaw_isoflop_budget *out, int64_t *n_out);

/* y = coef * x^exponent, by ordinary least squares of ln y on ln x (§5.3). */
struct sclaw_power_law {
    double coef, exponent;
    int64_t n;          /* points used */
};
/* x, y: [n], all > 0, n >= 2 with at least two distinct x. */
int sclaw_fit_power_law(const double *x, const double *y, int64_t n, struct sclaw_power_law *r);
/* Power law x_opt(flops_mean) over the budgets with lo <= flops_mean <= hi
 * (lo = 0, hi = INFINITY: all). Error if fewer than 2 budgets are in the window. */
int sclaw_isoflop_power_law(const struct sclaw_isoflop_budget *b, int64_t nb, double lo, double hi,
                            struct sclaw_power_law *r);

/* Bootstrap of the IsoFLOP power law (study reports): K resamples, each
 * drawing, within every budget, as many runs as the budget has, with
 * replacement; each resample refits every budget's parabola and the power law
 * x_opt(flops_mean) over all budgets. Resample k draws from a splitmix64
 * stream seeded by (seed, k) alone, so the result is deterministic and the
 * same seed draws the same runs for x = N and for x = D (the arrays are
 * grouped identically). Budgets are those sclaw_fit_isoflop keeps (>= 3 runs)
 * whose parabola on the data opens upwards: unlike sclaw_isoflop_power_law
 * (the paper's procedure), a budget whose vertex is a maximum is left out of
 * the law, and counted in n_concave. A resample (refitting those budgets) is
 *   ok         every budget's parabola opens upwards and the law is finite,
 *   nonconvex  some budget's parabola has c2 <= 0 (its vertex is a maximum),
 *   failed     some budget drew fewer than 3 distinct x (no parabola).
 * Intervals are the 2.5% and 97.5% percentiles (linear interpolation, as
 * numpy.percentile) over the ok resamples; NaN when fewer than 2 are ok. */
struct sclaw_isoflop_boot {
    struct sclaw_power_law law;  /* fit to the data itself (all budgets) */
    int64_t n_budgets;           /* budgets in the law: >= 3 runs, convex on the data */
    int64_t n_concave;           /* budgets with >= 3 runs left out: c2 <= 0 on the data */
    int64_t n_resamples;         /* K */
    int64_t n_ok, n_nonconvex, n_failed;
    double exponent_lo, exponent_hi;
    double coef_lo, coef_hi;
};
/* x, loss, C, budget: [n] as for sclaw_fit_isoflop (NaN budget = ignored).
 * Needs >= 2 budgets with >= 3 runs and a convex parabola (SCLAW_E_ARG
 * otherwise, naming how many budgets open downwards). samples, if not
 * NULL, receives [K][2] (coef, exponent) per resample, NaN where not ok.
 * Nothing is warned about: the counts say what happened. */
int sclaw_isoflop_bootstrap(const double *x, const double *loss, const double *C,
                            const double *budget, int64_t n, int64_t K, uint64_t seed,
                            struct sclaw_isoflop_boot *r, double *samples);
/* The q-th percentile (0..100) of v[n] with linear interpolation between
 * order statistics (numpy's default); v is sorted in place. NaN if n == 0. */
double sclaw_percentile(double *v, int64_t n, double q);

/* ======================================================================
 * Token/param-ratio slopes (§6)
 * ====================================================================== */

/* L(C) = lambda C^-eta for the runs of one preset ratio. */
struct sclaw_slope {
    double ratio;       /* preset ratio label */
    double eta, lambda;
    int64_t n_runs;
};
/* Group by ratio label (NaN = "extra" ignored), fit ln L = -eta ln C + ln lambda
 * per group by least squares, groups in increasing ratio. Groups with fewer
 * than 2 runs (or one distinct C) are skipped with a sclaw_warn; a label that
 * is not one of the repo's categories is an error. The paper's x is C_tfla
 * for xLSTM (§6). C, loss, ratio_label: [n]; out: capacity n. */
int sclaw_fit_slopes(const double *C, const double *loss, const double *ratio_label, int64_t n,
                     struct sclaw_slope *out, int64_t *n_out);

/* ======================================================================
 * Pareto frontier (§8)
 * ====================================================================== */

/* The paper's frontier of points (C_i, L_i): add the point (max C, max L),
 * take Andrew's monotone-chain convex hull in linear coordinates (sort by C
 * then L; pop while cross <= 0; hull = lower[:-1] + upper[:-1]) and drop the
 * hull's last vertex. idx_out (capacity n + 1) receives the frontier in hull
 * order as indices into the input; the added point is index n. C, L: [n]. */
int sclaw_pareto_frontier(const double *C, const double *L, int64_t n, int64_t *idx_out,
                          int64_t *n_out);

/* ======================================================================
 * Compute-optimal tables (§7)
 * ====================================================================== */

struct sclaw_optimal_row {
    double N;      /* model size */
    double C;      /* C*(N) = (N / A')^(1/a) */
    double D;      /* D*(N) = B' C*^b (not C / 6N) */
    double ratio;  /* D* / N */
};
/* Invert N*(C) = n_law and evaluate D*(C) = d_law at N[i] (Chinchilla approach 2).
 * Self-check: n_law at C* must give N back to 1e-10 relative, else
 * SCLAW_E_NUMERIC. N: [n] (> 0); out: [n]. */
int sclaw_optimal_table(const struct sclaw_power_law *n_law, const struct sclaw_power_law *d_law,
                        const double *N, int64_t n, struct sclaw_optimal_row *out);

#endif
