/* test_infer.c - inference (sclaw_infer.h; models.md §3.1, §3.3, §3.6, §4):
 * the acceptance of issue 6.
 *
 * Checks, each against an independent computation:
 *   - for both families, the logits of the prefill (in pieces, prompt length
 *     not a multiple of the chunk) and of every cached / recurrent decode
 *     step at position t equal the training model's full forward pass at t
 *     (sclaw_model_forward: chunkwise cell from an empty state / full causal
 *     attention), 1e-4 relative;
 *   - xLSTM: the state after a prefill is the same for chunk sizes 5, 8, 16,
 *     32, for pieces of 7 tokens, and for the §3.6 split; it equals the state
 *     after t recurrent steps, and the state size does not depend on the
 *     context; Llama: the KV cache equals K, V recomputed from the full pass;
 *   - generation at temperature 0 is deterministic and each token is the
 *     argmax of the full forward over the prompt and the tokens before it;
 *   - the sampler: seeded determinism, frequencies of a known distribution,
 *     the top-p nucleus;
 *   - bad input: empty prompt, out-of-vocabulary ids, a context beyond a
 *     Llama cache (state untouched after each), bad sampler settings; and the
 *     CLI (sclaw generate / sclaw bench inference) end to end.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sclaw_infer.h"
#include "sclaw_io.h"
#include "sclaw_kernels.h"
#include "sclaw_model.h"
#include "sclaw_safetensors.h"
#include "sclaw_status.h"
#include "sclaw_train.h"
#include "testutil.h"

/* ---- fixtures ----------------------------------------------------------------- */

static void tiny_config(struct sclaw_config *c, const char *family, int64_t V, int64_t ctx)
{
    memset(c, 0, sizeof *c);
    assert_int_equal(sclaw_config_init(c, family), SCLAW_OK);
    c->embedding_dim = 64;
    c->num_blocks = 2;
    c->num_heads = !strcmp(family, "llama") ? 4 : 2;
    c->vocab_size = V;
    c->context_length = ctx;
    if (strcmp(family, "llama"))
        c->chunk_size = 16;
    assert_int_equal(sclaw_config_derive(c, "test"), SCLAW_OK);
}

/* A tiny model whose parameters are the init plus noise, so every gate and
 * weight matters (the init zeroes the gate weights). */
static void tiny_model(struct sclaw_model *m, const char *family, int64_t V, int64_t ctx)
{
    struct sclaw_config c;
    tiny_config(&c, family, V, ctx);
    assert_int_equal(sclaw_model_init(m, &c), SCLAW_OK);
    sclaw_model_init_params(m, 7);
    uint64_t rs = 12345;
    for (int64_t i = 0; i < m->tt.numel; i++)
        m->params[i] += (float)(0.1 * tu_rand_normal(&rs));
}

static int32_t *random_tokens(int64_t n, int64_t V, uint64_t seed)
{
    int32_t *t = malloc((size_t)n * sizeof *t);
    for (int64_t i = 0; i < n; i++)
        t[i] = (int32_t)(tu_rand_u64(&seed) % (uint64_t)V);
    return t;
}

