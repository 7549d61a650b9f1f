/* test_mpi.c - data-parallel training over Open MPI: a 2-rank run with the
 * same global batch gives the losses, gradient norms and weights of the
 * 1-process run (to float tolerance), and a batch that does not split over the
 * ranks is refused. Skipped when sclaw was built without MPI or mpirun is
 * missing. Runs each rank single-threaded with --oversubscribe (2 cores). */
#define _GNU_SOURCE
#include "sclaw.h"
#include "sclaw_dist.h"
#include "sclaw_safetensors.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[4200];

static int have_mpirun(void)
{
    return sclaw_dist_available() && system("command -v mpirun >/dev/null 2>&1") == 0;
}

/* mpirun as root needs these; ranks get no leak check (Open MPI keeps
 * process-lifetime allocations that LeakSanitizer would report). */
static const char *mpirun(void)
{
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    return "mpirun --oversubscribe -x ASAN_OPTIONS -np";
}

static void prepare(void)
{
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    char cfg[4400];
    tu_tiny_dataset(dir);
    snprintf(cfg, sizeof cfg, "%s/x.json", dir);
    tu_write_file(cfg, "{\"model_type\": \"xlstm\", \"embedding_dim\": 64, \"num_blocks\": 2,"
                       " \"num_heads\": 1, \"vocab_size\": 300, \"context_length\": 64,"
                       " \"chunk_size\": 16}");
    snprintf(cfg, sizeof cfg, "%s/l.json", dir);
    tu_write_file(cfg, "{\"model_type\": \"llama\", \"embedding_dim\": 64, \"num_blocks\": 2,"
                       " \"num_heads\": 2, \"vocab_size\": 300, \"context_length\": 64}");
}

/* Column `name` of a run's log.csv: n values into v. */
static void log_column(const char *run, const char *name, double *v, int64_t n)
{
    char p[4400];
    struct sclaw_csv t;
    int64_t c;
    snprintf(p, sizeof p, "%s/log.csv", run);
    assert_int_equal(sclaw_csv_read(&t, p), SCLAW_OK);
    assert_int_equal(t.nrows, n);
    assert_int_equal(sclaw_csv_require(&t, name, &c), SCLAW_OK);
    for (int64_t i = 0; i < n; i++)
        assert_int_equal(sclaw_csv_double(&t, i, c, &v[i]), SCLAW_OK);
    sclaw_csv_free(&t);
}

/* All tensors of model.safetensors, concatenated; *n receives the count. */
static float *weights(const char *run, int64_t *n)
{
    char p[4400];
    struct sclaw_st_file f;
    snprintf(p, sizeof p, "%s/model.safetensors", run);
    assert_int_equal(sclaw_st_open(&f, p), SCLAW_OK);
    *n = 0;
    for (int64_t i = 0; i < f.n; i++)
        *n += f.e[i].numel;
    float *w = malloc((size_t)*n * sizeof *w), *o = w;
    for (int64_t i = 0; i < f.n; i++) {
        assert_int_equal(sclaw_st_read(&f, i, o), SCLAW_OK);
        o += f.e[i].numel;
    }
    sclaw_st_close(&f);
    return w;
}

static void check_family(const char *cfgname)
{
    char r1[4400], r2[4400];
    const int64_t steps = 4;
    snprintf(r1, sizeof r1, "%s/%s-1", dir, cfgname);
    snprintf(r2, sizeof r2, "%s/%s-2", dir, cfgname);
    assert_int_equal(tu_sclaw(NULL, NULL, "--threads 1 train '%s/%s.json' --data '%s/data' --out '%s'"
                                          " --steps %lld --batch 4 --eval-every 2", dir, cfgname,
                              dir, r1, (long long)steps), 0);
    /* the same run on 2 ranks: tu_sclaw runs "$SCLAW args", so prefix mpirun */
    char cmd[20000], *err = NULL;
    const char *bin = getenv("SCLAW") ? getenv("SCLAW") : "build/sclaw";
    snprintf(cmd, sizeof cmd, "%s 2 %s --threads 1 train '%s/%s.json' --data '%s/data' --out '%s'"
                              " --steps %lld --batch 4 --eval-every 2 >/dev/null 2>'%s/mpi.err'",
             mpirun(), bin, dir, cfgname, dir, r2, (long long)steps, dir);
    int rc = system(cmd);
    if (rc != 0) {
        char p[4400];
        snprintf(p, sizeof p, "%s/mpi.err", dir);
        err = tu_read_file(p);
        fprintf(stderr, "mpirun failed (%d): %s\n", rc, err ? err : "");
        free(err);
        fail();
    }
    double a[4], b[4];
    log_column(r1, "train_loss", a, steps);
    log_column(r2, "train_loss", b, steps);
    tu_allclose_d(b, a, steps, 1e-5, 0, "train_loss, 2 ranks vs 1");
    log_column(r1, "grad_norm", a, steps);
    log_column(r2, "grad_norm", b, steps);
    tu_allclose_d(b, a, steps, 1e-4, 0, "grad_norm, 2 ranks vs 1");
    log_column(r1, "val_loss", a, steps);
    log_column(r2, "val_loss", b, steps);
    tu_allclose_d(b, a, steps, 1e-5, 0, "val_loss, 2 ranks vs 1");
    int64_t n1, n2;
    float *w1 = weights(r1, &n1), *w2 = weights(r2, &n2);
    assert_int_equal(n1, n2);
    /* AdamW normalises each update, so weights whose gradient is near 0 move by
     * up to lr per step whatever its rounding: compare on that scale */
    tu_allclose_f(w2, w1, n1, 1e-3, 1e-4, "weights after training, 2 ranks vs 1");
    free(w1);
    free(w2);
}

static void test_two_ranks_equal_one(void **state)
{
    (void)state;
    if (!have_mpirun())
        skip();
    prepare();
    check_family("x");
    check_family("l");
}

static void test_batch_must_split(void **state)
{
    (void)state;
    if (!have_mpirun())
        skip();
    char cmd[20000], p[4400];
    const char *bin = getenv("SCLAW") ? getenv("SCLAW") : "build/sclaw";
    snprintf(cmd, sizeof cmd, "%s 3 %s --threads 1 train '%s/x.json' --data '%s/data' --out '%s/bad'"
                              " --steps 2 --batch 4 >/dev/null 2>'%s/bad.err'",
             mpirun(), bin, dir, dir, dir, dir);
    assert_true(system(cmd) != 0);
    snprintf(p, sizeof p, "%s/bad.err", dir);
    char *err = tu_read_file(p);
    assert_non_null(strstr(err, "does not split over 3 MPI ranks"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_ranks_equal_one),
        cmocka_unit_test(test_batch_must_split),
    };
    return cmocka_run_group_tests(tests, NULL, tu_teardown);
}
