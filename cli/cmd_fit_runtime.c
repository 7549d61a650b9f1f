/* cmd_fit_runtime.c - `sclaw fit runtime`: runtime models of inference fitted
 * to measured TTFT or step times (accounting-and-fits.md §3.5; library in
 * sclaw_runtime.h). Reached through the `fit` command's subcommand table. */
#include "cli.h"
#include "sclaw.h"
#include "sclaw_runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CMD "fit runtime"
#define MAX_MODES 16

enum { O_TARGET = 1000, O_MODE, O_DELTA, O_TAG, O_MIN_BATCH, O_INIT, O_OUT, O_PRED, O_MAX_ITER, O_BOOT };

static const struct cli_opt opts[] = {
    {"target", O_TARGET, "ttft|steptime", "measured time to model (default ttft)"},
    {"mode", O_MODE, "MODE[,MODE...]", "models to fit, or 'all' (default: linear_flops for ttft,"
                                       " log_linear_memops for steptime)"},
    {"delta", O_DELTA, "D", "Huber delta in ms, log-ms in log modes (default 1 ttft, 100 steptime)"},
    {"model-tag", O_TAG, "TAG", "fit only this model_tag (default: every model in the file)"},
    {"min-batch", O_MIN_BATCH, "B", "use rows with batchsize >= B (default 1; paper Llama steps: 8)"},
    {"init", O_INIT, "K=V[,K=V]", "initial alpha, beta, eps, eps_bp (default: the paper's)"},
    {"max-iter", O_MAX_ITER, "N", "Levenberg-Marquardt iterations at most (default 2000)"},
    {"bootstrap-seed", O_BOOT, "S", "fit the rows numpy's default_rng(S) resample picks, as the"
                                    " paper did with S = 0 (default: the plain rows)"},
    {"out", O_OUT, "FILE.json", "also write the fitted parameters as JSON to FILE"},
    {"predictions", O_PRED, "FILE.csv", "write every point's measured and predicted time to FILE"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_cmd_info info = {
    CMD,
    "sclaw fit runtime FILE.csv... [--target ttft|steptime] [--mode MODE[,MODE...]] [--delta D]\n"
    "                         [--model-tag TAG] [--min-batch B] [--init K=V,...] [--out FILE.json]\n"
    "                         [--bootstrap-seed S] [--predictions FILE.csv] [--json]",
    "Fits runtime models of inference to measured timings in the paper's inference-table schema\n"
    "(data/paper/inference_xlstm.csv, inference_llama2.csv), one fit per model_tag. Each row's\n"
    "FLOPs F and memory bytes M come from the exact inference accounting (sclaw count --infer).\n"
    "MODE is one of\n"
    "  linear_flops             t = F/alpha + eps\n"
    "  linear_memops            t = M/beta + eps + B*eps_bp\n"
    "  linear_sum_flops_memops  t = F/alpha + M/beta + eps\n"
    "  roofline                 t = F/min(alpha, beta*F/M) + eps\n"
    "or log_<mode> (fitted in log time). alpha_eff is the attainable FLOP/s, beta bytes/s, eps a\n"
    "constant overhead (s), eps_bp an overhead per sequence of the batch B (s). The objective is\n"
    "the paper's, 0.5*sum(huber(pred_ms - meas_ms)^2), minimised by Levenberg-Marquardt on the\n"
    "plain data (the paper fitted a bootstrap resample: --bootstrap-seed 0 reproduces it). Rows\n"
    "with prefill 0 or a missing time (<= 0) are skipped.",
    opts,
};

struct run_args {
    int target;
    int modes[MAX_MODES];
    int nmodes;
    double delta;
    struct sclaw_rt_read_opts ro;
    struct sclaw_rt_params init;
    int64_t max_iter;
    int64_t boot_seed;  /* -1: no resample */
};

static int parse_modes(const char *s, struct run_args *a)
{
    char *copy = strdup(s), *save = NULL;
    if (!copy)
        return cli_usage(CMD, "out of memory");
    a->nmodes = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "all")) {
            for (int f = 0; f < SCLAW_RT_NFORMS && a->nmodes + 2 <= MAX_MODES; f++) {
                a->modes[a->nmodes++] = f;
                a->modes[a->nmodes++] = f | SCLAW_RT_LOG;
            }
            continue;
        }
        int m = sclaw_rt_mode_parse(tok);
        if (m < 0) {
            int r = cli_usage(CMD, "option '--mode': unknown mode '%s' (linear_flops, linear_memops,"
                              " linear_sum_flops_memops, roofline, log_<mode> or all)", tok);
            free(copy);
            return r;
        }
        if (a->nmodes == MAX_MODES) {
            free(copy);
            return cli_usage(CMD, "option '--mode': at most %d modes", MAX_MODES);
        }
        a->modes[a->nmodes++] = m;
    }
    free(copy);
    if (!a->nmodes)
        return cli_usage(CMD, "option '--mode' needs at least one mode");
    return 0;
}

