/* test_study.c - running a study plan: skip finished runs, resume partial ones,
 * report failures and corrupt runs, collect the paper-schema table. The
 * trainer is tests/data/fake_train.sh here (it writes result.json like
 * `sclaw train`), so this tests the runner's bookkeeping, not training. */
#include "sclaw.h"
#include "sclaw_study.h"
#include "testutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char fake[PATH_MAX], calls[4200], dir[4200];

static void make_plan(struct sclaw_plan *p)
{
    const double budgets[] = {1e14, 3e14};
    const struct sclaw_arch *archs[] = {&sclaw_arch_mlstm, &sclaw_arch_llama};
    struct sclaw_plan_opts o = {0};
    o.budgets = budgets;
    o.nbudgets = 2;
    o.archs = archs;
    o.narchs = 2;
    o.ctx = 256;
    o.vocab = 1024;
    o.points = 3;
    o.warmup = -1;
    o.data = "unused-data-dir";
    assert_int_equal(sclaw_plan_isoflop(p, &o), SCLAW_OK);
    assert_int_equal(p->nruns, 12);
}

static int count_lines(const char *path, const char *needle)
{
    char *s = tu_read_file(path);
    int n = 0;
    for (char *q = s; q && (q = strstr(q, needle)); q++)
        n++;
    free(s);
    return n;
}

static void setup_paths(void)
{
    if (!realpath("tests/data/fake_train.sh", fake))
        fail_msg("tests/data/fake_train.sh not found");
    snprintf(calls, sizeof calls, "%s/calls.txt", tu_tmpdir());
    snprintf(dir, sizeof dir, "%s/study", tu_tmpdir());
    setenv("FAKE_CALLS", calls, 1);
    unsetenv("FAKE_FAIL");
}

static void test_run_skip_resume_collect(void **state)
{
    (void)state;
    struct sclaw_plan p;
    struct sclaw_study_opts o = {0};
    setup_paths();
    make_plan(&p);
    o.sclaw = fake;
    o.jobs = 2;
    o.nranks = 1;

    /* one run fails: the others still finish, and the error names it */
    setenv("FAKE_FAIL", p.runs[4].name, 1);
    assert_int_equal(sclaw_study_run(&p, dir, &o), SCLAW_E_NUMERIC);
    assert_non_null(strstr(sclaw_errmsg(), p.runs[4].name));
    assert_int_equal(count_lines(calls, "resume=0"), 12);

    /* a partial run (directory without result.json) is resumed */
    char rd[4400], cmd[9000];
    snprintf(rd, sizeof rd, "%s/%s", dir, p.runs[7].name);
    snprintf(cmd, sizeof cmd, "rm -f '%s/result.json'", rd);
    assert_int_equal(system(cmd), 0);
    struct sclaw_run_status *rs = calloc((size_t)p.nruns, sizeof *rs);
    sclaw_study_scan(&p, dir, rs);
    assert_int_equal(rs[4].state, SCLAW_RUN_PENDING); /* the fake failed before mkdir */
    assert_int_equal(rs[7].state, SCLAW_RUN_PARTIAL);
    assert_int_equal(rs[0].state, SCLAW_RUN_FINISHED);

    unsetenv("FAKE_FAIL");
    remove(calls);
    assert_int_equal(sclaw_study_run(&p, dir, &o), SCLAW_OK);
    /* only the two unfinished runs were trained again, the partial one with --resume */
    assert_int_equal(count_lines(calls, "\n"), 2);
    assert_int_equal(count_lines(calls, "resume=1"), 1);
    sclaw_study_scan(&p, dir, rs);
    for (int64_t i = 0; i < p.nruns; i++)
        assert_int_equal(rs[i].state, SCLAW_RUN_FINISHED);

    /* a third call trains nothing */
    remove(calls);
    assert_int_equal(sclaw_study_run(&p, dir, &o), SCLAW_OK);
    assert_null(tu_read_file(calls));

    /* collect: 12 rows in the paper schema, readable again */
    char csv[4400];
    int64_t n;
    snprintf(csv, sizeof csv, "%s/runs.csv", tu_tmpdir());
    assert_int_equal(sclaw_study_collect(dir, csv, &n), SCLAW_OK);
    assert_int_equal(n, 12);
    struct sclaw_csv t;
    assert_int_equal(sclaw_csv_read(&t, csv), SCLAW_OK);
    assert_int_equal(t.nrows, 12);
    int64_t cC, cB, cL;
    assert_int_equal(sclaw_csv_require(&t, "num_flops_training", &cC), 0);
    assert_int_equal(sclaw_csv_require(&t, "isoflop_budget_tag", &cB), 0);
    assert_int_equal(sclaw_csv_require(&t, "val_loss", &cL), 0);
    assert_string_equal(sclaw_csv_cell(&t, 0, cB), "1e+14");
    double C;
    sclaw_csv_double(&t, 0, cC, &C);
    tu_close(C, 1e14, 0.01, 0, "collected C");
    /* the collected table passes the accounting check of `sclaw count --runs` */
    struct sclaw_count_summary s;
    assert_int_equal(sclaw_count_run_table(&t, &s), SCLAW_OK);
    assert_int_equal(s.mismatched, 0);
    assert_int_equal(s.ok, 12);
    sclaw_csv_free(&t);

    /* a corrupt result is reported by status and skipped by collect */
    snprintf(rd, sizeof rd, "%s/%s/result.json", dir, p.runs[2].name);
    tu_write_file(rd, "{\"val_loss\": ");
    sclaw_study_scan(&p, dir, rs);
    assert_int_equal(rs[2].state, SCLAW_RUN_CORRUPT);
    assert_non_null(strstr(rs[2].problem, "result.json"));
    assert_int_equal(sclaw_study_collect(dir, csv, &n), SCLAW_OK);
    assert_int_equal(n, 11);
    /* and the runner refuses to overwrite it */
    assert_int_equal(sclaw_study_run(&p, dir, &o), SCLAW_E_NUMERIC);
    assert_non_null(strstr(sclaw_errmsg(), p.runs[2].name));
    free(rs);
    sclaw_plan_free(&p);
}

