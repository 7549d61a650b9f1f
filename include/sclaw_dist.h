/* sclaw_dist.h - data-parallel training over processes and machines (Open MPI).
 *
 * `mpirun -np K sclaw train ...` runs K ranks; each computes the gradient of
 * its slice of the global batch, and the ranks sum their flat gradient buffers
 * with MPI_Allreduce before the optimiser step, so every rank holds the same
 * parameters. Rank 0 writes checkpoints and logs.
 *
 * sclaw is built with MPI when Open MPI's development files are installed
 * (the Makefile then defines SCLAW_HAVE_MPI). MPI is only initialised when the
 * process was started by mpirun (OMPI_COMM_WORLD_SIZE or PMI_SIZE in the
 * environment); otherwise, or without MPI, every call here is the one-process
 * identity: rank 0 of 1, reductions do nothing.
 */
#ifndef SCLAW_DIST_H
#define SCLAW_DIST_H

#include <stddef.h>
#include <stdint.h>

/* Initialise MPI if launched by mpirun (idempotent). */
int sclaw_dist_init(int *argc, char ***argv);
/* Finalise MPI if it was initialised. */
void sclaw_dist_finalize(void);
int sclaw_dist_rank(void);
int sclaw_dist_size(void);
/* Sum x over all ranks in place: floats (gradients), doubles (losses, counts). */
int sclaw_dist_allreduce_sum_f(float *x, int64_t n);
int sclaw_dist_allreduce_sum_d(double *x, int64_t n);
/* Copy rank 0's bytes to every rank (parameters at start, decisions). */
int sclaw_dist_bcast(void *buf, size_t bytes);
/* Wait for every rank. */
void sclaw_dist_barrier(void);
/* 1 when sclaw was built with MPI support. */
int sclaw_dist_available(void);

#endif
