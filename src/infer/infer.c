/* infer.c - the inference state shared by both families (sclaw_infer.h;
 * models.md §4): allocation of the decode state and the activation block,
 * prefill in pieces, decode steps, the LM head on the last position, and the
 * full-forward logits the cached paths are tested against. The blocks are
 * the family's (arch->infer, src/infer/<family>_infer.c). */
#include "sclaw_infer.h"
#include "sclaw_kernels.h"
#include "sclaw_model.h"
#include "sclaw_status.h"
#include "../models/blocks.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_PIECE 512

void sclaw_infer_free(struct sclaw_infer *s)
{
    free(s->state);
    free(s->acts);
    free(s->views);
    free(s->w);
    memset(s, 0, sizeof *s);
}

void sclaw_infer_reset(struct sclaw_infer *s)
{
    const int64_t NB = s->m->cfg.num_blocks;
    /* zero C, n and m = 0 (models.md §3.1: m starts at 0, not -inf); a zero
     * KV cache is never read before it is written */
    memset(s->state, 0, (size_t)(NB * s->layer_floats) * sizeof *s->state);
    s->pos = 0;
}

int sclaw_infer_init(struct sclaw_infer *s, const struct sclaw_model *m,
                     const struct sclaw_infer_setup *o)
{
    const struct sclaw_config *c = &m->cfg;
    const int64_t D = c->embedding_dim, V = c->vocab_size, NB = c->num_blocks;
    int st = SCLAW_OK;
    memset(s, 0, sizeof *s);
    s->m = m;
    s->ops = m->arch->infer;
    if (!s->ops)
        return sclaw_fail(SCLAW_E_ARG, "model family '%s' has no inference code", m->arch->name);
    if (o->batch < 1)
        return sclaw_fail(SCLAW_E_ARG, "batch size %lld is below 1", (long long)o->batch);
    if (o->max_context < 0 || o->piece < 0)
        return sclaw_fail(SCLAW_E_ARG, "negative context (%lld) or piece length (%lld)",
                          (long long)o->max_context, (long long)o->piece);
    /* a KV cache needs a length; a piece longer than the context is never
     * needed, so the activations are capped there */
    s->B = o->batch;
    s->Tmax = o->max_context;
    s->P = o->piece ? o->piece : DEFAULT_PIECE;
    s->mode = o->mode;
    if (s->ops->kv_cache && !s->Tmax)
        s->Tmax = c->context_length;
    if (s->Tmax && s->P > s->Tmax)
        s->P = s->Tmax;
    const int64_t B = s->B, P = s->P, N = B * P;

    /* block weights by checkpoint name, once: the per-step code then indexes
     * a flat pointer array (style.md §2.4: views built once) */
    const int64_t nw = s->ops->nweights;
    s->w = calloc((size_t)(NB * nw), sizeof *s->w);
    if (!s->w)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    for (int64_t l = 0; l < NB; l++)
        if ((st = s->ops->weights(m, l, s->w + l * nw)))
            goto fail;

    /* the decode state: its own block (style.md §2.4) */
    s->layer_floats = blocks_round(s->ops->state_floats(c, B, s->Tmax));
    s->state_bytes = (double)(NB * s->layer_floats) * 4.0;
    s->state = sclaw_alloc_floats(NB * s->layer_floats);
    if (!s->state) {
        st = sclaw_fail(SCLAW_E_NOMEM,
                        "out of memory: the decode state of %lld sequences (context %lld) needs "
                        "%.2f GiB",
                        (long long)B, (long long)s->Tmax, s->state_bytes / (1 << 30));
        goto fail;
    }
    /* activations for B x P tokens plus the head on B rows: the residual
     * stream ping-pongs between x and y through the blocks, so two (N, D)
     * buffers serve every layer; the family scratch is shared by all layers
     * (a block's temporaries die when it returns). The LM head only ever sees
     * the B last rows, so no (N, V) logits buffer exists. */
    int64_t scr = s->ops->scratch_floats(c, B, P, s->Tmax);
    int64_t total = 2 * blocks_round(N * D) + 2 * blocks_round(B * D) + blocks_round(B) +
                    2 * blocks_round(B * V) + blocks_round(scr) + blocks_round(N);
    s->acts_bytes = (double)total * 4.0;
    s->acts = sclaw_alloc_floats(total);
    s->views = calloc(1, s->ops->view_bytes);
    if (!s->acts || !s->views) {
        st = sclaw_fail(SCLAW_E_NOMEM,
                        "out of memory: inference activations for %lld x %lld tokens need %.2f GiB",
                        (long long)B, (long long)P, s->acts_bytes / (1 << 30));
        goto fail;
    }
    float *at = s->acts;
    s->x = blocks_take(&at, N * D);
    s->y = blocks_take(&at, N * D);
    s->last = blocks_take(&at, B * D);
    s->lastn = blocks_take(&at, B * D);
    s->rstd = blocks_take(&at, B);
    s->logit_raw = blocks_take(&at, B * V);
    s->logits = blocks_take(&at, B * V);
    s->scratch = blocks_take(&at, scr);
    s->rows = (int32_t *)blocks_take(&at, N);
    SCLAW_ASSERT(at <= s->acts + total);
    s->ops->bind(c, B, P, s->Tmax, s->scratch, s->views);
    sclaw_infer_reset(s);
    return SCLAW_OK;
fail:
    sclaw_infer_free(s);
    return st;
}

