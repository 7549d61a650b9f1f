/* bpe_train.c - training a byte-level BPE vocabulary (sclaw_data.h, issue 5).
 *
 * 1. Every document is split into pre-tokenisation chunks (sclaw_tok_split)
 *    and equal chunks are counted once: a "word" is a distinct chunk with
 *    its count, as a sequence of token ids (initially its bytes).
 * 2. Pair counts: count(a, b) = sum over words of count(word) * occurrences
 *    of a next to b; each pair also keeps the list of words it occurs in.
 * 3. Each step takes the most frequent pair from a max-heap, gives the
 *    concatenation a new id and rewrites only the words on that pair's list.
 *    A rewrite of occurrence "x a b y" -> "x ab y" changes four counts
 *    (x,a)-, (b,y)-, (x,ab)+, (ab,y)+ (HF tokenizers' Word::merge), so a step
 *    costs the number of occurrences it merges, not the corpus size.
 * The heap is lazy: a count that grows is pushed again (once per step, with
 * its count at the end of the step); a count that shrinks leaves a stale,
 * larger entry, which is re-pushed with the true count when it reaches the
 * top. So the top, once its count checks out, is the true
 * maximum, and ties are broken by the byte order of the two tokens.
 */
#include "sclaw_data.h"
#include "sclaw_status.h"
#include "data_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct pair {
    int32_t a, b;
    int64_t count;
    int64_t grown;     /* last step in which the count grew (-1: never) */
    int32_t *words;    /* words the pair was seen in (may be stale) */
    int32_t nwords, capwords;
};

struct heap_entry {
    int64_t count;
    int32_t pair;      /* index into pairs */
};

struct trainer {
    /* token bytes: tok[id] = bytes[off[id] .. off[id] + len[id]) */
    uint8_t *bytes;
    int64_t nbytes, capbytes;
    int64_t *off, *len;
    int64_t ntok, captok;
    struct dt_strmap bymap;        /* token bytes -> id */
    /* words */
    int32_t **sym;
    int32_t *nsym;
    int64_t *wcount;
    int64_t *wstamp;               /* last step that rewrote the word */
    int64_t nwords;
    /* pairs: open-addressed (a, b) -> pair index */
    struct pair *pairs;
    int64_t npairs, cappairs;
    uint64_t *pkeys;
    int32_t *pvals;
    int64_t pcap;
    struct heap_entry *heap;
    int64_t nheap, capheap;
    int32_t *grown;                /* pairs whose count grew in this step */
    int64_t ngrown, capgrown;
    int64_t step;                  /* current merge step (0: initial counts) */
    int32_t *merges;               /* (left, right) per merge */
    int64_t nmerges;
};

