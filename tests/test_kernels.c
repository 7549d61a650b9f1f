/* test_kernels.c - matmul and the row/elementwise kernels of sclaw_kernels.h
 * (models.md §1.2, §2, §3.7): matmul, RMSNorm, per-head LayerNorm, SwiGLU,
 * output gate, soft-cap, RoPE, cross-entropy. Attention is in test_attention.c.
 *
 * Every backward is checked against central finite differences of an
 * independent double-precision implementation written here (never the float
 * kernel), on random shapes that include odd sizes. The scalar being
 * differentiated is L = sum(G * f(x)) for a random G, so dL/dx is exactly
 * what a backward kernel receiving dout = G must produce.
 */
#include "testutil.h"

#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sclaw_kernels.h"
/* the kernels' private vectorised exp/tanh (static inline) */
#include "../src/kernels/kmath.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng = 12345;

static float *randn(int64_t n, double scale)
{
    float *x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(scale * tu_rand_normal(&rng));
    return x;
}

static float *zeros(int64_t n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(float)); }

static double *to_double(const float *x, int64_t n)
{
    double *d = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

/* Random size in [lo, hi]. */
static int64_t rsize(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(tu_rand_u64(&rng) % (uint64_t)(hi - lo + 1));
}

/* Compare a float kernel result with a double reference. */
#define close_fd(got, want, n, rtol, atol, what) \
    do { \
        double *g_ = to_double((got), (n)); \
        tu_allclose_d(g_, (want), (n), (rtol), (atol), (what)); \
        free(g_); \
    } while (0)

/* Central finite differences of f (which reads x through ctx) w.r.t. x[0..n),
 * in double: with an O(h^2) stencil and h = 1e-5 the error is ~1e-10. */
typedef double (*loss_fn)(void *ctx);
static void fd_grad(double *grad, loss_fn f, void *ctx, double *x, int64_t n)
{
    const double h = 1e-5;
    for (int64_t i = 0; i < n; i++) {
        double x0 = x[i];
        x[i] = x0 + h;
        double lp = f(ctx);
        x[i] = x0 - h;
        double lm = f(ctx);
        x[i] = x0;
        grad[i] = (lp - lm) / (2 * h);
    }
}

/* ---- matmul ------------------------------------------------------------- */

struct mm_ctx {
    double *x, *w, *g;
    int64_t M, K, N;
};

static double mm_loss(void *p)
{
    struct mm_ctx *c = p;
    double L = 0;
    for (int64_t m = 0; m < c->M; m++)
        for (int64_t n = 0; n < c->N; n++) {
            double y = 0;
            for (int64_t k = 0; k < c->K; k++)
                y += c->x[m * c->K + k] * c->w[n * c->K + k];
            L += c->g[m * c->N + n] * y;
        }
    return L;
}

static void test_matmul(void **state)
{
    (void)state;
    for (int rep = 0; rep < 4; rep++) {
        int64_t M = rsize(1, 37), K = rsize(1, 45), N = rsize(1, 29);
        float *x = randn(M * K, 1), *w = randn(N * K, 1), *g = randn(M * N, 1);
        float *y = randn(M * N, 1), *yr = malloc(sizeof(float) * (size_t)(M * N));
        memcpy(yr, y, sizeof(float) * (size_t)(M * N));
        /* accumulate on odd reps: out += x w^T */
        int acc = rep % 2;
        sclaw_matmul_forward(y, x, w, M, K, N, acc);
        sclaw_matmul_forward_ref(yr, x, w, M, K, N, acc);
        tu_allclose_f(y, yr, M * N, 1e-5, 1e-5, "matmul forward vs ref");

        struct mm_ctx c = { to_double(x, M * K), to_double(w, N * K), to_double(g, M * N), M, K,
                            N };
        double *gx = malloc(sizeof(double) * (size_t)(M * K));
        double *gw = malloc(sizeof(double) * (size_t)(N * K));
        fd_grad(gx, mm_loss, &c, c.x, M * K);
        fd_grad(gw, mm_loss, &c, c.w, N * K);
        float *dx = zeros(M * K), *dw = zeros(N * K), *dxr = zeros(M * K), *dwr = zeros(N * K);
        sclaw_matmul_backward(dx, dw, g, x, w, M, K, N);
        sclaw_matmul_backward_ref(dxr, dwr, g, x, w, M, K, N);
        close_fd(dx, gx, M * K, 1e-4, 1e-5, "matmul dinp vs finite differences");
        close_fd(dw, gw, N * K, 1e-4, 1e-5, "matmul dw vs finite differences");
        tu_allclose_f(dxr, dx, M * K, 1e-5, 1e-5, "matmul dinp ref vs fast");
        tu_allclose_f(dwr, dw, N * K, 1e-5, 1e-5, "matmul dw ref vs fast");
        /* NULL skips a gradient; the other one accumulates (now 2x) */
        sclaw_matmul_backward(NULL, dw, g, x, w, M, K, N);
        for (int64_t i = 0; i < N * K; i++)
            gw[i] *= 2;
        close_fd(dw, gw, N * K, 1e-4, 1e-5, "matmul dw accumulates");
        free(x), free(w), free(g), free(y), free(yr), free(c.x), free(c.w), free(c.g);
        free(gx), free(gw), free(dx), free(dw), free(dxr), free(dwr);
    }
    /* K = 0: an empty product is zero (and must not reach BLAS with lda 0) */
    float y[6] = { 1, 2, 3, 4, 5, 6 }, dummy = 0;
    sclaw_matmul_forward(y, &dummy, &dummy, 2, 0, 3, 0);
    for (int i = 0; i < 6; i++)
        assert_true(y[i] == 0.0f);
}

/* ---- RMSNorm ------------------------------------------------------------ */

struct rms_ctx {
    double *x, *w, *g;
    int64_t N, D;
    double eps;
};

static void rms_d(double *y, const struct rms_ctx *c)
{
    for (int64_t n = 0; n < c->N; n++) {
        double ss = 0;
        for (int64_t j = 0; j < c->D; j++)
            ss += c->x[n * c->D + j] * c->x[n * c->D + j];
        double r = 1 / sqrt(ss / c->D + c->eps);
        for (int64_t j = 0; j < c->D; j++)
            y[n * c->D + j] = c->x[n * c->D + j] * r * c->w[j];
    }
}

static double rms_loss(void *p)
{
    struct rms_ctx *c = p;
    double *y = malloc(sizeof(double) * (size_t)(c->N * c->D)), L = 0;
    rms_d(y, c);
    for (int64_t i = 0; i < c->N * c->D; i++)
        L += c->g[i] * y[i];
    free(y);
    return L;
}

static void test_rmsnorm(void **state)
{
    (void)state;
    /* rep 3: D beyond one 1024-column chunk of the dw reduction */
    for (int rep = 0; rep < 4; rep++) {
        int64_t N = rsize(1, 9), D = rep == 2 ? 131 : rep == 3 ? 1100 : rsize(1, 40);
        float eps = 1e-6f;
        float *x = randn(N * D, 2), *w = randn(D, 1), *g = randn(N * D, 1);
        float *y = zeros(N * D), *rstd = zeros(N);
        sclaw_rmsnorm_forward(y, rstd, x, w, N, D, eps);
        struct rms_ctx c = { to_double(x, N * D), to_double(w, D), to_double(g, N * D), N, D,
                             eps };
        double *yd = malloc(sizeof(double) * (size_t)(N * D));
        rms_d(yd, &c);
        close_fd(y, yd, N * D, 1e-5, 1e-6, "rmsnorm forward");

        double *gx = malloc(sizeof(double) * (size_t)(N * D)), *gw = malloc(sizeof(double) * D);
        fd_grad(gx, rms_loss, &c, c.x, N * D);
        fd_grad(gw, rms_loss, &c, c.w, D);
        float *dx = randn(N * D, 1), *dw = randn(D, 1);
        float *dx0 = malloc(sizeof(float) * (size_t)(N * D)), *dw0 = malloc(sizeof(float) * D);
        memcpy(dx0, dx, sizeof(float) * (size_t)(N * D));
        memcpy(dw0, dw, sizeof(float) * (size_t)D);
        sclaw_rmsnorm_backward(dx, dw, g, x, w, rstd, N, D);
        /* backward accumulates onto what was there */
        for (int64_t i = 0; i < N * D; i++)
            gx[i] += dx0[i];
        for (int64_t i = 0; i < D; i++)
            gw[i] += dw0[i];
        close_fd(dx, gx, N * D, 1e-4, 1e-5, "rmsnorm dx vs finite differences");
        close_fd(dw, gw, D, 1e-4, 1e-5, "rmsnorm dw vs finite differences");
        free(x), free(w), free(g), free(y), free(rstd), free(c.x), free(c.w), free(c.g);
        free(yd), free(gx), free(gw), free(dx), free(dw), free(dx0), free(dw0);
    }
}

/* ---- per-head LayerNorm ------------------------------------------------- */

struct hn_ctx {
    double *x, *w, *g;
    int64_t N, NH, dv;
    double eps;
};

static void hn_d(double *y, const struct hn_ctx *c)
{
    int64_t D = c->NH * c->dv;
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t h = 0; h < c->NH; h++) {
            const double *xr = c->x + n * D + h * c->dv;
            double mu = 0, var = 0;
            for (int64_t e = 0; e < c->dv; e++)
                mu += xr[e] / c->dv;
            for (int64_t e = 0; e < c->dv; e++)
                var += (xr[e] - mu) * (xr[e] - mu) / c->dv;
            for (int64_t e = 0; e < c->dv; e++)
                y[n * D + h * c->dv + e] =
                    (xr[e] - mu) / sqrt(var + c->eps) * c->w[h * c->dv + e];
        }
}

