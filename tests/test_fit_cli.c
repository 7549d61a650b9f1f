/* test_fit_cli.c - `sclaw fit lnd|isoflop|slopes|pareto` and `sclaw optimal`:
 * JSON keys and values (checked against the paper's numbers), human output,
 * usage errors (exit 2, flag named) and runtime errors (exit 1, file named). */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *RUNS = "data/paper/runs_all.csv";

static json_t *run_json(const char *args)
{
    char *out = NULL, *err = NULL;
    int rc = tu_sclaw(&out, &err, "%s --json", args);
    if (rc != 0)
        fprintf(stderr, "sclaw %s: exit %d\n%s\n", args, rc, err ? err : "");
    assert_int_equal(rc, 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (!j)
        fprintf(stderr, "not JSON: %s\n%s\n", je.text, out);
    assert_non_null(j);
    free(out);
    free(err);
    return j;
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!v)
        fprintf(stderr, "missing key '%s'\n", k);
    assert_non_null(v);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static void test_lnd_single_start(void **state)
{
    (void)state;
    char args[512];
    /* one start at the paper's gamma-fixed Llama optimum: fast, and the keys
     * of the issue are all present */
    snprintf(args, sizeof args, "fit lnd %s --model-type llama --set tokenparam --ctx 8192 "
             "--ratio 0:5000 --gamma fixed --inits 2.884,3.603,-0.146,0.1287,0.1716", RUNS);
    json_t *j = run_json(args);
    const char *keys[] = {"a", "b", "e", "alpha", "beta", "gamma", "A", "B", "E", "objective",
                          "n_points", "n_inits"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        num(j, keys[k]);
    tu_close(num(j, "objective"), 1.3850633e-4, 1e-6, 0, "objective");
    tu_close(num(j, "n_points"), 31, 0, 0, "n_points");
    tu_close(num(j, "n_inits"), 1, 0, 0, "n_inits");
    tu_close(num(j, "gamma"), 1, 0, 0, "gamma fixed");
    tu_close(num(j, "E"), exp(num(j, "e")), 1e-14, 0, "E");
    assert_null(json_object_get(j, "intervals"));
    json_decref(j);

    /* with a bootstrap: intervals of every parameter */
    snprintf(args, sizeof args, "fit lnd %s --model-type llama --set tokenparam --gamma fixed "
             "--inits 2.884,3.603,-0.146,0.1287,0.1716 --bootstrap 8 --seed 3", RUNS);
    j = run_json(args);
    const json_t *iv = json_object_get(j, "intervals");
    assert_non_null(iv);
    const char *ik[] = {"a", "b", "e", "alpha", "beta", "A", "B", "E", "a_opt", "b_opt"};
    for (size_t k = 0; k < sizeof ik / sizeof ik[0]; k++) {
        const json_t *p = json_object_get(iv, ik[k]);
        assert_true(json_is_array(p) && json_array_size(p) == 2);
        assert_true(json_number_value(json_array_get(p, 0)) <=
                    json_number_value(json_array_get(p, 1)));
    }
    tu_close(num(j, "bootstrap"), 8, 0, 0, "bootstrap");
    json_decref(j);

    /* human output */
    char *out = NULL;
    snprintf(args, sizeof args, "fit lnd %s --model-type llama --set tokenparam --gamma fixed "
             "--inits 2.884,3.603,-0.146,0.1287,0.1716", RUNS);
    assert_int_equal(tu_sclaw(&out, NULL, "%s", args), 0);
    assert_non_null(strstr(out, "alpha"));
    assert_non_null(strstr(out, "objective"));
    free(out);
}

static void test_isoflop(void **state)
{
    (void)state;
    char args[512];
    snprintf(args, sizeof args, "fit isoflop %s --model-type llama --ctx 8192 --paper-filters "
             "--window 5e18:2e20", RUNS);
    json_t *j = run_json(args);
    const json_t *b = json_object_get(j, "budgets"), *pl = json_object_get(j, "power_law");
    assert_true(json_is_array(b) && json_array_size(b) == 4);
    const double runs[4] = {18, 26, 36, 27};
    for (size_t i = 0; i < 4; i++) {
        const json_t *o = json_array_get(b, i);
        const char *keys[] = {"budget", "flops_mean", "n_runs", "x_opt", "loss_opt"};
        for (size_t k = 0; k < 5; k++)
            num(o, keys[k]);
        tu_close(num(o, "n_runs"), runs[i], 0, 0, "n_runs");
        assert_int_equal(json_array_size(json_object_get(o, "poly")), 3);
    }
    tu_close(num(pl, "exponent"), 0.574909, 0, 1e-6, "exponent");
    tu_close(num(pl, "coef"), 0.002281, 3e-4, 0, "coef");
    tu_close(num(pl, "n_budgets"), 4, 0, 0, "n_budgets");
    json_decref(j);

    snprintf(args, sizeof args, "fit isoflop %s --model-type llama --ctx 8192 --paper-filters "
             "--window 5e18:2e20 --x num_tokens_training", RUNS);
    j = run_json(args);
    tu_close(num(json_object_get(j, "power_law"), "exponent"), 0.424271, 0, 1e-6, "D exponent");
    json_decref(j);
}

static void test_slopes_pareto(void **state)
{
    (void)state;
    char args[512];
    snprintf(args, sizeof args, "fit slopes %s --set tokenparam --model-type xlstm", RUNS);
    json_t *j = run_json(args);
    assert_true(json_is_array(j) && json_array_size(j) == 6);
    const json_t *o = json_array_get(j, 0);
    tu_close(num(o, "ratio"), 22, 0, 0, "ratio");
    tu_close(num(o, "eta"), 0.047398, 0, 5.1e-7, "eta 22");
    tu_close(num(o, "lambda"), 24.290, 2e-5, 0, "lambda 22");
    tu_close(num(o, "n_runs"), 6, 0, 0, "n_runs");
    json_decref(j);

    snprintf(args, sizeof args, "fit pareto %s --set tokenparam --model-type llama", RUNS);
    j = run_json(args);
    tu_close(num(j, "n_points"), 16, 0, 0, "pareto points");
    assert_int_equal(json_array_size(json_object_get(j, "points")), 16);
    json_decref(j);

    /* mixed model types are refused */
    char *err = NULL;
    assert_int_equal(tu_sclaw(NULL, &err, "fit slopes %s --set tokenparam", RUNS), 1);
    assert_non_null(strstr(err, "--model-type"));
    free(err);
}

static void test_optimal(void **state)
{
    (void)state;
    json_t *j = run_json("optimal --law N=0.002281,0.574909 --law D=58.460,0.424271 "
                         "--params 100M,1B,175B");
    const json_t *rows = json_object_get(j, "rows");
    assert_int_equal(json_array_size(rows), 3);
    const double C[3] = {3.24e18, 1.78e20, 1.42e24}, D[3] = {4.17e9, 22.8e9, 1.03e12};
    for (size_t i = 0; i < 3; i++) {
        tu_close(num(json_array_get(rows, i), "C"), C[i], 5.1e-3, 0, "C*");
        tu_close(num(json_array_get(rows, i), "D"), D[i], 5.1e-3, 0, "D*");
    }
    json_decref(j);
    char args[512];
    snprintf(args, sizeof args, "optimal --from-isoflop %s --model-type xlstm --ctx 16384 "
             "--paper-filters --window 5e18:5e19", RUNS);
    j = run_json(args);
    tu_close(num(json_object_get(j, "n_law"), "exponent"), 0.566040, 0, 1e-6, "xlstm ctx16384 a");
    tu_close(num(json_object_get(j, "d_law"), "exponent"), 0.385230, 0, 1e-6, "xlstm ctx16384 b");
    assert_int_equal(json_array_size(json_object_get(j, "rows")), 11);
    json_decref(j);
}

/* Usage errors: exit 2 and the message names the flag. */
static void test_usage_errors(void **state)
{
    (void)state;
    static const struct {
        const char *args, *needle;
    } cases[] = {
        {"fit lnd data/paper/runs_all.csv --gamma maybe", "--gamma"},
        {"fit lnd data/paper/runs_all.csv --delta -1", "--delta"},
        {"fit lnd data/paper/runs_all.csv --inits 1,2,3", "--inits"},
        {"fit lnd data/paper/runs_all.csv --seed 3", "--seed"},
        {"fit lnd data/paper/runs_all.csv --ratio 5", "--ratio"},
        {"fit lnd data/paper/runs_all.csv --set everything", "--set"},
        {"fit lnd data/paper/runs_all.csv --model-type gpt", "--model-type"},
        {"fit lnd", "run table"},
        {"fit isoflop data/paper/runs_all.csv --ctx 8192", "--model-type"},
        {"fit isoflop data/paper/runs_all.csv --model-type llama", "--ctx"},
        {"fit isoflop data/paper/runs_all.csv --model-type llama --ctx 8192 --window x", "--window"},
        {"fit isoflop data/paper/runs_all.csv --model-type llama --ctx 8192 --x loss", "--x"},
        {"fit frobnicate x.csv", "frobnicate"},
        {"optimal --law N=1,0.5", "--law"},
        {"optimal --law Q=1,0.5 --law D=1,0.5", "--law"},
        {"optimal --law N=1,0.5 --law D=1,0.5 --params 1Q", "--params"},
        {"optimal --from-isoflop data/paper/runs_all.csv", "--model-type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err = NULL;
        int rc = tu_sclaw(NULL, &err, "%s", cases[i].args);
        if (rc != 2 || !strstr(err, cases[i].needle))
            fprintf(stderr, "sclaw %s: exit %d, stderr: %s\n", cases[i].args, rc, err);
        assert_int_equal(rc, 2);
        assert_non_null(strstr(err, cases[i].needle));
        free(err);
    }
}

/* Runtime errors: exit 1 and the message names the file (and line). */
static void test_runtime_errors(void **state)
{
    (void)state;
    char p[512], *err = NULL;
    assert_int_equal(tu_sclaw(NULL, &err, "fit lnd /nonexistent/runs.csv"), 1);
    assert_non_null(strstr(err, "/nonexistent/runs.csv"));
    free(err);
    snprintf(p, sizeof p, "%s/bad.csv", tu_tmpdir());
    tu_write_file(p, "model_type,num_params,num_tokens_training,val_loss\n"
                     "llama,1e8,2e9,3.2\nllama,2e8,x,3.1\nllama,4e8,8e9,3.0\n");
    assert_int_equal(tu_sclaw(NULL, &err, "fit lnd %s", p), 1);
    assert_non_null(strstr(err, "bad.csv:3"));
    assert_non_null(strstr(err, "num_tokens_training"));
    free(err);
    /* nothing selected */
    assert_int_equal(tu_sclaw(NULL, &err, "fit lnd %s --ctx 4096", RUNS), 1);
    assert_non_null(strstr(err, "no runs"));
    free(err);
    /* budgets too small for a power law: warning names the budget, then an error */
    snprintf(p, sizeof p, "%s/iso.csv", tu_tmpdir());
    tu_write_file(p, "model_type,experiment_set,context_length,num_params,num_tokens_training,"
                     "num_flops_training,val_loss\n"
                     "llama,isoflop,8192,1e8,1e10,6e18,3.2\nllama,isoflop,8192,2e8,5e9,6e18,3.1\n"
                     "llama,isoflop,8192,4e8,2.5e9,6e18,3.15\nllama,isoflop,8192,1e8,2e10,1e19,3.1\n");
    assert_int_equal(tu_sclaw(NULL, &err, "fit isoflop %s --model-type llama --ctx 8192", p), 1);
    assert_non_null(strstr(err, "budget 1e+19"));
    assert_non_null(strstr(err, "at least 2 budgets"));
    free(err);
    tu_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lnd_single_start),
        cmocka_unit_test(test_isoflop),
        cmocka_unit_test(test_slopes_pareto),
        cmocka_unit_test(test_optimal),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_runtime_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
