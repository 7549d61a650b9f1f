/* matmul.c - every dense product of both model families (sclaw_kernels.h).
 *
 * Linear layers keep the PyTorch weight layout (out, in), so a layer is
 * out = inp . w^T. All three products (forward, input gradient, weight
 * gradient) are one row-major cblas_sgemm each; the OpenMP build of OpenBLAS
 * threads them from the shared pool (sclaw_threads.h). The `_ref` twins are
 * plain loops with double accumulation, kept for tests and benchmarks.
 *
 * Shapes: inp (M, K)   w (N, K)   out (M, N).
 */
#include "sclaw_kernels.h"

#include <cblas.h>
#include <limits.h>
#include <string.h>

#include "sclaw_status.h"

/* cblas takes int sizes; a layer never comes close, so overflow is a bug. */
static void check_dims(int64_t M, int64_t K, int64_t N)
{
    SCLAW_ASSERT(M >= 0 && K >= 0 && N >= 0);
    SCLAW_ASSERT(M <= INT_MAX && K <= INT_MAX && N <= INT_MAX);
}

void sclaw_matmul_forward(float *out, const float *inp, const float *w, int64_t M, int64_t K,
                          int64_t N, int accumulate)
{
    check_dims(M, K, N);
    if (M == 0 || N == 0)
        return;
    /* An empty inner dimension is a zero product; BLAS would reject lda = 0. */
    if (K == 0) {
        if (!accumulate)
            memset(out, 0, sizeof(float) * (size_t)(M * N));
        return;
    }
    /* One row (a batch-1 decode step): out^T = w . inp^T is a matrix-vector
     * product. sgemm would first pack (copy) all of w, doubling the memory
     * traffic of a step that is bound by reading w once. */
    if (M == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)N, (int)K, 1.0f, w, (int)K, inp, 1,
                    accumulate ? 1.0f : 0.0f, out, 1);
        return;
    }
    /* out (M,N) = inp (M,K) . w^T, with w stored (N,K) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1.0f, inp,
                (int)K, w, (int)K, accumulate ? 1.0f : 0.0f, out, (int)N);
}

void sclaw_matmul_backward(float *dinp, float *dw, const float *dout, const float *inp,
                           const float *w, int64_t M, int64_t K, int64_t N)
{
    check_dims(M, K, N);
    if (M == 0 || K == 0 || N == 0)
        return;
    /* forward: out = inp w^T  =>  dinp = dout w   (M,N).(N,K) */
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)K, (int)N, 1.0f,
                    dout, (int)N, w, (int)K, 1.0f, dinp, (int)K);
    /*                           =>  dw = dout^T inp   (N,M).(M,K) */
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)N, (int)K, (int)M, 1.0f, dout,
                    (int)N, inp, (int)K, 1.0f, dw, (int)K);
}

void sclaw_matmul_forward_ref(float *out, const float *inp, const float *w, int64_t M, int64_t K,
                              int64_t N, int accumulate)
{
    check_dims(M, K, N);
#pragma omp parallel for
    for (int64_t m = 0; m < M; m++) {
        for (int64_t n = 0; n < N; n++) {
            double acc = accumulate ? out[m * N + n] : 0.0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)inp[m * K + k] * w[n * K + k];
            out[m * N + n] = (float)acc;
        }
    }
}

void sclaw_matmul_backward_ref(float *dinp, float *dw, const float *dout, const float *inp,
                               const float *w, int64_t M, int64_t K, int64_t N)
{
    check_dims(M, K, N);
    if (dinp) {
#pragma omp parallel for
        for (int64_t m = 0; m < M; m++)
            for (int64_t k = 0; k < K; k++) {
                double acc = 0;
                for (int64_t n = 0; n < N; n++)
                    acc += (double)dout[m * N + n] * w[n * K + k];
                dinp[m * K + k] += (float)acc;
            }
    }
    if (dw) {
#pragma omp parallel for
        for (int64_t n = 0; n < N; n++)
            for (int64_t k = 0; k < K; k++) {
                double acc = 0;
                for (int64_t m = 0; m < M; m++)
                    acc += (double)dout[m * N + n] * inp[m * K + k];
                dw[n * K + k] += (float)acc;
            }
    }
}
