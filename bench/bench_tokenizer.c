/* bench_tokenizer.c - BPE training time and encode/decode speed on the default
 * corpus (King James Bible), against the reference encoder (issue 5).
 *
 *   build/bench/bench_tokenizer [V=4096] [RUNS=5] [TOK]
 *
 * Trains a V-token vocabulary on the KJV (or loads TOK), checks that the fast
 * encoder equals the reference (plain O(len^2) merge loop per chunk, no
 * cache) and that decoding restores the corpus, warms up, then reports the
 * median of RUNS timed passes over the whole corpus:
 *   fast (cold)  cache cleared before each pass - one realistic pass
 *   fast (warm)  cache kept from the previous pass
 *   reference    sclaw_tok_encode_ref
 * and then the same for text of long chunks (100 words of 2,000 random
 * letters), where the heap merge's O(n log n) against the reference's
 * O(n^2) shows; English words are short, so there the cache does the work.
 * Single-threaded. Wall time is what a user sees; the process CPU time is
 * printed too because on a shared, loaded machine it varies far less (a
 * waiting process uses no CPU). Prints a table and one JSON line with the
 * speed-ups. */
#include "sclaw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void die(const char *what)
{
    fprintf(stderr, "bench_tokenizer: %s: %s\n", what, sclaw_errmsg());
    exit(1);
}

enum { COLD, WARM, REF, DECODE, NMODES };

/* One timed pass over the corpus; returns wall seconds, CPU seconds in *cpu. */
static double pass(struct sclaw_tokenizer *t, const struct sclaw_corpus *c, int mode, int32_t *ids,
                   int64_t nids, double *cpu)
{
    double t0 = now(), c0 = cpu_now();
    if (mode == COLD)
        sclaw_tok_cache_clear(t);
    if (mode == DECODE) {
        uint8_t *out;
        int64_t n;
        if (sclaw_tok_decode(t, ids, nids, &out, &n))
            die("decode");
        free(out);
        *cpu = cpu_now() - c0;
        return now() - t0;
    }
    int32_t *got;
    int64_t n;
    int st = mode == REF ? sclaw_tok_encode_ref(t, (const uint8_t *)c->text, c->nbytes, &got, &n)
                         : sclaw_tok_encode(t, (const uint8_t *)c->text, c->nbytes, &got, &n);
    if (st)
        die("encode");
    free(got);
    *cpu = cpu_now() - c0;
    return now() - t0;
}

