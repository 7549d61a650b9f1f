/* test_mlstm.c - the mLSTM cell kernels (models.md §3, sclaw_kernels.h).
 *
 * Checks, each against an independent computation:
 *   - recurrent, parallel and chunkwise forwards agree (1e-5 relative), for T
 *     a multiple of L and not, several BH, dqk != dv; all three also agree
 *     with a double-precision recurrent reference written here;
 *   - chunkwise and parallel backwards agree (1e-4 relative);
 *   - chunkwise final state = recurrent state; a non-zero initial state; two
 *     chunkwise calls = one (prefill); different L give the same result;
 *   - gradients (q, k, v and the i, f preactivations before the soft-cap)
 *     against central finite differences of the double reference followed by
 *     a per-head LayerNorm (§3.5: the normaliser-free backward is exact only
 *     behind a scale-invariant norm);
 *   - numerics: |i| at the soft-cap 15, forget gates of -25 (document reset),
 *     T = 512 stays finite and consistent; backward accumulates.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sclaw_kernels.h"
#include "testutil.h"
/* the kernels' private vectorisable exp, tested directly below */
#include "../src/kernels/mlstm_internal.h"

#define GATE_CAP 15.0
#define RESET_F (-25.0)

/* ---- problem instances ---------------------------------------------------- */

struct prob {
    int64_t BH, T, dqk, dv;
    float *q, *k, *v;   /* (BH, T, dqk) x2, (BH, T, dv) */
    float *i, *f;       /* (BH, T) after the soft-cap (kernel inputs) */
    double *ip, *fp;    /* (BH, T) preactivations before the cap */
    unsigned char *rst; /* (BH, T) 1 where f is overwritten with -25 */
};

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    assert_non_null(p);
    return p;
}

/* Workspace: 64-byte aligned, filled with NaN so that a kernel reading
 * scratch it did not write shows up in the results. */
static float *work_alloc(size_t nfloats)
{
    size_t bytes = (nfloats * sizeof(float) + 63) / 64 * 64;
    float *w = aligned_alloc(64, bytes ? bytes : 64);
    assert_non_null(w);
    for (size_t x = 0; x < nfloats; x++)
        w[x] = NAN;
    return w;
}

static double capg(double x) { return GATE_CAP * tanh(x / GATE_CAP); }

/* Fill inputs: q, k, v ~ N(0, 1); i~ uniform [ilo, ihi]; f~ uniform [flo, fhi];
 * a fraction prst of positions gets the document reset f = -25. */
static void prob_init(struct prob *p, int64_t BH, int64_t T, int64_t dqk, int64_t dv,
                      uint64_t seed, double ilo, double ihi, double flo, double fhi, double prst)
{
    p->BH = BH, p->T = T, p->dqk = dqk, p->dv = dv;
    size_t nq = (size_t)(BH * T * dqk), nv = (size_t)(BH * T * dv), ng = (size_t)(BH * T);
    p->q = xcalloc(nq, sizeof(float));
    p->k = xcalloc(nq, sizeof(float));
    p->v = xcalloc(nv, sizeof(float));
    p->i = xcalloc(ng, sizeof(float));
    p->f = xcalloc(ng, sizeof(float));
    p->ip = xcalloc(ng, sizeof(double));
    p->fp = xcalloc(ng, sizeof(double));
    p->rst = xcalloc(ng, 1);
    uint64_t st = seed;
    for (size_t x = 0; x < nq; x++) {
        p->q[x] = (float)tu_rand_normal(&st);
        p->k[x] = (float)tu_rand_normal(&st);
    }
    for (size_t x = 0; x < nv; x++)
        p->v[x] = (float)tu_rand_normal(&st);
    for (size_t x = 0; x < ng; x++) {
        p->ip[x] = ilo + (ihi - ilo) * tu_rand_uniform(&st);
        p->fp[x] = flo + (fhi - flo) * tu_rand_uniform(&st);
        p->rst[x] = tu_rand_uniform(&st) < prst;
        p->i[x] = (float)capg(p->ip[x]);
        p->f[x] = p->rst[x] ? (float)RESET_F : (float)capg(p->fp[x]);
    }
}

static void prob_free(struct prob *p)
{
    free(p->q), free(p->k), free(p->v), free(p->i), free(p->f);
    free(p->ip), free(p->fp), free(p->rst);
}

static double maxabs_f(const float *x, int64_t n)
{
    double m = 0;
    for (int64_t a = 0; a < n; a++)
        m = fmax(m, fabs((double)x[a]));
    return m;
}

static int all_finite(const float *x, int64_t n)
{
    for (int64_t a = 0; a < n; a++)
        if (!isfinite(x[a]))
            return 0;
    return 1;
}

/* Arrays compared with rtol and an absolute floor atol_frac * max|want|
 * (elements near zero carry the absolute rounding of their row). */
#define CLOSE(got, want, n, rtol, afrac, what) \
    tu_allclose_f((got), (want), (n), (rtol), (afrac) * maxabs_f((want), (n)), (what))

/* ---- independent double-precision reference ------------------------------
 * The stabilised recurrence of §3.1 written from the math, in double, one
 * sequence at a time. q, k, v, i, f are doubles with the gates already capped.
 * C (dqk, dv), n (dqk), m: state in/out. */
