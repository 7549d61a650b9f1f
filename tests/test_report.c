/* test_report.c - `sclaw report paper|inference` (sclaw_report.h): the paper
 * table is consistent with itself, the reports reproduce it from the paper's
 * data, write every file they list, and fail cleanly on bad input. */
#define _POSIX_C_SOURCE 200809L
#include "sclaw_report.h"
#include "sclaw_status.h"
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && sb.st_size > 0;
}

static int judged(const struct sclaw_report_result *r)
{
    int n = 0;
    for (int64_t i = 0; i < r->n_checks; i++)
        n += r->checks[i].ref->rtol >= 0;
    return n;
}

/* Keys are unique, every row has a section and a sane tolerance, lookup works. */
static void test_paper_table_wellformed(void **state)
{
    (void)state;
    assert_true(sclaw_paper_nvalues > 150);
    for (int64_t i = 0; i < sclaw_paper_nvalues; i++) {
        const struct sclaw_paper_value *v = &sclaw_paper_values[i];
        assert_true(v->key && v->key[0] && v->section && v->section[0] && v->what && v->what[0]);
        assert_true(isfinite(v->value));
        assert_true(v->rtol < 0 || v->rtol <= 0.1);
        for (int64_t j = 0; j < i; j++)
            if (!strcmp(v->key, sclaw_paper_values[j].key))
                fail_msg("duplicate key '%s'", v->key);
        assert_ptr_equal(sclaw_paper_value(v->key), v);
    }
    assert_null(sclaw_paper_value("no.such.key"));
}

/* The transcribed optimal table (§7) follows from the transcribed Transformer
 * power law (§5.3) by C* = (N/A')^(1/a), D* = B' C*^b: an independent check
 * that the two tables were copied correctly (3 printed digits). */
static void test_paper_table_consistent(void **state)
{
    (void)state;
    static const struct {
        const char *tag;
        double N;
    } sizes[] = {{"100M", 1e8}, {"1B", 1e9}, {"8B", 8e9}, {"175B", 1.75e11}};
    double A = sclaw_paper_value("iso.llama.ctx8192.b4.Acoef")->value;
    double a = sclaw_paper_value("iso.llama.ctx8192.b4.a")->value;
    double B = sclaw_paper_value("iso.llama.ctx8192.b4.Bcoef")->value;
    double b = sclaw_paper_value("iso.llama.ctx8192.b4.b")->value;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char key[64];
        double C = pow(sizes[i].N / A, 1 / a), D = B * pow(C, b);
        snprintf(key, sizeof key, "opt.llama.%s.C", sizes[i].tag);
        tu_close(C, sclaw_paper_value(key)->value, 5e-3, 0, key);
        snprintf(key, sizeof key, "opt.llama.%s.D", sizes[i].tag);
        tu_close(D, sclaw_paper_value(key)->value, 5e-3, 0, key);
    }
    /* headline E = exp(e) of §4.6 (e = 0.011783, 0.113342) */
    tu_close(sclaw_paper_value("lnd.llama.free.E")->value, exp(0.011783), 5e-5, 0, "E llama");
    tu_close(sclaw_paper_value("lnd.xlstm.free.E")->value, exp(0.113342), 5e-5, 0, "E xlstm");
}

/* The whole paper report from data/paper (default grid): every judged number
 * within its tolerance, nothing missing, every listed file written. */
static void test_report_paper(void **state)
{
    (void)state;
    char out[4200], path[4300];
    snprintf(out, sizeof out, "%s/paper", tu_tmpdir());
    struct sclaw_report_opts o = {0};
    o.data_dir = tu_path("data/paper");
    o.out_dir = out;
    struct sclaw_report_result r;
    assert_int_equal(sclaw_report_paper(&o, &r), SCLAW_OK);
    for (int64_t i = 0; i < r.n_checks; i++) {
        const struct sclaw_report_check *k = &r.checks[i];
        assert_int_equal(strncmp(k->ref->key, "infer.", 6) != 0, 1);
        if (k->ref->rtol >= 0 && !k->ok)
            fail_msg("%s: paper %.6g, sclaw %.6g (rel %.3g > %.1g)", k->ref->key, k->ref->value,
                     k->got, k->rel, k->ref->rtol);
    }
    assert_true(r.n_checks > 140);
    assert_int_equal(r.n_missing, 0);
    assert_int_equal(r.n_ok, judged(&r));
    /* report.md + 4 figures x (png, svg) */
    assert_int_equal(r.n_files, 9);
    for (int64_t i = 0; i < r.n_files; i++)
        assert_true(exists(r.files[i]));
    snprintf(path, sizeof path, "%s/report.md", out);
    char *md = tu_read_file(path);
    assert_non_null(md);
    assert_non_null(strstr(md, "**640 runs**"));
    assert_non_null(strstr(md, "![IsoFLOP parabolas](isoflop.png)"));
    assert_non_null(strstr(md, "| Transformer optimal C at N=1B | 7 | 1.7800e+20 |"));
    assert_null(strstr(md, "**differs**"));
    free(md);
    sclaw_report_result_free(&r);
}

/* The inference report: the paper's fits reproduced; an extra table gets its
 * own figures; a bad extra table fails naming the file and leaves no
 * report.md. */
