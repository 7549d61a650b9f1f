/* test_io.c - CSV tables, JSON helpers, the atomic writer and number formatting. */
#include "sclaw.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

static char path[4096];

static const char *tmp(const char *name)
{
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir(), name);
    return path;
}

/* Number of entries in the temp dir whose name contains ".tmp." */
static int leftover_temps(void)
{
    DIR *d = opendir(tu_tmpdir());
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static void test_csv_quoting_and_lines(void **state)
{
    (void)state;
    struct sclaw_csv t;
    tu_write_file(tmp("a.csv"), "name,value,note\r\n"
                                "x,1.5,\"has, comma\"\r\n"
                                "\n"
                                "y,2,\"two\nlines\"\n"
                                "z,,\"quote \"\"q\"\"\"\n");
    assert_int_equal(sclaw_csv_read(&t, path), SCLAW_OK);
    assert_int_equal(t.ncols, 3);
    assert_int_equal(t.nrows, 3);
    assert_string_equal(sclaw_csv_cell(&t, 0, 2), "has, comma");
    assert_string_equal(sclaw_csv_cell(&t, 1, 2), "two\nlines");
    assert_string_equal(sclaw_csv_cell(&t, 2, 2), "quote \"q\"");
    assert_int_equal(t.line[0], 2);
    assert_int_equal(t.line[1], 4);
    assert_int_equal(t.line[2], 6); /* after the two-line field */
    double v;
    assert_int_equal(sclaw_csv_double(&t, 0, 1, &v), SCLAW_OK);
    assert_true(v == 1.5);
    assert_int_equal(sclaw_csv_double(&t, 2, 1, &v), SCLAW_OK);
    assert_true(isnan(v)); /* empty cell */

    /* write back and read again: identical cells */
    struct sclaw_csv u;
    int64_t col, row;
    assert_int_equal(sclaw_csv_add_col(&t, "extra", &col), SCLAW_OK);
    assert_int_equal(sclaw_csv_add_row(&t, &row), SCLAW_OK);
    assert_int_equal(sclaw_csv_set_double(&t, row, col, 0.1), SCLAW_OK);
    char out[4096];
    snprintf(out, sizeof out, "%s", tmp("b.csv"));
    assert_int_equal(sclaw_csv_write(&t, out), SCLAW_OK);
    assert_int_equal(sclaw_csv_read(&u, out), SCLAW_OK);
    assert_int_equal(u.nrows, 4);
    assert_int_equal(u.ncols, 4);
    for (int64_t i = 0; i < t.nrows * t.ncols; i++)
        assert_string_equal(t.cells[i], u.cells[i]);
    assert_int_equal(sclaw_csv_double(&u, 3, 3, &v), SCLAW_OK);
    assert_true(v == 0.1); /* 17 digits round-trip */
    sclaw_csv_free(&t);
    sclaw_csv_free(&u);
}

static void test_csv_errors(void **state)
{
    (void)state;
    struct sclaw_csv t;
    tu_write_file(tmp("bad.csv"), "a,b\n1,2\n3\n");
    assert_int_equal(sclaw_csv_read(&t, path), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "bad.csv:3: 1 fields, the header has 2"));

    tu_write_file(tmp("open.csv"), "a,b\n1,\"open\n");
    assert_int_equal(sclaw_csv_read(&t, path), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "open.csv:2: unterminated quoted field"));

    tu_write_file(tmp("empty.csv"), "");
    assert_int_equal(sclaw_csv_read(&t, path), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "empty file"));

    assert_int_equal(sclaw_csv_read(&t, "/nonexistent/x.csv"), SCLAW_E_IO);

    tu_write_file(tmp("num.csv"), "loss,n\n2.5,1e8\nabc,2\n");
    assert_int_equal(sclaw_csv_read(&t, path), SCLAW_OK);
    int64_t c;
    double v;
    assert_int_equal(sclaw_csv_require(&t, "missing", &c), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "num.csv: missing column 'missing'"));
    assert_int_equal(sclaw_csv_double(&t, 1, 0, &v), SCLAW_E_FORMAT);
    assert_non_null(strstr(sclaw_errmsg(), "num.csv:3: column 'loss': 'abc' is not a number"));
    sclaw_csv_free(&t);
}