static double max_abs(const float *x, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

/* ---- decode step at t == full forward at t ---------------------------------------- */

/* Prefill p tokens (in pieces of `piece`), then decode steps up to T; every
 * logits row is compared with the full forward's row at the same position. */
static void check_decode_vs_full_T(const char *family, int64_t piece, int64_t p, int64_t T)
{
    const int64_t V = 61, B = 2;
    struct sclaw_model m;
    tiny_model(&m, family, V, T > 64 ? T : 64);
    int32_t *tok = random_tokens(B * T, V, 3);
    float *full = malloc((size_t)(B * T * V) * sizeof *full);
    assert_int_equal(sclaw_infer_full_logits(&m, tok, B, T, full), SCLAW_OK);

    struct sclaw_infer s;
    struct sclaw_infer_setup o = {B, 0, piece, SCLAW_PREFILL_CHUNKED};
    assert_int_equal(sclaw_infer_init(&s, &m, &o), SCLAW_OK);
    int32_t *pr = malloc((size_t)(B * p) * sizeof *pr);
    for (int64_t b = 0; b < B; b++)
        memcpy(pr + b * p, tok + b * T, (size_t)p * sizeof *pr);
    assert_int_equal(sclaw_infer_prefill(&s, pr, p), SCLAW_OK);
    float *want = malloc((size_t)(B * V) * sizeof *want);
    char what[96];
    for (int64_t t = p - 1; t < T; t++) {
        if (t >= p) {
            int32_t step[2] = {tok[t], tok[T + t]};
            assert_int_equal(sclaw_infer_step(&s, step), SCLAW_OK);
        }
        for (int64_t b = 0; b < B; b++)
            memcpy(want + b * V, full + (b * T + t) * V, (size_t)V * sizeof *want);
        snprintf(what, sizeof what, "%s logits at t=%lld (prefill %lld, piece %lld)", family,
                 (long long)t, (long long)p, (long long)piece);
        tu_allclose_f(s.logits, want, B * V, 1e-4, 1e-4 * max_abs(want, B * V), what);
    }
    assert_int_equal(s.pos, T);
    free(want);
    free(pr);
    free(full);
    free(tok);
    sclaw_infer_free(&s);
    sclaw_model_free(&m);
}

static void check_decode_vs_full(const char *family, int64_t piece, int64_t p)
{
    check_decode_vs_full_T(family, piece, p, 40);
}

static void test_mlstm_decode_matches_full(void **state)
{
    (void)state;
    check_decode_vs_full("mlstm_v1", 0, 23);  /* one piece, 23 = 16 + 7 */
    check_decode_vs_full("mlstm_v1", 8, 21);  /* pieces 8 + 8 + 5 */
    check_decode_vs_full("mlstm_v1", 0, 1);   /* a one-token prompt is a step */
}

static void test_llama_decode_matches_full(void **state)
{
    (void)state;
    check_decode_vs_full("llama", 0, 23);
    check_decode_vs_full("llama", 8, 21); /* later pieces attend to the cache */
    check_decode_vs_full("llama", 0, 1);
    /* contexts past one 512-key score tile of the prefill kernel: a piece
     * starting mid-tile (600), and the decode steps after it */
    check_decode_vs_full_T("llama", 600, 1100, 1130);
    check_decode_vs_full_T("llama", 0, 1030, 1040);
}

/* ---- xLSTM state: chunkings, pieces, §3.6, recurrent steps ------------------------- */

static float *prefill_state(struct sclaw_model *m, const int32_t *tok, int64_t B, int64_t T,
                            int64_t L, int64_t piece, enum sclaw_prefill_mode mode,
                            int64_t *nfloats, float *logits)
{
    struct sclaw_infer s;
    struct sclaw_infer_setup o = {B, 0, piece, mode};
    m->cfg.chunk_size = L;
    assert_int_equal(sclaw_infer_init(&s, m, &o), SCLAW_OK);
    assert_int_equal(sclaw_infer_prefill(&s, tok, T), SCLAW_OK);
    *nfloats = m->cfg.num_blocks * s.layer_floats;
    float *st = malloc((size_t)*nfloats * sizeof *st);
    memcpy(st, s.state, (size_t)*nfloats * sizeof *st);
    if (logits)
        memcpy(logits, s.logits, (size_t)(B * m->cfg.vocab_size) * sizeof *logits);
    sclaw_infer_free(&s);
    m->cfg.chunk_size = 16;
    return st;
}

static void test_mlstm_state_chunkings(void **state)
{
    (void)state;
    const int64_t V = 61, T = 45, B = 2;
    struct sclaw_model m;
    tiny_model(&m, "mlstm_v1", V, 64);
    int32_t *tok = random_tokens(B * T, V, 5);
    int64_t n, n2;
    float *ref = prefill_state(&m, tok, B, T, 16, 0, SCLAW_PREFILL_CHUNKED, &n, NULL);
    double scale = max_abs(ref, n);
    assert_true(scale > 0);
    const struct {
        int64_t L, piece;
        enum sclaw_prefill_mode mode;
        const char *what;
    } v[] = {
        {5, 0, SCLAW_PREFILL_CHUNKED, "state with chunk 5"},
        {8, 0, SCLAW_PREFILL_CHUNKED, "state with chunk 8"},
        {32, 0, SCLAW_PREFILL_CHUNKED, "state with chunk 32"},
        {64, 0, SCLAW_PREFILL_CHUNKED, "state with chunk 64 (> T)"},
        {16, 7, SCLAW_PREFILL_CHUNKED, "state with pieces of 7"},
        {16, 0, SCLAW_PREFILL_SPLIT, "state with the 3.6 split (16, then steps)"},
        {64, 0, SCLAW_PREFILL_SPLIT, "state with the 3.6 split (32, then steps)"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        float *got = prefill_state(&m, tok, B, T, v[i].L, v[i].piece, v[i].mode, &n2, NULL);
        assert_int_equal(n2, n);
        tu_allclose_f(got, ref, n, 1e-4, 1e-5 * scale, v[i].what);
        free(got);
    }
    free(ref);
    free(tok);
    sclaw_model_free(&m);
}

static void test_mlstm_prefill_equals_steps(void **state)
{
    (void)state;
    const int64_t V = 61, T = 37, B = 2;
    struct sclaw_model m;
    tiny_model(&m, "mlstm_v1", V, 64);
    int32_t *tok = random_tokens(B * T, V, 9);
    int64_t n;
    float *lp = malloc((size_t)(B * V) * sizeof *lp);
    float *ref = prefill_state(&m, tok, B, T, 16, 0, SCLAW_PREFILL_CHUNKED, &n, lp);

    /* t recurrent steps from the empty state: the step form of §3.1 */
    struct sclaw_infer s;
    struct sclaw_infer_setup o = {B, 0, 0, SCLAW_PREFILL_CHUNKED};
    assert_int_equal(sclaw_infer_init(&s, &m, &o), SCLAW_OK);
    for (int64_t t = 0; t < T; t++) {
        int32_t step[2] = {tok[t], tok[T + t]};
        assert_int_equal(sclaw_infer_step(&s, step), SCLAW_OK);
    }
    tu_allclose_f(s.state, ref, n, 1e-4, 1e-5 * max_abs(ref, n),
                  "chunkwise-prefill state vs recurrent steps");
    tu_allclose_f(s.logits, lp, B * V, 1e-4, 1e-4 * max_abs(lp, B * V),
                  "prefill logits vs recurrent steps");

    /* the state is C, n, m: NB * B * NH * (dqk dv + dqk + 1) floats (models.md
     * §4), whatever the context */
    const struct sclaw_config *c = &m.cfg;
    float *C, *nn, *mm;
    sclaw_infer_layer_state(&s, 1, &C, &nn, &mm);
    assert_ptr_equal(C, s.state + s.layer_floats);
    assert_true(nn - C >= B * c->num_heads * c->head_dim_qk * c->head_dim_v);
    int64_t exact = B * c->num_heads * (c->head_dim_qk * c->head_dim_v + c->head_dim_qk + 1);
    assert_true(s.layer_floats >= exact && s.layer_floats < exact + 64);
    struct sclaw_infer s2;
    struct sclaw_infer_setup o2 = {B, 1 << 20, 0, SCLAW_PREFILL_CHUNKED};
    assert_int_equal(sclaw_infer_init(&s2, &m, &o2), SCLAW_OK);
    assert_int_equal(s2.layer_floats, s.layer_floats);
    sclaw_infer_free(&s2);

    sclaw_infer_free(&s);
    free(ref);
    free(lp);
    free(tok);
    sclaw_model_free(&m);
}

/* The KV cache after a prefill holds post-RoPE K and V of every position:
 * recompute layer 0's from the embedding with the training kernels. */
static void test_llama_cache_contents(void **state)
{
    (void)state;
    const int64_t V = 61, T = 19, B = 1;
    struct sclaw_model m;
    tiny_model(&m, "llama", V, 32);
    const struct sclaw_config *c = &m.cfg;
    const int64_t D = c->embedding_dim, NH = c->num_heads, hd = c->head_dim_qk, A = NH * hd;
    int32_t *tok = random_tokens(B * T, V, 11);
    struct sclaw_infer s;
    struct sclaw_infer_setup o = {B, 24, 8, SCLAW_PREFILL_CHUNKED};
    assert_int_equal(sclaw_infer_init(&s, &m, &o), SCLAW_OK);
    assert_int_equal(s.Tmax, 24);
    assert_int_equal(sclaw_infer_prefill(&s, tok, T), SCLAW_OK);
    float *x = malloc((size_t)(T * D) * sizeof *x), *u = malloc((size_t)(T * D) * sizeof *u);
    float *r = malloc((size_t)T * sizeof *r), *k = malloc((size_t)(T * A) * sizeof *k);
    float *v = malloc((size_t)(T * A) * sizeof *v);
    int32_t *pos = malloc((size_t)T * sizeof *pos);
    for (int64_t t = 0; t < T; t++) {
        memcpy(x + t * D, m.emb + (int64_t)tok[t] * D, (size_t)D * sizeof *x);
        pos[t] = (int32_t)t;
    }
    float *const *p = sclaw_model_lp(&m, 0); /* norm, q, k, v, ... (table order) */
    sclaw_rmsnorm_forward(u, r, x, p[0], T, D, SCLAW_NORM_EPS);
    sclaw_matmul_forward_ref(k, u, p[2], T, D, A, 0);
    sclaw_matmul_forward_ref(v, u, p[3], T, D, A, 0);
    sclaw_rope_forward(k, pos, T, NH, hd, SCLAW_ROPE_THETA);
    float *K, *Vc, *none;
    sclaw_infer_layer_state(&s, 0, &K, &Vc, &none);
    assert_null(none);
    float *gk = malloc((size_t)(T * A) * sizeof *gk), *gv = malloc((size_t)(T * A) * sizeof *gv);
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < NH; h++) {
            memcpy(gk + (t * NH + h) * hd, K + (h * s.Tmax + t) * hd, (size_t)hd * sizeof *gk);
            memcpy(gv + (t * NH + h) * hd, Vc + (h * s.Tmax + t) * hd, (size_t)hd * sizeof *gv);
        }
    tu_allclose_f(gk, k, T * A, 1e-5, 1e-6, "cached K of layer 0");
    tu_allclose_f(gv, v, T * A, 1e-5, 1e-6, "cached V of layer 0");
    /* the cache is NB * 2 * B * NH * Tmax * hd floats */
    assert_true(s.state_bytes >= 4.0 * 2 * 2 * B * NH * 24 * hd);
    free(x), free(u), free(r), free(k), free(v), free(pos), free(gk), free(gv), free(tok);
    sclaw_infer_free(&s);
    sclaw_model_free(&m);
}

/* ---- greedy generation ------------------------------------------------------------- */

static void greedy(struct sclaw_model *m, const int32_t *prompt, int64_t P, int64_t G,
                   int32_t *out)
{
    struct sclaw_infer s;
    struct sclaw_sampler sp;
    struct sclaw_infer_setup o = {1, P + G + 1, 0, SCLAW_PREFILL_CHUNKED};
    assert_int_equal(sclaw_infer_init(&s, m, &o), SCLAW_OK);
    assert_int_equal(sclaw_sampler_init(&sp, m->cfg.vocab_size, 0.0, 1.0, 99), SCLAW_OK);
    assert_int_equal(sclaw_infer_prefill(&s, prompt, P), SCLAW_OK);
    for (int64_t g = 0; g < G; g++) {
        out[g] = sclaw_sampler_next(&sp, s.logits);
        if (g + 1 < G)
            assert_int_equal(sclaw_infer_step(&s, &out[g]), SCLAW_OK);
    }
    sclaw_sampler_free(&sp);
    sclaw_infer_free(&s);
}

static void check_greedy(const char *family)
{
    const int64_t V = 61, P = 11, G = 12, T = P + G;
    struct sclaw_model m;
    tiny_model(&m, family, V, 64);
    int32_t *prompt = random_tokens(P, V, 21);
    int32_t a[12], b[12];
    greedy(&m, prompt, P, G, a);
    greedy(&m, prompt, P, G, b);
    assert_memory_equal(a, b, sizeof a);
    /* every token = argmax of the full forward over everything before it,
     * wherever the top two logits are not within rounding of each other */
    int32_t *seq = malloc((size_t)T * sizeof *seq);
    memcpy(seq, prompt, (size_t)P * sizeof *seq);
    memcpy(seq + P, a, sizeof a);
    float *full = malloc((size_t)(T * V) * sizeof *full);
    assert_int_equal(sclaw_infer_full_logits(&m, seq, 1, T, full), SCLAW_OK);
    int checked = 0;
    for (int64_t g = 0; g < G; g++) {
        const float *row = full + (P - 1 + g) * V;
        int32_t best = sclaw_argmax(row, V);
        float second = -INFINITY;
        for (int64_t j = 0; j < V; j++)
            if (j != best && row[j] > second)
                second = row[j];
        if (row[best] - second < 1e-3f)
            continue;
        assert_int_equal(a[g], best);
        checked++;
    }
    assert_true(checked >= G - 2);
    free(full);
    free(seq);
    free(prompt);
    sclaw_model_free(&m);
}

static void test_greedy_generation(void **state)
{
    (void)state;
    check_greedy("mlstm_v1");
    check_greedy("llama");
}

/* ---- sampler ------------------------------------------------------------------------ */

static void test_sampler(void **state)
{
    (void)state;
    struct sclaw_sampler a, b;
    /* logits of probabilities 0.4, 0.3, 0.2, 0.1 */
    const float lg[4] = {logf(0.4f), logf(0.3f), logf(0.2f), logf(0.1f)};
    const int n = 40000;
    int cnt[4] = {0};
    assert_int_equal(sclaw_sampler_init(&a, 4, 1.0, 1.0, 1), SCLAW_OK);
    for (int i = 0; i < n; i++)
        cnt[sclaw_sampler_next(&a, lg)]++;
    const double p[4] = {0.4, 0.3, 0.2, 0.1};
    for (int j = 0; j < 4; j++) /* 5 standard deviations of a binomial count */
        tu_close(cnt[j], n * p[j], 0, 5 * sqrt(n * p[j] * (1 - p[j])), "sample frequency");
    sclaw_sampler_free(&a);

    /* top-p 0.5: the nucleus is {0, 1} (0.4 < 0.5 <= 0.7), renormalised 4:3 */
    int c2[4] = {0};
    assert_int_equal(sclaw_sampler_init(&a, 4, 1.0, 0.5, 2), SCLAW_OK);
    for (int i = 0; i < n; i++)
        c2[sclaw_sampler_next(&a, lg)]++;
    assert_int_equal(c2[2] + c2[3], 0);
    tu_close(c2[0], n * 4.0 / 7, 0, 5 * sqrt(n * (4.0 / 7) * (3.0 / 7)), "nucleus frequency");
    sclaw_sampler_free(&a);

    /* temperature 2 flattens: p ~ sqrt(p) */
    int c3[4] = {0};
    double z = sqrt(0.4) + sqrt(0.3) + sqrt(0.2) + sqrt(0.1);
    assert_int_equal(sclaw_sampler_init(&a, 4, 2.0, 1.0, 3), SCLAW_OK);
    for (int i = 0; i < n; i++)
        c3[sclaw_sampler_next(&a, lg)]++;
    for (int j = 0; j < 4; j++) {
        double q = sqrt(p[j]) / z;
        tu_close(c3[j], n * q, 0, 5 * sqrt(n * q * (1 - q)), "tempered frequency");
    }
    sclaw_sampler_free(&a);

    /* same seed, same draws; tiny top-p = argmax; temperature 0 = argmax */
    assert_int_equal(sclaw_sampler_init(&a, 4, 0.8, 0.95, 77), SCLAW_OK);
    assert_int_equal(sclaw_sampler_init(&b, 4, 0.8, 0.95, 77), SCLAW_OK);
    for (int i = 0; i < 200; i++)
        assert_int_equal(sclaw_sampler_next(&a, lg), sclaw_sampler_next(&b, lg));
    sclaw_sampler_free(&a);
    sclaw_sampler_free(&b);
    assert_int_equal(sclaw_sampler_init(&a, 4, 1.0, 1e-6, 5), SCLAW_OK);
    for (int i = 0; i < 50; i++)
        assert_int_equal(sclaw_sampler_next(&a, lg), 0);
    sclaw_sampler_free(&a);
    const float tie[3] = {1, 5, 5};
    assert_int_equal(sclaw_argmax(tie, 3), 1);

    /* bad settings */
    assert_int_equal(sclaw_sampler_init(&a, 4, -1.0, 1.0, 0), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "temperature"));
    assert_int_equal(sclaw_sampler_init(&a, 4, 1.0, 0.0, 0), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "top-p"));
    assert_int_equal(sclaw_sampler_init(&a, 4, NAN, 1.0, 0), SCLAW_E_ARG);
}

