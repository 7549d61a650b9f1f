/* test_config.c - model configs: defaults, derived dimensions, round trip, and
 * one test per class of bad input (the message names the file and the key). */
#include "sclaw.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

static char path[4096];

/* Write a config file and load it; returns the status. */
static int load_text(struct sclaw_config *c, const char *json)
{
    snprintf(path, sizeof path, "%s/cfg.json", tu_tmpdir());
    tu_write_file(path, json);
    return sclaw_config_load(c, path);
}

/* Expect status st and a message naming the file and containing `needle`. */
static void expect_error(const char *json, int st, const char *needle)
{
    struct sclaw_config c;
    int got = load_text(&c, json);
    if (got != st || !strstr(sclaw_errmsg(), path) || !strstr(sclaw_errmsg(), needle)) {
        fprintf(stderr, "config %s\n  status %d (want %d), message: %s\n  (want '%s')\n", json,
                got, st, sclaw_errmsg(), needle);
        fail();
    }
}

#define BASE_X "\"model_type\": \"xlstm\", \"embedding_dim\": 768, \"num_blocks\": 12, " \
               "\"vocab_size\": 50304, \"context_length\": 2048"

static void test_defaults_and_derived(void **state)
{
    (void)state;
    struct sclaw_config c;
    assert_int_equal(load_text(&c, "{" BASE_X ", \"num_heads\": 6}"), SCLAW_OK);
    assert_ptr_equal(c.arch, &sclaw_arch_mlstm);
    assert_int_equal(c.chunk_size, 64);
    assert_int_equal(c.head_dim_qk, 64);
    assert_int_equal(c.head_dim_v, 128);
    assert_int_equal(c.ffn_dim, 2112);
    assert_true(c.proj_factor_ffn == 2.667 && c.proj_factor_qk == 0.5);

    assert_int_equal(load_text(&c, "{\"model_type\": \"llama\", \"embedding_dim\": 2560, "
                                   "\"num_blocks\": 32, \"num_heads\": 32, \"vocab_size\": 50304, "
                                   "\"context_length\": 8192}"),
                     SCLAW_OK);
    assert_ptr_equal(c.arch, &sclaw_arch_llama);
    assert_int_equal(c.head_dim_qk, 80);
    assert_int_equal(c.num_kv_heads, 32);
    assert_int_equal(c.ffn_dim, 6848);

    /* explicit overrides win */
    assert_int_equal(load_text(&c, "{" BASE_X ", \"num_heads\": 6, \"ffn_dim\": 2048, "
                                   "\"chunk_size\": 128, \"head_dim_qk\": 32}"),
                     SCLAW_OK);
    assert_int_equal(c.ffn_dim, 2048);
    assert_int_equal(c.chunk_size, 128);
    assert_int_equal(c.head_dim_qk, 32);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct sclaw_config a, b;
    assert_int_equal(load_text(&a, "{" BASE_X ", \"num_heads\": 6, \"name\": \"x160\"}"), SCLAW_OK);
    snprintf(path, sizeof path, "%s/saved.json", tu_tmpdir());
    assert_int_equal(sclaw_config_save(&a, path), SCLAW_OK);
    assert_int_equal(sclaw_config_load(&b, path), SCLAW_OK);
    assert_memory_equal(&a, &b, sizeof a);
}

static void test_bad_unknown_key(void **state)
{
    (void)state;
    expect_error("{" BASE_X ", \"num_heads\": 6, \"num_layers\": 3}", SCLAW_E_FORMAT,
                 "unknown key 'num_layers'");
}

static void test_bad_missing_key(void **state)
{
    (void)state;
    expect_error("{" BASE_X "}", SCLAW_E_FORMAT, "missing key 'num_heads'");
    expect_error("{\"embedding_dim\": 64}", SCLAW_E_FORMAT, "missing key 'model_type'");
}

