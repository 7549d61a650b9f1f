/* lnd.c - the parametric loss fit L(N,D) (accounting-and-fits.md §4).
 *
 * Model, in the paper's log-sum-exp form (§4.1), with a = ln A, b = ln B, e = ln E:
 *
 *     u = a - alpha ln N,   v = b - beta ln D,   s = LSE(u, v),   w = gamma s
 *     log L_hat = q = LSE(w, e)      <=>   L_hat = E + (A N^-alpha + B D^-beta)^gamma
 *
 * Objective (§4.2): sum_i huber_delta(ln L_i - q_i), minimised with L-BFGS
 * (liblbfgs) from every point of the paper's initialisation grid (§4.3), best
 * by objective. Unlike the paper (scipy L-BFGS-B with 2-point finite
 * differences) the gradient here is analytic:
 *
 *     r = ln L - q,  g = -huber'(r)  (d obj / d q)
 *     dq/dw = sw = e^(w - q),   dq/de = 1 - sw
 *     dw/dgamma = s,  dw/ds = gamma,   ds/du = pu = e^(u - s),  ds/dv = 1 - pu
 *     du/da = 1, du/dalpha = -ln N,   dv/db = 1, dv/dbeta = -ln D
 *
 * The grid runs on OpenMP threads; each start is independent and
 * deterministic, and the winner is chosen by (objective, init index), so the
 * result does not depend on the thread count. Bootstrap intervals refit each
 * resample from the best full-data parameters.
 */
#include "sclaw_fit.h"
#include "sclaw_status.h"

#include <lbfgs.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

const char *const sclaw_lnd_ci_names[SCLAW_LND_NCI] = {
    "a", "b", "e", "alpha", "beta", "gamma", "A", "B", "E", "a_opt", "b_opt",
};

void sclaw_lnd_opts_default(struct sclaw_lnd_opts *o)
{
    memset(o, 0, sizeof *o);
    o->delta = 1e-3;
    o->max_iter = 2000;
}

/* Stable ln(e^x + e^y). */
static inline double lse2(double x, double y)
{
    double m = x > y ? x : y;
    if (m == -INFINITY)
        return -INFINITY;
    return m + log(exp(x - m) + exp(y - m));
}

double sclaw_lnd_log_predict(const struct sclaw_lnd_params *p, double N, double D)
{
    double s = lse2(p->a - p->alpha * log(N), p->b - p->beta * log(D));
    return lse2(p->gamma * s, p->e);
}

double sclaw_lnd_predict(const struct sclaw_lnd_params *p, double N, double D)
{
    return exp(sclaw_lnd_log_predict(p, N, D));
}

/* The objective on precomputed logs: lnN, lnD, lnL: [n]. x = (a, b, e, alpha,
 * beta, gamma). grad (6 entries) may be NULL. Sums in double, in index order,
 * so the value is reproducible bit for bit. */
static double objective_logs(const double *x, const double *lnN, const double *lnD,
                             const double *lnL, int64_t n, double delta, double *grad)
{
    double a = x[0], b = x[1], e = x[2], alpha = x[3], beta = x[4], gamma = x[5];
    double f = 0, ga = 0, gb = 0, ge = 0, galpha = 0, gbeta = 0, ggamma = 0;
    for (int64_t i = 0; i < n; i++) {
        double u = a - alpha * lnN[i], v = b - beta * lnD[i];
        /* s = LSE(u, v) and pu = e^(u - s): with m = max(u, v) only one exp */
        double s, pu;
        if (u >= v) {
            double t = exp(v - u);
            s = u + log1p(t);
            pu = 1.0 / (1.0 + t);
        } else {
            double t = exp(u - v);
            s = v + log1p(t);
            pu = t / (1.0 + t);
        }
        double w = gamma * s, q, sw;
        if (w >= e) {
            double t = exp(e - w);
            q = w + log1p(t);
            sw = 1.0 / (1.0 + t);
        } else {
            double t = exp(w - e);
            q = e + log1p(t);
            sw = t / (1.0 + t);
        }
        double r = lnL[i] - q;
        f += sclaw_huber(r, delta);
        if (grad) {
            double g = -sclaw_huber_grad(r, delta);   /* d obj / d q */
            double gw = g * sw;                       /* d obj / d w */
            double gs = gw * gamma;                   /* d obj / d s */
            double gu = gs * pu, gv = gs * (1.0 - pu);
            ga += gu;
            galpha -= gu * lnN[i];
            gb += gv;
            gbeta -= gv * lnD[i];
            ge += g * (1.0 - sw);
            ggamma += gw * s;
        }
    }
    if (grad) {
        grad[0] = ga;
        grad[1] = gb;
        grad[2] = ge;
        grad[3] = galpha;
        grad[4] = gbeta;
        grad[5] = ggamma;
    }
    return f;
}

