/* mlstm_internal.h - helpers shared by the mLSTM cell kernels (models.md §3).
 *
 * Private to src/kernels/mlstm_*.c: the stable log-sigmoid of the forget gate,
 * the q scale, and a bump carver for the caller's float workspace (which also
 * holds double arrays, hence the 8-byte alignment rule in sclaw_kernels.h).
 */
#ifndef SCLAW_MLSTM_INTERNAL_H
#define SCLAW_MLSTM_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* logsig(x) = min(x, 0) - log1p(exp(-|x|)): never overflows (§3). */
static inline double mlstm_logsig(double x)
{
    return fmin(x, 0.0) - log1p(exp(-fabs(x)));
}

static inline float mlstm_logsigf(float x)
{
    return fminf(x, 0.0f) - log1pf(expf(-fabsf(x)));
}

/* d logsig(x)/dx = sigmoid(-x) = 1 / (1 + exp(x)), written to stay finite. */
static inline double mlstm_sigmoid_neg(double x)
{
    return x >= 0 ? exp(-x) / (1.0 + exp(-x)) : 1.0 / (1.0 + exp(x));
}

/* Every sub-array starts on a 64-byte boundary relative to the workspace
 * start (16 floats), so BLAS sees aligned operands when the block is. */
static inline size_t mlstm_round16(size_t nfloats)
{
    return (nfloats + 15) / 16 * 16;
}

/* Bump carver over a float workspace: take n floats or n doubles. With a
 * NULL base it only counts (used to size the workspace). */
struct mlstm_carve {
    float *base;
    size_t used; /* floats */
};

static inline float *mlstm_take_f(struct mlstm_carve *c, size_t n)
{
    float *r = c->base ? c->base + c->used : NULL;
    c->used += mlstm_round16(n);
    return r;
}

static inline double *mlstm_take_d(struct mlstm_carve *c, size_t n)
{
    double *r = c->base ? (double *)(void *)(c->base + c->used) : NULL;
    c->used += mlstm_round16(2 * n);
    return r;
}

#endif
