/* bench_mlstm.c - speed of the mLSTM cell forms (models.md §3; accounting-and-fits.md §2.3).
 *
 * Times forward and forward+backward of the chunkwise form (§3.3, §3.4)
 * against the quadratic parallel form (§3.2), and the forward of the
 * recurrent step form (§3.1), for the 160M-model head shape (dqk = 64,
 * dv = 128, L = 64) and BH = 8 sequences over T = 256 .. 4096. The chunkwise
 * time per token should stay flat (linear in T), the parallel one grow with T.
 *
 * FLOPs are the paper's: the "first" mode chunkwise cell count of §2.3 for
 * the forward (BH * (T // L) * per-head-per-chunk total) and 3x that for
 * forward+backward (bw = 2 x fw, §2.1). The same model FLOPs are divided by
 * every form's time, so GFLOP/s compare like for like (the parallel form does
 * more actual arithmetic). Each rate is also given as a fraction of the SGEMM
 * rate measured in the same run with the same thread count.
 *
 * Two clocks: wall time, and process CPU time (all threads). On a shared,
 * oversubscribed machine the wall time of a call includes the time other
 * processes held the cores, so the rates and the %peak use CPU time, and the
 * SGEMM peak they are divided by is measured on the same clock (a 1536^3
 * sgemm loop, best of 5). With more than one thread, run with
 * OMP_WAIT_POLICY=passive so spinning idle threads do not count as work.
 *
 * Harness (style.md §2.6): verify the forms agree first, warm up once, median
 * of --reps runs.
 *
 *   OMP_WAIT_POLICY=passive build/bench/bench_mlstm [--reps N] [--threads N] [--tmax T] [--csv]
 *   (unset OPENBLAS_CORETYPE in the command if it is preset: it can halve GEMM)
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sclaw_bench.h"
#include "sclaw_kernels.h"
#include "sclaw_threads.h"

enum { BH = 8, DQK = 64, DV = 128, CHUNK = 64 };

/* §2.3 "first" mode, all F factors = 1: forward FLOPs per head per chunk. */
static double flops_first_chunk(double L, double dqk, double dv)
{
    return 11 * L * L + 17 * L + 5 + 2 * L * L * (dqk + dv) + 4 * L * dqk * dv + 7 * L * dqk +
           2 * L * dv + 2 * dqk * dv + 2 * dqk;
}

/* Everything one timed call needs. */
struct ctx {
    int64_t T;
    float *q, *k, *v, *i, *f, *h, *nout, *mout, *dh;
    float *dq, *dk, *dv, *di, *df;
    float *C, *n, *m;
    float *wc, *wp; /* chunkwise and parallel workspaces */
};

static void *xmalloc(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "bench_mlstm: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double urand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-53;
}

static void ctx_init(struct ctx *c, int64_t T)
{
    size_t nq = (size_t)(BH * T * DQK), nv = (size_t)(BH * T * DV), ng = (size_t)(BH * T);
    c->T = T;
    c->q = xmalloc(nq * 4), c->k = xmalloc(nq * 4), c->v = xmalloc(nv * 4);
    c->i = xmalloc(ng * 4), c->f = xmalloc(ng * 4);
    c->h = xmalloc(nv * 4), c->dh = xmalloc(nv * 4);
    c->nout = xmalloc(ng * 4), c->mout = xmalloc(ng * 4);
    c->dq = xmalloc(nq * 4), c->dk = xmalloc(nq * 4), c->dv = xmalloc(nv * 4);
    c->di = xmalloc(ng * 4), c->df = xmalloc(ng * 4);
    c->C = xmalloc((size_t)(BH * DQK * DV) * 4), c->n = xmalloc((size_t)(BH * DQK) * 4);
    c->m = xmalloc(BH * 4);
    c->wc = xmalloc(sclaw_mlstm_chunkwise_workspace(BH, T, DQK, DV, CHUNK) * 4);
    c->wp = xmalloc(sclaw_mlstm_parallel_workspace(BH, T, DQK, DV) * 4);
    /* q, k, v in [-1.7, 1.7) (unit variance); trained-model-like gates */
    for (size_t x = 0; x < nq; x++)
        c->q[x] = (float)(3.464 * (urand() - 0.5)), c->k[x] = (float)(3.464 * (urand() - 0.5));
    for (size_t x = 0; x < nv; x++)
        c->v[x] = (float)(3.464 * (urand() - 0.5)), c->dh[x] = (float)(3.464 * (urand() - 0.5));
    for (size_t x = 0; x < ng; x++)
        c->i[x] = (float)(-6 + 10 * urand()), c->f[x] = (float)(2 + 4 * urand());
}

