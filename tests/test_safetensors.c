/* test_safetensors.c - the safetensors reader and writer (sclaw_safetensors.h):
 * round trip through a tensor table, the byte layout against the format
 * description (hand-built files), strict rejection of malformed files, and an
 * existing file surviving a failed write. */
#include "testutil.h"

#include "sclaw.h"
#include "sclaw_safetensors.h"
#include "sclaw_tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Write a raw file: 8-byte LE length, header text, then nbytes of data. */
static void write_raw(const char *path, const char *header, uint64_t hlen_override,
                      const void *data, size_t nbytes)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    uint64_t hlen = hlen_override ? hlen_override : strlen(header);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)(hlen >> (8 * i));
    fwrite(len8, 1, 8, fp);
    fwrite(header, 1, strlen(header), fp);
    if (nbytes)
        fwrite(data, 1, nbytes, fp);
    fclose(fp);
}

static void test_roundtrip(void **state)
{
    (void)state;
    struct sclaw_tensor_table tt = {0};
    assert_int_equal(sclaw_tensor_table_add(&tt, "a.weight", 2, 3, 5, 1, SCLAW_INIT_NORMAL, 1, 0, 0), 0);
    assert_int_equal(sclaw_tensor_table_add(&tt, "a.bias", 1, 3, 0, 0, SCLAW_INIT_LINSPACE, -1, 1, 0), 0);
    assert_int_equal(sclaw_tensor_table_add(&tt, "b", 1, 1, 0, 0, SCLAW_INIT_CONST, 7, 0, -1), 0);
    float *x = sclaw_alloc_floats(tt.numel), *y = sclaw_alloc_floats(tt.numel);
    sclaw_tensor_table_init(&tt, x, 42);
    char path[512];
    snprintf(path, sizeof path, "%s/rt.safetensors", tu_tmpdir());
    json_t *meta = json_pack("{s:s}", "format", "pt");
    assert_int_equal(sclaw_st_save_table(path, &tt, x, "", meta), 0);
    json_decref(meta);
    assert_int_equal(sclaw_st_load_table(path, &tt, y, ""), 0);
    assert_memory_equal(x, y, (size_t)tt.numel * sizeof *x);

    /* the bytes follow the format: LE length, JSON header padded to 8, data
     * in table order at the offsets the header names */
    struct sclaw_st_file f;
    assert_int_equal(sclaw_st_open(&f, path), 0);
    assert_int_equal(f.n, 3);
    assert_int_equal(f.data_start % 8, 0);
    assert_string_equal(json_string_value(json_object_get(f.metadata, "format")), "pt");
    int64_t k = sclaw_st_find(&f, "a.bias");
    assert_true(k >= 0);
    assert_string_equal(f.e[k].dtype, "F32");
    assert_int_equal(f.e[k].ndim, 1);
    assert_int_equal(f.e[k].begin, 60);
    assert_int_equal(f.e[k].end, 72);
    sclaw_st_close(&f);
    char *raw = tu_read_file(path);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | (unsigned char)raw[i];
    assert_int_equal(raw[8], '{');
    float bias[3];
    memcpy(bias, raw + 8 + hlen + 60, sizeof bias);
    tu_close(bias[0], -1, 0, 0, "bias[0] at its offset");
    tu_close(bias[2], 1, 0, 0, "bias[2] at its offset");
    free(raw);

    /* a file written by hand per the format description loads */
    float d[4] = {1, 2, 3, 4};
    snprintf(path, sizeof path, "%s/hand.safetensors", tu_tmpdir());
    write_raw(path,
              "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
              "\"__metadata__\":{\"k\":\"v\"}}   ",
              0, d, sizeof d);
    assert_int_equal(sclaw_st_open(&f, path), 0);
    float got[4];
    assert_int_equal(sclaw_st_read(&f, 0, got), 0);
    assert_memory_equal(got, d, sizeof d);
    sclaw_st_close(&f);

    free(x);
    free(y);
    sclaw_tensor_table_free(&tt);
}

