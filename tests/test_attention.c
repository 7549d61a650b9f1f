/* test_attention.c - causal multi-head attention and the KV-cache decode step
 * (sclaw_kernels.h; models.md §2 segment masking, §4 decode step).
 *
 * The reference here is the textbook algorithm in double: every score row
 * materialised, masked with -inf, full softmax, then P V. The blocked kernel
 * is compared with it (forward and saved logsumexp), with and without a
 * segment (document) mask, for ids that are packed runs and for ids that are
 * not; its backward is compared with central finite differences of that
 * double reference; the decode step, fed one token at a time, must reproduce
 * the rows of the full causal attention. Workspaces are allocated at exactly
 * the advertised size so that ASan catches any overrun.
 */
#include "testutil.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "sclaw_kernels.h"

static uint64_t rng = 777;

static float *randn(int64_t n, double scale)
{
    float *x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(scale * tu_rand_normal(&rng));
    return x;
}

static double *to_double(const float *x, int64_t n)
{
    double *d = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

#define close_fd(got, want, n, rtol, atol, what) \
    do { \
        double *g_ = to_double((got), (n)); \
        tu_allclose_d(g_, (want), (n), (rtol), (atol), (what)); \
        free(g_); \
    } while (0)

/* Naive attention in double. q, k, v, out: (B, T, NH, hd); lse: (B, NH, T)
 * or NULL; seg: (B, T) or NULL. */
static void attn_d(double *out, double *lse, const double *q, const double *k, const double *v,
                   const int32_t *seg, int64_t B, int64_t T, int64_t NH, int64_t hd)
{
    int64_t ld = NH * hd;
    double *s = malloc(sizeof(double) * (size_t)T);
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < NH; h++)
            for (int64_t i = 0; i < T; i++) {
                double mx = -INFINITY, sum = 0;
                for (int64_t j = 0; j < T; j++) {
                    int ok = j <= i && (!seg || seg[b * T + j] == seg[b * T + i]);
                    s[j] = -INFINITY;
                    if (ok) {
                        double d = 0;
                        const double *qi = q + (b * T + i) * ld + h * hd;
                        const double *kj = k + (b * T + j) * ld + h * hd;
                        for (int64_t e = 0; e < hd; e++)
                            d += qi[e] * kj[e];
                        s[j] = d / sqrt((double)hd);
                    }
                    mx = fmax(mx, s[j]);
                }
                for (int64_t j = 0; j < T; j++) {
                    s[j] = exp(s[j] - mx);
                    sum += s[j];
                }
                if (lse)
                    lse[(b * NH + h) * T + i] = mx + log(sum);
                for (int64_t e = 0; e < hd; e++) {
                    double o = 0;
                    for (int64_t j = 0; j < T; j++)
                        o += s[j] / sum * v[(b * T + j) * ld + h * hd + e];
                    out[(b * T + i) * ld + h * hd + e] = o;
                }
            }
    free(s);
}

/* Segment ids for a test case: 0 none, 1 packed documents (random lengths,
 * increasing ids), 2 ids that are not runs (a document id comes back),
 * 3 one document per row (same as no mask), 4 ids that are not runs and
 * whose later documents have no key before t = 600 (more than one 512-key
 * score tile of the forward sees nothing for their queries). */
static int32_t *make_seg(int kind, int64_t B, int64_t T)
{
    if (kind == 0)
        return NULL;
    int32_t *seg = malloc(sizeof(int32_t) * (size_t)(B * T));
    for (int64_t b = 0; b < B; b++) {
        int32_t id = 10 * (int32_t)b;
        for (int64_t t = 0; t < T; t++) {
            if (kind == 3) {
                seg[b * T + t] = id;
            } else if (kind == 4) {
                seg[b * T + t] = id + (int32_t)(t % 2) + (t >= 600 ? 2 : 0);
            } else if (kind == 1) {
                if (t > 0 && tu_rand_uniform(&rng) < 0.06)
                    id++;
                seg[b * T + t] = id;
            } else {
                seg[b * T + t] = (int32_t)((t / 7) % 3);
            }
        }
    }
    return seg;
}

