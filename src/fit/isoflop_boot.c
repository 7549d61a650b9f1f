/* isoflop_boot.c - bootstrap intervals of the IsoFLOP power laws N*(C), D*(C)
 * (accounting-and-fits.md §5.2-§5.3, applied to sclaw's own studies).
 *
 * The paper reports point estimates only; a study of a few budgets with a few
 * runs each needs to show how uncertain its exponent is. The nonparametric
 * bootstrap here resamples runs within each budget (the budgets themselves
 * are the design, not a sample), refits each budget's parabola in log10 x and
 * the power law through the vertices, and takes percentiles of the exponent
 * and coefficient over the resamples. Resamples in which a parabola cannot be
 * fitted (fewer than 3 distinct sizes drawn) or opens downwards (the vertex is
 * a maximum, not an optimum) are counted, never silently dropped. Unlike
 * sclaw_isoflop_power_law (the paper's procedure, which keeps every vertex),
 * a budget whose own parabola opens downwards is left out of the law: small
 * studies of undertrained models produce such budgets, and their "optimum"
 * would be a maximum. */
#include "fit_internal.h"
#include "sclaw_fit.h"
#include "sclaw_status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double sclaw_percentile(double *v, int64_t n, double q)
{
    if (n <= 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    /* numpy: position q/100 * (n - 1), interpolated between its neighbours */
    double pos = q / 100.0 * (double)(n - 1);
    int64_t i = (int64_t)floor(pos);
    if (i >= n - 1)
        return v[n - 1];
    if (i < 0)
        return v[0];
    double t = pos - (double)i;
    return v[i] + t * (v[i + 1] - v[i]);
}

/* splitmix64 (Steele, Lea, Flood 2014): one small stream per resample. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform index in [0, m) without modulo bias worth mentioning (m is tiny). */
static int64_t draw(uint64_t *s, int64_t m)
{
    return (int64_t)(((unsigned __int128)splitmix64(s) * (uint64_t)m) >> 64);
}

int sclaw_isoflop_bootstrap(const double *x, const double *loss, const double *C,
                            const double *budget, int64_t n, int64_t K, uint64_t seed,
                            struct sclaw_isoflop_boot *r, double *samples)
{
    memset(r, 0, sizeof *r);
    r->law.coef = r->law.exponent = NAN;
    r->exponent_lo = r->exponent_hi = r->coef_lo = r->coef_hi = NAN;
    r->n_resamples = K;
    if (n < 0 || K < 0)
        return sclaw_fail(SCLAW_E_ARG, "IsoFLOP bootstrap: negative run count or resample count");
    size_t cap = (size_t)(n > 0 ? n : 1);
    double *labels = malloc(sizeof(double) * cap);
    int64_t *start = malloc(sizeof(int64_t) * (cap + 1)); /* budget b: idx[start[b] .. start[b+1]) */
    int64_t *idx = malloc(sizeof(int64_t) * cap);
    double *lx = malloc(sizeof(double) * cap), *ly = malloc(sizeof(double) * cap);
    double *cm = malloc(sizeof(double) * cap), *xo = malloc(sizeof(double) * cap);
    double *ea = malloc(sizeof(double) * (size_t)(K > 0 ? K : 1));
    double *ca = malloc(sizeof(double) * (size_t)(K > 0 ? K : 1));
    int *use = malloc(sizeof(int) * cap);
    int st = SCLAW_OK;
    if (!labels || !start || !idx || !lx || !ly || !cm || !xo || !ea || !ca || !use) {
        st = sclaw_fail(SCLAW_E_NOMEM, "IsoFLOP bootstrap of %lld runs: out of memory", (long long)n);
        goto done;
    }
    /* distinct budget labels, increasing; keep those with >= 3 valid runs */
    int64_t nl = 0;
    for (int64_t i = 0; i < n; i++)
        if (!isnan(budget[i]))
            labels[nl++] = budget[i];
    qsort(labels, (size_t)nl, sizeof(double), cmp_double);
    int64_t nu = 0;
    for (int64_t i = 0; i < nl; i++)
        if (nu == 0 || labels[i] != labels[nu - 1])
            labels[nu++] = labels[i];
    int64_t nb = 0, ni = 0;
    for (int64_t h = 0; h < nu; h++) {
        int64_t s0 = ni;
        for (int64_t i = 0; i < n; i++) {
            if (budget[i] != labels[h])
                continue;
            if (!(x[i] > 0 && isfinite(loss[i]) && isfinite(C[i]))) {
                st = sclaw_fail(SCLAW_E_ARG, "IsoFLOP bootstrap, budget %g: run %lld has x %g, "
                                "loss %g, C %g (need x > 0 and finite values)", labels[h],
                                (long long)i, x[i], loss[i], C[i]);
                goto done;
            }
            idx[ni++] = i;
        }
        if (ni - s0 < 3) {
            ni = s0; /* as sclaw_fit_isoflop: too few runs for a parabola */
            continue;
        }
        start[nb++] = s0;
    }
    start[nb] = ni;
    if (nb < 2) {
        st = sclaw_fail(SCLAW_E_ARG, "IsoFLOP bootstrap needs at least 2 budgets with 3 or more "
                        "runs, got %lld", (long long)nb);
        goto done;
    }

    /* one pass per replicate; k = -1 is the data itself (every run once). The
     * data pass decides which budgets enter the law: those whose parabola
     * opens upwards. A budget whose vertex is a maximum has no optimum to
     * put on the law, so it is left out of the estimate and of every resample. */
    for (int64_t k = -1; k < K; k++) {
        uint64_t s = seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)(k + 1));
        int nonconvex = 0, failed = 0;
        int64_t nu_law = 0;
        for (int64_t b = 0; b < nb && !failed; b++) {
            int64_t m = start[b + 1] - start[b];
            double csum = 0;
            /* draw even for excluded budgets, so that the runs drawn for a
             * budget do not depend on which budgets are convex */
            for (int64_t j = 0; j < m; j++) {
                int64_t i = idx[start[b] + (k < 0 ? j : draw(&s, m))];
                lx[j] = log10(x[i]);
                ly[j] = loss[i];
                csum += C[i];
            }
            if (k >= 0 && !use[b])
                continue;
            double poly[3];
            /* fewer than 3 distinct x: polyfit reports a rank-deficient system */
            if (sclaw_fit_polyfit(lx, ly, m, 2, poly)) {
                failed = 1;
                break;
            }
            if (k < 0) {
                use[b] = poly[0] > 0;
                if (!use[b])
                    continue;
            } else if (!(poly[0] > 0))
                nonconvex = 1;
            cm[nu_law] = csum / (double)m;
            xo[nu_law++] = pow(10.0, -poly[1] / (2 * poly[0]));
        }
        if (k < 0) {
            r->n_budgets = nu_law;
            r->n_concave = nb - nu_law;
            if (failed) {
                st = sclaw_fail(SCLAW_E_NUMERIC, "IsoFLOP bootstrap: a budget's runs do not "
                                "have 3 distinct sizes");
                goto done;
            }
            if (nu_law < 2) {
                st = sclaw_fail(SCLAW_E_ARG, "IsoFLOP bootstrap: only %lld of %lld budgets have a "
                                "parabola that opens upwards; a power law needs at least 2",
                                (long long)nu_law, (long long)nb);
                goto done;
            }
        }
        struct sclaw_power_law law = {NAN, NAN, 0};
        int law_ok = !failed && sclaw_fit_power_law(cm, xo, nu_law, &law) == SCLAW_OK &&
                     isfinite(law.coef) && isfinite(law.exponent);
        if (k < 0) {
            if (!law_ok) {
                st = sclaw_fail(SCLAW_E_NUMERIC, "IsoFLOP bootstrap: the power law through the "
                                "data's %lld budget optima cannot be fitted", (long long)nu_law);
                goto done;
            }
            r->law = law;
            continue;
        }
        int ok = 0;
        if (failed || !law_ok)
            r->n_failed++;
        else if (nonconvex)
            r->n_nonconvex++;
        else {
            ea[r->n_ok] = law.exponent;
            ca[r->n_ok++] = law.coef;
            ok = 1;
        }
        if (samples) {
            samples[2 * k] = ok ? law.coef : NAN;
            samples[2 * k + 1] = ok ? law.exponent : NAN;
        }
    }
    if (r->n_ok >= 2) {
        r->exponent_lo = sclaw_percentile(ea, r->n_ok, 2.5);
        r->exponent_hi = sclaw_percentile(ea, r->n_ok, 97.5);
        r->coef_lo = sclaw_percentile(ca, r->n_ok, 2.5);
        r->coef_hi = sclaw_percentile(ca, r->n_ok, 97.5);
    }
    sclaw_clear_error();
done:
    free(labels);
    free(start);
    free(idx);
    free(lx);
    free(ly);
    free(cm);
    free(xo);
    free(ea);
    free(ca);
    free(use);
    return st;
}