/* Every malformed file is SCLAW_E_FORMAT with the file named. */
static void test_bad_files(void **state)
{
    (void)state;
    static const struct {
        const char *header;
        uint64_t hlen;   /* 0: strlen(header) */
        size_t data;     /* data bytes after the header */
        const char *msg; /* expected part of the message */
    } cases[] = {
        {"{}", 1000, 0, "header length"},
        {"not json", 0, 0, "not a JSON object"},
        {"{\"x\": 1}", 0, 0, "not an object"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", 0, 8, "unknown key 'extra'"},
        {"{\"x\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8, "unknown dtype 'Q4'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 0, 8, "bad size"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", 0, 12, "do not match"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 4, "outside the data section"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 0, 8, "outside"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 0, 12, "overlap"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 0, 12, "unused bytes"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 12, "tensors cover 8"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"x\":{}}", 0, 8, "duplicate"},
        {"{\"__metadata__\":{\"a\":1}}", 0, 0, "not a string"},
    };
    char zeros[64] = {0};
    char path[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sclaw_st_file f;
        snprintf(path, sizeof path, "%s/bad%zu.safetensors", tu_tmpdir(), i);
        write_raw(path, cases[i].header, cases[i].hlen, zeros, cases[i].data);
        int st = sclaw_st_open(&f, path);
        if (st != SCLAW_E_FORMAT || !strstr(sclaw_errmsg(), path) ||
            !strstr(sclaw_errmsg(), cases[i].msg))
            fail_msg("case %zu: status %d, message '%s' (want '%s')", i, st, sclaw_errmsg(),
                     cases[i].msg);
    }
    /* too short for the length field */
    struct sclaw_st_file f;
    snprintf(path, sizeof path, "%s/short.safetensors", tu_tmpdir());
    tu_write_file(path, "abc");
    assert_int_equal(sclaw_st_open(&f, path), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "too short"));
    /* missing file */
    snprintf(path, sizeof path, "%s/none.safetensors", tu_tmpdir());
    assert_int_equal(sclaw_st_open(&f, path), SCLAW_E_IO);
    assert_non_null(strstr(sclaw_errmsg(), "none.safetensors"));
    /* valid file with a non-F32 tensor: opens, but cannot be read as floats */
    snprintf(path, sizeof path, "%s/bf16.safetensors", tu_tmpdir());
    write_raw(path, "{\"x\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 0, zeros, 4);
    assert_int_equal(sclaw_st_open(&f, path), 0);
    float out[2];
    assert_int_equal(sclaw_st_read(&f, 0, out), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "BF16"));
    sclaw_st_close(&f);
}

static void test_table_mismatch(void **state)
{
    (void)state;
    struct sclaw_tensor_table a = {0}, b = {0}, c = {0};
    sclaw_tensor_table_add(&a, "w", 2, 4, 3, 1, SCLAW_INIT_CONST, 1, 0, 0);
    sclaw_tensor_table_add(&b, "w", 2, 3, 4, 1, SCLAW_INIT_CONST, 1, 0, 0);
    sclaw_tensor_table_add(&c, "w", 2, 4, 3, 1, SCLAW_INIT_CONST, 1, 0, 0);
    sclaw_tensor_table_add(&c, "extra", 1, 2, 0, 0, SCLAW_INIT_CONST, 1, 0, 0);
    float buf[32] = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/m.safetensors", tu_tmpdir());
    assert_int_equal(sclaw_st_save_table(path, &a, buf, "", NULL), 0);
    assert_int_equal(sclaw_st_load_table(path, &b, buf, ""), SCLAW_E_SHAPE);
    assert_non_null(strstr(sclaw_errmsg(), "tensor 'w': shape [4,3], config says [3,4]"));
    assert_int_equal(sclaw_st_load_table(path, &c, buf, ""), SCLAW_E_SHAPE);
    assert_non_null(strstr(sclaw_errmsg(), "missing tensor 'extra' [2]"));
    assert_int_equal(sclaw_st_save_table(path, &c, buf, "", NULL), 0);
    assert_int_equal(sclaw_st_load_table(path, &a, buf, ""), SCLAW_E_SHAPE);
    assert_non_null(strstr(sclaw_errmsg(), "unexpected tensor 'extra'"));
    /* prefixes (Adam state names) */
    assert_int_equal(sclaw_st_save_table(path, &a, buf, "exp_avg.", NULL), 0);
    assert_int_equal(sclaw_st_load_table(path, &a, buf, "exp_avg."), 0);
    assert_int_equal(sclaw_st_load_table(path, &a, buf, ""), SCLAW_E_SHAPE);

    /* a failed write leaves the existing file as it was: the target is a
     * directory's child that cannot be created */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/nodir/x.safetensors", tu_tmpdir());
    assert_int_equal(sclaw_st_save_table(bad, &a, buf, "", NULL), SCLAW_E_IO);
    assert_non_null(strstr(sclaw_errmsg(), "nodir/x.safetensors"));
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sclaw_st_load_table(path, &a, buf, "exp_avg."), 0);
    sclaw_tensor_table_free(&a);
    sclaw_tensor_table_free(&b);
    sclaw_tensor_table_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_table_mismatch),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tu_cleanup();
    return rc;
}