static uint64_t pkey(int32_t a, int32_t b)
{
    return (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
}

static int pairs_grow(struct trainer *tr)
{
    int64_t ncap = tr->pcap ? 2 * tr->pcap : 1 << 16;
    uint64_t *keys = calloc((size_t)ncap, sizeof *keys);
    int32_t *vals = malloc((size_t)ncap * sizeof *vals);
    if (!keys || !vals) {
        free(keys), free(vals);
        return -1;
    }
    for (int64_t i = 0; i < tr->pcap; i++) {
        if (!tr->pkeys[i])
            continue;
        uint64_t j = dt_mix64(tr->pkeys[i]) & (uint64_t)(ncap - 1);
        while (keys[j])
            j = (j + 1) & (uint64_t)(ncap - 1);
        keys[j] = tr->pkeys[i];
        vals[j] = tr->pvals[i];
    }
    free(tr->pkeys), free(tr->pvals);
    tr->pkeys = keys, tr->pvals = vals, tr->pcap = ncap;
    return 0;
}

/* Index of pair (a, b), created with count 0 if new; -1 on no memory. */
static int64_t pair_get(struct trainer *tr, int32_t a, int32_t b)
{
    if ((tr->npairs + 1) * 2 > tr->pcap && pairs_grow(tr))
        return -1;
    uint64_t key = pkey(a, b), mask = (uint64_t)tr->pcap - 1, i = dt_mix64(key) & mask;
    while (tr->pkeys[i]) {
        if (tr->pkeys[i] == key)
            return tr->pvals[i];
        i = (i + 1) & mask;
    }
    if (tr->npairs == tr->cappairs) {
        int64_t nc = tr->cappairs ? 2 * tr->cappairs : 1 << 14;
        struct pair *np = realloc(tr->pairs, (size_t)nc * sizeof *np);
        if (!np)
            return -1;
        tr->pairs = np, tr->cappairs = nc;
    }
    struct pair *p = &tr->pairs[tr->npairs];
    memset(p, 0, sizeof *p);
    p->a = a, p->b = b;
    p->grown = -1;
    tr->pkeys[i] = key;
    tr->pvals[i] = (int32_t)tr->npairs;
    return tr->npairs++;
}

/* Heap order: larger count first; on equal counts the pair whose left
 * token's bytes sort first, then the right token's (memcmp order, a proper
 * prefix first). Returns 1 if x goes above y. */
static int tok_cmp(const struct trainer *tr, int32_t x, int32_t y)
{
    int64_t lx = tr->len[x], ly = tr->len[y];
    int c = memcmp(tr->bytes + tr->off[x], tr->bytes + tr->off[y], (size_t)(lx < ly ? lx : ly));
    if (c)
        return c;
    return (lx > ly) - (lx < ly);
}

static int above(const struct trainer *tr, const struct heap_entry *x, const struct heap_entry *y)
{
    if (x->count != y->count)
        return x->count > y->count;
    const struct pair *p = &tr->pairs[x->pair], *q = &tr->pairs[y->pair];
    int c = tok_cmp(tr, p->a, q->a);
    if (c)
        return c < 0;
    return tok_cmp(tr, p->b, q->b) < 0;
}

static int heap_push(struct trainer *tr, int32_t pair, int64_t count)
{
    if (tr->nheap == tr->capheap) {
        int64_t nc = tr->capheap ? 2 * tr->capheap : 1 << 16;
        struct heap_entry *nh = realloc(tr->heap, (size_t)nc * sizeof *nh);
        if (!nh)
            return -1;
        tr->heap = nh, tr->capheap = nc;
    }
    struct heap_entry e = {count, pair};
    int64_t i = tr->nheap++;
    while (i > 0 && above(tr, &e, &tr->heap[(i - 1) / 2])) {
        tr->heap[i] = tr->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    tr->heap[i] = e;
    return 0;
}

static struct heap_entry heap_pop(struct trainer *tr)
{
    struct heap_entry top = tr->heap[0], v = tr->heap[--tr->nheap];
    int64_t i = 0, n = tr->nheap;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && above(tr, &tr->heap[c + 1], &tr->heap[c]))
            c++;
        if (!above(tr, &tr->heap[c], &v))
            break;
        tr->heap[i] = tr->heap[c];
        i = c;
    }
    if (n)
        tr->heap[i] = v;
    return top;
}

/* Add delta to the count of pair (a, b) seen in word w. A pair that grows is
 * noted once per step; the caller pushes it with its final count after the
 * step (one heap entry per grown pair and step, not one per occurrence). */
static int pair_add(struct trainer *tr, int32_t a, int32_t b, int64_t delta, int32_t w)
{
    int64_t pi = pair_get(tr, a, b);
    if (pi < 0)
        return -1;
    struct pair *p = &tr->pairs[pi];
    p->count += delta;
    if (delta <= 0)
        return 0;
    if (!p->nwords || p->words[p->nwords - 1] != w) {
        if (p->nwords == p->capwords) {
            int32_t nc = p->capwords ? 2 * p->capwords : 4;
            int32_t *nw = realloc(p->words, (size_t)nc * sizeof *nw);
            if (!nw)
                return -1;
            p->words = nw, p->capwords = nc;
        }
        p->words[p->nwords++] = w;
    }
    if (p->grown != tr->step) {
        if (tr->ngrown == tr->capgrown) {
            int64_t nc = tr->capgrown ? 2 * tr->capgrown : 1 << 12;
            int32_t *ng = realloc(tr->grown, (size_t)nc * sizeof *ng);
            if (!ng)
                return -1;
            tr->grown = ng, tr->capgrown = nc;
        }
        p->grown = tr->step;
        tr->grown[tr->ngrown++] = (int32_t)pi;
    }
    return 0;
}

/* Push every pair that grew in this step with its current count. */
static int push_grown(struct trainer *tr)
{
    for (int64_t k = 0; k < tr->ngrown; k++) {
        const struct pair *p = &tr->pairs[tr->grown[k]];
        if (p->count > 0 && heap_push(tr, tr->grown[k], p->count))
            return -1;
    }
    tr->ngrown = 0;
    return 0;
}

static int add_token(struct trainer *tr, const uint8_t *b, int64_t n)
{
    if (tr->ntok == tr->captok) {
        int64_t nc = tr->captok ? 2 * tr->captok : 1024;
        int64_t *no = realloc(tr->off, (size_t)nc * sizeof *no);
        if (!no)
            return -1;
        tr->off = no;
        int64_t *nl = realloc(tr->len, (size_t)nc * sizeof *nl);
        if (!nl)
            return -1;
        tr->len = nl, tr->captok = nc;
    }
    if (tr->nbytes + n > tr->capbytes) {
        int64_t nc = tr->capbytes ? 2 * tr->capbytes : 1 << 16;
        while (nc < tr->nbytes + n)
            nc *= 2;
        uint8_t *nb = realloc(tr->bytes, (size_t)nc);
        if (!nb)
            return -1;
        tr->bytes = nb, tr->capbytes = nc;
    }
    memcpy(tr->bytes + tr->nbytes, b, (size_t)n);
    tr->off[tr->ntok] = tr->nbytes;
    tr->len[tr->ntok] = n;
    tr->nbytes += n;
    if (!dt_strmap_upsert(&tr->bymap, b, n, tr->ntok))
        return -1;
    tr->ntok++;
    return 0;
}

