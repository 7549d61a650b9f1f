/* test_tokenizer.c - byte-level BPE (sclaw_data.h, issue 5): the GPT-2 split
 * against Python's regex results, BPE training on hand-checked examples,
 * encodings of a GPT-2-format fixture against GPT-2's own algorithm
 * (tests/gen/gpt2_tiny.py), fast == reference encoder, lossless round trips
 * on random bytes and on the KJV corpus, load/save round trip, bad files, CLI. */
#include "sclaw.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------ */
struct chunks {
    char out[64][32];
    int n;
};

static int collect(const uint8_t *s, int64_t n, void *user)
{
    struct chunks *c = user;
    assert_true(c->n < 64 && n < 32);
    memcpy(c->out[c->n], s, (size_t)n);
    c->out[c->n][n] = '\0';
    c->n++;
    return 0;
}

/* Encode with both encoders, check they agree and that decoding gives the input. */
static void check_roundtrip(struct sclaw_tokenizer *t, const uint8_t *s, int64_t n, const char *what)
{
    int32_t *a = NULL, *b = NULL;
    int64_t na = 0, nb = 0, nd = 0;
    uint8_t *d = NULL;
    assert_int_equal(sclaw_tok_encode(t, s, n, &a, &na), SCLAW_OK);
    assert_int_equal(sclaw_tok_encode_ref(t, s, n, &b, &nb), SCLAW_OK);
    if (na != nb || (na && memcmp(a, b, (size_t)na * sizeof *a))) {
        int64_t i = 0;
        while (i < na && i < nb && a[i] == b[i])
            i++;
        fail_msg("%s: fast and reference encodings differ at token %lld (%lld vs %lld tokens)",
                 what, (long long)i, (long long)na, (long long)nb);
    }
    assert_int_equal(sclaw_tok_decode(t, a, na, &d, &nd), SCLAW_OK);
    if (nd != n || (n && memcmp(d, s, (size_t)n)))
        fail_msg("%s: decode(encode(x)) != x (%lld bytes in, %lld out)", what, (long long)n, (long long)nd);
    for (int64_t i = 0; i < na; i++)
        assert_true(a[i] >= 0 && a[i] < t->vocab_size && !t->is_special[a[i]]);
    free(a);
    free(b);
    free(d);
}

static struct sclaw_tokenizer kjv_tok;  /* trained once, 2048 tokens */
static struct sclaw_corpus kjv;

static int setup_kjv(void **state)
{
    (void)state;
    const char *names[] = {"kjv"};
    struct sclaw_bpe_opts o = {.vocab_size = 2048, .add_eot = 1};
    if (sclaw_corpus_load(&kjv, names, 1, SCLAW_DOCS_FILE) ||
        sclaw_bpe_train(&kjv_tok, &kjv, &o)) {
        fprintf(stderr, "setup: %s\n", sclaw_errmsg());
        return -1;
    }
    return 0;
}

static int teardown_kjv(void **state)
{
    (void)state;
    sclaw_tok_free(&kjv_tok);
    sclaw_corpus_free(&kjv);
    tu_cleanup();
    return 0;
}

/* ---- byte alphabet and split ------------------------------------------------------ */
static void test_byte_alphabet(void **state)
{
    (void)state;
    int seen[324] = {0};
    for (int b = 0; b < 256; b++) {
        int32_t cp = sclaw_tok_byte_to_cp((uint8_t)b);
        assert_true(cp >= 33 && cp < 324);
        assert_int_equal(seen[cp]++, 0);
        assert_int_equal(sclaw_tok_cp_to_byte(cp), b);
    }
    /* GPT-2's well-known letters: space is U+0120 'Ġ', newline U+010A 'Ċ' */
    assert_int_equal(sclaw_tok_byte_to_cp(' '), 0x120);
    assert_int_equal(sclaw_tok_byte_to_cp('\n'), 0x10a);
    assert_int_equal(sclaw_tok_byte_to_cp('a'), 'a');
    assert_int_equal(sclaw_tok_cp_to_byte(' '), -1);
    assert_int_equal(sclaw_tok_cp_to_byte(400), -1);
}

/* Expected chunks from Python: regex.findall of GPT-2's pattern with the ASCII
 * classes of sclaw_data.h. */