/* "alpha=8e14,eps=1e-3" */
static int parse_init(const char *s, struct sclaw_rt_params *p)
{
    char *copy = strdup(s), *save = NULL;
    int r = 0;
    if (!copy)
        return cli_usage(CMD, "out of memory");
    for (char *tok = strtok_r(copy, ",", &save); tok && !r; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        double v, *dst = NULL;
        if (eq) {
            *eq = '\0';
            dst = !strcmp(tok, "alpha") ? &p->alpha : !strcmp(tok, "beta") ? &p->beta
                : !strcmp(tok, "eps") ? &p->eps : !strcmp(tok, "eps_bp") ? &p->eps_bp : NULL;
        }
        if (!dst)
            r = cli_usage(CMD, "option '--init': expected KEY=VALUE with KEY alpha, beta, eps or"
                          " eps_bp, got '%s'", tok);
        else if (sclaw_parse_double(eq + 1, &v) || !isfinite(v))
            r = cli_usage(CMD, "option '--init': '%s' is not a number", eq + 1);
        else
            *dst = v;
    }
    free(copy);
    return r;
}

/* One fit as a JSON object (null for parameters the mode does not have). */
static json_t *fit_json(const char *path, const struct sclaw_rt_group *g, const struct run_args *a,
                        int mode, const struct sclaw_rt_fit *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "file", json_string(path));
    json_object_set_new(o, "model_tag", json_string(g->model_tag));
    json_object_set_new(o, "model_type", json_string(g->config.arch->name));
    json_object_set_new(o, "target", json_string(sclaw_rt_target_name(a->target)));
    json_object_set_new(o, "mode", json_string(sclaw_rt_mode_name(mode)));
    json_object_set_new(o, "alpha_eff", sclaw_json_number(f->p.alpha));
    json_object_set_new(o, "beta", sclaw_json_number(f->p.beta));
    json_object_set_new(o, "eps", sclaw_json_number(f->p.eps));
    json_object_set_new(o, "eps_bp", sclaw_json_number(f->p.eps_bp));
    json_object_set_new(o, "n_points", json_integer(f->n_points));
    json_object_set_new(o, "huber_delta", sclaw_json_number(a->delta));
    json_object_set_new(o, "bootstrap_seed",
                        a->boot_seed >= 0 ? json_integer(a->boot_seed) : json_null());
    json_object_set_new(o, "objective", sclaw_json_number(f->objective));
    json_object_set_new(o, "rms_rel_err", sclaw_json_number(f->rms_rel));
    json_object_set_new(o, "iterations", json_integer(f->iterations));
    json_object_set_new(o, "converged", json_boolean(f->converged));
    json_object_set_new(o, "identifiable", json_boolean(f->identifiable));
    return o;
}

static void fmt_num(char *buf, size_t n, const json_t *v)
{
    if (json_is_number(v))
        snprintf(buf, n, "%.4e", json_number_value(v));
    else
        snprintf(buf, n, "-");
}

