/* test_report_study.c - `sclaw report study` on a tiny real study: a corpus
 * file, a 300-token BPE vocabulary, a hand-written IsoFLOP plan of small
 * xLSTM and Llama models (context 64, batch 4, a few dozen steps at most)
 * trained by `sclaw study run`, then the report: report.md, the figures,
 * summary.json (keys, finite exponents, intervals around the estimates, the
 * lower family per budget, the numbers recomputed from runs.csv), a
 * deterministic bootstrap, and bad input. */
#include "sclaw.h"
#include "sclaw_account.h"
#include "sclaw_fit.h"
#include "sclaw_report.h"
#include "sclaw_study.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[4200], study[4300];

/* Model shapes (width, blocks) of the study: N from ~30K to ~190K. */
static const int64_t SHAPE[][2] = {{8, 1}, {12, 1}, {16, 1}, {32, 1}};
#define NSHAPE 4
static const double BUDGET[] = {1e9, 2e9, 4e9};
#define NBUD 3

static void add_run(json_t *runs, const char *fam, int64_t d, int64_t nb, double budget)
{
    char cfg[512], name[128];
    snprintf(cfg, sizeof cfg,
             "{\"model_type\": \"%s\", \"embedding_dim\": %lld, \"num_blocks\": %lld,"
             " \"num_heads\": %d, \"vocab_size\": 300, \"context_length\": 64%s}",
             fam, (long long)d, (long long)nb, 1,
             !strcmp(fam, "llama") ? "" : ", \"chunk_size\": 16");
    json_error_t e;
    json_t *c = json_loads(cfg, 0, &e);
    assert_non_null(c);
    struct sclaw_config conf;
    assert_int_equal(sclaw_config_from_json(&conf, c, "test"), SCLAW_OK);
    /* steps that spend the budget: C = fwbw per sequence * batch * steps */
    double per_step = sclaw_count_training_flops(&conf, NULL, 4, 1);
    int64_t steps = (int64_t)llround(budget / per_step);
    if (steps < 4)
        steps = 4;
    snprintf(name, sizeof name, "%s-%.0fG-d%lld-nb%lld", !strcmp(fam, "llama") ? "llama" : "xlstm",
             budget / 1e9, (long long)d, (long long)nb);
    json_t *r = json_object();
    json_object_set_new(r, "name", json_string(name));
    json_object_set_new(r, "budget", json_real(budget));
    json_object_set_new(r, "config", c);
    json_object_set_new(r, "steps", json_integer(steps));
    json_object_set_new(r, "batch", json_integer(4));
    json_object_set_new(r, "lr", json_real(1e-2));
    json_object_set_new(r, "warmup", json_integer(steps >= 20 ? steps / 10 : 1));
    json_object_set_new(r, "seed", json_integer(0));
    json_array_append_new(runs, r);
}

/* Build, train and keep the study under root (once per process). */
static int group_setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "%s", tu_tmpdir());
    char text[4400], plan[4400];
    snprintf(text, sizeof text, "%s/text.txt", root);
    FILE *fp = fopen(text, "w");
    for (int d = 0; d < 40; d++) {
        for (int i = 0; i < 30; i++)
            fprintf(fp, "in the beginning %d was the word %d and the word was %d. ", d, i, d * i);
        fprintf(fp, "\n\n");
    }
    fclose(fp);
    if (tu_sclaw(NULL, NULL, "tokenizer train --vocab-size 300 '%s' --out '%s/tok'", text, root) ||
        tu_sclaw(NULL, NULL, "data prepare --corpus '%s' --docs paragraph --tokenizer '%s/tok' "
                             "--out '%s/data' --val-fraction 0.1", text, root, root))
        return -1;
    json_t *p = json_object(), *runs = json_array();
    json_object_set_new(p, "kind", json_string("isoflop"));
    char data[4400];
    snprintf(data, sizeof data, "%s/data", root);
    json_object_set_new(p, "data", json_string(data));
    for (int f = 0; f < 2; f++)
        for (int b = 0; b < NBUD; b++)
            for (int s = 0; s < NSHAPE; s++)
                add_run(runs, f ? "llama" : "mlstm_v1", SHAPE[s][0], SHAPE[s][1], BUDGET[b]);
    json_object_set_new(p, "runs", runs);
    snprintf(plan, sizeof plan, "%s/plan.json", root);
    int st = json_dump_file(p, plan, JSON_INDENT(1));
    json_decref(p);
    snprintf(study, sizeof study, "%s/study", root);
    char *err = NULL;
    if (st || tu_sclaw(NULL, &err, "--threads 2 study run '%s' --out '%s' -j 2", plan, study)) {
        fprintf(stderr, "study run failed:\n%s\n", err ? err : "");
        free(err);
        return -1;
    }
    free(err);
    return 0;
}

