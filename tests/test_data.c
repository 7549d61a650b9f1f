/* test_data.c - corpora, token shards, `data prepare` and the batch loader
 * (sclaw_data.h, issue 5): document splitting, the KJV corpus, shard round
 * trips and bad shards, the validation split (hash-chosen, stable), loader
 * determinism and resumption, epoch coverage across shard boundaries,
 * segment ids and positions, loader errors, and the CLI. */
#include "sclaw.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- helpers --------------------------------------------------------------------- */
static char *path_in(const char *name)
{
    static char buf[8][4200];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tu_tmpdir(), name);
    return buf[k];
}

static uint8_t *read_bin(const char *path, long *n)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)*n + 1);
    assert_int_equal(fread(b, 1, (size_t)*n, fp), (size_t)*n);
    fclose(fp);
    return b;
}

static void write_bin(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* A hand-made data directory: train shards of the given sizes holding tokens
 * base + i (i counting over the whole split), one val shard with val tokens. */
static void make_synthetic(const char *dir, const int64_t *sizes, int nshards, int64_t vocab,
                           int64_t eot, const int32_t *val, int64_t nval)
{
    char cmd[4400], p[4400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    json_t *files = json_array();
    int64_t total = 0;
    for (int s = 0; s < nshards; s++) {
        int32_t *t = malloc((size_t)sizes[s] * sizeof *t);
        for (int64_t i = 0; i < sizes[s]; i++)
            t[i] = (int32_t)((total + i) % 60000);
        char f[32];
        snprintf(f, sizeof f, "train_%03d.bin", s);
        snprintf(p, sizeof p, "%s/%s", dir, f);
        assert_int_equal(sclaw_shard_write(p, t, sizes[s], vocab), SCLAW_OK);
        json_array_append_new(files, json_string(f));
        total += sizes[s];
        free(t);
    }
    snprintf(p, sizeof p, "%s/val_000.bin", dir);
    assert_int_equal(sclaw_shard_write(p, val, nval, vocab), SCLAW_OK);
    json_t *m = json_pack("{s:s, s:i, s:I, s:I, s:{s:I, s:I, s:o}, s:{s:I, s:I, s:[s]}}",
                          "format", "sclaw-tokens", "version", 1, "vocab_size", (json_int_t)vocab,
                          "eot_id", (json_int_t)eot, "train", "documents", (json_int_t)1, "tokens",
                          (json_int_t)total, "shards", files, "val", "documents", (json_int_t)1,
                          "tokens", (json_int_t)nval, "shards", "val_000.bin");
    snprintf(p, sizeof p, "%s/meta.json", dir);
    assert_int_equal(sclaw_json_write(p, m), SCLAW_OK);
    json_decref(m);
}

/* FNV-1a 64, written out here to check the validation choice independently. */
static uint64_t fnv(const char *s, int64_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (int64_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return h;
}

static int teardown(void **state)
{
    (void)state;
    tu_cleanup();
    return 0;
}

/* ---- corpus ---------------------------------------------------------------------- */
static void test_docs_modes(void **state)
{
    (void)state;
    struct sclaw_corpus c;
    const char *f = path_in("paras.txt"), *g = path_in("stories.txt"), *e = path_in("empty.txt");
    tu_write_file(f, "para one\nline two\n\n\npara two\n  \npara three");
    tu_write_file(g, "story one\n" SCLAW_TOK_EOT "\nstory two" SCLAW_TOK_EOT "story three\n");
    tu_write_file(e, "");
    const char *names[] = {f, e, g};
    assert_int_equal(sclaw_corpus_load(&c, names, 3, SCLAW_DOCS_PARAGRAPH), SCLAW_OK);
    /* paragraph mode keeps the "<|endoftext|>" text of g inside its paragraphs */
    assert_int_equal(c.ndocs, 4);
    const char *want_p[] = {"para one\nline two\n", "para two\n", "para three"};
    for (int d = 0; d < 3; d++) {
        assert_int_equal(c.off[d + 1] - c.off[d], (int64_t)strlen(want_p[d]));
        assert_memory_equal(c.text + c.off[d], want_p[d], strlen(want_p[d]));
    }
    assert_int_equal(json_integer_value(json_object_get(json_array_get(c.sources, 1), "documents")), 0);
    sclaw_corpus_free(&c);

    const char *only_g[] = {g};
    assert_int_equal(sclaw_corpus_load(&c, only_g, 1, SCLAW_DOCS_EOT), SCLAW_OK);
    const char *want_e[] = {"story one\n", "story two", "story three\n"};
    assert_int_equal(c.ndocs, 3);
    for (int d = 0; d < 3; d++) {
        assert_int_equal(c.off[d + 1] - c.off[d], (int64_t)strlen(want_e[d]));
        assert_memory_equal(c.text + c.off[d], want_e[d], strlen(want_e[d]));
    }
    sclaw_corpus_free(&c);

    assert_int_equal(sclaw_corpus_load(&c, names, 3, SCLAW_DOCS_FILE), SCLAW_OK);
    assert_int_equal(c.ndocs, 2);  /* the empty file gives no document */
    sclaw_corpus_free(&c);
    const char *only_e[] = {e};
    assert_int_equal(sclaw_corpus_load(&c, only_e, 1, SCLAW_DOCS_FILE), SCLAW_E_ARG);
    const char *missing[] = {path_in("nope.txt")};
    assert_int_equal(sclaw_corpus_load(&c, missing, 1, SCLAW_DOCS_FILE), SCLAW_E_IO);
    assert_non_null(strstr(sclaw_errmsg(), "nope.txt"));
    assert_int_equal(sclaw_docs_parse("paragraph"), SCLAW_DOCS_PARAGRAPH);
    assert_int_equal(sclaw_docs_parse("lines"), -1);
}

static void test_kjv(void **state)
{
    (void)state;
    struct sclaw_corpus c;
    const char *names[] = {"kjv"};
    assert_int_equal(sclaw_corpus_load(&c, names, 1, SCLAW_DOCS_FILE), SCLAW_OK);
    /* 66 books, 1,189 chapters, 31,102 verses (one per line) */
    assert_int_equal(c.ndocs, 1189);
    int64_t lines = 0;
    for (int64_t i = 0; i < c.nbytes; i++)
        lines += c.text[i] == '\n';
    assert_int_equal(lines, 31102);
    assert_true(c.nbytes > 4000000 && c.nbytes < 4400000);
    const char *gen = "In the beginning God created the heaven and the earth.\nAnd the earth was";
    assert_memory_equal(c.text, gen, strlen(gen));
    const char *amen = "The grace of our Lord Jesus Christ be with you all. Amen.\n";
    assert_memory_equal(c.text + c.nbytes - strlen(amen), amen, strlen(amen));
    /* Psalm 117 (the shortest chapter, 2 verses) is a document of its own */
    int found = 0;
    const char *ps117 = "O Praise the LORD, all ye nations: praise him, all ye people.\n";
    for (int64_t d = 0; d < c.ndocs; d++)
        if (!memcmp(c.text + c.off[d], ps117, strlen(ps117))) {
            const char *p = c.text + c.off[d];
            int64_t n = c.off[d + 1] - c.off[d], nl = 0;
            for (int64_t i = 0; i < n; i++)
                nl += p[i] == '\n';
            assert_int_equal(nl, 2);
            found++;
        }
    assert_int_equal(found, 1);
    /* deterministic extraction */
    struct sclaw_corpus c2;
    assert_int_equal(sclaw_corpus_load(&c2, names, 1, SCLAW_DOCS_FILE), SCLAW_OK);
    assert_int_equal(c2.nbytes, c.nbytes);
    assert_memory_equal(c2.text, c.text, (size_t)c.nbytes);
    sclaw_corpus_free(&c2);
    sclaw_corpus_free(&c);
}

/* ---- shards ------------------------------------------------------------------------- */
static void test_shard_roundtrip(void **state)
{
    (void)state;
    uint64_t rng = 3;
    int32_t tok[1000];
    for (int pass = 0; pass < 2; pass++) {
        int64_t V = pass ? 100000 : 50257, width = pass ? 4 : 2;
        for (int i = 0; i < 1000; i++)
            tok[i] = (int32_t)(tu_rand_u64(&rng) % (uint64_t)V);
        const char *p = path_in(pass ? "s32.bin" : "s16.bin");
        assert_int_equal(sclaw_shard_write(p, tok, 1000, V), SCLAW_OK);
        long n;
        uint8_t *raw = read_bin(p, &n);
        assert_int_equal(n, 32 + 1000 * width);
        assert_memory_equal(raw, "SCLAWTOK", 8);
        assert_int_equal(raw[8], 1);                 /* version */
        assert_int_equal(raw[12], width);
        assert_int_equal(raw[16] | raw[17] << 8, 1000);  /* count, little-endian */
        free(raw);
        struct sclaw_shard s;
        assert_int_equal(sclaw_shard_open(&s, p, V), SCLAW_OK);
        assert_int_equal(s.count, 1000);
        assert_int_equal(s.width, width);
        for (int i = 0; i < 1000; i++)
            assert_int_equal(sclaw_shard_get(&s, i), tok[i]);
        sclaw_shard_close(&s);
    }
    /* an empty shard is valid */
    assert_int_equal(sclaw_shard_write(path_in("empty.bin"), tok, 0, 300), SCLAW_OK);
    struct sclaw_shard s;
    assert_int_equal(sclaw_shard_open(&s, path_in("empty.bin"), 0), SCLAW_OK);
    assert_int_equal(s.count, 0);
    sclaw_shard_close(&s);
}

static void expect_bad(const char *path, const char *what)
{
    struct sclaw_shard s;
    assert_int_equal(sclaw_shard_open(&s, path, 300), SCLAW_E_FORMAT);
    if (!strstr(sclaw_errmsg(), path) || !strstr(sclaw_errmsg(), what))
        fail_msg("message '%s' should name '%s' and say '%s'", sclaw_errmsg(), path, what);
}

static void test_shard_bad(void **state)
{
    (void)state;
    int32_t tok[100];
    for (int i = 0; i < 100; i++)
        tok[i] = i;
    const char *good = path_in("good.bin"), *bad = path_in("bad.bin");
    assert_int_equal(sclaw_shard_write(good, tok, 100, 300), SCLAW_OK);
    long n;
    uint8_t *raw = read_bin(good, &n);
    uint8_t *b = malloc((size_t)n + 8);
    memcpy(b, raw, (size_t)n);
    b[0] = 'X';
    write_bin(bad, b, (size_t)n);
    expect_bad(bad, "bad magic");
    memcpy(b, raw, (size_t)n);
    b[8] = 7;
    write_bin(bad, b, (size_t)n);
    expect_bad(bad, "version 7");
    write_bin(bad, raw, (size_t)n - 10);  /* truncated tail: count says more */
    expect_bad(bad, "truncated: header says 100 tokens");
    write_bin(bad, raw, 20);
    expect_bad(bad, "truncated");
    memcpy(b, raw, (size_t)n);
    memset(b + n, 0, 8);
    write_bin(bad, b, (size_t)n + 4);
    expect_bad(bad, "after the 100 tokens");
    memcpy(b, raw, (size_t)n);
    b[32 + 2 * 50] = 0xff, b[32 + 2 * 50 + 1] = 0x01;  /* token 511 >= vocab 300 */
    write_bin(bad, b, (size_t)n);
    expect_bad(bad, "token 511 at index 50");
    struct sclaw_shard s;
    assert_int_equal(sclaw_shard_open(&s, good, 4096), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "vocabulary of 300 tokens, expected 4096"));
    assert_int_equal(sclaw_shard_open(&s, path_in("none.bin"), 0), SCLAW_E_IO);
    /* writing a bad token fails and leaves the old file as it was */
    tok[5] = 300;
    assert_int_equal(sclaw_shard_write(good, tok, 100, 300), SCLAW_E_ARG);
    long n2;
    uint8_t *again = read_bin(good, &n2);
    assert_int_equal(n2, n);
    assert_memory_equal(again, raw, (size_t)n);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q tmp", tu_tmpdir());
    assert_int_not_equal(system(cmd), 0);  /* no temporary file left */
    free(again);
    free(raw);
    free(b);
}

/* ---- prepare ------------------------------------------------------------------------ */
/* 40 short documents, one file, paragraph mode. */
static void make_story_corpus(const char *path, int reverse)
{
    FILE *fp = fopen(path, "w");
    const char *words[] = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far",
                           "away", "from", "home", "then", "came", "back"};
    for (int k = 0; k < 40; k++) {
        int d = reverse ? 39 - k : k;
        uint64_t rng = (uint64_t)d * 7919 + 1;
        fprintf(fp, "Story %d:", d);
        int nw = 10 + (int)(tu_rand_u64(&rng) % 40);
        for (int w = 0; w < nw; w++)
            fprintf(fp, " %s", words[tu_rand_u64(&rng) % 16]);
        fprintf(fp, ".\n\n");
    }
    fclose(fp);
}

/* The whole token stream of a split, decoded. */
static char *decode_split(struct sclaw_tokenizer *t, const char *dir, const char *split, int64_t *len)
{
    char mp[4400];
    json_t *m;
    snprintf(mp, sizeof mp, "%s/meta.json", dir);
    assert_int_equal(sclaw_json_load(mp, &m), SCLAW_OK);
    json_t *files = json_object_get(json_object_get(m, split), "shards");
    size_t cap = 1 << 20, n = 0, i;
    char *out = malloc(cap);
    json_t *f;
    json_array_foreach(files, i, f) {
        char p[4400];
        struct sclaw_shard s;
        snprintf(p, sizeof p, "%s/%s", dir, json_string_value(f));
        assert_int_equal(sclaw_shard_open(&s, p, t->vocab_size), SCLAW_OK);
        int32_t *ids = malloc((size_t)s.count * sizeof *ids + 4);
        for (int64_t k = 0; k < s.count; k++)
            ids[k] = sclaw_shard_get(&s, k);
        uint8_t *d;
        int64_t nd;
        assert_int_equal(sclaw_tok_decode(t, ids, s.count, &d, &nd), SCLAW_OK);
        assert_true(n + (size_t)nd < cap);
        memcpy(out + n, d, (size_t)nd);
        n += (size_t)nd;
        free(d);
        free(ids);
        sclaw_shard_close(&s);
    }
    out[n] = '\0';
    *len = (int64_t)n;
    json_decref(m);
    return out;
}

/* Cut a decoded split at the separators (in place); returns the count. */
static int split_docs(char *text, char **docs)
{
    int n = 0;
    size_t el = strlen(SCLAW_TOK_EOT);
    char *p = text;
    while ((p = strstr(p, SCLAW_TOK_EOT))) {
        *p = '\0';
        p += el;
        docs[n++] = p;
    }
    return n;
}

static void test_prepare(void **state)
{
    (void)state;
    const char *f = path_in("stories.txt"), *fr = path_in("stories_rev.txt");
    make_story_corpus(f, 0);
    make_story_corpus(fr, 1);
    struct sclaw_corpus c, cr;
    struct sclaw_tokenizer t;
    struct sclaw_bpe_opts bo = {.vocab_size = 300, .add_eot = 1};
    assert_int_equal(sclaw_corpus_load(&c, &f, 1, SCLAW_DOCS_PARAGRAPH), SCLAW_OK);
    assert_int_equal(sclaw_corpus_load(&cr, &fr, 1, SCLAW_DOCS_PARAGRAPH), SCLAW_OK);
    assert_int_equal(c.ndocs, 40);
    assert_int_equal(sclaw_bpe_train(&t, &c, &bo), SCLAW_OK);
    struct sclaw_prepare_opts o = {0.1, 0, "tok", NULL, NULL};
    struct sclaw_prepare_stats st;
    const char *d1 = path_in("prep1"), *d2 = path_in("prep2"), *d3 = path_in("prep3");
    assert_int_equal(sclaw_data_prepare(d1, &c, &t, &o, &st), SCLAW_OK);
    assert_int_equal(st.docs[0], 36);
    assert_int_equal(st.docs[1], 4);
    assert_int_equal(st.shards[0], 1);

    /* the val documents are the 4 with the smallest FNV-1a hash; each split is
     * its documents in corpus order, each preceded by the separator */
    uint64_t h[40];
    int isval[40] = {0};
    for (int d = 0; d < 40; d++)
        h[d] = fnv(c.text + c.off[d], c.off[d + 1] - c.off[d]);
    for (int k = 0; k < 4; k++) {
        int best = -1;
        for (int d = 0; d < 40; d++)
            if (!isval[d] && (best < 0 || h[d] < h[best]))
                best = d;
        isval[best] = 1;
    }
    for (int s = 0; s < 2; s++) {
        char *want = malloc((size_t)c.nbytes + 40 * 16), *p = want;
        for (int d = 0; d < 40; d++) {
            if (isval[d] != s)
                continue;
            p += sprintf(p, "%s", SCLAW_TOK_EOT);
            memcpy(p, c.text + c.off[d], (size_t)(c.off[d + 1] - c.off[d]));
            p += c.off[d + 1] - c.off[d];
        }
        int64_t n;
        char *got = decode_split(&t, d1, s ? "val" : "train", &n);
        assert_int_equal(n, p - want);
        assert_memory_equal(got, want, (size_t)n);
        free(got);
        free(want);
    }
    json_t *m;
    char mp[4400];
    snprintf(mp, sizeof mp, "%s/meta.json", d1);
    assert_int_equal(sclaw_json_load(mp, &m), SCLAW_OK);
    assert_int_equal(json_integer_value(json_object_get(m, "vocab_size")), 300);
    assert_int_equal(json_integer_value(json_object_get(m, "eot_id")), 299);
    assert_int_equal(json_integer_value(json_object_get(m, "token_bytes")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "train"), "tokens")), st.tokens[0]);
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)sclaw_tok_hash(&t));
    assert_string_equal(json_string_value(json_object_get(m, "tokenizer_hash")), hash);
    json_decref(m);

    /* stable: the same input gives identical files; reversed document order
     * picks the same validation documents (same val text, reversed) */
    o.shard_tokens = 100;  /* and several shards */
    assert_int_equal(sclaw_data_prepare(d2, &cr, &t, &o, &st), SCLAW_OK);
    assert_true(st.shards[0] > 3);
    int64_t n1, n2;
    char *v1 = decode_split(&t, d1, "val", &n1), *v2 = decode_split(&t, d2, "val", &n2);
    assert_int_equal(n1, n2);
    char *docs1[8], *docs2[8];
    int k1 = split_docs(v1, docs1), k2 = split_docs(v2, docs2);
    assert_int_equal(k1, 4);
    assert_int_equal(k2, 4);
    for (int k = 0; k < 4; k++)  /* same documents, in reverse corpus order */
        assert_string_equal(docs1[k], docs2[3 - k]);
    free(v1);
    free(v2);
    /* preparing again with bigger shards removes the surplus ones */
    char extra[4400];
    snprintf(extra, sizeof extra, "%s/train_001.bin", d2);
    assert_true(file_exists(extra));
    o.shard_tokens = 0;
    assert_int_equal(sclaw_data_prepare(d2, &cr, &t, &o, &st), SCLAW_OK);
    assert_int_equal(st.shards[0], 1);
    assert_false(file_exists(extra));
    struct sclaw_prepare_opts o3 = {0.1, 0, "tok", NULL, NULL};
    assert_int_equal(sclaw_data_prepare(d3, &c, &t, &o3, &st), SCLAW_OK);
    long a, b;
    char p1[4400], p3[4400];
    snprintf(p1, sizeof p1, "%s/train_000.bin", d1);
    snprintf(p3, sizeof p3, "%s/train_000.bin", d3);
    uint8_t *x = read_bin(p1, &a), *y = read_bin(p3, &b);
    assert_int_equal(a, b);
    assert_memory_equal(x, y, (size_t)a);
    free(x);
    free(y);

    /* bad requests */
    struct sclaw_prepare_opts bad = {1.0, 0, NULL, NULL, NULL};
    assert_int_equal(sclaw_data_prepare(path_in("prep4"), &c, &t, &bad, &st), SCLAW_E_ARG);
    struct sclaw_corpus one;
    assert_int_equal(sclaw_corpus_load(&one, &f, 1, SCLAW_DOCS_FILE), SCLAW_OK);
    assert_int_equal(sclaw_data_prepare(path_in("prep5"), &one, &t, &o3, &st), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "at least 2 documents"));
    sclaw_corpus_free(&one);
    struct sclaw_tokenizer noeot;
    struct sclaw_bpe_opts nb = {.vocab_size = 280, .add_eot = 0};
    assert_int_equal(sclaw_bpe_train(&noeot, &c, &nb), SCLAW_OK);
    assert_int_equal(sclaw_data_prepare(path_in("prep6"), &c, &noeot, &o3, &st), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "<|endoftext|>"));
    sclaw_tok_free(&noeot);

    /* the loader over many shards serves the same stream as over one */
    struct sclaw_loader l1, l2;
    struct sclaw_batch b1, b2;
    assert_int_equal(sclaw_loader_open(&l1, d1, 8, 300, 5), SCLAW_OK);
    assert_int_equal(sclaw_loader_open(&l2, d3, 8, 300, 5), SCLAW_OK);
    assert_int_equal(sclaw_batch_init(&b1, 3, 8), SCLAW_OK);
    assert_int_equal(sclaw_batch_init(&b2, 3, 8), SCLAW_OK);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(sclaw_loader_next(&l1, &b1), SCLAW_OK);
        assert_int_equal(sclaw_loader_next(&l2, &b2), SCLAW_OK);
        assert_memory_equal(b1.tokens, b2.tokens, 3 * 9 * sizeof(int32_t));
    }
    sclaw_batch_free(&b1);
    sclaw_batch_free(&b2);
    sclaw_loader_close(&l1);
    sclaw_loader_close(&l2);
    sclaw_tok_free(&t);
    sclaw_corpus_free(&c);
    sclaw_corpus_free(&cr);
}

