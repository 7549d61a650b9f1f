/* powerlaw.c - power laws y = coef * x^exponent fitted in natural-log space
 * (accounting-and-fits.md §5.3): the repo's curve_fit of
 * ln y = ln coef + exponent ln x is ordinary least squares of ln y on ln x. */
#include "fit_internal.h"
#include "sclaw_fit.h"
#include "sclaw_status.h"

#include <math.h>
#include <stdlib.h>

int sclaw_fit_power_law(const double *x, const double *y, int64_t n, struct sclaw_power_law *r)
{
    r->coef = r->exponent = NAN;
    r->n = n;
    if (n < 2)
        return sclaw_fail(SCLAW_E_ARG, "power law needs at least 2 points, got %lld", (long long)n);
    double *lx = malloc(sizeof(double) * (size_t)(2 * n));
    if (!lx)
        return sclaw_fail(SCLAW_E_NOMEM, "power law of %lld points: out of memory", (long long)n);
    double *ly = lx + n;
    int st = SCLAW_OK;
    for (int64_t i = 0; i < n; i++) {
        if (!(x[i] > 0 && y[i] > 0 && isfinite(x[i]) && isfinite(y[i]))) {
            st = sclaw_fail(SCLAW_E_ARG, "power law point %lld: x %g and y %g must be finite and > 0",
                            (long long)i, x[i], y[i]);
            goto done;
        }
        lx[i] = log(x[i]);
        ly[i] = log(y[i]);
    }
    double c[2];
    if ((st = sclaw_fit_polyfit(lx, ly, n, 1, c))) {
        st = sclaw_wrap(st, "power law");
        goto done;
    }
    r->exponent = c[0];
    r->coef = exp(c[1]);
done:
    free(lx);
    return st;
}

int sclaw_isoflop_power_law(const struct sclaw_isoflop_budget *b, int64_t nb, double lo, double hi,
                            struct sclaw_power_law *r)
{
    double *x = malloc(sizeof(double) * (size_t)(2 * (nb > 0 ? nb : 1)));
    if (!x)
        return sclaw_fail(SCLAW_E_NOMEM, "power law: out of memory");
    double *y = x + (nb > 0 ? nb : 1);
    int64_t k = 0;
    for (int64_t i = 0; i < nb; i++)
        if (b[i].flops_mean >= lo && b[i].flops_mean <= hi) {
            x[k] = b[i].flops_mean;
            y[k] = b[i].x_opt;
            k++;
        }
    int st;
    if (k < 2)
        st = sclaw_fail(SCLAW_E_ARG, "power law needs at least 2 budgets with flops_mean in "
                        "[%g, %g], got %lld", lo, hi, (long long)k);
    else
        st = sclaw_fit_power_law(x, y, k, r);
    free(x);
    return st;
}