static void test_split(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *chunks[8];
    } cases[] = {
        {"Hello world", {"Hello", " world"}},
        {"I'm here's", {"I", "'m", " here", "'s"}},
        {"a  b", {"a", " ", " b"}},
        {"a\n\nb", {"a", "\n", "\n", "b"}},
        {"x  \n y", {"x", "  \n", " y"}},
        {"123abc!!  ", {"123", "abc", "!!", "  "}},
        {"don't", {"don", "'t"}},
        {" ''s", {" ''", "s"}},
        {"h\xc3\xa9llo w\xc3\xb6rld", {"h\xc3\xa9llo", " w\xc3\xb6rld"}},
        {"end.\n", {"end", ".", "\n"}},
        {" ", {" "}},
        {"a\t\tb\n", {"a", "\t", "\t", "b", "\n"}},
        {"they'll 've 'LL", {"they", "'ll", " '", "ve", " '", "LL"}},
        {"  x", {" ", " x"}},
        {"\n x", {"\n", " x"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct chunks c = {.n = 0};
        sclaw_tok_split((const uint8_t *)cases[i].text, (int64_t)strlen(cases[i].text), collect, &c);
        int k = 0;
        while (k < 8 && cases[i].chunks[k])
            k++;
        if (c.n != k)
            fail_msg("split of '%s': %d chunks, expected %d", cases[i].text, c.n, k);
        for (int j = 0; j < k; j++)
            if (strcmp(c.out[j], cases[i].chunks[j]))
                fail_msg("split of '%s': chunk %d is '%s', expected '%s'", cases[i].text, j,
                         c.out[j], cases[i].chunks[j]);
    }
    struct chunks c = {.n = 0};
    assert_int_equal(sclaw_tok_split((const uint8_t *)"", 0, collect, &c), 0);
    assert_int_equal(c.n, 0);
}

/* ---- training --------------------------------------------------------------------- */
static void merge_str(const struct sclaw_tokenizer *t, int64_t r, char *buf)
{
    int32_t a = t->merge_left[r], b = t->merge_right[r];
    int64_t la = t->tok_off[a + 1] - t->tok_off[a], lb = t->tok_off[b + 1] - t->tok_off[b];
    memcpy(buf, t->bytes + t->tok_off[a], (size_t)la);
    buf[la] = '|';
    memcpy(buf + la + 1, t->bytes + t->tok_off[b], (size_t)lb);
    buf[la + 1 + lb] = '\0';
}

static void train_bytes(struct sclaw_tokenizer *t, const char *text, int64_t n, int64_t V)
{
    int64_t off[2] = {0, n};
    struct sclaw_corpus c = {(char *)text, off[1], 1, off, 2, NULL};
    struct sclaw_bpe_opts o = {.vocab_size = V, .add_eot = 1};
    assert_int_equal(sclaw_bpe_train(t, &c, &o), SCLAW_OK);
}

static void train_text(struct sclaw_tokenizer *t, const char *text, int64_t V)
{
    train_bytes(t, text, (int64_t)strlen(text), V);
}

/* Worked by hand in the comments: counts, then the tie-break (left token's
 * bytes first, a proper prefix before a longer token). */
static void test_train_hand(void **state)
{
    (void)state;
    struct sclaw_tokenizer t;
    char buf[64];
    /* one chunk "aaabdaaabac": aa 4, ab 2 -> "a|a"; then aa a 2 and a b 2 tie,
     * "a" < "aa" -> "a|b"; then aa ab 2 -> "aa|ab"; then every pair occurs once. */
    train_text(&t, "aaabdaaabac", 300);
    const char *want1[] = {"a|a", "a|b", "aa|ab"};
    assert_int_equal(t.nmerges, 3);
    assert_int_equal(t.vocab_size, 256 + 3 + 1);
    for (int r = 0; r < 3; r++) {
        merge_str(&t, r, buf);
        assert_string_equal(buf, want1[r]);
    }
    assert_int_equal(t.eot_id, 259);
    assert_true(t.is_special[259]);
    int32_t *ids;
    int64_t n;
    assert_int_equal(sclaw_tok_encode(&t, (const uint8_t *)"aaabdaaabac", 11, &ids, &n), SCLAW_OK);
    assert_int_equal(n, 5);  /* aaab d aaab a c */
    assert_int_equal(ids[0], ids[2]);
    assert_int_equal(t.tok_off[ids[0] + 1] - t.tok_off[ids[0]], 4);
    free(ids);
    sclaw_tok_free(&t);

    /* chunks "the" " cat" " the" " hat" " the": t h 3 and h e 3 tie, "h" < "t" ->
     * "h|e"; t he 3 -> "t|he"; " " the 2 and a t 2 tie, " " < "a" -> " |the";
     * "a|t"; all left pairs occur once. "e" and " " never pair: chunks split. */
    train_text(&t, "the cat the hat the", 1000);
    const char *want2[] = {"h|e", "t|he", " |the", "a|t"};
    assert_int_equal(t.nmerges, 4);
    for (int r = 0; r < 4; r++) {
        merge_str(&t, r, buf);
        assert_string_equal(buf, want2[r]);
    }
    /* base ids are GPT-2's: '!' is 0, ' ' is 220 ("Ġ") */
    assert_int_equal(t.byte_id['!'], 0);
    assert_int_equal(t.byte_id[' '], 220);
    assert_int_equal(t.byte_id['a'], 'a' - 33);
    sclaw_tok_free(&t);

    /* vocabulary limit: exactly V tokens when enough pairs exist */
    train_text(&t, "the cat the hat the", 256 + 2 + 1);
    assert_int_equal(t.nmerges, 2);
    assert_int_equal(t.vocab_size, 259);
    sclaw_tok_free(&t);
    struct sclaw_corpus c = {0};
    struct sclaw_bpe_opts o = {.vocab_size = 256, .add_eot = 1};
    assert_int_equal(sclaw_bpe_train(&t, &c, &o), SCLAW_E_ARG);
}

/* ---- an independent trainer: every chunk occurrence is its own word, and
 * every step recounts all pairs from scratch (O(corpus) per merge) ---- */
#define NV_MAX 400
struct naive {
    uint8_t tok[NV_MAX][64];
    int len[NV_MAX];
    int ntok;
    int32_t *sym;       /* all words back to back */
    int64_t *woff;      /* [nw + 1] */
    int64_t *wlen;
    int64_t nw;
};

static int naive_chunk(const uint8_t *s, int64_t n, void *user)
{
    struct naive *nv = user;
    nv->woff[nv->nw + 1] = nv->woff[nv->nw] + n;
    for (int64_t i = 0; i < n; i++)
        nv->sym[nv->woff[nv->nw] + i] = s[i];  /* naive ids: base id = byte value */
    nv->wlen[nv->nw] = n;
    nv->nw++;
    return 0;
}

static int naive_cmp(const struct naive *nv, int x, int y)
{
    int lx = nv->len[x], ly = nv->len[y], c = memcmp(nv->tok[x], nv->tok[y], (size_t)(lx < ly ? lx : ly));
    return c ? c : (lx > ly) - (lx < ly);
}

/* Returns the number of merges; merge r is (left[r], right[r]) in naive ids. */
static int naive_train(struct naive *nv, const char *text, int64_t n, int nmerges, int *left, int *right)
{
    static int64_t cnt[NV_MAX][NV_MAX];
    nv->sym = malloc((size_t)n * sizeof *nv->sym);
    nv->woff = calloc((size_t)n + 2, sizeof *nv->woff);
    nv->wlen = calloc((size_t)n + 1, sizeof *nv->wlen);
    nv->nw = 0;
    sclaw_tok_split((const uint8_t *)text, n, naive_chunk, nv);
    for (int b = 0; b < 256; b++) {
        nv->tok[b][0] = (uint8_t)b;
        nv->len[b] = 1;
    }
    nv->ntok = 256;
    int r = 0;
    for (; r < nmerges; r++) {
        memset(cnt, 0, sizeof cnt);
        for (int64_t w = 0; w < nv->nw; w++)
            for (int64_t i = 0; i + 1 < nv->wlen[w]; i++)
                cnt[nv->sym[nv->woff[w] + i]][nv->sym[nv->woff[w] + i + 1]]++;
        int ba = -1, bb = -1;
        for (int a = 0; a < nv->ntok; a++)
            for (int b = 0; b < nv->ntok; b++) {
                if (cnt[a][b] < 2)
                    continue;
                if (ba < 0 || cnt[a][b] > cnt[ba][bb] ||
                    (cnt[a][b] == cnt[ba][bb] &&
                     (naive_cmp(nv, a, ba) < 0 || (naive_cmp(nv, a, ba) == 0 && naive_cmp(nv, b, bb) < 0))))
                    ba = a, bb = b;
            }
        if (ba < 0)
            break;
        /* the new token, or the existing one with the same bytes */
        uint8_t cat[128];
        int lc = nv->len[ba] + nv->len[bb], id = -1;
        memcpy(cat, nv->tok[ba], (size_t)nv->len[ba]);
        memcpy(cat + nv->len[ba], nv->tok[bb], (size_t)nv->len[bb]);
        for (int k = 0; k < nv->ntok && id < 0; k++)
            if (nv->len[k] == lc && !memcmp(nv->tok[k], cat, (size_t)lc))
                id = k;
        if (id < 0) {
            assert_true(lc <= 64 && nv->ntok < NV_MAX);
            id = nv->ntok++;
            memcpy(nv->tok[id], cat, (size_t)lc);
            nv->len[id] = lc;
        }
        left[r] = ba, right[r] = bb;
        for (int64_t w = 0; w < nv->nw; w++) {
            int32_t *s = nv->sym + nv->woff[w];
            int64_t j = 0;
            for (int64_t i = 0; i < nv->wlen[w];) {
                if (i + 1 < nv->wlen[w] && s[i] == ba && s[i + 1] == bb) {
                    s[j++] = id;
                    i += 2;
                } else {
                    s[j++] = s[i++];
                }
            }
            nv->wlen[w] = j;
        }
    }
    free(nv->sym), free(nv->woff), free(nv->wlen);
    return r;
}

/* The incremental trainer against the recount-everything one on random
 * text with many ties: the same merges, as byte strings, in the same order. */
static void test_train_vs_naive(void **state)
{
    (void)state;
    static struct naive nv;
    int left[120], right[120];
    uint64_t rng = 11;
    char *text = malloc(4000);
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 4000; i++)
            text[i] = "abcab  aab.\n'stt"[tu_rand_u64(&rng) % (k == 2 ? 17 : 9)];
        int nm = naive_train(&nv, text, 4000, 100, left, right);
        struct sclaw_tokenizer t;
        train_bytes(&t, text, 4000, 256 + 100 + 1);  /* corpus 2 has NUL bytes */
        if (t.nmerges != nm)
            fail_msg("corpus %d: %lld merges, the naive trainer makes %d", k, (long long)t.nmerges, nm);
        for (int r = 0; r < nm; r++) {
            int32_t a = t.merge_left[r], b = t.merge_right[r];
            int64_t la = t.tok_off[a + 1] - t.tok_off[a], lb = t.tok_off[b + 1] - t.tok_off[b];
            if (la != nv.len[left[r]] || lb != nv.len[right[r]] ||
                memcmp(t.bytes + t.tok_off[a], nv.tok[left[r]], (size_t)la) ||
                memcmp(t.bytes + t.tok_off[b], nv.tok[right[r]], (size_t)lb))
                fail_msg("corpus %d: merge %d differs from the naive trainer's", k, r);
        }
        sclaw_tok_free(&t);
    }
    free(text);
}

