/* runtime_fit.c - runtime models of inference and their robust fit
 * (sclaw_runtime.h, accounting-and-fits.md §3.5).
 *
 * The paper fits with scipy least_squares(method="lm") on the residuals
 * r_i = huber(e_i, delta), e_i = pred_ms_i - meas_ms_i (or the log of both),
 * so it minimises 0.5 * sum huber(e_i)^2. We minimise the same function with
 * a Levenberg-Marquardt solver of our own (n <= 4 parameters, m <= a few
 * hundred points): each step solves the damped linear least-squares problem
 *     min_d || [J; sqrt(lambda) D] d + [r; 0] ||
 * by Householder QR (no normal equations, so the conditioning is not
 * squared), with Nielsen's damping update and MINPACK-style column scaling D.
 *
 * Variables. alpha ~ 1e14 FLOP/s and eps ~ 1e-3 s differ by 17 orders of
 * magnitude, so the solver works in
 *     x_alpha = alpha0 / alpha,  x_beta = beta0 / beta,
 *     x_eps = eps / eps0,        x_bp = eps_bp / eps_bp0,
 * all 1 at the initial values. The inverse rates make every linear mode
 * linear in x (t = F x_alpha / alpha0 + ...): the residual e is affine in x
 * and 0.5*huber(e)^2 is convex in e, so linear_flops and linear_memops have a
 * single minimum that the solver reaches from any start, and a rate that
 * passes through infinity (the degenerate xLSTM step-time beta, §3.5) is a
 * smooth crossing of x = 0 instead of a pole.
 */
#include "sclaw_runtime.h"
#include "sclaw_arch.h"
#include "sclaw_status.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { P_ALPHA, P_BETA, P_EPS, P_BP, NPAR };

static const char *const form_names[SCLAW_RT_NFORMS] = {
    "linear_flops", "linear_memops", "linear_sum_flops_memops", "roofline"};

int sclaw_rt_mode_parse(const char *s)
{
    int log = 0;
    if (!strncmp(s, "log_", 4)) {
        log = SCLAW_RT_LOG;
        s += 4;
    }
    for (int f = 0; f < SCLAW_RT_NFORMS; f++)
        if (!strcmp(s, form_names[f]))
            return f | log;
    /* the repo's names of the roofline (identical function, see header) */
    if (!strcmp(s, "attainable_flops_min") || !strcmp(s, "linear_max_flops_memops"))
        return SCLAW_RT_ROOFLINE | log;
    return -1;
}

const char *sclaw_rt_mode_name(int mode)
{
    static const char *const log_names[SCLAW_RT_NFORMS] = {
        "log_linear_flops", "log_linear_memops", "log_linear_sum_flops_memops", "log_roofline"};
    int f = mode & ~SCLAW_RT_LOG;
    SCLAW_ASSERT(f >= 0 && f < SCLAW_RT_NFORMS);
    return mode & SCLAW_RT_LOG ? log_names[f] : form_names[f];
}

int sclaw_rt_target_parse(const char *s)
{
    if (!strcmp(s, "ttft"))
        return SCLAW_RT_TTFT;
    if (!strcmp(s, "steptime") || !strcmp(s, "step_time"))
        return SCLAW_RT_STEPTIME;
    return -1;
}

const char *sclaw_rt_target_name(enum sclaw_rt_target t)
{
    return t == SCLAW_RT_TTFT ? "ttft" : "steptime";
}

void sclaw_rt_mode_uses(int mode, int *alpha, int *beta, int *eps, int *eps_bp)
{
    int f = mode & ~SCLAW_RT_LOG;
    *alpha = f == SCLAW_RT_LINEAR_FLOPS || f == SCLAW_RT_LINEAR_SUM || f == SCLAW_RT_ROOFLINE;
    *beta = f != SCLAW_RT_LINEAR_FLOPS;
    *eps = 1;
    *eps_bp = f == SCLAW_RT_LINEAR_MEMOPS; /* the repo adds B*eps_bp only there */
}

void sclaw_rt_default_init(const struct sclaw_config *c, enum sclaw_rt_target target,
                           struct sclaw_rt_params *p)
{
    int xlstm = c && c->arch == &sclaw_arch_mlstm;
    /* §3.5: the notebooks' inits; 900e12 is their H100 peak guess */
    p->alpha = (xlstm ? 0.9 : 0.39) * 900e12;
    p->beta = 3.35e12;
    if (target == SCLAW_RT_TTFT) {
        p->eps = xlstm ? 2e-3 : 1e-3;
        p->eps_bp = xlstm ? 1e-6 : 1e-5;
    } else {
        p->eps = 1e-4;
        p->eps_bp = 1e-5;
    }
}