static json_t *load_json(const char *path)
{
    json_t *j = NULL;
    assert_int_equal(sclaw_json_load(path, &j), SCLAW_OK);
    return j;
}

/* A power law of the summary: fitted with a finite exponent and an interval
 * around it, or not fitted with a reason. Returns 1 if fitted. */
static int check_law(json_t *L, const char *ex)
{
    char k[16];
    if (!json_is_true(json_object_get(L, "ok"))) {
        assert_true(json_is_false(json_object_get(L, "ok")));
        assert_true(strlen(json_string_value(json_object_get(L, "reason"))) > 10);
        return 0;
    }
    double e = json_number_value(json_object_get(L, ex)), coef = json_number_value(json_object_get(L, "coef"));
    assert_true(isfinite(e) && coef > 0);
    assert_true(json_integer_value(json_object_get(L, "budgets")) >= 3);
    snprintf(k, sizeof k, "%s_ci", ex);
    json_t *ci = json_object_get(L, k);
    int64_t ok = json_integer_value(json_object_get(L, "resamples_ok"));
    int64_t all = ok + json_integer_value(json_object_get(L, "resamples_nonconvex")) +
                  json_integer_value(json_object_get(L, "resamples_failed"));
    assert_int_equal(all, json_integer_value(json_object_get(L, "resamples")));
    if (ok >= 2) {
        double lo = json_number_value(json_array_get(ci, 0)), hi = json_number_value(json_array_get(ci, 1));
        assert_true(lo <= hi);
    } else
        assert_true(json_is_null(json_array_get(ci, 0)));
    return 1;
}

/* Per budget: the lower family is the one with the lower best loss, and the
 * best loss is the minimum over runs.csv. Returns the xLSTM wins. */
static int64_t check_budgets(json_t *s, const char *study_dir)
{
    char csv[4400];
    snprintf(csv, sizeof csv, "%s/runs.csv", study_dir);
    json_t *buds = json_object_get(s, "budgets");
    assert_int_equal(json_array_size(buds), NBUD);
    int64_t xw = 0;
    for (int b = 0; b < NBUD; b++) {
        json_t *B = json_array_get(buds, (size_t)b);
        tu_close(json_number_value(json_object_get(B, "budget")), BUDGET[b], 1e-12, 0, "budget");
        double best[2];
        for (int f = 0; f < 2; f++) {
            struct sclaw_runs r;
            struct sclaw_runs_filter flt = {0};
            flt.model_type = f ? "llama" : "mlstm_v1";
            assert_int_equal(sclaw_runs_load(&r, csv, &flt), SCLAW_OK);
            double m = INFINITY;
            for (int64_t i = 0; i < r.n; i++)
                if (r.budget[i] == BUDGET[b])
                    m = fmin(m, r.loss[i]);
            sclaw_runs_free(&r);
            best[f] = json_number_value(json_object_get(json_object_get(B, f ? "llama" : "xlstm"), "best_loss"));
            tu_close(best[f], m, 1e-12, 0, "best loss");
        }
        const char *lower = json_string_value(json_object_get(B, "lower"));
        assert_non_null(lower);
        assert_string_equal(lower, best[0] < best[1] ? "xlstm" : "llama");
        xw += best[0] < best[1];
    }
    assert_int_equal(json_integer_value(json_object_get(s, "xlstm_lower_budgets")), xw);
    return xw;
}

