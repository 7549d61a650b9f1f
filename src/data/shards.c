/* shards.c - token shard files and `data prepare`: a corpus becomes
 * DIR/train_NNN.bin, DIR/val_NNN.bin and DIR/meta.json (sclaw_data.h, issue 5).
 * The shard layout is documented in sclaw_data.h; integers are little-endian
 * (this file refuses to build on a big-endian host rather than write
 * unreadable shards). */
#define _POSIX_C_SOURCE 200809L
#include "sclaw_data.h"
#include "sclaw_io.h"
#include "sclaw_status.h"
#include "data_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sclaw token shards are little-endian; this host is not"
#endif

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Header first, then the tokens converted to the width in blocks of 4096
 * (so a uint16 shard never needs a second full-size buffer). Every id is
 * range-checked on the way: a bad id aborts the write and the temporary
 * file goes, the target stays as it was. */
int sclaw_shard_write(const char *path, const int32_t *tokens, int64_t n, int64_t vocab_size)
{
    struct sclaw_atomic a;
    uint8_t h[SCLAW_SHARD_HEADER] = {0};
    int64_t width = vocab_size <= 65536 ? 2 : 4;
    int st;
    if (vocab_size <= 0 || vocab_size > UINT32_MAX)
        return sclaw_fail(SCLAW_E_ARG, "'%s': vocabulary size %" PRId64 " out of range", path, vocab_size);
    memcpy(h, SCLAW_SHARD_MAGIC, 8);
    put_u32(h + 8, SCLAW_SHARD_VERSION);
    put_u32(h + 12, (uint32_t)width);
    put_u64(h + 16, (uint64_t)n);
    put_u32(h + 24, (uint32_t)vocab_size);
    if ((st = sclaw_atomic_open(&a, path, "wb")))
        return st;
    int ok = fwrite(h, 1, sizeof h, a.fp) == sizeof h;
    uint16_t buf[4096];
    for (int64_t i = 0; ok && i < n; i += 4096) {
        int64_t m = n - i < 4096 ? n - i : 4096;
        for (int64_t k = 0; k < m; k++) {
            if (tokens[i + k] < 0 || tokens[i + k] >= vocab_size) {
                sclaw_atomic_abort(&a);
                return sclaw_fail(SCLAW_E_ARG, "'%s': token %d at %" PRId64 " is outside the "
                                  "vocabulary of %" PRId64, path, tokens[i + k], i + k, vocab_size);
            }
            if (width == 2)
                buf[k] = (uint16_t)tokens[i + k];
        }
        if (width == 2)
            ok = fwrite(buf, 2, (size_t)m, a.fp) == (size_t)m;
        else
            ok = fwrite(tokens + i, 4, (size_t)m, a.fp) == (size_t)m;
    }
    if (!ok) {
        st = sclaw_fail(SCLAW_E_IO, "cannot write '%s': %s", path, strerror(errno));
        sclaw_atomic_abort(&a);
        return st;
    }
    return sclaw_atomic_commit(&a);
}

void sclaw_shard_close(struct sclaw_shard *s)
{
    if (s->map)
        munmap((void *)s->map, s->map_len);
    free(s->path);
    memset(s, 0, sizeof *s);
}

/* Checks run from cheap to expensive, each with its own message: size of the
 * header, magic, version, width against vocabulary, file size against the
 * count (a short file is "truncated", a long one has trailing bytes), the
 * expected vocabulary, and finally every token id (one pass over the map,
 * so a corrupt shard fails at open, not in the middle of a run). */