static int count_chunk(const uint8_t *s, int64_t n, void *user)
{
    int64_t *v = dt_strmap_upsert(user, s, n, 0);
    if (!v)
        return -1;
    (*v)++;
    return 0;
}

static void trainer_free(struct trainer *tr)
{
    free(tr->bytes), free(tr->off), free(tr->len);
    dt_strmap_free(&tr->bymap);
    for (int64_t w = 0; w < tr->nwords; w++)
        free(tr->sym[w]);
    free(tr->sym), free(tr->nsym), free(tr->wcount), free(tr->wstamp);
    for (int64_t i = 0; i < tr->npairs; i++)
        free(tr->pairs[i].words);
    free(tr->pairs), free(tr->pkeys), free(tr->pvals), free(tr->heap), free(tr->merges);
    free(tr->grown);
}

/* Merge pair pi (a, b) -> id everywhere; returns 0 or -1 on no memory. */
static int apply_merge(struct trainer *tr, int64_t pi, int32_t id, int64_t step)
{
    int32_t a = tr->pairs[pi].a, b = tr->pairs[pi].b;
    int32_t nlist = tr->pairs[pi].nwords;
    for (int32_t k = 0; k < nlist; k++) {
        int32_t w = tr->pairs[pi].words[k];  /* re-read: pair_add may move pairs */
        if (tr->wstamp[w] == step)
            continue;
        tr->wstamp[w] = step;
        int32_t *s = tr->sym[w];
        int64_t n = tr->nsym[w], c = tr->wcount[w], j = 0;
        for (int64_t i = 0; i < n;) {
            if (i + 1 < n && s[i] == a && s[i + 1] == b) {
                /* s[0..j) is already rewritten: its last symbol is the left
                 * neighbour, possibly a fresh id from this same pass */
                if (j > 0 && (pair_add(tr, s[j - 1], a, -c, w) || pair_add(tr, s[j - 1], id, c, w)))
                    return -1;
                if (i + 2 < n && (pair_add(tr, b, s[i + 2], -c, w) || pair_add(tr, id, s[i + 2], c, w)))
                    return -1;
                s[j++] = id;
                i += 2;
            } else {
                s[j++] = s[i++];
            }
        }
        tr->nsym[w] = (int32_t)j;
    }
    struct pair *p = &tr->pairs[pi];
    p->count = 0;
    free(p->words);
    p->words = NULL;
    p->nwords = p->capwords = 0;
    return 0;
}