/* Scale of the random q and k: 1.5 gives ordinary score spreads; larger
 * values give scores of +-100 that only a max-shifted softmax survives. */
static double qk_scale = 1.5;

static void check_forward(int64_t B, int64_t T, int64_t NH, int64_t hd, int segkind)
{
    int64_t n = B * T * NH * hd;
    float *q = randn(n, qk_scale), *k = randn(n, qk_scale), *v = randn(n, 1);
    int32_t *seg = make_seg(segkind, B, T);
    float *out = malloc(sizeof(float) * n), *lse = malloc(sizeof(float) * (B * NH * T));
    float *outr = malloc(sizeof(float) * n);
    size_t ws = sclaw_attention_workspace(B, T, NH, hd);
    float *work = malloc(sizeof(float) * ws);
    sclaw_attention_forward(out, lse, q, k, v, seg, B, T, NH, hd, work);
    sclaw_attention_forward_ref(outr, q, k, v, seg, B, T, NH, hd);
    double *qd = to_double(q, n), *kd = to_double(k, n), *vd = to_double(v, n);
    double *od = malloc(sizeof(double) * n), *lsed = malloc(sizeof(double) * (B * NH * T));
    attn_d(od, lsed, qd, kd, vd, seg, B, T, NH, hd);
    /* float scores carry a relative error ~1e-7, i.e. an absolute error that
     * grows with their size (qk_scale^2); p inherits it relatively */
    double big = qk_scale * qk_scale / 2.25;
    close_fd(out, od, n, 1e-4, 2e-6 * big, "attention forward vs naive softmax");
    close_fd(lse, lsed, B * NH * T, 1e-5, 1e-5 * big, "attention lse vs naive softmax");
    close_fd(outr, od, n, 1e-5, 1e-6, "attention forward_ref vs naive softmax");
    free(q), free(k), free(v), free(seg), free(out), free(lse), free(outr), free(work);
    free(qd), free(kd), free(vd), free(od), free(lsed);
}

static void test_attention_forward(void **state)
{
    (void)state;
    for (int kind = 0; kind < 4; kind++) {
        check_forward(2, 150, 3, 8, kind); /* three query blocks, last one partial */
        check_forward(1, 64, 2, 5, kind);  /* exactly one block, odd head size */
        check_forward(3, 65, 1, 3, kind);  /* one row into the second block */
    }
    check_forward(1, 1, 1, 1, 0);
    check_forward(2, 1, 4, 16, 1);
    qk_scale = 6;
    check_forward(1, 130, 2, 16, 1);
    /* contexts of several key tiles: the running max and sum carried from
     * tile to tile, rows whose first visible key is in a later tile */
    for (int kind = 0; kind < 5; kind++)
        check_forward(1, 1100, 1, 4, kind);
    check_forward(2, 1100, 2, 8, 1);
    qk_scale = 1.5;
    /* a single document id everywhere equals no mask */
    {
        int64_t B = 1, T = 40, NH = 2, hd = 6, n = B * T * NH * hd;
        float *q = randn(n, 1), *k = randn(n, 1), *v = randn(n, 1);
        int32_t seg[40] = { 0 };
        float *o1 = malloc(sizeof(float) * n), *o2 = malloc(sizeof(float) * n);
        float *l1 = malloc(sizeof(float) * 80), *l2 = malloc(sizeof(float) * 80);
        float *work = malloc(sizeof(float) * sclaw_attention_workspace(B, T, NH, hd));
        sclaw_attention_forward(o1, l1, q, k, v, NULL, B, T, NH, hd, work);
        sclaw_attention_forward(o2, l2, q, k, v, seg, B, T, NH, hd, work);
        tu_allclose_f(o2, o1, n, 0, 0, "one segment equals no mask");
        free(q), free(k), free(v), free(o1), free(o2), free(l1), free(l2), free(work);
    }
    assert_true(sclaw_attention_workspace(1, 0, 4, 64) == 0);
    assert_true(sclaw_attention_workspace(1, 1, 1, 1) > 0);
}