/* ---- the single-row matmul of decode steps --------------------------------------------
 * A batch-1 step multiplies one row by every weight matrix; sclaw_matmul_forward
 * takes a matrix-vector path there (no packing of the weights). Against the
 * double-precision loops, with and without accumulation. */
static void test_matmul_one_row(void **state)
{
    (void)state;
    const int64_t K = 77, N = 131;
    uint64_t rs = 3;
    float *w = malloc((size_t)(N * K) * sizeof *w), x[77], y[131], r[131];
    for (int64_t i = 0; i < N * K; i++)
        w[i] = (float)tu_rand_normal(&rs);
    for (int64_t i = 0; i < K; i++)
        x[i] = (float)tu_rand_normal(&rs);
    sclaw_matmul_forward(y, x, w, 1, K, N, 0);
    sclaw_matmul_forward_ref(r, x, w, 1, K, N, 0);
    tu_allclose_f(y, r, N, 1e-5, 1e-5, "one-row matmul");
    sclaw_matmul_forward(y, x, w, 1, K, N, 1);
    sclaw_matmul_forward_ref(r, x, w, 1, K, N, 1);
    tu_allclose_f(y, r, N, 1e-5, 1e-5, "one-row matmul, accumulated");
    free(w);
}

/* ---- bad input ------------------------------------------------------------------------ */

