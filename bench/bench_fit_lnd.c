/* bench_fit_lnd.c - time of the full L(N,D) initialisation grid (8000 L-BFGS
 * runs, gamma free) of the paper's headline setting (accounting-and-fits.md
 * §4.6: TokenParam runs, ctx 8192, token/param 0-5000, Huber delta 1e-3) for
 * both models, against the paper's procedure in Python (bench/fit_baseline.py:
 * scipy L-BFGS-B with 2-point numerical gradients over the same grid).
 *
 * Verifies first (objective no worse than the paper's stored one), warms up,
 * then takes the median of REPS runs per thread count. The scipy baseline is
 * timed on every STRIDE-th start and extrapolated to the 8000 starts; it runs
 * in one process (one core), so the ratio is also given against an ideal
 * 2-process split of the baseline. Wall time is noisy on a shared machine;
 * CPU time (all threads) is printed too.
 *
 *     build/bench/bench_fit_lnd [REPS=3] [STRIDE=100]
 */
#include "sclaw.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *RUNS = "data/paper/runs_all.csv";

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One full-grid fit; wall and CPU seconds. */
static int fit_once(const struct sclaw_runs *r, int threads, struct sclaw_lnd_result *res,
                    double *wall, double *cpu)
{
    struct sclaw_lnd_opts o;
    sclaw_lnd_opts_default(&o);
    o.gamma_free = 1;
    o.threads = threads;
    double w0 = omp_get_wtime(), c0 = cpu_now();
    int st = sclaw_fit_lnd(r->N, r->D, r->loss, r->n, &o, res);
    *wall = omp_get_wtime() - w0;
    *cpu = cpu_now() - c0;
    return st;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 3, stride = argc > 2 ? atoi(argv[2]) : 100;
    const struct {
        const char *model, *py_model;
        double paper_objective;   /* lnd_fit_grid_best.csv, min_objective */
    } models[] = {
        {"llama", "llama", 7.147497404750157e-05},
        {"mlstm_v1", "mlstm_v1", 8.557159872113113e-05},
    };
    if (reps < 1 || stride < 1) {
        fprintf(stderr, "usage: bench_fit_lnd [REPS >= 1] [STRIDE >= 1]\n");
        return 2;
    }
    int maxt = omp_get_max_threads();
    printf("# L(N,D) full grid (8000 starts, gamma free), median of %d; machine: %d OpenMP "
           "threads available (shared, noisy)\n", reps, maxt);
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        struct sclaw_runs r;
        struct sclaw_runs_filter f = {.model_type = models[m].model,
                                      .set = SCLAW_RUNS_SET_TOKENPARAM, .ctx = 8192,
                                      .has_ratio = 1, .ratio_lo = 0, .ratio_hi = 5000};
        if (sclaw_runs_load(&r, RUNS, &f)) {
            fprintf(stderr, "bench_fit_lnd: %s\n", sclaw_errmsg());
            return 1;
        }
        /* verify (also the warm-up) */
        struct sclaw_lnd_result res;
        double w, c;
        if (fit_once(&r, maxt, &res, &w, &c)) {
            fprintf(stderr, "bench_fit_lnd: %s\n", sclaw_errmsg());
            return 1;
        }
        int ok = res.objective <= models[m].paper_objective * (1 + 1e-5);
        printf("# %s: %lld runs, objective %.10e (paper %.10e) %s, %lld/%lld converged\n",
               models[m].model, (long long)r.n, res.objective, models[m].paper_objective,
               ok ? "ok" : "WORSE", (long long)res.n_converged, (long long)res.n_inits);
        if (!ok)
            return 1;
        double med_wall[2] = {0}, med_cpu[2] = {0};
        int tcounts[2] = {maxt < 2 ? maxt : 2, 1};
        for (int ti = 0; ti < 2; ti++) {
            double *ws = malloc(sizeof(double) * (size_t)reps), *cs = malloc(sizeof(double) * (size_t)reps);
            for (int k = 0; k < reps; k++)
                fit_once(&r, tcounts[ti], &res, &ws[k], &cs[k]);
            qsort(ws, (size_t)reps, sizeof(double), cmp_double);
            qsort(cs, (size_t)reps, sizeof(double), cmp_double);
            med_wall[ti] = ws[reps / 2];
            med_cpu[ti] = cs[reps / 2];
            free(ws);
            free(cs);
        }
        sclaw_runs_free(&r);

        /* baseline, same machine, same run */
        char cmd[512], line[1024];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/fit_baseline.py %s %s %d", RUNS,
                 models[m].py_model, stride);
        FILE *p = popen(cmd, "r");
        json_t *j = NULL;
        if (p && fgets(line, sizeof line, p))
            j = json_loads(line, 0, NULL);
        if (p)
            pclose(p);
        double per = j ? json_number_value(json_object_get(j, "seconds_per_start")) : 0;
        double cper = j ? json_number_value(json_object_get(j, "cpu_seconds_per_start")) : 0;
        double pobj = j ? json_number_value(json_object_get(j, "best_objective")) : 0;
        int nst = j ? (int)json_integer_value(json_object_get(j, "n_starts")) : 0;
        json_decref(j);
        if (!(per > 0)) {
            fprintf(stderr, "bench_fit_lnd: baseline failed (%s)\n", cmd);
            return 1;
        }
        double base = per * 8000, cbase = cper * 8000;
        printf("# %s baseline: scipy L-BFGS-B, numerical gradient: %d starts timed, %.3f s/start "
               "(cpu %.3f), best objective of those %.10e\n", models[m].model, nst, per, cper, pobj);
        printf("{\"bench\":\"fit_lnd_grid\",\"model\":\"%s\",\"starts\":8000,"
               "\"sclaw_s_2threads\":%.3f,\"sclaw_s_1thread\":%.3f,\"sclaw_cpu_s\":%.3f,"
               "\"scipy_s_extrapolated_1core\":%.1f,\"scipy_cpu_s_extrapolated\":%.1f,"
               "\"ratio_vs_scipy_1core\":%.1f,\"ratio_vs_scipy_2cores_ideal\":%.1f,"
               "\"cpu_ratio\":%.1f}\n",
               models[m].model, med_wall[0], med_wall[1], med_cpu[0], base, cbase,
               base / med_wall[0], base / 2 / med_wall[0], cbase / med_cpu[0]);
        fflush(stdout);
    }
    return 0;
}