static double hn_loss(void *p)
{
    struct hn_ctx *c = p;
    int64_t n = c->N * c->NH * c->dv;
    double *y = malloc(sizeof(double) * (size_t)n), L = 0;
    hn_d(y, c);
    for (int64_t i = 0; i < n; i++)
        L += c->g[i] * y[i];
    free(y);
    return L;
}

static void test_headnorm(void **state)
{
    (void)state;
    /* rep 3: two dw column chunks, the border inside a head */
    for (int rep = 0; rep < 4; rep++) {
        int64_t N = rsize(1, 7), NH = rep == 3 ? 5 : rsize(1, 4);
        int64_t dv = rep == 2 ? 67 : rep == 3 ? 230 : rsize(2, 17);
        int64_t D = NH * dv;
        float eps = 1e-6f;
        float *x = randn(N * D, 1.5), *w = randn(D, 1), *g = randn(N * D, 1);
        /* rep 1: a large common offset; the two-pass variance must cope */
        if (rep == 1)
            for (int64_t i = 0; i < N * D; i++)
                x[i] += 100.0f;
        float *y = zeros(N * D), *mean = zeros(N * NH), *rstd = zeros(N * NH);
        sclaw_headnorm_forward(y, mean, rstd, x, w, N, NH, dv, eps);
        struct hn_ctx c = { to_double(x, N * D), to_double(w, D), to_double(g, N * D), N, NH, dv,
                            eps };
        double *yd = malloc(sizeof(double) * (size_t)(N * D));
        hn_d(yd, &c);
        close_fd(y, yd, N * D, 1e-4, 1e-5, "headnorm forward");

        double *gx = malloc(sizeof(double) * (size_t)(N * D)), *gw = malloc(sizeof(double) * D);
        fd_grad(gx, hn_loss, &c, c.x, N * D);
        fd_grad(gw, hn_loss, &c, c.w, D);
        float *dx = zeros(N * D), *dw = zeros(D);
        sclaw_headnorm_backward(dx, dw, g, x, w, mean, rstd, N, NH, dv);
        close_fd(dx, gx, N * D, 1e-3, 1e-4, "headnorm dx vs finite differences");
        close_fd(dw, gw, D, 1e-4, 1e-5, "headnorm dw vs finite differences");
        free(x), free(w), free(g), free(y), free(mean), free(rstd), free(c.x), free(c.w);
        free(c.g), free(yd), free(gx), free(gw), free(dx), free(dw);
    }
}

