/* isoflop.c - per-budget IsoFLOP parabolas (accounting-and-fits.md §5.2).
 *
 * Runs of one compute budget trace a valley of loss over model size: fit
 * loss = c2 x^2 + c1 x + c0 with x = log10 N (or log10 D) and take the vertex
 * x_opt = 10^(-c1 / 2c2) as the budget's compute-optimal size. The budget's
 * compute coordinate is the mean C of its runs, not its nominal label. */
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

int sclaw_fit_isoflop(const double *x, const double *loss, const double *C, const double *budget,
                      int64_t n, struct sclaw_isoflop_budget *out, int64_t *n_out)
{
    *n_out = 0;
    int st = SCLAW_OK;
    size_t cap = (size_t)(n > 0 ? n : 1);
    double *labels = malloc(sizeof(double) * cap);
    double *lx = malloc(sizeof(double) * cap);
    double *ly = malloc(sizeof(double) * cap);
    if (!labels || !lx || !ly) {
        st = sclaw_fail(SCLAW_E_NOMEM, "IsoFLOP fit of %lld runs: out of memory", (long long)n);
        goto done;
    }
    /* distinct budget labels, increasing */
    int64_t nl = 0;
    for (int64_t i = 0; i < n; i++)
        if (!isnan(budget[i]))
            labels[nl++] = budget[i];
    qsort(labels, (size_t)nl, sizeof(double), cmp_double);
    int64_t nu = 0;
    for (int64_t i = 0; i < nl; i++)
        if (nu == 0 || labels[i] != labels[nu - 1])
            labels[nu++] = labels[i];

    for (int64_t h = 0; h < nu; h++) {
        int64_t m = 0;
        double csum = 0;
        for (int64_t i = 0; i < n; i++) {
            if (budget[i] != labels[h])
                continue;
            if (!(x[i] > 0 && isfinite(loss[i]) && isfinite(C[i]))) {
                st = sclaw_fail(SCLAW_E_ARG, "IsoFLOP budget %g: run %lld has x %g, loss %g, "
                                "C %g (need x > 0 and finite values)", labels[h], (long long)i,
                                x[i], loss[i], C[i]);
                goto done;
            }
            lx[m] = log10(x[i]);
            ly[m] = loss[i];
            csum += C[i];
            m++;
        }
        if (m < 3) {
            sclaw_warn("IsoFLOP budget %g: %lld run%s, a parabola needs 3; budget skipped",
                       labels[h], (long long)m, m == 1 ? "" : "s");
            continue;
        }
        struct sclaw_isoflop_budget *b = &out[*n_out];
        if ((st = sclaw_fit_polyfit(lx, ly, m, 2, b->poly))) {
            st = sclaw_wrap(st, "IsoFLOP budget %g", labels[h]);
            goto done;
        }
        b->budget = labels[h];
        b->flops_mean = csum / (double)m;
        b->n_runs = m;
        double lopt = -b->poly[1] / (2 * b->poly[0]);
        b->x_opt = pow(10.0, lopt);
        b->loss_opt = (b->poly[0] * lopt + b->poly[1]) * lopt + b->poly[2];
        if (!(b->poly[0] > 0))
            sclaw_warn("IsoFLOP budget %g: parabola opens downwards (c2 = %g), x_opt is a maximum",
                       labels[h], b->poly[0]);
        (*n_out)++;
    }
done:
    free(labels);
    free(lx);
    free(ly);
    return st;
}