static void ref_seq(double *h, double *C, double *n, double *m, const double *q,
                    const double *k, const double *v, const double *i, const double *f,
                    int64_t T, int64_t dqk, int64_t dv)
{
    double s = 1.0 / sqrt((double)dqk);
    for (int64_t t = 0; t < T; t++) {
        double lf = -log1p(exp(-f[t])); /* log sigmoid(f); f >= -25 here */
        double mn = fmax(lf + *m, i[t]);
        double fa = exp(lf + *m - mn), ia = exp(i[t] - mn);
        double den = 0;
        for (int64_t a = 0; a < dqk; a++) {
            n[a] = fa * n[a] + ia * k[t * dqk + a];
            den += s * q[t * dqk + a] * n[a];
            for (int64_t c = 0; c < dv; c++)
                C[a * dv + c] = fa * C[a * dv + c] + ia * k[t * dqk + a] * v[t * dv + c];
        }
        double N = fmax(fabs(den), exp(-mn)) + 1e-6;
        for (int64_t c = 0; c < dv; c++) {
            double num = 0;
            for (int64_t a = 0; a < dqk; a++)
                num += s * q[t * dqk + a] * C[a * dv + c];
            h[t * dv + c] = num / N;
        }
        *m = mn;
    }
}

/* Double copies of a problem's inputs (gates from the preactivations). */
struct dprob {
    double *q, *k, *v, *ip, *fp;
};

static void dprob_init(struct dprob *d, const struct prob *p)
{
    size_t nq = (size_t)(p->BH * p->T * p->dqk), nv = (size_t)(p->BH * p->T * p->dv);
    size_t ng = (size_t)(p->BH * p->T);
    d->q = xcalloc(nq, sizeof(double));
    d->k = xcalloc(nq, sizeof(double));
    d->v = xcalloc(nv, sizeof(double));
    d->ip = xcalloc(ng, sizeof(double));
    d->fp = xcalloc(ng, sizeof(double));
    for (size_t x = 0; x < nq; x++)
        d->q[x] = p->q[x], d->k[x] = p->k[x];
    for (size_t x = 0; x < nv; x++)
        d->v[x] = p->v[x];
    /* the preactivations are rounded like the kernel's capped float gates'
     * sources; FD differentiates through the cap in double */
    memcpy(d->ip, p->ip, ng * sizeof(double));
    memcpy(d->fp, p->fp, ng * sizeof(double));
}

static void dprob_free(struct dprob *d) { free(d->q), free(d->k), free(d->v), free(d->ip), free(d->fp); }

/* Reference h (BH, T, dv) in double from zero state; also final states. */
static void ref_forward(double *h, double *Cf, double *nf, double *mf, const struct prob *p,
                        const struct dprob *d)
{
    int64_t T = p->T, dqk = p->dqk, dv = p->dv;
    double *ic = xcalloc((size_t)T, sizeof(double)), *fc = xcalloc((size_t)T, sizeof(double));
    double *C = xcalloc((size_t)(dqk * dv), sizeof(double)), *n = xcalloc((size_t)dqk, sizeof(double));
    for (int64_t b = 0; b < p->BH; b++) {
        for (int64_t t = 0; t < T; t++) {
            ic[t] = capg(d->ip[b * T + t]);
            fc[t] = p->rst[b * T + t] ? RESET_F : capg(d->fp[b * T + t]);
        }
        memset(C, 0, (size_t)(dqk * dv) * sizeof(double));
        memset(n, 0, (size_t)dqk * sizeof(double));
        double m = 0;
        ref_seq(h + b * T * dv, C, n, &m, d->q + b * T * dqk, d->k + b * T * dqk,
                d->v + b * T * dv, ic, fc, T, dqk, dv);
        if (Cf) {
            memcpy(Cf + b * dqk * dv, C, (size_t)(dqk * dv) * sizeof(double));
            memcpy(nf + b * dqk, n, (size_t)dqk * sizeof(double));
            mf[b] = m;
        }
    }
    free(ic), free(fc), free(C), free(n);
}

/* Per-head LayerNorm without eps (exactly scale invariant), then the loss
 * sum(W o LN(h)). If dh != NULL also writes dloss/dh (the LN backward of
 * §3.7 with weight 1, g = W). h, W, dh: (BH*T, dv). */
static double ln_loss(const double *h, const double *W, double *dh, int64_t rows, int64_t dv)
{
    double loss = 0;
    for (int64_t r = 0; r < rows; r++) {
        const double *x = h + r * dv, *w = W + r * dv;
        double mu = 0, var = 0;
        for (int64_t c = 0; c < dv; c++)
            mu += x[c];
        mu /= (double)dv;
        for (int64_t c = 0; c < dv; c++)
            var += (x[c] - mu) * (x[c] - mu);
        var /= (double)dv;
        double rs = 1.0 / sqrt(var);
        double mg = 0, mgx = 0;
        for (int64_t c = 0; c < dv; c++) {
            double xh = (x[c] - mu) * rs;
            loss += w[c] * xh;
            mg += w[c];
            mgx += w[c] * xh;
        }
        mg /= (double)dv, mgx /= (double)dv;
        if (dh)
            for (int64_t c = 0; c < dv; c++)
                dh[r * dv + c] = rs * (w[c] - mg - (x[c] - mu) * rs * mgx);
    }
    return loss;
}

/* ---- kernel drivers ------------------------------------------------------- */

static void run_recurrent(float *h, float *C, float *n, float *m, const struct prob *p)
{
    sclaw_mlstm_forward_recurrent(h, C, n, m, p->q, p->k, p->v, p->i, p->f, p->BH, p->T, p->dqk,
                                  p->dv);
}

static void run_parallel(float *h, const struct prob *p)
{
    float *w = work_alloc(sclaw_mlstm_parallel_workspace(p->BH, p->T, p->dqk, p->dv));
    sclaw_mlstm_forward_parallel(h, p->q, p->k, p->v, p->i, p->f, p->BH, p->T, p->dqk, p->dv, w);
    free(w);
}