/* Logs of the data; returns NULL on allocation failure. One block [3n]. */
static double *data_logs(const double *N, const double *D, const double *L, int64_t n)
{
    double *lg = malloc(sizeof(double) * (size_t)(3 * n > 0 ? 3 * n : 1));
    if (!lg)
        return NULL;
    for (int64_t i = 0; i < n; i++) {
        lg[i] = log(N[i]);
        lg[n + i] = log(D[i]);
        lg[2 * n + i] = log(L[i]);
    }
    return lg;
}

double sclaw_lnd_objective(const struct sclaw_lnd_params *p, const double *N, const double *D,
                           const double *L, int64_t n, double delta, double grad[6])
{
    double x[6] = {p->a, p->b, p->e, p->alpha, p->beta, p->gamma};
    double f = 0, g[6] = {0};
    /* evaluate point by point so this needs no allocation */
    for (int64_t i = 0; i < n; i++) {
        double lnN = log(N[i]), lnD = log(D[i]), lnL = log(L[i]), gi[6];
        f += objective_logs(x, &lnN, &lnD, &lnL, 1, delta, grad ? gi : NULL);
        if (grad)
            for (int k = 0; k < 6; k++)
                g[k] += gi[k];
    }
    if (grad)
        memcpy(grad, g, sizeof g);
    return f;
}

int64_t sclaw_lnd_grid(int gamma_free, struct sclaw_lnd_params *out)
{
    static const double ab[5] = {0, 5, 10, 15, 20};
    static const double ev[5] = {-1, -0.5, 0, 0.5, 1};
    static const double ex[4] = {0, 0.2, 0.5, 1};
    static const double gv[4] = {0, 0.5, 1, 1.5};
    int ng = gamma_free ? 4 : 1;
    int64_t k = 0;
    /* numpy: np.array(np.meshgrid(a, b, e, alpha, beta[, gamma])).T.reshape(-1, k).
     * meshgrid's 'xy' indexing swaps the first two axes and .T reverses all of
     * them, so b varies fastest, then a, then e, alpha, beta, gamma. */
    for (int i5 = 0; i5 < ng; i5++)
        for (int i4 = 0; i4 < 4; i4++)
            for (int i3 = 0; i3 < 4; i3++)
                for (int i2 = 0; i2 < 5; i2++)
                    for (int i0 = 0; i0 < 5; i0++)
                        for (int i1 = 0; i1 < 5; i1++, k++)
                            if (out)
                                out[k] = (struct sclaw_lnd_params){
                                    ab[i0], ab[i1], ev[i2], ex[i3], ex[i4],
                                    gamma_free ? gv[i5] : 1.0};
    return k;
}

/* ---- one L-BFGS run -------------------------------------------------- */

struct problem {
    const double *lnN, *lnD, *lnL;   /* [n] each */
    int64_t n;
    double delta;
    int gamma_free;
};

/* liblbfgs callback. With gamma fixed the variable vector has 5 entries and
 * gamma = 1. A non-finite objective (overflow far from the data) is reported
 * as +inf with a zero gradient, which makes the line search back off. */