/* ---- SwiGLU and the sigmoid output gate --------------------------------- */

struct gate_ctx {
    double *a, *b, *g;
    int64_t n;
    int swiglu; /* 1: silu(a) b, 0: sigmoid(a) b */
};

static double gate_loss(void *p)
{
    struct gate_ctx *c = p;
    double L = 0;
    for (int64_t i = 0; i < c->n; i++) {
        double s = 1 / (1 + exp(-c->a[i]));
        L += c->g[i] * (c->swiglu ? c->a[i] * s : s) * c->b[i];
    }
    return L;
}

static void check_gate(int swiglu)
{
    int64_t n = rsize(1, 301);
    float *a = randn(n, 3), *b = randn(n, 1), *g = randn(n, 1), *y = zeros(n);
    struct gate_ctx c = { to_double(a, n), to_double(b, n), to_double(g, n), n, swiglu };
    if (swiglu)
        sclaw_swiglu_forward(y, a, b, n);
    else
        sclaw_ogate_forward(y, a, b, n);
    double *yd = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        double s = 1 / (1 + exp(-c.a[i]));
        yd[i] = (swiglu ? c.a[i] * s : s) * c.b[i];
    }
    close_fd(y, yd, n, 1e-5, 1e-6, swiglu ? "swiglu forward" : "ogate forward");
    double *ga = malloc(sizeof(double) * (size_t)n), *gb = malloc(sizeof(double) * (size_t)n);
    fd_grad(ga, gate_loss, &c, c.a, n);
    fd_grad(gb, gate_loss, &c, c.b, n);
    float *da = zeros(n), *db = zeros(n);
    if (swiglu)
        sclaw_swiglu_backward(da, db, g, a, b, n);
    else
        sclaw_ogate_backward(da, db, g, a, b, n);
    close_fd(da, ga, n, 1e-4, 1e-6, swiglu ? "swiglu da" : "ogate do");
    close_fd(db, gb, n, 1e-4, 1e-6, swiglu ? "swiglu db" : "ogate dh");
    free(a), free(b), free(g), free(y), free(c.a), free(c.b), free(c.g), free(yd), free(ga);
    free(gb), free(da), free(db);
}