static void run_chunkwise(float *h, float *nout, float *mout, float *C, float *n, float *m,
                          const struct prob *p, int64_t L)
{
    float *w = work_alloc(sclaw_mlstm_chunkwise_workspace(p->BH, p->T, p->dqk, p->dv, L));
    sclaw_mlstm_forward_chunkwise(h, nout, mout, C, n, m, p->q, p->k, p->v, p->i, p->f, p->BH,
                                  p->T, p->dqk, p->dv, L, w);
    free(w);
}

/* Gradients of both backward forms: g[0..4] = dq, dk, dv, di, df. */
struct grads {
    float *g[5];
};

static void grads_alloc(struct grads *G, const struct prob *p)
{
    size_t nq = (size_t)(p->BH * p->T * p->dqk), nv = (size_t)(p->BH * p->T * p->dv);
    size_t ng = (size_t)(p->BH * p->T);
    G->g[0] = xcalloc(nq, sizeof(float));
    G->g[1] = xcalloc(nq, sizeof(float));
    G->g[2] = xcalloc(nv, sizeof(float));
    G->g[3] = xcalloc(ng, sizeof(float));
    G->g[4] = xcalloc(ng, sizeof(float));
}

static void grads_free(struct grads *G)
{
    for (int x = 0; x < 5; x++)
        free(G->g[x]);
}

static int64_t grad_len(const struct prob *p, int x)
{
    return x < 2 ? p->BH * p->T * p->dqk : x == 2 ? p->BH * p->T * p->dv : p->BH * p->T;
}

static void run_bw_chunkwise(struct grads *G, const float *dh, const struct prob *p, int64_t L)
{
    int64_t ng = p->BH * p->T;
    float *h = xcalloc((size_t)(ng * p->dv), sizeof(float));
    float *nout = xcalloc((size_t)ng, sizeof(float)), *mout = xcalloc((size_t)ng, sizeof(float));
    float *w = work_alloc(sclaw_mlstm_chunkwise_workspace(p->BH, p->T, p->dqk, p->dv, L));
    sclaw_mlstm_forward_chunkwise(h, nout, mout, NULL, NULL, NULL, p->q, p->k, p->v, p->i, p->f,
                                  p->BH, p->T, p->dqk, p->dv, L, w);
    sclaw_mlstm_backward_chunkwise(G->g[0], G->g[1], G->g[2], G->g[3], G->g[4], dh, p->q, p->k,
                                   p->v, p->i, p->f, nout, mout, p->BH, p->T, p->dqk, p->dv, L,
                                   w);
    free(h), free(nout), free(mout), free(w);
}

static void run_bw_parallel(struct grads *G, const float *dh, const struct prob *p)
{
    float *w = work_alloc(sclaw_mlstm_parallel_workspace(p->BH, p->T, p->dqk, p->dv));
    sclaw_mlstm_backward_parallel(G->g[0], G->g[1], G->g[2], G->g[3], G->g[4], dh, p->q, p->k,
                                  p->v, p->i, p->f, p->BH, p->T, p->dqk, p->dv, w);
    free(w);
}

static const char *gname[5] = { "dq", "dk", "dv", "di", "df" };

/* ---- forward: the three forms and the double reference agree -------------- */

struct shape {
    int64_t BH, T, L, dqk, dv;
};

static const struct shape shapes[] = {
    { 2, 37, 16, 8, 12 },   /* T not a multiple of L */
    { 3, 64, 16, 16, 8 },   /* multiple, dqk > dv */
    { 2, 100, 32, 8, 16 },  /* last chunk of 4 */
    { 1, 5, 16, 4, 6 },     /* T < L: one short chunk */
    { 4, 48, 1, 4, 4 },     /* L = 1: chunkwise = recurrent */
};

static void check_forward(const struct prob *p, int64_t L, double rtol, const char *tag)
{
    int64_t nh = p->BH * p->T * p->dv;
    float *hr = xcalloc((size_t)nh, sizeof(float)), *hp = xcalloc((size_t)nh, sizeof(float));
    float *hc = xcalloc((size_t)nh, sizeof(float)), *hd = xcalloc((size_t)nh, sizeof(float));
    double *href = xcalloc((size_t)nh, sizeof(double));
    float *C = xcalloc((size_t)(p->BH * p->dqk * p->dv), sizeof(float));
    float *n = xcalloc((size_t)(p->BH * p->dqk), sizeof(float)), *m = xcalloc((size_t)p->BH, sizeof(float));
    struct dprob d;
    dprob_init(&d, p);
    ref_forward(href, NULL, NULL, NULL, p, &d);
    for (int64_t x = 0; x < nh; x++)
        hd[x] = (float)href[x];
    run_recurrent(hr, C, n, m, p);
    run_parallel(hp, p);
    run_chunkwise(hc, NULL, NULL, NULL, NULL, NULL, p, L);
    char what[128];
    snprintf(what, sizeof what, "%s: recurrent vs double reference", tag);
    CLOSE(hr, hd, nh, rtol, 1e-6, what);
    snprintf(what, sizeof what, "%s: parallel vs recurrent", tag);
    CLOSE(hp, hr, nh, rtol, 1e-6, what);
    snprintf(what, sizeof what, "%s: chunkwise vs recurrent", tag);
    CLOSE(hc, hr, nh, rtol, 1e-6, what);
    snprintf(what, sizeof what, "%s: chunkwise vs parallel", tag);
    CLOSE(hc, hp, nh, rtol, 1e-6, what);
    dprob_free(&d);
    free(hr), free(hp), free(hc), free(hd), free(href), free(C), free(n), free(m);
}