static void test_mpi_share(void **state)
{
    (void)state;
    struct sclaw_plan p;
    struct sclaw_study_opts o = {0};
    setup_paths();
    make_plan(&p);
    o.sclaw = fake;
    /* rank 1 of 3 trains runs 1, 4, 7, 10 */
    setenv("OMPI_COMM_WORLD_RANK", "1", 1);
    setenv("OMPI_COMM_WORLD_SIZE", "3", 1);
    sclaw_study_mpi_share(&o.rank, &o.nranks);
    unsetenv("OMPI_COMM_WORLD_RANK");
    unsetenv("OMPI_COMM_WORLD_SIZE");
    assert_int_equal(o.rank, 1);
    assert_int_equal(o.nranks, 3);
    char d2[4400];
    snprintf(d2, sizeof d2, "%s-mpi", dir);
    remove(calls);
    assert_int_equal(sclaw_study_run(&p, d2, &o), SCLAW_OK);
    assert_int_equal(count_lines(calls, "\n"), 4);
    for (int i = 1; i < 12; i += 3)
        assert_int_equal(count_lines(calls, p.runs[i].name), 1);
    sclaw_plan_free(&p);
}

static void test_study_cli_errors(void **state)
{
    (void)state;
    char *e, *o;
    assert_int_equal(tu_sclaw(NULL, &e, "study status /nonexistent"), 1);
    assert_non_null(strstr(e, "'/nonexistent' is not a study directory"));
    free(e);
    assert_int_equal(tu_sclaw(NULL, &e, "study collect /nonexistent --out x.csv"), 1);
    free(e);
    assert_int_equal(tu_sclaw(NULL, &e, "study run"), 2);
    free(e);
    assert_int_equal(tu_sclaw(NULL, &e, "study frobnicate"), 2);
    free(e);
    /* status of the study written by the first test */
    setup_paths();
    assert_int_equal(tu_sclaw(&o, NULL, "study status '%s'", dir), 0);
    assert_non_null(strstr(o, "corrupt"));
    free(o);
}

/* Runs the sclaw binary in the background; returns its pid. */
static pid_t start_sclaw(const char *args)
{
    const char *bin = getenv("SCLAW") ? getenv("SCLAW") : "build/sclaw";
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "exec %s %s >/dev/null 2>&1", bin, args);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Number of runs of the plan whose directory holds a checkpoint, and of
 * finished ones. */
static void progress_of(const struct sclaw_plan *p, const char *d, int *ckpt, int *done)
{
    char path[4600];
    *ckpt = *done = 0;
    for (int64_t i = 0; i < p->nruns; i++) {
        snprintf(path, sizeof path, "%s/%s/checkpoint.safetensors", d, p->runs[i].name);
        *ckpt += access(path, F_OK) == 0;
        snprintf(path, sizeof path, "%s/%s/result.json", d, p->runs[i].name);
        *done += access(path, F_OK) == 0;
    }
}