static void test_atomic_keeps_old_file(void **state)
{
    (void)state;
    char target[4096];
    snprintf(target, sizeof target, "%s", tmp("keep.txt"));
    assert_int_equal(sclaw_atomic_write(target, "old", 3), SCLAW_OK);

    /* an aborted write leaves the old contents and no temporary file */
    struct sclaw_atomic a;
    assert_int_equal(sclaw_atomic_open(&a, target, "w"), SCLAW_OK);
    fputs("half-written", a.fp);
    sclaw_atomic_abort(&a);
    char *s = tu_read_file(target);
    assert_string_equal(s, "old");
    free(s);
    assert_int_equal(leftover_temps(), 0);

    /* a directory that does not exist: error naming the file, nothing created */
    char bad[4200];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.json", tu_tmpdir());
    json_t *o = json_pack("{s:i}", "a", 1);
    assert_int_equal(sclaw_json_write(bad, o), SCLAW_E_IO);
    assert_non_null(strstr(sclaw_errmsg(), bad));
    json_decref(o);

    /* committing replaces the file */
    assert_int_equal(sclaw_atomic_write(target, "new", 3), SCLAW_OK);
    s = tu_read_file(target);
    assert_string_equal(s, "new");
    free(s);
    assert_int_equal(leftover_temps(), 0);
}

static void test_atomic_full_disk(void **state)
{
    (void)state;
    /* /dev/full accepts the open but every write fails: the error must be
     * reported at commit, not lost in a buffer. Skipped where absent. */
    if (access("/dev/full", W_OK) != 0)
        skip();
    FILE *fp = fopen("/dev/full", "w");
    assert_non_null(fp);
    struct sclaw_atomic a = {0};
    a.fp = fp;
    a.path = strdup("/dev/full");
    a.tmp = NULL;
    fputs("data", fp);
    assert_int_equal(sclaw_atomic_commit(&a), SCLAW_E_IO);
    assert_non_null(strstr(sclaw_errmsg(), "cannot write '/dev/full'"));
}

static void test_json_helpers(void **state)
{
    (void)state;
    json_t *i = sclaw_json_number(6865424896.0), *r = sclaw_json_number(0.5),
           *n = sclaw_json_number(NAN);
    assert_true(json_is_integer(i) && json_integer_value(i) == 6865424896LL);
    assert_true(json_is_real(r));
    assert_true(json_is_null(n));
    json_decref(i);
    json_decref(r);
    json_decref(n);
    /* reals survive a write/load round trip with all 17 digits */
    json_t *o = json_pack("{s:f}", "x", 0.1 + 0.2);
    assert_int_equal(sclaw_json_write(tmp("r.json"), o), SCLAW_OK);
    json_t *back;
    assert_int_equal(sclaw_json_load(path, &back), SCLAW_OK);
    assert_true(json_real_value(json_object_get(back, "x")) == 0.1 + 0.2);
    json_decref(o);
    json_decref(back);
}

static void test_number_formatting(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(sclaw_fmt_group(b, sizeof b, 6865424896.0), "6,865,424,896");
    assert_string_equal(sclaw_fmt_group(b, sizeof b, -1234.0), "-1,234");
    assert_string_equal(sclaw_fmt_group(b, sizeof b, 999.0), "999");
    assert_string_equal(sclaw_fmt_si(b, sizeof b, 164110224.0), "164.1M");
    assert_string_equal(sclaw_fmt_si(b, sizeof b, 2.809833e18), "2.81e+18");
    int64_t k;
    assert_int_equal(sclaw_parse_int64("12.0", &k), 0);
    assert_int_equal(k, 12);
    assert_int_equal(sclaw_parse_int64("12.5", &k), -1);
    double v;
    assert_int_equal(sclaw_parse_double("1e3x", &v), -1);
    assert_int_equal(sclaw_parse_double(" 2 ", &v), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_quoting_and_lines), cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_atomic_keeps_old_file), cmocka_unit_test(test_atomic_full_disk),
        cmocka_unit_test(test_json_helpers),          cmocka_unit_test(test_number_formatting),
    };
    return cmocka_run_group_tests(tests, NULL, tu_teardown);
}