double sclaw_rt_huber(double x, double delta)
{
    double a = fabs(x);
    if (delta == 0)
        return a;
    return a <= delta ? 0.5 * x * x : delta * (a - 0.5 * delta);
}

/* d huber / dx (delta == 0: d|x|/dx, 0 at 0 as numpy's sign) */
static double huber_grad(double x, double delta)
{
    double sign = (x > 0) - (x < 0);
    if (delta == 0)
        return sign;
    return fabs(x) <= delta ? x : delta * sign;
}

/* Model time in seconds and, if dt != NULL, its derivatives by the four
 * physical-parameter "inverse" variables (1/alpha, 1/beta, eps, eps_bp). */
static double model_seconds(int mode, const double inv[NPAR], const struct sclaw_rt_point *x,
                            double dt[NPAR])
{
    double tf = x->flops * inv[P_ALPHA], tm = x->bytes * inv[P_BETA], t;
    double d[NPAR] = {0, 0, 1, 0};
    switch (mode & ~SCLAW_RT_LOG) {
    case SCLAW_RT_LINEAR_FLOPS:
        t = tf;
        d[P_ALPHA] = x->flops;
        break;
    case SCLAW_RT_LINEAR_MEMOPS:
        t = tm + x->batch * inv[P_BP];
        d[P_BETA] = x->bytes;
        d[P_BP] = x->batch;
        break;
    case SCLAW_RT_LINEAR_SUM:
        t = tf + tm;
        d[P_ALPHA] = x->flops;
        d[P_BETA] = x->bytes;
        break;
    default: /* roofline: F / min(alpha, beta F/M) = max(F/alpha, M/beta) */
        if (tf >= tm) {
            t = tf;
            d[P_ALPHA] = x->flops;
        } else {
            t = tm;
            d[P_BETA] = x->bytes;
        }
        break;
    }
    t += inv[P_EPS];
    if (dt)
        memcpy(dt, d, sizeof d);
    return t;
}

static void params_to_inv(int mode, const struct sclaw_rt_params *p, double inv[NPAR])
{
    int ua, ub, ue, ubp;
    sclaw_rt_mode_uses(mode, &ua, &ub, &ue, &ubp);
    inv[P_ALPHA] = ua ? 1.0 / p->alpha : 0;
    inv[P_BETA] = ub ? 1.0 / p->beta : 0;
    inv[P_EPS] = ue ? p->eps : 0;
    inv[P_BP] = ubp ? p->eps_bp : 0;
}

double sclaw_rt_predict_ms(int mode, const struct sclaw_rt_params *p, const struct sclaw_rt_point *x)
{
    double inv[NPAR];
    params_to_inv(mode, p, inv);
    return 1e3 * model_seconds(mode, inv, x, NULL);
}

/* ---- the least-squares problem in scaled variables ---------------------- */

struct problem {
    const struct sclaw_rt_point *pts;
    int64_t m;         /* points */
    int n;             /* free variables */
    int mode;
    double delta;
    int which[NPAR];   /* variable j is physical parameter which[j] */
    double scale[NPAR];/* inverse variable = x_j * scale[j] (see header comment) */
    int logvar[NPAR];  /* 1: rate = p0 * exp(x_j), i.e. inverse = scale * exp(-x_j) */
};

/* The physical inverse variables (1/alpha, 1/beta, eps, eps_bp) of x. */
static void x_to_inv(const struct problem *pb, const double *x, double inv[NPAR])
{
    memset(inv, 0, NPAR * sizeof *inv);
    for (int j = 0; j < pb->n; j++)
        inv[pb->which[j]] = pb->logvar[j] ? pb->scale[j] * exp(-x[j]) : x[j] * pb->scale[j];
}

/* Errors e (m), residuals r = huber(e) (m), and if J != NULL the Jacobian of
 * r (m x n, row-major) and if E != NULL that of e. Returns 0, or -1 when a
 * log mode meets a non-positive time or anything is not finite. */