/* The report's law equals the fit library's bootstrap on the collected table. */
static void check_against_library(json_t *s, const char *study_dir, int64_t K, uint64_t seed)
{
    char csv[4400];
    snprintf(csv, sizeof csv, "%s/runs.csv", study_dir);
    for (int f = 0; f < 2; f++) {
        json_t *L = json_object_get(json_object_get(json_object_get(s, "families"), f ? "llama" : "xlstm"), "nstar");
        if (!json_is_true(json_object_get(L, "ok")))
            continue;
        struct sclaw_runs r;
        struct sclaw_runs_filter flt = {0};
        flt.model_type = f ? "llama" : "mlstm_v1";
        assert_int_equal(sclaw_runs_load(&r, csv, &flt), SCLAW_OK);
        struct sclaw_isoflop_boot b;
        assert_int_equal(sclaw_isoflop_bootstrap(r.N, r.loss, r.C, r.budget, r.n, K, seed, &b, NULL), SCLAW_OK);
        sclaw_runs_free(&r);
        tu_close(json_number_value(json_object_get(L, "a")), b.law.exponent, 1e-12, 1e-12, "a");
        tu_close(json_number_value(json_object_get(L, "coef")), b.law.coef, 1e-12, 0, "coef");
        if (b.n_ok >= 2)
            tu_close(json_number_value(json_array_get(json_object_get(L, "a_ci"), 0)), b.exponent_lo,
                     1e-12, 1e-12, "a lo");
    }
}

static void test_report(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL, p[4600], rep[4400];
    snprintf(rep, sizeof rep, "%s/rep", root);
    assert_int_equal(tu_sclaw(&out, &err, "report study '%s' --out '%s' --bootstrap 100 --seed 3",
                              study, rep), 0);
    assert_non_null(strstr(out, "N*(C)"));
    assert_non_null(strstr(out, "xLSTM reaches the lower loss at"));
    free(out);
    free(err);
    static const char *const files[] = {"report.md", "summary.json", "isoflop.png", "isoflop.svg",
                                        "powerlaws.png", "powerlaws.svg", "pareto.png", "pareto.svg",
                                        "curves_xlstm.png", "curves_llama.svg"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", rep, files[i]);
        assert_int_equal(stat(p, &sb), 0);
        assert_true(sb.st_size > 100);
    }
    snprintf(p, sizeof p, "%s/report.md", rep);
    char *md = tu_read_file(p);
    assert_non_null(strstr(md, "## 3. IsoFLOP parabolas"));
    assert_non_null(strstr(md, "![Power laws](powerlaws.png)"));
    assert_non_null(strstr(md, "**24 finished**"));
    free(md);

    snprintf(p, sizeof p, "%s/summary.json", rep);
    json_t *s = load_json(p);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "runs"), "finished")), 24);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "bootstrap"), "resamples")), 100);
    json_t *fams = json_object_get(s, "families");
    for (int f = 0; f < 2; f++) {
        json_t *F = json_object_get(fams, f ? "llama" : "xlstm");
        assert_non_null(F);
        assert_int_equal(json_integer_value(json_object_get(F, "runs")), 12);
        /* real tiny runs: a law may be refused (too few convex budgets); then a reason */
        check_law(json_object_get(F, "nstar"), "a");
        check_law(json_object_get(F, "dstar"), "b");
        assert_true(json_is_true(json_object_get(json_object_get(F, "lnd"), "ok")));
        assert_true(json_number_value(json_object_get(json_object_get(F, "lnd"), "gamma")) == 1);
    }
    check_budgets(s, study);
    check_against_library(s, study, 100, 3);
    /* the summary does not depend on where the study lives */
    char *text = json_dumps(s, 0);
    assert_null(strstr(text, root));
    free(text);
    json_decref(s);
}

