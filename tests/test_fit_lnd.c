/* test_fit_lnd.c - the parametric loss fit L(N,D) (accounting-and-fits.md §4):
 * Huber loss, objective and analytic gradient (finite differences), the
 * initialisation grid order (the paper's stored init indices), the headline
 * fits of §4.6 for both models, recovery of known parameters from synthetic
 * data, thread-count independence, the bootstrap, and bad input.
 * Other paper settings are in test_fit_lnd_settings.c. */
#include "fit_paper.h"

/* ---- Huber, objective, gradient ----------------------------------------- */

static void test_huber(void **state)
{
    (void)state;
    const double d = 1e-3;
    tu_close(sclaw_huber(5e-4, d), 0.5 * 25e-8, 1e-15, 0, "quadratic zone");
    tu_close(sclaw_huber(-3e-3, d), d * (3e-3 - 0.5 * d), 1e-15, 0, "linear zone");
    tu_close(sclaw_huber(d, d), 0.5 * d * d, 1e-15, 0, "kink");
    const double xs[] = {-2e-3, -7e-4, 0, 3e-4, 1.5e-3, 0.3};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double h = 1e-9, fd = (sclaw_huber(xs[i] + h, d) - sclaw_huber(xs[i] - h, d)) / (2 * h);
        tu_close(sclaw_huber_grad(xs[i], d), fd, 1e-6, 1e-12, "huber gradient");
    }
}

/* The objective equals the plain formula sum huber(ln L - ln(E + (A N^-a + B D^-b)^g)). */
static void test_objective_direct(void **state)
{
    (void)state;
    struct sclaw_runs r;
    paper_runs("llama", SCLAW_RUNS_SET_TOKENPARAM, &r);
    const struct sclaw_lnd_params ps[] = {
        {11.98707, 13.35442, 0.011783, 0.527115, 0.508037, 0.293457},
        {2.884, 3.603, -0.146, 0.1287, 0.1716, 1.0},
        {5.0, 6.0, 0.3, 0.3, 0.3, 0.8},
    };
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        const struct sclaw_lnd_params *p = &ps[k];
        double want = 0;
        for (int64_t i = 0; i < r.n; i++) {
            double Lh = exp(p->e) + pow(exp(p->a) * pow(r.N[i], -p->alpha) +
                                        exp(p->b) * pow(r.D[i], -p->beta), p->gamma);
            want += sclaw_huber(log(r.loss[i]) - log(Lh), 1e-3);
            tu_close(sclaw_lnd_predict(p, r.N[i], r.D[i]), Lh, 1e-13, 0, "prediction");
        }
        tu_close(sclaw_lnd_objective(p, r.N, r.D, r.loss, r.n, 1e-3, NULL), want, 1e-11, 0,
                 "objective vs direct formula");
    }
    sclaw_runs_free(&r);
}

/* Analytic gradient against central differences in double. */
static void test_gradient_fd(void **state)
{
    (void)state;
    struct sclaw_runs r;
    paper_runs("mlstm_v1", SCLAW_RUNS_SET_TOKENPARAM, &r);
    const struct sclaw_lnd_params ps[] = {
        {16.22111, 17.31143, 0.113342, 0.727419, 0.670784, 0.238725},  /* at the optimum */
        {3.649, 4.539, 0.233, 0.1746, 0.2311, 1.0},
        {5.0, 6.0, 0.3, 0.3, 0.3, 0.8},                                /* far: linear zone */
        {14.0, 16.0, -0.5, 0.6, 0.7, 0.4},
    };
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        double g[6], fd[6], x[6];
        for (int d = 0; d < 3; d++) {
            /* three deltas: all residuals quadratic, mixed, all linear */
            const double delta = d == 0 ? 1.0 : d == 1 ? 1e-3 : 1e-7;
            sclaw_lnd_objective(&ps[k], r.N, r.D, r.loss, r.n, delta, g);
            memcpy(x, &ps[k], sizeof x);
            double scale = 0;
            for (int j = 0; j < 6; j++) {
                /* The step moves residuals by ~h ln D / 4: below delta, so
                 * hardly any residual crosses a Huber kink; and not smaller,
                 * because r = ln L - q carries an absolute rounding error
                 * ~1e-16 that the difference quotient divides by h. */
                double h = fmin(1e-6, 0.1 * delta) * fmax(1.0, fabs(x[j])), f[4];
                /* 4-point stencil: at the optimum the entries are ~1e-6 and
                 * the 2-point truncation error h^2 f'''/6 is not negligible */
                for (int q = 0; q < 4; q++) {
                    double xq[6];
                    struct sclaw_lnd_params pq;
                    memcpy(xq, x, sizeof x);
                    xq[j] += (q < 2 ? q - 2 : q - 1) * h;   /* -2h, -h, +h, +2h */
                    memcpy(&pq, xq, sizeof xq);
                    f[q] = sclaw_lnd_objective(&pq, r.N, r.D, r.loss, r.n, delta, NULL);
                }
                fd[j] = (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h);
                scale = fmax(scale, fabs(fd[j]));
            }
            /* a residual within h of a kink makes the difference quotient
             * inexact, hence the absolute floor relative to the largest entry */
            tu_allclose_d(g, fd, 6, 1e-5, 1e-6 * scale, "gradient vs central differences");
        }
    }
    sclaw_runs_free(&r);
}