static lbfgsfloatval_t evaluate(void *inst, const lbfgsfloatval_t *x, lbfgsfloatval_t *g,
                                const int nvar, const lbfgsfloatval_t step)
{
    (void)step;
    const struct problem *pb = inst;
    double xx[6] = {x[0], x[1], x[2], x[3], x[4], pb->gamma_free ? x[5] : 1.0}, gg[6];
    double f = objective_logs(xx, pb->lnN, pb->lnD, pb->lnL, pb->n, pb->delta, gg);
    if (!isfinite(f)) {
        for (int k = 0; k < nvar; k++)
            g[k] = 0;
        return INFINITY;
    }
    for (int k = 0; k < nvar; k++)
        g[k] = gg[k];
    return f;
}

enum { RESTARTS = 5 };

struct run_out {
    double x[6];
    double f;
    int converged;
};

/* Minimise from x0 (6 entries; gamma ignored when fixed). */
static void run_one(const struct problem *pb, const double *x0, int64_t max_iter,
                    struct run_out *ro)
{
    int nvar = pb->gamma_free ? 6 : 5;
    lbfgsfloatval_t x[6];
    lbfgs_parameter_t prm;
    lbfgs_parameter_init(&prm);
    /* The paper runs scipy with ftol = gtol = 1e-32, i.e. until no further
     * progress is possible. The objective is ~1e-4 and extremely flat along a
     * valley in (a, alpha, b, beta), so stop on a tiny relative gradient or
     * on a relative decrease below 1e-13 over 10 iterations. */
    prm.epsilon = 1e-10;
    prm.past = 10;
    prm.delta = 1e-13;
    prm.max_iterations = (int)max_iter;
    prm.max_linesearch = 200;
    memcpy(x, x0, sizeof(double) * (size_t)nvar);
    lbfgsfloatval_t fx = INFINITY;
    int ret = lbfgs(nvar, x, &fx, evaluate, NULL, (void *)pb, &prm);
    /* In the narrow curved valley the More-Thuente search can stall with a
     * rounding error while the gradient is still large; restarting from the
     * point reached (fresh curvature memory) usually makes progress. */
    for (int restart = 0; restart < RESTARTS && ret == LBFGSERR_ROUNDING_ERROR; restart++) {
        double before = fx;
        ret = lbfgs(nvar, x, &fx, evaluate, NULL, (void *)pb, &prm);
        if (!(fx < before))
            break;
    }
    for (int k = 0; k < 6; k++)
        ro->x[k] = k < nvar ? x[k] : 1.0;
    /* liblbfgs leaves x at the last accepted point even when a line search
     * fails, so recompute the objective there */
    ro->f = objective_logs(ro->x, pb->lnN, pb->lnD, pb->lnL, pb->n, pb->delta, NULL);
    if (!isfinite(ro->f))
        ro->f = INFINITY;
    /* Converged: a convergence test was met, or the line search could not
     * improve any further (rounding) at a point whose gradient is tiny
     * relative to the objective's scale. Iteration limits and other
     * failures are not convergence. */
    ro->converged = 0;
    if (ret == LBFGS_SUCCESS || ret == LBFGS_STOP || ret == LBFGS_ALREADY_MINIMIZED) {
        ro->converged = isfinite(ro->f);
    } else if (ret == LBFGSERR_ROUNDING_ERROR || ret == LBFGSERR_MINIMUMSTEP ||
               ret == LBFGSERR_WIDTHTOOSMALL || ret == LBFGSERR_MAXIMUMLINESEARCH ||
               ret == LBFGSERR_INCREASEGRADIENT) {
        double g[6], gn = 0, xn = 0;
        objective_logs(ro->x, pb->lnN, pb->lnD, pb->lnL, pb->n, pb->delta, g);
        for (int k = 0; k < nvar; k++) {
            gn += g[k] * g[k];
            xn += ro->x[k] * ro->x[k];
        }
        ro->converged = isfinite(ro->f) && sqrt(gn) <= 1e-6 * sqrt(xn > 1 ? xn : 1);
    }
}

/* ---- progress --------------------------------------------------------- */

/* Runs finished so far (shared by the worker threads). Only OpenMP thread 0,
 * i.e. the calling thread, reports, so the callback never runs concurrently. */
struct progress {
    int64_t done, total;
    void (*fn)(int64_t, int64_t, void *);
    void *user;
};

