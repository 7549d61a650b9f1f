/* source.c - the token-shard loader (sclaw_data.h) as the trainer's batch
 * source (sclaw_train.h): loader windows of T+1 tokens become inputs,
 * next-token targets and document ids. */
#include "sclaw_data.h"
#include "sclaw_status.h"
#include "sclaw_train.h"

#include <string.h>

/* tokens (B, T+1) -> inputs = tokens[:, :T], targets = tokens[:, 1:];
 * rows beyond `rows` (a short validation batch) get ignored targets */
static void split_rows(const struct sclaw_batch *b, int32_t *in, int32_t *tg, int32_t *sg,
                       int64_t B, int64_t T)
{
    for (int64_t r = 0; r < B; r++) {
        if (r < b->rows) {
            memcpy(in + r * T, b->tokens + r * (T + 1), (size_t)T * sizeof *in);
            memcpy(tg + r * T, b->tokens + r * (T + 1) + 1, (size_t)T * sizeof *tg);
            memcpy(sg + r * T, b->seg + r * T, (size_t)T * sizeof *sg);
        } else {
            memset(in + r * T, 0, (size_t)T * sizeof *in);
            memset(sg + r * T, 0, (size_t)T * sizeof *sg);
            for (int64_t t = 0; t < T; t++)
                tg[r * T + t] = -1;
        }
    }
}

static int next_train(void *ctx, int32_t *in, int32_t *tg, int32_t *sg, int64_t B, int64_t T)
{
    struct sclaw_loader_source *s = ctx;
    SCLAW_ASSERT(B == s->b.B && T == s->b.T);
    int st = sclaw_loader_next(s->l, &s->b);
    if (st)
        return st;
    split_rows(&s->b, in, tg, sg, B, T);
    return SCLAW_OK;
}

static int next_val(void *ctx, int32_t *in, int32_t *tg, int32_t *sg, int64_t B, int64_t T)
{
    struct sclaw_loader_source *s = ctx;
    SCLAW_ASSERT(B == s->b.B && T == s->b.T);
    int64_t n = sclaw_loader_val_batches(s->l, B);
    if (n < 1)
        return sclaw_fail(SCLAW_E_ARG, "data directory '%s' has no validation batches of %lld x %lld",
                          s->l->dir, (long long)B, (long long)T);
    /* wrap around: asking for more batches than exist repeats them */
    int st = sclaw_loader_val(s->l, s->k % n, &s->b);
    if (st)
        return st;
    s->k++;
    split_rows(&s->b, in, tg, sg, B, T);
    return SCLAW_OK;
}

static json_t *save_train(void *ctx)
{
    struct sclaw_loader_source *s = ctx;
    return sclaw_loader_state_json(&s->l->state);
}

static int load_train(void *ctx, const json_t *j)
{
    struct sclaw_loader_source *s = ctx;
    return sclaw_loader_state_parse(j, &s->l->state);
}

static int rewind_val(void *ctx)
{
    ((struct sclaw_loader_source *)ctx)->k = 0;
    return SCLAW_OK;
}

int sclaw_loader_source_init(struct sclaw_loader_source *s, struct sclaw_batch_source *bs,
                             struct sclaw_loader *l, int64_t B, int val)
{
    memset(s, 0, sizeof *s);
    s->l = l;
    s->val = val;
    int st = sclaw_batch_init(&s->b, B, l->T);
    if (st)
        return st;
    if (val)
        *bs = (struct sclaw_batch_source){s, next_val, NULL, NULL, rewind_val};
    else
        *bs = (struct sclaw_batch_source){s, next_train, save_train, load_train, NULL};
    return SCLAW_OK;
}

void sclaw_loader_source_free(struct sclaw_loader_source *s)
{
    sclaw_batch_free(&s->b);
    memset(s, 0, sizeof *s);
}