/* ---- loader ---------------------------------------------------------------------------- */
static void test_loader_determinism(void **state)
{
    (void)state;
    const char *dir = path_in("synth_det");
    int64_t sizes[] = {1000, 2500, 1500};
    int32_t val[64];
    for (int i = 0; i < 64; i++)
        val[i] = i;
    make_synthetic(dir, sizes, 3, 65536, 65535, val, 64);
    const int64_t B = 4, T = 16, NB = 6;
    struct sclaw_loader l;
    struct sclaw_batch b;
    int32_t *seen = malloc((size_t)(NB * B * (T + 1)) * sizeof *seen);
    assert_int_equal(sclaw_batch_init(&b, B, T), SCLAW_OK);
    assert_int_equal(sclaw_loader_open(&l, dir, T, 65536, 1234), SCLAW_OK);
    for (int k = 0; k < NB; k++) {
        assert_int_equal(sclaw_loader_next(&l, &b), SCLAW_OK);
        memcpy(seen + k * B * (T + 1), b.tokens, (size_t)(B * (T + 1)) * sizeof *seen);
    }
    assert_int_equal(l.state.position, NB * B);
    sclaw_loader_close(&l);
    /* same seed: same batches */
    assert_int_equal(sclaw_loader_open(&l, dir, T, 65536, 1234), SCLAW_OK);
    struct sclaw_loader_state saved = {0};
    for (int k = 0; k < NB; k++) {
        assert_int_equal(sclaw_loader_next(&l, &b), SCLAW_OK);
        assert_memory_equal(seen + k * B * (T + 1), b.tokens, (size_t)(B * (T + 1)) * sizeof *seen);
        if (k == 1) {  /* checkpoint after two batches, through JSON */
            json_t *j = sclaw_loader_state_json(&l.state);
            assert_int_equal(sclaw_loader_state_parse(j, &saved), SCLAW_OK);
            json_decref(j);
        }
    }
    sclaw_loader_close(&l);
    /* resume from the saved state in a fresh loader (other seed given at open) */
    assert_int_equal(saved.position, 2 * B);
    assert_true(saved.seed == 1234);
    assert_int_equal(sclaw_loader_open(&l, dir, T, 0, 999), SCLAW_OK);
    l.state = saved;
    for (int k = 2; k < NB; k++) {
        assert_int_equal(sclaw_loader_next(&l, &b), SCLAW_OK);
        assert_memory_equal(seen + k * B * (T + 1), b.tokens, (size_t)(B * (T + 1)) * sizeof *seen);
    }
    sclaw_loader_close(&l);
    /* another seed: other windows */
    assert_int_equal(sclaw_loader_open(&l, dir, T, 0, 1235), SCLAW_OK);
    assert_int_equal(sclaw_loader_next(&l, &b), SCLAW_OK);
    assert_true(memcmp(seen, b.tokens, (size_t)(B * (T + 1)) * sizeof *seen) != 0);
    sclaw_loader_close(&l);
    sclaw_batch_free(&b);
    free(seen);
    struct sclaw_loader_state s2;
    json_t *j = json_pack("{s:s, s:i}", "seed", "0xzz", "position", 3);
    assert_int_equal(sclaw_loader_state_parse(j, &s2), SCLAW_E_FORMAT);
    json_decref(j);
}