static void test_gates(void **state)
{
    (void)state;
    check_gate(1);
    check_gate(0);
    /* saturated inputs stay finite: sigmoid(-200) = 0 without NaN */
    float a[4] = { -200, 200, -1e30f, 1e30f }, b[4] = { 1, 1, 1, 1 }, y[4], g[4] = { 1, 1, 1, 1 };
    float da[4] = { 0 }, db[4] = { 0 };
    sclaw_ogate_forward(y, a, b, 4);
    sclaw_ogate_backward(da, db, g, a, b, 4);
    tu_close(y[0], 0, 0, 1e-30, "sigmoid(-200)");
    tu_close(y[1], 1, 0, 1e-7, "sigmoid(200)");
    for (int i = 0; i < 4; i++)
        assert_true(isfinite(y[i]) && isfinite(da[i]) && isfinite(db[i]));
    sclaw_swiglu_forward(y, a, b, 2);
    tu_close(y[0], 0, 0, 1e-30, "silu(-200)");
    tu_close(y[1], 200, 1e-7, 0, "silu(200)");
}

/* ---- soft-cap ----------------------------------------------------------- */

struct cap_ctx {
    double *x, *g, cap;
    int64_t n;
};

static double cap_loss(void *p)
{
    struct cap_ctx *c = p;
    double L = 0;
    for (int64_t i = 0; i < c->n; i++)
        L += c->g[i] * c->cap * tanh(c->x[i] / c->cap);
    return L;
}

static void test_softcap(void **state)
{
    (void)state;
    int64_t n = 257;
    float cap = 15.0f;
    float *x = randn(n, 20), *g = randn(n, 1), *y = zeros(n), *dx = zeros(n);
    struct cap_ctx c = { to_double(x, n), to_double(g, n), cap, n };
    sclaw_softcap_forward(y, x, n, cap);
    double *yd = malloc(sizeof(double) * (size_t)n), *gx = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        yd[i] = cap * tanh(c.x[i] / cap);
    close_fd(y, yd, n, 1e-5, 1e-5, "softcap forward");
    fd_grad(gx, cap_loss, &c, c.x, n);
    sclaw_softcap_backward(dx, g, y, n, cap);
    close_fd(dx, gx, n, 1e-3, 1e-5, "softcap backward vs finite differences");
    /* saturation: |y| reaches but never exceeds cap; the gradient vanishes */
    float big[4] = { 1e4f, -1e4f, 1e30f, -INFINITY }, yb[4], db[4] = { 0 }, one[4] = { 1, 1, 1, 1 };
    sclaw_softcap_forward(yb, big, 4, 30.0f);
    sclaw_softcap_backward(db, one, yb, 4, 30.0f);
    for (int i = 0; i < 4; i++) {
        tu_close(fabs(yb[i]), 30.0, 1e-7, 0, "softcap saturates at the cap");
        tu_close(db[i], 0.0, 0, 1e-6, "softcap gradient vanishes when saturated");
    }
    /* small inputs pass through (tanh(x) ~ x) */
    float tiny = 1e-3f, yt;
    sclaw_softcap_forward(&yt, &tiny, 1, 30.0f);
    tu_close(yt, 1e-3, 1e-6, 0, "softcap is the identity near 0");
    free(x), free(g), free(y), free(dx), free(c.x), free(c.g), free(yd), free(gx);
}

