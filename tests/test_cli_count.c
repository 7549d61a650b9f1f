/* test_cli_count.c - the sclaw tool: dispatch, help, exit codes, `sclaw count`. */
#include "sclaw.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char cfg[4096];

static void write_config(void)
{
    snprintf(cfg, sizeof cfg, "%s/x160.json", tu_tmpdir());
    tu_write_file(cfg, "{\"model_type\": \"xlstm\", \"embedding_dim\": 768, \"num_blocks\": 12,"
                       " \"num_heads\": 6, \"vocab_size\": 50304, \"context_length\": 2048,"
                       " \"chunk_size\": 128}");
}

static void test_help_and_dispatch(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(tu_sclaw(&out, NULL, "help"), 0);
    assert_non_null(strstr(out, "count"));
    free(out);
    assert_int_equal(tu_sclaw(&out, NULL, "help count"), 0);
    assert_non_null(strstr(out, "--mlstm-flops"));
    free(out);
    assert_int_equal(tu_sclaw(&out, NULL, "count --help"), 0);
    assert_non_null(strstr(out, "usage: sclaw count"));
    free(out);
    /* unknown command: exit 2 and a suggestion */
    assert_int_equal(tu_sclaw(NULL, &err, "cuont"), 2);
    assert_non_null(strstr(err, "the most similar command is"));
    assert_non_null(strstr(err, "count"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, NULL, "%s", ""), 2); /* no command */
}

static void test_count_json(void **state)
{
    (void)state;
    write_config();
    char *out;
    /* global --json may come anywhere on the line */
    assert_int_equal(tu_sclaw(&out, NULL, "--json count '%s' --infer --prefill 2048 --batch 1", cfg), 0);
    json_error_t e;
    json_t *o = json_loads(out, 0, &e);
    assert_non_null(o);
    static const char *keys[] = {"num_params", "num_params_noembed", "num_params_noembed_nohead",
                                 "flops_fw_per_seq", "flops_fwbw_per_seq", "flops_fw_linear",
                                 "flops_fw_seqmix", "flops_fw_other", "ttft_flops", "ttft_bytes",
                                 "step_flops", "step_bytes"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(o, keys[i]);
        if (!json_is_number(v)) {
            fprintf(stderr, "key '%s' missing or not a number\n", keys[i]);
            fail();
        }
    }
    assert_true(json_number_value(json_object_get(o, "num_params")) == 164110224.0);
    tu_close(json_number_value(json_object_get(o, "ttft_flops")), 366289778304.0, 1e-12, 0, "ttft");
    tu_close(json_number_value(json_object_get(o, "step_bytes")), 256299168.0, 1e-12, 0, "step bytes");
    json_decref(o);
    free(out);

    assert_int_equal(tu_sclaw(&out, NULL, "count '%s' --batch 128 --steps 3500 --ctx 8192 --json", cfg), 0);
    o = json_loads(out, 0, &e);
    assert_non_null(o);
    tu_close(json_number_value(json_object_get(o, "num_tokens_training")), 3.670016e9, 1e-15, 0, "D");
    assert_non_null(json_object_get(o, "num_flops_training"));
    assert_non_null(json_object_get(o, "flops_6nd"));
    json_decref(o);
    free(out);

    /* human table */
    assert_int_equal(tu_sclaw(&out, NULL, "count '%s'", cfg), 0);
    assert_non_null(strstr(out, "164,110,224"));
    free(out);
}

static void test_count_usage_errors(void **state)
{
    (void)state;
    write_config();
    char *err;
    assert_int_equal(tu_sclaw(NULL, &err, "count '%s' --infer", cfg), 2);
    assert_non_null(strstr(err, "--infer needs --prefill"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "count '%s' --mlstm-flops fast", cfg), 2);
    assert_non_null(strstr(err, "'--mlstm-flops' must be first or tfla"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "count '%s' --batch x --steps 2", cfg), 2);
    assert_non_null(strstr(err, "'--batch' expects a number"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "count '%s' --bogus", cfg), 2);
    assert_non_null(strstr(err, "unknown option '--bogus'"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "count"), 2);
    free(err);
    /* a bad config is a runtime error naming the file */
    char bad[4200];
    snprintf(bad, sizeof bad, "%s/bad.json", tu_tmpdir());
    tu_write_file(bad, "{\"model_type\": \"llama\", \"embedding_dim\": 64}");
    assert_int_equal(tu_sclaw(NULL, &err, "count '%s'", bad), 1);
    assert_non_null(strstr(err, "sclaw count: error:"));
    assert_non_null(strstr(err, bad));
    assert_non_null(strstr(err, "missing key"));
    free(err);
}

static void test_count_runs(void **state)
{
    (void)state;
    char out_csv[4200], *err;
    snprintf(out_csv, sizeof out_csv, "%s/checked.csv", tu_tmpdir());
    assert_int_equal(tu_sclaw(NULL, &err, "count --runs data/paper/runs_all.csv --out '%s'", out_csv), 0);
    assert_non_null(strstr(err, "757 rows: 745 agree, 0 disagree"));
    free(err);
    struct sclaw_csv t;
    assert_int_equal(sclaw_csv_read(&t, out_csv), SCLAW_OK);
    assert_int_equal(t.nrows, 757);
    assert_true(sclaw_csv_col(&t, "count_ok") >= 0);
    sclaw_csv_free(&t);

    /* a table with a wrong stored value: listed on stderr, exit 1 */
    char small[4200];
    snprintf(small, sizeof small, "%s/small.csv", tu_tmpdir());
    tu_write_file(small, "model_type,embedding_dim,num_blocks,num_heads,vocab_size,context_length,"
                         "global_batch_size,num_train_steps,num_params\n"
                         "llama,768,12,12,50304,8192,128,100,162220800\n"
                         "llama,768,12,12,50304,8192,128,100,162220801\n");
    assert_int_equal(tu_sclaw(NULL, &err, "count --runs '%s' --out '%s'", small, out_csv), 1);
    assert_non_null(strstr(err, "small.csv:3: column 'num_params'"));
    free(err);
    /* the computed D and C were filled in */
    assert_int_equal(sclaw_csv_read(&t, out_csv), SCLAW_OK);
    assert_true(sclaw_csv_col(&t, "num_flops_training") >= 0);
    sclaw_csv_free(&t);

    /* a missing column is named; an unwritable --out leaves nothing behind */
    tu_write_file(small, "model_type,embedding_dim\nllama,768\n");
    assert_int_equal(tu_sclaw(NULL, &err, "count --runs '%s'", small), 1);
    assert_non_null(strstr(err, "column 'num_blocks'"));
    free(err);
    char nodir[4200];
    snprintf(nodir, sizeof nodir, "%s/missing-dir/out.csv", tu_tmpdir());
    assert_int_equal(tu_sclaw(NULL, &err, "count --runs data/paper/runs_all.csv --out '%s'", nodir), 1);
    assert_non_null(strstr(err, "cannot write"));
    free(err);
    assert_int_equal(access(nodir, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_dispatch),
        cmocka_unit_test(test_count_json),
        cmocka_unit_test(test_count_usage_errors),
        cmocka_unit_test(test_count_runs),
    };
    return cmocka_run_group_tests(tests, NULL, tu_teardown);
}
