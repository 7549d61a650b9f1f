/* test_runtime.c - runtime models of inference and their fits (sclaw_runtime.h,
 * accounting-and-fits.md §3.5).
 *
 * References:
 *   - the paper's fitted values (§3.5 table; computed on a bootstrap resample,
 *     so compared with tolerances explained at each test);
 *   - scipy 1.10 least_squares(method="lm", xtol=gtol=ftol=1e-15) run on the
 *     same points (F, M, measured ms exported from this library) with the
 *     paper's residual huber(pred_ms - meas_ms, delta): an independent solver
 *     (MINPACK, finite-difference Jacobian) for the same objective;
 *   - synthetic timings generated from known parameters;
 *   - direct evaluation of the objective around the solution (optimality).
 */
#include "testutil.h"

#include "sclaw_io.h"
#include "sclaw_runtime.h"
#include "sclaw_status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

static const struct sclaw_rt_params NO_INIT = {NAN, NAN, NAN, NAN};

/* Reads a paper table and fits every group; res must hold 6 entries. */
static void fit_all(const char *rel, enum sclaw_rt_target target, double min_batch, int mode,
                    double delta, char tags[][64], struct sclaw_rt_fit *res, int64_t *ngroups)
{
    struct sclaw_rt_data d;
    struct sclaw_rt_read_opts ro = {min_batch, NULL};
    int st = sclaw_rt_read(&d, tu_path(rel), target, &ro);
    if (st)
        fprintf(stderr, "%s\n", sclaw_errmsg());
    assert_int_equal(st, SCLAW_OK);
    assert_int_equal(d.ngroups, 6);
    for (int64_t g = 0; g < d.ngroups; g++) {
        struct sclaw_rt_fit_opts o = {delta, NO_INIT, 0, 0};
        st = sclaw_rt_fit(d.groups[g].pts, d.groups[g].n, &d.groups[g].config, target, mode, &o,
                          &res[g]);
        assert_int_equal(st, SCLAW_OK);
        assert_true(res[g].converged);
        snprintf(tags[g], 64, "%s", d.groups[g].model_tag);
    }
    *ngroups = d.ngroups;
    sclaw_rt_data_free(&d);
}

/* ---- paper data: TTFT (linear_flops, delta 1 ms) ------------------------ */

/* scipy on the plain (un-resampled) data, see the file comment. */
static const struct {
    const char *tag;
    double alpha, eps, paper_alpha;
} TTFT_REF[12] = {
    {"xlstm_160m", 1.6340152665e+14, 1.5762481479e-03, 1.629e14},
    {"xlstm_400m", 2.3884567874e+14, 2.5216097079e-03, 2.370e14},
    {"xlstm_830m", 2.9559136909e+14, 2.3611233392e-03, 2.951e14},
    {"xlstm_1.4b", 3.3516833099e+14, 1.7415425774e-03, 3.348e14},
    {"xlstm_2.7b", 3.6596454542e+14, 2.2426863330e-03, 3.664e14},
    {"xlstm_7b", 4.0484871208e+14, 2.6690697265e-03, 4.053e14},
    {"llama2_160m", 1.9495589293e+14, -3.5568108735e-03, 2.001e14},
    {"llama2_400m", 2.4982221788e+14, 4.1915871837e-03, 2.456e14},
    {"llama2_830m", 2.7530537372e+14, -1.0768484370e-02, 2.719e14},
    {"llama2_1.4b", 3.3295424490e+14, -2.0692631331e-04, 3.345e14},
    {"llama2_2.7b", 3.1354768504e+14, -1.5388896575e-02, 3.154e14},
    {"llama2_7b", 3.6774149768e+14, -1.3159401301e-02, 3.742e14},
};

static void test_ttft_paper(void **state)
{
    (void)state;
    const char *files[2] = {"data/paper/inference_xlstm.csv", "data/paper/inference_llama2.csv"};
    for (int f = 0; f < 2; f++) {
        char tags[6][64];
        struct sclaw_rt_fit res[6];
        int64_t n;
        fit_all(files[f], SCLAW_RT_TTFT, 1, SCLAW_RT_LINEAR_FLOPS, 1.0, tags, res, &n);
        for (int64_t g = 0; g < n; g++) {
            int k = f * 6 + (int)g;
            char what[128];
            assert_string_equal(tags[g], TTFT_REF[k].tag);
            assert_true(isnan(res[g].p.beta) && isnan(res[g].p.eps_bp));
            assert_true(res[g].identifiable);
            /* the same minimum as scipy's MINPACK solver */
            snprintf(what, sizeof what, "%s alpha vs scipy", tags[g]);
            tu_close(res[g].p.alpha, TTFT_REF[k].alpha, 1e-5, 0, what);
            snprintf(what, sizeof what, "%s eps vs scipy", tags[g]);
            tu_close(res[g].p.eps, TTFT_REF[k].eps, 1e-5, 1e-8, what); /* 10 ns */
            /* The paper's alpha_eff came from a bootstrap resample of the same
             * rows (spec §10.9); on these data the resample moves alpha by up
             * to 2.6% (Llama 160M), so 3% is the bound the brief asks for. */
            snprintf(what, sizeof what, "%s alpha vs paper", tags[g]);
            tu_close(res[g].p.alpha, TTFT_REF[k].paper_alpha, 0.03, 0, what);
        }
        if (f == 0) {
            /* the project's reference values for xLSTM 160M (plain data) */
            tu_close(res[0].p.alpha, 1.6340e14, 1e-3, 0, "xlstm_160m alpha");
            tu_close(res[0].p.eps, 1.5762e-3, 1e-3, 0, "xlstm_160m eps");
        }
    }
}

