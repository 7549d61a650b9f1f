/* test_fit_lnd_settings.c - the other L(N,D) settings of accounting-and-fits.md
 * §4.6 (Huber delta 1e-3, log-sum-exp, ctx 8192, token/param 0-5000): refit
 * from the paper's grid and compare with the repo's stored min-objective fit
 * (data/paper/lnd_fit_grid_best.csv).
 *
 * Reproducible exactly: Llama tokenparam / isoflop / all and xLSTM tokenparam.
 * The xLSTM isoflop and all fits of the repo were made on the pre-dedup
 * IsoFLOP set (32 duplicated rows, 22 of them unidentifiable) and 110 of the
 * 145 xLSTM ctx8192 losses here are decoded from plot colours (+-0.0025), so
 * those are checked only loosely (see test_xlstm_isoflop_loose); xLSTM all
 * is not tested for the same reason.
 *
 * The gamma-free IsoFLOP settings fit from the reduced grid of fit_paper.h
 * (every 97th start plus the paper's winning start) to keep this executable
 * fast; the full 8000-start grid is exercised by test_fit_lnd.c. */
#include "fit_paper.h"

/* Exact-data settings: no worse than the stored objective (1e-5), no worse
 * than the stored parameters on this data, predictions to 1e-3. */
static void setting(const char *model, const char *paper_model, const char *set_name,
                    enum sclaw_runs_set set, int gamma_free, int reduced, int64_t n_runs)
{
    struct sclaw_runs r;
    struct paper_fit pf;
    struct sclaw_lnd_result res;
    char what[64];
    paper_runs(model, set, &r);
    assert_int_equal(r.n, n_runs);
    paper_fit_get(paper_model, set_name, gamma_free, "min_objective", &pf);
    paper_refit(&r, gamma_free, pf.init_idx, reduced, &res);
    double here = sclaw_lnd_objective(&pf.p, r.N, r.D, r.loss, r.n, 1e-3, NULL);
    double pred = max_pred_diff(&res.p, &pf.p);
    snprintf(what, sizeof what, "%s %s %s", model, set_name, gamma_free ? "free" : "fixed");
    print_fit(what, &res, &pf, here, pred);
    assert_true(res.best_converged);
    assert_true(res.objective <= pf.objective * (1 + 1e-5));
    assert_true(res.objective <= here * (1 + 1e-7));
    assert_true(pred <= 1e-3);
    if (!gamma_free)
        assert_true(res.p.gamma == 1.0);
    sclaw_runs_free(&r);
}

static void test_llama_tokenparam_fixed(void **state)
{
    (void)state;
    setting("llama", "llama", "tokenparam", SCLAW_RUNS_SET_TOKENPARAM, 0, 0, 31);
}

static void test_xlstm_tokenparam_fixed(void **state)
{
    (void)state;
    setting("mlstm_v1", "mlstm", "tokenparam", SCLAW_RUNS_SET_TOKENPARAM, 0, 0, 35);
}

static void test_llama_isoflop_fixed(void **state)
{
    (void)state;
    setting("llama", "llama", "isoflop", SCLAW_RUNS_SET_ISOFLOP, 0, 0, 107);
}

static void test_llama_all_fixed(void **state)
{
    (void)state;
    setting("llama", "llama", "all", SCLAW_RUNS_SET_ALL, 0, 0, 138);
}

static void test_llama_isoflop_free(void **state)
{
    (void)state;
    setting("llama", "llama", "isoflop", SCLAW_RUNS_SET_ISOFLOP, 1, 1, 107);
}

/* xLSTM IsoFLOP, gamma free, on the current (de-duplicated, partly
 * approximate) data: compared with the spec's scipy re-fit on the same data
 * (§4.6: a 11.62, b 15.40, e 0.689, alpha 0.620, beta 0.716, gamma 0.549,
 * objective 2.63e-4; 3-4 digits), and with the repo's pre-dedup fit only to
 * a few percent. */
static void test_xlstm_isoflop_loose(void **state)
{
    (void)state;
    struct sclaw_runs r;
    struct paper_fit pf;
    struct sclaw_lnd_result res;
    paper_runs("mlstm_v1", SCLAW_RUNS_SET_ISOFLOP, &r);
    assert_int_equal(r.n, 145);
    paper_fit_get("mlstm", "isoflop", 1, "min_objective", &pf);
    paper_refit(&r, 1, pf.init_idx, 1, &res);
    const struct sclaw_lnd_params spec = {11.62, 15.40, 0.689, 0.620, 0.716, 0.549};
    double pred_spec = max_pred_diff(&res.p, &spec), pred_repo = max_pred_diff(&res.p, &pf.p);
    print_fit("mlstm_v1 isoflop free (loose)", &res, &pf,
              sclaw_lnd_objective(&pf.p, r.N, r.D, r.loss, r.n, 1e-3, NULL), pred_repo);
    fprintf(stderr, "    vs the spec's re-fit on this data: max pred diff %.2e\n", pred_spec);
    assert_true(res.best_converged);
    tu_close(res.objective, 2.63e-4, 2e-3, 0, "objective vs spec re-fit");
    tu_close(res.p.alpha, spec.alpha, 0, 1e-3, "alpha vs spec re-fit");
    tu_close(res.p.gamma, spec.gamma, 0, 1e-3, "gamma vs spec re-fit");
    assert_true(pred_spec <= 5e-3);   /* spec parameters are rounded to 3-4 digits */
    assert_true(pred_repo <= 1e-2);   /* different data (pre-dedup) */
    sclaw_runs_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama_tokenparam_fixed),
        cmocka_unit_test(test_xlstm_tokenparam_fixed),
        cmocka_unit_test(test_llama_isoflop_fixed),
        cmocka_unit_test(test_llama_all_fixed),
        cmocka_unit_test(test_llama_isoflop_free),
        cmocka_unit_test(test_xlstm_isoflop_loose),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