static void progress_tick(struct progress *pg)
{
    int64_t d;
#pragma omp atomic capture
    d = ++pg->done;
    if (pg->fn && omp_get_thread_num() == 0)
        pg->fn(d, pg->total, pg->user);
}

/* ---- bootstrap ------------------------------------------------------- */

/* splitmix64: a small deterministic generator, one stream per resample. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile's default (linear interpolation between order statistics)
 * of sorted v: [k]. */
static double percentile_sorted(const double *v, int64_t k, double q)
{
    double pos = q * (double)(k - 1);
    int64_t lo = (int64_t)floor(pos);
    if (lo >= k - 1)
        return v[k - 1];
    double fr = pos - (double)lo;
    return v[lo] + fr * (v[lo + 1] - v[lo]);
}

static void derived(const double *x, double *out /* [SCLAW_LND_NCI] */)
{
    for (int k = 0; k < 6; k++)
        out[k] = x[k];
    out[SCLAW_LND_CI_A] = exp(x[0]);
    out[SCLAW_LND_CI_B] = exp(x[1]);
    out[SCLAW_LND_CI_E] = exp(x[2]);
    out[SCLAW_LND_CI_A_OPT] = x[4] / (x[3] + x[4]);
    out[SCLAW_LND_CI_B_OPT] = x[3] / (x[3] + x[4]);
}

static int bootstrap(const struct problem *pb, const double *best, const struct sclaw_lnd_opts *o,
                     int nt, struct progress *pg, struct sclaw_lnd_result *r)
{
    int64_t K = o->bootstrap, n = pb->n;
    int st = SCLAW_OK;
    double *vals = malloc(sizeof(double) * (size_t)(K * SCLAW_LND_NCI));
    double *logs = malloc(sizeof(double) * (size_t)(3 * n * K));
    int *conv = calloc((size_t)K, sizeof(int));
    if (!vals || !logs || !conv) {
        st = sclaw_fail(SCLAW_E_NOMEM, "bootstrap of %lld resamples: out of memory", (long long)K);
        goto done;
    }
    /* Draw all resamples serially: the indices depend only on (seed, k). */
    for (int64_t k = 0; k < K; k++) {
        uint64_t s = o->seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)(k + 1));
        double *l = logs + 3 * n * k;
        for (int64_t i = 0; i < n; i++) {
            /* multiply-shift maps 64 random bits onto [0, n) */
            int64_t j = (int64_t)(((unsigned __int128)splitmix64(&s) * (uint64_t)n) >> 64);
            l[i] = pb->lnN[j];
            l[n + i] = pb->lnD[j];
            l[2 * n + i] = pb->lnL[j];
        }
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int64_t k = 0; k < K; k++) {
        const double *l = logs + 3 * n * k;
        struct problem pk = {l, l + n, l + 2 * n, n, pb->delta, pb->gamma_free};
        struct run_out ro;
        run_one(&pk, best, o->max_iter, &ro);
        conv[k] = ro.converged;
        derived(ro.x, vals + k * SCLAW_LND_NCI);
        progress_tick(pg);
    }
    r->n_bootstrap = K;
    r->n_bootstrap_failed = 0;
    for (int64_t k = 0; k < K; k++)
        r->n_bootstrap_failed += !conv[k];
    /* percentiles per quantity; reuse logs as the sort buffer */
    for (int c = 0; c < SCLAW_LND_NCI; c++) {
        double *col = logs;
        for (int64_t k = 0; k < K; k++)
            col[k] = vals[k * SCLAW_LND_NCI + c];
        qsort(col, (size_t)K, sizeof(double), cmp_double);
        r->ci_lo[c] = percentile_sorted(col, K, 0.025);
        r->ci_hi[c] = percentile_sorted(col, K, 0.975);
    }
done:
    free(vals);
    free(logs);
    free(conv);
    return st;
}

/* ---- the fit ----------------------------------------------------------- */