/* ---- paper data: Llama step time (log_linear_memops, delta 100, B >= 8) -- */

static const struct {
    double beta, eps, eps_bp;             /* scipy, plain data */
    double p_beta, p_eps, p_eps_bp;       /* the paper's notebook (bootstrap) */
} STEP_REF[6] = {
    {7.3375478424e+11, 1.1352857168e-03, 5.2366761188e-06, 7.45471e11, 1.05702e-3, 5.26432e-6},
    {8.2662770084e+11, 1.9110147529e-03, 2.1894929822e-05, 8.13261e11, 1.82374e-3, 2.19842e-5},
    {1.1760115843e+12, 2.2504623460e-03, 4.0059098496e-05, 1.16802e12, 2.22222e-3, 4.01815e-5},
    {1.5138014399e+12, 2.4104152031e-03, 5.9961807953e-05, 1.53379e12, 2.45827e-3, 6.07104e-5},
    {9.7844433189e+11, 3.8326204809e-03, 1.3342348763e-04, 9.77657e11, 3.73691e-3, 1.33587e-4},
    {1.5101038606e+12, 5.6352121281e-03, 2.3120335123e-04, 1.52681e12, 5.64261e-3, 2.31856e-4},
};

static void test_steptime_llama_paper(void **state)
{
    (void)state;
    char tags[6][64];
    struct sclaw_rt_fit res[6];
    int64_t n;
    fit_all("data/paper/inference_llama2.csv", SCLAW_RT_STEPTIME, 8,
            SCLAW_RT_LINEAR_MEMOPS | SCLAW_RT_LOG, 100.0, tags, res, &n);
    for (int64_t g = 0; g < n; g++) {
        char what[128];
        assert_true(isnan(res[g].p.alpha));
        assert_true(res[g].identifiable);
        snprintf(what, sizeof what, "%s beta vs scipy", tags[g]);
        tu_close(res[g].p.beta, STEP_REF[g].beta, 1e-5, 0, what);
        snprintf(what, sizeof what, "%s eps vs scipy", tags[g]);
        tu_close(res[g].p.eps, STEP_REF[g].eps, 1e-5, 0, what);
        snprintf(what, sizeof what, "%s eps_bp vs scipy", tags[g]);
        tu_close(res[g].p.eps_bp, STEP_REF[g].eps_bp, 1e-5, 0, what);
        /* Against the paper (a bootstrap resample of the 27-60 rows): beta and
         * eps_bp are set by the whole batch/prefill grid and move by <= 1.7%
         * under the resample; eps is the small intercept of times that reach
         * 10-100 ms and moves by up to 7.4% (160M). Tolerances 5% / 5% / 10%
         * leave room for that spread and still catch a wrong byte count
         * (a missing term moves beta by tens of percent). */
        snprintf(what, sizeof what, "%s beta vs paper", tags[g]);
        tu_close(res[g].p.beta, STEP_REF[g].p_beta, 0.05, 0, what);
        snprintf(what, sizeof what, "%s eps_bp vs paper", tags[g]);
        tu_close(res[g].p.eps_bp, STEP_REF[g].p_eps_bp, 0.05, 0, what);
        snprintf(what, sizeof what, "%s eps vs paper", tags[g]);
        tu_close(res[g].p.eps, STEP_REF[g].p_eps, 0.10, 0, what);
    }
}

/* xLSTM step time is prefill-independent and M is affine in B, so
 * M/beta + eps + B*eps_bp has three parameters for two identifiable
 * combinations (the paper's degenerate 400M fit, §3.5). The fit must say so;
 * the Llama step fits (M depends on the prefill) must not. */
static void test_steptime_identifiability(void **state)
{
    (void)state;
    struct sclaw_rt_data d;
    struct sclaw_rt_read_opts ro = {1, "xlstm_400m"};
    struct sclaw_rt_fit f;
    struct sclaw_rt_fit_opts o = {1.0, NO_INIT, 0, 0};
    assert_int_equal(sclaw_rt_read(&d, tu_path("data/paper/inference_xlstm.csv"), SCLAW_RT_STEPTIME,
                                   &ro), SCLAW_OK);
    assert_int_equal(d.ngroups, 1);
    assert_string_equal(d.groups[0].model_tag, "xlstm_400m");
    assert_int_equal(sclaw_rt_fit(d.groups[0].pts, d.groups[0].n, &d.groups[0].config,
                                  SCLAW_RT_STEPTIME, SCLAW_RT_LINEAR_MEMOPS, &o, &f), SCLAW_OK);
    assert_true(f.converged);
    assert_false(f.identifiable);
    sclaw_rt_data_free(&d);

    ro.model_tag = "llama2_400m";
    assert_int_equal(sclaw_rt_read(&d, tu_path("data/paper/inference_llama2.csv"),
                                   SCLAW_RT_STEPTIME, &ro), SCLAW_OK);
    assert_int_equal(sclaw_rt_fit(d.groups[0].pts, d.groups[0].n, &d.groups[0].config,
                                  SCLAW_RT_STEPTIME, SCLAW_RT_LINEAR_MEMOPS, &o, &f), SCLAW_OK);
    assert_true(f.converged);
    assert_true(f.identifiable);
    sclaw_rt_data_free(&d);
}

