/* tokenizer.c - byte-level BPE tokenizer: GPT-2 pre-tokenisation split,
 * encode (fast and reference) and decode (sclaw_data.h, issue 5); the GPT-2
 * files are read and written by tok_files.c.
 *
 * Encoding a chunk applies merges by rank: repeatedly take the adjacent pair
 * with the lowest merge rank and merge all of its non-overlapping occurrences
 * left to right (GPT-2's bpe()). Three implementations give the same tokens:
 *   - simple_bpe: scan all pairs per step, O(len^2); the reference and the
 *     fast path for short chunks;
 *   - heap_bpe: a linked list of symbols and a min-heap of (rank, position),
 *     O(len log len); for long chunks (a 1 MB run of letters stays fast);
 *   - a cache chunk -> tokens in front of both (text repeats its words).
 */
#define _POSIX_C_SOURCE 200809L
#include "sclaw_data.h"
#include "sclaw_status.h"
#include "data_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_MAX_LEN 64         /* chunks longer than this are not cached */
#define CACHE_MAX_ENTRIES (1 << 18)
#define SIMPLE_MAX_LEN 32        /* longer chunks use the heap merge */

/* ---- GPT-2 byte-to-unicode alphabet ---------------------------------------
 * GPT-2 maps each byte to one printable code point so token strings are
 * readable JSON keys: the 188 "printable" bytes '!'..'~', 0xA1..0xAC,
 * 0xAE..0xFF stand for themselves, and the other 68 bytes (0..32, 127..160,
 * 173) get 256, 257, ... in increasing byte order. */