/* ---- grid -------------------------------------------------------------- */

static void test_grid_order(void **state)
{
    (void)state;
    static struct sclaw_lnd_params g[8000], g5[2000];
    assert_int_equal(sclaw_lnd_grid(1, NULL), 8000);
    assert_int_equal(sclaw_lnd_grid(1, g), 8000);
    assert_int_equal(sclaw_lnd_grid(0, g5), 2000);
    /* numpy: np.array(np.meshgrid(a, b, e, alpha, beta, gamma)).T.reshape(-1, 6) */
    const struct {
        int64_t i;
        double v[6];
    } spot[] = {
        {0, {0, 0, -1, 0, 0, 0}}, {1, {0, 5, -1, 0, 0, 0}}, {5, {5, 0, -1, 0, 0, 0}},
        {24, {20, 20, -1, 0, 0, 0}}, {25, {0, 0, -0.5, 0, 0, 0}}, {2000, {0, 0, -1, 0, 0, 0.5}},
        {7999, {20, 20, 1, 1, 1, 1.5}},
    };
    for (size_t k = 0; k < sizeof spot / sizeof spot[0]; k++)
        tu_allclose_d(&g[spot[k].i].a, spot[k].v, 6, 0, 0, "grid point");
    for (int64_t i = 0; i < 2000; i++) {
        assert_true(g5[i].gamma == 1.0);
        assert_true(memcmp(&g5[i], &g[i], 5 * sizeof(double)) == 0);
    }
    /* every stored fit of the repo names its start by grid index: check them all */
    struct sclaw_csv t;
    assert_int_equal(sclaw_csv_read(&t, "data/paper/lnd_fit_grid_best.csv"), SCLAW_OK);
    static const char *pn[] = {"a", "b", "e", "alpha", "beta", "gamma"};
    int64_t cidx, cfg, ci[6];
    assert_int_equal(sclaw_csv_require(&t, "idxes.init_idx", &cidx), SCLAW_OK);
    assert_int_equal(sclaw_csv_require(&t, "fit_gamma", &cfg), SCLAW_OK);
    for (int k = 0; k < 6; k++) {
        char name[64];
        snprintf(name, sizeof name, "init_params.%s", pn[k]);
        assert_int_equal(sclaw_csv_require(&t, name, &ci[k]), SCLAW_OK);
    }
    for (int64_t row = 0; row < t.nrows; row++) {
        int free_gamma = !strcmp(sclaw_csv_cell(&t, row, cfg), "True");
        double idx, v[6];
        assert_int_equal(sclaw_csv_double(&t, row, cidx, &idx), SCLAW_OK);
        const struct sclaw_lnd_params *p = free_gamma ? &g[(int64_t)idx] : &g5[(int64_t)idx];
        for (int k = 0; k < 5 + free_gamma; k++)
            assert_int_equal(sclaw_csv_double(&t, row, ci[k], &v[k]), SCLAW_OK);
        tu_allclose_d(&p->a, v, 5 + free_gamma, 0, 0, "grid[init_idx] == stored init_params");
    }
    assert_true(t.nrows > 1000);
    sclaw_csv_free(&t);
}

/* ---- headline fits (§4.6) ------------------------------------------------ */

static void headline(const char *model, const char *paper_model, int64_t n_runs)
{
    struct sclaw_runs r;
    struct paper_fit sel, best;
    struct sclaw_lnd_result res;
    paper_runs(model, SCLAW_RUNS_SET_TOKENPARAM, &r);
    assert_int_equal(r.n, n_runs);
    paper_fit_get(paper_model, "tokenparam", 1, "min_val_tokenparam_mse_among_top100", &sel);
    paper_fit_get(paper_model, "tokenparam", 1, "min_objective", &best);
    paper_refit(&r, 1, best.init_idx, 0, &res);
    double here = sclaw_lnd_objective(&sel.p, r.N, r.D, r.loss, r.n, 1e-3, NULL);
    double pred = max_pred_diff(&res.p, &sel.p);
    print_fit(model, &res, &sel, here, pred);
    assert_int_equal(res.n_points, n_runs);
    assert_int_equal(res.n_inits, FIT_REDUCED_GRID ? 8000 / 97 + 2 : 8000);
    assert_true(res.best_converged);
    /* issue tolerances: objective no worse than the paper's, predictions to 1e-3 */
    assert_true(res.objective <= sel.objective * (1 + 1e-5));
    assert_true(res.objective <= best.objective * (1 + 1e-5));
    /* and no worse than the paper's parameters on these (6-decimal) losses */
    assert_true(res.objective <= here * (1 + 1e-7));
    assert_true(pred <= 1e-3);
    tu_close(res.A, exp(res.p.a), 1e-15, 0, "A = e^a");
    sclaw_runs_free(&r);
}