int main(int argc, char **argv)
{
    int64_t V = argc > 1 ? atoll(argv[1]) : 4096;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    const char *tokdir = argc > 3 ? argv[3] : NULL;
    const char *names[] = {"kjv"};
    struct sclaw_corpus c;
    struct sclaw_tokenizer t;
    if (runs < 1 || V < 257) {
        fprintf(stderr, "usage: bench_tokenizer [V>=257] [RUNS>=1] [TOK]\n");
        return 2;
    }
    double t0 = now();
    if (sclaw_corpus_load(&c, names, 1, SCLAW_DOCS_FILE))
        die("corpus");
    double t_corpus = now() - t0, t_train = 0;
    if (tokdir) {
        if (sclaw_tok_load(&t, tokdir))
            die("load");
    } else {
        struct sclaw_bpe_opts o = {.vocab_size = V, .add_eot = 1};
        t0 = now();
        if (sclaw_bpe_train(&t, &c, &o))
            die("train");
        t_train = now() - t0;
    }

    /* verify: fast == reference, and decode restores the bytes */
    int32_t *a, *b;
    int64_t na, nb, nd;
    uint8_t *d;
    if (sclaw_tok_encode(&t, (const uint8_t *)c.text, c.nbytes, &a, &na) ||
        sclaw_tok_encode_ref(&t, (const uint8_t *)c.text, c.nbytes, &b, &nb))
        die("encode");
    if (na != nb || memcmp(a, b, (size_t)na * sizeof *a)) {
        fprintf(stderr, "bench_tokenizer: fast and reference encodings differ\n");
        return 1;
    }
    if (sclaw_tok_decode(&t, a, na, &d, &nd) || nd != c.nbytes || memcmp(d, c.text, (size_t)nd)) {
        fprintf(stderr, "bench_tokenizer: decode(encode(corpus)) != corpus\n");
        return 1;
    }
    free(b);
    free(d);

    /* warm-up, then the median of runs passes for each mode */
    static const char *label[NMODES] = {"fast, cold cache", "fast, warm cache", "reference O(n^2), no cache",
                                        "decode"};
    double med[NMODES], mcpu[NMODES], dummy;
    double *tm = malloc((size_t)runs * sizeof *tm), *tc = malloc((size_t)runs * sizeof *tc);
    for (int m = 0; m < NMODES; m++) {
        pass(&t, &c, m, a, na, &dummy);
        for (int r = 0; r < runs; r++)
            tm[r] = pass(&t, &c, m, a, na, &tc[r]);
        med[m] = median(tm, runs);
        mcpu[m] = median(tc, runs);
    }
    free(tm);
    free(tc);
    double mb = (double)c.nbytes / 1e6;
    printf("corpus: kjv, %lld bytes, %lld documents (extracted in %.2f s)\n", (long long)c.nbytes,
           (long long)c.ndocs, t_corpus);
    if (tokdir)
        printf("tokenizer: %s, %lld tokens\n", tokdir, (long long)t.vocab_size);
    else
        printf("tokenizer: trained, %lld tokens, %lld merges in %.2f s\n", (long long)t.vocab_size,
               (long long)t.nmerges, t_train);
    printf("tokens: %lld (%.3f bytes/token); verified: fast == reference, decode round trip\n",
           (long long)na, (double)c.nbytes / (double)na);
    printf("%-28s %10s %10s %8s %12s %8s\n", "encoder", "median s", "MB/s", "x ref", "MB/CPU-s",
           "x ref");
    for (int m = 0; m < NMODES; m++)
        printf("%-28s %10.4f %10.2f %8.2f %12.2f %8.2f\n", label[m], med[m], mb / med[m],
               med[REF] / med[m], mb / mcpu[m], mcpu[REF] / mcpu[m]);
    printf("{\"bench\":\"tokenizer\",\"corpus_bytes\":%lld,\"vocab_size\":%lld,\"tokens\":%lld,"
           "\"train_s\":%.4f,\"encode_cold_mbs\":%.3f,\"encode_warm_mbs\":%.3f,\"encode_ref_mbs\":%.3f,"
           "\"decode_mbs\":%.3f,\"speedup_cold\":%.3f,\"speedup_warm\":%.3f,"
           "\"encode_cold_mb_per_cpu_s\":%.3f,\"encode_ref_mb_per_cpu_s\":%.3f,\"runs\":%d}\n",
           (long long)c.nbytes, (long long)t.vocab_size, (long long)na, t_train, mb / med[COLD],
           mb / med[WARM], mb / med[REF], mb / med[DECODE], med[REF] / med[COLD], med[REF] / med[WARM],
           mb / mcpu[COLD], mb / mcpu[REF], runs);
    free(a);

    /* long chunks: words of 2,000 random lowercase letters */
    int64_t nl = 100 * 2001;
    char *longtext = malloc((size_t)nl);
    uint64_t rng = 1;
    for (int64_t i = 0; i < nl; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        longtext[i] = i % 2001 == 0 ? ' ' : (char)('a' + (rng >> 33) % 26);
    }
    struct sclaw_corpus lc = {longtext, nl, 1, (int64_t[]){0, nl}, 2, NULL};
    if (sclaw_tok_encode(&t, (const uint8_t *)longtext, nl, &a, &na) ||
        sclaw_tok_encode_ref(&t, (const uint8_t *)longtext, nl, &b, &nb))
        die("encode");
    if (na != nb || memcmp(a, b, (size_t)na * sizeof *a)) {
        fprintf(stderr, "bench_tokenizer: fast and reference encodings differ on long chunks\n");
        return 1;
    }
    free(b);
    double lm[2], lcpu[2];
    int lruns = runs < 3 ? runs : 3;
    tm = malloc((size_t)lruns * sizeof *tm);
    tc = malloc((size_t)lruns * sizeof *tc);
    for (int k = 0; k < 2; k++) {
        int m = k ? REF : COLD;
        for (int r = 0; r < lruns; r++)
            tm[r] = pass(&t, &lc, m, a, na, &tc[r]);
        lm[k] = median(tm, lruns);
        lcpu[k] = median(tc, lruns);
    }
    printf("long chunks (%lld bytes, 2,000-letter words): fast %.2f MB/s (%.2f MB/CPU-s), reference "
           "%.3f MB/s (%.3f MB/CPU-s): x%.1f\n", (long long)nl, nl / 1e6 / lm[0], nl / 1e6 / lcpu[0],
           nl / 1e6 / lm[1], nl / 1e6 / lcpu[1], lm[1] / lm[0]);
    free(tm);
    free(tc);
    free(a);
    free(longtext);
    sclaw_tok_free(&t);
    sclaw_corpus_free(&c);
    return 0;
}