/* ---- RoPE --------------------------------------------------------------- */

struct rope_ctx {
    double *x, *g, theta;
    const int32_t *pos;
    int64_t N, NH, hd;
};

static void rope_d(double *y, const struct rope_ctx *c)
{
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t h = 0; h < c->NH; h++)
            for (int64_t j = 0; j < c->hd / 2; j++) {
                double a = c->pos[n] * pow(c->theta, -2.0 * j / c->hd);
                int64_t o = (n * c->NH + h) * c->hd + 2 * j;
                /* complex multiplication (x0 + i x1) e^{i a} */
                y[o] = c->x[o] * cos(a) - c->x[o + 1] * sin(a);
                y[o + 1] = c->x[o] * sin(a) + c->x[o + 1] * cos(a);
            }
}

static double rope_loss(void *p)
{
    struct rope_ctx *c = p;
    int64_t n = c->N * c->NH * c->hd;
    double *y = malloc(sizeof(double) * (size_t)n), L = 0;
    rope_d(y, c);
    for (int64_t i = 0; i < n; i++)
        L += c->g[i] * y[i];
    free(y);
    return L;
}

static void test_rope(void **state)
{
    (void)state;
    /* two packed documents: positions restart at the border (t = 7) */
    const int64_t N = 12, NH = 3, hd = 10, n = N * NH * hd;
    const int32_t pos[12] = { 0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4 };
    const float theta = 500000.0f;
    float *x = randn(n, 1), *g = randn(n, 1), *y = malloc(sizeof(float) * n);
    memcpy(y, x, sizeof(float) * n);
    sclaw_rope_forward(y, pos, N, NH, hd, theta);
    struct rope_ctx c = { to_double(x, n), to_double(g, n), theta, pos, N, NH, hd };
    double *yd = malloc(sizeof(double) * n), *gx = malloc(sizeof(double) * n);
    rope_d(yd, &c);
    close_fd(y, yd, n, 1e-5, 1e-6, "rope forward");
    /* position 0 is the identity */
    tu_allclose_f(y, x, NH * hd, 0, 0, "rope at position 0");
    tu_allclose_f(y + 7 * NH * hd, x + 7 * NH * hd, NH * hd, 0, 0, "rope restarts per document");
    /* backward is the inverse rotation: it undoes the forward */
    float *z = malloc(sizeof(float) * n);
    memcpy(z, y, sizeof(float) * n);
    sclaw_rope_backward(z, pos, N, NH, hd, theta);
    tu_allclose_f(z, x, n, 1e-5, 1e-6, "rope backward inverts forward");
    /* and it is the gradient of sum(g * rope(x)) */
    fd_grad(gx, rope_loss, &c, c.x, n);
    memcpy(z, g, sizeof(float) * n);
    sclaw_rope_backward(z, pos, N, NH, hd, theta);
    close_fd(z, gx, n, 1e-5, 1e-6, "rope backward vs finite differences");
    /* relative position: the same vectors at positions (p, p-3) in either
     * document give the same q.k after rotation */
    {
        const int64_t hd2 = 64;
        float *q = randn(hd2, 1), *k = randn(hd2, 1), buf[4 * 64];
        const int32_t pp[4] = { 5, 2, 1003, 1000 };
        for (int r = 0; r < 4; r++)
            memcpy(buf + r * hd2, r % 2 ? k : q, sizeof(float) * hd2);
        sclaw_rope_forward(buf, pp, 4, 1, hd2, 10000.0f);
        double d1 = 0, d2 = 0;
        for (int64_t e = 0; e < hd2; e++) {
            d1 += (double)buf[e] * buf[hd2 + e];
            d2 += (double)buf[2 * hd2 + e] * buf[3 * hd2 + e];
        }
        tu_close(d2, d1, 1e-4, 1e-4, "rope q.k depends only on the offset");
        free(q), free(k);
    }
    free(x), free(g), free(y), free(c.x), free(c.g), free(yd), free(gx), free(z);
}