static void test_forward_forms_agree(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        const struct shape *s = &shapes[c];
        struct prob p;
        /* typical trained-model gates: i in [-6, 4], forget preact in [-2, 6] */
        prob_init(&p, s->BH, s->T, s->dqk, s->dv, 100 + c, -6, 4, -2, 6, 0.0);
        char tag[64];
        snprintf(tag, sizeof tag, "BH=%lld T=%lld L=%lld", (long long)s->BH, (long long)s->T,
                 (long long)s->L);
        check_forward(&p, s->L, 1e-5, tag);
        prob_free(&p);
    }
}

/* Initialisation-like gates: i = 15 tanh(-10/15) = -8.74 (§1.3). The
 * normaliser then sits on its lower bound and the forms differ by eps. */
static void test_forward_init_gates(void **state)
{
    (void)state;
    struct prob p;
    prob_init(&p, 2, 70, 8, 16, 7, -10, -10, 3, 6, 0.0);
    check_forward(&p, 16, 1e-5, "init gates");
    prob_free(&p);
}

/* ---- backward: chunkwise vs parallel ---------------------------------------- */

static void test_backward_forms_agree(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        const struct shape *s = &shapes[c];
        struct prob p;
        prob_init(&p, s->BH, s->T, s->dqk, s->dv, 200 + c, -6, 4, -2, 6, 0.0);
        int64_t nh = p.BH * p.T * p.dv;
        float *dh = xcalloc((size_t)nh, sizeof(float));
        uint64_t st = 900 + c;
        for (int64_t x = 0; x < nh; x++)
            dh[x] = (float)tu_rand_normal(&st);
        struct grads Gc, Gp;
        grads_alloc(&Gc, &p);
        grads_alloc(&Gp, &p);
        run_bw_chunkwise(&Gc, dh, &p, s->L);
        run_bw_parallel(&Gp, dh, &p);
        for (int x = 0; x < 5; x++) {
            char what[96];
            snprintf(what, sizeof what, "BH=%lld T=%lld L=%lld %s chunkwise vs parallel",
                     (long long)s->BH, (long long)s->T, (long long)s->L, gname[x]);
            CLOSE(Gc.g[x], Gp.g[x], grad_len(&p, x), 1e-4, 1e-5, what);
        }
        grads_free(&Gc), grads_free(&Gp);
        free(dh);
        prob_free(&p);
    }
}

/* Backward kernels accumulate: running one twice gives twice the gradient. */
static void test_backward_accumulates(void **state)
{
    (void)state;
    struct prob p;
    prob_init(&p, 2, 21, 4, 6, 5, -3, 3, 0, 4, 0.0);
    int64_t nh = p.BH * p.T * p.dv;
    float *dh = xcalloc((size_t)nh, sizeof(float));
    uint64_t st = 77;
    for (int64_t x = 0; x < nh; x++)
        dh[x] = (float)tu_rand_normal(&st);
    for (int form = 0; form < 2; form++) {
        struct grads G1, G2;
        grads_alloc(&G1, &p), grads_alloc(&G2, &p);
        for (int rep = 0; rep < 2; rep++) {
            if (form == 0)
                run_bw_chunkwise(rep ? &G2 : &G1, dh, &p, 8);
            else
                run_bw_parallel(rep ? &G2 : &G1, dh, &p);
        }
        /* G2 received one call; add a second call on top of G1 */
        if (form == 0)
            run_bw_chunkwise(&G1, dh, &p, 8);
        else
            run_bw_parallel(&G1, dh, &p);
        for (int x = 0; x < 5; x++) {
            int64_t n = grad_len(&p, x);
            for (int64_t a = 0; a < n; a++)
                G2.g[x][a] *= 2.0f;
            CLOSE(G1.g[x], G2.g[x], n, 1e-6, 1e-7, form ? "parallel accumulates" : "chunkwise accumulates");
        }
        grads_free(&G1), grads_free(&G2);
    }
    free(dh);
    prob_free(&p);
}

/* ---- states ------------------------------------------------------------------ */

static void test_final_state(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        const struct shape *s = &shapes[c];
        struct prob p;
        prob_init(&p, s->BH, s->T, s->dqk, s->dv, 300 + c, -6, 8, -2, 6, 0.0);
        int64_t nC = p.BH * p.dqk * p.dv, nn = p.BH * p.dqk, nh = p.BH * p.T * p.dv;
        float *h1 = xcalloc((size_t)nh, sizeof(float)), *h2 = xcalloc((size_t)nh, sizeof(float));
        float *Cr = xcalloc((size_t)nC, sizeof(float)), *nr = xcalloc((size_t)nn, sizeof(float));
        float *mr = xcalloc((size_t)p.BH, sizeof(float));
        float *Cc = xcalloc((size_t)nC, sizeof(float)), *nc = xcalloc((size_t)nn, sizeof(float));
        float *mc = xcalloc((size_t)p.BH, sizeof(float));
        run_recurrent(h1, Cr, nr, mr, &p);
        run_chunkwise(h2, NULL, NULL, Cc, nc, mc, &p, s->L);
        /* states share the stabiliser m, so they compare directly */
        CLOSE(mc, mr, p.BH, 1e-6, 1e-7, "final m chunkwise vs recurrent");
        CLOSE(Cc, Cr, nC, 1e-5, 1e-6, "final C chunkwise vs recurrent");
        CLOSE(nc, nr, nn, 1e-5, 1e-6, "final n chunkwise vs recurrent");
        /* and against the double reference */
        double *Cd = xcalloc((size_t)nC, sizeof(double)), *nd = xcalloc((size_t)nn, sizeof(double));
        double *md = xcalloc((size_t)p.BH, sizeof(double)), *hd = xcalloc((size_t)nh, sizeof(double));
        struct dprob d;
        dprob_init(&d, &p);
        ref_forward(hd, Cd, nd, md, &p, &d);
        float *Cf = xcalloc((size_t)nC, sizeof(float));
        for (int64_t x = 0; x < nC; x++)
            Cf[x] = (float)Cd[x];
        CLOSE(Cc, Cf, nC, 1e-5, 1e-6, "final C chunkwise vs double reference");
        dprob_free(&d);
        free(Cd), free(nd), free(md), free(hd), free(Cf);
        free(h1), free(h2), free(Cr), free(nr), free(mr), free(Cc), free(nc), free(mc);
        prob_free(&p);
    }
}

