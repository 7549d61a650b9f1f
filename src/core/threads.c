/* threads.c - thread-count policy shared by OpenMP loops and OpenBLAS (sclaw_threads.h). */
#include "sclaw_threads.h"

#include <cblas.h>
#include <omp.h>

void sclaw_threads_set(int n)
{
    if (n <= 0)
        n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int sclaw_threads_get(void) { return omp_get_max_threads(); }
