/* fit_internal.h - helpers shared by the fit sources (internal, not installed). */
#ifndef SCLAW_FIT_INTERNAL_H
#define SCLAW_FIT_INTERNAL_H

#include <math.h>
#include <stdint.h>

/* Huber loss and its derivative (§4.2); inline because the L(N,D) objective
 * calls them for every run at every L-BFGS evaluation (sclaw_huber and
 * sclaw_huber_grad are the public wrappers). */
static inline double fit_huber(double x, double delta)
{
    double ax = fabs(x);
    return ax <= delta ? 0.5 * x * x : delta * (ax - 0.5 * delta);
}

static inline double fit_huber_grad(double x, double delta)
{
    return x > delta ? delta : x < -delta ? -delta : x;
}

/* Polynomial least squares: coefficients c[0..deg] (highest power first, as
 * numpy.polyfit) minimising sum_i (y_i - sum_k c_k x_i^(deg-k))^2, by
 * Householder QR of the Vandermonde matrix after centring and scaling x.
 * x, y: [n]; deg <= 2; needs n > deg and deg+1 distinct x values
 * (SCLAW_E_NUMERIC otherwise, message without context). */
int sclaw_fit_polyfit(const double *x, const double *y, int64_t n, int deg, double *c);

#endif
