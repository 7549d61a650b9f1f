/* xent.c - cross-entropy of next-token prediction over the vocabulary
 * (models.md §1.2 "loss = CE(softmax(logits), next_token)", backward §3.7).
 *
 *   losses[n] = logsumexp(logits[n]) - logits[n][targets[n]]
 *
 * Shapes: logits (N, V)   targets, losses, dloss (N).
 * A negative target marks an ignored row (padding): loss 0, gradient 0.
 * The backward overwrites the logits with their gradient, because the (N, V)
 * logits are the largest activation of a small model and nothing needs them
 * after the loss. logsumexp is recomputed there (one more pass over the row)
 * rather than saved. OpenMP over rows, sums in double.
 */
#include "sclaw_kernels.h"

#include <math.h>

#include "kmath.h"
#include "sclaw_status.h"

/* Max and sum of exp(z - max) of one row: logsumexp = max + log(sum). The
 * shift keeps exp from overflowing; the exps are float (they are the bulk of
 * the work at V = 50304, and z - max is exact) and vectorised (kmath.h), the
 * sum is double. */
SCLAW_KINLINE void row_stats(const float *z, int64_t V, float *mx_out, double *sum_out)
{
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < V; j++)
        mx = z[j] > mx ? z[j] : mx;
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < V; j++)
        s += kexp(z[j] - mx);
    *mx_out = mx;
    *sum_out = s;
}

SCLAW_KCLONES
void sclaw_xent_forward(float *losses, const float *logits, const int32_t *targets, int64_t N,
                        int64_t V)
{
#pragma omp parallel for
    for (int64_t n = 0; n < N; n++) {
        int32_t t = targets[n];
        if (t < 0) {
            losses[n] = 0.0f;
            continue;
        }
        SCLAW_ASSERT(t < V);
        const float *z = logits + n * V;
        float mx;
        double sum;
        row_stats(z, V, &mx, &sum);
        losses[n] = (float)((double)mx + log(sum) - z[t]);
    }
}

SCLAW_KCLONES
void sclaw_xent_backward_inplace(float *logits, const float *dloss, const int32_t *targets,
                                 int64_t N, int64_t V)
{
    /* d loss / d z_j = softmax(z)_j - [j == target], times the upstream dloss */
#pragma omp parallel for
    for (int64_t n = 0; n < N; n++) {
        float *z = logits + n * V;
        int32_t t = targets[n];
        if (t < 0) {
            for (int64_t j = 0; j < V; j++)
                z[j] = 0.0f;
            continue;
        }
        SCLAW_ASSERT(t < V);
        float mx;
        double sum;
        row_stats(z, V, &mx, &sum);
        float scale = (float)(dloss[n] / sum), dl = dloss[n];
#pragma omp simd
        for (int64_t j = 0; j < V; j++)
            z[j] = kexp(z[j] - mx) * scale;
        z[t] -= dl;
    }
}