static void test_headline_llama(void **state)
{
    (void)state;
    headline("llama", "llama", 31);
}

static void test_headline_xlstm(void **state)
{
    (void)state;
    headline("mlstm_v1", "mlstm", 35);
}

/* ---- synthetic recovery ------------------------------------------------- */

/* Data generated from known (A, B, E, alpha, beta), gamma = 1, with 0.05%
 * log-normal noise on a spread design: the fitter recovers the parameters. */
static void test_synthetic_recovery(void **state)
{
    (void)state;
    enum { n = 60 };
    const struct sclaw_lnd_params truth = {6.0, 7.5, 0.5, 0.34, 0.28, 1.0};
    double N[n], D[n], L[n];
    uint64_t s = 12345;
    for (int i = 0; i < n; i++) {
        N[i] = pow(10, 7.5 + 2.5 * tu_rand_uniform(&s));
        D[i] = N[i] * pow(10, 1.0 + 2.5 * tu_rand_uniform(&s));
        L[i] = sclaw_lnd_predict(&truth, N[i], D[i]) * exp(5e-4 * tu_rand_normal(&s));
    }
    struct sclaw_lnd_opts o;
    sclaw_lnd_opts_default(&o);
    o.gamma_free = 0;
    struct sclaw_lnd_params sub[100];
    if (FIT_REDUCED_GRID) {
        static struct sclaw_lnd_params g[2000];
        sclaw_lnd_grid(0, g);
        for (int k = 0; k < 100; k++)
            sub[k] = g[20 * k + 7];
        o.inits = sub;
        o.n_inits = 100;
    }
    struct sclaw_lnd_result res;
    assert_int_equal(sclaw_fit_lnd(N, D, L, n, &o, &res), SCLAW_OK);
    fprintf(stderr, "synthetic: A %.4g (%.4g) B %.4g (%.4g) E %.5f (%.5f) alpha %.4f (%.2f) "
            "beta %.4f (%.2f)\n", res.A, exp(truth.a), res.B, exp(truth.b), res.E, exp(truth.e),
            res.p.alpha, truth.alpha, res.p.beta, truth.beta);
    assert_true(res.best_converged);
    tu_close(res.p.gamma, 1.0, 0, 0, "gamma fixed");
    tu_close(res.E, exp(truth.e), 2e-3, 0, "E");
    tu_close(res.p.alpha, truth.alpha, 0, 0.01, "alpha");
    tu_close(res.p.beta, truth.beta, 0, 0.01, "beta");
    tu_close(res.p.a, truth.a, 0, 0.15, "a = ln A");
    tu_close(res.p.b, truth.b, 0, 0.15, "b = ln B");
    /* the fit is at least as good as the truth on the noisy data */
    assert_true(res.objective <= sclaw_lnd_objective(&truth, N, D, L, n, 1e-3, NULL));
}

/* ---- determinism, bootstrap -------------------------------------------- */

static void fit_sub(const struct sclaw_runs *r, int threads, int64_t boot, uint64_t seed,
                    struct sclaw_lnd_result *res)
{
    static struct sclaw_lnd_params g[8000], sub[80];
    sclaw_lnd_grid(1, g);
    for (int k = 0; k < 80; k++)
        sub[k] = g[100 * k + 3];
    struct sclaw_lnd_opts o;
    sclaw_lnd_opts_default(&o);
    o.gamma_free = 1;
    o.inits = sub;
    o.n_inits = 80;
    o.threads = threads;
    o.bootstrap = boot;
    o.seed = seed;
    assert_int_equal(sclaw_fit_lnd(r->N, r->D, r->loss, r->n, &o, res), SCLAW_OK);
}

