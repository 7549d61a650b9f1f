/* sclaw_bench.h - shared utilities for the benchmarks in bench/ (style.md §2.6).
 *
 * Every benchmark follows the same harness: verify against a reference, warm
 * up, take the median of N timed runs, and print ratios to baselines measured
 * in the same run on the same machine. This module gives the pieces:
 *
 *   - a monotonic wall-clock timer and a median;
 *   - sclaw_bench_time(): warm up, then the median time of N calls;
 *   - machine baselines: the measured SGEMM rate (the compute roof) and the
 *     measured memory bandwidth, triad and read-only (the memory roofs), so
 *     a kernel can be reported as a fraction of what this machine really
 *     does rather than of a datasheet number;
 *   - a one-line description of the CPU and BLAS for report headers.
 *
 * Nothing here prints; callers format the numbers. Timings on a shared
 * machine are noisy: report the median and say what else was running.
 */
#ifndef SCLAW_BENCH_H
#define SCLAW_BENCH_H

#include <stddef.h>

/* Seconds from a monotonic clock (CLOCK_MONOTONIC); only differences matter. */
double sclaw_bench_now(void);

/* CPU seconds used so far by the whole process (all threads,
 * CLOCK_PROCESS_CPUTIME_ID). On a shared, oversubscribed machine the wall
 * time of a long call includes time the scheduler gave to other processes;
 * the CPU time divided by the threads used does not. */
double sclaw_bench_cpu_now(void);

/* Median of x[0..n-1] (n >= 1). Sorts x in place. */
double sclaw_bench_median(double *x, int n);

/* Calls fn(arg) `warmup` times untimed, then `reps` times (1 <= reps <= 1000),
 * and returns the median seconds per call. */
double sclaw_bench_time(void (*fn)(void *arg), void *arg, int warmup, int reps);

/* Measured single-precision GEMM rate in GFLOP/s: the best of a few
 * 2048x2048x2048 cblas_sgemm calls (2*M*N*K flops each) after a warm-up call,
 * with BLAS and OpenMP set to `threads` threads (<= 0: one per core). The
 * previous thread counts are restored afterwards. Returns 0 if the 48 MiB of
 * operands cannot be allocated. */
double sclaw_bench_gemm_peak(int threads);

/* Measured memory bandwidth in GB/s (1e9 bytes/s): the best of 10 STREAM
 * triad passes a[i] = b[i] + s*c[i] over three float arrays whose total size
 * is at least 4x the last-level cache (at least 256 MiB, at most a quarter of
 * physical memory), using the current OpenMP thread count. Counts 12 bytes
 * per element (2 reads + 1 write, STREAM convention: write-allocate traffic
 * is not counted). Returns 0 if the arrays cannot be allocated. */
double sclaw_bench_bandwidth(void);

/* Both memory roofs over one allocation of the triad's working set (touched
 * once): *triad as sclaw_bench_bandwidth() measures it, and *read, the best
 * of 10 passes summing the same three arrays (12 bytes per element read).
 * The read figure is the roof of a kernel that only reads, like a decode step
 * streaming its weights and cache; it can exceed the triad's, which leaves
 * out the write-allocate reads of its stores. Either pointer may be NULL to
 * skip that measurement; 0 if the arrays cannot be allocated. */
void sclaw_bench_bandwidths(double *triad, double *read);

/* Writes a one-line machine description into buf (always NUL-terminated),
 * e.g. "AMD EPYC | 2 cores | avx2 fma | no avx512f | OpenBLAS 0.3.21 Haswell",
 * naming the CPU model, logical cores, AVX2/FMA/AVX-512 support (from
 * __builtin_cpu_supports) and the BLAS build and kernel core type. */
void sclaw_bench_cpu_line(char *buf, size_t len);

#endif
