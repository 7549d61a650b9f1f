/* runner.c - run the trainings of a study plan as child processes of
 * `sclaw train`, skipping finished runs and resuming partial ones
 * (sclaw_study.h). Each child trains one run directory; the parent only
 * schedules, watches progress through the runs' log.csv, and reports. */
#define _GNU_SOURCE
#include "sclaw_study.h"
#include "sclaw_io.h"
#include "sclaw_status.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *sclaw_run_state_str(enum sclaw_run_state s)
{
    switch (s) {
    case SCLAW_RUN_PENDING: return "pending";
    case SCLAW_RUN_PARTIAL: return "partial";
    case SCLAW_RUN_FINISHED: return "finished";
    case SCLAW_RUN_CORRUPT: return "corrupt";
    }
    return "?";
}

static int is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Last logged step of a run from the first column of RUNDIR/log.csv (0 if none). */
static int64_t last_logged_step(const char *rundir)
{
    char path[4200], line[1024], last[1024] = "";
    snprintf(path, sizeof path, "%s/log.csv", rundir);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    /* the log is small (one line per logged step); keep the last full line */
    while (fgets(line, sizeof line, fp))
        if (strchr(line, '\n'))
            memcpy(last, line, sizeof last);
    fclose(fp);
    int64_t step;
    char *comma = strchr(last, ',');
    if (!comma)
        return 0;
    *comma = '\0';
    return sclaw_parse_int64(last, &step) == 0 ? step : 0;
}

static void scan_one(const struct sclaw_plan_run *r, const char *dir, struct sclaw_run_status *st)
{
    char rundir[4200], res[4400];
    memset(st, 0, sizeof *st);
    snprintf(rundir, sizeof rundir, "%s/%s", dir, r->name);
    snprintf(res, sizeof res, "%s/result.json", rundir);
    if (!is_dir(rundir)) {
        st->state = SCLAW_RUN_PENDING;
        return;
    }
    if (access(res, F_OK) != 0) {
        st->state = SCLAW_RUN_PARTIAL;
        st->step = last_logged_step(rundir);
        return;
    }
    json_t *o;
    st->state = SCLAW_RUN_CORRUPT;
    if (sclaw_json_load(res, &o)) {
        snprintf(st->problem, sizeof st->problem, "%s", sclaw_errmsg());
        return;
    }
    const json_t *loss = json_object_get(o, "val_loss"), *steps = json_object_get(o, "num_train_steps");
    if (!json_is_number(loss) || !isfinite(json_number_value(loss)))
        snprintf(st->problem, sizeof st->problem, "%.200s: no finite 'val_loss'", res);
    else if (!json_is_number(steps) || json_number_value(steps) != (double)r->steps)
        snprintf(st->problem, sizeof st->problem, "%.200s: 'num_train_steps' is not the planned %lld",
                 res, (long long)r->steps);
    else {
        st->state = SCLAW_RUN_FINISHED;
        st->val_loss = json_number_value(loss);
        st->step = r->steps;
    }
    json_decref(o);
}

int sclaw_study_scan(const struct sclaw_plan *p, const char *dir, struct sclaw_run_status *st)
{
    for (int64_t i = 0; i < p->nruns; i++)
        scan_one(&p->runs[i], dir, &st[i]);
    return SCLAW_OK;
}

void sclaw_study_mpi_share(int *rank, int *nranks)
{
    static const char *const vars[][2] = {{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                                          {"PMI_RANK", "PMI_SIZE"}};
    *rank = 0;
    *nranks = 1;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *r = getenv(vars[i][0]), *n = getenv(vars[i][1]);
        if (r && n && atoi(n) > 0 && atoi(r) >= 0 && atoi(r) < atoi(n)) {
            *rank = atoi(r);
            *nranks = atoi(n);
            return;
        }
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int ensure_dir(const char *path)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return sclaw_fail(SCLAW_E_IO, "cannot create directory '%s': %s", path, strerror(errno));
    if (!is_dir(path))
        return sclaw_fail(SCLAW_E_IO, "'%s' exists and is not a directory", path);
    return SCLAW_OK;
}

struct child {
    pid_t pid;
    int64_t run;
};

extern char **environ;

static void clear_mpi_env(void)
{
    static const char *const prefixes[] = {"OMPI_", "PMIX_", "PMI_"};
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; *e; e++) {
            for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++) {
                if (strncmp(*e, prefixes[k], strlen(prefixes[k])))
                    continue;
                char name[256];
                size_t n = strcspn(*e, "=");
                if (n >= sizeof name)
                    continue;
                memcpy(name, *e, n);
                name[n] = '\0';
                unsetenv(name);
                again = 1; /* environ changed: rescan */
                break;
            }
            if (again)
                break;
        }
    }
}