static int evaluate(const struct problem *pb, const double *x, double *r, double *J, double *E,
                    double *cost)
{
    double inv[NPAR], c = 0;
    x_to_inv(pb, x, inv);
    for (int64_t i = 0; i < pb->m; i++) {
        const struct sclaw_rt_point *p = &pb->pts[i];
        double dt[NPAR], de_dt, e;
        double t = model_seconds(pb->mode, inv, p, dt);
        if (pb->mode & SCLAW_RT_LOG) {
            if (!(t > 0))
                return -1;
            /* log(1000 t) - log(meas_ms) */
            e = log(1e3 * t) - log(p->meas_ms);
            de_dt = 1.0 / t;
        } else {
            e = 1e3 * t - p->meas_ms;
            de_dt = 1e3;
        }
        r[i] = sclaw_rt_huber(e, pb->delta);
        if (!isfinite(r[i]))
            return -1;
        c += r[i] * r[i];
        double g = huber_grad(e, pb->delta);
        for (int j = 0; j < pb->n; j++) {
            /* chain rule through the variable's transform (d inv / d x_j) */
            double dinv = pb->logvar[j] ? -inv[pb->which[j]] : pb->scale[j];
            double dej = de_dt * dt[pb->which[j]] * dinv;
            if (J)
                J[i * pb->n + j] = g * dej;
            if (E)
                E[i * pb->n + j] = dej;
        }
    }
    *cost = 0.5 * c;
    return isfinite(*cost) ? 0 : -1;
}

/* Least squares min ||A d - b|| for A (rows x n, row-major; destroyed), b
 * (rows; destroyed) by Householder QR. d: (n). Returns the smallest |R_jj|
 * relative to the largest (0 if A is rank deficient); d is then still the
 * solution with the dependent components set to 0. */
static double qr_solve(double *A, double *b, int64_t rows, int n, double *d)
{
    double rmax = 0, rmin = INFINITY;
    for (int k = 0; k < n; k++) {
        double norm = 0;
        for (int64_t i = k; i < rows; i++)
            norm += A[i * n + k] * A[i * n + k];
        norm = sqrt(norm);
        if (norm == 0) {
            rmin = 0;
            continue;
        }
        double alpha = A[k * n + k] > 0 ? -norm : norm;
        /* v = a_k - alpha e_k, stored in place; H = I - 2 v v^T / (v^T v) */
        A[k * n + k] -= alpha;
        double vtv = 0;
        for (int64_t i = k; i < rows; i++)
            vtv += A[i * n + k] * A[i * n + k];
        for (int j = k + 1; j < n; j++) {
            double s = 0;
            for (int64_t i = k; i < rows; i++)
                s += A[i * n + k] * A[i * n + j];
            s = 2 * s / vtv;
            for (int64_t i = k; i < rows; i++)
                A[i * n + j] -= s * A[i * n + k];
        }
        double s = 0;
        for (int64_t i = k; i < rows; i++)
            s += A[i * n + k] * b[i];
        s = 2 * s / vtv;
        for (int64_t i = k; i < rows; i++)
            b[i] -= s * A[i * n + k];
        A[k * n + k] = alpha; /* R_kk */
        rmax = fmax(rmax, fabs(alpha));
        rmin = fmin(rmin, fabs(alpha));
    }
    /* back substitution R d = Q^T b (upper triangle of A) */
    for (int k = n - 1; k >= 0; k--) {
        double s = b[k];
        for (int j = k + 1; j < n; j++)
            s -= A[k * n + j] * d[j];
        d[k] = fabs(A[k * n + k]) > rmax * 1e-14 && rmax > 0 ? s / A[k * n + k] : 0;
    }
    return rmax > 0 ? rmin / rmax : 0;
}

/* Does the data determine every variable? Rank of de/dx with unit columns. */
static int identifiable(const double *E, int64_t m, int n)
{
    double *A = malloc((size_t)(m * n) * sizeof *A), *b = calloc((size_t)m, sizeof *b), d[NPAR];
    double ratio = 0;
    if (!A || !b) {
        free(A);
        free(b);
        return 1; /* cannot check: do not claim a problem */
    }
    for (int j = 0; j < n; j++) {
        double s = 0;
        for (int64_t i = 0; i < m; i++)
            s += E[i * n + j] * E[i * n + j];
        s = s > 0 ? 1 / sqrt(s) : 0;
        for (int64_t i = 0; i < m; i++)
            A[i * n + j] = E[i * n + j] * s;
    }
    if (m >= n)
        ratio = qr_solve(A, b, m, n, d);
    free(A);
    free(b);
    /* exact collinearity gives ~1e-16; genuine fits stay far above this */
    return ratio > 1e-9;
}