static void test_train_deterministic(void **state)
{
    (void)state;
    struct sclaw_tokenizer t;
    struct sclaw_bpe_opts o = {.vocab_size = 2048, .add_eot = 1};
    /* train again on the same corpus: identical vocabulary */
    assert_int_equal(sclaw_bpe_train(&t, &kjv, &o), SCLAW_OK);
    assert_int_equal(t.vocab_size, 2048);
    assert_true(sclaw_tok_hash(&t) == sclaw_tok_hash(&kjv_tok));
    sclaw_tok_free(&t);
    /* every merge's parts existed before it (BPE's own order) */
    for (int64_t r = 0; r < kjv_tok.nmerges; r++) {
        assert_true(kjv_tok.merge_left[r] < 256 + r);
        assert_true(kjv_tok.merge_right[r] < 256 + r);
    }
    /* the most frequent English bigram in the KJV (" t" + "h"... ) comes first:
     * the first merge joins two single bytes */
    assert_true(kjv_tok.merge_left[0] < 256 && kjv_tok.merge_right[0] < 256);
}

/* ---- encoding ------------------------------------------------------------------- */
static void test_roundtrip_random(void **state)
{
    (void)state;
    uint64_t rng = 42;
    uint8_t *buf = calloc(200000, 1);
    check_roundtrip(&kjv_tok, buf, 0, "empty");
    for (int i = 0; i < 256; i++)
        buf[i] = (uint8_t)i;
    check_roundtrip(&kjv_tok, buf, 256, "all bytes");
    for (int k = 0; k < 60; k++) {
        int64_t n = (int64_t)(tu_rand_u64(&rng) % 3000);
        int mode = k % 3;
        for (int64_t i = 0; i < n; i++) {
            uint64_t r = tu_rand_u64(&rng);
            if (mode == 0)  /* arbitrary bytes */
                buf[i] = (uint8_t)r;
            else if (mode == 1)  /* text-like: letters, spaces, punctuation, UTF-8 lead bytes */
                buf[i] = (uint8_t)" etaoinshrdlu.,'\n\xc3\xa9\xe2"[r % 21];
            else  /* invalid UTF-8 and control bytes in words */
                buf[i] = (uint8_t)"ab\x80\xff\xc0 \t\r\x00"[r % 9];
        }
        check_roundtrip(&kjv_tok, buf, n, "random");
    }
    /* long chunks take the heap path: a 100 kB word, a 50 kB whitespace run */
    for (int i = 0; i < 100000; i++)
        buf[i] = (uint8_t)"thequickbrownfox"[(i * 7 + i / 13) % 16];
    check_roundtrip(&kjv_tok, buf, 100000, "long word");
    memset(buf, ' ', 50000);
    check_roundtrip(&kjv_tok, buf, 50000, "long space run");
    memset(buf, 'a', 200000);
    check_roundtrip(&kjv_tok, buf, 200000, "long run of one letter");
    free(buf);
    /* the separator text is ordinary text when encoded; its id decodes to it */
    int32_t *ids, eot = kjv_tok.eot_id;
    int64_t n, nd;
    uint8_t *d;
    assert_int_equal(sclaw_tok_encode(&kjv_tok, (const uint8_t *)SCLAW_TOK_EOT, 13, &ids, &n), SCLAW_OK);
    assert_true(n > 1);
    for (int64_t i = 0; i < n; i++)
        assert_int_not_equal(ids[i], eot);
    free(ids);
    assert_int_equal(sclaw_tok_decode(&kjv_tok, &eot, 1, &d, &nd), SCLAW_OK);
    assert_int_equal(nd, 13);
    assert_memory_equal(d, SCLAW_TOK_EOT, 13);
    free(d);
    int32_t bad[] = {5, 2048};
    assert_int_equal(sclaw_tok_decode(&kjv_tok, bad, 2, &d, &nd), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "token 1"));
}