/* issue 7: a study killed with SIGKILL in the middle of a run and started
 * again completes with the runs.csv of an uninterrupted one (real trainer,
 * one thread, so the resumed runs continue bit for bit). */
static void test_sigkill_and_restart(void **state)
{
    (void)state;
    char d[4200], plan[4400], a[4400], b[4400], ca[4400], cb[4400];
    snprintf(d, sizeof d, "%s/kill", tu_tmpdir());
    assert_int_equal(mkdir(d, 0777), 0);
    tu_tiny_dataset(d);
    snprintf(plan, sizeof plan, "%s/plan.json", d);
    snprintf(a, sizeof a, "%s/uninterrupted", d);
    snprintf(b, sizeof b, "%s/killed", d);
    assert_int_equal(tu_sclaw(NULL, NULL, "plan isoflop --budgets 3e10,6e10 --model-type xlstm,llama"
                                          " --ctx 64 --vocab 300 --points 2 --batch 4 --min-steps 20"
                                          " --data '%s/data' --out '%s'", d, plan), 0);
    struct sclaw_plan p;
    assert_int_equal(sclaw_plan_load(&p, plan), SCLAW_OK);
    assert_true(p.nruns >= 6);

    assert_int_equal(tu_sclaw(NULL, NULL, "--threads 1 study run '%s' --out '%s'", plan, a), 0);

    /* kill the runner (and with it its trainer) once some run has a
     * checkpoint and at least one run is left */
    char args[9000];
    snprintf(args, sizeof args, "--threads 1 study run '%s' --out '%s'", plan, b);
    int killed = 0;
    for (int attempt = 0; attempt < 3 && !killed; attempt++) {
        pid_t pid = start_sclaw(args);
        for (int t = 0; t < 4000; t++) {
            int ckpt, done;
            progress_of(&p, b, &ckpt, &done);
            if (ckpt > done && done < p.nruns) {
                kill(pid, SIGKILL);
                killed = 1;
                break;
            }
            if (waitpid(pid, NULL, WNOHANG) == pid) {
                pid = 0;
                break;
            }
            usleep(2000);
        }
        if (pid > 0)
            waitpid(pid, NULL, 0);
    }
    assert_true(killed);
    usleep(200000); /* the trainer dies with the runner (PR_SET_PDEATHSIG) */
    struct sclaw_run_status *rs = calloc((size_t)p.nruns, sizeof *rs);
    sclaw_study_scan(&p, b, rs);
    int unfinished = 0;
    for (int64_t i = 0; i < p.nruns; i++)
        unfinished += rs[i].state != SCLAW_RUN_FINISHED;
    assert_true(unfinished > 0);
    free(rs);

    assert_int_equal(tu_sclaw(NULL, NULL, "%s", args), 0);
    snprintf(ca, sizeof ca, "%s/a.csv", d);
    snprintf(cb, sizeof cb, "%s/b.csv", d);
    assert_int_equal(tu_sclaw(NULL, NULL, "study collect '%s' --out '%s'", a, ca), 0);
    assert_int_equal(tu_sclaw(NULL, NULL, "study collect '%s' --out '%s'", b, cb), 0);
    struct sclaw_csv ta, tb;
    assert_int_equal(sclaw_csv_read(&ta, ca), SCLAW_OK);
    assert_int_equal(sclaw_csv_read(&tb, cb), SCLAW_OK);
    assert_int_equal(ta.nrows, p.nruns);
    assert_int_equal(tb.nrows, ta.nrows);
    int64_t src = sclaw_csv_col(&ta, "source");
    for (int64_t r = 0; r < ta.nrows; r++)
        for (int64_t c = 0; c < ta.ncols; c++)
            if (c != src && strcmp(sclaw_csv_cell(&ta, r, c), sclaw_csv_cell(&tb, r, c))) {
                fprintf(stderr, "row %lld column '%s': uninterrupted '%s', killed and resumed '%s'\n",
                        (long long)r, ta.header[c], sclaw_csv_cell(&ta, r, c), sclaw_csv_cell(&tb, r, c));
                fail();
            }
    sclaw_csv_free(&ta);
    sclaw_csv_free(&tb);
    sclaw_plan_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_skip_resume_collect),
        cmocka_unit_test(test_mpi_share),
        cmocka_unit_test(test_study_cli_errors),
        cmocka_unit_test(test_sigkill_and_restart),
    };
    return cmocka_run_group_tests(tests, NULL, tu_teardown);
}