/* Every window once per epoch, at one offset; rows are contiguous runs of the
 * stream even across shard boundaries. */
static void test_loader_epochs(void **state)
{
    (void)state;
    const char *dir = path_in("synth_ep");
    int64_t sizes[] = {1000, 2500, 1500};
    int32_t val[64] = {0};
    make_synthetic(dir, sizes, 3, 65536, 65535, val, 64);
    const int64_t B = 13, T = 16;
    struct sclaw_loader l;
    struct sclaw_batch b;
    assert_int_equal(sclaw_loader_open(&l, dir, T, 0, 77), SCLAW_OK);
    assert_int_equal(l.nwin, 4999 / 16);  /* 312 windows, slack 7 */
    assert_int_equal(l.slack, 4999 % 16);
    assert_int_equal(sclaw_batch_init(&b, B, T), SCLAW_OK);
    int64_t nwin = l.nwin, *first = malloc((size_t)(2 * nwin + B) * sizeof *first), got = 0;
    while (got < 2 * nwin) {
        assert_int_equal(sclaw_loader_next(&l, &b), SCLAW_OK);
        for (int64_t r = 0; r < B; r++) {
            const int32_t *x = b.tokens + r * (T + 1);
            for (int64_t t = 0; t < T; t++)
                assert_int_equal(x[t + 1], x[t] + 1);  /* stream token i is i here */
            first[got++] = x[0];
        }
    }
    int same_order = 1;
    for (int e = 0; e < 2; e++) {
        int64_t *w = first + e * nwin, off = w[0] % T;
        char *hit = calloc((size_t)nwin, 1);
        for (int64_t i = 0; i < nwin; i++) {
            assert_int_equal(w[i] % T, off);
            int64_t k = (w[i] - off) / T;
            assert_true(k >= 0 && k < nwin);
            assert_int_equal(hit[k]++, 0);
            if (e == 1 && w[i] - off != first[i] - first[0] % T)
                same_order = 0;
        }
        assert_true(off <= l.slack);
        free(hit);
    }
    assert_false(same_order);  /* epoch 2 is shuffled differently */
    free(first);
    sclaw_batch_free(&b);
    sclaw_loader_close(&l);
}