static void test_roundtrip_corpus(void **state)
{
    (void)state;
    check_roundtrip(&kjv_tok, (const uint8_t *)kjv.text, kjv.nbytes, "kjv");
    /* the cache does not change results: encode twice, clear, encode again */
    int32_t *a, *b;
    int64_t na, nb;
    const uint8_t *doc = (const uint8_t *)kjv.text + kjv.off[100];
    int64_t n = kjv.off[101] - kjv.off[100];
    assert_int_equal(sclaw_tok_encode(&kjv_tok, doc, n, &a, &na), SCLAW_OK);
    sclaw_tok_cache_clear(&kjv_tok);
    assert_int_equal(sclaw_tok_encode(&kjv_tok, doc, n, &b, &nb), SCLAW_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, (size_t)na * sizeof *a);
    /* compression on its own training text: English BPE at 2k tokens > 3.5 B/token */
    assert_true((double)n / (double)na > 3.5);
    free(a);
    free(b);
}

/* A merge list that is not in BPE training order: "ab"+"a" has rank 0 but
 * "ab" only appears at rank 1. GPT-2's bpe() merges ALL (a, b) first, giving
 * "ab" x 40 for "abab..."; merging one occurrence at a time would build "aba".
 * The heap path (chunks > 32 bytes) must agree with the reference. */