/* Split a problem along time: [t0, t0 + len). */
static void prob_slice(struct prob *out, const struct prob *p, int64_t t0, int64_t len)
{
    prob_init(out, p->BH, len, p->dqk, p->dv, 1, 0, 0, 0, 0, 0.0);
    for (int64_t b = 0; b < p->BH; b++) {
        memcpy(out->q + b * len * p->dqk, p->q + (b * p->T + t0) * p->dqk,
               (size_t)(len * p->dqk) * sizeof(float));
        memcpy(out->k + b * len * p->dqk, p->k + (b * p->T + t0) * p->dqk,
               (size_t)(len * p->dqk) * sizeof(float));
        memcpy(out->v + b * len * p->dv, p->v + (b * p->T + t0) * p->dv,
               (size_t)(len * p->dv) * sizeof(float));
        for (int64_t t = 0; t < len; t++) {
            out->i[b * len + t] = p->i[b * p->T + t0 + t];
            out->f[b * len + t] = p->f[b * p->T + t0 + t];
            out->ip[b * len + t] = p->ip[b * p->T + t0 + t];
            out->fp[b * len + t] = p->fp[b * p->T + t0 + t];
            out->rst[b * len + t] = p->rst[b * p->T + t0 + t];
        }
    }
}

/* Prefill in two chunkwise calls (state passed along) = one call; continuing
 * from a non-zero state = the recurrent form continuing; any L agrees. */
