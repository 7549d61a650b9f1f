/* timing.c - one cell of the inference benchmark grid (sclaw_infer.h;
 * models.md §4, the paper's TTFT / step-time measurements): time to first
 * token and the mean decode-step time of B sequences, median of repeats,
 * warm-up excluded. */
#include "sclaw_bench.h"
#include "sclaw_infer.h"
#include "sclaw_model.h"
#include "sclaw_status.h"

#include <math.h>
#include <stdlib.h>

/* One run: prefill (or one step from the empty state when prefill is 0),
 * greedy first token, then G steps. Times in seconds: TTFT, the mean step
 * and the fastest step (*fastest is lowered, never raised). */
static int run_once(struct sclaw_infer *s, const int32_t *prompt, int64_t prefill, int64_t G,
                    int32_t *tok, double *ttft, double *step, double *fastest)
{
    const int64_t B = s->B, V = s->m->cfg.vocab_size;
    int st;
    sclaw_infer_reset(s);
    double t0 = sclaw_bench_now();
    if (prefill > 0)
        st = sclaw_infer_prefill(s, prompt, prefill);
    else
        st = sclaw_infer_step(s, prompt); /* prompt holds B start tokens */
    if (st)
        return st;
    for (int64_t b = 0; b < B; b++)
        tok[b] = sclaw_argmax(s->logits + b * V, V);
    double t1 = sclaw_bench_now();
    double ts = t1;
    for (int64_t g = 0; g < G; g++) {
        if ((st = sclaw_infer_step(s, tok)))
            return st;
        for (int64_t b = 0; b < B; b++)
            tok[b] = sclaw_argmax(s->logits + b * V, V);
        double te = sclaw_bench_now();
        if (te - ts < *fastest)
            *fastest = te - ts;
        ts = te;
    }
    double t2 = ts;
    *ttft = t1 - t0;
    *step = G > 0 ? (t2 - t1) / (double)G : 0;
    return SCLAW_OK;
}

int sclaw_infer_time(const struct sclaw_model *m, int64_t B, int64_t prefill, int64_t generate,
                     int repeat, int64_t piece, uint64_t seed, struct sclaw_infer_timing *r)
{
    const int64_t V = m->cfg.vocab_size;
    struct sclaw_infer s = {0};
    int32_t *prompt = NULL, *tok = NULL;
    double *tt = NULL, *ts = NULL;
    int st;
    if (B < 1 || prefill < 0 || generate < 0 || repeat < 1)
        return sclaw_fail(SCLAW_E_ARG, "bad timing cell: batch %lld, prefill %lld, generate "
                                       "%lld, repeat %d",
                          (long long)B, (long long)prefill, (long long)generate, repeat);
    /* the cache holds the prompt (or the start token) and every generated token */
    struct sclaw_infer_setup o = {B, (prefill > 0 ? prefill : 1) + generate + 1, piece,
                                  SCLAW_PREFILL_CHUNKED};
    if ((st = sclaw_infer_init(&s, m, &o)))
        return st;
    int64_t np = B * (prefill > 0 ? prefill : 1);
    prompt = malloc((size_t)np * sizeof *prompt);
    tok = malloc((size_t)B * sizeof *tok);
    tt = malloc((size_t)repeat * sizeof *tt);
    ts = malloc((size_t)repeat * sizeof *ts);
    if (!prompt || !tok || !tt || !ts) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    /* random prompt tokens: the cost does not depend on their values */
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < np; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        prompt[i] = (int32_t)((x * 0x2545F4914F6CDD1Dull >> 33) % (uint64_t)V);
    }
    /* warm-up (untimed): a prefill of up to 512 tokens and a few steps. The
     * reset before every run touches the whole state, so no timed run pays
     * first-touch page faults; a longer warm-up would only double the cost
     * of the long-prompt cells. */
    double w0, w1, wf = INFINITY, fastest = INFINITY;
    if ((st = run_once(&s, prompt, prefill < 512 ? prefill : 512, generate < 4 ? generate : 4,
                       tok, &w0, &w1, &wf)))
        goto done;
    for (int k = 0; k < repeat; k++)
        if ((st = run_once(&s, prompt, prefill, generate, tok, &tt[k], &ts[k], &fastest)))
            goto done;
    r->batch = B;
    r->prefill = prefill;
    r->generate = generate;
    double tbest = tt[0];
    for (int k = 1; k < repeat; k++)
        tbest = tt[k] < tbest ? tt[k] : tbest;
    r->ttft_best_ms = 1e3 * tbest;
    r->ttft_ms = 1e3 * sclaw_bench_median(tt, repeat); /* sorts tt */
    r->step_ms = 1e3 * sclaw_bench_median(ts, repeat);
    r->step_best_ms = generate > 0 ? 1e3 * fastest : 0;
    r->state_bytes = s.state_bytes;
    r->acts_bytes = s.acts_bytes;
done:
    free(prompt);
    free(tok);
    free(tt);
    free(ts);
    sclaw_infer_free(&s);
    return st;
}