/* ---- backward vs finite differences ------------------------------------- */

struct attn_ctx {
    double *q, *k, *v, *g, *out;
    const int32_t *seg;
    int64_t B, T, NH, hd;
};

static double attn_loss(void *p)
{
    struct attn_ctx *c = p;
    int64_t n = c->B * c->T * c->NH * c->hd;
    attn_d(c->out, NULL, c->q, c->k, c->v, c->seg, c->B, c->T, c->NH, c->hd);
    double L = 0;
    for (int64_t i = 0; i < n; i++)
        L += c->g[i] * c->out[i];
    return L;
}

static void fd_grad(double *grad, struct attn_ctx *c, double *x, int64_t n)
{
    const double h = 1e-5;
    for (int64_t i = 0; i < n; i++) {
        double x0 = x[i];
        x[i] = x0 + h;
        double lp = attn_loss(c);
        x[i] = x0 - h;
        double lm = attn_loss(c);
        x[i] = x0;
        grad[i] = (lp - lm) / (2 * h);
    }
}

static void check_backward(int64_t B, int64_t T, int64_t NH, int64_t hd, int segkind)
{
    int64_t n = B * T * NH * hd;
    float *q = randn(n, 1.5), *k = randn(n, 1.5), *v = randn(n, 1), *g = randn(n, 1);
    int32_t *seg = make_seg(segkind, B, T);
    float *out = malloc(sizeof(float) * n), *lse = malloc(sizeof(float) * (B * NH * T));
    float *work = malloc(sizeof(float) * sclaw_attention_workspace(B, T, NH, hd));
    sclaw_attention_forward(out, lse, q, k, v, seg, B, T, NH, hd, work);
    /* gradients start non-zero: the backward must add to them */
    float *dq = randn(n, 1), *dk = randn(n, 1), *dv = randn(n, 1);
    double *gq = malloc(sizeof(double) * n), *gk = malloc(sizeof(double) * n);
    double *gv = malloc(sizeof(double) * n);
    struct attn_ctx c = { to_double(q, n), to_double(k, n), to_double(v, n), to_double(g, n),
                          malloc(sizeof(double) * n), seg, B, T, NH, hd };
    fd_grad(gq, &c, c.q, n);
    fd_grad(gk, &c, c.k, n);
    fd_grad(gv, &c, c.v, n);
    for (int64_t i = 0; i < n; i++) {
        gq[i] += dq[i];
        gk[i] += dk[i];
        gv[i] += dv[i];
    }
    sclaw_attention_backward(dq, dk, dv, g, out, lse, q, k, v, seg, B, T, NH, hd, work);
    close_fd(dq, gq, n, 1e-3, 5e-5, "attention dq vs finite differences");
    close_fd(dk, gk, n, 1e-3, 5e-5, "attention dk vs finite differences");
    close_fd(dv, gv, n, 1e-3, 5e-5, "attention dv vs finite differences");
    free(q), free(k), free(v), free(g), free(seg), free(out), free(lse), free(work);
    free(dq), free(dk), free(dv), free(gq), free(gk), free(gv);
    free(c.q), free(c.k), free(c.v), free(c.g), free(c.out);
}

static void test_attention_backward(void **state)
{
    (void)state;
    for (int kind = 0; kind < 3; kind++)
        check_backward(1, 70, 2, 4, kind); /* crosses the 64-row block boundary */
    check_backward(2, 9, 1, 5, 0);
    check_backward(2, 9, 3, 2, 1);
    check_backward(1, 1, 1, 3, 0);
}

/* ---- the thread count does not change the result ------------------------ */