/* seg and pos by hand; E = separator 9 */
static void test_segments_and_val(void **state)
{
    (void)state;
    const char *dir = path_in("synth_seg");
    int64_t sizes[] = {200};
    enum { E = 59999 };
    int32_t val[] = {E, 1, 2, E, 3, 4, 5, E, 6, 7, 8, 9, E, 10, 11, 12, 13, 14, 15, 16};
    make_synthetic(dir, sizes, 1, 60000, E, val, 20);
    struct sclaw_loader l;
    struct sclaw_batch b;
    assert_int_equal(sclaw_loader_open(&l, dir, 6, 60000, 1), SCLAW_OK);
    assert_int_equal(l.nval, 3);  /* (20 - 1) / 6 */
    assert_int_equal(sclaw_loader_val_batches(&l, 2), 2);
    assert_int_equal(sclaw_batch_init(&b, 2, 6), SCLAW_OK);
    assert_int_equal(sclaw_loader_val(&l, 0, &b), SCLAW_OK);
    assert_int_equal(b.rows, 2);
    /* row 0: E 1 2 E 3 4 | 5    row 1: 5 E 6 7 8 9 | E */
    const int32_t tok0[] = {E, 1, 2, E, 3, 4, 5}, tok1[] = {5, E, 6, 7, 8, 9, E};
    const int32_t seg0[] = {0, 0, 0, 1, 1, 1}, pos0[] = {0, 1, 2, 0, 1, 2};
    const int32_t seg1[] = {0, 1, 1, 1, 1, 1}, pos1[] = {0, 0, 1, 2, 3, 4};
    assert_memory_equal(b.tokens, tok0, sizeof tok0);
    assert_memory_equal(b.tokens + 7, tok1, sizeof tok1);
    assert_memory_equal(b.seg, seg0, sizeof seg0);
    assert_memory_equal(b.pos, pos0, sizeof pos0);
    assert_memory_equal(b.seg + 6, seg1, sizeof seg1);
    assert_memory_equal(b.pos + 6, pos1, sizeof pos1);
    assert_int_equal(sclaw_loader_val(&l, 1, &b), SCLAW_OK);
    assert_int_equal(b.rows, 1);  /* the last batch is partial */
    const int32_t tok2[] = {E, 10, 11, 12, 13, 14, 15};
    assert_memory_equal(b.tokens, tok2, sizeof tok2);
    assert_int_equal(sclaw_loader_val(&l, 2, &b), SCLAW_E_ARG);
    /* validation is fixed: asking again gives the same */
    assert_int_equal(sclaw_loader_val(&l, 0, &b), SCLAW_OK);
    assert_memory_equal(b.tokens, tok0, sizeof tok0);
    struct sclaw_batch wrong;
    assert_int_equal(sclaw_batch_init(&wrong, 2, 7), SCLAW_OK);
    assert_int_equal(sclaw_loader_next(&l, &wrong), SCLAW_E_SHAPE);
    sclaw_batch_free(&wrong);
    sclaw_batch_free(&b);
    sclaw_loader_close(&l);
    /* T too long for the validation split: training works, val says why not */
    assert_int_equal(sclaw_loader_open(&l, dir, 50, 0, 1), SCLAW_OK);
    assert_int_equal(sclaw_batch_init(&b, 1, 50), SCLAW_OK);
    assert_int_equal(sclaw_loader_val(&l, 0, &b), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "validation split has 20 tokens"));
    sclaw_batch_free(&b);
    sclaw_loader_close(&l);
}

