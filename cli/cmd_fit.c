/* cmd_fit.c - `sclaw fit lnd|isoflop|slopes|pareto|runtime`: scaling-law fits of a run
 * table (accounting-and-fits.md §4-§6, §8). The library (sclaw_fit.h) does the
 * work; this file parses flags, selects rows and renders tables or JSON. */
#include "cli.h"
#include "sclaw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Row-selection flags shared by every fit subcommand (filter only when given). */
enum { O_MODEL = 1000, O_SET, O_CTX, O_RATIO, O_PAPER,
       O_DELTA, O_GAMMA, O_INITS, O_BOOT, O_SEED, O_WINDOW, O_X };

#define SELECT_OPTS                                                                               \
    {"model-type", O_MODEL, "T", "only runs of model type T: llama or mlstm_v1 (xlstm)"},          \
    {"set", O_SET, "S", "only experiment set S: tokenparam, isoflop or all (default all)"},       \
    {"ctx", O_CTX, "C", "only runs with context length C"},                                       \
    {"ratio", O_RATIO, "LO:HI", "only runs with LO <= D/N <= HI"},                                \
    {"paper-filters", O_PAPER, NULL, "apply the paper's IsoFLOP run filters (spec 5.1)"}

struct selection {
    struct sclaw_runs_filter f;
};

/* Parses "LO:HI" (either side may be empty: 0 / infinity). */
static int parse_range(const char *cmd, const char *flag, const char *s, double *lo, double *hi)
{
    const char *colon = strchr(s, ':');
    char a[64], b[64];
    if (!colon || (size_t)(colon - s) >= sizeof a || strlen(colon + 1) >= sizeof b)
        return cli_usage(cmd, "option '--%s' expects LO:HI, got '%s'", flag, s);
    memcpy(a, s, (size_t)(colon - s));
    a[colon - s] = '\0';
    strcpy(b, colon + 1);
    *lo = 0;
    *hi = INFINITY;
    if ((a[0] && sclaw_parse_double(a, lo)) || (b[0] && sclaw_parse_double(b, hi)) || !(*lo <= *hi))
        return cli_usage(cmd, "option '--%s' expects LO:HI with LO <= HI, got '%s'", flag, s);
    return 0;
}

/* Handles a selection flag; returns -1 if c is not one, else 0 or 2 (usage error). */
static int select_flag(const char *cmd, int c, const char *arg, struct selection *s)
{
    int64_t v;
    switch (c) {
    case O_MODEL:
        if (!sclaw_runs_model_type(arg))
            return cli_usage(cmd, "option '--model-type' must be llama or mlstm_v1, got '%s'", arg);
        s->f.model_type = arg;
        return 0;
    case O_SET: {
        int k = sclaw_runs_set_parse(arg);
        if (k < 0)
            return cli_usage(cmd, "option '--set' must be tokenparam, isoflop or all, got '%s'", arg);
        s->f.set = k;
        return 0;
    }
    case O_CTX:
        if (cli_int64(cmd, "ctx", arg, 1, &v))
            return 2;
        s->f.ctx = v;
        return 0;
    case O_RATIO:
        if (parse_range(cmd, "ratio", arg, &s->f.ratio_lo, &s->f.ratio_hi))
            return 2;
        s->f.has_ratio = 1;
        return 0;
    case O_PAPER:
        s->f.paper_filters = 1;
        return 0;
    }
    return -1;
}

/* Loads the selected runs; prints the error and returns 1 on failure, or if
 * nothing is selected. */
static int load(const char *cmd, const char *path, const struct selection *s, struct sclaw_runs *r)
{
    int st = sclaw_runs_load(r, path, &s->f);
    if (st)
        return cli_fail(cmd, st);
    if (r->n == 0) {
        sclaw_fail(SCLAW_E_ARG, "%s: no runs match the selection", path);
        return cli_fail(cmd, SCLAW_E_ARG);
    }
    return 0;
}

/* Slopes and the Pareto frontier describe one model family. */
static int one_model_type(const char *cmd, const struct sclaw_runs *r)
{
    for (int64_t i = 1; i < r->n; i++)
        if (strcmp(r->model_type[i], r->model_type[0])) {
            sclaw_fail(SCLAW_E_ARG, "%s: the selection holds runs of '%s' and '%s'; choose one "
                       "with --model-type", r->path, r->model_type[0], r->model_type[i]);
            return cli_fail(cmd, SCLAW_E_ARG);
        }
    return 0;
}