static void test_report_inference(void **state)
{
    (void)state;
    char out[4200], path[4300], extra[4300];
    snprintf(out, sizeof out, "%s/inf", tu_tmpdir());
    /* a small table in the same schema: the first 60 rows of the xLSTM one */
    char *src = tu_read_file(tu_path("data/paper/inference_xlstm.csv"));
    assert_non_null(src);
    char *p = src;
    for (int line = 0; line < 61 && p; line++)
        p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    assert_non_null(p);
    *p = 0;
    snprintf(extra, sizeof extra, "%s/my-bench.csv", tu_tmpdir());
    tu_write_file(extra, src);
    free(src);

    const char *extras[1] = {extra};
    struct sclaw_report_opts o = {0};
    o.data_dir = tu_path("data/paper");
    o.out_dir = out;
    o.extra = extras;
    o.n_extra = 1;
    struct sclaw_report_result r;
    assert_int_equal(sclaw_report_inference(&o, &r), SCLAW_OK);
    assert_int_equal(r.n_missing, 0);
    assert_int_equal(r.n_ok, judged(&r));
    assert_int_equal(r.n_checks, 36); /* 6 sizes x 2 families x 2 TTFT + 6 x 2 step */
    assert_int_equal(r.n_files, 11);  /* report.md, (3 paper + 2 extra figures) x (png, svg) */
    for (int64_t i = 0; i < r.n_files; i++)
        assert_true(exists(r.files[i]));
    snprintf(path, sizeof path, "%s/ttft_my-bench.png", out);
    assert_true(exists(path));
    snprintf(path, sizeof path, "%s/fit_params.svg", out);
    assert_true(exists(path));
    snprintf(path, sizeof path, "%s/report.md", out);
    char *md = tu_read_file(path);
    assert_non_null(strstr(md, "## my-bench"));
    assert_non_null(strstr(md, "| xlstm_160m | 1.64e+08 | 60 | 163.4 |"));
    free(md);
    sclaw_report_result_free(&r);

    /* bad extra table: a missing column */
    snprintf(out, sizeof out, "%s/inf-bad", tu_tmpdir());
    snprintf(extra, sizeof extra, "%s/broken.csv", tu_tmpdir());
    tu_write_file(extra, "model_type,model_tag,batchsize\nxlstm,x,1\n");
    o.out_dir = out;
    assert_int_not_equal(sclaw_report_inference(&o, &r), SCLAW_OK);
    assert_non_null(strstr(sclaw_errmsg(), "broken.csv"));
    assert_null(r.checks);
    snprintf(path, sizeof path, "%s/report.md", out);
    assert_false(exists(path));
}

static void test_bad_directories(void **state)
{
    (void)state;
    char out[4200], file[4300];
    struct sclaw_report_result r;
    struct sclaw_report_opts o = {0};
    /* data directory without the CSVs: the message names the file */
    snprintf(out, sizeof out, "%s/nodata", tu_tmpdir());
    o.data_dir = tu_tmpdir();
    o.out_dir = out;
    assert_int_equal(sclaw_report_paper(&o, &r), SCLAW_E_IO);
    assert_non_null(strstr(sclaw_errmsg(), "runs_all.csv"));
    assert_int_equal(sclaw_report_inference(&o, &r), SCLAW_E_IO);
    assert_non_null(strstr(sclaw_errmsg(), "inference_xlstm.csv"));
    /* output path that is a regular file */
    snprintf(file, sizeof file, "%s/plain", tu_tmpdir());
    tu_write_file(file, "x");
    o.data_dir = tu_path("data/paper");
    o.out_dir = file;
    assert_int_equal(sclaw_report_inference(&o, &r), SCLAW_E_IO);
    assert_non_null(strstr(sclaw_errmsg(), "not a directory"));
    o.out_dir = NULL;
    assert_int_equal(sclaw_report_paper(&o, &r), SCLAW_E_ARG);
}

/* The command line: usage errors exit 2, runtime errors 1, --json parses. */
static void test_cli(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    assert_int_equal(tu_sclaw(NULL, &err, "report"), 2);
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "report bogus"), 2);
    assert_non_null(strstr(err, "unknown subcommand 'bogus'"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "report paper --nope"), 2);
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "report paper extra-arg"), 2);
    free(err);
    assert_int_equal(tu_sclaw(&out, NULL, "report paper --help"), 0);
    assert_non_null(strstr(out, "--full-grid"));
    free(out);
    assert_int_equal(tu_sclaw(NULL, &err, "report inference --data '%s/none' --out '%s/o1'",
                              tu_tmpdir(), tu_tmpdir()),
                     1);
    assert_non_null(strstr(err, "sclaw report inference: error:"));
    assert_non_null(strstr(err, "inference_xlstm.csv"));
    free(err);
    assert_int_equal(tu_sclaw(&out, NULL, "--json report inference --out '%s/o2'", tu_tmpdir()), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "n_checks")), 36);
    assert_int_equal(json_integer_value(json_object_get(j, "n_ok")), 24);
    assert_int_equal(json_array_size(json_object_get(j, "files")), 7);
    json_decref(j);
    free(out);
    /* --csv is the global flag; the files follow it as positional arguments */
    assert_int_equal(tu_sclaw(NULL, &err, "report inference --csv --out '%s/o3'", tu_tmpdir()), 2);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paper_table_wellformed),
        cmocka_unit_test(test_paper_table_consistent),
        cmocka_unit_test(test_report_paper),
        cmocka_unit_test(test_report_inference),
        cmocka_unit_test(test_bad_directories),
        cmocka_unit_test(test_cli),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tu_cleanup();
    return rc;
}