static void test_bad_input(void **state)
{
    (void)state;
    const int64_t V = 61;
    struct sclaw_model m;
    tiny_model(&m, "llama", V, 16);
    struct sclaw_infer s;
    struct sclaw_infer_setup o = {1, 0, 0, SCLAW_PREFILL_CHUNKED};
    assert_int_equal(sclaw_infer_init(&s, &m, &o), SCLAW_OK);
    assert_int_equal(s.Tmax, 16); /* the config's context_length */
    int32_t tok[17];
    for (int i = 0; i < 17; i++)
        tok[i] = i;
    assert_int_equal(sclaw_infer_prefill(&s, tok, 0), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "empty prompt"));
    assert_int_equal(sclaw_infer_prefill(&s, tok, 17), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "context of 17 tokens exceeds the maximum context "
                                           "of 16 tokens"));
    assert_int_equal(s.pos, 0);
    tok[3] = (int32_t)V;
    assert_int_equal(sclaw_infer_prefill(&s, tok, 5), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "position 3 is outside the vocabulary"));
    tok[3] = -1;
    assert_int_equal(sclaw_infer_prefill(&s, tok, 5), SCLAW_E_ARG);
    tok[3] = 3;
    assert_int_equal(s.pos, 0);
    /* fill the cache exactly, then one step too many */
    assert_int_equal(sclaw_infer_prefill(&s, tok, 15), SCLAW_OK);
    assert_int_equal(sclaw_infer_step(&s, tok), SCLAW_OK);
    assert_int_equal(s.pos, 16);
    assert_int_equal(sclaw_infer_step(&s, tok), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "KV cache"));
    assert_int_equal(s.pos, 16);
    sclaw_infer_free(&s);
    struct sclaw_infer_setup bad = {0, 0, 0, SCLAW_PREFILL_CHUNKED};
    assert_int_equal(sclaw_infer_init(&s, &m, &bad), SCLAW_E_ARG);
    sclaw_infer_free(&s); /* safe on the zeroed struct */
    sclaw_model_free(&m);

    /* xLSTM has no context limit unless asked for one */
    tiny_model(&m, "mlstm_v1", V, 16);
    assert_int_equal(sclaw_infer_init(&s, &m, &o), SCLAW_OK);
    assert_int_equal(s.Tmax, 0);
    assert_int_equal(sclaw_infer_prefill(&s, tok, 17), SCLAW_OK);
    sclaw_infer_free(&s);
    sclaw_model_free(&m);
}