/* ---- cross-entropy ------------------------------------------------------ */

struct xent_ctx {
    double *z, *dl;
    const int32_t *t;
    int64_t N, V;
};

static double xent_loss(void *p)
{
    struct xent_ctx *c = p;
    double L = 0;
    for (int64_t n = 0; n < c->N; n++) {
        if (c->t[n] < 0)
            continue;
        const double *z = c->z + n * c->V;
        double mx = -INFINITY, s = 0;
        for (int64_t j = 0; j < c->V; j++)
            mx = fmax(mx, z[j]);
        for (int64_t j = 0; j < c->V; j++)
            s += exp(z[j] - mx);
        L += c->dl[n] * (mx + log(s) - z[c->t[n]]);
    }
    return L;
}

static void test_xent(void **state)
{
    (void)state;
    /* uniform logits: loss = ln V whatever the target and the constant */
    {
        const int64_t V = 50304;
        float *z = malloc(sizeof(float) * V), loss;
        for (int64_t j = 0; j < V; j++)
            z[j] = 7.25f;
        int32_t t = 123;
        sclaw_xent_forward(&loss, z, &t, 1, V);
        tu_close(loss, log((double)V), 1e-6, 0, "uniform logits give ln V");
        free(z);
    }
    const int64_t N = 6, V = 37;
    const int32_t targets[6] = { 3, -1, 0, 36, -5, 17 };
    float *z = randn(N * V, 3), *dl = randn(N, 1), losses[6];
    /* a large offset on one row: the max shift keeps it finite */
    for (int64_t j = 0; j < V; j++)
        z[2 * V + j] += 1e4f;
    struct xent_ctx c = { to_double(z, N * V), to_double(dl, N), targets, N, V };
    sclaw_xent_forward(losses, z, targets, N, V);
    for (int64_t n = 0; n < N; n++) {
        double one = 1;
        struct xent_ctx r = { c.z + n * V, &one, targets + n, 1, V };
        tu_close(losses[n], xent_loss(&r), 1e-5, 1e-6, "xent forward");
    }
    tu_close(losses[1], 0, 0, 0, "ignored target has zero loss");
    tu_close(losses[4], 0, 0, 0, "ignored target has zero loss");
    double *gz = malloc(sizeof(double) * N * V);
    fd_grad(gz, xent_loss, &c, c.z, N * V);
    /* in place: z becomes its own gradient */
    sclaw_xent_backward_inplace(z, dl, targets, N, V);
    close_fd(z, gz, N * V, 1e-4, 1e-6, "xent in-place gradient vs finite differences");
    for (int64_t j = 0; j < V; j++) {
        assert_true(z[1 * V + j] == 0.0f);
        assert_true(z[4 * V + j] == 0.0f);
    }
    /* each gradient row sums to 0 (softmax minus one-hot) */
    for (int64_t n = 0; n < N; n++) {
        double s = 0;
        for (int64_t j = 0; j < V; j++)
            s += z[n * V + j];
        tu_close(s, 0, 0, 1e-6, "xent gradient row sums to zero");
    }
    free(z), free(dl), free(c.z), free(c.dl), free(gz);
}

/* ---- norms: the dw reduction does not depend on the thread count ---------- */

static void test_norm_threads(void **state)
{
    (void)state;
    const int64_t N = 301, NH = 3, dv = 40, D = NH * dv;
    float *x = randn(N * D, 1), *w = randn(D, 1), *g = randn(N * D, 1);
    float *y = zeros(N * D), *r = zeros(N + N * NH), *m = zeros(N * NH);
    float *dw[2], *dx[2], *hw[2], *hx[2];
    int old = omp_get_max_threads();
    sclaw_rmsnorm_forward(y, r, x, w, N, D, 1e-6f);
    sclaw_headnorm_forward(y, m, r + N, x, w, N, NH, dv, 1e-6f);
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        dw[t] = zeros(D), dx[t] = zeros(N * D), hw[t] = zeros(D), hx[t] = zeros(N * D);
        sclaw_rmsnorm_backward(dx[t], dw[t], g, x, w, r, N, D);
        sclaw_headnorm_backward(hx[t], hw[t], g, x, w, m, r + N, N, NH, dv);
    }
    omp_set_num_threads(old);
    tu_allclose_f(dw[1], dw[0], D, 1e-6, 1e-6, "rmsnorm dw, 2 threads vs 1");
    tu_allclose_f(dx[1], dx[0], N * D, 0, 0, "rmsnorm dx, 2 threads vs 1");
    tu_allclose_f(hw[1], hw[0], D, 1e-6, 1e-6, "headnorm dw, 2 threads vs 1");
    tu_allclose_f(hx[1], hx[0], N * D, 0, 0, "headnorm dx, 2 threads vs 1");
    for (int t = 0; t < 2; t++)
        free(dw[t]), free(dx[t]), free(hw[t]), free(hx[t]);
    free(x), free(w), free(g), free(y), free(r), free(m);
}