int sclaw_rt_fit(const struct sclaw_rt_point *pts, int64_t m, const struct sclaw_config *c,
                 enum sclaw_rt_target target, int mode, const struct sclaw_rt_fit_opts *o,
                 struct sclaw_rt_fit *out)
{
    struct problem pb = {.pts = pts, .m = m, .mode = mode, .delta = o->delta};
    struct sclaw_rt_params def, init = o->init;
    int use[NPAR], st = SCLAW_OK;
    const char *names[NPAR] = {"alpha", "beta", "eps", "eps_bp"};
    double *r = NULL, *J = NULL, *A = NULL, *b = NULL, *rn = NULL, *E = NULL;
    double x[NPAR], xn[NPAR], D[NPAR] = {0}, dx[NPAR], cost, cost_n;
    int64_t max_iter = o->max_iter > 0 ? o->max_iter : 2000;
    double tol = o->tol > 0 ? o->tol : 1e-15;

    memset(out, 0, sizeof *out);
    out->p.alpha = out->p.beta = out->p.eps = out->p.eps_bp = NAN;
    if (m < 1)
        return sclaw_fail(SCLAW_E_ARG, "no data points to fit");
    if (!(o->delta >= 0) || !isfinite(o->delta))
        return sclaw_fail(SCLAW_E_ARG, "huber delta must be >= 0, got %g", o->delta);

    sclaw_rt_default_init(c, target, &def);
    if (isnan(init.alpha)) init.alpha = def.alpha;
    if (isnan(init.beta)) init.beta = def.beta;
    if (isnan(init.eps)) init.eps = def.eps;
    if (isnan(init.eps_bp)) init.eps_bp = def.eps_bp;
    double p0[NPAR] = {init.alpha, init.beta, init.eps, init.eps_bp};

    sclaw_rt_mode_uses(mode, &use[P_ALPHA], &use[P_BETA], &use[P_EPS], &use[P_BP]);
    for (int k = 0; k < NPAR; k++) {
        if (!use[k])
            continue;
        if (!isfinite(p0[k]) || ((k == P_ALPHA || k == P_BETA) && p0[k] == 0))
            return sclaw_fail(SCLAW_E_ARG, "initial %s must be a finite%s number, got %g", names[k],
                              k <= P_BETA ? " non-zero" : "", p0[k]);
        int j = pb.n++;
        pb.which[j] = k;
        /* The roofline is only meaningful for positive rates and, unlike the
         * linear forms, gains nothing from the inverse variables (it is
         * piecewise, not affine): fit log(rate / rate0) so the rates stay
         * positive, as the repo's log-space roofline does. */
        pb.logvar[j] = k <= P_BETA && (mode & ~SCLAW_RT_LOG) == SCLAW_RT_ROOFLINE;
        if (pb.logvar[j]) {
            if (p0[k] < 0) {
                st = sclaw_fail(SCLAW_E_ARG, "roofline: initial %s must be positive, got %g",
                                names[k], p0[k]);
                return st;
            }
            pb.scale[j] = 1.0 / p0[k];
        } else if (k <= P_BETA) {
            /* x = p0/p: the inverse rate 1/p = x / p0 */
            pb.scale[j] = 1.0 / p0[k];
        } else {
            /* x = p/p0; a zero start gets the scale of 1 ms per unit */
            pb.scale[j] = p0[k] != 0 ? fabs(p0[k]) : 1e-3;
        }
        x[j] = pb.logvar[j] ? 0.0 : k <= P_BETA ? 1.0 : p0[k] / pb.scale[j];
    }
    const int n = pb.n;
    out->n_points = m;