/* ---- optimality, checked without the solver ----------------------------- */

static double objective(int mode, const struct sclaw_rt_params *p, const struct sclaw_rt_point *x,
                        int64_t n, double delta)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        double pred = sclaw_rt_predict_ms(mode, p, &x[i]), e;
        e = mode & SCLAW_RT_LOG ? log(pred) - log(x[i].meas_ms) : pred - x[i].meas_ms;
        double h = sclaw_rt_huber(e, delta);
        s += h * h;
    }
    return 0.5 * s;
}

/* The reported objective is 0.5*sum(huber^2) recomputed here from the
 * parameters, and no parameter change of +-1e-3 (relative) lowers it. */
static void test_optimality(void **state)
{
    (void)state;
    static const struct {
        const char *file, *tag;
        enum sclaw_rt_target target;
        int mode;
        double delta, min_batch;
    } cases[] = {
        {"data/paper/inference_xlstm.csv", "xlstm_830m", SCLAW_RT_TTFT, SCLAW_RT_LINEAR_FLOPS, 1, 1},
        {"data/paper/inference_llama2.csv", "llama2_1.4b", SCLAW_RT_TTFT,
         SCLAW_RT_LINEAR_SUM | SCLAW_RT_LOG, 1, 1},
        {"data/paper/inference_llama2.csv", "llama2_2.7b", SCLAW_RT_STEPTIME,
         SCLAW_RT_LINEAR_MEMOPS, 0.5, 8},
        {"data/paper/inference_llama2.csv", "llama2_7b", SCLAW_RT_STEPTIME,
         SCLAW_RT_LINEAR_MEMOPS | SCLAW_RT_LOG, 100, 8},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct sclaw_rt_data d;
        struct sclaw_rt_read_opts ro = {cases[c].min_batch, cases[c].tag};
        struct sclaw_rt_fit f;
        struct sclaw_rt_fit_opts o = {cases[c].delta, NO_INIT, 0, 0};
        assert_int_equal(sclaw_rt_read(&d, tu_path(cases[c].file), cases[c].target, &ro), SCLAW_OK);
        const struct sclaw_rt_group *g = &d.groups[0];
        assert_int_equal(sclaw_rt_fit(g->pts, g->n, &g->config, cases[c].target, cases[c].mode, &o,
                                      &f), SCLAW_OK);
        double f0 = objective(cases[c].mode, &f.p, g->pts, g->n, cases[c].delta);
        tu_close(f.objective, f0, 1e-12, 0, "objective recomputed");
        double *par[4] = {&f.p.alpha, &f.p.beta, &f.p.eps, &f.p.eps_bp};
        for (int k = 0; k < 4; k++) {
            if (isnan(*par[k]))
                continue;
            for (int s = -1; s <= 1; s += 2) {
                struct sclaw_rt_params q = f.p;
                double *qk[4] = {&q.alpha, &q.beta, &q.eps, &q.eps_bp};
                *qk[k] = *par[k] * (1 + s * 1e-3);
                double f1 = objective(cases[c].mode, &q, g->pts, g->n, cases[c].delta);
                if (f1 < f0 * (1 - 1e-12)) {
                    fprintf(stderr, "%s %s: moving parameter %d by %+g lowers the objective"
                            " %.17g -> %.17g\n", cases[c].tag, sclaw_rt_mode_name(cases[c].mode),
                            k, s * 1e-3, f0, f1);
                    fail();
                }
            }
        }
        sclaw_rt_data_free(&d);
    }
}

/* ---- synthetic timings from known parameters ---------------------------- */

/* A grid of (B, T) points with F, M of a plausible model: F = B T (linear +
 * attention-like T term), M = weights + per-sequence state + activations.
 * The per-sequence term (B, not B T) keeps M from being proportional to F,
 * and the weight term from being all constant (which eps would absorb), so
 * every mode's parameters are determined; F/M spans 7..440 FLOP/B, across
 * the roofline ridge alpha/beta = 200 of the roofline cases. */
static int64_t synth_points(struct sclaw_rt_point *pts, int mode, const struct sclaw_rt_params *p,
                            double noise, uint64_t *rng)
{
    static const double Bs[] = {1, 2, 3, 4, 6, 8, 12, 16};
    static const double Ts[] = {128, 192, 256, 384, 512, 768, 1024, 2048};
    int64_t n = 0;
    for (size_t i = 0; i < 8; i++)
        for (size_t j = 0; j < 8; j++) {
            struct sclaw_rt_point *x = &pts[n];
            double B = Bs[i], T = Ts[j];
            x->batch = B;
            x->prefill = T;
            x->flops = B * T * (2.6e8 + 1.0e5 * T);
            x->bytes = 3.2e9 + B * 3.0e8 + B * T * 2.0e5;
            x->line = n + 2;
            double t = sclaw_rt_predict_ms(mode, p, x);
            x->meas_ms = t * exp(noise * tu_rand_normal(rng));
            n++;
        }
    return n;
}