/* The same runs with losses replaced by exact parabolas around a known law
 * N*(C) = 0.3 C^0.5 (Llama 0.05 lower at the middle budget): both laws are
 * fitted, recover the exponent, and the bootstrap is deterministic. */
static void test_known_law(void **state)
{
    (void)state;
    char known[4400], cmd[9000], p[4600];
    snprintf(known, sizeof known, "%s/known", root);
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", study, known);
    assert_int_equal(system(cmd), 0);
    struct sclaw_plan plan;
    snprintf(p, sizeof p, "%s/plan.json", known);
    assert_int_equal(sclaw_plan_load(&plan, p), SCLAW_OK);
    for (int64_t i = 0; i < plan.nruns; i++) {
        const struct sclaw_plan_run *r = &plan.runs[i];
        int llama = !strcmp(r->config.arch->name, "llama");
        double x = log10(r->num_params / (0.3 * sqrt(r->budget)));
        double loss = 2.0 - 0.1 * log10(r->budget) + 0.3 * x * x;
        if (r->budget == BUDGET[1])
            loss += llama ? -0.05 : 0;
        else
            loss += llama ? 0.05 : 0;
        snprintf(p, sizeof p, "%s/%s/result.json", known, r->name);
        json_t *j = load_json(p);
        json_object_set_new(j, "val_loss", json_real(loss));
        assert_int_equal(sclaw_json_write(p, j), SCLAW_OK);
        json_decref(j);
    }
    sclaw_plan_free(&plan);
    char *out = NULL;
    assert_int_equal(tu_sclaw(&out, NULL, "--json report study '%s' --bootstrap 60 --seed 5", known), 0);
    json_error_t je;
    json_t *s = json_loads(out, 0, &je);
    free(out);
    assert_non_null(s);
    json_t *fams = json_object_get(s, "families");
    for (int f = 0; f < 2; f++) {
        json_t *F = json_object_get(fams, f ? "llama" : "xlstm");
        json_t *L = json_object_get(F, "nstar");
        assert_int_equal(check_law(L, "a"), 1);
        assert_int_equal(check_law(json_object_get(F, "dstar"), "b"), 1);
        double a = json_number_value(json_object_get(L, "a"));
        json_t *ci = json_object_get(L, "a_ci");
        double lo = json_number_value(json_array_get(ci, 0)), hi = json_number_value(json_array_get(ci, 1));
        /* exact parabolas: every resample finds the same vertices; only the
         * resampled mean C moves (the planned C misses the budget by < 1%) */
        tu_close(a, 0.5, 0, 0.01, "known exponent");
        assert_true(lo <= a + 1e-12 && a <= hi + 1e-12);
        assert_true(hi - lo < 0.02);
        assert_int_equal(json_integer_value(json_object_get(L, "resamples_nonconvex")), 0);
    }
    assert_int_equal(check_budgets(s, known), 2);
    check_against_library(s, known, 60, 5);
    json_t *B = json_array_get(json_object_get(s, "budgets"), 1);
    assert_string_equal(json_string_value(json_object_get(B, "lower")), "llama");

    /* same seed: the same summary; another seed: same estimates, other intervals */
    assert_int_equal(tu_sclaw(&out, NULL, "--json report study '%s' --bootstrap 60 --seed 5", known), 0);
    json_t *s2 = json_loads(out, 0, &je);
    free(out);
    assert_true(json_equal(s, s2));
    json_decref(s2);
    assert_int_equal(tu_sclaw(&out, NULL, "--json report study '%s' --bootstrap 60 --seed 6", known), 0);
    s2 = json_loads(out, 0, &je);
    free(out);
    json_t *a1 = json_object_get(json_object_get(fams, "xlstm"), "nstar");
    json_t *a2 = json_object_get(json_object_get(json_object_get(s2, "families"), "xlstm"), "nstar");
    assert_true(json_equal(json_object_get(a1, "a"), json_object_get(a2, "a")));
    assert_false(json_equal(json_object_get(a1, "a_ci"), json_object_get(a2, "a_ci")));
    json_decref(s2);
    json_decref(s);
}

