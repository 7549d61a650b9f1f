/* bench_kernels.c - speed of the sclaw_kernels.h kernels against this
 * machine's own roofs (style.md §2.6; models.md §2, §4).
 *
 *   build/bench/bench_kernels [threads]
 *
 * 1. Baselines: measured SGEMM GFLOP/s (1 thread and all threads) and STREAM
 *    triad bandwidth (sclaw_bench.h).
 * 2. Verification: the fast matmul and attention forward against their `_ref`
 *    loops, and the attention backward against a directional finite
 *    difference of the forward. Timings are printed only if these pass.
 * 3. Attention forward and backward at B=1, NH=8, hd=64, T in
 *    {256, 512, 1024, 2048}: median time, causal GFLOP/s (only the FLOPs of
 *    the visible half of the score matrix count) and the ratio to the SGEMM
 *    peak re-measured before each row (the load of a shared machine drifts);
 *    and the KV-cache decode step at Tk = T as achieved GB/s (it must
 *    read the whole cache once).
 * 4. Row and elementwise kernels at training-like sizes (128 MiB per array):
 *    achieved GB/s over the arrays each kernel must read and write at least
 *    once, and the ratio to the measured triad bandwidth.
 *
 * Every timing is the median of several runs after a warm-up. Set
 * OPENBLAS_CORETYPE in the environment of the run, not here; the header line
 * shows which BLAS kernel core was used.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sclaw_bench.h"
#include "sclaw_kernels.h"
#include "sclaw_threads.h"

static uint64_t rng_state = 42;

static float frand(void)
{
    /* xorshift64*: uniform in [-1, 1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t r = rng_state * 0x2545F4914F6CDD1Dull;
    return (float)((double)(r >> 11) * 0x1.0p-52 - 1.0);
}

static float *alloc_rand(int64_t n)
{
    float *x = malloc(sizeof(float) * (size_t)n);
    if (!x) {
        fprintf(stderr, "bench_kernels: out of memory (%lld floats)\n", (long long)n);
        exit(1);
    }
    for (int64_t i = 0; i < n; i++)
        x[i] = frand();
    return x;
}

/* Largest absolute difference between two arrays. */
static double max_abs_diff(const float *a, const float *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        m = d > m ? d : m;
    }
    return m;
}

/* Median wall seconds per call (returned) and median CPU seconds per call
 * divided by the thread count (*cpu): on a loaded machine the second is what
 * the kernel costs, the first what it got. */
static double time_both(void (*fn)(void *), void *arg, int warmup, int reps, int threads,
                        double *cpu)
{
    double w[100], c[100];
    if (reps > 100)
        reps = 100;
    for (int i = 0; i < warmup; i++)
        fn(arg);
    for (int i = 0; i < reps; i++) {
        double w0 = sclaw_bench_now(), c0 = sclaw_bench_cpu_now();
        fn(arg);
        w[i] = sclaw_bench_now() - w0;
        c[i] = (sclaw_bench_cpu_now() - c0) / threads;
    }
    *cpu = sclaw_bench_median(c, reps);
    return sclaw_bench_median(w, reps);
}

/* ---- attention timing closures ------------------------------------------ */

struct attn_args {
    float *q, *k, *v, *out, *lse, *dout, *dq, *dk, *dv, *work, *kc, *vc, *qs, *os;
    int64_t B, T, NH, hd;
};

static void run_attn_fwd(void *p)
{
    struct attn_args *a = p;
    sclaw_attention_forward(a->out, a->lse, a->q, a->k, a->v, NULL, a->B, a->T, a->NH, a->hd,
                            a->work);
}

static void run_attn_bwd(void *p)
{
    struct attn_args *a = p;
    sclaw_attention_backward(a->dq, a->dk, a->dv, a->dout, a->out, a->lse, a->q, a->k, a->v,
                             NULL, a->B, a->T, a->NH, a->hd, a->work);
}

