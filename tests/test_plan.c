/* test_plan.c - study plans: the shape family of models.md §5.3, budgets hit
 * with exact FLOPs, token/param lengths, plan files and their errors. */
#include "sclaw.h"
#include "sclaw_study.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void test_shape_family_matches_spec(void **state)
{
    (void)state;
    /* models.md §5.3: d, nb, xLSTM NH/d_ff/non-emb, Llama NH/d_ff/non-emb, xLSTM total @V=256, @V=8192 */
    static const double rows[][10] = {
        {128, 4, 1, 384, 0.86e6, 2, 384, 0.85e6, 0.92e6, 2.95e6},
        {256, 6, 2, 704, 4.83e6, 4, 704, 4.82e6, 4.96e6, 9.02e6},
        {384, 8, 3, 1088, 14.8e6, 6, 1024, 14.2e6, 15.0e6, 21.1e6},
        {512, 10, 4, 1408, 32.2e6, 8, 1408, 32.1e6, 32.4e6, 40.6e6},
        {640, 12, 5, 1728, 59.6e6, 10, 1728, 59.5e6, 59.9e6, 70.1e6},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct sclaw_config x, l, x8;
        struct sclaw_params px, pl, px8;
        int64_t d = (int64_t)rows[i][0];
        assert_int_equal(sclaw_study_shape(&x, &sclaw_arch_mlstm, d, 256, 512), SCLAW_OK);
        assert_int_equal(sclaw_study_shape(&x8, &sclaw_arch_mlstm, d, 8192, 512), SCLAW_OK);
        assert_int_equal(sclaw_study_shape(&l, &sclaw_arch_llama, d, 256, 512), SCLAW_OK);
        assert_int_equal(x.num_blocks, (int64_t)rows[i][1]);
        assert_int_equal(x.num_heads, (int64_t)rows[i][2]);
        assert_int_equal(x.head_dim_v, 128);
        assert_int_equal(x.head_dim_qk, 64);
        assert_int_equal(x.ffn_dim, (int64_t)rows[i][3]);
        assert_int_equal(l.num_heads, (int64_t)rows[i][5]);
        assert_int_equal(l.head_dim_qk, 64);
        assert_int_equal(l.ffn_dim, (int64_t)rows[i][6]);
        sclaw_count_params(&x, &px);
        sclaw_count_params(&l, &pl);
        sclaw_count_params(&x8, &px8);
        /* the table prints 3 significant digits (its xLSTM d128 entry, 0.86M, is
         * 854,664 rounded up; 0.7% covers it) */
        tu_close(px.noembed_nohead, rows[i][4], 0.007, 0, "xlstm non-embedding");
        tu_close(pl.noembed_nohead, rows[i][7], 0.006, 0, "llama non-embedding");
        tu_close(px.total, rows[i][8], 0.006, 0, "xlstm total V=256");
        tu_close(px8.total, rows[i][9], 0.006, 0, "xlstm total V=8192");
    }
    struct sclaw_config c;
    assert_int_equal(sclaw_study_shape(&c, &sclaw_arch_llama, 100, 256, 512), SCLAW_E_ARG);
    assert_int_equal(sclaw_study_shape(&c, &sclaw_arch_llama, 16, 256, 512), SCLAW_E_ARG);
    /* below 64: two blocks, one head */
    assert_int_equal(sclaw_study_shape(&c, &sclaw_arch_mlstm, 48, 256, 512), SCLAW_OK);
    assert_int_equal(c.num_blocks, 2);
    assert_int_equal(c.num_heads, 1);
    assert_int_equal(c.head_dim_v, 48);
    assert_int_equal(c.head_dim_qk, 24);
}

static void test_isoflop_hits_budgets(void **state)
{
    (void)state;
    const double budgets[] = {1e14, 3e14, 1e15, 5e15};
    const struct sclaw_arch *archs[] = {&sclaw_arch_mlstm, &sclaw_arch_llama};
    struct sclaw_plan_opts o = {0};
    struct sclaw_plan p;
    o.budgets = budgets;
    o.nbudgets = 4;
    o.archs = archs;
    o.narchs = 2;
    o.ctx = 256;
    o.vocab = 2048;
    o.points = 4;
    o.warmup = -1;
    assert_int_equal(sclaw_plan_isoflop(&p, &o), SCLAW_OK);
    assert_int_equal(p.nruns, 4 * 2 * 4);
    for (int64_t i = 0; i < p.nruns; i++) {
        const struct sclaw_plan_run *r = &p.runs[i];
        /* independent recount of the planned compute */
        struct sclaw_flops f;
        sclaw_count_flops(&r->config, 0, NULL, &f);
        double C = f.fwbw * (double)r->batch * (double)r->steps;
        tu_close(C, r->num_flops_training, 1e-15, 0, "planned C");
        tu_close(C, r->budget, 0.01, 0, r->name);
        assert_true(r->steps >= 20);
        assert_true(r->warmup >= 1 && r->warmup <= r->steps);
        tu_close(r->num_tokens_training, (double)(r->batch * r->steps * 256), 0, 0, "D");
    }
    /* within one budget and family the shapes grow and the steps shrink */
    assert_true(p.runs[1].num_params > p.runs[0].num_params);
    assert_true(p.runs[1].steps < p.runs[0].steps);
    sclaw_plan_free(&p);

    /* a budget too small for any shape is skipped; all too small is an error */
    const double tiny[] = {1e9};
    o.budgets = tiny;
    o.nbudgets = 1;
    assert_int_equal(sclaw_plan_isoflop(&p, &o), SCLAW_E_ARG);
    sclaw_plan_free(&p);
}