/* One positional RUNS.csv after the options. */
static const char *one_path(const char *cmd, int argc, char **argv)
{
    int first = cli_optind();
    if (first >= argc) {
        cli_usage(cmd, "no run table given");
        return NULL;
    }
    if (first + 1 < argc) {
        cli_usage(cmd, "one run table expected, got '%s' too", argv[first + 1]);
        return NULL;
    }
    return argv[first];
}

static void fmt(char *buf, size_t n, const char *f, double x)
{
    snprintf(buf, n, f, x);
}

/* ======================================================================
 * fit lnd
 * ====================================================================== */

static const struct cli_opt lnd_opts[] = {
    SELECT_OPTS,
    {"delta", O_DELTA, "X", "Huber delta of the objective (default 1e-3)"},
    {"gamma", O_GAMMA, "MODE", "free (default; the paper's headline fit) or fixed (gamma = 1)"},
    {"inits", O_INITS, "INIT", "grid (default: the paper's 8000 / 2000 starts) or one start "
                               "a,b,e,alpha,beta[,gamma]"},
    {"bootstrap", O_BOOT, "K", "K bootstrap resamples for 95% percentile intervals (default 0)"},
    {"seed", O_SEED, "S", "bootstrap seed (default 0)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_cmd_info lnd_info = {
    "fit lnd",
    "sclaw fit lnd RUNS.csv [--delta 1e-3] [--gamma free|fixed] [--inits grid|a,b,e,alpha,beta[,gamma]]\n"
    "                     [--bootstrap K --seed S] [--model-type T] [--set S] [--ctx C] [--ratio LO:HI]",
    "Fits the parametric loss L(N,D) = E + (A N^-alpha + B D^-beta)^gamma to the selected runs\n"
    "(N = num_params, D = num_tokens_training, L = val_loss): the sum of Huber losses of the log-loss\n"
    "residuals, minimised with L-BFGS from every point of the paper's initialisation grid, best by\n"
    "objective. a, b, e are ln A, ln B, ln E. The paper's headline fits use --set tokenparam --ctx 8192\n"
    "--ratio 0:5000. With --bootstrap, every parameter and a_opt = beta/(alpha+beta),\n"
    "b_opt = alpha/(alpha+beta) get 95% percentile intervals.",
    lnd_opts,
};

static json_t *lnd_json(const struct sclaw_lnd_result *r, const struct sclaw_lnd_opts *o)
{
    json_t *j = json_object();
    const double v[] = {r->p.a, r->p.b, r->p.e, r->p.alpha, r->p.beta, r->p.gamma, r->A, r->B, r->E};
    for (int k = 0; k < 9; k++)
        json_object_set_new(j, sclaw_lnd_ci_names[k], sclaw_json_number(v[k]));
    json_object_set_new(j, "objective", sclaw_json_number(r->objective));
    json_object_set_new(j, "n_points", json_integer(r->n_points));
    json_object_set_new(j, "n_inits", json_integer(r->n_inits));
    json_object_set_new(j, "n_converged", json_integer(r->n_converged));
    json_object_set_new(j, "best_init", json_integer(r->best_init));
    json_object_set_new(j, "best_converged", json_boolean(r->best_converged));
    json_object_set_new(j, "delta", sclaw_json_number(o->delta));
    json_object_set_new(j, "gamma_free", json_boolean(o->gamma_free));
    if (r->n_bootstrap > 0) {
        json_t *iv = json_object();
        for (int k = 0; k < SCLAW_LND_NCI; k++)
            json_object_set_new(iv, sclaw_lnd_ci_names[k],
                                json_pack("[o,o]", sclaw_json_number(r->ci_lo[k]),
                                          sclaw_json_number(r->ci_hi[k])));
        json_object_set_new(j, "intervals", iv);
        json_object_set_new(j, "bootstrap", json_integer(r->n_bootstrap));
        json_object_set_new(j, "bootstrap_failed", json_integer(r->n_bootstrap_failed));
        json_object_set_new(j, "seed", json_integer((json_int_t)o->seed));
    }
    return j;
}

/* Progress on stderr (TTY only, not --quiet): runs done, rate, ETA, <= 10 Hz,
 * from the first second on. */
struct progress {
    double t0, last;
    int shown;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void lnd_progress(int64_t done, int64_t total, void *user)
{
    struct progress *p = user;
    double t = now_s();
    if (t - p->t0 < 1.0 || t - p->last < 0.1)
        return;
    p->last = t;
    double rate = (double)done / (t - p->t0);
    fprintf(stderr, "\rsclaw fit lnd: %lld/%lld L-BFGS runs, %.0f/s, ETA %.0f s   ",
            (long long)done, (long long)total, rate, (double)(total - done) / rate);
    p->shown = 1;
}

static void lnd_print(const struct sclaw_lnd_result *r, const struct sclaw_lnd_opts *o)
{
    printf("L(N,D) = E + (A N^-alpha + B D^-beta)^gamma   (%s, Huber delta %g)\n",
           o->gamma_free ? "gamma free" : "gamma fixed at 1", o->delta);
    printf("%lld runs, %lld starts, %lld converged; objective %.10g (best start %lld%s)\n\n",
           (long long)r->n_points, (long long)r->n_inits, (long long)r->n_converged, r->objective,
           (long long)r->best_init, r->best_converged ? "" : ", NOT converged");
    int boot = r->n_bootstrap > 0;
    const char *head[] = {"parameter", "value", "95% interval"};
    struct sclaw_table tb;
    sclaw_table_init(&tb, boot ? 3 : 2, head);
    const double v[] = {r->p.a, r->p.b, r->p.e, r->p.alpha, r->p.beta, r->p.gamma, r->A, r->B, r->E,
                        r->p.beta / (r->p.alpha + r->p.beta), r->p.alpha / (r->p.alpha + r->p.beta)};
    for (int k = 0; k < SCLAW_LND_NCI; k++) {
        if (k == SCLAW_LND_CI_GAMMA && !o->gamma_free)
            continue;
        char a[64], b[96];
        fmt(a, sizeof a, "%.6g", v[k]);
        snprintf(b, sizeof b, "[%.6g, %.6g]", r->ci_lo[k], r->ci_hi[k]);
        const char *cells[] = {sclaw_lnd_ci_names[k], a, b};
        sclaw_table_add(&tb, cells);
    }
    sclaw_table_print(&tb, stdout);
    sclaw_table_free(&tb);
    if (boot)
        printf("\n%lld bootstrap resamples (%lld not converged)\n", (long long)r->n_bootstrap,
               (long long)r->n_bootstrap_failed);
}

static int fit_lnd(int argc, char **argv)
{
    const char *cmd = "fit lnd", *arg;
    struct selection s = {0};
    struct sclaw_lnd_opts o;
    struct sclaw_lnd_params init;
    int c, has_boot = 0, has_seed = 0;
    int64_t v;
    sclaw_lnd_opts_default(&o);
    o.gamma_free = 1;
    o.threads = cli.threads;
    const char *inits = NULL;
    while ((c = cli_next(argc, argv, &lnd_info, &arg))) {
        int r = select_flag(cmd, c, arg, &s);
        if (r > 0)
            return r;
        if (r == 0)
            continue;
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case O_DELTA:
            if (cli_double(cmd, "delta", arg, &o.delta))
                return 2;
            if (!(o.delta > 0))
                return cli_usage(cmd, "option '--delta' must be positive, got '%s'", arg);
            break;
        case O_GAMMA:
            if (!strcmp(arg, "free"))
                o.gamma_free = 1;
            else if (!strcmp(arg, "fixed"))
                o.gamma_free = 0;
            else
                return cli_usage(cmd, "option '--gamma' must be free or fixed, got '%s'", arg);
            break;
        case O_INITS: inits = arg; break;
        case O_BOOT:
            if (cli_int64(cmd, "bootstrap", arg, 1, &v))
                return 2;
            o.bootstrap = v;
            has_boot = 1;
            break;
        case O_SEED:
            if (cli_int64(cmd, "seed", arg, 0, &v))
                return 2;
            o.seed = (uint64_t)v;
            has_seed = 1;
            break;
        }
    }
    if (has_seed && !has_boot)
        return cli_usage(cmd, "--seed goes with --bootstrap");
    if (inits && strcmp(inits, "grid")) {
        double *x;
        int64_t n;
        if (cli_double_list(cmd, "inits", inits, &x, &n))
            return 2;
        if (n != 5 + o.gamma_free) {
            free(x);
            return cli_usage(cmd, "option '--inits' expects grid or %d numbers a,b,e,alpha,beta%s, "
                             "got %lld", 5 + o.gamma_free, o.gamma_free ? ",gamma" : "",
                             (long long)n);
        }
        init = (struct sclaw_lnd_params){x[0], x[1], x[2], x[3], x[4], o.gamma_free ? x[5] : 1.0};
        free(x);
        o.inits = &init;
        o.n_inits = 1;
    }
    const char *path = one_path(cmd, argc, argv);
    if (!path)
        return 2;
    struct sclaw_runs r;
    if (load(cmd, path, &s, &r))
        return 1;
    struct sclaw_lnd_result res;
    struct progress pr = {now_s(), 0, 0};
    if (!cli.quiet && isatty(STDERR_FILENO)) {
        o.progress = lnd_progress;
        o.progress_user = &pr;
    }
    int st = sclaw_fit_lnd(r.N, r.D, r.loss, r.n, &o, &res);
    if (pr.shown)
        fprintf(stderr, "\r%60s\r", "");
    sclaw_runs_free(&r);
    if (st)
        return cli_fail(cmd, st);
    if (!res.best_converged)
        sclaw_warn("the best L(N,D) fit (start %lld) stopped without meeting a convergence test",
                   (long long)res.best_init);
    if (cli.json) {
        json_t *j = lnd_json(&res, &o);
        sclaw_json_print(j, stdout);
        json_decref(j);
    } else {
        lnd_print(&res, &o);
    }
    return 0;
}

/* ======================================================================
 * fit isoflop
 * ====================================================================== */

static const struct cli_opt iso_opts[] = {
    SELECT_OPTS,
    {"window", O_WINDOW, "LO:HI", "fit the power law to budgets with LO <= mean C <= HI "
                                  "(default: all; paper: 5e18:2e20 at ctx 8192, 5e18:5e19 per ctx)"},
    {"x", O_X, "COL", "num_params (default) or num_tokens_training"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_cmd_info iso_info = {
    "fit isoflop",
    "sclaw fit isoflop RUNS.csv --model-type T --ctx C [--window LO:HI]\n"
    "                         [--x num_params|num_tokens_training] [--paper-filters] [--ratio LO:HI]",
    "Groups the IsoFLOP runs of one model type and context length by compute budget, fits a\n"
    "parabola loss = c2 x^2 + c1 x + c0 in x = log10 N (or log10 D) per budget and takes its\n"
    "vertex as the budget's optimum, then fits the power law x_opt = coef * C^exponent over the\n"
    "budgets (C = mean compute of a budget's runs). Budgets with fewer than 3 runs are skipped.",
    iso_opts,
};

static int fit_isoflop(int argc, char **argv)
{
    const char *cmd = "fit isoflop", *arg;
    struct selection s = {0};
    double lo = 0, hi = INFINITY;
    int c, use_d = 0;
    while ((c = cli_next(argc, argv, &iso_info, &arg))) {
        int r = select_flag(cmd, c, arg, &s);
        if (r > 0)
            return r;
        if (r == 0)
            continue;
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case O_WINDOW:
            if (parse_range(cmd, "window", arg, &lo, &hi))
                return 2;
            break;
        case O_X:
            if (!strcmp(arg, "num_params"))
                use_d = 0;
            else if (!strcmp(arg, "num_tokens_training"))
                use_d = 1;
            else
                return cli_usage(cmd, "option '--x' must be num_params or num_tokens_training, "
                                 "got '%s'", arg);
            break;
        }
    }
    if (!s.f.model_type)
        return cli_usage(cmd, "--model-type is required");
    if (!s.f.ctx)
        return cli_usage(cmd, "--ctx is required");
    if (s.f.set == SCLAW_RUNS_SET_TOKENPARAM)
        return cli_usage(cmd, "IsoFLOP fits use --set isoflop runs");
    s.f.set = SCLAW_RUNS_SET_ISOFLOP;
    const char *path = one_path(cmd, argc, argv);
    if (!path)
        return 2;
    struct sclaw_runs r;
    if (load(cmd, path, &s, &r))
        return 1;
    struct sclaw_isoflop_budget *b = malloc(sizeof *b * (size_t)r.n);
    struct sclaw_power_law pl;
    int64_t nb;
    int st = b ? SCLAW_OK : sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    if (!st)
        st = sclaw_fit_isoflop(use_d ? r.D : r.N, r.loss, r.C, r.budget, r.n, b, &nb);
    if (!st)
        st = sclaw_isoflop_power_law(b, nb, lo, hi, &pl);
    sclaw_runs_free(&r);
    if (st) {
        free(b);
        return cli_fail(cmd, st);
    }
    if (cli.json) {
        json_t *j = json_object(), *list = json_array();
        for (int64_t i = 0; i < nb; i++)
            json_array_append_new(
                list, json_pack("{s:o, s:o, s:I, s:[o,o,o], s:o, s:o}", "budget",
                                sclaw_json_number(b[i].budget), "flops_mean",
                                sclaw_json_number(b[i].flops_mean), "n_runs",
                                (json_int_t)b[i].n_runs, "poly", sclaw_json_number(b[i].poly[0]),
                                sclaw_json_number(b[i].poly[1]), sclaw_json_number(b[i].poly[2]),
                                "x_opt", sclaw_json_number(b[i].x_opt), "loss_opt",
                                sclaw_json_number(b[i].loss_opt)));
        json_object_set_new(j, "budgets", list);
        json_object_set_new(j, "power_law",
                            json_pack("{s:o, s:o, s:I}", "coef", sclaw_json_number(pl.coef),
                                      "exponent", sclaw_json_number(pl.exponent), "n_budgets",
                                      (json_int_t)pl.n));
        sclaw_json_print(j, stdout);
        json_decref(j);
    } else {
        const char *xs = use_d ? "D" : "N";
        char hx[32], hl[32];
        snprintf(hx, sizeof hx, "%s*", xs);
        snprintf(hl, sizeof hl, "loss at %s*", xs);
        const char *head[] = {"budget", "mean C", "runs", "c2", "c1", "c0", hx, hl, "in fit"};
        struct sclaw_table tb;
        sclaw_table_init(&tb, 9, head);
        for (int64_t i = 0; i < nb; i++) {
            char bu[32], cm[32], n[16], c2[32], c1[32], c0[32], xo[32], lopt[32];
            fmt(bu, sizeof bu, "%g", b[i].budget);
            fmt(cm, sizeof cm, "%.4e", b[i].flops_mean);
            snprintf(n, sizeof n, "%lld", (long long)b[i].n_runs);
            fmt(c2, sizeof c2, "%.6g", b[i].poly[0]);
            fmt(c1, sizeof c1, "%.6g", b[i].poly[1]);
            fmt(c0, sizeof c0, "%.6g", b[i].poly[2]);
            fmt(xo, sizeof xo, "%.4e", b[i].x_opt);
            fmt(lopt, sizeof lopt, "%.5f", b[i].loss_opt);
            int in = b[i].flops_mean >= lo && b[i].flops_mean <= hi;
            const char *cells[] = {bu, cm, n, c2, c1, c0, xo, lopt, in ? "yes" : "no"};
            sclaw_table_add(&tb, cells);
        }
        sclaw_table_print(&tb, stdout);
        sclaw_table_free(&tb);
        printf("\n%s*(C) = %.6g * C^%.6f   (%lld budgets)\n", xs, pl.coef, pl.exponent,
               (long long)pl.n);
    }
    free(b);
    return 0;
}

/* ======================================================================
 * fit slopes
 * ====================================================================== */

static const struct cli_opt slope_opts[] = {SELECT_OPTS, {NULL, 0, NULL, NULL}};

static const struct cli_cmd_info slope_info = {
    "fit slopes",
    "sclaw fit slopes RUNS.csv [--model-type T] [--set S] [--ctx C] [--ratio LO:HI]",
    "Over-training power laws (spec 6): runs are grouped by their preset token/param ratio\n"
    "(22, 44, 110, 220, 550, 1100, 2200; 'extra' runs are left out) and L(C) = lambda C^-eta is\n"
    "fitted per group by least squares in log-log space. C is the training compute with the\n"
    "xLSTM 'tfla' cell formula (column num_flops_training_mlstm_tfla, or recomputed), as in the\n"
    "paper. The selection must hold one model type; the paper uses --set tokenparam.",
    slope_opts,
};

/* The shared start of `fit slopes` and `fit pareto`: selection flags, one
 * RUNS.csv, its rows, and one model type among them. Returns -1 when the rows
 * are loaded into *r (the caller frees them), else the exit code. */
static int load_one_family(const struct cli_cmd_info *info, int argc, char **argv,
                           const char **path, struct sclaw_runs *r)
{
    const char *cmd = info->name, *arg;
    struct selection s = {0};
    int c;
    while ((c = cli_next(argc, argv, info, &arg))) {
        int rc = select_flag(cmd, c, arg, &s);
        if (rc > 0)
            return rc;
        if (rc == 0)
            continue;
        return c == 'h' ? 0 : 2;
    }
    if (!(*path = one_path(cmd, argc, argv)))
        return 2;
    if (load(cmd, *path, &s, r))
        return 1;
    if (one_model_type(cmd, r)) {
        sclaw_runs_free(r);
        return 1;
    }
    return -1;
}

static int fit_slopes(int argc, char **argv)
{
    const char *cmd = "fit slopes", *path;
    struct sclaw_runs r;
    int rc = load_one_family(&slope_info, argc, argv, &path, &r);
    if (rc >= 0)
        return rc;
    for (int64_t i = 0; i < r.n; i++)
        if (!isfinite(r.C_tfla[i]) && !isnan(r.ratio_label[i])) {
            sclaw_fail(SCLAW_E_FORMAT, "%s:%lld: no training compute (num_flops_training_mlstm_tfla "
                       "/ num_flops_training empty and no config to recompute it)", path,
                       (long long)r.line[i]);
            sclaw_runs_free(&r);
            return cli_fail(cmd, SCLAW_E_FORMAT);
        }
    struct sclaw_slope *sl = malloc(sizeof *sl * (size_t)r.n);
    int64_t ns = 0;
    int st = sl ? sclaw_fit_slopes(r.C_tfla, r.loss, r.ratio_label, r.n, sl, &ns)
                : sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    sclaw_runs_free(&r);
    if (st) {
        free(sl);
        return cli_fail(cmd, st);
    }
    if (cli.json) {
        json_t *list = json_array();
        for (int64_t i = 0; i < ns; i++)
            json_array_append_new(list, json_pack("{s:o, s:o, s:o, s:I}", "ratio",
                                                  sclaw_json_number(sl[i].ratio), "eta",
                                                  sclaw_json_number(sl[i].eta), "lambda",
                                                  sclaw_json_number(sl[i].lambda), "n_runs",
                                                  (json_int_t)sl[i].n_runs));
        sclaw_json_print(list, stdout);
        json_decref(list);
    } else {
        const char *head[] = {"token/param", "eta", "lambda", "runs"};
        struct sclaw_table tb;
        sclaw_table_init(&tb, 4, head);
        for (int64_t i = 0; i < ns; i++) {
            char a[32], e[32], l[32], n[16];
            fmt(a, sizeof a, "%g", sl[i].ratio);
            fmt(e, sizeof e, "%.6f", sl[i].eta);
            fmt(l, sizeof l, "%.4f", sl[i].lambda);
            snprintf(n, sizeof n, "%lld", (long long)sl[i].n_runs);
            const char *cells[] = {a, e, l, n};
            sclaw_table_add(&tb, cells);
        }
        sclaw_table_print(&tb, stdout);
        sclaw_table_free(&tb);
        printf("\nL(C) = lambda * C^-eta per preset token/param ratio\n");
    }
    free(sl);
    return 0;
}

/* ======================================================================
 * fit pareto
 * ====================================================================== */

static const struct cli_opt pareto_opts[] = {SELECT_OPTS, {NULL, 0, NULL, NULL}};

static const struct cli_cmd_info pareto_info = {
    "fit pareto",
    "sclaw fit pareto RUNS.csv [--model-type T] [--set S] [--ctx C] [--ratio LO:HI]",
    "The compute/loss Pareto frontier of the selected runs as the paper draws it (spec 8): the\n"
    "lower convex hull (Andrew's monotone chain, linear coordinates) of the points (C, loss)\n"
    "plus the corner (max C, max loss). C uses the xLSTM 'tfla' cell formula. The selection must\n"
    "hold one model type; the paper uses --set tokenparam (16 frontier runs per model).",
    pareto_opts,
};

static int fit_pareto(int argc, char **argv)
{
    const char *cmd = "fit pareto", *path;
    struct sclaw_runs r;
    int rc = load_one_family(&pareto_info, argc, argv, &path, &r);
    if (rc >= 0)
        return rc;
    int64_t *idx = malloc(sizeof *idx * (size_t)(r.n + 1)), k = 0;
    int st = idx ? sclaw_pareto_frontier(r.C_tfla, r.loss, r.n, idx, &k)
                 : sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    if (st) {
        free(idx);
        sclaw_runs_free(&r);
        return cli_fail(cmd, st);
    }
    if (cli.json) {
        json_t *list = json_array();
        for (int64_t i = 0; i < k; i++) {
            int64_t j = idx[i];
            int corner = j == r.n;
            double cmax = 0, lmax = 0;
            for (int64_t q = 0; q < r.n && corner; q++) {
                cmax = fmax(cmax, r.C_tfla[q]);
                lmax = fmax(lmax, r.loss[q]);
            }
            json_array_append_new(
                list, json_pack("{s:o, s:o, s:o, s:o, s:o}", "line",
                                corner ? json_null() : json_integer(r.line[j]), "C",
                                sclaw_json_number(corner ? cmax : r.C_tfla[j]), "loss",
                                sclaw_json_number(corner ? lmax : r.loss[j]), "num_params",
                                corner ? json_null() : sclaw_json_number(r.N[j]),
                                "num_tokens_training",
                                corner ? json_null() : sclaw_json_number(r.D[j])));
        }
        json_t *j = json_pack("{s:o, s:I}", "points", list, "n_points", (json_int_t)k);
        sclaw_json_print(j, stdout);
        json_decref(j);
    } else {
        const char *head[] = {"line", "size", "N", "D", "C", "loss"};
        struct sclaw_table tb;
        sclaw_table_init(&tb, 6, head);
        for (int64_t i = 0; i < k; i++) {
            int64_t j = idx[i];
            if (j == r.n)
                continue;   /* the added corner is not a run */
            char ln[16], n[32], d[32], cc[32], l[32];
            snprintf(ln, sizeof ln, "%lld", (long long)r.line[j]);
            sclaw_fmt_si(n, sizeof n, r.N[j]);
            sclaw_fmt_si(d, sizeof d, r.D[j]);
            fmt(cc, sizeof cc, "%.4e", r.C_tfla[j]);
            fmt(l, sizeof l, "%.6f", r.loss[j]);
            const char *cells[] = {ln, r.model_size[j], n, d, cc, l};
            sclaw_table_add(&tb, cells);
        }
        sclaw_table_print(&tb, stdout);
        sclaw_table_free(&tb);
        printf("\n%lld frontier points of %lld runs\n", (long long)k, (long long)r.n);
    }
    free(idx);
    sclaw_runs_free(&r);
    return 0;
}

/* ======================================================================
 * dispatch
 * ====================================================================== */

static const struct cli_sub subs[] = {
    {"isoflop", fit_isoflop, "IsoFLOP parabolas per budget and the N*(C) or D*(C) power law"},
    {"lnd", fit_lnd, "parametric loss L(N,D) = E + (A N^-alpha + B D^-beta)^gamma"},
    {"pareto", fit_pareto, "compute/loss Pareto frontier"},
    {"runtime", cmd_fit_runtime, "runtime models of inference (TTFT, step time) fitted to timings"},
    {"slopes", fit_slopes, "over-training power laws L(C) per token/param ratio"},
};

int cmd_fit(int argc, char **argv)
{
    return cli_dispatch("fit", "sclaw fit <lnd|isoflop|slopes|pareto|runtime> FILE.csv [options]",
                        "Scaling-law fits of a run table in the paper's CSV schema.", subs,
                        sizeof subs / sizeof subs[0], argc, argv);
}
