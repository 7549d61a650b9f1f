/* loader.c - deterministic (B, T+1) training windows and fixed validation
 * windows from the shards of `data prepare` (sclaw_data.h, issue 5).
 *
 * Training: the split (all its shards, concatenated) of n tokens holds
 * nwin = (n - 1) / T windows of T+1 tokens that overlap by one token, so
 * every token is a target exactly once per epoch; the (n - 1) % T tokens of
 * slack let the windows shift. Epoch e uses the offset and the permutation
 * drawn from splitmix64(seed, e), and window g = position (counted over the
 * whole run) is window perm_e[g % nwin] of epoch e = g / nwin. A batch is
 * therefore a pure function of (seed, position): a checkpoint that stores
 * struct sclaw_loader_state resumes the stream exactly.
 *
 * Validation: window i starts at i * T, in order, no shuffling.
 */
#include "sclaw_data.h"
#include "sclaw_io.h"
#include "sclaw_status.h"
#include "data_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sclaw_batch_init(struct sclaw_batch *b, int64_t B, int64_t T)
{
    memset(b, 0, sizeof *b);
    if (B < 1 || T < 1)
        return sclaw_fail(SCLAW_E_ARG, "batch %" PRId64 " x %" PRId64 ": both must be >= 1", B, T);
    b->B = B, b->T = T;
    b->tokens = malloc((size_t)(B * (T + 1)) * sizeof *b->tokens);
    b->seg = malloc((size_t)(B * T) * sizeof *b->seg);
    b->pos = malloc((size_t)(B * T) * sizeof *b->pos);
    if (!b->tokens || !b->seg || !b->pos) {
        sclaw_batch_free(b);
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory for a batch of %" PRId64 " x %" PRId64, B, T);
    }
    return SCLAW_OK;
}

void sclaw_batch_free(struct sclaw_batch *b)
{
    free(b->tokens);
    free(b->seg);
    free(b->pos);
    memset(b, 0, sizeof *b);
}

void sclaw_loader_close(struct sclaw_loader *l)
{
    for (int s = 0; s < 2; s++) {
        for (int64_t k = 0; k < l->nshards[s]; k++)
            sclaw_shard_close(&l->shards[s][k]);
        free(l->shards[s]);
        free(l->start[s]);
    }
    free(l->perm);
    free(l->dir);
    memset(l, 0, sizeof *l);
}

static int get_int(const json_t *o, const char *key, const char *path, int64_t *out)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return sclaw_fail(SCLAW_E_FORMAT, "%s: missing or non-integer '%s'", path, key);
    *out = json_integer_value(v);
    return SCLAW_OK;
}

/* Open the shards of one split listed in meta.json (names only, no paths:
 * a data directory can be moved as a whole). Their token total must match
 * meta.json's count, which catches shards replaced behind meta.json's back. */
static int open_split(struct sclaw_loader *l, int s, const json_t *meta, const char *mpath)
{
    const char *name = s ? "val" : "train";
    const json_t *sp = json_object_get(meta, name), *files = json_object_get(sp, "shards");
    int64_t want = 0;
    int st;
    if (!json_is_array(files))
        return sclaw_fail(SCLAW_E_FORMAT, "%s: missing '%s.shards'", mpath, name);
    if ((st = get_int(sp, "tokens", mpath, &want)))
        return sclaw_wrap(st, "split '%s'", name);
    int64_t n = (int64_t)json_array_size(files);
    l->shards[s] = calloc((size_t)n + 1, sizeof **l->shards);
    l->start[s] = calloc((size_t)n + 1, sizeof **l->start);
    if (!l->shards[s] || !l->start[s])
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    for (int64_t k = 0; k < n; k++) {
        const char *f = json_string_value(json_array_get(files, (size_t)k));
        char path[4096];
        if (!f || strchr(f, '/'))
            return sclaw_fail(SCLAW_E_FORMAT, "%s: '%s.shards[%" PRId64 "]' is not a file name",
                              mpath, name, k);
        snprintf(path, sizeof path, "%s/%s", l->dir, f);
        if ((st = sclaw_shard_open(&l->shards[s][k], path, l->vocab_size)))
            return st;
        l->nshards[s] = k + 1;
        l->start[s][k + 1] = l->start[s][k] + l->shards[s][k].count;
    }
    l->ntok[s] = l->start[s][n];
    if (l->ntok[s] != want)
        return sclaw_fail(SCLAW_E_FORMAT, "%s: '%s' holds %" PRId64 " tokens in its shards, meta.json "
                          "says %" PRId64 " (shards from another run?)", mpath, name, l->ntok[s], want);
    return SCLAW_OK;
}