static void test_loader_errors(void **state)
{
    (void)state;
    const char *dir = path_in("synth_err");
    int64_t sizes[] = {100, 100};
    int32_t val[8] = {0};
    make_synthetic(dir, sizes, 2, 65536, 65535, val, 8);
    struct sclaw_loader l;
    assert_int_equal(sclaw_loader_open(&l, dir, 8, 4096, 1), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "meta.json: data made with a vocabulary of 65536"));
    assert_int_equal(sclaw_loader_open(&l, dir, 500, 0, 1), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "fewer than one window"));
    /* a truncated shard is named */
    char p[4400];
    snprintf(p, sizeof p, "%s/train_001.bin", dir);
    long n;
    uint8_t *raw = read_bin(p, &n);
    write_bin(p, raw, (size_t)n - 2);
    assert_int_equal(sclaw_loader_open(&l, dir, 8, 0, 1), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "train_001.bin': truncated"));
    /* a shard swapped for a shorter one: meta.json's count disagrees */
    int32_t few[10] = {0};
    assert_int_equal(sclaw_shard_write(p, few, 10, 65536), SCLAW_OK);
    assert_int_equal(sclaw_loader_open(&l, dir, 8, 0, 1), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "meta.json says 200"));
    free(raw);
    assert_int_equal(sclaw_loader_open(&l, path_in("nodir"), 8, 0, 1), SCLAW_E_IO);
    assert_non_null(strstr(sclaw_errmsg(), "nodir/meta.json"));
}

