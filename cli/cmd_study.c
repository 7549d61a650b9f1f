/* cmd_study.c - `sclaw study run|status|collect`: train a planned study,
 * resume it, and collect its results (sclaw_study.h). */
#define _GNU_SOURCE
#include "cli.h"
#include "progress.h"
#include "sclaw.h"
#include "sclaw_study.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { O_OUT = 1000, O_DATA, O_JOBS };

static const struct cli_opt run_opts[] = {
    {"out", O_OUT, "DIR", "study directory (created; an existing one is resumed)"},
    {"jobs", 'j', "K", "runs trained at once, sharing the threads (default 1)"},
    {"data", O_DATA, "DIR", "token dataset (default: the one the plan names)"},
    {NULL, 0, NULL, NULL},
};
static const struct cli_cmd_info run_info = {
    "study run", "sclaw study run PLAN.json --out DIR [-j K] [--data DIR]",
    "Trains every run of the plan into DIR/<run>/ with `sclaw train`: finished runs are skipped,\n"
    "partial ones resumed from their checkpoints, so the command can be killed at any moment and\n"
    "started again. Each run's output goes to DIR/logs/<run>.log. Under Open MPI\n"
    "(`mpirun -np K sclaw study run ...`) every rank trains its share of the runs.",
    run_opts,
};
static const struct cli_opt status_opts[] = {{NULL, 0, NULL, NULL}};
static const struct cli_cmd_info status_info = {
    "study status", "sclaw study status DIR [--json]",
    "Lists every planned run of a study directory: pending, partial (with its last step),\n"
    "finished (with its validation loss) or corrupt.",
    status_opts,
};
static const struct cli_opt collect_opts[] = {
    {"out", O_OUT, "runs.csv", "where to write the run table (required)"},
    {NULL, 0, NULL, NULL},
};
static const struct cli_cmd_info collect_info = {
    "study collect", "sclaw study collect DIR --out runs.csv",
    "Writes the finished runs of a study as a run table in the paper's CSV schema, which every\n"
    "`sclaw fit` command reads. Unfinished and corrupt runs are reported and skipped.",
    collect_opts,
};
static const struct cli_cmd_info study_info = {
    "study", "sclaw study run|status|collect ...",
    "Runs planned scaling studies (see `sclaw plan`). 'sclaw study <sub> --help' for each.", NULL,
};

static volatile int stop_flag;
static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void on_progress(const struct sclaw_study_progress *pr, void *user)
{
    struct cli_progress *p = user;
    char eta[32], el[32];
    if (pr->event)
        cli_progress_event(p, "study: %s", pr->event);
    double left = pr->flops_total - pr->flops_done;
    cli_fmt_duration(eta, sizeof eta, pr->flops_per_s > 0 ? left / pr->flops_per_s : -1);
    cli_fmt_duration(el, sizeof el, pr->seconds);
    cli_progress_line(p, "study: %lld/%lld runs done, %lld running | %.3g of %.3g FLOPs (%.0f%%) | "
                         "%.3g GFLOP/s | %s elapsed, ETA %s",
                      (long long)pr->runs_done, (long long)pr->runs_total,
                      (long long)pr->runs_running, pr->flops_done, pr->flops_total,
                      pr->flops_total > 0 ? 100 * pr->flops_done / pr->flops_total : 0,
                      pr->flops_per_s / 1e9, el, eta);
}

static int study_run(int argc, char **argv)
{
    const char *arg, *out = NULL, *data = NULL;
    int64_t jobs = 1;
    int c;
    while ((c = cli_next(argc, argv, &run_info, &arg))) {
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case O_OUT: out = arg; break;
        case O_DATA: data = arg; break;
        case 'j': if (cli_int64("study run", "jobs", arg, 1, &jobs)) return 2; break;
        }
    }
    if (cli_optind() != argc - 1)
        return cli_usage("study run", "expected one PLAN.json");
    if (!out)
        return cli_usage("study run", "--out DIR is required");
    struct sclaw_plan p;
    int st = sclaw_plan_load(&p, argv[cli_optind()]);
    if (st)
        return cli_fail("study run", st);

    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        sclaw_plan_free(&p);
        return cli_fail("study run", sclaw_fail(SCLAW_E_IO, "cannot find the sclaw executable"));
    }
    self[n] = '\0';

    struct cli_progress prog;
    cli_progress_init(&prog);
    struct sclaw_study_opts o = {0};
    o.sclaw = self;
    o.data = data;
    o.jobs = (int)jobs;
    o.threads = cli.threads;
    o.stop = &stop_flag;
    o.progress = on_progress;
    o.user = &prog;
    sclaw_study_mpi_share(&o.rank, &o.nranks);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    st = sclaw_study_run(&p, out, &o);
    cli_progress_done(&prog);
    sclaw_plan_free(&p);
    if (st)
        return cli_fail("study run", st);
    if (!cli.quiet)
        fprintf(stderr, "study: every run is finished; collect with 'sclaw study collect %s --out runs.csv'\n", out);
    return 0;
}

