/* slopes.c - token/param-ratio power laws L(C) = lambda C^-eta
 * (accounting-and-fits.md §6): for each preset ratio M, runs trained at
 * D/N ~ M lie on a line in log-log space; the repo fits ln L = slope ln C +
 * intercept (curve_fit, i.e. least squares), eta = -slope, lambda = e^intercept. */
#include "fit_internal.h"
#include "sclaw_fit.h"
#include "sclaw_status.h"

#include <math.h>
#include <stdlib.h>

static const double RATIOS[] = {22, 44, 110, 220, 550, 1100, 2200};

int sclaw_fit_slopes(const double *C, const double *loss, const double *ratio_label, int64_t n,
                     struct sclaw_slope *out, int64_t *n_out)
{
    *n_out = 0;
    size_t cap = (size_t)(n > 0 ? n : 1);
    double *lx = malloc(sizeof(double) * cap), *ly = malloc(sizeof(double) * cap);
    int st = SCLAW_OK;
    if (!lx || !ly) {
        st = sclaw_fail(SCLAW_E_NOMEM, "slopes of %lld runs: out of memory", (long long)n);
        goto done;
    }
    for (int64_t i = 0; i < n; i++)
        if (!isnan(ratio_label[i]) && !(C[i] > 0 && loss[i] > 0 && isfinite(C[i]))) {
            st = sclaw_fail(SCLAW_E_ARG, "slopes: run %lld has C %g and loss %g (need > 0)",
                            (long long)i, C[i], loss[i]);
            goto done;
        }
    /* labels come from sclaw_ratio_label: the repo's categories (checked below) */
    for (size_t g = 0; g < sizeof RATIOS / sizeof RATIOS[0]; g++) {
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++)
            if (ratio_label[i] == RATIOS[g]) {
                lx[m] = log(C[i]);
                ly[m] = log(loss[i]);
                m++;
            }
        if (m == 0)
            continue;
        double c[2];
        if (m < 2 || sclaw_fit_polyfit(lx, ly, m, 1, c)) {
            sclaw_clear_error();
            sclaw_warn("token/param ratio %g: %lld run%s, a line needs 2 with distinct compute; "
                       "ratio skipped", RATIOS[g], (long long)m, m == 1 ? "" : "s");
            continue;
        }
        out[*n_out] = (struct sclaw_slope){RATIOS[g], -c[0], exp(c[1]), m};
        (*n_out)++;
    }
    for (int64_t i = 0; i < n; i++) {
        int known = isnan(ratio_label[i]);
        for (size_t g = 0; g < sizeof RATIOS / sizeof RATIOS[0]; g++)
            known |= ratio_label[i] == RATIOS[g];
        if (!known) {
            st = sclaw_fail(SCLAW_E_ARG, "slopes: run %lld has ratio label %g, not one of "
                            "22, 44, 110, 220, 550, 1100, 2200", (long long)i, ratio_label[i]);
            goto done;
        }
    }
done:
    free(lx);
    free(ly);
    return st;
}