/* ---- programmer errors abort with file:line -------------------------------- */

/* Runs fn in a child process; returns its stderr (malloc'ed) and whether it
 * died of SIGABRT. */
static char *run_child(void (*fn)(void), int *aborted)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the parent's OpenMP pool does not survive fork: stay serial */
        omp_set_num_threads(1);
        dup2(fd[1], 2);
        close(fd[0]);
        fn();
        _exit(0);
    }
    close(fd[1]);
    char *buf = calloc(4096, 1);
    size_t len = 0;
    ssize_t got;
    while (len < 4095 && (got = read(fd[0], buf + len, 4095 - len)) > 0)
        len += (size_t)got;
    close(fd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    *aborted = WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
    return buf;
}

static void odd_head_rope(void)
{
    float x[6] = { 0 };
    int32_t pos[1] = { 0 };
    sclaw_rope_forward(x, pos, 1, 2, 3, 10000.0f);
}

static void target_past_vocab(void)
{
    float z[4] = { 0 }, loss;
    int32_t t = 4;
    sclaw_xent_forward(&loss, z, &t, 1, 4);
}

static void test_asserts(void **state)
{
    (void)state;
    int aborted;
    char *err = run_child(odd_head_rope, &aborted);
    assert_true(aborted);
    assert_non_null(strstr(err, "rope.c:"));
    free(err);
    err = run_child(target_past_vocab, &aborted);
    assert_true(aborted);
    assert_non_null(strstr(err, "xent.c:"));
    free(err);
}

/* ---- kmath.h: the kernels' exp and tanh ----------------------------------- */

static void test_kmath(void **state)
{
    (void)state;
    /* dense sweep against libm in double; relative error in float ulps */
    double worst_e = 0, worst_t = 0, at_e = 0, at_t = 0;
    for (double x = -86.8; x < 88.6; x += 3e-4) {
        float f = (float)x;
        double want = exp((double)f), err = fabs(kexp(f) - want) / want;
        if (err > worst_e)
            worst_e = err, at_e = f;
    }
    for (double x = -20; x < 20; x += 1e-5) {
        float f = (float)x;
        double want = tanh((double)f);
        if (want == 0)
            continue;
        double err = fabs(ktanh(f) - want) / fabs(want);
        if (err > worst_t)
            worst_t = err, at_t = f;
    }
    if (worst_e > 3e-7 || worst_t > 3e-7)
        fail_msg("kexp worst rel %.3g at %g, ktanh worst rel %.3g at %g", worst_e, at_e,
                 worst_t, at_t);
    /* special values: exact limits, NaN propagates */
    assert_true(kexp(-INFINITY) == 0.0f && kexp(-1000.0f) == 0.0f && kexp(0.0f) == 1.0f);
    assert_true(isinf(kexp(INFINITY)) && isinf(kexp(1000.0f)) && isnan(kexp(NAN)));
    assert_true(ktanh(INFINITY) == 1.0f && ktanh(-1e30f) == -1.0f && ktanh(0.0f) == 0.0f);
    assert_true(ktanh(1e-30f) == 1e-30f && isnan(ktanh(NAN)));
    assert_true(ksigmoid(-1000.0f) == 0.0f && ksigmoid(1000.0f) == 1.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul),  cmocka_unit_test(test_rmsnorm),
        cmocka_unit_test(test_headnorm), cmocka_unit_test(test_gates),
        cmocka_unit_test(test_softcap),  cmocka_unit_test(test_rope),
        cmocka_unit_test(test_xent),    cmocka_unit_test(test_norm_threads),
        cmocka_unit_test(test_kmath),   cmocka_unit_test(test_asserts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
