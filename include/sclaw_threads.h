/* sclaw_threads.h - one thread policy for OpenMP and BLAS.
 *
 * sclaw links the OpenMP build of OpenBLAS, so BLAS calls and sclaw's own
 * `#pragma omp` loops share one OpenMP thread pool instead of fighting over the
 * cores. sclaw_threads_set(n) sets both; n <= 0 means one thread per core.
 */
#ifndef SCLAW_THREADS_H
#define SCLAW_THREADS_H

void sclaw_threads_set(int n);
int sclaw_threads_get(void);

#endif
