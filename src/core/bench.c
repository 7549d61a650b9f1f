/* bench.c - timer, median and machine baselines for the benchmarks (sclaw_bench.h).
 *
 * The baselines are measured, not looked up: a benchmark reports its kernels
 * as a fraction of the SGEMM rate and the STREAM-triad (or read-only)
 * bandwidth that this machine achieves right now, which keeps ratios
 * meaningful on a shared or throttled machine (both sides see the same
 * conditions).
 */
#include "sclaw_bench.h"

#include <cblas.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double sclaw_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double sclaw_bench_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double sclaw_bench_median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

double sclaw_bench_time(void (*fn)(void *arg), void *arg, int warmup, int reps)
{
    double t[1000];
    if (reps < 1)
        reps = 1;
    if (reps > 1000)
        reps = 1000;
    for (int i = 0; i < warmup; i++)
        fn(arg);
    for (int i = 0; i < reps; i++) {
        double t0 = sclaw_bench_now();
        fn(arg);
        t[i] = sclaw_bench_now() - t0;
    }
    return sclaw_bench_median(t, reps);
}

double sclaw_bench_gemm_peak(int threads)
{
    const int n = 2048;
    int old_omp = omp_get_max_threads(), old_blas = openblas_get_num_threads();
    if (threads <= 0)
        threads = omp_get_num_procs();
    float *a = malloc(sizeof(float) * (size_t)n * n);
    float *b = malloc(sizeof(float) * (size_t)n * n);
    float *c = malloc(sizeof(float) * (size_t)n * n);
    double best = 0;
    if (!a || !b || !c)
        goto done;
    /* Values in [-1, 1): keeps denormals and overflow out of the timing. */
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)((i * 2654435761u) % 2048) / 1024.0f - 1.0f;
        b[i] = (float)((i * 40503u) % 2048) / 1024.0f - 1.0f;
        c[i] = 0;
    }
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    /* One warm-up call (thread pool start, page faults), then best of 4. */
    for (int rep = 0; rep < 5; rep++) {
        double t0 = sclaw_bench_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                    c, n);
        double dt = sclaw_bench_now() - t0;
        double gflops = 2.0 * n * n * (double)n / dt * 1e-9;
        if (rep > 0 && gflops > best)
            best = gflops;
    }
    omp_set_num_threads(old_omp);
    openblas_set_num_threads(old_blas);
done:
    free(a);
    free(b);
    free(c);
    return best;
}

/* Floats in the bandwidth working set: at least 4x the last-level cache so
 * that the passes stream from DRAM (at least 256 MiB, at most a quarter of
 * physical memory); sysconf reports 0 or -1 where a size is unknown. */
static int64_t stream_floats(void)
{
    long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    long pages = sysconf(_SC_PHYS_PAGES), pagesz = sysconf(_SC_PAGESIZE);
    uint64_t llc = (uint64_t)(l3 > 0 ? l3 : l2 > 0 ? l2 : 32L << 20);
    uint64_t total = 4 * llc;
    if (total < (256ull << 20))
        total = 256ull << 20;
    if (pages > 0 && pagesz > 0 && total > (uint64_t)pages * (uint64_t)pagesz / 4)
        total = (uint64_t)pages * (uint64_t)pagesz / 4;
    return (int64_t)(total / sizeof(float));
}

/* Timed passes of the bandwidth measurements: the first is a warm-up
 * (thread start-up, TLB), the best of the rest is kept. On a shared host the
 * bandwidth a moment gets swings by 2x; the best pass is the machine's roof
 * (as STREAM reports). */
#define BW_PASSES 11

void sclaw_bench_bandwidths(double *triad, double *read)
{
    int64_t n = stream_floats() / 3;
    float *a = malloc(sizeof(float) * (size_t)n);
    float *b = malloc(sizeof(float) * (size_t)n);
    float *c = malloc(sizeof(float) * (size_t)n);
    double best_t = 0, best_r = 0;
    if (!a || !b || !c)
        goto done;
    /* First touch with the same static schedule as the timed loops, so each
     * thread's pages sit where it will stream them (NUMA). */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        a[i] = 0.0f;
        b[i] = 1.0f;
        c[i] = 2.0f;
    }
    const float s = 0.5f;
    for (int rep = 0; triad && rep < BW_PASSES; rep++) {
        double t0 = sclaw_bench_now();
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++)
            a[i] = b[i] + s * c[i];
        double gbs = 3.0 * sizeof(float) * (double)n / (sclaw_bench_now() - t0) * 1e-9;
        if (rep > 0 && gbs > best_t)
            best_t = gbs;
    }
    /* Read a result so the compiler cannot drop the stores. */
    if (triad && a[n / 2] != 2.0f)
        best_t = 0;
    /* The read passes sum the same three arrays, already touched. */
    for (int rep = 0; read && rep < BW_PASSES; rep++) {
        double t0 = sclaw_bench_now();
        float sum = 0.0f;
#pragma omp parallel for simd schedule(static) reduction(+ : sum)
        for (int64_t i = 0; i < n; i++)
            sum += a[i] + b[i] + c[i];
        double gbs = 3.0 * sizeof(float) * (double)n / (sclaw_bench_now() - t0) * 1e-9;
        /* using the sum keeps the loads */
        if (rep > 0 && gbs > best_r && sum > 0.0f)
            best_r = gbs;
    }
done:
    free(a);
    free(b);
    free(c);
    if (triad)
        *triad = best_t;
    if (read)
        *read = best_r;
}

double sclaw_bench_bandwidth(void)
{
    double bw;
    sclaw_bench_bandwidths(&bw, NULL);
    return bw;
}

/* The "model name" line of /proc/cpuinfo, or "unknown cpu". */
static void cpu_model(char *out, size_t len)
{
    snprintf(out, len, "unknown cpu");
    FILE *fp = fopen("/proc/cpuinfo", "r");
    if (!fp)
        return;
    char line[512];
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p) {
                p++;
                while (*p == ' ' || *p == '\t')
                    p++;
                p[strcspn(p, "\n")] = '\0';
                snprintf(out, len, "%s", p);
            }
            break;
        }
    }
    fclose(fp);
}

void sclaw_bench_cpu_line(char *buf, size_t len)
{
    char model[256];
    cpu_model(model, sizeof model);
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2"), fma = __builtin_cpu_supports("fma");
    int avx512 = __builtin_cpu_supports("avx512f");
    const char *cfg = openblas_get_config(), *core = openblas_get_corename();
    snprintf(buf, len, "%s | %d cores | %s%s | %s | %s (%s)", model, omp_get_num_procs(),
             avx2 ? "avx2" : "no avx2", fma ? " fma" : "", avx512 ? "avx512f" : "no avx512f",
             cfg ? cfg : "unknown blas", core ? core : "?");
}
