/* lstsq.c - exact linear least squares for the IsoFLOP parabolas (§5.2) and
 * the log-log lines of §5.3 and §6.
 *
 * The repo fits these with scipy curve_fit (Levenberg-Marquardt from p0 = 1),
 * which agrees with the exact least-squares solution to ~1e-6; we compute the
 * exact solution. x is centred and scaled first (log10 N spans ~8.2..9.8, so a
 * raw Vandermonde matrix would lose digits), the small system is solved by
 * Householder QR, and the coefficients are mapped back to the raw x. */
#include "fit_internal.h"
#include "sclaw_status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sclaw_fit_polyfit(const double *x, const double *y, int64_t n, int deg, double *c)
{
    SCLAW_ASSERT(deg >= 1 && deg <= 2);
    int p = deg + 1;
    if (n < p)
        return sclaw_fail(SCLAW_E_NUMERIC, "%lld points are too few for a degree-%d fit",
                          (long long)n, deg);
    double mean = 0, scale = 0;
    for (int64_t i = 0; i < n; i++)
        mean += x[i];
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(x[i] - mean));
    if (!(scale > 0))
        return sclaw_fail(SCLAW_E_NUMERIC, "all %lld x values are equal", (long long)n);

    /* A: (n, p) column-major, columns t^deg .. t^0 with t = (x - mean) / scale */
    double *A = malloc(sizeof(double) * (size_t)(n * p + n));
    if (!A)
        return sclaw_fail(SCLAW_E_NOMEM, "least squares of %lld points: out of memory",
                          (long long)n);
    double *b = A + n * p;
    for (int64_t i = 0; i < n; i++) {
        double t = (x[i] - mean) / scale, pw = 1;
        for (int k = p - 1; k >= 0; k--) {
            A[k * n + i] = pw;
            pw *= t;
        }
        b[i] = y[i];
    }
    /* Householder QR: for each column j reflect rows j..n-1 onto e_j and apply
     * the same reflection to the remaining columns and to b. */
    int st = SCLAW_OK;
    double R[3][3] = {{0}};
    for (int j = 0; j < p; j++) {
        double *a = A + j * n, norm = 0;
        for (int64_t i = j; i < n; i++)
            norm += a[i] * a[i];
        norm = sqrt(norm);
        if (!(norm > 0)) {
            st = sclaw_fail(SCLAW_E_NUMERIC, "singular least-squares system (too few distinct x)");
            goto done;
        }
        double alpha = a[j] > 0 ? -norm : norm;  /* avoid cancellation */
        a[j] -= alpha;                           /* v = a - alpha e_j, stored in a[j..] */
        double vv = 0;
        for (int64_t i = j; i < n; i++)
            vv += a[i] * a[i];
        for (int k = j + 1; k <= p; k++) {       /* k == p is b */
            double *col = k < p ? A + k * n : b, dot = 0;
            for (int64_t i = j; i < n; i++)
                dot += a[i] * col[i];
            double f = 2 * dot / vv;
            for (int64_t i = j; i < n; i++)
                col[i] -= f * a[i];
        }
        R[j][j] = alpha;
        for (int k = j + 1; k < p; k++)
            R[j][k] = A[k * n + j];
    }
    /* relative rank check: a tiny diagonal means the x values do not span p */
    for (int j = 1; j < p; j++)
        if (fabs(R[j][j]) < 1e-12 * fabs(R[0][0])) {
            st = sclaw_fail(SCLAW_E_NUMERIC, "singular least-squares system (too few distinct x)");
            goto done;
        }
    double g[3];
    for (int j = p - 1; j >= 0; j--) {
        double s = b[j];
        for (int k = j + 1; k < p; k++)
            s -= R[j][k] * g[k];
        g[j] = s / R[j][j];
    }
    /* g are coefficients in t; expand back to x: t = (x - m) / s */
    if (deg == 1) {
        c[0] = g[0] / scale;
        c[1] = g[1] - g[0] * mean / scale;
    } else {
        double s2 = scale * scale;
        c[0] = g[0] / s2;
        c[1] = -2 * g[0] * mean / s2 + g[1] / scale;
        c[2] = g[0] * mean * mean / s2 - g[1] * mean / scale + g[2];
    }
done:
    free(A);
    return st;
}