static void test_synthetic_recovery(void **state)
{
    (void)state;
    static const struct {
        int mode;
        struct sclaw_rt_params truth;
        double delta;
    } cases[] = {
        {SCLAW_RT_LINEAR_FLOPS, {2.5e14, NAN, 1.5e-3, NAN}, 1},
        {SCLAW_RT_LINEAR_FLOPS | SCLAW_RT_LOG, {1.2e14, NAN, 4e-3, NAN}, 1},
        {SCLAW_RT_LINEAR_MEMOPS, {NAN, 1.2e12, 2e-3, 3e-5}, 1},
        {SCLAW_RT_LINEAR_MEMOPS | SCLAW_RT_LOG, {NAN, 8e11, 1e-3, 6e-5}, 100},
        {SCLAW_RT_LINEAR_SUM, {3e14, 2e12, 1e-3, NAN}, 1},
        {SCLAW_RT_LINEAR_SUM | SCLAW_RT_LOG, {3e14, 2e12, 1e-3, NAN}, 100},
        {SCLAW_RT_ROOFLINE, {3e14, 1.5e12, 2e-3, NAN}, 1},
        {SCLAW_RT_ROOFLINE | SCLAW_RT_LOG, {3e14, 1.5e12, 2e-3, NAN}, 100},
    };
    struct sclaw_rt_point pts[64];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct sclaw_rt_params *t = &cases[c].truth;
        const char *name = sclaw_rt_mode_name(cases[c].mode);
        /* noise-free: the exact parameters, from the paper's default inits
         * (which are 2-100x off the truth) */
        for (int noisy = 0; noisy <= 1; noisy++) {
            uint64_t rng = 1234 + c;
            int64_t n = synth_points(pts, cases[c].mode, t, noisy ? 0.002 : 0, &rng);
            struct sclaw_rt_fit_opts o = {cases[c].delta, NO_INIT, 0, 0};
            struct sclaw_rt_fit f;
            char what[128];
            /* the roofline has flat directions (an inactive branch has no
             * gradient), so it starts within 2x of the truth */
            if ((cases[c].mode & ~SCLAW_RT_LOG) == SCLAW_RT_ROOFLINE)
                o.init = (struct sclaw_rt_params){t->alpha * 2, t->beta / 2, t->eps * 1.5, NAN};
            assert_int_equal(sclaw_rt_fit(pts, n, NULL, SCLAW_RT_TTFT, cases[c].mode, &o, &f),
                             SCLAW_OK);
            assert_true(f.converged);
            assert_true(f.identifiable);
            /* 0.2% log-normal noise on 64 points of 0.3-50 ms. Over four
             * seeds the errors stayed below 1.3% (rates), 35 us (eps) and
             * 4 us/sequence (eps_bp); the bounds are ~3x that. */
            double rt = noisy ? 0.03 : 1e-7, at_eps = noisy ? 1e-4 : 1e-12;
            if (!isnan(t->alpha)) {
                snprintf(what, sizeof what, "%s alpha (noise %d)", name, noisy);
                tu_close(f.p.alpha, t->alpha, rt, 0, what);
            } else {
                assert_true(isnan(f.p.alpha));
            }
            if (!isnan(t->beta)) {
                snprintf(what, sizeof what, "%s beta (noise %d)", name, noisy);
                tu_close(f.p.beta, t->beta, rt, 0, what);
            } else {
                assert_true(isnan(f.p.beta));
            }
            snprintf(what, sizeof what, "%s eps (noise %d)", name, noisy);
            tu_close(f.p.eps, t->eps, rt, at_eps, what);
            if (!isnan(t->eps_bp)) {
                snprintf(what, sizeof what, "%s eps_bp (noise %d)", name, noisy);
                tu_close(f.p.eps_bp, t->eps_bp, rt, noisy ? 1e-5 : 1e-14, what);
            } else {
                assert_true(isnan(f.p.eps_bp));
            }
            if (!noisy)
                assert_true(f.rms_rel < 1e-8);
        }
    }
}

/* ---- functions ---------------------------------------------------------- */

static void test_modes_and_huber(void **state)
{
    (void)state;
    static const char *names[] = {"linear_flops", "linear_memops", "linear_sum_flops_memops",
                                  "roofline", "log_linear_flops", "log_linear_memops",
                                  "log_linear_sum_flops_memops", "log_roofline"};
    for (size_t i = 0; i < 8; i++) {
        int m = sclaw_rt_mode_parse(names[i]);
        assert_true(m >= 0);
        assert_string_equal(sclaw_rt_mode_name(m), names[i]);
    }
    assert_int_equal(sclaw_rt_mode_parse("attainable_flops_min"), SCLAW_RT_ROOFLINE);
    assert_int_equal(sclaw_rt_mode_parse("log_linear_max_flops_memops"),
                     SCLAW_RT_ROOFLINE | SCLAW_RT_LOG);
    assert_int_equal(sclaw_rt_mode_parse("linear"), -1);
    assert_int_equal(sclaw_rt_mode_parse("log_"), -1);
    assert_int_equal(sclaw_rt_target_parse("steptime"), SCLAW_RT_STEPTIME);
    assert_int_equal(sclaw_rt_target_parse("ttft"), SCLAW_RT_TTFT);
    assert_int_equal(sclaw_rt_target_parse("tpot"), -1);

    /* huber: quadratic inside delta, linear outside, continuous at delta */
    tu_close(sclaw_rt_huber(0.5, 1), 0.125, 1e-15, 0, "huber inside");
    tu_close(sclaw_rt_huber(-3, 1), 2.5, 1e-15, 0, "huber outside");
    tu_close(sclaw_rt_huber(2, 2), 2.0, 1e-15, 0, "huber at delta");
    tu_close(sclaw_rt_huber(-0.7, 0), 0.7, 1e-15, 0, "huber delta 0 = |x|");

    /* roofline = F / min(alpha, beta * F/M) + eps, in ms */
    struct sclaw_rt_params p = {1e14, 1e12, 1e-3, NAN};
    struct sclaw_rt_point x = {4, 1024, 2e12, 1e9, 1, 2};
    double ai = x.flops / x.bytes, att = fmin(p.alpha, p.beta * ai);
    tu_close(sclaw_rt_predict_ms(SCLAW_RT_ROOFLINE, &p, &x), 1e3 * (x.flops / att + p.eps), 1e-14,
             0, "roofline compute-bound");
    x.bytes = 1e11; /* now memory-bound */
    ai = x.flops / x.bytes;
    att = fmin(p.alpha, p.beta * ai);
    tu_close(sclaw_rt_predict_ms(SCLAW_RT_ROOFLINE, &p, &x), 1e3 * (x.flops / att + p.eps), 1e-14,
             0, "roofline memory-bound");
    p.eps_bp = 2e-5;
    tu_close(sclaw_rt_predict_ms(SCLAW_RT_LINEAR_MEMOPS, &p, &x),
             1e3 * (x.bytes / p.beta + p.eps + x.batch * p.eps_bp), 1e-14, 0, "linear_memops");
}