static void print_table(const json_t *list)
{
    const char *head[] = {"model_tag", "target", "mode", "n", "alpha_eff [FLOP/s]", "beta [B/s]",
                          "eps [s]", "eps_bp [s]", "rms rel err", "note"};
    struct sclaw_table tb;
    size_t i;
    const json_t *o;
    if (sclaw_table_init(&tb, 10, head))
        return;
    json_array_foreach(list, i, o) {
        char n[32], a[32], b[32], e[32], bp[32], rr[32];
        snprintf(n, sizeof n, "%lld", (long long)json_integer_value(json_object_get(o, "n_points")));
        fmt_num(a, sizeof a, json_object_get(o, "alpha_eff"));
        fmt_num(b, sizeof b, json_object_get(o, "beta"));
        fmt_num(e, sizeof e, json_object_get(o, "eps"));
        fmt_num(bp, sizeof bp, json_object_get(o, "eps_bp"));
        snprintf(rr, sizeof rr, "%.3f", json_number_value(json_object_get(o, "rms_rel_err")));
        /* a negative rate fits the points but is no hardware speed: the form
         * does not describe the data (e.g. F and M nearly proportional) */
        int negative = json_number_value(json_object_get(o, "alpha_eff")) < 0 ||
                       json_number_value(json_object_get(o, "beta")) < 0;
        const char *note = !json_is_true(json_object_get(o, "converged")) ? "not converged"
                         : !json_is_true(json_object_get(o, "identifiable")) ? "not identifiable"
                         : negative ? "negative rate"
                         : "";
        const char *cells[] = {json_string_value(json_object_get(o, "model_tag")),
                               json_string_value(json_object_get(o, "target")),
                               json_string_value(json_object_get(o, "mode")), n, a, b, e, bp, rr,
                               note};
        sclaw_table_add(&tb, cells);
    }
    sclaw_table_print(&tb, stdout);
    sclaw_table_free(&tb);
}

/* Append every point of a group with its prediction under one fit. */
static int add_predictions(struct sclaw_csv *pred, const struct sclaw_rt_group *g, int target,
                           int mode, const struct sclaw_rt_fit *f)
{
    int st = SCLAW_OK;
    for (int64_t i = 0; i < g->n && !st; i++) {
        const struct sclaw_rt_point *p = &g->pts[i];
        int64_t row;
        if ((st = sclaw_csv_add_row(pred, &row)) ||
            (st = sclaw_csv_set(pred, row, 0, g->model_tag)) ||
            (st = sclaw_csv_set(pred, row, 1, sclaw_rt_target_name(target))) ||
            (st = sclaw_csv_set(pred, row, 2, sclaw_rt_mode_name(mode))) ||
            (st = sclaw_csv_set_double(pred, row, 3, p->batch)) ||
            (st = sclaw_csv_set_double(pred, row, 4, p->prefill)) ||
            (st = sclaw_csv_set_double(pred, row, 5, p->flops)) ||
            (st = sclaw_csv_set_double(pred, row, 6, p->bytes)) ||
            (st = sclaw_csv_set_double(pred, row, 7, p->meas_ms)))
            break;
        st = sclaw_csv_set_double(pred, row, 8, sclaw_rt_predict_ms(mode, &f->p, p));
    }
    return st;
}

static int fit_file(const char *path, const struct run_args *a, json_t *list, struct sclaw_csv *pred)
{
    struct sclaw_rt_data d;
    int st = sclaw_rt_read(&d, path, a->target, &a->ro);
    if (st)
        return st;
    for (int64_t gi = 0; gi < d.ngroups && !st; gi++) {
        const struct sclaw_rt_group *g = &d.groups[gi];
        struct sclaw_rt_point *fit_pts = g->pts, *boot = NULL;
        /* the paper's resample (spec §10.9); predictions stay on the plain rows */
        if (a->boot_seed >= 0) {
            if ((st = sclaw_rt_bootstrap(g->pts, g->n, (uint64_t)a->boot_seed, &boot)))
                break;
            fit_pts = boot;
        }
        for (int k = 0; k < a->nmodes && !st; k++) {
            struct sclaw_rt_fit_opts fo = {a->delta, a->init, a->max_iter, 0};
            struct sclaw_rt_fit f;
            int mode = a->modes[k];
            if ((st = sclaw_rt_fit(fit_pts, g->n, &g->config, a->target, mode, &fo, &f))) {
                st = sclaw_wrap(st, "%s: %s %s", path, g->model_tag, sclaw_rt_target_name(a->target));
                break;
            }
            if (!f.converged)
                sclaw_warn("%s: %s %s %s: stopped after %lld iterations without converging",
                           path, g->model_tag, sclaw_rt_target_name(a->target),
                           sclaw_rt_mode_name(mode), (long long)f.iterations);
            else if (!f.identifiable)
                sclaw_warn("%s: %s %s %s: the data do not determine every parameter (collinear"
                           " terms, an inactive roofline branch or too few points); this is"
                           " one of many equally good fits", path, g->model_tag, sclaw_rt_target_name(a->target),
                           sclaw_rt_mode_name(mode));
            json_array_append_new(list, fit_json(path, g, a, mode, &f));
            if (pred)
                st = add_predictions(pred, g, a->target, mode, &f);
        }
        free(boot);
    }
    sclaw_rt_data_free(&d);
    return st;
}

