/* dist.c - Open MPI collectives for data-parallel training (sclaw_dist.h). */
#include "sclaw_dist.h"
#include "sclaw_status.h"

#include <stdlib.h>

#ifdef SCLAW_HAVE_MPI
#include <mpi.h>

static int inited, rank_, size_ = 1;

/* mpirun (Open MPI) or a PMI launcher sets these for every rank it starts. */
static int launched_by_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

int sclaw_dist_init(int *argc, char ***argv)
{
    int already = 0;
    if (inited || !launched_by_mpirun())
        return SCLAW_OK;
    MPI_Initialized(&already);
    if (!already && MPI_Init(argc, argv) != MPI_SUCCESS)
        return sclaw_fail(SCLAW_E_IO, "MPI_Init failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    inited = 1;
    return SCLAW_OK;
}

void sclaw_dist_finalize(void)
{
    if (inited)
        MPI_Finalize();
    inited = 0;
}

int sclaw_dist_rank(void) { return rank_; }
int sclaw_dist_size(void) { return size_; }
int sclaw_dist_available(void) { return 1; }

/* MPI counts are int: reduce in slices of at most 2^30 elements. */
static int allreduce(void *x, int64_t n, MPI_Datatype t, size_t elem)
{
    if (!inited || size_ == 1)
        return SCLAW_OK;
    for (int64_t off = 0; off < n; off += (int64_t)1 << 30) {
        int64_t len = n - off < ((int64_t)1 << 30) ? n - off : ((int64_t)1 << 30);
        if (MPI_Allreduce(MPI_IN_PLACE, (char *)x + (size_t)off * elem, (int)len, t, MPI_SUM,
                          MPI_COMM_WORLD) != MPI_SUCCESS)
            return sclaw_fail(SCLAW_E_IO, "MPI_Allreduce failed");
    }
    return SCLAW_OK;
}

int sclaw_dist_allreduce_sum_f(float *x, int64_t n) { return allreduce(x, n, MPI_FLOAT, sizeof *x); }
int sclaw_dist_allreduce_sum_d(double *x, int64_t n) { return allreduce(x, n, MPI_DOUBLE, sizeof *x); }

int sclaw_dist_bcast(void *buf, size_t bytes)
{
    if (!inited || size_ == 1)
        return SCLAW_OK;
    for (size_t off = 0; off < bytes; off += (size_t)1 << 30) {
        size_t len = bytes - off < ((size_t)1 << 30) ? bytes - off : ((size_t)1 << 30);
        if (MPI_Bcast((char *)buf + off, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
            return sclaw_fail(SCLAW_E_IO, "MPI_Bcast failed");
    }
    return SCLAW_OK;
}

void sclaw_dist_barrier(void)
{
    if (inited && size_ > 1)
        MPI_Barrier(MPI_COMM_WORLD);
}

#else /* built without MPI: one process */

int sclaw_dist_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (getenv("OMPI_COMM_WORLD_SIZE") && atoi(getenv("OMPI_COMM_WORLD_SIZE")) > 1)
        return sclaw_fail(SCLAW_E_ARG, "started by mpirun, but this sclaw was built without MPI "
                                       "(install libopenmpi-dev and rebuild)");
    return SCLAW_OK;
}
void sclaw_dist_finalize(void) {}
int sclaw_dist_rank(void) { return 0; }
int sclaw_dist_size(void) { return 1; }
int sclaw_dist_available(void) { return 0; }
int sclaw_dist_allreduce_sum_f(float *x, int64_t n) { (void)x; (void)n; return SCLAW_OK; }
int sclaw_dist_allreduce_sum_d(double *x, int64_t n) { (void)x; (void)n; return SCLAW_OK; }
int sclaw_dist_bcast(void *buf, size_t bytes) { (void)buf; (void)bytes; return SCLAW_OK; }
void sclaw_dist_barrier(void) {}

#endif