/* ---- bad input ---------------------------------------------------------- */

static int read_expect_error(const char *path, enum sclaw_rt_target target,
                             const struct sclaw_rt_read_opts *ro, const char *needle)
{
    struct sclaw_rt_data d;
    int st = sclaw_rt_read(&d, path, target, ro);
    if (st == SCLAW_OK) {
        sclaw_rt_data_free(&d);
        fprintf(stderr, "expected an error mentioning '%s'\n", needle);
        fail();
    }
    if (!strstr(sclaw_errmsg(), needle)) {
        fprintf(stderr, "message '%s' lacks '%s'\n", sclaw_errmsg(), needle);
        fail();
    }
    assert_null(d.groups);
    return st;
}

static void test_bad_input(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir();
    char path[512], head[] = "model_tag,model_type,batchsize,prefill,ttft,steptime,num_heads,"
                             "embedding_dim,num_blocks,qk_dim_factor,vocab_size,chunk_size,ffn_dim\n";
    char text[2048];

    /* a missing column: the message names the file and the column */
    snprintf(path, sizeof path, "%s/nottft.csv", dir);
    tu_write_file(path, "model_tag,model_type,batchsize,prefill,steptime,num_heads,embedding_dim,"
                        "num_blocks,vocab_size,ffn_dim\nm,llama2,1,128,1.0,12,768,12,50304,2048\n");
    read_expect_error(path, SCLAW_RT_TTFT, NULL, "missing column 'ttft'");
    read_expect_error(path, SCLAW_RT_TTFT, NULL, "nottft.csv");

    /* no usable rows: prefill 0 and missing (-1) times only */
    snprintf(path, sizeof path, "%s/empty.csv", dir);
    snprintf(text, sizeof text, "%sm,xlstm,1,0,0.8,0.7,6,768,12,0.5,50304,128,2112\n"
                                "m,xlstm,1,128,-1,0.7,6,768,12,0.5,50304,128,2112\n", head);
    tu_write_file(path, text);
    assert_int_equal(read_expect_error(path, SCLAW_RT_TTFT, NULL, "no usable rows"), SCLAW_E_FORMAT);
    read_expect_error(path, SCLAW_RT_TTFT, NULL, "empty.csv");
    /* the same file has a step time on line 3 */
    struct sclaw_rt_data d;
    assert_int_equal(sclaw_rt_read(&d, path, SCLAW_RT_STEPTIME, NULL), SCLAW_OK);
    assert_int_equal(d.ngroups, 1);
    assert_int_equal(d.groups[0].n, 1);
    assert_int_equal(d.groups[0].pts[0].line, 3);
    /* xLSTM d_qk = int(0.5 * 768/6) = 64, chunk 128, ffn as listed */
    assert_int_equal(d.groups[0].config.head_dim_qk, 64);
    assert_int_equal(d.groups[0].config.chunk_size, 128);
    assert_int_equal(d.groups[0].config.ffn_dim, 2112);
    sclaw_rt_data_free(&d);
    /* a batch filter that leaves nothing */
    struct sclaw_rt_read_opts ro = {8, NULL};
    read_expect_error(path, SCLAW_RT_STEPTIME, &ro, "batchsize >= 8");
    /* a model_tag that is not there */
    ro = (struct sclaw_rt_read_opts){1, "xlstm_9b"};
    assert_int_equal(read_expect_error(path, SCLAW_RT_STEPTIME, &ro, "no row has model_tag 'xlstm_9b'"),
                     SCLAW_E_ARG);

    /* unknown model_type and a non-numeric cell name the line */
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    snprintf(text, sizeof text, "%sm,xlstm,1,128,1.4,0.7,6,768,12,0.5,50304,128,2112\n"
                                "m,gpt,1,256,1.5,0.7,6,768,12,0.5,50304,128,2112\n", head);
    tu_write_file(path, text);
    read_expect_error(path, SCLAW_RT_TTFT, NULL, "bad.csv:3: unknown model_type 'gpt'");
    snprintf(text, sizeof text, "%sm,xlstm,1,128,fast,0.7,6,768,12,0.5,50304,128,2112\n", head);
    tu_write_file(path, text);
    read_expect_error(path, SCLAW_RT_TTFT, NULL, "bad.csv:2");
    /* one tag with two different models */
    snprintf(text, sizeof text, "%sm,xlstm,1,128,1.4,0.7,6,768,12,0.5,50304,128,2112\n"
                                "m,xlstm,1,256,1.5,0.7,6,768,24,0.5,50304,128,2112\n", head);
    tu_write_file(path, text);
    read_expect_error(path, SCLAW_RT_TTFT, NULL, "different model than on line 2");
    /* a file that does not exist */
    snprintf(path, sizeof path, "%s/none.csv", dir);
    read_expect_error(path, SCLAW_RT_TTFT, NULL, "none.csv");

    /* fit arguments */
    struct sclaw_rt_point x = {1, 128, 1e12, 1e9, 5.0, 2};
    struct sclaw_rt_fit f;
    struct sclaw_rt_fit_opts o = {-1, NO_INIT, 0, 0};
    assert_int_equal(sclaw_rt_fit(&x, 1, NULL, SCLAW_RT_TTFT, SCLAW_RT_LINEAR_FLOPS, &o, &f),
                     SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "delta"));
    o.delta = 1;
    assert_int_equal(sclaw_rt_fit(&x, 0, NULL, SCLAW_RT_TTFT, SCLAW_RT_LINEAR_FLOPS, &o, &f),
                     SCLAW_E_ARG);
    /* a log mode whose start gives a negative time */
    o.init = (struct sclaw_rt_params){1e14, NAN, -1.0, NAN};
    assert_int_equal(sclaw_rt_fit(&x, 1, NULL, SCLAW_RT_TTFT, SCLAW_RT_LINEAR_FLOPS | SCLAW_RT_LOG,
                                  &o, &f), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "non-positive"));
    o.init = (struct sclaw_rt_params){0, NAN, NAN, NAN};
    assert_int_equal(sclaw_rt_fit(&x, 1, NULL, SCLAW_RT_TTFT, SCLAW_RT_LINEAR_FLOPS, &o, &f),
                     SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "initial alpha"));
    tu_cleanup();
}