void sclaw_infer_layer_state(const struct sclaw_infer *s, int64_t l, float **C, float **n,
                             float **m)
{
    const struct sclaw_config *c = &s->m->cfg;
    float *base = s->state + l * s->layer_floats;
    if (s->ops->kv_cache) {
        /* Llama: K then V, each (B, NH, Tmax, hd) */
        int64_t kv = s->B * c->num_heads * s->Tmax * c->head_dim_qk;
        *C = base;
        *n = base + blocks_round(kv);
        *m = NULL;
        return;
    }
    const int64_t BH = s->B * c->num_heads, dqk = c->head_dim_qk, dv = c->head_dim_v;
    *C = base;
    *n = base + blocks_round(BH * dqk * dv);
    *m = *n + blocks_round(BH * dqk);
}

/* Check a request of T more tokens: vocabulary and context limits. */
static int check_tokens(const struct sclaw_infer *s, const int32_t *tok, int64_t T, int64_t ld)
{
    const int64_t V = s->m->cfg.vocab_size;
    if (T < 1)
        return sclaw_fail(SCLAW_E_ARG, "empty prompt: nothing to prefill");
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t t = 0; t < T; t++) {
            int32_t x = tok[b * ld + t];
            if (x < 0 || x >= V)
                return sclaw_fail(SCLAW_E_ARG,
                                  "token id %d at sequence %lld position %lld is outside the "
                                  "vocabulary (%lld)",
                                  x, (long long)b, (long long)(s->pos + t), (long long)V);
        }
    if (s->Tmax && s->pos + T > s->Tmax)
        return sclaw_fail(SCLAW_E_ARG,
                          "context of %lld tokens exceeds the maximum context of %lld tokens%s",
                          (long long)(s->pos + T), (long long)s->Tmax,
                          s->ops->kv_cache ? " (the KV cache length)" : "");
    if (s->ops->check_context)
        return s->ops->check_context(s, s->pos + T);
    return SCLAW_OK;
}

/* Run n (<= P) tokens per sequence through the stack; tok (B, ld), columns
 * [0, n). Leaves the last position's residual in s->last. Every block reads
 * s->pos as the position of the piece's first token (RoPE, cache slot), so
 * the position advances only after the whole stack has run. */