static void test_merge_order(void **state)
{
    (void)state;
    uint8_t store[258][3];
    const uint8_t *toks[258];
    int64_t lens[258];
    for (int i = 0; i < 256; i++) {
        store[i][0] = (uint8_t)i;
        toks[i] = store[i];
        lens[i] = 1;
    }
    toks[256] = (const uint8_t *)"ab", lens[256] = 2;
    toks[257] = (const uint8_t *)"aba", lens[257] = 3;
    int32_t merges[] = {256, 'a', 'a', 'b'};
    struct sclaw_tokenizer t;
    assert_int_equal(sclaw_tok_init(&t, 258, toks, lens, NULL, 2, merges), SCLAW_OK);
    char text[81];
    for (int i = 0; i < 80; i++)
        text[i] = "ab"[i % 2];
    int32_t *ids;
    int64_t n;
    assert_int_equal(sclaw_tok_encode(&t, (const uint8_t *)text, 80, &ids, &n), SCLAW_OK);
    assert_int_equal(n, 40);
    for (int64_t i = 0; i < n; i++)
        assert_int_equal(ids[i], 256);
    free(ids);
    check_roundtrip(&t, (const uint8_t *)text, 80, "out-of-order merges");
    check_roundtrip(&t, (const uint8_t *)"abab", 4, "out-of-order merges, short");
    sclaw_tok_free(&t);
    /* a merge whose result is no token is refused */
    int32_t bad[] = {'x', 'y'};
    assert_int_equal(sclaw_tok_init(&t, 258, toks, lens, NULL, 1, bad), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "make no token"));
    sclaw_tok_free(&t);
}

