/* huber.c - the Huber loss of the L(N,D) objective (accounting-and-fits.md §4.2).
 *
 *     huber_delta(x) = 0.5 x^2                 |x| <= delta
 *                    = delta (|x| - delta/2)   otherwise
 *
 * It is quadratic near 0 and linear in the tails, so single outlier runs pull
 * the fit with a bounded force delta. Its derivative is x clipped to
 * [-delta, delta], continuous at the kinks. */
#include "sclaw_fit.h"

#include <math.h>

double sclaw_huber(double x, double delta)
{
    double ax = fabs(x);
    return ax <= delta ? 0.5 * x * x : delta * (ax - 0.5 * delta);
}

double sclaw_huber_grad(double x, double delta)
{
    if (x > delta)
        return delta;
    if (x < -delta)
        return -delta;
    return x;
}