/* Start `sclaw train` for run i; its output goes to DIR/logs/<run>.log. */
static int spawn(const struct sclaw_plan *p, int64_t i, const char *dir, const char *data,
                 const struct sclaw_study_opts *o, int threads, int resume, pid_t *pid)
{
    const struct sclaw_plan_run *r = &p->runs[i];
    char cfg[4200], rundir[4200], logp[4200], th[32], steps[32], batch[32], lr[64], warm[32],
        seed[32];
    snprintf(cfg, sizeof cfg, "%s/configs/%s.json", dir, r->name);
    snprintf(rundir, sizeof rundir, "%s/%s", dir, r->name);
    snprintf(logp, sizeof logp, "%s/logs/%s.log", dir, r->name);
    snprintf(th, sizeof th, "%d", threads);
    snprintf(steps, sizeof steps, "%lld", (long long)r->steps);
    snprintf(batch, sizeof batch, "%lld", (long long)r->batch);
    snprintf(lr, sizeof lr, "%.17g", r->lr);
    snprintf(warm, sizeof warm, "%lld", (long long)r->warmup);
    snprintf(seed, sizeof seed, "%lld", (long long)r->seed);
    int st = sclaw_config_save(&r->config, cfg);
    if (st)
        return st;
    int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0)
        return sclaw_fail(SCLAW_E_IO, "cannot open '%s': %s", logp, strerror(errno));
    const char *argv[] = {o->sclaw, "--threads", th, "--quiet", "train", cfg, "--data", data,
                          "--out", rundir, "--steps", steps, "--batch", batch, "--lr", lr,
                          "--warmup", warm, "--seed", seed, resume ? "--resume" : NULL, NULL};
    pid_t parent = getpid();
    *pid = fork();
    if (*pid < 0) {
        close(fd);
        return sclaw_fail(SCLAW_E_IO, "cannot start a training process: %s", strerror(errno));
    }
    if (*pid == 0) {
        /* the child dies with the study runner, so a killed study never leaves
         * a trainer writing into a run directory that a restart resumes */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        /* under mpirun each rank trains its runs as single processes: the
         * children must not take themselves for ranks of the MPI job */
        clear_mpi_env();
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        execv(o->sclaw, (char *const *)argv);
        dprintf(STDERR_FILENO, "cannot run '%s': %s\n", o->sclaw, strerror(errno));
        _exit(127);
    }
    close(fd);
    return SCLAW_OK;
}

/* FLOPs done: finished runs in full, running/partial runs pro rata of steps. */
static double flops_done(const struct sclaw_plan *p, const char *dir, const int64_t *mine,
                         int64_t nmine, const struct sclaw_run_status *st)
{
    double done = 0;
    for (int64_t k = 0; k < nmine; k++) {
        const struct sclaw_plan_run *r = &p->runs[mine[k]];
        if (st[mine[k]].state == SCLAW_RUN_FINISHED) {
            done += r->num_flops_training;
        } else {
            char rundir[4200];
            snprintf(rundir, sizeof rundir, "%s/%s", dir, r->name);
            int64_t s = last_logged_step(rundir);
            if (s > r->steps)
                s = r->steps;
            done += r->num_flops_training * (double)s / (double)r->steps;
        }
    }
    return done;
}