/* ---- CLI ------------------------------------------------------------------------------- */

/* A run directory with a trained-format model of the tokenizer's size. */
static void write_run(const char *dir, const char *family, int64_t V, int64_t ctx)
{
    struct sclaw_model m;
    char path[512];
    tiny_model(&m, family, V, ctx);
    snprintf(path, sizeof path, "%s/config.json", dir);
    assert_int_equal(sclaw_config_save(&m.cfg, path), SCLAW_OK);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    assert_int_equal(sclaw_st_save_table(path, &m.tt, m.params, "", NULL), SCLAW_OK);
    sclaw_model_free(&m);
}

/* Copy run directory src's model into dst as a trainer checkpoint with Adam
 * moments (dst/config.json + dst/checkpoint.safetensors). */
static void write_run_ckpt(const char *src, const char *dst)
{
    struct sclaw_model *m;
    struct sclaw_adamw o;
    char path[2200];
    snprintf(path, sizeof path, "mkdir -p '%s'", dst);
    assert_int_equal(system(path), 0);
    assert_int_equal(sclaw_infer_model_open(&m, src), SCLAW_OK);
    assert_int_equal(sclaw_adamw_init(&o, &m->tt, 0.9, 0.95, 1e-8, 0.1), SCLAW_OK);
    snprintf(path, sizeof path, "%s/config.json", dst);
    assert_int_equal(sclaw_config_save(&m->cfg, path), SCLAW_OK);
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dst);
    assert_int_equal(sclaw_ckpt_save(path, m, &o, NULL), SCLAW_OK);
    sclaw_adamw_free(&o);
    sclaw_infer_model_close(m);
}

