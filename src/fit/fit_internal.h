/* fit_internal.h - helpers shared by the fit sources (internal, not installed). */
#ifndef SCLAW_FIT_INTERNAL_H
#define SCLAW_FIT_INTERNAL_H

#include <stdint.h>

/* Polynomial least squares: coefficients c[0..deg] (highest power first, as
 * numpy.polyfit) minimising sum_i (y_i - sum_k c_k x_i^(deg-k))^2, by
 * Householder QR of the Vandermonde matrix after centring and scaling x.
 * x, y: [n]; deg <= 2; needs n > deg and deg+1 distinct x values
 * (SCLAW_E_NUMERIC otherwise, message without context). */
int sclaw_fit_polyfit(const double *x, const double *y, int64_t n, int deg, double *c);

#endif