static void test_tokenparam_lengths(void **state)
{
    (void)state;
    const double ratios[] = {22, 110};
    const int64_t widths[] = {128, 256};
    const struct sclaw_arch *archs[] = {&sclaw_arch_llama};
    struct sclaw_plan_opts o = {0};
    struct sclaw_plan p;
    o.ratios = ratios;
    o.nratios = 2;
    o.widths = widths;
    o.nwidths = 2;
    o.archs = archs;
    o.narchs = 1;
    o.ctx = 128;
    o.vocab = 512;
    o.batch = 8;
    o.warmup = -1;
    assert_int_equal(sclaw_plan_tokenparam(&p, &o), SCLAW_OK);
    assert_int_equal(p.nruns, 4);
    for (int64_t i = 0; i < p.nruns; i++) {
        const struct sclaw_plan_run *r = &p.runs[i];
        /* D/N within half a step of the target */
        double half_step = 0.5 * 8 * 128 / r->num_params;
        tu_close(r->num_tokens_training / r->num_params, r->ratio, 0, half_step, r->name);
    }
    sclaw_plan_free(&p);
}

static void test_plan_file_round_trip_and_errors(void **state)
{
    (void)state;
    const double budgets[] = {3e14};
    const struct sclaw_arch *archs[] = {&sclaw_arch_mlstm};
    struct sclaw_plan_opts o = {0};
    struct sclaw_plan p, q;
    char path[4200];
    o.budgets = budgets;
    o.nbudgets = 1;
    o.archs = archs;
    o.narchs = 1;
    o.ctx = 256;
    o.vocab = 1024;
    o.warmup = -1;
    o.data = "out/data";
    assert_int_equal(sclaw_plan_isoflop(&p, &o), SCLAW_OK);
    snprintf(path, sizeof path, "%s/plan.json", tu_tmpdir());
    assert_int_equal(sclaw_plan_save(&p, path), SCLAW_OK);
    assert_int_equal(sclaw_plan_load(&q, path), SCLAW_OK);
    assert_int_equal(q.nruns, p.nruns);
    assert_string_equal(q.data, "out/data");
    for (int64_t i = 0; i < p.nruns; i++) {
        assert_string_equal(q.runs[i].name, p.runs[i].name);
        assert_int_equal(q.runs[i].steps, p.runs[i].steps);
        assert_true(q.runs[i].num_flops_training == p.runs[i].num_flops_training);
        assert_true(q.runs[i].lr == p.runs[i].lr);
    }
    sclaw_plan_free(&q);
    sclaw_plan_free(&p);

    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"{\"runs\": []}", "non-empty array 'runs'"},
        {"{\"runs\": [{\"name\": \"a/b\"}]}", "run 1: key 'name'"},
        {"{\"runs\": [{\"name\": \"a\", \"steps\": 3}]}", "run 'a': missing key 'config'"},
        {"{\"runs\": [{\"name\": \"a\", \"config\": {\"model_type\": \"llama\", \"embedding_dim\": 64,"
         " \"num_blocks\": 1, \"num_heads\": 1, \"vocab_size\": 10, \"context_length\": 8},"
         " \"steps\": 0, \"batch\": 1, \"warmup\": 0, \"seed\": 0, \"lr\": 1e-3}]}",
         "run 'a': key 'steps' must be an integer >= 1"},
        {"{\"runs\": [{\"name\": \"a\", \"config\": {\"model_type\": \"llama\"}}]}",
         "run 'a': missing key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_write_file(path, bad[i].json);
        int st = sclaw_plan_load(&q, path);
        if (st == SCLAW_OK || !strstr(sclaw_errmsg(), path) || !strstr(sclaw_errmsg(), bad[i].needle)) {
            fprintf(stderr, "plan %s: status %d, message '%s', want '%s'\n", bad[i].json, st,
                    sclaw_errmsg(), bad[i].needle);
            fail();
        }
    }
}

static void test_plan_cli(void **state)
{
    (void)state;
    char out[4200], *o, *e;
    snprintf(out, sizeof out, "%s/cli-plan.json", tu_tmpdir());
    assert_int_equal(tu_sclaw(&o, NULL, "plan isoflop --budgets 1e14,3e14 --model-type xlstm,llama"
                                        " --ctx 256 --points 3 --out '%s'", out),
                     0);
    assert_non_null(strstr(o, "12 runs written"));
    free(o);
    struct sclaw_plan p;
    assert_int_equal(sclaw_plan_load(&p, out), SCLAW_OK);
    assert_int_equal(p.nruns, 12);
    sclaw_plan_free(&p);
    assert_int_equal(tu_sclaw(NULL, &e, "plan isoflop --budgets 1e14 --out '%s' --model-type gpt", out), 2);
    assert_non_null(strstr(e, "unknown model type 'gpt'"));
    free(e);
    assert_int_equal(tu_sclaw(NULL, &e, "plan isoflop --budgets 1e14"), 2);
    assert_non_null(strstr(e, "--out PLAN.json is required"));
    free(e);
    assert_int_equal(tu_sclaw(&o, NULL, "--json plan tokenparam --ratios 22 --sizes d128 --out '%s'", out), 0);
    assert_non_null(strstr(o, "\"ratio\""));
    free(o);
    assert_int_equal(tu_sclaw(NULL, &e, "plan tokenparam --ratios 22 --sizes 100 --out '%s'", out), 2);
    assert_non_null(strstr(e, "not a multiple of 16 of at least 32"));
    free(e);
    assert_int_equal(tu_sclaw(NULL, &e, "plan sweep"), 2);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_family_matches_spec),
        cmocka_unit_test(test_isoflop_hits_budgets),
        cmocka_unit_test(test_tokenparam_lengths),
        cmocka_unit_test(test_plan_file_round_trip_and_errors),
        cmocka_unit_test(test_plan_cli),
    };
    return cmocka_run_group_tests(tests, NULL, tu_teardown);
}