static int printable(int b)
{
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

int32_t sclaw_tok_byte_to_cp(uint8_t b)
{
    if (printable(b))
        return b;
    if (b <= 32)
        return 256 + b;
    if (b <= 160)
        return 256 + 33 + (b - 127);
    return 256 + 33 + 34;  /* 173, the soft hyphen */
}

int sclaw_tok_cp_to_byte(int32_t cp)
{
    if (cp >= 0 && cp <= 255)
        return printable(cp) ? cp : -1;
    if (cp >= 256 && cp <= 288)
        return cp - 256;
    if (cp >= 289 && cp <= 322)
        return cp - 289 + 127;
    return cp == 323 ? 173 : -1;
}

int32_t dt_base_id(uint8_t b)
{
    int32_t cp = sclaw_tok_byte_to_cp(b);
    if (cp >= 256)
        return 188 + (cp - 256);
    if (b <= 126)
        return b - 33;
    if (b <= 172)
        return 94 + (b - 161);
    return 106 + (b - 174);
}

/* ---- pre-tokenisation ------------------------------------------------------- */
enum { C_OTHER = 0, C_LETTER, C_DIGIT, C_SPACE };

/* Class of every byte value: letters A-Z a-z and all bytes >= 0x80, digits
 * 0-9, whitespace \t \n \v \f \r and space, everything else "other". A table
 * lookup costs less than the comparisons on this hot path. */
static const uint8_t char_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static inline int cls(uint8_t c)
{
    return char_class[c];
}

/* Length of the chunk starting at s[0] (n > 0 bytes left): the first
 * alternative of GPT-2's pattern that matches, as described in sclaw_data.h. */
static int64_t chunk_len(const uint8_t *s, int64_t n)
{
    if (s[0] == '\'' && n >= 2) {  /* 's 't 're 've 'm 'll 'd */
        uint8_t a = s[1], b = n >= 3 ? s[2] : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd')
            return 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
            return 3;
    }
    int64_t j = 0;
    if (s[0] == ' ' && n >= 2 && cls(s[1]) != C_SPACE)
        j = 1;  /* the optional leading space of " word" */
    int k = cls(s[j]);
    if (k != C_SPACE) {  /* a run of letters, digits or other symbols */
        while (j < n && cls(s[j]) == k)
            j++;
        return j;
    }
    /* Whitespace: \s+(?!\S) takes the run up to (not including) its last
     * character when a non-space follows, so the last space can lead the next
     * word; a lone whitespace character before a non-space is \s+. */
    while (j < n && cls(s[j]) == C_SPACE)
        j++;
    if (j == n || j == 1)
        return j;
    return j - 1;
}

int sclaw_tok_split(const uint8_t *text, int64_t n, sclaw_chunk_fn fn, void *user)
{
    int64_t i = 0;
    while (i < n) {
        int64_t len = chunk_len(text + i, n - i);
        int rc = fn(text + i, len, user);
        if (rc)
            return rc;
        i += len;
    }
    return 0;
}

/* ---- construction ----------------------------------------------------------- */
struct sclaw_tok_cache {
    struct dt_strmap map;   /* chunk -> (offset into ids) << 8 | count */
    int32_t *ids;
    int64_t nids, cap;
    /* scratch of heap_bpe, grown on demand */
    int32_t *sym, *prev, *next, *lst;
    uint64_t *heap;
    int64_t scap;
};

static uint64_t pair_key(int32_t a, int32_t b)
{
    return (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;  /* never 0 */
}

/* Merge rank of the pair (a, b), or -1. */
static inline int32_t pair_rank(const struct sclaw_tokenizer *t, int32_t a, int32_t b)
{
    uint64_t key = pair_key(a, b), mask = (uint64_t)t->mcap - 1;
    for (uint64_t i = dt_mix64(key) & mask;; i = (i + 1) & mask) {
        if (t->mkeys[i] == key)
            return t->mvals[i];
        if (!t->mkeys[i])
            return -1;
    }
}

void sclaw_tok_free(struct sclaw_tokenizer *t)
{
    free(t->bytes);
    free(t->tok_off);
    free(t->is_special);
    free(t->merge_left);
    free(t->merge_right);
    free(t->merge_result);
    free(t->mkeys);
    free(t->mvals);
    if (t->cache) {
        dt_strmap_free(&t->cache->map);
        free(t->cache->ids);
        free(t->cache->sym);
        free(t->cache->prev);
        free(t->cache->next);
        free(t->cache->lst);
        free(t->cache->heap);
        free(t->cache);
    }
    memset(t, 0, sizeof *t);
}

int sclaw_tok_init(struct sclaw_tokenizer *t, int64_t V, const uint8_t *const *tokens,
                   const int64_t *lens, const uint8_t *specials, int64_t nmerges,
                   const int32_t *merges)
{
    struct dt_strmap bymap = {0};
    int st = SCLAW_OK;
    int64_t total = 0;
    memset(t, 0, sizeof *t);
    t->eot_id = -1;
    if (V < 256 || V > INT32_MAX)
        return sclaw_fail(SCLAW_E_FORMAT, "vocabulary of %" PRId64 " tokens: need 256 to 2^31-1", V);
    for (int64_t i = 0; i < V; i++) {
        if (lens[i] <= 0)
            return sclaw_fail(SCLAW_E_FORMAT, "token %" PRId64 " is empty", i);
        total += lens[i];
    }
    t->vocab_size = V;
    t->nmerges = nmerges;
    t->bytes = malloc((size_t)total);
    t->tok_off = malloc((size_t)(V + 1) * sizeof *t->tok_off);
    t->is_special = calloc((size_t)V, 1);
    t->merge_left = malloc((size_t)(nmerges + 1) * sizeof(int32_t));
    t->merge_right = malloc((size_t)(nmerges + 1) * sizeof(int32_t));
    t->merge_result = malloc((size_t)(nmerges + 1) * sizeof(int32_t));
    t->mcap = 16;
    while (t->mcap < 2 * nmerges)
        t->mcap *= 2;
    t->mkeys = calloc((size_t)t->mcap, sizeof *t->mkeys);
    t->mvals = malloc((size_t)t->mcap * sizeof *t->mvals);
    t->cache = calloc(1, sizeof *t->cache);
    if (!t->bytes || !t->tok_off || !t->is_special || !t->merge_left || !t->merge_right ||
        !t->merge_result || !t->mkeys || !t->mvals || !t->cache) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory for a vocabulary of %" PRId64 " tokens", V);
        goto done;
    }
    for (int i = 0; i < 256; i++)
        t->byte_id[i] = -1;
    t->tok_off[0] = 0;
    for (int64_t i = 0; i < V; i++) {
        const uint8_t *b = tokens[i];
        memcpy(t->bytes + t->tok_off[i], b, (size_t)lens[i]);
        t->tok_off[i + 1] = t->tok_off[i] + lens[i];
        if (specials && specials[i]) {
            t->is_special[i] = 1;
            if (lens[i] == (int64_t)strlen(SCLAW_TOK_EOT) && !memcmp(b, SCLAW_TOK_EOT, (size_t)lens[i]))
                t->eot_id = (int32_t)i;
            continue;
        }
        if (lens[i] == 1) {
            if (t->byte_id[b[0]] >= 0) {
                st = sclaw_fail(SCLAW_E_FORMAT, "tokens %d and %" PRId64 " are both byte 0x%02x",
                                t->byte_id[b[0]], i, b[0]);
                goto done;
            }
            t->byte_id[b[0]] = (int32_t)i;
        }
        int64_t *v = dt_strmap_upsert(&bymap, b, lens[i], i);
        if (!v) {
            st = sclaw_fail(SCLAW_E_NOMEM, "out of memory indexing the vocabulary");
            goto done;
        }
    }
    for (int b = 0; b < 256; b++)
        if (t->byte_id[b] < 0) {
            st = sclaw_fail(SCLAW_E_FORMAT, "no token for byte 0x%02x: a byte-level vocabulary "
                            "needs all 256", b);
            goto done;
        }
    /* Merges: the result is the token whose bytes are left + right. */
    uint8_t *cat = NULL;
    int64_t catcap = 0;
    for (int64_t r = 0; r < nmerges; r++) {
        int32_t a = merges[2 * r], b = merges[2 * r + 1];
        if (a < 0 || a >= V || b < 0 || b >= V || t->is_special[a] || t->is_special[b]) {
            st = sclaw_fail(SCLAW_E_FORMAT, "merge %" PRId64 ": tokens %d and %d are not both "
                            "ordinary tokens", r, a, b);
            break;
        }
        int64_t la = lens[a], lb = lens[b];
        if (la + lb > catcap) {
            catcap = 2 * (la + lb);
            uint8_t *nc = realloc(cat, (size_t)catcap);
            if (!nc) {
                st = sclaw_fail(SCLAW_E_NOMEM, "out of memory reading merges");
                break;
            }
            cat = nc;
        }
        memcpy(cat, tokens[a], (size_t)la);
        memcpy(cat + la, tokens[b], (size_t)lb);
        int64_t res = dt_strmap_get(&bymap, cat, la + lb);
        if (res < 0) {
            st = sclaw_fail(SCLAW_E_FORMAT, "merge %" PRId64 ": tokens %d + %d make no token", r, a, b);
            break;
        }
        uint64_t key = pair_key(a, b), mask = (uint64_t)t->mcap - 1, i = dt_mix64(key) & mask;
        while (t->mkeys[i] && t->mkeys[i] != key)
            i = (i + 1) & mask;
        if (t->mkeys[i]) {
            st = sclaw_fail(SCLAW_E_FORMAT, "merge %" PRId64 " repeats merge %d (tokens %d + %d)",
                            r, t->mvals[i], a, b);
            break;
        }
        t->mkeys[i] = key;
        t->mvals[i] = (int32_t)r;
        t->merge_left[r] = a;
        t->merge_right[r] = b;
        t->merge_result[r] = (int32_t)res;
    }
    free(cat);
done:
    dt_strmap_free(&bymap);
    if (st)
        sclaw_tok_free(t);
    return st;
}

/* ---- encoding ----------------------------------------------------------------- */

/* The O(len^2) merge loop on sym[0..k) in place; returns the new length. */
static int64_t simple_bpe(const struct sclaw_tokenizer *t, int32_t *sym, int64_t k)
{
    while (k >= 2) {
        int32_t best = INT32_MAX;
        for (int64_t i = 0; i + 1 < k; i++) {
            int32_t r = pair_rank(t, sym[i], sym[i + 1]);
            if (r >= 0 && r < best)
                best = r;
        }
        if (best == INT32_MAX)
            break;
        int32_t L = t->merge_left[best], R = t->merge_right[best], res = t->merge_result[best];
        int64_t j = 0;
        for (int64_t i = 0; i < k;) {
            if (i + 1 < k && sym[i] == L && sym[i + 1] == R) {
                sym[j++] = res;
                i += 2;
            } else {
                sym[j++] = sym[i++];
            }
        }
        k = j;
    }
    return k;
}

/* Binary min-heap of (rank << 32 | position). */
static void heap_push(uint64_t *h, int64_t *n, uint64_t v)
{
    int64_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, int64_t *n)
{
    uint64_t top = h[0], v = h[--(*n)];
    int64_t i = 0;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1] < h[c])
            c++;
        if (h[c] >= v)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n)
        h[i] = v;
    return top;
}

