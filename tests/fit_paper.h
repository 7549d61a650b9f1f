/* fit_paper.h - the paper's stored L(N,D) fits (data/paper/lnd_fit_grid_best.csv)
 * and a helper that refits one setting and compares, shared by
 * tests/test_fit_lnd.c and tests/test_fit_lnd_settings.c (header-only, static).
 *
 * Under AddressSanitizer the full grids (8000 / 2000 L-BFGS runs) are too slow
 * for the test budget, so the sanitizer build fits from a reduced grid: every
 * 97th grid point plus the grid point the paper's own best fit started from
 * (idxes.init_idx of the stored row), i.e. a grid that contains the known-best
 * basin. The normal build runs the paper's full grid, except where a test
 * asks for the reduced one (the gamma-free IsoFLOP settings, to keep the test
 * time small: 8000 starts x 107-145 runs). */
#ifndef SCLAW_TEST_FIT_PAPER_H
#define SCLAW_TEST_FIT_PAPER_H

#include "testutil.h"

#include "sclaw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define FIT_REDUCED_GRID 1
#else
#define FIT_REDUCED_GRID 0
#endif

struct paper_fit {
    struct sclaw_lnd_params p;
    double objective;
    int64_t init_idx;
    double init[6];   /* the grid point it started from */
};

/* Row of lnd_fit_grid_best.csv for the paper setting (logsumexp, delta 1e-3,
 * ctx 8192, token/param range 0-5000). model: "llama" | "mlstm";
 * selection: "min_objective" | "min_val_tokenparam_mse_among_top100". */
static inline void paper_fit_get(const char *model, const char *set, int gamma_free,
                          const char *selection, struct paper_fit *pf)
{
    struct sclaw_csv t;
    assert_int_equal(sclaw_csv_read(&t, "data/paper/lnd_fit_grid_best.csv"), SCLAW_OK);
    static const char *want_cols[] = {"use_logsumexp", "huber_delta", "fit_gamma", "selection",
                                      "model_type", "experiment_set", "token_param_range"};
    const char *want[] = {"True", "0.001", gamma_free ? "True" : "False", selection, model, set,
                          "0-5000"};
    int64_t col[7];
    for (int k = 0; k < 7; k++)
        assert_int_equal(sclaw_csv_require(&t, want_cols[k], &col[k]), SCLAW_OK);
    int64_t row = -1;
    for (int64_t i = 0; i < t.nrows && row < 0; i++) {
        int ok = 1;
        for (int k = 0; k < 7 && ok; k++)
            ok = !strcmp(sclaw_csv_cell(&t, i, col[k]), want[k]);
        if (ok)
            row = i;
    }
    assert_true(row >= 0);
    static const char *pn[] = {"a", "b", "e", "alpha", "beta", "gamma"};
    double v[6], iv[6];
    for (int k = 0; k < 6; k++) {
        char name[64];
        int64_t c;
        v[k] = iv[k] = 1.0;
        if (k == 5 && !gamma_free)
            continue;
        snprintf(name, sizeof name, "optim_params.%s", pn[k]);
        assert_int_equal(sclaw_csv_require(&t, name, &c), SCLAW_OK);
        assert_int_equal(sclaw_csv_double(&t, row, c, &v[k]), SCLAW_OK);
        snprintf(name, sizeof name, "init_params.%s", pn[k]);
        assert_int_equal(sclaw_csv_require(&t, name, &c), SCLAW_OK);
        assert_int_equal(sclaw_csv_double(&t, row, c, &iv[k]), SCLAW_OK);
    }
    pf->p = (struct sclaw_lnd_params){v[0], v[1], v[2], v[3], v[4], v[5]};
    memcpy(pf->init, iv, sizeof iv);
    int64_t c;
    double x;
    assert_int_equal(sclaw_csv_require(&t, "optim_results.loss", &c), SCLAW_OK);
    assert_int_equal(sclaw_csv_double(&t, row, c, &pf->objective), SCLAW_OK);
    assert_int_equal(sclaw_csv_require(&t, "idxes.init_idx", &c), SCLAW_OK);
    assert_int_equal(sclaw_csv_double(&t, row, c, &x), SCLAW_OK);
    pf->init_idx = (int64_t)x;
    sclaw_csv_free(&t);
}

/* Loads the runs of a paper L(N,D) setting (§4.4). */
static inline void paper_runs(const char *model, enum sclaw_runs_set set, struct sclaw_runs *r)
{
    struct sclaw_runs_filter f = {.model_type = model, .set = set, .ctx = 8192, .has_ratio = 1,
                                  .ratio_lo = 0, .ratio_hi = 5000, .paper_filters = 1};
    assert_int_equal(sclaw_runs_load(r, "data/paper/runs_all.csv", &f), SCLAW_OK);
}

/* Fits with the paper's grid (reduced under ASan, see above; reduced = 1
 * asks for the reduced grid in every build). */
static inline void paper_refit(const struct sclaw_runs *r, int gamma_free, int64_t paper_init_idx,
                               int reduced, struct sclaw_lnd_result *res)
{
    struct sclaw_lnd_opts o;
    sclaw_lnd_opts_default(&o);
    o.gamma_free = gamma_free;
    struct sclaw_lnd_params *grid = NULL;
    if (FIT_REDUCED_GRID || reduced) {
        int64_t ng = sclaw_lnd_grid(gamma_free, NULL), k = 0;
        struct sclaw_lnd_params *full = malloc(sizeof *full * (size_t)ng);
        grid = malloc(sizeof *grid * (size_t)(ng / 97 + 2));
        assert_non_null(full);
        assert_non_null(grid);
        sclaw_lnd_grid(gamma_free, full);
        for (int64_t i = 0; i < ng; i += 97)
            grid[k++] = full[i];
        grid[k++] = full[paper_init_idx];
        o.inits = grid;
        o.n_inits = k;
        free(full);
    }
    assert_int_equal(sclaw_fit_lnd(r->N, r->D, r->loss, r->n, &o, res), SCLAW_OK);
    free(grid);
}

/* Largest relative difference of predicted losses at N in {1e8, 1e9, 7e9}
 * x D in {1e10, 1e11, 1e12}. */
static inline double max_pred_diff(const struct sclaw_lnd_params *p, const struct sclaw_lnd_params *q)
{
    const double Ns[3] = {1e8, 1e9, 7e9}, Ds[3] = {1e10, 1e11, 1e12};
    double worst = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double a = sclaw_lnd_predict(p, Ns[i], Ds[j]), b = sclaw_lnd_predict(q, Ns[i], Ds[j]);
            worst = fmax(worst, fabs(a - b) / b);
        }
    return worst;
}

static inline void print_fit(const char *what, const struct sclaw_lnd_result *res,
                             const struct paper_fit *pf, double paper_obj_here, double pred)
{
    fprintf(stderr,
            "%-28s a %.5f b %.5f e %.5f alpha %.5f beta %.5f gamma %.5f obj %.8e (paper %.8e, "
            "paper params on this data %.8e) max pred diff %.2e, %lld/%lld converged%s\n",
            what, res->p.a, res->p.b, res->p.e, res->p.alpha, res->p.beta, res->p.gamma,
            res->objective, pf->objective, paper_obj_here, pred, (long long)res->n_converged,
            (long long)res->n_inits, res->n_inits < 2000 ? " (reduced grid)" : "");
}

#endif