static void test_attention_threads(void **state)
{
    (void)state;
    int64_t B = 2, T = 97, NH = 3, hd = 8, n = B * T * NH * hd;
    float *q = randn(n, 1), *k = randn(n, 1), *v = randn(n, 1), *g = randn(n, 1);
    int32_t *seg = make_seg(1, B, T);
    float *work = malloc(sizeof(float) * sclaw_attention_workspace(B, T, NH, hd));
    float *o[2], *l[2], *d[2];
    int old = omp_get_max_threads();
    for (int r = 0; r < 2; r++) {
        omp_set_num_threads(r == 0 ? 1 : 2);
        o[r] = malloc(sizeof(float) * n);
        l[r] = malloc(sizeof(float) * (B * NH * T));
        d[r] = calloc((size_t)(3 * n), sizeof(float));
        sclaw_attention_forward(o[r], l[r], q, k, v, seg, B, T, NH, hd, work);
        sclaw_attention_backward(d[r], d[r] + n, d[r] + 2 * n, g, o[r], l[r], q, k, v, seg, B,
                                 T, NH, hd, work);
    }
    omp_set_num_threads(old);
    tu_allclose_f(o[1], o[0], n, 1e-6, 1e-7, "forward, 2 threads vs 1");
    tu_allclose_f(d[1], d[0], 3 * n, 1e-5, 1e-6, "backward, 2 threads vs 1");
    for (int r = 0; r < 2; r++)
        free(o[r]), free(l[r]), free(d[r]);
    free(q), free(k), free(v), free(g), free(seg), free(work);
}

/* ---- KV-cache decode step ----------------------------------------------- */

/* Decode steps t = 0 .. T-1 against the rows of the full forward. Scale 2.5
 * gives peaked softmax rows, so the online max really moves. */
static void check_step(int64_t T, int64_t Tmax)
{
    const int64_t B = 2, NH = 3, hd = 8, n = B * T * NH * hd;
    float *q = randn(n, 2.5), *k = randn(n, 2.5), *v = randn(n, 1);
    float *full = malloc(sizeof(float) * n), *lse = malloc(sizeof(float) * (B * NH * T));
    float *work = malloc(sizeof(float) * sclaw_attention_workspace(B, T, NH, hd));
    sclaw_attention_forward(full, lse, q, k, v, NULL, B, T, NH, hd, work);
    /* cache slots beyond Tk hold NaN: reading one would poison the output */
    float *kc = malloc(sizeof(float) * (B * NH * Tmax * hd));
    float *vc = malloc(sizeof(float) * (B * NH * Tmax * hd));
    for (int64_t i = 0; i < B * NH * Tmax * hd; i++)
        kc[i] = vc[i] = NAN;
    float *qs = malloc(sizeof(float) * (B * NH * hd)), *os = malloc(sizeof(float) * (B * NH * hd));
    float *want = malloc(sizeof(float) * (B * NH * hd));
    for (int64_t t = 0; t < T; t++) {
        for (int64_t b = 0; b < B; b++)
            for (int64_t h = 0; h < NH; h++) {
                int64_t src = ((b * T + t) * NH + h) * hd, bh = b * NH + h;
                memcpy(kc + (bh * Tmax + t) * hd, k + src, sizeof(float) * hd);
                memcpy(vc + (bh * Tmax + t) * hd, v + src, sizeof(float) * hd);
                memcpy(qs + bh * hd, q + src, sizeof(float) * hd);
                memcpy(want + bh * hd, full + src, sizeof(float) * hd);
            }
        sclaw_attention_step(os, qs, kc, vc, B, NH, t + 1, Tmax, hd);
        tu_allclose_f(os, want, B * NH * hd, 1e-5, 1e-5, "decode step vs full attention row");
    }
    free(q), free(k), free(v), free(full), free(lse), free(work), free(kc), free(vc);
    free(qs), free(os), free(want);
}

static void test_attention_step(void **state)
{
    (void)state;
    check_step(100, 128);
    check_step(4700, 4800); /* a long context: many key blocks */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attention_forward),
        cmocka_unit_test(test_attention_backward),
        cmocka_unit_test(test_attention_threads),
        cmocka_unit_test(test_attention_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