/* ---- CLI ---------------------------------------------------------------------------- */
static void test_cli(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    const char *f = path_in("cli_stories.txt"), *tok = path_in("cli_tok"), *dir = path_in("cli_data");
    make_story_corpus(f, 0);
    assert_int_equal(tu_sclaw(NULL, NULL, "tokenizer train --vocab-size 300 --docs paragraph '%s' --out '%s'",
                              f, tok), 0);
    assert_int_equal(tu_sclaw(&out, &err, "data prepare --corpus '%s' --docs paragraph --tokenizer '%s' "
                              "--out '%s' --val-fraction 0.1", f, tok, dir), 0);
    assert_non_null(strstr(out, "train"));
    free(out), free(err);
    assert_int_equal(tu_sclaw(&out, &err, "--json data info '%s' --tokenizer '%s' --ctx 8", dir, tok), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "vocab_size")), 300);
    assert_true(json_integer_value(json_object_get(j, "val_windows")) > 0);
    json_decref(j);
    free(out), free(err);
    /* usage errors: 2 */
    assert_int_equal(tu_sclaw(NULL, &err, "data prepare --corpus '%s' --out '%s'", f, dir), 2);
    assert_non_null(strstr(err, "--tokenizer"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "data prepare --corpus '%s' --tokenizer '%s' --out '%s' "
                              "--val-fraction 1.5", f, tok, dir), 2);
    assert_non_null(strstr(err, "val-fraction"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "data prepare --corpus '%s' --tokenizer '%s' --out '%s' --docs x",
                              f, tok, dir), 2);
    free(err);
    /* runtime errors: 1, naming the culprit */
    assert_int_equal(tu_sclaw(NULL, &err, "data prepare --corpus '%s' --tokenizer '%s' --out '%s'",
                              f, tok, path_in("one_doc")), 1);
    assert_non_null(strstr(err, "at least 2 documents"));
    free(err);
    assert_false(file_exists(path_in("one_doc/meta.json")));
    char shard[4400];
    snprintf(shard, sizeof shard, "%s/val_000.bin", dir);
    write_bin(shard, "SCLAWTOX", 8);
    assert_int_equal(tu_sclaw(NULL, &err, "data info '%s'", dir), 1);
    assert_non_null(strstr(err, "val_000.bin"));
    free(err);
    assert_int_equal(tu_sclaw(&out, NULL, "data --help"), 0);
    free(out);
}

/* The default pipeline end to end on the King James Bible. */
static void test_cli_kjv(void **state)
{
    (void)state;
    char *out = NULL;
    const char *tok = path_in("kjv_tok"), *dir = path_in("kjv_data");
    assert_int_equal(tu_sclaw(NULL, NULL, "tokenizer train --vocab-size 1024 kjv --out '%s'", tok), 0);
    assert_int_equal(tu_sclaw(&out, NULL, "--json data prepare --corpus kjv --tokenizer '%s' --out '%s'",
                              tok, dir), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "train_documents")), 1183);
    assert_int_equal(json_integer_value(json_object_get(j, "val_documents")), 6);  /* round(0.005 * 1189) */
    assert_true(json_integer_value(json_object_get(j, "train_tokens")) > 1000000);
    json_decref(j);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docs_modes),
        cmocka_unit_test(test_kjv),
        cmocka_unit_test(test_shard_roundtrip),
        cmocka_unit_test(test_shard_bad),
        cmocka_unit_test(test_prepare),
        cmocka_unit_test(test_loader_determinism),
        cmocka_unit_test(test_loader_epochs),
        cmocka_unit_test(test_segments_and_val),
        cmocka_unit_test(test_loader_errors),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_cli_kjv),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