int sclaw_bpe_train(struct sclaw_tokenizer *t, const struct sclaw_corpus *c,
                    const struct sclaw_bpe_opts *o)
{
    struct trainer tr;
    struct dt_strmap chunks = {0};
    uint8_t **toks = NULL, *specials = NULL;
    int64_t *lens = NULL;
    int st = SCLAW_OK;
    memset(&tr, 0, sizeof tr);
    memset(t, 0, sizeof *t);
    int64_t nspecial = o->add_eot ? 1 : 0;
    int64_t target = o->vocab_size - 256 - nspecial;  /* merges wanted */
    if (target < 0 || o->vocab_size > INT32_MAX)
        return sclaw_fail(SCLAW_E_ARG, "vocabulary size %" PRId64 " must be at least %" PRId64
                          " (256 bytes%s)", o->vocab_size, 256 + nspecial,
                          nspecial ? " + the separator" : "");
    /* base tokens in GPT-2's order */
    uint8_t byte_of[256];
    for (int b = 0; b < 256; b++)
        byte_of[dt_base_id((uint8_t)b)] = (uint8_t)b;
    for (int i = 0; i < 256; i++)
        if (add_token(&tr, &byte_of[i], 1))
            goto nomem;
    /* 1. distinct chunks with counts, document by document */
    for (int64_t d = 0; d < c->ndocs; d++)
        if (sclaw_tok_split((const uint8_t *)c->text + c->off[d], c->off[d + 1] - c->off[d],
                            count_chunk, &chunks))
            goto nomem;
    tr.sym = calloc((size_t)chunks.count + 1, sizeof *tr.sym);
    tr.nsym = calloc((size_t)chunks.count + 1, sizeof *tr.nsym);
    tr.wcount = calloc((size_t)chunks.count + 1, sizeof *tr.wcount);
    tr.wstamp = calloc((size_t)chunks.count + 1, sizeof *tr.wstamp);
    tr.merges = malloc((size_t)(target + 1) * 2 * sizeof *tr.merges);
    if (!tr.sym || !tr.nsym || !tr.wcount || !tr.wstamp || !tr.merges)
        goto nomem;
    /* chunks in slot order: deterministic for a given corpus (the hash and the
     * insertion order fix the slots) */
    for (int64_t i = 0; i < chunks.cap; i++) {
        const struct dt_strent *ce = &chunks.e[i];
        if (!ce->hash || ce->klen < 2)
            continue;  /* single bytes have no pairs */
        int64_t w = tr.nwords++, n = ce->klen;
        const uint8_t *s = chunks.keys + ce->koff;
        if (!(tr.sym[w] = malloc((size_t)n * sizeof(int32_t))))
            goto nomem;
        for (int64_t k = 0; k < n; k++)
            tr.sym[w][k] = dt_base_id(s[k]);
        tr.nsym[w] = (int32_t)n;
        tr.wcount[w] = ce->val;
        tr.wstamp[w] = -1;
    }
    dt_strmap_free(&chunks);
    /* 2. initial pair counts, then one heap entry per pair */
    for (int64_t w = 0; w < tr.nwords; w++)
        for (int64_t k = 0; k + 1 < tr.nsym[w]; k++)
            if (pair_add(&tr, tr.sym[w][k], tr.sym[w][k + 1], tr.wcount[w], (int32_t)w))
                goto nomem;
    if (push_grown(&tr))
        goto nomem;
    /* 3. merges */
    uint8_t *cat = NULL;
    int64_t catcap = 0;
    while (tr.nmerges < target && tr.nheap > 0) {
        struct heap_entry e = heap_pop(&tr);
        struct pair *p = &tr.pairs[e.pair];
        if (e.count != p->count) {
            if (p->count > 0 && p->count < e.count && heap_push(&tr, e.pair, p->count))
                goto nomem_cat;
            continue;
        }
        if (e.count < 2)
            break;  /* no pair occurs twice: more merges would only memorise */
        int64_t la = tr.len[p->a], lb = tr.len[p->b];
        if (la + lb > catcap) {
            catcap = 2 * (la + lb);
            uint8_t *nc = realloc(cat, (size_t)catcap);
            if (!nc)
                goto nomem_cat;
            cat = nc;
        }
        memcpy(cat, tr.bytes + tr.off[p->a], (size_t)la);
        memcpy(cat + la, tr.bytes + tr.off[p->b], (size_t)lb);
        /* the same bytes can arise from two different splits: reuse the id */
        int64_t id = dt_strmap_get(&tr.bymap, cat, la + lb);
        if (id < 0) {
            id = tr.ntok;
            if (add_token(&tr, cat, la + lb))
                goto nomem_cat;
        }
        tr.merges[2 * tr.nmerges] = p->a;
        tr.merges[2 * tr.nmerges + 1] = p->b;
        tr.nmerges++;
        tr.step = tr.nmerges;
        if (apply_merge(&tr, e.pair, (int32_t)id, tr.nmerges) || push_grown(&tr))
            goto nomem_cat;
        if (o->progress && (tr.nmerges % 64 == 0 || tr.nmerges == target))
            o->progress(tr.nmerges, target, o->user);
    }
    free(cat);
    /* 4. the tokenizer: bytes, merged tokens, then the separator */
    int64_t V = tr.ntok + nspecial;
    toks = malloc((size_t)V * sizeof *toks);
    lens = malloc((size_t)V * sizeof *lens);
    specials = calloc((size_t)V, 1);
    if (!toks || !lens || !specials)
        goto nomem;
    for (int64_t i = 0; i < tr.ntok; i++) {
        toks[i] = tr.bytes + tr.off[i];
        lens[i] = tr.len[i];
    }
    if (nspecial) {
        toks[V - 1] = (uint8_t *)SCLAW_TOK_EOT;
        lens[V - 1] = (int64_t)strlen(SCLAW_TOK_EOT);
        specials[V - 1] = 1;
    }
    st = sclaw_tok_init(t, V, (const uint8_t *const *)toks, lens, specials, tr.nmerges, tr.merges);
    goto done;
nomem_cat:
    free(cat);
nomem:
    st = sclaw_fail(SCLAW_E_NOMEM, "out of memory training BPE on %" PRId64 " bytes", c->nbytes);
done:
    dt_strmap_free(&chunks);
    trainer_free(&tr);
    free(toks);
    free(lens);
    free(specials);
    return st;
}