/* A study with unfinished runs and a family with too few budgets: the report
 * names the runs and says why there is no power law, instead of failing. */
static void test_partial_study(void **state)
{
    (void)state;
    char part[4400], cmd[30000], rep[4600], p[4800];
    snprintf(part, sizeof part, "%s/partial", root);
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s' && rm -rf '%s'/llama-2G-* '%s'/llama-4G-*"
                              " '%s'/xlstm-1G-d32-nb1/result.json", study, part, part, part, part);
    assert_int_equal(system(cmd), 0);
    snprintf(rep, sizeof rep, "%s/rep", part);
    struct sclaw_report_study_opts o = {0};
    o.study_dir = part;
    o.out_dir = rep;
    o.bootstrap = 20;
    struct sclaw_report_result r;
    assert_int_equal(sclaw_report_study(&o, &r), SCLAW_OK);
    sclaw_report_result_free(&r);
    snprintf(p, sizeof p, "%s/summary.json", rep);
    json_t *s = load_json(p);
    json_t *L = json_object_get(json_object_get(json_object_get(s, "families"), "llama"), "nstar");
    assert_true(json_is_false(json_object_get(L, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(L, "reason")), "1 budget"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "runs"), "finished")), 15);
    json_t *B = json_array_get(json_object_get(s, "budgets"), 1);
    assert_true(json_is_null(json_object_get(B, "lower")));
    json_decref(s);
    snprintf(p, sizeof p, "%s/report.md", rep);
    char *md = tu_read_file(p);
    assert_non_null(strstr(md, "`xlstm-1G-d32-nb1` (partial)"));
    assert_non_null(strstr(md, "not fitted: 1 budget"));
    free(md);
}

static void test_bad_input(void **state)
{
    (void)state;
    char *err = NULL, d[4400], p[9000];
    /* not a study directory */
    assert_int_equal(tu_sclaw(NULL, &err, "report study '%s/data'", root), 1);
    assert_non_null(strstr(err, "is not a study directory"));
    free(err);
    snprintf(p, sizeof p, "%s/data/report", root);
    assert_int_equal(access(p, F_OK), -1); /* no empty report directory left behind */
    /* usage errors */
    assert_int_equal(tu_sclaw(NULL, &err, "report study"), 2);
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "report study '%s' --bootstrap -3", study), 2);
    assert_non_null(strstr(err, "--bootstrap"));
    free(err);
    /* a study without finished runs: nothing is written */
    snprintf(d, sizeof d, "%s/empty", root);
    mkdir(d, 0777);
    snprintf(p, sizeof p, "cp '%s/plan.json' '%s/plan.json'", study, d);
    assert_int_equal(system(p), 0);
    assert_int_equal(tu_sclaw(NULL, &err, "report study '%s'", d), 1);
    assert_non_null(strstr(err, "no finished runs"));
    free(err);
    snprintf(p, sizeof p, "%s/report", d);
    assert_int_equal(access(p, F_OK), -1);
    /* an output directory that cannot be created */
    snprintf(p, sizeof p, "%s/file", root);
    tu_write_file(p, "x");
    assert_int_equal(tu_sclaw(NULL, &err, "report study '%s' --out '%s/sub'", study, p), 1);
    assert_non_null(strstr(err, "file/sub"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_known_law),
        cmocka_unit_test(test_partial_study),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, group_setup, tu_teardown);
}