static void test_cli(void **state)
{
    (void)state;
    const char *d = tu_tmpdir();
    char corpus[512], tok[512], rx[512], rl[512], cmd[2048], csv[512];
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", d);
    tu_write_file(corpus, "in the beginning was the word and the word was with the model.\n"
                          "the model was trained and the model generated words.\n");
    snprintf(tok, sizeof tok, "%s/tok", d);
    char *out = NULL, *err = NULL;
    assert_int_equal(tu_sclaw(NULL, NULL, "tokenizer train --vocab-size 270 '%s' --out '%s'",
                              corpus, tok), 0);
    snprintf(rx, sizeof rx, "%s/runx", d);
    snprintf(rl, sizeof rl, "%s/runl", d);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s'", rx, rl);
    assert_int_equal(system(cmd), 0);
    write_run(rx, "mlstm_v1", 270, 64);
    write_run(rl, "llama", 270, 16);

    /* greedy generation is deterministic; sampling with a seed too */
    char *o1 = NULL, *o2 = NULL;
    assert_int_equal(tu_sclaw(&o1, &err, "generate '%s' --tokenizer '%s' --prompt 'the model' "
                                         "-n 12 --temperature 0",
                              rx, tok), 0);
    assert_non_null(strstr(err, "TTFT"));
    free(err);
    assert_int_equal(tu_sclaw(&o2, NULL, "generate '%s' --tokenizer '%s' --prompt 'the model' "
                                         "-n 12 --temperature 0",
                              rx, tok), 0);
    assert_string_equal(o1, o2);
    free(o1);
    free(o2);
    assert_int_equal(tu_sclaw(&o1, NULL, "--json generate '%s' --tokenizer '%s' --prompt 'the' "
                                         "-n 5 --seed 3 --batch 2",
                              rl, tok), 0);
    assert_non_null(strstr(o1, "\"samples\""));
    assert_int_equal(tu_sclaw(&o2, NULL, "--json generate '%s' --tokenizer '%s' --prompt 'the' "
                                         "-n 5 --seed 3 --batch 2",
                              rl, tok), 0);
    /* identical apart from the timings */
    *strstr(o1, "\"ttft_ms\"") = '\0';
    *strstr(o2, "\"ttft_ms\"") = '\0';
    assert_string_equal(o1, o2);
    free(o1);
    free(o2);
    /* a run directory that names its tokenizer */
    /* a finished run names its data directory, whose meta.json names the
     * tokenizer (sclaw_train.h, sclaw_data.h) */
    char js[700];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/data'", d);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/data/meta.json", d);
    snprintf(js, sizeof js, "{\"tokenizer\": \"%s\"}", tok);
    tu_write_file(cmd, js);
    snprintf(cmd, sizeof cmd, "%s/result.json", rx);
    snprintf(js, sizeof js, "{\"dataset\": \"%s/data\"}", d);
    tu_write_file(cmd, js);
    assert_int_equal(tu_sclaw(&o1, NULL, "generate '%s' --prompt 'the model' -n 12 "
                                         "--temperature 0", rx), 0);
    /* the same weights as a trainer checkpoint (with Adam moments) */
    snprintf(cmd, sizeof cmd, "%s/ckpt", d);
    write_run_ckpt(rx, cmd);
    assert_int_equal(tu_sclaw(&o2, NULL, "generate '%s/checkpoint.safetensors' --tokenizer '%s' "
                                         "--prompt 'the model' -n 12 --temperature 0",
                              cmd, tok), 0);
    assert_string_equal(o1, o2);
    free(o1);
    free(o2);

    /* bad input: clear errors, exit 1 (runtime) or 2 (usage) */
    assert_int_equal(tu_sclaw(NULL, &err, "generate '%s' --tokenizer '%s' --prompt ''", rx, tok),
                     1);
    assert_non_null(strstr(err, "empty prompt"));
    free(err);
    snprintf(cmd, sizeof cmd, "%s/empty.txt", d);
    tu_write_file(cmd, "");
    assert_int_equal(tu_sclaw(NULL, &err, "generate '%s' --tokenizer '%s' --prompt-file '%s'",
                              rx, tok, cmd), 1);
    assert_non_null(strstr(err, "empty.txt"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "generate '%s' --tokenizer '%s' --prompt 'the model "
                                          "was trained and the model generated' -n 8",
                              rl, tok), 1);
    assert_non_null(strstr(err, "exceeds the maximum context of 16 tokens"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "generate '%s' --prompt 'x'", rl), 1);
    assert_non_null(strstr(err, "--tokenizer"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, NULL, "generate '%s' --tokenizer '%s' --prompt x --top-p 2",
                              rx, tok), 2);
    assert_int_equal(tu_sclaw(NULL, NULL, "generate '%s' --tokenizer '%s'", rx, tok), 2);
    assert_int_equal(tu_sclaw(NULL, &err, "generate '%s/nope' --tokenizer '%s' --prompt x", d,
                              tok), 1);
    assert_non_null(strstr(err, "nope"));
    free(err);

    /* bench inference: a config with random weights, the paper's columns */
    snprintf(cmd, sizeof cmd, "%s/config.json", rl);
    snprintf(csv, sizeof csv, "%s/bench.csv", d);
    assert_int_equal(tu_sclaw(&out, NULL, "bench inference '%s' --batch 1,2 --prefill 0,7 "
                                          "--generate 3 --repeat 1 --out '%s'",
                              cmd, csv), 0);
    free(out);
    struct sclaw_csv t;
    assert_int_equal(sclaw_csv_read(&t, csv), SCLAW_OK);
    assert_int_equal(t.nrows, 4);
    const char *need[] = {"model_tag", "batchsize", "prefill", "ttft", "steptime", "throughput",
                          "num_params", "state_bytes", "num_heads", "embedding_dim",
                          "num_blocks", "ffn_dim", "vocab_size"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        assert_true(sclaw_csv_col(&t, need[i]) >= 0);
    double ttft;
    assert_int_equal(sclaw_csv_double(&t, 3, sclaw_csv_col(&t, "ttft"), &ttft), SCLAW_OK);
    assert_true(ttft > 0);
    sclaw_csv_free(&t);
    /* --roofline: the accounting against the measured machine roofs */
    assert_int_equal(tu_sclaw(&out, NULL, "bench inference '%s' --batch 1 --prefill 7 "
                                          "--generate 2 --repeat 1 --roofline --out '%s'",
                              cmd, csv), 0);
    free(out);
    assert_int_equal(sclaw_csv_read(&t, csv), SCLAW_OK);
    assert_int_equal(t.nrows, 1);
    const char *roof[] = {"ttft_flops", "gemm_peak_gflops", "ttft_frac_gemm_peak",
                          "step_bytes_bf16w", "step_bytes_fp32", "bandwidth_gb_per_s",
                          "step_frac_bandwidth_fp32", "ttft_best", "steptime_best",
                          "ttft_best_frac_gemm_peak", "step_best_frac_bandwidth_fp32",
                          "read_bandwidth_gb_per_s", "step_frac_read_bandwidth_fp32",
                          "step_best_frac_read_bandwidth_fp32"};
    for (size_t i = 0; i < sizeof roof / sizeof roof[0]; i++) {
        double x;
        assert_int_equal(sclaw_csv_double(&t, 0, sclaw_csv_col(&t, roof[i]), &x), SCLAW_OK);
        assert_true(x > 0);
    }
    /* fp32 storage moves 2 more bytes per weight read (non-embedding
     * parameters and one embedding row) and per KV-cache element read (K and
     * V of the 7 prompt positions and the new one, every layer) */
    /* the fastest step is no slower than the median run's mean step */
    double sbest, smed;
    sclaw_csv_double(&t, 0, sclaw_csv_col(&t, "steptime_best"), &sbest);
    sclaw_csv_double(&t, 0, sclaw_csv_col(&t, "steptime"), &smed);
    assert_true(sbest <= smed);
    /* each fraction is the row's rate over its roof */
    double gbs, rbw, rfrac;
    sclaw_csv_double(&t, 0, sclaw_csv_col(&t, "step_gb_per_s_fp32"), &gbs);
    sclaw_csv_double(&t, 0, sclaw_csv_col(&t, "read_bandwidth_gb_per_s"), &rbw);
    sclaw_csv_double(&t, 0, sclaw_csv_col(&t, "step_frac_read_bandwidth_fp32"), &rfrac);
    assert_true(fabs(rfrac - gbs / rbw) < 1e-6 * rfrac);
    double b16, b32;
    sclaw_csv_double(&t, 0, sclaw_csv_col(&t, "step_bytes_bf16w"), &b16);
    sclaw_csv_double(&t, 0, sclaw_csv_col(&t, "step_bytes_fp32"), &b32);
    {
        struct sclaw_config c;
        struct sclaw_params np;
        assert_int_equal(sclaw_config_load(&c, cmd), SCLAW_OK);
        sclaw_count_params(&c, &np);
        double kv = (double)(c.num_blocks * 2 * 8 * c.num_kv_heads * c.head_dim_qk);
        assert_true(fabs(b32 - b16 - 2 * (np.noembed + (double)c.embedding_dim + kv)) < 1e-6 * b32);
    }
    sclaw_csv_free(&t);
    /* too long for the cache of a cell is impossible (sized per cell), but a
     * missing --out is a usage error and leaves nothing behind */
    assert_int_equal(tu_sclaw(NULL, NULL, "bench inference '%s' --batch 1", cmd), 2);
    assert_int_equal(tu_sclaw(NULL, NULL, "bench inference '%s' --batch 0 --out x.csv", cmd), 2);
    assert_int_equal(tu_sclaw(NULL, &err, "bench inference '%s/none.json' --out '%s/n.csv'", d,
                              d), 1);
    assert_non_null(strstr(err, "none.json"));
    free(err);
    /* an output directory that does not exist fails before any measuring */
    assert_int_equal(tu_sclaw(NULL, &err, "bench inference '%s' --batch 1 --prefill 7 "
                                          "--roofline --out '%s/missing/b.csv'",
                              cmd, d), 1);
    assert_non_null(strstr(err, "missing/b.csv"));
    assert_null(strstr(err, "measuring"));
    free(err);
    assert_null(tu_read_file(tu_path("x.csv")));
    tu_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlstm_decode_matches_full),
        cmocka_unit_test(test_llama_decode_matches_full),
        cmocka_unit_test(test_mlstm_state_chunkings),
        cmocka_unit_test(test_mlstm_prefill_equals_steps),
        cmocka_unit_test(test_llama_cache_contents),
        cmocka_unit_test(test_greedy_generation),
        cmocka_unit_test(test_sampler),
        cmocka_unit_test(test_matmul_one_row),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
