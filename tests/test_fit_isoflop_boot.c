/* test_fit_isoflop_boot.c - bootstrap intervals of the IsoFLOP power law
 * (sclaw_isoflop_bootstrap): recovery of a known exponent from synthetic
 * budgets, exactness without noise, determinism, honest failure counts, and
 * numpy's percentile convention. */
#include "sclaw.h"
#include "sclaw_fit.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NB = 4, PER = 7, NMAX = NB * PER };

/* Budgets 1e12..1e15 with PER sizes each around N* = coef C^expo, loss a
 * parabola in log10 N plus Gaussian noise of sd `noise`. */
static int64_t synth(double coef, double expo, double noise, uint64_t seed, int per, double *N,
                     double *L, double *C, double *B)
{
    uint64_t s = seed;
    int64_t n = 0;
    for (int b = 0; b < NB; b++) {
        double c = pow(10, 12 + b), nstar = coef * pow(c, expo);
        for (int j = 0; j < per; j++) {
            double dx = -0.6 + 1.2 * j / (per - 1);
            N[n] = nstar * pow(10, dx);
            L[n] = 3.0 - 0.1 * b + 0.4 * dx * dx + noise * tu_rand_normal(&s);
            C[n] = c * (1 + 0.002 * (j - per / 2)); /* planned C misses the budget a little */
            B[n++] = c;
        }
    }
    return n;
}

static void test_percentile_numpy(void **state)
{
    (void)state;
    double v[] = {4, 1, 3, 2};
    /* numpy.percentile([1,2,3,4], 25) = 1.75, (…, 97.5) = 3.925 */
    tu_close(sclaw_percentile(v, 4, 25), 1.75, 1e-15, 0, "p25");
    tu_close(sclaw_percentile(v, 4, 97.5), 3.925, 1e-15, 0, "p97.5");
    tu_close(sclaw_percentile(v, 4, 0), 1, 0, 0, "p0");
    tu_close(sclaw_percentile(v, 4, 100), 4, 0, 0, "p100");
    assert_true(isnan(sclaw_percentile(v, 0, 50)));
}

static void test_noise_free_is_exact(void **state)
{
    (void)state;
    double N[NMAX], L[NMAX], C[NMAX], B[NMAX];
    int64_t n = synth(0.02, 0.55, 0, 1, PER, N, L, C, B);
    struct sclaw_isoflop_boot r;
    assert_int_equal(sclaw_isoflop_bootstrap(N, L, C, B, n, 100, 7, &r, NULL), SCLAW_OK);
    assert_int_equal(r.n_budgets, NB);
    /* every resample with >= 3 distinct sizes recovers each vertex exactly; the
     * law then differs from the truth only by C's small spread around the budget */
    struct sclaw_power_law ref;
    double cm[NB], xo[NB];
    for (int b = 0; b < NB; b++) {
        double c = 0;
        for (int j = 0; j < PER; j++)
            c += C[b * PER + j];
        cm[b] = c / PER;
        xo[b] = 0.02 * pow(pow(10, 12 + b), 0.55);
    }
    assert_int_equal(sclaw_fit_power_law(cm, xo, NB, &ref), SCLAW_OK);
    tu_close(r.law.exponent, ref.exponent, 1e-9, 0, "exponent");
    tu_close(r.law.coef, ref.coef, 1e-7, 0, "coef");
    assert_int_equal(r.n_ok + r.n_nonconvex + r.n_failed, 100);
    assert_int_equal(r.n_nonconvex, 0);
    assert_true(r.n_ok > 90);
    /* resampled mean C moves by < 0.3%, so the exponent barely moves */
    assert_true(fabs(r.exponent_lo - 0.55) < 2e-3 && fabs(r.exponent_hi - 0.55) < 2e-3);
}

