/* sample.c - next-token sampling (sclaw_infer.h): greedy argmax at
 * temperature 0, otherwise softmax(logits / T) restricted to the top-p
 * nucleus, drawn with a seeded RNG. Deterministic: same seed, same logits,
 * same tokens (ties in the sort go to the lower id). */
#include "sclaw_infer.h"
#include "sclaw_status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int32_t sclaw_argmax(const float *x, int64_t n)
{
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return (int32_t)best;
}

int sclaw_sampler_init(struct sclaw_sampler *sp, int64_t V, double temperature, double top_p,
                       uint64_t seed)
{
    memset(sp, 0, sizeof *sp);
    if (!(temperature >= 0) || !isfinite(temperature))
        return sclaw_fail(SCLAW_E_ARG, "temperature %g is not a finite number >= 0", temperature);
    if (!(top_p > 0 && top_p <= 1))
        return sclaw_fail(SCLAW_E_ARG, "top-p %g is not in (0, 1]", top_p);
    sp->temperature = temperature;
    sp->top_p = top_p;
    /* splitmix64 of the seed: no zero state for xorshift, nearby seeds
     * give unrelated streams */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    sp->rng = (z ^ (z >> 31)) | 1;
    sp->V = V;
    sp->prob = malloc((size_t)V * sizeof *sp->prob);
    sp->cand = malloc((size_t)V * sizeof *sp->cand);
    if (!sp->prob || !sp->cand) {
        sclaw_sampler_free(sp);
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    }
    return SCLAW_OK;
}

void sclaw_sampler_free(struct sclaw_sampler *sp)
{
    free(sp->prob);
    free(sp->cand);
    memset(sp, 0, sizeof *sp);
}

/* xorshift64*: uniform in [0, 1) from the top 24 bits (float precision). */
static float uniform(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (float)((*s * 0x2545F4914F6CDD1Dull) >> 40) / 16777216.0f;
}

/* Descending probability, ascending id on ties. */
static int by_prob(const void *a, const void *b)
{
    const struct sclaw_cand *x = a, *y = b;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

int32_t sclaw_sampler_next(struct sclaw_sampler *sp, const float *logits)
{
    const int64_t V = sp->V;
    if (sp->temperature == 0)
        return sclaw_argmax(logits, V);
    /* softmax(logits / T), max-shifted, summed in double */
    float mx = logits[sclaw_argmax(logits, V)];
    double sum = 0;
    for (int64_t i = 0; i < V; i++) {
        sp->prob[i] = expf((float)((logits[i] - mx) / sp->temperature));
        sum += sp->prob[i];
    }
    for (int64_t i = 0; i < V; i++)
        sp->prob[i] = (float)(sp->prob[i] / sum);
    float r = uniform(&sp->rng);
    if (sp->top_p >= 1) {
        /* plain inverse-CDF draw over all ids */
        double c = 0;
        for (int64_t i = 0; i < V; i++) {
            c += sp->prob[i];
            if (r < c)
                return (int32_t)i;
        }
        return (int32_t)(V - 1);
    }
    /* nucleus: only ids with p >= (1 - top_p) / (V - 1) can be in the
     * smallest set reaching top_p (llama2.c's cut), so sort just those */
    const float cutoff = (float)((1.0 - sp->top_p) / (double)(V > 1 ? V - 1 : 1));
    int64_t n = 0;
    for (int64_t i = 0; i < V; i++)
        if (sp->prob[i] >= cutoff)
            sp->cand[n++] = (struct sclaw_cand){sp->prob[i], (int32_t)i};
    qsort(sp->cand, (size_t)n, sizeof *sp->cand, by_prob);
    double mass = 0;
    int64_t last = n - 1;
    for (int64_t k = 0; k < n; k++) {
        mass += sp->cand[k].p;
        if (mass >= sp->top_p) {
            last = k;
            break;
        }
    }
    /* draw within the nucleus, renormalised */
    double c = 0, target = r * mass;
    for (int64_t k = 0; k <= last; k++) {
        c += sp->cand[k].p;
        if (target < c)
            return sp->cand[k].id;
    }
    return sp->cand[last].id;
}