static void test_state_passing(void **state)
{
    (void)state;
    struct prob p;
    const int64_t BH = 3, T = 90, dqk = 8, dv = 12, T1 = 37;
    prob_init(&p, BH, T, dqk, dv, 400, -6, 8, -2, 6, 0.0);
    struct prob a, b;
    prob_slice(&a, &p, 0, T1);
    prob_slice(&b, &p, T1, T - T1);
    int64_t nC = BH * dqk * dv, nn = BH * dqk;
    float *h = xcalloc((size_t)(BH * T * dv), sizeof(float));
    float *ha = xcalloc((size_t)(BH * T1 * dv), sizeof(float));
    float *hb = xcalloc((size_t)(BH * (T - T1) * dv), sizeof(float));
    float *hbr = xcalloc((size_t)(BH * (T - T1) * dv), sizeof(float));
    float *C1 = xcalloc((size_t)nC, sizeof(float)), *n1 = xcalloc((size_t)nn, sizeof(float));
    float *m1 = xcalloc((size_t)BH, sizeof(float));
    float *C2 = xcalloc((size_t)nC, sizeof(float)), *n2 = xcalloc((size_t)nn, sizeof(float));
    float *m2 = xcalloc((size_t)BH, sizeof(float));
    float *Cr = xcalloc((size_t)nC, sizeof(float)), *nr = xcalloc((size_t)nn, sizeof(float));
    float *mr = xcalloc((size_t)BH, sizeof(float));

    /* one call over T with L = 16 */
    run_chunkwise(h, NULL, NULL, C1, n1, m1, &p, 16);
    /* two calls: [0, 37) with L = 16, then [37, 90) with L = 32 from that state */
    run_chunkwise(ha, NULL, NULL, C2, n2, m2, &a, 16);
    memcpy(Cr, C2, (size_t)nC * sizeof(float));
    memcpy(nr, n2, (size_t)nn * sizeof(float));
    memcpy(mr, m2, (size_t)BH * sizeof(float));
    assert_true(maxabs_f(C2, nC) > 0.0);
    run_chunkwise(hb, NULL, NULL, C2, n2, m2, &b, 32);
    /* recurrent continuing from the same non-zero state */
    run_recurrent(hbr, Cr, nr, mr, &b);

    float *hcat = xcalloc((size_t)(BH * T * dv), sizeof(float));
    for (int64_t bb = 0; bb < BH; bb++) {
        memcpy(hcat + bb * T * dv, ha + bb * T1 * dv, (size_t)(T1 * dv) * sizeof(float));
        memcpy(hcat + (bb * T + T1) * dv, hb + bb * (T - T1) * dv,
               (size_t)((T - T1) * dv) * sizeof(float));
    }
    CLOSE(hcat, h, BH * T * dv, 1e-5, 1e-6, "two chunkwise calls vs one (outputs)");
    CLOSE(C2, C1, nC, 1e-5, 1e-6, "two chunkwise calls vs one (C)");
    CLOSE(n2, n1, nn, 1e-5, 1e-6, "two chunkwise calls vs one (n)");
    CLOSE(m2, m1, BH, 1e-6, 1e-7, "two chunkwise calls vs one (m)");
    CLOSE(hb, hbr, BH * (T - T1) * dv, 1e-5, 1e-6, "chunkwise vs recurrent from a state (h)");
    CLOSE(C2, Cr, nC, 1e-5, 1e-6, "chunkwise vs recurrent from a state (C)");
    CLOSE(n2, nr, nn, 1e-5, 1e-6, "chunkwise vs recurrent from a state (n)");
    CLOSE(m2, mr, BH, 1e-6, 1e-7, "chunkwise vs recurrent from a state (m)");

    /* chunk sizes: outputs, saved normaliser/stabiliser and final state */
    const int64_t Ls[] = { 1, 7, 16, 64, 128 };
    float *hL = xcalloc((size_t)(BH * T * dv), sizeof(float));
    float *no1 = xcalloc((size_t)(BH * T), sizeof(float)), *mo1 = xcalloc((size_t)(BH * T), sizeof(float));
    float *noL = xcalloc((size_t)(BH * T), sizeof(float)), *moL = xcalloc((size_t)(BH * T), sizeof(float));
    float *hz = xcalloc((size_t)(BH * T * dv), sizeof(float));
    float *Cz = xcalloc((size_t)nC, sizeof(float)), *nz = xcalloc((size_t)nn, sizeof(float));
    float *mz = xcalloc((size_t)BH, sizeof(float));
    run_chunkwise(h, no1, mo1, NULL, NULL, NULL, &p, 16);
    run_recurrent(hz, Cz, nz, mz, &p); /* zero-state reference */
    for (size_t x = 0; x < sizeof Ls / sizeof *Ls; x++) {
        float *CL = xcalloc((size_t)nC, sizeof(float)), *nL = xcalloc((size_t)nn, sizeof(float));
        float *mL = xcalloc((size_t)BH, sizeof(float));
        run_chunkwise(hL, noL, moL, CL, nL, mL, &p, Ls[x]);
        char what[64];
        snprintf(what, sizeof what, "L=%lld vs L=16 (h)", (long long)Ls[x]);
        CLOSE(hL, h, BH * T * dv, 1e-5, 1e-6, what);
        snprintf(what, sizeof what, "L=%lld vs L=16 (Nout)", (long long)Ls[x]);
        CLOSE(noL, no1, BH * T, 1e-5, 1e-7, what);
        snprintf(what, sizeof what, "L=%lld vs L=16 (Mout)", (long long)Ls[x]);
        CLOSE(moL, mo1, BH * T, 1e-6, 1e-7, what);
        snprintf(what, sizeof what, "L=%lld final C vs recurrent", (long long)Ls[x]);
        CLOSE(CL, Cz, nC, 1e-5, 1e-6, what);
        snprintf(what, sizeof what, "L=%lld final m vs recurrent", (long long)Ls[x]);
        CLOSE(mL, mz, BH, 1e-6, 1e-7, what);
        snprintf(what, sizeof what, "L=%lld final n vs recurrent", (long long)Ls[x]);
        CLOSE(nL, nz, nn, 1e-5, 1e-6, what);
        free(CL), free(nL), free(mL);
    }
    free(hz), free(Cz), free(nz), free(mz);
    free(hL), free(no1), free(mo1), free(noL), free(moL);
    free(h), free(ha), free(hb), free(hbr), free(hcat);
    free(C1), free(n1), free(m1), free(C2), free(n2), free(m2), free(Cr), free(nr), free(mr);
    prob_free(&a), prob_free(&b), prob_free(&p);
}

/* ---- gradients vs finite differences of the double reference ---------------- */

/* loss(inputs) = sum(W o LN(h)) with h from the double reference. */
static double ref_loss(const struct prob *p, const struct dprob *d, const double *W, double *dh)
{
    int64_t nh = p->BH * p->T * p->dv;
    double *h = xcalloc((size_t)nh, sizeof(double));
    ref_forward(h, NULL, NULL, NULL, p, d);
    double l = ln_loss(h, W, dh, p->BH * p->T, p->dv);
    free(h);
    return l;
}

/* Compare both backward forms with central differences wrt every input:
 * q, k, v and the gate preactivations i~, f~ (through the soft-cap). */
static void check_fd(struct prob *p, int64_t L, uint64_t seed, double rtol, double afrac,
                     const char *tag)
{
    int64_t nh = p->BH * p->T * p->dv, ng = p->BH * p->T;
    double *W = xcalloc((size_t)nh, sizeof(double)), *dhd = xcalloc((size_t)nh, sizeof(double));
    float *dh = xcalloc((size_t)nh, sizeof(float));
    uint64_t st = seed;
    for (int64_t x = 0; x < nh; x++)
        W[x] = tu_rand_normal(&st);
    struct dprob d;
    dprob_init(&d, p);
    ref_loss(p, &d, W, dhd);
    for (int64_t x = 0; x < nh; x++)
        dh[x] = (float)dhd[x];

    struct grads G[2];
    grads_alloc(&G[0], p), grads_alloc(&G[1], p);
    run_bw_chunkwise(&G[0], dh, p, L);
    run_bw_parallel(&G[1], dh, p);
    /* chain the gates through the soft-cap: d i~ = d i (1 - (i/15)^2); a
     * reset position's f does not depend on f~ */
    for (int form = 0; form < 2; form++)
        for (int64_t x = 0; x < ng; x++) {
            double ci = capg(p->ip[x]) / GATE_CAP, cf = capg(p->fp[x]) / GATE_CAP;
            G[form].g[3][x] *= (float)(1.0 - ci * ci);
            G[form].g[4][x] = p->rst[x] ? 0.0f : G[form].g[4][x] * (float)(1.0 - cf * cf);
        }

    double *arr[5] = { d.q, d.k, d.v, d.ip, d.fp };
    for (int x = 0; x < 5; x++) {
        int64_t n = grad_len(p, x);
        float *fd = xcalloc((size_t)n, sizeof(float));
        for (int64_t a = 0; a < n; a++) {
            double x0 = arr[x][a], hstep = 1e-5 * fmax(1.0, fabs(x0));
            arr[x][a] = x0 + hstep;
            double lp = ref_loss(p, &d, W, NULL);
            arr[x][a] = x0 - hstep;
            double lm = ref_loss(p, &d, W, NULL);
            arr[x][a] = x0;
            fd[a] = (float)((lp - lm) / (2 * hstep));
        }
        char what[96];
        snprintf(what, sizeof what, "%s: %s chunkwise vs finite differences", tag, gname[x]);
        CLOSE(G[0].g[x], fd, n, rtol, afrac, what);
        snprintf(what, sizeof what, "%s: %s parallel vs finite differences", tag, gname[x]);
        CLOSE(G[1].g[x], fd, n, rtol, afrac, what);
        free(fd);
    }
    grads_free(&G[0]), grads_free(&G[1]);
    dprob_free(&d);
    free(W), free(dhd), free(dh);
}