static void run_attn_step(void *p)
{
    struct attn_args *a = p;
    sclaw_attention_step(a->os, a->qs, a->kc, a->vc, a->B, a->NH, a->T, a->T, a->hd);
}

/* Loss L = sum(g * attention(q + eps*d, k + eps*d, v + eps*d)) in float. */
static double attn_dir_loss(struct attn_args *a, const float *dir, float eps, const float *g)
{
    int64_t n = a->B * a->T * a->NH * a->hd;
    float *q = malloc(sizeof(float) * n), *k = malloc(sizeof(float) * n);
    float *v = malloc(sizeof(float) * n);
    for (int64_t i = 0; i < n; i++) {
        q[i] = a->q[i] + eps * dir[i];
        k[i] = a->k[i] + eps * dir[n + i];
        v[i] = a->v[i] + eps * dir[2 * n + i];
    }
    sclaw_attention_forward(a->out, a->lse, q, k, v, NULL, a->B, a->T, a->NH, a->hd, a->work);
    double L = 0;
    for (int64_t i = 0; i < n; i++)
        L += (double)g[i] * a->out[i];
    free(q), free(k), free(v);
    return L;
}

/* ---- row kernel closures ------------------------------------------------ */

struct row_args {
    float *x, *y, *z, *w, *dw, *s1, *s2, *d1, *d2;
    int32_t *pos, *tgt;
    int64_t N, D, n, V;
};