static int study_status(int argc, char **argv)
{
    const char *arg;
    int c;
    while ((c = cli_next(argc, argv, &status_info, &arg))) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return 2;
    }
    if (cli_optind() != argc - 1)
        return cli_usage("study status", "expected one study directory");
    const char *dir = argv[cli_optind()];
    char path[4200];
    struct sclaw_plan p;
    snprintf(path, sizeof path, "%s/plan.json", dir);
    int st = sclaw_plan_load(&p, path);
    if (st)
        return cli_fail("study status", sclaw_wrap(st, "'%s' is not a study directory", dir));
    struct sclaw_run_status *rs = calloc((size_t)p.nruns, sizeof *rs);
    sclaw_study_scan(&p, dir, rs);
    int64_t count[4] = {0};
    double done = 0, total = 0;
    json_t *list = json_array();
    const char *head[] = {"run", "state", "step", "of", "val_loss", "FLOPs"};
    struct sclaw_table tb;
    sclaw_table_init(&tb, 6, head);
    for (int64_t i = 0; i < p.nruns; i++) {
        const struct sclaw_plan_run *r = &p.runs[i];
        char step[32], of[32], loss[32], fl[32];
        count[rs[i].state]++;
        total += r->num_flops_training;
        done += r->num_flops_training * (double)rs[i].step / (double)r->steps;
        snprintf(step, sizeof step, "%lld", (long long)rs[i].step);
        snprintf(of, sizeof of, "%lld", (long long)r->steps);
        snprintf(loss, sizeof loss, rs[i].state == SCLAW_RUN_FINISHED ? "%.4f" : "-", rs[i].val_loss);
        snprintf(fl, sizeof fl, "%.3g", r->num_flops_training);
        const char *cells[] = {r->name, sclaw_run_state_str(rs[i].state), step, of, loss, fl};
        sclaw_table_add(&tb, cells);
        json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:o, s:f}", "name", r->name, "state",
                              sclaw_run_state_str(rs[i].state), "step", (json_int_t)rs[i].step,
                              "steps", (json_int_t)r->steps, "val_loss",
                              rs[i].state == SCLAW_RUN_FINISHED ? json_real(rs[i].val_loss) : json_null(),
                              "num_flops_training", r->num_flops_training);
        if (rs[i].state == SCLAW_RUN_CORRUPT)
            json_object_set_new(j, "problem", json_string(rs[i].problem));
        json_array_append_new(list, j);
    }
    if (cli.json) {
        sclaw_json_print(list, stdout);
    } else {
        sclaw_table_print(&tb, stdout);
        printf("\n%lld runs: %lld finished, %lld partial, %lld pending, %lld corrupt; "
               "%.3g of %.3g FLOPs done (%.0f%%)\n",
               (long long)p.nruns, (long long)count[SCLAW_RUN_FINISHED],
               (long long)count[SCLAW_RUN_PARTIAL], (long long)count[SCLAW_RUN_PENDING],
               (long long)count[SCLAW_RUN_CORRUPT], done, total, total > 0 ? 100 * done / total : 0);
        for (int64_t i = 0; i < p.nruns; i++)
            if (rs[i].state == SCLAW_RUN_CORRUPT)
                printf("corrupt: %s: %s\n", p.runs[i].name, rs[i].problem);
    }
    json_decref(list);
    sclaw_table_free(&tb);
    free(rs);
    sclaw_plan_free(&p);
    return 0;
}

static int study_collect(int argc, char **argv)
{
    const char *arg, *out = NULL;
    int c;
    while ((c = cli_next(argc, argv, &collect_info, &arg))) {
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case O_OUT: out = arg; break;
        }
    }
    if (cli_optind() != argc - 1)
        return cli_usage("study collect", "expected one study directory");
    if (!out)
        return cli_usage("study collect", "--out runs.csv is required");
    int64_t n;
    int st = sclaw_study_collect(argv[cli_optind()], out, &n);
    if (st)
        return cli_fail("study collect", st);
    if (cli.json) {
        json_t *o = json_pack("{s:s, s:I}", "out", out, "runs", (json_int_t)n);
        sclaw_json_print(o, stdout);
        json_decref(o);
    } else if (!cli.quiet)
        fprintf(stderr, "%lld finished runs written to %s\n", (long long)n, out);
    return 0;
}

int cmd_study(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "run"))
        return study_run(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "status"))
        return study_status(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "collect"))
        return study_collect(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        cli_help(&study_info, stdout);
        return 0;
    }
    return cli_usage("study", argc < 2 ? "expected run, status or collect"
                                       : "unknown subcommand (expected run, status or collect)");
}
