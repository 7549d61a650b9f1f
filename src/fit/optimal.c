/* optimal.c - compute-optimal tables (accounting-and-fits.md §7): invert the
 * IsoFLOP power law N*(C) = A' C^a to get the budget C* at which a model of
 * size N is compute-optimal, and read the optimal token count off the
 * separate law D*(C) = B' C^b (Chinchilla approach 2; C != 6ND here, so D* is
 * not C* / (6 N)). */
#include "sclaw_fit.h"
#include "sclaw_status.h"

#include <math.h>

int sclaw_optimal_table(const struct sclaw_power_law *n_law, const struct sclaw_power_law *d_law,
                        const double *N, int64_t n, struct sclaw_optimal_row *out)
{
    if (!(n_law->coef > 0 && isfinite(n_law->exponent) && n_law->exponent != 0))
        return sclaw_fail(SCLAW_E_ARG, "N law %g * C^%g cannot be inverted", n_law->coef,
                          n_law->exponent);
    if (!(d_law->coef > 0 && isfinite(d_law->exponent)))
        return sclaw_fail(SCLAW_E_ARG, "D law %g * C^%g is not a power law", d_law->coef,
                          d_law->exponent);
    for (int64_t i = 0; i < n; i++) {
        if (!(N[i] > 0 && isfinite(N[i])))
            return sclaw_fail(SCLAW_E_ARG, "model size %g must be finite and > 0", N[i]);
        double C = pow(N[i] / n_law->coef, 1.0 / n_law->exponent);
        double D = d_law->coef * pow(C, d_law->exponent);
        /* self-check of the inversion (repo: A' C*^a must give N back) */
        double back = n_law->coef * pow(C, n_law->exponent);
        if (!(fabs(back - N[i]) <= 1e-10 * N[i]))
            return sclaw_fail(SCLAW_E_NUMERIC, "optimal table: N %g inverts to C* %g, which maps "
                              "back to N %.17g (relative error above 1e-10)", N[i], C, back);
        out[i] = (struct sclaw_optimal_row){N[i], C, D, D / N[i]};
    }
    return SCLAW_OK;
}
