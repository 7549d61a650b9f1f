/* bench_train.c - training throughput of both model families: tokens/s and MFU
 * (model FLOPs utilisation = the paper's training FLOPs per step, counted as
 * in accounting-and-fits.md §2 / sclaw_count_training_flops, divided by the
 * step time and by this machine's measured SGEMM rate, sclaw_bench.h).
 *
 * Grid: xLSTM and Llama at d = 256/512/768 (num_blocks 6/10/12, xLSTM heads of
 * dv = 128, Llama heads of 64: models.md §5.3), context 512 and 2048, vocab
 * 4096, about the same number of tokens per step for every context. A step is
 * forward + backward + gradient norm + AdamW update, exactly what the trainer
 * does. Verification before timing: the first step's loss must be finite and
 * within 0.5 of ln V + 0.2 (the small-init expectation, test_model.c).
 *
 *   build/bench/bench_train [--quick] [--reps N] [--tokens N] [--threads N]
 *
 * Prints one CSV line per configuration. Timings on a shared machine are
 * noisy: the median of --reps steps is reported after the verification step
 * (which doubles as the warm-up), and the SGEMM peak is measured again right
 * before each row so that MFU compares numbers taken under the same load.
 */
#include "sclaw.h"
#include "sclaw_bench.h"
#include "sclaw_model.h"
#include "sclaw_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct step_arg {
    struct sclaw_model *m;
    struct sclaw_adamw *o;
    struct sclaw_lm_batch *b;
    double loss;
    int status;
};

static void one_step(void *p)
{
    struct step_arg *a = p;
    double loss;
    a->status |= sclaw_model_forward_backward(a->m, a->b, &loss, NULL);
    double gn = sclaw_grad_norm(a->m->grads, a->m->tt.numel);
    sclaw_adamw_step(a->o, a->m->params, a->m->grads, 1e-3, gn > 0.5 ? 0.5 / gn : 1.0);
    a->loss = loss;
}

int main(int argc, char **argv)
{
    int quick = 0, reps = 3, threads = 0;
    int64_t tokens = 4096;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc)
            tokens = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_train [--quick] [--reps N] [--tokens N] [--threads N]\n");
            return 2;
        }
    }
    if (reps < 1 || tokens < 512) {
        fprintf(stderr, "bench_train: --reps must be >= 1 and --tokens >= 512\n");
        return 2;
    }
    sclaw_threads_set(threads);
    char cpu[256];
    sclaw_bench_cpu_line(cpu, sizeof cpu);
    printf("# %s\n# threads %d, %lld tokens/step, median of %d steps; SGEMM peak re-measured "
           "before every row (the machine's load changes)\n",
           cpu, sclaw_threads_get(), (long long)tokens, reps);
    printf("family,d,num_blocks,num_heads,ctx,batch,params,flops_per_step,step_s,tokens_per_s,"
           "gemm_peak_gflops,mfu\n");
    static const struct {
        int64_t d, nb;
    } sizes[] = {{256, 6}, {512, 10}, {768, 12}};
    static const int64_t ctxs[] = {512, 2048};
    const char *fams[] = {"mlstm_v1", "llama"};
    const int64_t V = 4096;
    int rc = 0;
    for (int si = 0; si < (quick ? 1 : 3); si++)
        for (int ci = 0; ci < 2; ci++)
            for (int fi = 0; fi < 2; fi++) {
                struct sclaw_config c;
                int64_t d = sizes[si].d, T = ctxs[ci];
                int64_t B = tokens / T > 0 ? tokens / T : 1;
                sclaw_config_init(&c, fams[fi]);
                c.embedding_dim = d;
                c.num_blocks = sizes[si].nb;
                c.num_heads = fi == 0 ? d / 128 : d / 64;
                c.vocab_size = V;
                c.context_length = T;
                if (sclaw_config_derive(&c, "bench")) {
                    fprintf(stderr, "bench_train: %s\n", sclaw_errmsg());
                    return 1;
                }
                struct sclaw_model m;
                struct sclaw_adamw o;
                if (sclaw_model_init(&m, &c) || sclaw_model_reserve(&m, B, T) ||
                    sclaw_adamw_init(&o, &m.tt, 0.9, 0.95, 1e-8, 0.1)) {
                    fprintf(stderr, "bench_train: %s\n", sclaw_errmsg());
                    return 1;
                }
                sclaw_model_init_params(&m, 1);
                int32_t *in = malloc((size_t)(B * T) * sizeof *in);
                int32_t *tg = malloc((size_t)(B * T) * sizeof *tg);
                int32_t *sg = malloc((size_t)(B * T) * sizeof *sg);
                uint64_t s = 12345;
                for (int64_t n = 0; n < B * T; n++) {
                    s = s * 6364136223846793005ull + 1442695040888963407ull;
                    in[n] = (int32_t)((s >> 33) % (uint64_t)V);
                    tg[n] = (int32_t)((s >> 17) % (uint64_t)V);
                    sg[n] = (int32_t)((n % T) / 300); /* documents of 300 tokens */
                }
                struct sclaw_lm_batch b = {B, T, in, tg, sg};
                struct step_arg a = {&m, &o, &b, 0, 0};
                /* verify: first step's loss near the small-init value */
                one_step(&a);
                double want = log((double)V) + 0.2;
                if (a.status || !isfinite(a.loss) || fabs(a.loss - want) > 0.5) {
                    fprintf(stderr, "bench_train: %s d=%lld ctx=%lld: first loss %g, expected %g\n",
                            fams[fi], (long long)d, (long long)T, a.loss, want);
                    rc = 1;
                }
                double peak = sclaw_bench_gemm_peak(threads);
                double t = sclaw_bench_time(one_step, &a, 0, reps);
                struct sclaw_flop_opts fo = {SCLAW_MLSTM_FLOPS_FIRST, SCLAW_ATTN_FLOPS_DISTILL};
                double flops = sclaw_count_training_flops(&c, &fo, (double)B, 1.0);
                printf("%s,%lld,%lld,%lld,%lld,%lld,%lld,%.4g,%.4f,%.0f,%.1f,%.3f\n",
                       c.arch->display, (long long)d, (long long)c.num_blocks,
                       (long long)c.num_heads, (long long)T, (long long)B, (long long)m.tt.numel,
                       flops, t, (double)(B * T) / t, peak,
                       peak > 0 ? flops / t / (peak * 1e9) : NAN);
                fflush(stdout);
                free(in);
                free(tg);
                free(sg);
                sclaw_adamw_free(&o);
                sclaw_model_free(&m);
            }
    return rc;
}