static int grow_scratch(struct sclaw_tok_cache *c, int64_t n)
{
    if (n <= c->scap)
        return 0;
    int64_t cap = n + n / 2 + 64;
    int32_t *sym = realloc(c->sym, (size_t)cap * sizeof *sym);
    if (sym)
        c->sym = sym;
    int32_t *prev = realloc(c->prev, (size_t)cap * sizeof *prev);
    if (prev)
        c->prev = prev;
    int32_t *next = realloc(c->next, (size_t)cap * sizeof *next);
    if (next)
        c->next = next;
    int32_t *lst = realloc(c->lst, (size_t)cap * sizeof *lst);
    if (lst)
        c->lst = lst;
    /* each merge pushes at most two pairs, after n - 1 initial ones */
    uint64_t *heap = realloc(c->heap, (size_t)(3 * cap) * sizeof *heap);
    if (heap)
        c->heap = heap;
    if (!sym || !prev || !next || !lst || !heap)
        return -1;
    c->scap = cap;
    return 0;
}

/* Heap merge of the symbols c->sym[0..k); result back in c->sym, returns its
 * length. All occurrences of the lowest-rank pair are collected before any is
 * merged, which reproduces simple_bpe's left-to-right pass exactly even when a
 * merge creates a pair of lower rank. */