int sclaw_fit_lnd(const double *N, const double *D, const double *L, int64_t n,
                  const struct sclaw_lnd_opts *o, struct sclaw_lnd_result *r)
{
    struct sclaw_lnd_opts def;
    if (!o) {
        sclaw_lnd_opts_default(&def);
        o = &def;
    }
    memset(r, 0, sizeof *r);
    for (int c = 0; c < SCLAW_LND_NCI; c++)
        r->ci_lo[c] = r->ci_hi[c] = NAN;
    if (n < 3)
        return sclaw_fail(SCLAW_E_ARG, "L(N,D) fit needs at least 3 runs, got %lld", (long long)n);
    if (!(o->delta > 0))
        return sclaw_fail(SCLAW_E_ARG, "huber delta must be > 0, got %g", o->delta);
    if (o->bootstrap < 0)
        return sclaw_fail(SCLAW_E_ARG, "bootstrap resamples must be >= 0, got %lld",
                          (long long)o->bootstrap);
    for (int64_t i = 0; i < n; i++)
        if (!(N[i] > 0 && D[i] > 0 && L[i] > 0 && isfinite(N[i]) && isfinite(D[i]) &&
              isfinite(L[i])))
            return sclaw_fail(SCLAW_E_ARG, "run %lld: N, D and loss must be finite and > 0 "
                              "(N %g, D %g, loss %g)", (long long)i, N[i], D[i], L[i]);

    int st = SCLAW_OK;
    struct sclaw_lnd_params *grid = NULL;
    struct run_out *runs = NULL;
    double *lg = data_logs(N, D, L, n);
    const struct sclaw_lnd_params *inits = o->inits;
    int64_t ni = o->n_inits;
    if (!inits) {
        ni = sclaw_lnd_grid(o->gamma_free, NULL);
        grid = malloc(sizeof *grid * (size_t)ni);
        if (grid)
            sclaw_lnd_grid(o->gamma_free, grid);
        inits = grid;
    }
    if (ni < 1) {
        st = sclaw_fail(SCLAW_E_ARG, "L(N,D) fit needs at least one initial point");
        goto done;
    }
    runs = malloc(sizeof *runs * (size_t)ni);
    if (!lg || !inits || !runs) {
        st = sclaw_fail(SCLAW_E_NOMEM, "L(N,D) fit of %lld runs from %lld starts: out of memory",
                        (long long)n, (long long)ni);
        goto done;
    }
    struct problem pb = {lg, lg + n, lg + 2 * n, n, o->delta, o->gamma_free};
    int nt = o->threads > 0 ? o->threads : omp_get_max_threads();
    struct progress pg = {0, ni + (o->bootstrap > 0 ? o->bootstrap : 0), o->progress,
                          o->progress_user};
    /* Dynamic scheduling: runs from poor starts take many more iterations. */
#pragma omp parallel for schedule(dynamic, 8) num_threads(nt)
    for (int64_t k = 0; k < ni; k++) {
        double x0[6] = {inits[k].a, inits[k].b, inits[k].e, inits[k].alpha, inits[k].beta,
                        o->gamma_free ? inits[k].gamma : 1.0};
        run_one(&pb, x0, o->max_iter, &runs[k]);
        progress_tick(&pg);
    }
    /* best by (objective, init index): independent of the thread schedule */
    int64_t best = -1;
    for (int64_t k = 0; k < ni; k++) {
        r->n_converged += runs[k].converged;
        if (isfinite(runs[k].f) && (best < 0 || runs[k].f < runs[best].f))
            best = k;
    }
    r->n_points = n;
    r->n_inits = ni;
    if (best < 0) {
        st = sclaw_fail(SCLAW_E_NUMERIC, "L(N,D) fit: no start of %lld gave a finite objective",
                        (long long)ni);
        goto done;
    }
    const double *x = runs[best].x;
    r->p = (struct sclaw_lnd_params){x[0], x[1], x[2], x[3], x[4], x[5]};
    r->A = exp(x[0]);
    r->B = exp(x[1]);
    r->E = exp(x[2]);
    r->objective = runs[best].f;
    r->best_init = best;
    r->best_converged = runs[best].converged;
    if (o->bootstrap > 0)
        st = bootstrap(&pb, x, o, nt, &pg, r);
done:
    free(lg);
    free(grid);
    free(runs);
    return st;
}