/* ---- GPT-2 format --------------------------------------------------------------- */
static void test_gpt2_fixture(void **state)
{
    (void)state;
    struct sclaw_tokenizer t;
    json_t *exp;
    assert_int_equal(sclaw_tok_load(&t, tu_path("tests/data/gpt2_tiny")), SCLAW_OK);
    assert_int_equal(t.vocab_size, 256 + 23 + 1);
    assert_int_equal(t.nmerges, 23);
    assert_int_equal(t.eot_id, 279);
    assert_int_equal(t.byte_id[' '], 220);
    assert_int_equal(sclaw_json_load(tu_path("tests/data/gpt2_tiny_expected.json"), &exp), SCLAW_OK);
    size_t i;
    json_t *cs;
    json_array_foreach(json_object_get(exp, "cases"), i, cs) {
        const char *hex = json_string_value(json_object_get(cs, "hex"));
        const json_t *want = json_object_get(cs, "ids");
        size_t n = strlen(hex) / 2;
        uint8_t *bytes = malloc(n + 1);
        for (size_t k = 0; k < n; k++) {
            unsigned v;
            sscanf(hex + 2 * k, "%2x", &v);
            bytes[k] = (uint8_t)v;
        }
        int32_t *ids;
        int64_t nids;
        assert_int_equal(sclaw_tok_encode(&t, bytes, (int64_t)n, &ids, &nids), SCLAW_OK);
        if ((size_t)nids != json_array_size(want))
            fail_msg("case %zu: %lld tokens, GPT-2's algorithm gives %zu", i, (long long)nids,
                     json_array_size(want));
        for (int64_t k = 0; k < nids; k++)
            if (ids[k] != json_integer_value(json_array_get(want, (size_t)k)))
                fail_msg("case %zu: token %lld is %d, GPT-2's algorithm gives %lld", i, (long long)k,
                         ids[k], (long long)json_integer_value(json_array_get(want, (size_t)k)));
        check_roundtrip(&t, bytes, (int64_t)n, "fixture case");
        free(ids);
        free(bytes);
    }
    json_decref(exp);

    /* save and reload: same tokenizer, same merges file, same encoder entries */
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/tiny_saved", tu_tmpdir());
    assert_int_equal(sclaw_tok_save(&t, dir), SCLAW_OK);
    struct sclaw_tokenizer u;
    assert_int_equal(sclaw_tok_load(&u, dir), SCLAW_OK);
    assert_true(sclaw_tok_hash(&u) == sclaw_tok_hash(&t));
    snprintf(path, sizeof path, "%s/vocab.bpe", dir);
    char *a = tu_read_file(path), *b = tu_read_file(tu_path("tests/data/gpt2_tiny/vocab.bpe"));
    assert_string_equal(a, b);
    free(a);
    free(b);
    json_t *e1, *e2;
    snprintf(path, sizeof path, "%s/encoder.json", dir);
    assert_int_equal(sclaw_json_load(path, &e1), SCLAW_OK);
    assert_int_equal(sclaw_json_load(tu_path("tests/data/gpt2_tiny/encoder.json"), &e2), SCLAW_OK);
    assert_true(json_equal(e1, e2));
    json_decref(e1);
    json_decref(e2);
    sclaw_tok_free(&u);
    sclaw_tok_free(&t);

    /* a trained tokenizer survives save + load too */
    snprintf(dir, sizeof dir, "%s/kjv_saved", tu_tmpdir());
    assert_int_equal(sclaw_tok_save(&kjv_tok, dir), SCLAW_OK);
    assert_int_equal(sclaw_tok_load(&u, dir), SCLAW_OK);
    assert_true(sclaw_tok_hash(&u) == sclaw_tok_hash(&kjv_tok));
    assert_int_equal(u.eot_id, kjv_tok.eot_id);
    sclaw_tok_free(&u);
}