static int64_t heap_bpe(const struct sclaw_tokenizer *t, struct sclaw_tok_cache *c, int64_t k)
{
    int32_t *sym = c->sym, *prev = c->prev, *next = c->next, *lst = c->lst;
    uint64_t *heap = c->heap;
    int64_t nh = 0;
    for (int64_t i = 0; i < k; i++) {
        prev[i] = (int32_t)i - 1;
        next[i] = i + 1 < k ? (int32_t)i + 1 : -1;
        if (i + 1 < k) {
            int32_t r = pair_rank(t, sym[i], sym[i + 1]);
            if (r >= 0)
                heap_push(heap, &nh, (uint64_t)r << 32 | (uint64_t)i);
        }
    }
    while (nh > 0) {
        /* pop every entry of the lowest rank r; they come out by increasing
         * position, which is simple_bpe's left-to-right order */
        uint64_t top = heap_pop(heap, &nh);
        int32_t r = (int32_t)(top >> 32);
        int64_t npos = 0;
        lst[npos++] = (int32_t)(uint32_t)top;
        while (nh > 0 && (int32_t)(heap[0] >> 32) == r)
            lst[npos++] = (int32_t)(uint32_t)heap_pop(heap, &nh);
        int32_t L = t->merge_left[r], R = t->merge_right[r], res = t->merge_result[r];
        for (int64_t q = 0; q < npos; q++) {
            int64_t p = lst[q];
            /* stale entries: symbol merged away, or the pair changed */
            if (prev[p] == -2 || sym[p] != L || next[p] < 0 || sym[next[p]] != R)
                continue;
            int32_t nx = next[p];
            sym[p] = res;
            next[p] = next[nx];
            if (next[nx] >= 0)
                prev[next[nx]] = (int32_t)p;
            prev[nx] = -2;  /* dead */
            if (prev[p] >= 0) {
                int32_t r2 = pair_rank(t, sym[prev[p]], res);
                if (r2 >= 0)
                    heap_push(heap, &nh, (uint64_t)r2 << 32 | (uint64_t)prev[p]);
            }
            if (next[p] >= 0) {
                int32_t r2 = pair_rank(t, res, sym[next[p]]);
                if (r2 >= 0)
                    heap_push(heap, &nh, (uint64_t)r2 << 32 | (uint64_t)p);
            }
        }
    }
    int64_t j = 0;
    for (int64_t i = 0; i >= 0; i = next[i])
        sym[j++] = sym[i];
    return j;
}