static void test_noisy_recovery_and_determinism(void **state)
{
    (void)state;
    double N[NMAX], L[NMAX], C[NMAX], B[NMAX];
    int64_t n = synth(0.02, 0.55, 0.004, 42, PER, N, L, C, B);
    struct sclaw_isoflop_boot r, r2, r3;
    double *s1 = malloc(2 * 400 * sizeof *s1), *s2 = malloc(2 * 400 * sizeof *s2);
    assert_int_equal(sclaw_isoflop_bootstrap(N, L, C, B, n, 400, 11, &r, s1), SCLAW_OK);
    /* the interval covers the truth and the point estimate, and is not degenerate */
    assert_true(r.exponent_lo < 0.55 && 0.55 < r.exponent_hi);
    assert_true(r.exponent_lo <= r.law.exponent && r.law.exponent <= r.exponent_hi);
    assert_true(r.coef_lo <= r.law.coef && r.law.coef <= r.coef_hi);
    assert_true(r.exponent_hi - r.exponent_lo > 1e-3 && r.exponent_hi - r.exponent_lo < 0.2);
    tu_close(r.law.exponent, 0.55, 0, 0.05, "point exponent");
    assert_int_equal(r.n_ok + r.n_nonconvex + r.n_failed, 400);
    /* the interval is the percentile of the returned samples */
    double e[400];
    int64_t m = 0;
    for (int k = 0; k < 400; k++)
        if (!isnan(s1[2 * k + 1]))
            e[m++] = s1[2 * k + 1];
    assert_int_equal(m, r.n_ok);
    tu_close(sclaw_percentile(e, m, 2.5), r.exponent_lo, 0, 0, "lo from samples");
    /* same seed: identical; another seed: different draws */
    assert_int_equal(sclaw_isoflop_bootstrap(N, L, C, B, n, 400, 11, &r2, s2), SCLAW_OK);
    assert_memory_equal(&r, &r2, sizeof r);
    assert_memory_equal(s1, s2, 2 * 400 * sizeof *s1);
    assert_int_equal(sclaw_isoflop_bootstrap(N, L, C, B, n, 400, 12, &r3, NULL), SCLAW_OK);
    assert_true(r3.exponent_lo != r.exponent_lo);
    tu_close(r3.law.exponent, r.law.exponent, 0, 0, "point estimate independent of the seed");
    free(s1);
    free(s2);
}

static void test_counts_and_errors(void **state)
{
    (void)state;
    double N[NMAX], L[NMAX], C[NMAX], B[NMAX];
    /* three runs per budget: most resamples repeat a run and cannot fit a parabola */
    int64_t n = synth(0.02, 0.55, 0.002, 3, 3, N, L, C, B);
    struct sclaw_isoflop_boot r;
    assert_int_equal(sclaw_isoflop_bootstrap(N, L, C, B, n, 200, 5, &r, NULL), SCLAW_OK);
    assert_int_equal(r.n_ok + r.n_nonconvex + r.n_failed, 200);
    /* P(3 distinct of 3 in every one of 4 budgets) = (6/27)^4 ~ 0.24% */
    assert_true(r.n_failed > 180);
    /* a concave budget is left out of the law (its vertex is a maximum) and
     * counted; the other three still give the exponent */
    n = synth(0.02, 0.55, 0, 3, PER, N, L, C, B);
    for (int j = 0; j < PER; j++)
        L[j] = 3.0 - 0.3 * pow(log10(N[j] / (0.02 * pow(1e12, 0.55))), 2);
    assert_int_equal(sclaw_isoflop_bootstrap(N, L, C, B, n, 50, 5, &r, NULL), SCLAW_OK);
    assert_int_equal(r.n_budgets, 3);
    assert_int_equal(r.n_concave, 1);
    assert_int_equal(r.n_nonconvex, 0);
    assert_true(r.n_ok > 40);
    tu_close(r.law.exponent, 0.55, 0, 2e-3, "exponent without the concave budget");
    assert_true(fabs(r.exponent_lo - 0.55) < 3e-3 && fabs(r.exponent_hi - 0.55) < 3e-3);
    /* a budget that is convex on the data (a spike at its centre lowers c2
     * from 0.4 to ~0.22) but concave in resamples that draw mostly the
     * middle runs: those resamples are counted non-convex */
    n = synth(0.02, 0.55, 0, 3, PER, N, L, C, B);
    L[PER + PER / 2] += 0.15;
    struct sclaw_isoflop_boot r2;
    assert_int_equal(sclaw_isoflop_bootstrap(N, L, C, B, n, 200, 5, &r2, NULL), SCLAW_OK);
    assert_int_equal(r2.n_concave, 0);
    assert_true(r2.n_nonconvex > 0);
    assert_int_equal(r2.n_ok + r2.n_nonconvex + r2.n_failed, 200);
    /* three concave budgets of four: no law */
    n = synth(0.02, 0.55, 0, 3, PER, N, L, C, B);
    for (int64_t i = 0; i < 3 * PER; i++)
        L[i] = 3.0 - 0.3 * pow(log10(N[i]) - log10(N[(i / PER) * PER + PER / 2]), 2);
    assert_int_equal(sclaw_isoflop_bootstrap(N, L, C, B, n, 10, 5, &r, NULL), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "only 1 of 4 budgets"));
    /* one budget only: no power law */
    for (int64_t i = PER; i < n; i++)
        B[i] = NAN;
    assert_int_equal(sclaw_isoflop_bootstrap(N, L, C, B, n, 10, 5, &r, NULL), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "at least 2 budgets"));
    /* a bad value names its budget */
    n = synth(0.02, 0.55, 0, 3, PER, N, L, C, B);
    L[PER + 2] = NAN;
    assert_int_equal(sclaw_isoflop_bootstrap(N, L, C, B, n, 10, 5, &r, NULL), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "budget 1e+13"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentile_numpy),
        cmocka_unit_test(test_noise_free_is_exact),
        cmocka_unit_test(test_noisy_recovery_and_determinism),
        cmocka_unit_test(test_counts_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, tu_teardown);
}
