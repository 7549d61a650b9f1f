/* huber.c - the Huber loss of the L(N,D) objective (accounting-and-fits.md §4.2).
 *
 *     huber_delta(x) = 0.5 x^2                 |x| <= delta
 *                    = delta (|x| - delta/2)   otherwise
 *
 * It is quadratic near 0 and linear in the tails, so single outlier runs pull
 * the fit with a bounded force delta. Its derivative is x clipped to
 * [-delta, delta], continuous at the kinks. The definitions are inline in
 * fit_internal.h for the L(N,D) objective's inner loop. */
#include "fit_internal.h"
#include "sclaw_fit.h"

double sclaw_huber(double x, double delta)
{
    return fit_huber(x, delta);
}

double sclaw_huber_grad(double x, double delta)
{
    return fit_huber_grad(x, delta);
}
