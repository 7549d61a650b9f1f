/* pareto.c - the compute/loss Pareto frontier of Fig. 1 (accounting-and-fits.md §8).
 *
 * Reproduces the repo's construction exactly: add the corner (max C, max L),
 * take Andrew's monotone-chain convex hull of the points in LINEAR
 * coordinates (sort by C then L; pop while cross <= 0, so collinear points
 * are dropped), hull = lower[:-1] + upper[:-1], frontier = hull[:-1]. The
 * corner makes the upper hull a single edge back to the left end, so the
 * frontier is the lower hull: the runs no mix of other runs beats. */
#include "sclaw_fit.h"
#include "sclaw_status.h"

#include <math.h>
#include <stdlib.h>

struct pt {
    double x, y;
    int64_t idx;
};

static int cmp_pt(const void *a, const void *b)
{
    const struct pt *p = a, *q = b;
    if (p->x != q->x)
        return p->x < q->x ? -1 : 1;
    if (p->y != q->y)
        return p->y < q->y ? -1 : 1;
    return (p->idx > q->idx) - (p->idx < q->idx);   /* numpy's lexsort is stable */
}

/* z-component of (a - o) x (b - o): > 0 for a counter-clockwise turn */
static double cross(const struct pt *o, const struct pt *a, const struct pt *b)
{
    return (a->x - o->x) * (b->y - o->y) - (a->y - o->y) * (b->x - o->x);
}

int sclaw_pareto_frontier(const double *C, const double *L, int64_t n, int64_t *idx_out,
                          int64_t *n_out)
{
    *n_out = 0;
    if (n < 1)
        return sclaw_fail(SCLAW_E_ARG, "pareto frontier needs at least one run");
    int64_t m = n + 1;
    struct pt *p = malloc(sizeof *p * (size_t)m);
    struct pt **lower = malloc(sizeof *lower * (size_t)m);
    struct pt **upper = malloc(sizeof *upper * (size_t)m);
    int st = SCLAW_OK;
    if (!p || !lower || !upper) {
        st = sclaw_fail(SCLAW_E_NOMEM, "pareto frontier of %lld runs: out of memory", (long long)n);
        goto done;
    }
    double cmax = -INFINITY, lmax = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(C[i]) || !isfinite(L[i])) {
            st = sclaw_fail(SCLAW_E_ARG, "pareto frontier: run %lld has C %g and loss %g",
                            (long long)i, C[i], L[i]);
            goto done;
        }
        p[i] = (struct pt){C[i], L[i], i};
        cmax = fmax(cmax, C[i]);
        lmax = fmax(lmax, L[i]);
    }
    p[n] = (struct pt){cmax, lmax, n};
    qsort(p, (size_t)m, sizeof *p, cmp_pt);

    int64_t nl = 0, nu = 0;
    for (int64_t i = 0; i < m; i++) {
        while (nl >= 2 && cross(lower[nl - 2], lower[nl - 1], &p[i]) <= 0)
            nl--;
        lower[nl++] = &p[i];
    }
    for (int64_t i = m - 1; i >= 0; i--) {
        while (nu >= 2 && cross(upper[nu - 2], upper[nu - 1], &p[i]) <= 0)
            nu--;
        upper[nu++] = &p[i];
    }
    /* hull = lower[:-1] + upper[:-1]; frontier = hull[:-1] */
    int64_t nh = (nl - 1) + (nu - 1), k = 0;
    for (int64_t i = 0; i < nl - 1 && k < nh - 1; i++)
        idx_out[k++] = lower[i]->idx;
    for (int64_t i = 0; i < nu - 1 && k < nh - 1; i++)
        idx_out[k++] = upper[i]->idx;
    *n_out = k;
done:
    free(p);
    free(lower);
    free(upper);
    return st;
}
