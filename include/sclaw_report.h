/* sclaw_report.h - reports that reproduce the paper's results from its data:
 * a Markdown file plus figures (PNG and SVG, sclaw_plot.h).
 *
 *   sclaw_report_paper      accounting-and-fits.md §4-§9: the L(N,D) fits with
 *                           the Pareto frontier (paper Fig. 1), IsoFLOP
 *                           parabolas and N*(C), D*(C) power laws, token/param
 *                           slopes, the compute-optimal table, and every
 *                           reproduced number next to the paper's value.
 *   sclaw_report_inference  §3.5: measured TTFT and generation step times of
 *                           both families against prefill length with the
 *                           fitted runtime models (sclaw_runtime.h), plus any
 *                           extra timing tables in the same schema (e.g. from
 *                           `sclaw bench inference`).
 *   sclaw_report_study      the same analysis for a study sclaw trained itself
 *                           (sclaw_study.h): training curves, IsoFLOP
 *                           parabolas, N*(C) and D*(C) with bootstrap
 *                           intervals, L(N,D), loss at equal compute and the
 *                           Pareto frontier, xLSTM against Llama, plus
 *                           summary.json for programs.
 *
 * The fits are the library's (sclaw_fit.h, sclaw_runtime.h); this module only
 * selects the data the paper used, calls them, draws and writes. The paper's
 * values live in one table (sclaw_paper_values, spec sections cited per row).
 *
 * Files: out_dir is created if missing (one level); report.md and every
 * figure are written atomically. The library prints nothing.
 */
#ifndef SCLAW_REPORT_H
#define SCLAW_REPORT_H

#include <stdint.h>

/* One number the paper reports. */
struct sclaw_paper_value {
    const char *key;      /* stable id, e.g. "lnd.llama.free.alpha" */
    const char *section;  /* spec section, e.g. "4.6" */
    const char *what;     /* human label */
    double value;         /* the paper's value */
    double rtol;          /* relative difference accepted as "reproduced" (print
                           * precision of the paper plus known data differences) */
};

/* The paper's values, in report order (src/report/paper_values.c). */
extern const struct sclaw_paper_value sclaw_paper_values[];
extern const int64_t sclaw_paper_nvalues;
/* Look up a value by key; NULL if unknown. */
const struct sclaw_paper_value *sclaw_paper_value(const char *key);

/* A reproduced number next to the paper's. */
struct sclaw_report_check {
    const struct sclaw_paper_value *ref;
    double got;           /* NaN if sclaw could not compute it */
    double rel;           /* |got - paper| / |paper| */
    int ok;               /* rel <= ref->rtol */
};

struct sclaw_report_opts {
    const char *data_dir;      /* paper CSVs (default "data/paper") */
    const char *out_dir;       /* where report.md and figures go */
    int full_grid;             /* L(N,D) from every start of the paper's grid (8000 with
                                * gamma free); 0: every 8th start, which reaches the same
                                * fits at an eighth of the cost */
    int threads;               /* OpenMP threads of the L(N,D) fits; 0 = default */
    const char *const *extra;  /* inference report: more timing tables (paths) */
    int64_t n_extra;
    /* Optional: called at the start of each stage (stage 1..nstages) with a
     * short description, from the calling thread; NULL = no calls. */
    void (*progress)(int stage, int nstages, const char *what, void *user);
    void *progress_user;
};

struct sclaw_report_result {
    int64_t n_checks, n_ok, n_missing;
    double max_rel;                     /* over computed checks */
    struct sclaw_report_check *checks;  /* [n_checks], owned */
    int64_t n_files;
    char **files;                       /* [n_files] paths written, owned */
};
void sclaw_report_result_free(struct sclaw_report_result *r);

/* Write out_dir/report.md and its figures for the paper's data. */
int sclaw_report_paper(const struct sclaw_report_opts *o, struct sclaw_report_result *r);
/* Write out_dir/report.md and the inference figures. */
int sclaw_report_inference(const struct sclaw_report_opts *o, struct sclaw_report_result *r);


struct sclaw_report_study_opts {
    const char *study_dir;     /* DIR of `sclaw study run` (plan.json + run directories) */
    const char *out_dir;       /* NULL or "": study_dir/report */
    int64_t bootstrap;         /* resamples of the power-law bootstrap (0: no intervals) */
    uint64_t seed;             /* bootstrap seed (same seed, same intervals) */
    int threads;               /* OpenMP threads of the L(N,D) fits; 0 = default */
    void (*progress)(int stage, int nstages, const char *what, void *user);
    void *progress_user;
};
/* Collect the study's finished runs into study_dir/runs.csv (unfinished runs
 * are warned about and named in the report), then write out_dir/report.md,
 * the figures curves_<family>, isoflop, powerlaws, pareto (.png, .svg) and
 * out_dir/summary.json: per family ("xlstm", "llama") the N* exponent "a" with
 * "a_ci" [lo, hi], "coef" with "coef_ci", D* likewise ("b"), the L(N,D) fit,
 * per budget each family's best and parabola loss and the "lower" family, and
 * a one-line "headline". A family with fewer than 3 budgets gets
 * {"ok": false, "reason": ...} instead of a law. Errors: no plan.json, no
 * finished run, an out_dir that cannot be written. r->checks stays empty. */
int sclaw_report_study(const struct sclaw_report_study_opts *o, struct sclaw_report_result *r);

#endif