    r = malloc((size_t)m * sizeof *r);
    rn = malloc((size_t)m * sizeof *rn);
    J = malloc((size_t)(m * n) * sizeof *J);
    E = malloc((size_t)(m * n) * sizeof *E);
    A = malloc((size_t)((m + n) * n) * sizeof *A);
    b = malloc((size_t)(m + n) * sizeof *b);
    if (!r || !rn || !J || !E || !A || !b) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory fitting %lld points", (long long)m);
        goto done;
    }
    if (evaluate(&pb, x, r, J, NULL, &cost)) {
        st = sclaw_fail(SCLAW_E_ARG, "%s: the initial parameters give a %s time (alpha %g, beta %g, "
                        "eps %g, eps_bp %g); set other initial values",
                        sclaw_rt_mode_name(mode), mode & SCLAW_RT_LOG ? "non-positive" : "non-finite",
                        init.alpha, init.beta, init.eps, init.eps_bp);
        goto done;
    }

    /* Levenberg-Marquardt (Nielsen's damping update, MINPACK column scaling) */
    double lambda = 0, nu = 2;
    int64_t it;
    for (it = 0; it < max_iter; it++) {
        double rnorm2 = 2 * cost, gmax = 0;
        for (int j = 0; j < n; j++) {
            double cn = 0, g = 0;
            for (int64_t i = 0; i < m; i++) {
                cn += J[i * n + j] * J[i * n + j];
                g += J[i * n + j] * r[i];
            }
            cn = sqrt(cn);
            D[j] = fmax(D[j], cn > 0 ? cn : (D[j] > 0 ? D[j] : 1));
            /* gtol test: cosine between r and each column of J */
            if (cn > 0 && rnorm2 > 0)
                gmax = fmax(gmax, fabs(g) / (cn * sqrt(rnorm2)));
        }
        if (cost == 0 || gmax <= tol) {
            out->converged = 1;
            break;
        }
        if (it == 0) {
            double dmax = 0;
            for (int j = 0; j < n; j++)
                dmax = fmax(dmax, D[j] * D[j]);
            lambda = 1e-3 * dmax;
        }
        /* damped step: [J; sqrt(lambda) D] dx = [-r; 0] */
        memcpy(A, J, (size_t)(m * n) * sizeof *A);
        memset(A + m * n, 0, (size_t)(n * n) * sizeof *A);
        for (int j = 0; j < n; j++)
            A[(m + j) * n + j] = sqrt(lambda) * D[j];
        for (int64_t i = 0; i < m; i++)
            b[i] = -r[i];
        memset(b + m, 0, (size_t)n * sizeof *b);
        qr_solve(A, b, m + n, n, dx);

        double dxn = 0, xnorm = 0, lin = 0;
        for (int j = 0; j < n; j++) {
            xn[j] = x[j] + dx[j];
            dxn += D[j] * D[j] * dx[j] * dx[j];
            xnorm += D[j] * D[j] * x[j] * x[j];
        }
        /* predicted cost from the linear model: 0.5 ||r + J dx||^2 */
        for (int64_t i = 0; i < m; i++) {
            double s = r[i];
            for (int j = 0; j < n; j++)
                s += J[i * n + j] * dx[j];
            lin += s * s;
        }
        double pred = cost - 0.5 * lin;
        if (sqrt(dxn) <= tol * (sqrt(xnorm) + tol)) {
            out->converged = 1; /* xtol: the step no longer moves x */
            break;
        }
        if (evaluate(&pb, xn, rn, NULL, NULL, &cost_n))
            cost_n = INFINITY; /* outside the log domain: reject the step */
        double rho = pred > 0 ? (cost - cost_n) / pred : -1;
        if (rho > 1e-4) {
            double drop = cost - cost_n;
            memcpy(x, xn, (size_t)n * sizeof *x);
            if (evaluate(&pb, x, r, J, NULL, &cost)) { /* cannot happen: cost_n was finite */
                st = sclaw_fail(SCLAW_E_NUMERIC, "%s: non-finite objective", sclaw_rt_mode_name(mode));
                goto done;
            }
            double f = 2 * rho - 1;
            lambda *= fmax(1.0 / 3.0, 1 - f * f * f);
            nu = 2;
            if (drop <= tol * cost && pred <= tol * cost) {
                out->converged = 1; /* ftol: no relative progress left */
                break;
            }
        } else {
            lambda *= nu;
            nu *= 2;
            /* no step reduces the cost any more (the xtol test above normally
             * stops first, once the damped steps become negligible) */
            if (!isfinite(lambda)) {
                out->converged = 1;
                break;
            }
        }
    }
    out->iterations = it;

    double inv[NPAR];
    if (evaluate(&pb, x, r, J, E, &cost)) {
        st = sclaw_fail(SCLAW_E_NUMERIC, "%s: non-finite objective at the solution",
                        sclaw_rt_mode_name(mode));
        goto done;
    }
    out->objective = cost;
    out->identifiable = identifiable(E, m, n);
    x_to_inv(&pb, x, inv);
    /* back to physical units; 1/0 gives an infinite rate (the data want no F or M term) */
    if (use[P_ALPHA]) out->p.alpha = 1.0 / inv[P_ALPHA];
    if (use[P_BETA]) out->p.beta = 1.0 / inv[P_BETA];
    if (use[P_EPS]) out->p.eps = inv[P_EPS];
    if (use[P_BP]) out->p.eps_bp = inv[P_BP];
    double s2 = 0;
    for (int64_t i = 0; i < m; i++) {
        double q = 1e3 * model_seconds(mode, inv, &pts[i], NULL) / pts[i].meas_ms - 1;
        s2 += q * q;
    }
    out->rms_rel = sqrt(s2 / (double)m);

done:
    free(r);
    free(rn);
    free(J);
    free(E);
    free(A);
    free(b);
    return st;
}