struct enc_ctx {
    struct sclaw_tokenizer *t;
    const struct sclaw_tokenizer *tc;
    int32_t *ids;
    int64_t n, cap;
    int fast;
};

static int ensure(struct enc_ctx *e, int64_t more)
{
    if (e->n + more <= e->cap)
        return 0;
    int64_t cap = e->cap ? e->cap : 1024;
    while (cap < e->n + more)
        cap *= 2;
    int32_t *ids = realloc(e->ids, (size_t)cap * sizeof *ids);
    if (!ids)
        return -1;
    e->ids = ids;
    e->cap = cap;
    return 0;
}

/* Tokens of one chunk appended to e->ids (cached when short). */
static int encode_chunk(const uint8_t *s, int64_t n, void *user)
{
    struct enc_ctx *e = user;
    const struct sclaw_tokenizer *t = e->tc;
    if (ensure(e, n))
        return SCLAW_E_NOMEM;
    int32_t *out = e->ids + e->n;
    if (n == 1) {
        out[0] = t->byte_id[s[0]];
        e->n++;
        return 0;
    }
    if (!e->fast) {  /* reference: no cache, the plain loop on any length */
        for (int64_t i = 0; i < n; i++)
            out[i] = t->byte_id[s[i]];
        e->n += simple_bpe(t, out, n);
        return 0;
    }
    struct sclaw_tok_cache *c = e->t->cache;
    int found = 0;
    int64_t slot = -1;
    if (n <= CACHE_MAX_LEN) {
        if (c->map.count >= CACHE_MAX_ENTRIES) {
            dt_strmap_clear(&c->map);
            c->nids = 0;
        }
        slot = dt_strmap_slot(&c->map, s, n, &found);
        if (slot < 0)
            return SCLAW_E_NOMEM;
        if (found) {
            int64_t v = c->map.e[slot].val;
            int64_t cnt = v & 0xff;
            memcpy(out, c->ids + (v >> 8), (size_t)cnt * sizeof *out);
            e->n += cnt;
            return 0;
        }
    }
    int64_t k;
    if (n <= SIMPLE_MAX_LEN) {
        for (int64_t i = 0; i < n; i++)
            out[i] = t->byte_id[s[i]];
        k = simple_bpe(t, out, n);
    } else {
        if (grow_scratch(c, n))
            return SCLAW_E_NOMEM;
        for (int64_t i = 0; i < n; i++)
            c->sym[i] = t->byte_id[s[i]];
        k = heap_bpe(t, c, n);
        memcpy(out, c->sym, (size_t)k * sizeof *out);
    }
    e->n += k;
    if (slot >= 0) {
        if (c->nids + k > c->cap) {
            int64_t cap = c->cap ? 2 * c->cap : 1 << 16;
            while (cap < c->nids + k)
                cap *= 2;
            int32_t *ids = realloc(c->ids, (size_t)cap * sizeof *ids);
            if (!ids)
                return 0;  /* not caching is fine */
            c->ids = ids, c->cap = cap;
        }
        memcpy(c->ids + c->nids, out, (size_t)k * sizeof *out);
        int64_t *v = dt_strmap_upsert(&c->map, s, n, c->nids << 8 | k);
        if (v)
            c->nids += k;
    }
    return 0;
}