static void test_bad_files(void **state)
{
    (void)state;
    struct sclaw_tokenizer t;
    char dir[4096], path[4200], *enc = tu_read_file(tu_path("tests/data/gpt2_tiny/encoder.json"));
    snprintf(dir, sizeof dir, "%s/bad", tu_tmpdir());
    assert_int_equal(sclaw_tok_load(&t, dir), SCLAW_E_IO);  /* no such directory */
    assert_non_null(strstr(sclaw_errmsg(), dir));
    assert_int_equal(system(NULL) != 0, 1);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/encoder.json", dir);
    tu_write_file(path, enc);
    assert_int_equal(sclaw_tok_load(&t, dir), SCLAW_E_IO);  /* no vocab.bpe */
    assert_non_null(strstr(sclaw_errmsg(), "vocab.bpe"));
    snprintf(path, sizeof path, "%s/vocab.bpe", dir);
    tu_write_file(path, "#version: 0.2\nĠ t\nq zz\n");
    assert_int_equal(sclaw_tok_load(&t, dir), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "vocab.bpe:3: token 'zz' is not in encoder.json"));
    tu_write_file(path, "#version: 0.2\nĠ t\nĠ t\n");
    assert_int_equal(sclaw_tok_load(&t, dir), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "repeats merge 0"));
    tu_write_file(path, "#version: 0.2\nĠ  t\n");
    assert_int_equal(sclaw_tok_load(&t, dir), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "vocab.bpe:2:"));
    /* a gap in the ids */
    snprintf(path, sizeof path, "%s/encoder.json", dir);
    tu_write_file(path, "{\"a\": 0, \"b\": 5}");
    assert_int_equal(sclaw_tok_load(&t, dir), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "encoder.json: key 'b'"));
    /* far from all 256 bytes */
    tu_write_file(path, "{\"a\": 0, \"b\": 1}");
    snprintf(path, sizeof path, "%s/vocab.bpe", dir);
    tu_write_file(path, "#version: 0.2\n");
    assert_int_equal(sclaw_tok_load(&t, dir), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "vocabulary of 2 tokens"));
    free(enc);
}