static void k_rms_f(void *p)
{
    struct row_args *a = p;
    sclaw_rmsnorm_forward(a->y, a->s1, a->x, a->w, a->N, a->D, 1e-6f);
}
static void k_rms_b(void *p)
{
    struct row_args *a = p;
    sclaw_rmsnorm_backward(a->d1, a->dw, a->z, a->x, a->w, a->s1, a->N, a->D);
}
static void k_hn_f(void *p)
{
    struct row_args *a = p;
    sclaw_headnorm_forward(a->y, a->s1, a->s2, a->x, a->w, a->N, a->D / 128, 128, 1e-6f);
}
static void k_hn_b(void *p)
{
    struct row_args *a = p;
    sclaw_headnorm_backward(a->d1, a->dw, a->z, a->x, a->w, a->s1, a->s2, a->N, a->D / 128, 128);
}
static void k_swi_f(void *p)
{
    struct row_args *a = p;
    sclaw_swiglu_forward(a->y, a->x, a->z, a->n);
}
static void k_swi_b(void *p)
{
    struct row_args *a = p;
    sclaw_swiglu_backward(a->d1, a->d2, a->y, a->x, a->z, a->n);
}
static void k_og_f(void *p)
{
    struct row_args *a = p;
    sclaw_ogate_forward(a->y, a->x, a->z, a->n);
}
static void k_og_b(void *p)
{
    struct row_args *a = p;
    sclaw_ogate_backward(a->d1, a->d2, a->y, a->x, a->z, a->n);
}
static void k_cap_f(void *p)
{
    struct row_args *a = p;
    sclaw_softcap_forward(a->y, a->x, a->n, 30.0f);
}
static void k_cap_b(void *p)
{
    struct row_args *a = p;
    sclaw_softcap_backward(a->d1, a->z, a->y, a->n, 30.0f);
}
static void k_rope_f(void *p)
{
    struct row_args *a = p;
    sclaw_rope_forward(a->x, a->pos, a->N, a->D / 64, 64, 500000.0f);
}
static void k_rope_b(void *p)
{
    struct row_args *a = p;
    sclaw_rope_backward(a->x, a->pos, a->N, a->D / 64, 64, 500000.0f);
}
static void k_xent_f(void *p)
{
    struct row_args *a = p;
    sclaw_xent_forward(a->s1, a->x, a->tgt, a->N, a->V);
}
static void k_xent_b(void *p)
{
    struct row_args *a = p;
    /* the in-place backward destroys the logits; the values it leaves are
     * finite probabilities, so repeated calls time the same work */
    sclaw_xent_backward_inplace(a->x, a->s2, a->tgt, a->N, a->V);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 0;
    sclaw_threads_set(threads);
    threads = sclaw_threads_get();
    char cpu[512];
    sclaw_bench_cpu_line(cpu, sizeof cpu);
    printf("# sclaw bench_kernels\n# machine: %s\n# threads: %d\n", cpu, threads);

    /* 1. baselines */
    double peak1 = sclaw_bench_gemm_peak(1), peak = sclaw_bench_gemm_peak(threads);
    double bw = sclaw_bench_bandwidth();
    printf("\n## baselines\n");
    printf("sgemm 2048^3, 1 thread     %8.1f GFLOP/s\n", peak1);
    printf("sgemm 2048^3, %d threads    %8.1f GFLOP/s\n", threads, peak);
    printf("triad bandwidth            %8.1f GB/s     (bandwidth used below)\n", bw);
    if (peak <= 0 || bw <= 0) {
        fprintf(stderr, "bench_kernels: could not measure the baselines (out of memory?)\n");
        return 1;
    }

    /* 2. verification */
    {
        int64_t M = 200, K = 173, N = 129;
        float *x = alloc_rand(M * K), *w = alloc_rand(N * K);
        float *y = malloc(sizeof(float) * M * N), *yr = malloc(sizeof(float) * M * N);
        sclaw_matmul_forward(y, x, w, M, K, N, 0);
        sclaw_matmul_forward_ref(yr, x, w, M, K, N, 0);
        double e = max_abs_diff(y, yr, M * N);
        printf("\n## verification\nmatmul fast vs ref: max |diff| %.2e\n", e);
        free(x), free(w), free(y), free(yr);
        if (e > 1e-4) {
            fprintf(stderr, "bench_kernels: matmul verification failed\n");
            return 1;
        }
    }
    {
        struct attn_args a = { 0 };
        a.B = 1, a.T = 256, a.NH = 8, a.hd = 64;
        int64_t n = a.B * a.T * a.NH * a.hd;
        a.q = alloc_rand(n), a.k = alloc_rand(n), a.v = alloc_rand(n), a.dout = alloc_rand(n);
        a.out = malloc(sizeof(float) * n), a.lse = malloc(sizeof(float) * a.NH * a.T);
        a.dq = calloc(3 * (size_t)n, sizeof(float)), a.dk = a.dq + n, a.dv = a.dq + 2 * n;
        a.work = malloc(sizeof(float) * sclaw_attention_workspace(a.B, a.T, a.NH, a.hd));
        float *ref = malloc(sizeof(float) * n), *dir = alloc_rand(3 * n);
        sclaw_attention_forward_ref(ref, a.q, a.k, a.v, NULL, a.B, a.T, a.NH, a.hd);
        run_attn_fwd(&a);
        double e = max_abs_diff(a.out, ref, n);
        run_attn_bwd(&a);
        /* directional derivative: <grad, dir> vs (L(+eps) - L(-eps)) / 2eps */
        double dot = 0;
        for (int64_t i = 0; i < 3 * n; i++)
            dot += (double)a.dq[i] * dir[i];
        float eps = 1e-2f;
        double fd = (attn_dir_loss(&a, dir, eps, a.dout) - attn_dir_loss(&a, dir, -eps, a.dout)) /
                    (2.0 * eps);
        double rel = fabs(fd - dot) / fabs(dot);
        printf("attention forward vs ref (T=256): max |diff| %.2e\n", e);
        printf("attention backward, directional derivative: %.6g vs finite difference %.6g "
               "(rel %.1e)\n",
               dot, fd, rel);
        free(a.q), free(a.k), free(a.v), free(a.dout), free(a.out), free(a.lse), free(a.dq);
        free(a.work), free(ref), free(dir);
        if (e > 1e-4 || rel > 1e-2) {
            fprintf(stderr, "bench_kernels: attention verification failed\n");
            return 1;
        }
    }

    /* 3. attention */
    printf("\n## attention, B=1 NH=8 hd=64 (median of runs; causal FLOPs)\n");
    printf("(%%peak: against an SGEMM peak re-measured just before each row, so that a\n"
           " change in machine load between rows does not distort the ratios)\n");
    printf("(cpu_ms: CPU time per thread; far below the wall time means the machine was\n"
           " oversubscribed and the wall-time rates understate the kernel)\n");
    printf("%6s %7s %9s %8s %8s %7s %9s %8s %8s %7s %9s %8s %6s\n", "T", "peak", "fwd_ms",
           "cpu_ms", "GFLOP/s", "%peak", "bwd_ms", "cpu_ms", "GFLOP/s", "%peak", "step_us",
           "GB/s", "%bw");
    const int64_t Ts[] = { 256, 512, 1024, 2048 };
    for (int ti = 0; ti < 4; ti++) {
        struct attn_args a = { 0 };
        a.B = 1, a.T = Ts[ti], a.NH = 8, a.hd = 64;
        int64_t n = a.B * a.T * a.NH * a.hd;
        a.q = alloc_rand(n), a.k = alloc_rand(n), a.v = alloc_rand(n), a.dout = alloc_rand(n);
        a.out = malloc(sizeof(float) * n), a.lse = malloc(sizeof(float) * a.NH * a.T);
        a.dq = calloc(3 * (size_t)n, sizeof(float)), a.dk = a.dq + n, a.dv = a.dq + 2 * n;
        a.work = malloc(sizeof(float) * sclaw_attention_workspace(a.B, a.T, a.NH, a.hd));
        /* decode cache (B, NH, T, hd): the step reads all T positions */
        a.kc = alloc_rand(n), a.vc = alloc_rand(n), a.qs = alloc_rand(a.NH * a.hd);
        a.os = malloc(sizeof(float) * a.NH * a.hd);
        int reps = a.T <= 512 ? 15 : 7;
        double lpeak = sclaw_bench_gemm_peak(threads);
        double cf, cb;
        double tf = time_both(run_attn_fwd, &a, 2, reps, threads, &cf);
        double tb = time_both(run_attn_bwd, &a, 1, reps, threads, &cb);
        double ts = sclaw_bench_time(run_attn_step, &a, 3, 51);
        /* forward: Q K^T and P V over the causal T(T+1)/2 pairs, 2 flops per
         * multiply-add each; backward: recomputed Q K^T plus four products */
        double pairs = (double)a.T * (a.T + 1) / 2 * a.NH * a.B;
        double ff = 2 * 2 * pairs * a.hd, fb = 5 * 2 * pairs * a.hd;
        double gf = ff / tf * 1e-9, gb = fb / tb * 1e-9;
        double sbytes = 2.0 * n * sizeof(float), sgbs = sbytes / ts * 1e-9;
        printf("%6lld %7.1f %9.3f %8.3f %8.1f %6.1f%% %9.3f %8.3f %8.1f %6.1f%% %9.1f %8.1f "
               "%5.1f%%\n",
               (long long)a.T, lpeak, tf * 1e3, cf * 1e3, gf, 100 * gf / lpeak, tb * 1e3,
               cb * 1e3, gb, 100 * gb / lpeak, ts * 1e6, sgbs, 100 * sgbs / bw);
        free(a.q), free(a.k), free(a.v), free(a.dout), free(a.out), free(a.lse), free(a.dq);
        free(a.work), free(a.kc), free(a.vc), free(a.qs), free(a.os);
    }
    printf("(step: the cache is 2*T*NH*hd floats = %.0f-%.0f MiB here, so it may be served\n"
           " from the CPU caches; over 100%% of the DRAM triad bandwidth means it was)\n",
           2.0 * 256 * 8 * 64 * 4 / (1 << 20), 2.0 * 2048 * 8 * 64 * 4 / (1 << 20));

    /* 4. row and elementwise kernels */
    {
        struct row_args a = { 0 };
        a.D = 1024, a.N = 32768, a.n = a.N * a.D; /* 128 MiB per array */
        a.x = alloc_rand(a.n), a.y = alloc_rand(a.n), a.z = alloc_rand(a.n);
        a.d1 = alloc_rand(a.n), a.d2 = alloc_rand(a.n), a.w = alloc_rand(a.D);
        a.dw = calloc((size_t)a.D, sizeof(float));
        a.s1 = calloc((size_t)a.N * 8, sizeof(float));
        a.s2 = calloc((size_t)a.N * 8, sizeof(float));
        a.pos = malloc(sizeof(int32_t) * a.N);
        for (int64_t t = 0; t < a.N; t++)
            a.pos[t] = (int32_t)(t % 2048);
        struct {
            const char *name;
            void (*fn)(void *);
            int arrays; /* (n)-sized arrays read + written at least once */
        } ks[] = {
            { "rmsnorm fwd", k_rms_f, 2 },  { "rmsnorm bwd", k_rms_b, 4 },
            { "headnorm fwd", k_hn_f, 2 },  { "headnorm bwd", k_hn_b, 4 },
            { "swiglu fwd", k_swi_f, 3 },   { "swiglu bwd", k_swi_b, 7 },
            { "ogate fwd", k_og_f, 3 },     { "ogate bwd", k_og_b, 7 },
            { "softcap fwd", k_cap_f, 2 },  { "softcap bwd", k_cap_b, 4 },
            { "rope fwd", k_rope_f, 2 },    { "rope bwd", k_rope_b, 2 },
        };
        printf("\n## row kernels, N=%lld rows x D=%lld (%.0f MiB per array)\n", (long long)a.N,
               (long long)a.D, a.n * 4.0 / (1 << 20));
        printf("%-14s %6s %9s %9s %8s %6s\n", "kernel", "arrays", "ms", "cpu_ms", "GB/s", "%bw");
        for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
            double c, t = time_both(ks[i].fn, &a, 1, 7, threads, &c);
            double gbs = ks[i].arrays * (double)a.n * sizeof(float) / t * 1e-9;
            printf("%-14s %6d %9.2f %9.2f %8.1f %5.1f%%\n", ks[i].name, ks[i].arrays, t * 1e3,
                   c * 1e3, gbs, 100 * gbs / bw);
        }
        /* cross-entropy over the vocabulary of the paper's models */
        a.V = 50304, a.N = a.n / a.V;
        a.tgt = malloc(sizeof(int32_t) * a.N);
        for (int64_t r = 0; r < a.N; r++) {
            a.tgt[r] = (int32_t)(r * 7919 % a.V);
            a.s2[r] = 1.0f / (float)a.N;
        }
        struct {
            const char *name;
            void (*fn)(void *);
            int arrays;
        } xk[] = { { "xent fwd", k_xent_f, 1 }, { "xent bwd", k_xent_b, 2 } };
        for (int i = 0; i < 2; i++) {
            double c, t = time_both(xk[i].fn, &a, 1, 7, threads, &c);
            double gbs = xk[i].arrays * (double)(a.N * a.V) * sizeof(float) / t * 1e-9;
            printf("%-14s %6d %9.2f %9.2f %8.1f %5.1f%%   (N=%lld, V=%lld)\n", xk[i].name,
                   xk[i].arrays, t * 1e3, c * 1e3, gbs, 100 * gbs / bw, (long long)a.N,
                   (long long)a.V);
        }
        free(a.x), free(a.y), free(a.z), free(a.d1), free(a.d2), free(a.w), free(a.dw);
        free(a.s1), free(a.s2), free(a.pos), free(a.tgt);
    }
    return 0;
}