int sclaw_loader_open(struct sclaw_loader *l, const char *dir, int64_t T, int64_t expect_vocab,
                      uint64_t seed)
{
    char mpath[4096];
    json_t *meta = NULL;
    int st;
    memset(l, 0, sizeof *l);
    l->perm_epoch = -1;
    if (T < 1)
        return sclaw_fail(SCLAW_E_ARG, "sequence length %" PRId64 " must be >= 1", T);
    l->T = T;
    l->state.seed = seed;
    if (!(l->dir = strdup(dir)))
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    snprintf(mpath, sizeof mpath, "%s/meta.json", dir);
    if ((st = sclaw_json_load(mpath, &meta)))
        goto done;
    const char *fmt = json_string_value(json_object_get(meta, "format"));
    if (!fmt || strcmp(fmt, "sclaw-tokens")) {
        st = sclaw_fail(SCLAW_E_FORMAT, "%s: not a sclaw token data set (format '%s')", mpath,
                        fmt ? fmt : "missing");
        goto done;
    }
    if ((st = get_int(meta, "vocab_size", mpath, &l->vocab_size)) ||
        (st = get_int(meta, "eot_id", mpath, &l->eot_id)))
        goto done;
    if (expect_vocab > 0 && expect_vocab != l->vocab_size) {
        st = sclaw_fail(SCLAW_E_FORMAT, "%s: data made with a vocabulary of %" PRId64 " tokens, the "
                        "model/tokenizer has %" PRId64, mpath, l->vocab_size, expect_vocab);
        goto done;
    }
    for (int s = 0; s < 2; s++)
        if ((st = open_split(l, s, meta, mpath)))
            goto done;
    if (l->ntok[0] < T + 1) {
        st = sclaw_fail(SCLAW_E_ARG, "%s: the training split has %" PRId64 " tokens, fewer than "
                        "one window of T+1 = %" PRId64, dir, l->ntok[0], T + 1);
        goto done;
    }
    l->nwin = (l->ntok[0] - 1) / T;
    l->slack = (l->ntok[0] - 1) % T;
    l->nval = l->ntok[1] >= T + 1 ? (l->ntok[1] - 1) / T : 0;
    if (!(l->perm = malloc((size_t)l->nwin * sizeof *l->perm))) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory for %" PRId64 " windows", l->nwin);
        goto done;
    }
done:
    json_decref(meta);
    if (st)
        sclaw_loader_close(l);
    return st;
}

/* Copy tokens [start, start + n) of split s to out. A window may span two
 * shards (documents straddle them): find the first shard by binary search
 * over the cumulative starts, then walk forward. */
static void copy_tokens(const struct sclaw_loader *l, int s, int64_t start, int64_t n, int32_t *out)
{
    int64_t lo = 0, hi = l->nshards[s] - 1;
    while (lo < hi) {  /* last shard whose start <= start */
        int64_t mid = (lo + hi + 1) / 2;
        if (l->start[s][mid] <= start)
            lo = mid;
        else
            hi = mid - 1;
    }
    for (int64_t k = lo; n > 0; k++) {
        const struct sclaw_shard *sh = &l->shards[s][k];
        int64_t i = start - l->start[s][k];
        for (; i < sh->count && n > 0; i++, n--, start++)
            *out++ = sclaw_shard_get(sh, i);
    }
}

/* Segment ids and in-segment positions of row r's inputs. */
static void fill_row(struct sclaw_batch *b, int64_t r, int32_t eot)
{
    const int32_t *x = b->tokens + r * (b->T + 1);
    int32_t *seg = b->seg + r * b->T, *pos = b->pos + r * b->T;
    seg[0] = 0, pos[0] = 0;
    for (int64_t t = 1; t < b->T; t++) {
        if (x[t] == eot) {  /* a document starts here */
            seg[t] = seg[t - 1] + 1;
            pos[t] = 0;
        } else {
            seg[t] = seg[t - 1];
            pos[t] = pos[t - 1] + 1;
        }
    }
}

/* Epoch e's permutation (Fisher-Yates) into l->perm; returns its offset.
 * Every draw is a hash of (seed, epoch, index) rather than a running RNG
 * stream, so an epoch can be rebuilt from scratch at any position, which is
 * what makes resuming exact. The permutation is rebuilt only when the epoch
 * changes (O(nwin) once per epoch). */