int sclaw_shard_open(struct sclaw_shard *s, const char *path, int64_t expect_vocab)
{
    struct stat sb;
    uint8_t h[SCLAW_SHARD_HEADER];
    int st = SCLAW_OK;
    memset(s, 0, sizeof *s);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return sclaw_fail(SCLAW_E_IO, "cannot open '%s': %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0) {
        st = sclaw_fail(SCLAW_E_IO, "cannot stat '%s': %s", path, strerror(errno));
        goto done;
    }
    if (sb.st_size < SCLAW_SHARD_HEADER || pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
        st = sclaw_fail(SCLAW_E_FORMAT, "'%s': truncated: %lld bytes, a shard header is %d",
                        path, (long long)sb.st_size, SCLAW_SHARD_HEADER);
        goto done;
    }
    if (memcmp(h, SCLAW_SHARD_MAGIC, 8)) {
        st = sclaw_fail(SCLAW_E_FORMAT, "'%s': not a sclaw token shard (bad magic)", path);
        goto done;
    }
    uint32_t version = get_u32(h + 8), width = get_u32(h + 12), vocab = get_u32(h + 24);
    uint64_t count = get_u64(h + 16);
    if (version != SCLAW_SHARD_VERSION) {
        st = sclaw_fail(SCLAW_E_FORMAT, "'%s': shard format version %u, this sclaw reads version %d",
                        path, version, SCLAW_SHARD_VERSION);
        goto done;
    }
    if (width != (vocab <= 65536 ? 2u : 4u) || vocab == 0) {
        st = sclaw_fail(SCLAW_E_FORMAT, "'%s': token width %u does not fit vocabulary size %u",
                        path, width, vocab);
        goto done;
    }
    uint64_t want = SCLAW_SHARD_HEADER + count * width, have = (uint64_t)sb.st_size;
    if (count > (UINT64_MAX - SCLAW_SHARD_HEADER) / width || want > have) {
        st = sclaw_fail(SCLAW_E_FORMAT, "'%s': truncated: header says %" PRIu64 " tokens (%" PRIu64
                        " bytes), the file has %" PRIu64 " bytes", path, count, want, have);
        goto done;
    }
    if (want < have) {
        st = sclaw_fail(SCLAW_E_FORMAT, "'%s': %" PRIu64 " bytes after the %" PRIu64 " tokens the "
                        "header announces", path, have - want, count);
        goto done;
    }
    if (expect_vocab > 0 && (int64_t)vocab != expect_vocab) {
        st = sclaw_fail(SCLAW_E_FORMAT, "'%s': made with a vocabulary of %u tokens, expected %" PRId64
                        " (different tokenizer?)", path, vocab, expect_vocab);
        goto done;
    }
    void *map = mmap(NULL, (size_t)have, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        st = sclaw_fail(SCLAW_E_IO, "cannot map '%s': %s", path, strerror(errno));
        goto done;
    }
    s->map = map;
    s->map_len = (size_t)have;
    s->count = (int64_t)count;
    s->width = width;
    s->vocab_size = vocab;
    if (!(s->path = strdup(path))) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < s->count; i++) {
        int32_t tok = sclaw_shard_get(s, i);
        if (tok < 0 || tok >= (int64_t)vocab) {
            st = sclaw_fail(SCLAW_E_FORMAT, "'%s': token %u at index %" PRId64 " is outside the "
                            "vocabulary of %u", path, (uint32_t)tok, i, vocab);
            goto done;
        }
    }
done:
    close(fd);
    if (st)
        sclaw_shard_close(s);
    return st;
}

/* ---- data prepare --------------------------------------------------------------- */

/* One split being written: a buffer of at most cap tokens that becomes
 * <name>_NNN.bin whenever it fills, so documents may straddle two shards
 * (the loader concatenates a split's shards, so nothing depends on where
 * a shard ends). */
struct split_writer {
    const char *dir, *name;    /* "train" / "val" */
    int32_t *buf;
    int64_t n, cap;            /* cap = tokens per shard */
    int64_t vocab, shards, tokens, docs;
    json_t *files;
};

static int flush_shard(struct split_writer *w)
{
    char file[64], path[4096];
    snprintf(file, sizeof file, "%s_%03" PRId64 ".bin", w->name, w->shards);
    snprintf(path, sizeof path, "%s/%s", w->dir, file);
    int st = sclaw_shard_write(path, w->buf, w->n, w->vocab);
    if (st)
        return st;
    json_array_append_new(w->files, json_string(file));
    w->shards++;
    w->n = 0;
    return SCLAW_OK;
}

static int push_tokens(struct split_writer *w, const int32_t *ids, int64_t n)
{
    while (n > 0) {
        int64_t m = w->cap - w->n < n ? w->cap - w->n : n;
        memcpy(w->buf + w->n, ids, (size_t)m * sizeof *ids);
        w->n += m, w->tokens += m, ids += m, n -= m;
        int st;
        if (w->n == w->cap && (st = flush_shard(w)))
            return st;
    }
    return SCLAW_OK;
}

/* Documents sorted by (content hash, index): the first nval are held out. The
 * index only breaks ties between identical documents, which keeps the choice
 * deterministic; the hash makes it independent of the corpus order. */
struct doc_key {
    uint64_t hash;
    int64_t index;
};