static void test_gradients_fd(void **state)
{
    (void)state;
    struct prob p;
    prob_init(&p, 2, 13, 4, 5, 500, -4, 4, -2, 5, 0.0);
    check_fd(&p, 4, 11, 1e-3, 1e-4, "moderate gates, T=13 L=4");
    prob_free(&p);
    prob_init(&p, 1, 16, 3, 6, 501, -4, 4, -2, 5, 0.0);
    check_fd(&p, 8, 12, 1e-3, 1e-4, "T=16 L=8 dqk<dv");
    prob_free(&p);
}

/* Extreme gates: preactivations up to +-40 put i at the +-15 cap, forget gates
 * anywhere in [-15, 15], and document resets (f = -25). */
static void test_gradients_fd_extreme(void **state)
{
    (void)state;
    struct prob p;
    prob_init(&p, 2, 17, 4, 5, 600, -40, 40, -20, 20, 0.15);
    check_fd(&p, 4, 13, 1e-3, 1e-4, "extreme gates with resets");
    prob_free(&p);
}

/* ---- numerics ------------------------------------------------------------------ */

/* A reset (f = -25) makes the outputs after it those of a fresh sequence, up
 * to e^-25 leakage of the old state relative to the new one. That holds when
 * the input gates are comparable on both sides; leakage grows as
 * e^(-25 + i_old - i_new), so a previous document with input gates near +15
 * followed by one near -15 is NOT fully forgotten: a property of the model. */
static void test_document_reset(void **state)
{
    (void)state;
    struct prob p;
    const int64_t BH = 2, T = 60, t0 = 23, dv = 8;
    prob_init(&p, BH, T, 8, dv, 700, -3, 3, 0, 6, 0.0);
    for (int64_t b = 0; b < BH; b++)
        p.f[b * T + t0] = (float)RESET_F;
    struct prob tail;
    prob_slice(&tail, &p, t0, T - t0);
    float *h = xcalloc((size_t)(BH * T * dv), sizeof(float));
    float *ht = xcalloc((size_t)(BH * (T - t0) * dv), sizeof(float));
    float *hs = xcalloc((size_t)(BH * (T - t0) * dv), sizeof(float));
    run_chunkwise(h, NULL, NULL, NULL, NULL, NULL, &p, 16);
    run_chunkwise(ht, NULL, NULL, NULL, NULL, NULL, &tail, 16);
    for (int64_t b = 0; b < BH; b++)
        memcpy(hs + b * (T - t0) * dv, h + (b * T + t0) * dv, (size_t)((T - t0) * dv) * sizeof(float));
    CLOSE(hs, ht, BH * (T - t0) * dv, 1e-5, 1e-6, "after a reset = fresh sequence");
    free(h), free(ht), free(hs);
    prob_free(&tail), prob_free(&p);
}

/* T = 512 with gates at the extremes: every form stays finite, chunkwise still
 * matches recurrent forward and parallel backward. */