static int encode(struct enc_ctx *e, const uint8_t *text, int64_t n, int32_t **ids, int64_t *nids)
{
    *ids = NULL;
    *nids = 0;
    if (ensure(e, n / 3 + 16) || sclaw_tok_split(text, n, encode_chunk, e)) {
        free(e->ids);
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory encoding %" PRId64 " bytes", n);
    }
    *ids = e->ids;
    *nids = e->n;
    return SCLAW_OK;
}

int sclaw_tok_encode(struct sclaw_tokenizer *t, const uint8_t *text, int64_t n, int32_t **ids,
                     int64_t *nids)
{
    struct enc_ctx e = {t, t, NULL, 0, 0, 1};
    return encode(&e, text, n, ids, nids);
}

int sclaw_tok_encode_ref(const struct sclaw_tokenizer *t, const uint8_t *text, int64_t n,
                         int32_t **ids, int64_t *nids)
{
    struct enc_ctx e = {NULL, t, NULL, 0, 0, 0};
    return encode(&e, text, n, ids, nids);
}

void sclaw_tok_cache_clear(struct sclaw_tokenizer *t)
{
    if (t->cache) {
        dt_strmap_clear(&t->cache->map);
        t->cache->nids = 0;
    }
}

int sclaw_tok_decode(const struct sclaw_tokenizer *t, const int32_t *ids, int64_t nids,
                     uint8_t **out, int64_t *nout)
{
    int64_t total = 0;
    *out = NULL;
    *nout = 0;
    for (int64_t i = 0; i < nids; i++) {
        if (ids[i] < 0 || ids[i] >= t->vocab_size)
            return sclaw_fail(SCLAW_E_ARG, "token %" PRId64 ": id %d is outside the vocabulary "
                              "(0..%" PRId64 ")", i, ids[i], t->vocab_size - 1);
        total += t->tok_off[ids[i] + 1] - t->tok_off[ids[i]];
    }
    uint8_t *buf = malloc((size_t)total + 1);
    if (!buf)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory decoding %" PRId64 " tokens", nids);
    int64_t j = 0;
    for (int64_t i = 0; i < nids; i++) {
        int64_t a = t->tok_off[ids[i]], b = t->tok_off[ids[i] + 1];
        memcpy(buf + j, t->bytes + a, (size_t)(b - a));
        j += b - a;
    }
    *out = buf;
    *nout = total;
    return SCLAW_OK;
}

uint64_t sclaw_tok_hash(const struct sclaw_tokenizer *t)
{
    uint64_t h = DT_FNV_OFFSET;
    h = dt_fnv1a(h, &t->vocab_size, sizeof t->vocab_size);
    for (int64_t i = 0; i < t->vocab_size; i++) {
        int64_t len = t->tok_off[i + 1] - t->tok_off[i];
        h = dt_fnv1a(h, &len, sizeof len);
        h = dt_fnv1a(h, t->bytes + t->tok_off[i], (size_t)len);
        h = dt_fnv1a(h, &t->is_special[i], 1);
    }
    h = dt_fnv1a(h, &t->nmerges, sizeof t->nmerges);
    for (int64_t r = 0; r < t->nmerges; r++) {
        h = dt_fnv1a(h, &t->merge_left[r], sizeof(int32_t));
        h = dt_fnv1a(h, &t->merge_right[r], sizeof(int32_t));
    }
    return h;
}