int sclaw_study_run(const struct sclaw_plan *p, const char *dir, const struct sclaw_study_opts *o)
{
    int st;
    char sub[4200];
    const char *data = o->data && o->data[0] ? o->data : p->data;
    if (!data[0])
        return sclaw_fail(SCLAW_E_ARG, "no dataset: the plan names none and none was given");
    if ((st = ensure_dir(dir)))
        return st;
    snprintf(sub, sizeof sub, "%s/configs", dir);
    if ((st = ensure_dir(sub)))
        return st;
    snprintf(sub, sizeof sub, "%s/logs", dir);
    if ((st = ensure_dir(sub)))
        return st;
    if (o->rank == 0) {
        snprintf(sub, sizeof sub, "%s/plan.json", dir);
        if ((st = sclaw_plan_save(p, sub)))
            return st;
    }

    int jobs = o->jobs > 0 ? o->jobs : 1;
    int total_threads = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    int threads = total_threads / jobs > 0 ? total_threads / jobs : 1;
    int nranks = o->nranks > 0 ? o->nranks : 1;

    struct sclaw_run_status *rs = calloc((size_t)p->nruns, sizeof *rs);
    int64_t *mine = calloc((size_t)p->nruns, sizeof *mine), nmine = 0, next = 0;
    struct child *kids = calloc((size_t)jobs, sizeof *kids);
    char *failed = calloc(1, 4096);
    int64_t nfailed = 0, nrunning = 0;
    if (!rs || !mine || !kids || !failed) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    sclaw_study_scan(p, dir, rs);
    for (int64_t i = 0; i < p->nruns; i++)
        if (i % nranks == o->rank)
            mine[nmine++] = i;

    struct sclaw_study_progress pr = {0};
    pr.runs_total = nmine;
    for (int64_t k = 0; k < nmine; k++)
        pr.flops_total += p->runs[mine[k]].num_flops_training;
    double t0 = now_s(), done0 = flops_done(p, dir, mine, nmine, rs), last_report = 0;
    char event[512];

    for (;;) {
        if (o->stop && *o->stop)
            break;
        /* fill free slots with the next unfinished runs */
        for (int j = 0; j < jobs; j++) {
            while (!kids[j].pid && next < nmine) {
                int64_t i = mine[next++];
                if (rs[i].state == SCLAW_RUN_FINISHED)
                    continue;
                if (rs[i].state == SCLAW_RUN_CORRUPT) {
                    /* a corrupt result is never overwritten: a person looks at it */
                    snprintf(event, sizeof event, "run %s skipped: %s", p->runs[i].name, rs[i].problem);
                    pr.event = event;
                    nfailed++;
                    snprintf(failed + strlen(failed), 4096 - strlen(failed), " %s", p->runs[i].name);
                    if (o->progress)
                        o->progress(&pr, o->user);
                    pr.event = NULL;
                    continue;
                }
                if ((st = spawn(p, i, dir, data, o, threads, rs[i].state == SCLAW_RUN_PARTIAL,
                                &kids[j].pid)))
                    goto stop_children;
                kids[j].run = i;
                nrunning++;
            }
        }
        if (!nrunning)
            break;
        /* reap finished children; poll progress a few times a second */
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (int j = 0; j < jobs; j++) {
                if (kids[j].pid != pid)
                    continue;
                int64_t i = kids[j].run;
                kids[j].pid = 0;
                nrunning--;
                scan_one(&p->runs[i], dir, &rs[i]);
                int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
                         rs[i].state == SCLAW_RUN_FINISHED;
                if (!ok) {
                    nfailed++;
                    snprintf(failed + strlen(failed), 4096 - strlen(failed), " %s", p->runs[i].name);
                    if (WIFSIGNALED(status))
                        snprintf(event, sizeof event, "run %s killed by signal %d; see %s/logs/%s.log",
                                 p->runs[i].name, WTERMSIG(status), dir, p->runs[i].name);
                    else
                        snprintf(event, sizeof event, "run %s failed (exit %d); see %s/logs/%s.log",
                                 p->runs[i].name, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                                 dir, p->runs[i].name);
                } else
                    snprintf(event, sizeof event, "run %s finished: val_loss %.4f", p->runs[i].name,
                             rs[i].val_loss);
                pr.event = event;
            }
        } else if (pid < 0 && errno != EINTR) {
            st = sclaw_fail(SCLAW_E_IO, "waiting for training processes: %s", strerror(errno));
            goto stop_children;
        } else {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        double t = now_s() - t0;
        if (pr.event || t - last_report >= 0.5) {
            last_report = t;
            pr.runs_done = 0;
            for (int64_t k = 0; k < nmine; k++)
                pr.runs_done += rs[mine[k]].state == SCLAW_RUN_FINISHED;
            pr.runs_running = nrunning;
            pr.runs_failed = nfailed;
            pr.flops_done = flops_done(p, dir, mine, nmine, rs);
            pr.seconds = t;
            pr.flops_per_s = t > 0 ? (pr.flops_done - done0) / t : 0;
            if (o->progress)
                o->progress(&pr, o->user);
            pr.event = NULL;
        }
    }

stop_children:
    for (int j = 0; j < jobs; j++)
        if (kids[j].pid > 0)
            kill(kids[j].pid, SIGTERM);
    for (int j = 0; j < jobs; j++)
        if (kids[j].pid > 0)
            waitpid(kids[j].pid, NULL, 0);
    if (st)
        goto done;
    if (o->stop && *o->stop) {
        st = sclaw_fail(SCLAW_E_INTERRUPTED, "study interrupted; run it again to resume");
        goto done;
    }
    if (nfailed)
        st = sclaw_fail(SCLAW_E_NUMERIC, "%lld run(s) did not finish:%s (logs in %s/logs/)",
                        (long long)nfailed, failed, dir);
done:
    free(rs);
    free(mine);
    free(kids);
    free(failed);
    return st;
}