static void test_long_sequence_extreme(void **state)
{
    (void)state;
    struct prob p;
    const int64_t BH = 2, T = 512, dqk = 16, dv = 32, L = 64;
    prob_init(&p, BH, T, dqk, dv, 800, -40, 40, -25, 25, 0.02);
    int64_t nh = BH * T * dv;
    float *hr = xcalloc((size_t)nh, sizeof(float)), *hc = xcalloc((size_t)nh, sizeof(float));
    float *hp = xcalloc((size_t)nh, sizeof(float));
    float *C = xcalloc((size_t)(BH * dqk * dv), sizeof(float)), *n = xcalloc((size_t)(BH * dqk), sizeof(float));
    float *m = xcalloc((size_t)BH, sizeof(float));
    run_recurrent(hr, C, n, m, &p);
    run_chunkwise(hc, NULL, NULL, NULL, NULL, NULL, &p, L);
    run_parallel(hp, &p);
    assert_true(all_finite(hr, nh) && all_finite(hc, nh) && all_finite(hp, nh));
    assert_true(all_finite(C, BH * dqk * dv) && all_finite(n, BH * dqk) && all_finite(m, BH));
    /* All three against the double reference. The tolerance is 1e-3, not
     * 1e-5: with gates this extreme some outputs divide by an n.q sum with
     * heavy cancellation (seen here: n.q = 3.3e-4 from terms summing to 2.3 in
     * absolute value, condition ~7000), which amplifies the fp32 rounding of
     * the states; worst measured 2.2e-4 (recurrent, 512 sequential updates). */
    struct dprob d;
    dprob_init(&d, &p);
    double *hdd = xcalloc((size_t)nh, sizeof(double));
    float *hd = xcalloc((size_t)nh, sizeof(float));
    ref_forward(hdd, NULL, NULL, NULL, &p, &d);
    for (int64_t x = 0; x < nh; x++)
        hd[x] = (float)hdd[x];
    CLOSE(hr, hd, nh, 1e-3, 1e-6, "T=512 extreme: recurrent vs double reference");
    CLOSE(hc, hd, nh, 1e-3, 1e-6, "T=512 extreme: chunkwise vs double reference");
    CLOSE(hp, hd, nh, 1e-3, 1e-6, "T=512 extreme: parallel vs double reference");
    CLOSE(hc, hp, nh, 1e-3, 1e-6, "T=512 extreme: chunkwise vs parallel");
    dprob_free(&d);
    free(hdd), free(hd);
    float *dh = xcalloc((size_t)nh, sizeof(float));
    uint64_t st = 801;
    for (int64_t x = 0; x < nh; x++)
        dh[x] = (float)tu_rand_normal(&st);
    struct grads Gc, Gp;
    grads_alloc(&Gc, &p), grads_alloc(&Gp, &p);
    run_bw_chunkwise(&Gc, dh, &p, L);
    run_bw_parallel(&Gp, dh, &p);
    for (int x = 0; x < 5; x++) {
        assert_true(all_finite(Gc.g[x], grad_len(&p, x)));
        assert_true(all_finite(Gp.g[x], grad_len(&p, x)));
        char what[64];
        snprintf(what, sizeof what, "T=512 extreme: %s chunkwise vs parallel", gname[x]);
        CLOSE(Gc.g[x], Gp.g[x], grad_len(&p, x), 1e-4, 1e-5, what);
    }
    grads_free(&Gc), grads_free(&Gp);
    free(hr), free(hc), free(hp), free(C), free(n), free(m), free(dh);
    prob_free(&p);
}

/* mlstm_expf against libm's double exp: <= 2 ulp on [-87, 88], exactly 0
 * below -87 (and for -inf), saturated above 88, exp(0) = 1 exactly. */
static void test_expf_helper(void **state)
{
    (void)state;
    enum { N = 4096 };
    float x[N], y[N];
    double worst = 0;
    for (int blk = 0; blk < 50; blk++) {
        for (int j = 0; j < N; j++)
            x[j] = -100.0f + 200.0f * (float)(blk * N + j) / (50.0f * N);
#pragma omp simd
        for (int j = 0; j < N; j++)
            y[j] = mlstm_expf(x[j]);
        for (int j = 0; j < N; j++) {
            if (x[j] < -87.0f) {
                assert_true(y[j] == 0.0f);
            } else if (x[j] > 88.0f) {
                tu_close(y[j], exp(88.0), 1e-6, 0, "expf saturation");
            } else {
                double ref = exp((double)x[j]);
                worst = fmax(worst, fabs(y[j] - ref) / ref);
            }
        }
    }
    tu_close(worst, 0, 0, 2 * 5.97e-8, "expf worst relative error");
    assert_true(mlstm_expf(0.0f) == 1.0f);
    assert_true(mlstm_expf(-0.0f) == 1.0f);
    assert_true(mlstm_expf(-INFINITY) == 0.0f);
}

/* T = 0: no outputs, the state passes through unchanged. */
static void test_empty_sequence(void **state)
{
    (void)state;
    float C[2 * 3 * 4], n[2 * 3], m[2] = { 1.5f, -2.0f }, C0[2 * 3 * 4], n0[2 * 3];
    for (int x = 0; x < 24; x++)
        C[x] = C0[x] = 0.25f * (float)x;
    for (int x = 0; x < 6; x++)
        n[x] = n0[x] = (float)x;
    float dummy = 0;
    float *w = work_alloc(sclaw_mlstm_chunkwise_workspace(2, 0, 3, 4, 16));
    sclaw_mlstm_forward_chunkwise(&dummy, NULL, NULL, C, n, m, &dummy, &dummy, &dummy, &dummy,
                                  &dummy, 2, 0, 3, 4, 16, w);
    sclaw_mlstm_backward_chunkwise(&dummy, &dummy, &dummy, &dummy, &dummy, &dummy, &dummy, &dummy,
                                   &dummy, &dummy, &dummy, &dummy, &dummy, 2, 0, 3, 4, 16, w);
    sclaw_mlstm_forward_recurrent(&dummy, C, n, m, &dummy, &dummy, &dummy, &dummy, &dummy, 2, 0,
                                  3, 4);
    free(w);
    tu_allclose_f(C, C0, 24, 0, 0, "C after T=0");
    tu_allclose_f(n, n0, 6, 0, 0, "n after T=0");
    assert_true(m[0] == 1.5f && m[1] == -2.0f);
    assert_true(dummy == 0.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_forms_agree),
        cmocka_unit_test(test_forward_init_gates),
        cmocka_unit_test(test_backward_forms_agree),
        cmocka_unit_test(test_backward_accumulates),
        cmocka_unit_test(test_final_state),
        cmocka_unit_test(test_state_passing),
        cmocka_unit_test(test_gradients_fd),
        cmocka_unit_test(test_gradients_fd_extreme),
        cmocka_unit_test(test_document_reset),
        cmocka_unit_test(test_long_sequence_extreme),
        cmocka_unit_test(test_expf_helper),
        cmocka_unit_test(test_empty_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