static void ctx_free(struct ctx *c)
{
    float *all[] = { c->q, c->k, c->v, c->i, c->f, c->h, c->nout, c->mout, c->dh, c->dq,
                     c->dk, c->dv, c->di, c->df, c->C, c->n, c->m, c->wc, c->wp };
    for (size_t x = 0; x < sizeof all / sizeof *all; x++)
        free(all[x]);
}

static void zero_grads(struct ctx *c)
{
    size_t nq = (size_t)(BH * c->T * DQK), nv = (size_t)(BH * c->T * DV), ng = (size_t)(BH * c->T);
    memset(c->dq, 0, nq * 4), memset(c->dk, 0, nq * 4), memset(c->dv, 0, nv * 4);
    memset(c->di, 0, ng * 4), memset(c->df, 0, ng * 4);
}

static void cw_fw(void *a)
{
    struct ctx *c = a;
    sclaw_mlstm_forward_chunkwise(c->h, c->nout, c->mout, NULL, NULL, NULL, c->q, c->k, c->v,
                                  c->i, c->f, BH, c->T, DQK, DV, CHUNK, c->wc);
}

static void cw_fwbw(void *a)
{
    struct ctx *c = a;
    cw_fw(c);
    sclaw_mlstm_backward_chunkwise(c->dq, c->dk, c->dv, c->di, c->df, c->dh, c->q, c->k, c->v,
                                   c->i, c->f, c->nout, c->mout, BH, c->T, DQK, DV, CHUNK, c->wc);
}

static void par_fw(void *a)
{
    struct ctx *c = a;
    sclaw_mlstm_forward_parallel(c->h, c->q, c->k, c->v, c->i, c->f, BH, c->T, DQK, DV, c->wp);
}

static void par_fwbw(void *a)
{
    struct ctx *c = a;
    par_fw(c);
    sclaw_mlstm_backward_parallel(c->dq, c->dk, c->dv, c->di, c->df, c->dh, c->q, c->k, c->v,
                                  c->i, c->f, BH, c->T, DQK, DV, c->wp);
}

static void rec_fw(void *a)
{
    struct ctx *c = a;
    memset(c->C, 0, (size_t)(BH * DQK * DV) * 4);
    memset(c->n, 0, (size_t)(BH * DQK) * 4);
    memset(c->m, 0, BH * 4);
    sclaw_mlstm_forward_recurrent(c->h, c->C, c->n, c->m, c->q, c->k, c->v, c->i, c->f, BH, c->T,
                                  DQK, DV);
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One warm-up call, then the medians of reps calls on both clocks. */
static void time_call(void (*fn)(void *), void *arg, int reps, double *wall, double *cpu)
{
    double w[64], c[64];
    if (reps > 64)
        reps = 64;
    fn(arg);
    for (int r = 0; r < reps; r++) {
        double w0 = sclaw_bench_now(), c0 = cpu_now();
        fn(arg);
        c[r] = cpu_now() - c0;
        w[r] = sclaw_bench_now() - w0;
    }
    *wall = sclaw_bench_median(w, reps);
    *cpu = sclaw_bench_median(c, reps);
}

/* SGEMM rate per CPU-second (GFLOP/s): n^3 square products with the current
 * thread count, best of 5 after a warm-up call. */
static double gemm_peak_cpu(int n)
{
    float *a = xmalloc((size_t)n * n * 4), *b = xmalloc((size_t)n * n * 4);
    float *c = xmalloc((size_t)n * n * 4);
    for (size_t x = 0; x < (size_t)n * n; x++)
        a[x] = (float)(urand() - 0.5), b[x] = (float)(urand() - 0.5);
    double best = 0;
    for (int r = 0; r < 6; r++) {
        double c0 = cpu_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                    c, n);
        double dt = cpu_now() - c0;
        if (r > 0)
            best = fmax(best, 2.0 * n * n * (double)n / dt * 1e-9);
    }
    free(a), free(b), free(c);
    return best;
}

/* Worst |a - b| / max|b| (a scale-aware relative error). */
static double relerr(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t x = 0; x < n; x++) {
        num = fmax(num, fabs((double)a[x] - b[x]));
        den = fmax(den, fabs((double)b[x]));
    }
    return num / fmax(den, 1e-30);
}

/* Verify before timing: chunkwise vs parallel (forward and all gradients)
 * and vs recurrent (forward). Returns the worst relative error. */