static void test_bad_non_integer(void **state)
{
    (void)state;
    expect_error("{" BASE_X ", \"num_heads\": 6.5}", SCLAW_E_FORMAT, "'num_heads' must be an integer");
    expect_error("{" BASE_X ", \"num_heads\": \"6\"}", SCLAW_E_FORMAT, "'num_heads' must be an integer");
    expect_error("{" BASE_X ", \"num_heads\": 6, \"proj_factor_ffn\": \"x\"}", SCLAW_E_FORMAT,
                 "'proj_factor_ffn' must be a number");
}

static void test_bad_non_positive(void **state)
{
    (void)state;
    expect_error("{" BASE_X ", \"num_heads\": 0}", SCLAW_E_ARG, "'num_heads' must be positive");
    expect_error("{" BASE_X ", \"num_heads\": -4}", SCLAW_E_ARG, "'num_heads' must be positive");
    expect_error("{" BASE_X ", \"num_heads\": 6, \"proj_factor_qk\": -0.5}", SCLAW_E_ARG,
                 "'proj_factor_qk' must be positive");
}

static void test_bad_not_divisible(void **state)
{
    (void)state;
    expect_error("{" BASE_X ", \"num_heads\": 5}", SCLAW_E_ARG,
                 "'embedding_dim' (768) is not divisible by 'num_heads' (5)");
    expect_error("{\"model_type\": \"llama\", \"embedding_dim\": 100, \"num_blocks\": 2, "
                 "\"num_heads\": 3, \"vocab_size\": 10, \"context_length\": 8}",
                 SCLAW_E_ARG, "not divisible");
    expect_error("{\"model_type\": \"llama\", \"embedding_dim\": 96, \"num_blocks\": 2, "
                 "\"num_heads\": 6, \"num_kv_heads\": 4, \"vocab_size\": 10, \"context_length\": 8}",
                 SCLAW_E_ARG, "'num_kv_heads'");
}

static void test_bad_model_type(void **state)
{
    (void)state;
    expect_error("{\"model_type\": \"gpt\", \"embedding_dim\": 64}", SCLAW_E_ARG,
                 "unknown model type 'gpt'");
    expect_error("{\"model_type\": 3}", SCLAW_E_FORMAT, "'model_type' must be a string");
}

static void test_bad_wrong_family_key(void **state)
{
    (void)state;
    expect_error("{" BASE_X ", \"num_heads\": 6, \"head_dim\": 64}", SCLAW_E_FORMAT,
                 "key 'head_dim' does not apply to model_type 'mlstm_v1'");
    expect_error("{\"model_type\": \"llama\", \"embedding_dim\": 64, \"num_blocks\": 2, "
                 "\"num_heads\": 2, \"vocab_size\": 10, \"context_length\": 8, \"chunk_size\": 16}",
                 SCLAW_E_FORMAT, "key 'chunk_size' does not apply to model_type 'llama'");
}

static void test_bad_json(void **state)
{
    (void)state;
    struct sclaw_config c;
    /* malformed JSON: the message names file:line:column */
    assert_int_equal(load_text(&c, "{\n  \"model_type\": \"xlstm\",\n  \"embedding_dim\": 7,,\n}"),
                     SCLAW_E_FORMAT);
    char want[4200];
    snprintf(want, sizeof want, "%s:3:", path);
    assert_non_null(strstr(sclaw_errmsg(), want));
    expect_error("[1, 2]", SCLAW_E_FORMAT, "must be a JSON object");
    expect_error("{" BASE_X ", \"num_heads\": 6, \"num_heads\": 3}", SCLAW_E_FORMAT, "duplicate");
    /* a missing file is an i/o error naming it */
    assert_int_equal(sclaw_config_load(&c, "/nonexistent/cfg.json"), SCLAW_E_IO);
    assert_non_null(strstr(sclaw_errmsg(), "/nonexistent/cfg.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_derived), cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_unknown_key),      cmocka_unit_test(test_bad_missing_key),
        cmocka_unit_test(test_bad_non_integer),      cmocka_unit_test(test_bad_non_positive),
        cmocka_unit_test(test_bad_not_divisible),    cmocka_unit_test(test_bad_model_type),
        cmocka_unit_test(test_bad_wrong_family_key), cmocka_unit_test(test_bad_json),
    };
    return cmocka_run_group_tests(tests, NULL, tu_teardown);
}