/* ---- the paper's bootstrap resample ------------------------------------- */

/* Indices drawn by numpy 1.24: np.random.default_rng(seed).choice(n, n,
 * replace=True), which pandas' df.sample(n, replace=True, random_state=rng)
 * calls. */
static void test_bootstrap_indices(void **state)
{
    (void)state;
    static const int64_t want57[57] = {
        48, 36, 29, 15, 17, 2,  4,  0,  9,  46, 37, 52, 28, 34, 55, 41, 36, 30, 31,
        53, 15, 46, 38, 0,  22, 48, 31, 1,  43, 41, 48, 10, 5,  49, 1,  30, 4,  17,
        27, 24, 22, 1,  0,  7,  0,  38, 29, 36, 14, 35, 43, 21, 26, 56, 45, 55, 21};
    static const int64_t want7[7] = {4, 1, 5, 2, 1, 5, 4};
    static const int64_t want3[3] = {1, 2, 2};
    int64_t got[1000];
    double g[1000], w[1000];

    assert_int_equal(sclaw_rt_bootstrap_indices(57, 0, got), SCLAW_OK);
    for (int i = 0; i < 57; i++) {
        g[i] = (double)got[i];
        w[i] = (double)want57[i];
    }
    tu_allclose_d(g, w, 57, 0, 0, "choice(57) seed 0");
    assert_int_equal(sclaw_rt_bootstrap_indices(7, 12345, got), SCLAW_OK);
    for (int i = 0; i < 7; i++)
        assert_int_equal(got[i], want7[i]);
    /* a seed of two 32-bit words, and the largest seed */
    assert_int_equal(sclaw_rt_bootstrap_indices(1000, 4294967297ull, got), SCLAW_OK);
    assert_int_equal(got[0], 518);
    assert_int_equal(got[5], 507);
    assert_int_equal(got[999], 691);
    assert_int_equal(sclaw_rt_bootstrap_indices(3, UINT64_MAX, got), SCLAW_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(got[i], want3[i]);
    assert_int_equal(sclaw_rt_bootstrap_indices(0, 0, got), SCLAW_E_ARG);
}

/* Fits of a group's seed-0 resample. */
static void fit_boot(const char *rel, const char *tag, enum sclaw_rt_target target, double min_batch,
                     int mode, double delta, struct sclaw_rt_fit *f, struct sclaw_rt_point **bp,
                     int64_t *n)
{
    struct sclaw_rt_data d;
    struct sclaw_rt_read_opts ro = {min_batch, tag};
    struct sclaw_rt_fit_opts o = {delta, NO_INIT, 0, 0};
    assert_int_equal(sclaw_rt_read(&d, tu_path(rel), target, &ro), SCLAW_OK);
    assert_int_equal(sclaw_rt_bootstrap(d.groups[0].pts, d.groups[0].n, 0, bp), SCLAW_OK);
    *n = d.groups[0].n;
    assert_int_equal(sclaw_rt_fit(*bp, *n, &d.groups[0].config, target, mode, &o, f), SCLAW_OK);
    assert_true(f->converged);
    sclaw_rt_data_free(&d);
}

/* With the resample the paper's TTFT table (§3.5) comes out to every printed
 * digit: alpha_eff to 4 significant digits (+-0.5e11), eps to +-0.5e-6 s. */
static void test_bootstrap_paper_ttft(void **state)
{
    (void)state;
    static const double paper_eps[12] = {1.249e-3, 1.910e-3, 1.850e-3, 1.532e-3, 2.248e-3,
                                         3.134e-3, -6.96e-4, 6.40e-3,  -8.28e-3, -3.80e-3,
                                         -1.45e-2, -6.59e-3};
    /* the printed digits of each eps (units of its last digit) */
    static const double eps_unit[12] = {1e-6, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6,
                                        1e-6, 1e-5, 1e-5, 1e-5, 1e-4, 1e-5};
    for (int k = 0; k < 12; k++) {
        struct sclaw_rt_fit f;
        struct sclaw_rt_point *bp;
        int64_t n;
        char what[128];
        fit_boot(k < 6 ? "data/paper/inference_xlstm.csv" : "data/paper/inference_llama2.csv",
                 TTFT_REF[k].tag, SCLAW_RT_TTFT, 1, SCLAW_RT_LINEAR_FLOPS, 1.0, &f, &bp, &n);
        snprintf(what, sizeof what, "%s bootstrap alpha vs paper", TTFT_REF[k].tag);
        tu_close(f.p.alpha, TTFT_REF[k].paper_alpha, 0, 0.5e11, what);
        snprintf(what, sizeof what, "%s bootstrap eps vs paper", TTFT_REF[k].tag);
        tu_close(f.p.eps, paper_eps[k], 0, 0.5 * eps_unit[k], what);
        free(bp);
    }
}

/* Llama step times on the resample. The notebook printed full precision:
 * 830M, 1.4B and 7B agree to 1e-5. For 160M, 400M and 2.7B scipy stopped
 * early (its xtol test on a flat, quartic objective): our minimum has a lower
 * objective than the paper's parameters on the same points. */
static void test_bootstrap_paper_steptime(void **state)
{
    (void)state;
    static const struct {
        const char *tag;
        double beta, eps, eps_bp;
        int exact;
    } nb[6] = {
        {"llama2_160m", 745471076416.3884, 0.00105702011605575, 5.264322670447807e-06, 0},
        {"llama2_400m", 813261349501.2731, 0.0018237432735582777, 2.1984242754463366e-05, 0},
        {"llama2_830m", 1168020348032.4873, 0.0022222192553916042, 4.018147781140089e-05, 1},
        {"llama2_1.4b", 1533785870725.3606, 0.0024582685062382596, 6.0710367252327975e-05, 1},
        {"llama2_2.7b", 977657235528.7977, 0.0037369092478460554, 0.00013358676253131903, 0},
        {"llama2_7b", 1526813603139.8293, 0.005642607712560831, 0.00023185628350415232, 1},
    };
    const int mode = SCLAW_RT_LINEAR_MEMOPS | SCLAW_RT_LOG;
    for (int k = 0; k < 6; k++) {
        struct sclaw_rt_fit f;
        struct sclaw_rt_point *bp;
        int64_t n;
        char what[128];
        fit_boot("data/paper/inference_llama2.csv", nb[k].tag, SCLAW_RT_STEPTIME, 8, mode, 100.0,
                 &f, &bp, &n);
        struct sclaw_rt_params paper = {NAN, nb[k].beta, nb[k].eps, nb[k].eps_bp};
        double f_paper = objective(mode, &paper, bp, n, 100.0);
        double f_ours = objective(mode, &f.p, bp, n, 100.0);
        if (nb[k].exact) {
            snprintf(what, sizeof what, "%s bootstrap beta vs notebook", nb[k].tag);
            tu_close(f.p.beta, nb[k].beta, 1e-5, 0, what);
            snprintf(what, sizeof what, "%s bootstrap eps vs notebook", nb[k].tag);
            tu_close(f.p.eps, nb[k].eps, 1e-5, 0, what);
            snprintf(what, sizeof what, "%s bootstrap eps_bp vs notebook", nb[k].tag);
            tu_close(f.p.eps_bp, nb[k].eps_bp, 1e-5, 0, what);
            tu_close(f_ours, f_paper, 1e-6, 0, "same minimum");
        } else if (!(f_ours < f_paper * (1 - 1e-3))) {
            fprintf(stderr, "%s: objective %.10g at our fit, %.10g at the paper's\n", nb[k].tag,
                    f_ours, f_paper);
            fail();
        }
        free(bp);
    }
}

/* ---- the CLI: sclaw fit runtime ------------------------------------------ */

static int has(const char *s, const char *needle)
{
    if (s && strstr(s, needle))
        return 1;
    fprintf(stderr, "output lacks '%s':\n%s\n", needle, s ? s : "(null)");
    return 0;
}

static void test_cli(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    json_error_t je;

    /* default: TTFT linear_flops, delta 1, every model of the file */
    int rc = tu_sclaw(&out, &err, "fit runtime data/paper/inference_xlstm.csv --json");
    assert_int_equal(rc, 0);
    json_t *list = json_loads(out, 0, &je);
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 6);
    json_t *o = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(o, "model_tag")), "xlstm_160m");
    assert_string_equal(json_string_value(json_object_get(o, "target")), "ttft");
    assert_string_equal(json_string_value(json_object_get(o, "mode")), "linear_flops");
    assert_int_equal(json_integer_value(json_object_get(o, "n_points")), 60);
    tu_close(json_number_value(json_object_get(o, "alpha_eff")), TTFT_REF[0].alpha, 1e-5, 0,
             "cli alpha_eff");
    tu_close(json_number_value(json_object_get(o, "eps")), TTFT_REF[0].eps, 1e-5, 0, "cli eps");
    assert_true(json_is_null(json_object_get(o, "beta")));
    assert_true(json_is_null(json_object_get(o, "eps_bp")));
    json_decref(list);
    free(out);
    free(err);

    /* the paper's Llama step-time fit of one model, human table */
    rc = tu_sclaw(&out, &err, "fit runtime data/paper/inference_llama2.csv --target steptime "
                              "--min-batch 8 --model-tag llama2_7b");
    assert_int_equal(rc, 0);
    assert_true(has(out, "log_linear_memops"));
    assert_true(has(out, "1.5101e+12"));
    assert_true(has(out, "llama2_7b"));
    free(out);
    free(err);

    /* --out and --predictions: one prediction row per point and mode */
    const char *dir = tu_tmpdir();
    rc = tu_sclaw(&out, &err, "fit runtime data/paper/inference_xlstm.csv --model-tag xlstm_7b "
                              "--mode linear_flops,roofline --out %s/fit.json --predictions %s/pred.csv",
                  dir, dir);
    assert_int_equal(rc, 0);
    char path[512];
    snprintf(path, sizeof path, "%s/fit.json", dir);
    list = json_load_file(path, 0, &je);
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "mode")),
                        "roofline");
    json_decref(list);
    struct sclaw_csv t;
    snprintf(path, sizeof path, "%s/pred.csv", dir);
    assert_int_equal(sclaw_csv_read(&t, path), SCLAW_OK);
    assert_int_equal(t.nrows, 2 * 38);
    assert_true(sclaw_csv_col(&t, "predicted_ms") >= 0);
    sclaw_csv_free(&t);
    free(out);
    free(err);

    /* the paper's resample */
    rc = tu_sclaw(&out, &err, "fit runtime data/paper/inference_xlstm.csv --model-tag xlstm_160m "
                              "--bootstrap-seed 0 --json");
    assert_int_equal(rc, 0);
    list = json_loads(out, 0, &je);
    assert_non_null(list);
    o = json_array_get(list, 0);
    tu_close(json_number_value(json_object_get(o, "alpha_eff")), 1.629e14, 0, 0.5e11,
             "cli bootstrap alpha_eff");
    assert_int_equal(json_integer_value(json_object_get(o, "bootstrap_seed")), 0);
    json_decref(list);
    free(out);
    free(err);

    /* TTFT F and M are nearly proportional: the sum form goes negative */
    rc = tu_sclaw(&out, &err, "fit runtime data/paper/inference_xlstm.csv --model-tag xlstm_160m "
                              "--mode linear_sum_flops_memops");
    assert_int_equal(rc, 0);
    assert_true(has(out, "negative rate"));
    free(out);
    free(err);

    /* a degenerate fit is reported, not hidden */
    rc = tu_sclaw(&out, &err, "fit runtime data/paper/inference_xlstm.csv --target steptime "
                              "--model-tag xlstm_400m --mode linear_memops");
    assert_int_equal(rc, 0);
    assert_true(has(err, "do not determine every parameter"));
    assert_true(has(out, "not identifiable"));
    free(out);
    free(err);
    tu_cleanup();
}