static double verify(struct ctx *c)
{
    size_t nq = (size_t)(BH * c->T * DQK), nv = (size_t)(BH * c->T * DV), ng = (size_t)(BH * c->T);
    float *h1 = xmalloc(nv * 4), *g1[5], *gp[5] = { c->dq, c->dk, c->dv, c->di, c->df };
    size_t len[5] = { nq, nq, nv, ng, ng };
    double worst = 0;
    zero_grads(c);
    cw_fwbw(c);
    memcpy(h1, c->h, nv * 4);
    for (int x = 0; x < 5; x++) {
        g1[x] = xmalloc(len[x] * 4);
        memcpy(g1[x], gp[x], len[x] * 4);
    }
    zero_grads(c);
    par_fwbw(c);
    worst = fmax(worst, relerr(h1, c->h, nv));
    for (int x = 0; x < 5; x++)
        worst = fmax(worst, relerr(g1[x], gp[x], len[x]));
    rec_fw(c);
    worst = fmax(worst, relerr(h1, c->h, nv));
    for (int x = 0; x < 5; x++)
        free(g1[x]);
    free(h1);
    return worst;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_mlstm [--reps N] [--threads N] [--tmax T] [--csv]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int reps = 5, threads = 0, csv = 0;
    int64_t tmax = 4096;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--reps") && a + 1 < argc)
            reps = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--threads") && a + 1 < argc)
            threads = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--tmax") && a + 1 < argc)
            tmax = atoll(argv[++a]);
        else if (!strcmp(argv[a], "--csv"))
            csv = 1;
        else
            usage();
    }
    if (reps < 1 || reps > 64 || threads < 0 || tmax < 256)
        usage();
    sclaw_threads_set(threads);
    threads = sclaw_threads_get();

    /* the §2.3 check value: 160M head shape, L = 64 */
    if (fabs(flops_first_chunk(64, 64, 128) - 3777733.0) > 0.5) {
        fprintf(stderr, "bench_mlstm: FLOP formula does not reproduce the spec's 3,777,733\n");
        return 1;
    }
    char cpu[256];
    sclaw_bench_cpu_line(cpu, sizeof cpu);
    double peak_wall = sclaw_bench_gemm_peak(threads); /* shared helper, wall clock */
    sclaw_threads_set(threads);
    double peak = gemm_peak_cpu(1536);
    printf("# %s\n# threads %d; sgemm peak per CPU-second %.1f GFLOP/s (1536^3, CPU clock), "
           "%.1f GFLOP/s wall (2048^3, sclaw_bench_gemm_peak)\n", cpu, threads, peak, peak_wall);
    printf("# BH=%d dqk=%d dv=%d L=%d, median of %d after 1 warm-up; FLOPs: §2.3 'first' "
           "(fw), 3x fw (fw+bw); GFLOP/s and %%peak per CPU-second\n", BH, DQK, DV, CHUNK, reps);
    if (csv)
        printf("T,form,pass,wall_ms,cpu_ms,cpu_us_per_token,gflops_cpu,frac_peak,"
               "per_token_vs_T256\n");
    else
        printf("%6s %-10s %-6s %9s %9s %9s %9s %7s %11s\n", "T", "form", "pass", "wall ms",
               "cpu ms", "us/token", "GFLOP/s", "%peak", "vs T=256");

    double base[5] = { 0 }; /* per-token time at T = 256, per (form, pass) row */
    for (int64_t T = 256; T <= tmax; T *= 2) {
        struct ctx c;
        ctx_init(&c, T);
        double err = verify(&c);
        if (!(err < 1e-4)) {
            fprintf(stderr, "bench_mlstm: T=%lld: forms disagree (worst relative %.3g)\n",
                    (long long)T, err);
            return 1;
        }
        double fw = BH * (double)(T / CHUNK) * flops_first_chunk(CHUNK, DQK, DV);
        struct {
            const char *form, *pass;
            void (*fn)(void *);
            double flops;
        } rows[] = {
            { "chunkwise", "fw", cw_fw, fw },     { "chunkwise", "fw+bw", cw_fwbw, 3 * fw },
            { "parallel", "fw", par_fw, fw },     { "parallel", "fw+bw", par_fwbw, 3 * fw },
            { "recurrent", "fw", rec_fw, fw },
        };
        for (int r = 0; r < 5; r++) {
            zero_grads(&c);
            double tw, tc;
            time_call(rows[r].fn, &c, reps, &tw, &tc);
            double us_tok = 1e6 * tc / (double)(BH * T);
            if (T == 256)
                base[r] = us_tok;
            double gf = rows[r].flops / tc * 1e-9;
            if (csv)
                printf("%lld,%s,%s,%.3f,%.3f,%.4f,%.2f,%.4f,%.3f\n", (long long)T, rows[r].form,
                       rows[r].pass, 1e3 * tw, 1e3 * tc, us_tok, gf, gf / peak, us_tok / base[r]);
            else
                printf("%6lld %-10s %-6s %9.2f %9.2f %9.3f %9.1f %6.1f%% %11.2f\n", (long long)T,
                       rows[r].form, rows[r].pass, 1e3 * tw, 1e3 * tc, us_tok, gf, 100 * gf / peak,
                       us_tok / base[r]);
            fflush(stdout);
        }
        ctx_free(&c);
    }
    return 0;
}