static int cmp_doc_key(const void *x, const void *y)
{
    const struct doc_key *a = x, *b = y;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

int sclaw_data_prepare(const char *dir, const struct sclaw_corpus *c, struct sclaw_tokenizer *t,
                       const struct sclaw_prepare_opts *o, struct sclaw_prepare_stats *stats)
{
    struct split_writer w[2] = {{0}};
    struct doc_key *keys = NULL;
    uint8_t *is_val = NULL;
    json_t *meta = NULL;
    int st = SCLAW_OK;
    int64_t shard_tokens = o->shard_tokens > 0 ? o->shard_tokens : (int64_t)1 << 27;
    memset(stats, 0, sizeof *stats);
    if (t->eot_id < 0)
        return sclaw_fail(SCLAW_E_ARG, "the tokenizer has no '%s' token to separate documents",
                          SCLAW_TOK_EOT);
    if (!(o->val_fraction >= 0 && o->val_fraction < 1))
        return sclaw_fail(SCLAW_E_ARG, "validation fraction %g is not in [0, 1)", o->val_fraction);
    /* the validation documents: the nval smallest content hashes */
    int64_t nval = (int64_t)llround(o->val_fraction * (double)c->ndocs);
    if (o->val_fraction > 0 && nval == 0)
        nval = 1;
    if (o->val_fraction > 0 && c->ndocs < 2)
        return sclaw_fail(SCLAW_E_ARG, "a validation split needs at least 2 documents, the corpus "
                          "has %" PRId64 " (cut files into documents, or use several files)", c->ndocs);
    if (nval >= c->ndocs)
        return sclaw_fail(SCLAW_E_ARG, "validation fraction %g leaves no training document of %" PRId64,
                          o->val_fraction, c->ndocs);
    keys = malloc((size_t)c->ndocs * sizeof *keys);
    is_val = calloc((size_t)c->ndocs, 1);
    if (!keys || !is_val) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t d = 0; d < c->ndocs; d++) {
        keys[d].hash = dt_fnv1a(DT_FNV_OFFSET, c->text + c->off[d], (size_t)(c->off[d + 1] - c->off[d]));
        keys[d].index = d;
    }
    qsort(keys, (size_t)c->ndocs, sizeof *keys, cmp_doc_key);
    for (int64_t k = 0; k < nval; k++)
        is_val[keys[k].index] = 1;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        st = sclaw_fail(SCLAW_E_IO, "cannot create directory '%s': %s", dir, strerror(errno));
        goto done;
    }
    /* meta.json goes last; an older one goes first, so that a run that stops
     * half-way never leaves a meta.json describing shards it overwrote */
    char mpath[4096];
    snprintf(mpath, sizeof mpath, "%s/meta.json", dir);
    if (unlink(mpath) != 0 && errno != ENOENT) {
        st = sclaw_fail(SCLAW_E_IO, "cannot replace '%s': %s", mpath, strerror(errno));
        goto done;
    }
    for (int s = 0; s < 2; s++) {
        w[s].dir = dir;
        w[s].name = s ? "val" : "train";
        w[s].cap = shard_tokens;
        w[s].vocab = t->vocab_size;
        w[s].files = json_array();
        w[s].buf = malloc((size_t)shard_tokens * sizeof(int32_t));
        if (!w[s].buf || !w[s].files) {
            st = sclaw_fail(SCLAW_E_NOMEM, "out of memory for shards of %" PRId64 " tokens", shard_tokens);
            goto done;
        }
    }
    for (int64_t d = 0; d < c->ndocs; d++) {
        int32_t *ids = NULL, eot = t->eot_id;
        int64_t n = 0;
        struct split_writer *sw = &w[is_val[d]];
        if ((st = sclaw_tok_encode(t, (const uint8_t *)c->text + c->off[d],
                                   c->off[d + 1] - c->off[d], &ids, &n)))
            goto done;
        /* every document starts with the separator */
        if (!(st = push_tokens(sw, &eot, 1)))
            st = push_tokens(sw, ids, n);
        free(ids);
        if (st)
            goto done;
        sw->docs++;
        if (o->progress)
            o->progress(c->off[d + 1], c->nbytes, o->user);
    }
    for (int s = 0; s < 2; s++)
        if ((w[s].n > 0 || w[s].shards == 0) && (st = flush_shard(&w[s])))
            goto done;
    char hash[32], path[4096];
    snprintf(hash, sizeof hash, "%016" PRIx64, sclaw_tok_hash(t));
    meta = json_pack("{s:s, s:i, s:s?, s:s, s:I, s:I, s:I, s:f, s:I, s:I, s:O}",
                     "format", "sclaw-tokens", "version", SCLAW_SHARD_VERSION,
                     "tokenizer", o->tokenizer_path, "tokenizer_hash", hash,
                     "vocab_size", (json_int_t)t->vocab_size, "eot_id", (json_int_t)t->eot_id,
                     "token_bytes", (json_int_t)(t->vocab_size <= 65536 ? 2 : 4),
                     "val_fraction", o->val_fraction, "shard_tokens", (json_int_t)shard_tokens,
                     "bytes", (json_int_t)c->nbytes, "sources", c->sources);
    for (int s = 0; meta && s < 2; s++)
        json_object_set_new(meta, w[s].name,
                            json_pack("{s:I, s:I, s:O}", "documents", (json_int_t)w[s].docs,
                                      "tokens", (json_int_t)w[s].tokens, "shards", w[s].files));
    if (!meta) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    if ((st = sclaw_json_write(mpath, meta)))
        goto done;
    for (int s = 0; s < 2; s++) {
        /* shards of an earlier, larger run are no longer part of the set */
        for (int64_t k = w[s].shards;; k++) {
            snprintf(path, sizeof path, "%s/%s_%03" PRId64 ".bin", dir, w[s].name, k);
            if (unlink(path) != 0)
                break;
        }
        stats->docs[s] = w[s].docs;
        stats->tokens[s] = w[s].tokens;
        stats->shards[s] = w[s].shards;
    }
    stats->bytes = c->nbytes;
done:
    for (int s = 0; s < 2; s++) {
        free(w[s].buf);
        json_decref(w[s].files);
    }
    json_decref(meta);
    free(keys);
    free(is_val);
    if (st)
        st = sclaw_wrap(st, "preparing '%s'", dir);
    return st;
}