static void test_threads_and_bootstrap(void **state)
{
    (void)state;
    struct sclaw_runs r;
    struct sclaw_lnd_result r1, r2, r3;
    paper_runs("llama", SCLAW_RUNS_SET_TOKENPARAM, &r);
    /* K = 41: the 2.5% / 97.5% percentiles fall on order statistics 1 and 39 */
    fit_sub(&r, 1, 41, 7, &r1);
    fit_sub(&r, 2, 41, 7, &r2);
    /* identical to the bit whatever the thread count */
    assert_true(memcmp(&r1.p, &r2.p, sizeof r1.p) == 0);
    assert_true(r1.objective == r2.objective && r1.best_init == r2.best_init);
    assert_true(memcmp(r1.ci_lo, r2.ci_lo, sizeof r1.ci_lo) == 0);
    assert_true(memcmp(r1.ci_hi, r2.ci_hi, sizeof r1.ci_hi) == 0);
    assert_int_equal(r1.n_bootstrap, 41);
    for (int k = 0; k < SCLAW_LND_NCI; k++)
        assert_true(r1.ci_lo[k] <= r1.ci_hi[k]);
    assert_true(r1.ci_lo[SCLAW_LND_CI_A_OPT] > 0 && r1.ci_hi[SCLAW_LND_CI_A_OPT] < 1);
    tu_close(r1.ci_lo[SCLAW_LND_CI_A_OPT] + r1.ci_hi[SCLAW_LND_CI_B_OPT], 1, 1e-12, 0,
             "a_opt + b_opt = 1 (percentiles mirror)");
    tu_close(r1.ci_lo[SCLAW_LND_CI_E], exp(r1.ci_lo[SCLAW_LND_CI_E_LOG]), 1e-12, 0,
             "E interval = exp(e interval)");
    /* the point estimate sits inside the bootstrap range of E and gamma */
    assert_true(r1.E > r1.ci_lo[SCLAW_LND_CI_E] * 0.98 && r1.E < r1.ci_hi[SCLAW_LND_CI_E] * 1.02);
    /* another seed, other resamples */
    fit_sub(&r, 2, 41, 8, &r3);
    assert_true(memcmp(r1.ci_lo, r3.ci_lo, sizeof r1.ci_lo) != 0);
    assert_true(memcmp(&r1.p, &r3.p, sizeof r1.p) == 0);
    sclaw_runs_free(&r);
}

/* One explicit start at the paper's optimum stays there. */
static void test_single_init(void **state)
{
    (void)state;
    struct sclaw_runs r;
    struct paper_fit pf;
    paper_runs("llama", SCLAW_RUNS_SET_TOKENPARAM, &r);
    paper_fit_get("llama", "tokenparam", 0, "min_objective", &pf);
    struct sclaw_lnd_opts o;
    sclaw_lnd_opts_default(&o);
    o.inits = &pf.p;
    o.n_inits = 1;
    struct sclaw_lnd_result res;
    assert_int_equal(sclaw_fit_lnd(r.N, r.D, r.loss, r.n, &o, &res), SCLAW_OK);
    assert_int_equal(res.n_inits, 1);
    double here = sclaw_lnd_objective(&pf.p, r.N, r.D, r.loss, r.n, 1e-3, NULL);
    assert_true(res.objective <= here);
    assert_true(max_pred_diff(&res.p, &pf.p) < 1e-3);
    sclaw_runs_free(&r);
}

static void test_bad_input(void **state)
{
    (void)state;
    double N[4] = {1e8, 2e8, 4e8, 8e8}, D[4] = {1e10, 2e10, 4e10, 8e10}, L[4] = {3, 2.9, 2.8, 2.7};
    struct sclaw_lnd_opts o;
    struct sclaw_lnd_result res;
    struct sclaw_lnd_params p0 = {5, 5, 0.5, 0.3, 0.3, 1};
    sclaw_lnd_opts_default(&o);
    o.inits = &p0;
    o.n_inits = 1;
    assert_int_equal(sclaw_fit_lnd(N, D, L, 2, &o, &res), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "at least 3"));
    N[2] = -1;
    assert_int_equal(sclaw_fit_lnd(N, D, L, 4, &o, &res), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "run 2"));
    N[2] = 4e8;
    L[1] = NAN;
    assert_int_equal(sclaw_fit_lnd(N, D, L, 4, &o, &res), SCLAW_E_ARG);
    L[1] = 2.9;
    o.delta = 0;
    assert_int_equal(sclaw_fit_lnd(N, D, L, 4, &o, &res), SCLAW_E_ARG);
    o.delta = 1e-3;
    o.bootstrap = -1;
    assert_int_equal(sclaw_fit_lnd(N, D, L, 4, &o, &res), SCLAW_E_ARG);
    o.bootstrap = 0;
    o.n_inits = 0;
    assert_int_equal(sclaw_fit_lnd(N, D, L, 4, &o, &res), SCLAW_E_ARG);
    o.n_inits = 1;
    assert_int_equal(sclaw_fit_lnd(N, D, L, 4, &o, &res), SCLAW_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huber),
        cmocka_unit_test(test_objective_direct),
        cmocka_unit_test(test_gradient_fd),
        cmocka_unit_test(test_grid_order),
        cmocka_unit_test(test_headline_llama),
        cmocka_unit_test(test_headline_xlstm),
        cmocka_unit_test(test_synthetic_recovery),
        cmocka_unit_test(test_threads_and_bootstrap),
        cmocka_unit_test(test_single_init),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