static int64_t epoch_perm(struct sclaw_loader *l, int64_t e)
{
    uint64_t base = dt_mix64(l->state.seed ^ dt_mix64((uint64_t)e + 1));
    if (l->perm_epoch != e) {
        for (int64_t i = 0; i < l->nwin; i++)
            l->perm[i] = i;
        for (int64_t i = l->nwin - 1; i > 0; i--) {
            /* 64-bit draws: modulo bias is below 2^-30 for any realistic nwin */
            uint64_t u = dt_mix64(base + (uint64_t)i);
            int64_t j = (int64_t)(u % (uint64_t)(i + 1)), tmp = l->perm[i];
            l->perm[i] = l->perm[j];
            l->perm[j] = tmp;
        }
        l->perm_epoch = e;
    }
    return (int64_t)(dt_mix64(base ^ 0x5bd1e995u) % (uint64_t)(l->slack + 1));
}

int sclaw_loader_next(struct sclaw_loader *l, struct sclaw_batch *b)
{
    if (b->T != l->T)
        return sclaw_fail(SCLAW_E_SHAPE, "batch has T = %" PRId64 ", the loader was opened with %" PRId64,
                          b->T, l->T);
    if (l->state.position < 0)
        return sclaw_fail(SCLAW_E_ARG, "loader position %" PRId64 " is negative", l->state.position);
    for (int64_t r = 0; r < b->B; r++) {
        int64_t g = l->state.position + r, e = g / l->nwin;
        int64_t off = epoch_perm(l, e);
        int64_t start = off + l->perm[g % l->nwin] * l->T;
        copy_tokens(l, 0, start, l->T + 1, b->tokens + r * (l->T + 1));
        fill_row(b, r, (int32_t)l->eot_id);
    }
    b->rows = b->B;
    l->state.position += b->B;
    return SCLAW_OK;
}

int64_t sclaw_loader_val_batches(const struct sclaw_loader *l, int64_t B)
{
    return B > 0 ? (l->nval + B - 1) / B : 0;
}

int sclaw_loader_val(struct sclaw_loader *l, int64_t k, struct sclaw_batch *b)
{
    if (b->T != l->T)
        return sclaw_fail(SCLAW_E_SHAPE, "batch has T = %" PRId64 ", the loader was opened with %" PRId64,
                          b->T, l->T);
    if (l->nval == 0)
        return sclaw_fail(SCLAW_E_ARG, "%s: the validation split has %" PRId64 " tokens, fewer than "
                          "one window of T+1 = %" PRId64, l->dir, l->ntok[1], l->T + 1);
    int64_t nb = sclaw_loader_val_batches(l, b->B);
    if (k < 0 || k >= nb)
        return sclaw_fail(SCLAW_E_ARG, "validation batch %" PRId64 " of %" PRId64 " does not exist", k, nb);
    b->rows = 0;
    for (int64_t r = 0; r < b->B && k * b->B + r < l->nval; r++) {
        copy_tokens(l, 1, (k * b->B + r) * l->T, l->T + 1, b->tokens + r * (l->T + 1));
        fill_row(b, r, (int32_t)l->eot_id);
        b->rows++;
    }
    return SCLAW_OK;
}

json_t *sclaw_loader_state_json(const struct sclaw_loader_state *s)
{
    char seed[32];
    snprintf(seed, sizeof seed, "0x%016" PRIx64, s->seed);
    return json_pack("{s:s, s:I}", "seed", seed, "position", (json_int_t)s->position);
}

int sclaw_loader_state_parse(const json_t *j, struct sclaw_loader_state *s)
{
    const json_t *seed = json_object_get(j, "seed"), *pos = json_object_get(j, "position");
    char *end = NULL;
    if (!json_is_integer(pos) || json_integer_value(pos) < 0)
        return sclaw_fail(SCLAW_E_FORMAT, "loader state: 'position' must be an integer >= 0");
    if (json_is_integer(seed) && json_integer_value(seed) >= 0) {
        s->seed = (uint64_t)json_integer_value(seed);
    } else if (json_is_string(seed)) {
        const char *str = json_string_value(seed);
        s->seed = strtoull(str, &end, 0);
        if (!*str || *end)
            return sclaw_fail(SCLAW_E_FORMAT, "loader state: 'seed' '%s' is not a number", str);
    } else {
        return sclaw_fail(SCLAW_E_FORMAT, "loader state: 'seed' must be a number or a hex string");
    }
    s->position = json_integer_value(pos);
    return SCLAW_OK;
}