static void test_cli_errors(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    const char *dir = tu_tmpdir();
    char path[512], keep[512];

    /* usage errors: exit 2 naming the flag */
    assert_int_equal(tu_sclaw(NULL, &err, "fit runtime data/paper/inference_xlstm.csv --mode fast"), 2);
    assert_true(has(err, "--mode"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "fit runtime data/paper/inference_xlstm.csv --delta -1"), 2);
    assert_true(has(err, "--delta"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "fit runtime data/paper/inference_xlstm.csv --init gamma=1"), 2);
    assert_true(has(err, "--init"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "fit runtime data/paper/inference_xlstm.csv --target tpot"), 2);
    assert_true(has(err, "--target"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "fit runtime data/paper/inference_xlstm.csv "
                                          "--bootstrap-seed -1"), 2);
    assert_true(has(err, "--bootstrap-seed"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "fit runtime"), 2);
    free(err);

    /* runtime errors: exit 1 naming the file; --out keeps its old contents */
    snprintf(keep, sizeof keep, "%s/keep.json", dir);
    tu_write_file(keep, "[]\n");
    snprintf(path, sizeof path, "%s/cols.csv", dir);
    tu_write_file(path, "model_tag,model_type,batchsize,prefill,steptime\nm,xlstm,1,128,0.7\n");
    assert_int_equal(tu_sclaw(&out, &err, "fit runtime %s --out %s", path, keep), 1);
    assert_true(has(err, "cols.csv: missing column 'ttft'"));
    char *kept = tu_read_file(keep);
    assert_string_equal(kept, "[]\n");
    free(kept);
    free(out);
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "fit runtime %s/missing.csv", dir), 1);
    assert_true(has(err, "missing.csv"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "fit runtime data/paper/inference_xlstm.csv --model-tag xlstm_9b"), 1);
    assert_true(has(err, "xlstm_9b"));
    free(err);
    tu_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ttft_paper),
        cmocka_unit_test(test_steptime_llama_paper),
        cmocka_unit_test(test_steptime_identifiability),
        cmocka_unit_test(test_optimality),
        cmocka_unit_test(test_synthetic_recovery),
        cmocka_unit_test(test_modes_and_huber),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_bootstrap_indices),
        cmocka_unit_test(test_bootstrap_paper_ttft),
        cmocka_unit_test(test_bootstrap_paper_steptime),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_cli_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