static void run_piece(struct sclaw_infer *s, const int32_t *tok, int64_t ld, int64_t n)
{
    const struct sclaw_model *m = s->m;
    const int64_t D = m->cfg.embedding_dim, NB = m->cfg.num_blocks, B = s->B;
    float *x = s->x, *y = s->y;
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < n; t++)
            memcpy(x + (b * n + t) * D, m->emb + (int64_t)tok[b * ld + t] * D,
                   (size_t)D * sizeof *x);
    for (int64_t l = 0; l < NB; l++) {
        s->ops->block(s, l, x, y, n);
        float *t = x;
        x = y;
        y = t;
    }
    for (int64_t b = 0; b < B; b++)
        memcpy(s->last + b * D, x + (b * n + n - 1) * D, (size_t)D * sizeof *x);
    s->pos += n;
}

/* Final RMSNorm and LM head (with the family's soft-cap) on the B last rows. */
static void head(struct sclaw_infer *s)
{
    const struct sclaw_model *m = s->m;
    const int64_t D = m->cfg.embedding_dim, V = m->cfg.vocab_size, B = s->B;
    const float cap = (float)m->arch->logit_softcap;
    sclaw_rmsnorm_forward(s->lastn, s->rstd, s->last, m->out_norm, B, D, SCLAW_NORM_EPS);
    if (cap > 0) {
        sclaw_matmul_forward(s->logit_raw, s->lastn, m->head, B, D, V, 0);
        sclaw_softcap_forward(s->logits, s->logit_raw, B * V, cap);
    } else {
        sclaw_matmul_forward(s->logits, s->lastn, m->head, B, D, V, 0);
    }
}

int sclaw_infer_prefill(struct sclaw_infer *s, const int32_t *tokens, int64_t T)
{
    int st;
    if ((st = check_tokens(s, tokens, T, T)))
        return st;
    /* pieces of at most P tokens carry the state along (exact: the cell and
     * the cache are causal) */
    for (int64_t t0 = 0; t0 < T; t0 += s->P)
        run_piece(s, tokens + t0, T, T - t0 < s->P ? T - t0 : s->P);
    head(s);
    return SCLAW_OK;
}

int sclaw_infer_step(struct sclaw_infer *s, const int32_t *tok)
{
    int st;
    if ((st = check_tokens(s, tok, 1, 1)))
        return st;
    run_piece(s, tok, 1, 1);
    head(s);
    return SCLAW_OK;
}

int sclaw_infer_full_logits(struct sclaw_model *m, const int32_t *tokens, int64_t B, int64_t T,
                            float *logits)
{
    const int64_t D = m->cfg.embedding_dim, V = m->cfg.vocab_size, N = B * T;
    const float cap = (float)m->arch->logit_softcap;
    int st;
    if ((st = sclaw_model_reserve(m, B, T)))
        return st;
    int32_t *tgt = malloc((size_t)N * sizeof *tgt);
    if (!tgt)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < N; i++)
        tgt[i] = -1; /* no loss wanted: every target ignored */
    struct sclaw_lm_batch b = {B, T, tokens, tgt, NULL};
    double loss;
    st = sclaw_model_forward(m, &b, &loss, NULL);
    free(tgt);
    if (st)
        return st;
    /* the forward leaves the final-norm output (N, D) in m->xf */
    sclaw_matmul_forward(logits, m->xf, m->head, N, D, V, 0);
    if (cap > 0)
        sclaw_softcap_forward(logits, logits, N * V, cap);
    return SCLAW_OK;
}

int sclaw_infer_find_weights(const struct sclaw_model *m, const char *prefix, int64_t l,
                             const char *const *names, int n, float **w)
{
    for (int k = 0; k < n; k++) {
        char name[SCLAW_TENSOR_NAME_MAX];
        snprintf(name, sizeof name, "%s.%lld.%s", prefix, (long long)l, names[k]);
        int64_t i = sclaw_tensor_table_find(&m->tt, name);
        if (i < 0)
            return sclaw_fail(SCLAW_E_SHAPE, "model has no tensor '%s'", name);
        w[k] = m->params + m->tt.t[i].offset;
    }
    return SCLAW_OK;
}