/* ---- CLI ------------------------------------------------------------------------- */
static void test_cli(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    const char *tmp = tu_tmpdir();
    char text[4200], tok[4200], ids[4200], back[4200];
    snprintf(text, sizeof text, "%s/text.txt", tmp);
    snprintf(tok, sizeof tok, "%s/clitok", tmp);
    snprintf(ids, sizeof ids, "%s/ids.txt", tmp);
    snprintf(back, sizeof back, "%s/back.txt", tmp);
    tu_write_file(text, "the cat the hat the\nthe cat sat on the hat, and the hat sat on the cat.\n");
    assert_int_equal(tu_sclaw(&out, &err, "tokenizer train --vocab-size 265 '%s' --out '%s'", text, tok), 0);
    assert_non_null(strstr(out, "vocabulary size"));
    free(out), free(err);
    assert_int_equal(tu_sclaw(&out, &err, "--json tokenizer info '%s'", tok), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "vocab_size")), 265);
    assert_int_equal(json_integer_value(json_object_get(j, "eot_id")), 264);
    json_decref(j);
    free(out), free(err);
    /* encode to a file, decode it back, compare bytes */
    assert_int_equal(tu_sclaw(NULL, NULL, "tokenizer encode -t '%s' --in '%s' --out '%s'", tok, text, ids), 0);
    assert_int_equal(tu_sclaw(NULL, NULL, "tokenizer decode -t '%s' --in '%s' --out '%s'", tok, ids, back), 0);
    char *a = tu_read_file(text), *b = tu_read_file(back);
    assert_string_equal(a, b);
    free(a), free(b);
    /* arbitrary bytes (NUL, invalid UTF-8) survive the CLI round trip too */
    unsigned char bin[3000];
    uint64_t rng = 9;
    for (int i = 0; i < 3000; i++)
        bin[i] = (unsigned char)tu_rand_u64(&rng);
    FILE *fp = fopen(text, "wb");
    assert_int_equal(fwrite(bin, 1, sizeof bin, fp), sizeof bin);
    fclose(fp);
    assert_int_equal(tu_sclaw(NULL, NULL, "tokenizer encode -t '%s' --in '%s' --out '%s'", tok, text, ids), 0);
    assert_int_equal(tu_sclaw(NULL, NULL, "tokenizer decode -t '%s' --in '%s' --out '%s'", tok, ids, back), 0);
    fp = fopen(back, "rb");
    unsigned char got[3001];
    assert_int_equal(fread(got, 1, sizeof got, fp), sizeof bin);
    fclose(fp);
    assert_memory_equal(got, bin, sizeof bin);
    /* --text and ids as arguments */
    assert_int_equal(tu_sclaw(&out, NULL, "tokenizer encode -t '%s' --text 'the hat'", tok), 0);
    char cmdline[4400];
    out[strcspn(out, "\n")] = '\0';
    snprintf(cmdline, sizeof cmdline, "tokenizer decode -t '%s' %s", tok, out);
    free(out);
    assert_int_equal(tu_sclaw(&out, NULL, "%s", cmdline), 0);
    assert_string_equal(out, "the hat");
    free(out);
    assert_int_equal(tu_sclaw(&out, NULL, "--json tokenizer encode -t '%s' --text ''", tok), 0);
    assert_non_null(strstr(out, "\"count\": 0"));
    free(out);
    /* errors: usage 2, runtime 1 with the culprit named */
    assert_int_equal(tu_sclaw(NULL, &err, "tokenizer train '%s' --out '%s'", text, tok), 2);
    assert_non_null(strstr(err, "--vocab-size"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "tokenizer train --vocab-size 100 '%s' --out '%s'", text, tok), 2);
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "tokenizer decode -t '%s' 1 2 x3", tok), 1);
    assert_non_null(strstr(err, "'x3' is not a token id"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "tokenizer decode -t '%s' 1 99999", tok), 1);
    assert_non_null(strstr(err, "outside the vocabulary"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "tokenizer train --vocab-size 300 '%s/missing.txt' --out '%s'",
                              tmp, tok), 1);
    assert_non_null(strstr(err, "missing.txt"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "tokenizer frobnicate"), 2);
    free(err);
    assert_int_equal(tu_sclaw(&out, NULL, "tokenizer --help"), 0);
    assert_non_null(strstr(out, "train"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_byte_alphabet),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_train_hand),
        cmocka_unit_test(test_train_vs_naive),
        cmocka_unit_test(test_train_deterministic),
        cmocka_unit_test(test_roundtrip_random),
        cmocka_unit_test(test_roundtrip_corpus),
        cmocka_unit_test(test_merge_order),
        cmocka_unit_test(test_gpt2_fixture),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup_kjv, teardown_kjv);
}