int cmd_fit_runtime(int argc, char **argv)
{
    struct run_args a = {.target = SCLAW_RT_TTFT, .delta = NAN, .ro = {1, NULL},
                         .init = {NAN, NAN, NAN, NAN}, .boot_seed = -1};
    const char *arg, *out = NULL, *pred_path = NULL, *mode_arg = NULL;
    int c, first, rc = 0, st;
    while ((c = cli_next(argc, argv, &info, &arg))) {
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case O_TARGET:
            if ((a.target = sclaw_rt_target_parse(arg)) < 0)
                return cli_usage(CMD, "option '--target' must be ttft or steptime, got '%s'", arg);
            break;
        case O_MODE: mode_arg = arg; break;
        case O_DELTA:
            if (cli_double(CMD, "delta", arg, &a.delta)) return 2;
            if (!(a.delta >= 0) || !isfinite(a.delta))
                return cli_usage(CMD, "option '--delta' must be >= 0, got '%s'", arg);
            break;
        case O_TAG: a.ro.model_tag = arg; break;
        case O_MIN_BATCH:
            if (cli_double(CMD, "min-batch", arg, &a.ro.min_batch)) return 2;
            if (!(a.ro.min_batch >= 1))
                return cli_usage(CMD, "option '--min-batch' must be at least 1, got '%s'", arg);
            break;
        case O_INIT:
            if (parse_init(arg, &a.init)) return 2;
            break;
        case O_MAX_ITER:
            if (cli_int64(CMD, "max-iter", arg, 1, &a.max_iter)) return 2;
            break;
        case O_BOOT:
            if (cli_int64(CMD, "bootstrap-seed", arg, 0, &a.boot_seed)) return 2;
            break;
        case O_OUT: out = arg; break;
        case O_PRED: pred_path = arg; break;
        }
    }
    first = cli_optind();
    if (first >= argc)
        return cli_usage(CMD, "no inference table given");
    if (mode_arg) {
        if (parse_modes(mode_arg, &a)) return 2;
    } else {
        a.nmodes = 1;
        a.modes[0] = a.target == SCLAW_RT_TTFT ? SCLAW_RT_LINEAR_FLOPS
                                               : (SCLAW_RT_LINEAR_MEMOPS | SCLAW_RT_LOG);
    }
    if (isnan(a.delta))
        a.delta = a.target == SCLAW_RT_TTFT ? 1.0 : 100.0;

    static const char *const pred_cols[] = {"model_tag", "target", "mode", "batchsize", "prefill",
                                            "flops", "bytes", "measured_ms", "predicted_ms"};
    struct sclaw_csv pred = {0};
    json_t *list = json_array();
    st = pred_path ? sclaw_csv_init(&pred, 9, pred_cols) : SCLAW_OK;
    for (int i = first; i < argc && !st; i++)
        st = fit_file(argv[i], &a, list, pred_path ? &pred : NULL);
    /* nothing is written unless every fit succeeded */
    if (!st && out)
        st = sclaw_json_write(out, list);
    if (!st && pred_path)
        st = sclaw_csv_write(&pred, pred_path);
    if (st) {
        rc = cli_fail(CMD, st);
    } else if (cli.json) {
        sclaw_json_print(list, stdout);
    } else {
        print_table(list);
    }
    json_decref(list);
    sclaw_csv_free(&pred);
    return rc;
}
