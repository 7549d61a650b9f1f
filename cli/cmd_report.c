/* cmd_report.c - `sclaw report paper|inference|study`: Markdown reports with
 * figures that recompute the paper's results from its data and compare them
 * with the paper's numbers, or apply the same analysis to a study sclaw
 * trained (accounting-and-fits.md §3.5, §4-§9; library in sclaw_report.h). */
#include "cli.h"
#include "progress.h"
#include "sclaw.h"
#include "sclaw_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { O_OUT = 'o', O_DATA = 1000, O_FULL, O_BOOT, O_SEED };

static const struct cli_opt paper_opts[] = {
    {"out", O_OUT, "DIR", "write report.md and the figures here (default out/paper-report)"},
    {"data", O_DATA, "DIR", "the paper's CSVs (default data/paper)"},
    {"full-grid", O_FULL, NULL, "L(N,D) from all 8000 starts of the paper's grid (default: every 8th; same fits, 8x faster)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_cmd_info paper_info = {
    "report paper",
    "sclaw report paper [--out DIR] [--data DIR] [--full-grid] [--json]",
    "Recomputes the paper's scaling-law results from its run data and writes DIR/report.md with\n"
    "figures (PNG and SVG): the loss/compute Pareto frontiers with the L(N,D) fits (paper Fig. 1),\n"
    "IsoFLOP parabolas for both architectures at the three context lengths, the N*(C) and D*(C)\n"
    "power laws, the token/param-ratio slopes, the compute-optimal table, and a table of every\n"
    "reproduced number next to the paper's value with the relative difference. Prints that\n"
    "comparison (or JSON with --json). The L(N,D) fits start from every 8th point of the paper's\n"
    "initialisation grid (--full-grid: all 8000 with gamma free), on all cores.",
    paper_opts,
};

static const struct cli_opt infer_opts[] = {
    {"out", O_OUT, "DIR", "write report.md and the figures here (default out/inference-report)"},
    {"data", O_DATA, "DIR", "directory of inference_xlstm.csv and inference_llama2.csv (default data/paper)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_cmd_info infer_info = {
    "report inference",
    "sclaw report inference [--out DIR] [--data DIR] [--csv FILE...] [--json]",
    "Plots the paper's measured time to first token and generation step time against prefill\n"
    "length for both families (rows) at batch sizes 1, 8 and 64 (columns), one colour per model\n"
    "size, with the runtime models fitted per model (spec 3.5: TTFT linear_flops; step time\n"
    "log_linear_memops on batch >= 8), and compares the fitted attainable FLOP/s and bytes/s with\n"
    "the paper's. Each FILE (e.g. from `sclaw bench inference`; '--csv' may precede them) is a\n"
    "timing table in the same schema and gets its own figures and fits. Values <= 0 are missing.",
    infer_opts,
};

static const struct cli_opt study_opts[] = {
    {"out", O_OUT, "REPORTDIR", "write report.md, the figures and summary.json here (default DIR/report)"},
    {"bootstrap", O_BOOT, "K", "bootstrap resamples of the power laws (default 200; 0 = no intervals)"},
    {"seed", O_SEED, "S", "bootstrap seed (default 0; the same seed gives the same intervals)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_cmd_info study_info = {
    "report study",
    "sclaw report study DIR [--out REPORTDIR] [--bootstrap K] [--seed S] [--json]",
    "Collects the finished runs of the study DIR (from `sclaw study run`) into DIR/runs.csv,\n"
    "naming the unfinished ones, and writes REPORTDIR/report.md with figures (PNG and SVG)\n"
    "comparing xLSTM with Llama: training curves per budget, IsoFLOP parabolas in N and D, the\n"
    "N*(C) and D*(C) power laws with 95% bootstrap intervals (runs resampled within each\n"
    "budget; failed and non-convex resamples counted), L(N,D) with gamma = 1, the loss each\n"
    "family reaches per budget and the Pareto frontiers. REPORTDIR/summary.json holds the\n"
    "numbers; the headline is printed (the summary itself with --json). A family with fewer\n"
    "than 3 budgets gets no power law; the report says so.",
    study_opts,
};

/* Stage progress: the shared progress line (progress.h: terminal only, not
 * with --quiet, at most 10 Hz) with the elapsed time; library warnings go
 * through it as events so that they do not tear the line. */
struct report_progress {
    struct cli_progress line;
    struct timespec t0;
};
static struct report_progress prog;

static void progress(int stage, int nstages, const char *what, void *user)
{
    struct report_progress *rp = user;
    struct timespec now;
    char el[32];
    clock_gettime(CLOCK_MONOTONIC, &now);
    cli_fmt_duration(el, sizeof el, (double)(now.tv_sec - rp->t0.tv_sec) +
                                        1e-9 * (double)(now.tv_nsec - rp->t0.tv_nsec));
    cli_progress_line(&rp->line, "sclaw report: [%d/%d] %s, %s elapsed", stage, nstages, what, el);
}

static void warn_event(const char *msg, void *user)
{
    cli_progress_event(user, "sclaw: warning: %s", msg);
}

static void use_progress(struct sclaw_report_opts *o)
{
    cli_progress_init(&prog.line);
    clock_gettime(CLOCK_MONOTONIC, &prog.t0);
    sclaw_set_warn_handler(warn_event, &prog.line);
    if (prog.line.enabled) {
        o->progress = progress;
        o->progress_user = &prog;
    }
}

static void print_checks(const struct sclaw_report_result *r)
{
    const char *hdr[] = {"quantity", "spec", "paper", "sclaw", "rel. diff", ""};
    struct sclaw_table tb;
    if (sclaw_table_init(&tb, 6, hdr))
        return;
    tb.right[2] = tb.right[3] = tb.right[4] = 1;
    for (int64_t i = 0; i < r->n_checks; i++) {
        const struct sclaw_report_check *k = &r->checks[i];
        char a[32], b[32], d[32];
        snprintf(a, sizeof a, "%.6g", k->ref->value);
        if (isfinite(k->got)) {
            snprintf(b, sizeof b, "%.6g", k->got);
            snprintf(d, sizeof d, "%.2e", k->rel);
        } else {
            snprintf(b, sizeof b, "-");
            snprintf(d, sizeof d, "-");
        }
        const char *mark = !isfinite(k->got) ? "missing" : k->ref->rtol < 0 ? "" : k->ok ? "ok" : "DIFFERS";
        const char *row[] = {k->ref->what, k->ref->section, a, b, d, mark};
        sclaw_table_add(&tb, row);
    }
    sclaw_table_print(&tb, stdout);
    sclaw_table_free(&tb);
}

static json_t *result_json(const struct sclaw_report_result *r, const char *out_dir)
{
    json_t *o = json_object(), *checks = json_array(), *files = json_array();
    for (int64_t i = 0; i < r->n_checks; i++) {
        const struct sclaw_report_check *k = &r->checks[i];
        json_t *c = json_object();
        json_object_set_new(c, "key", json_string(k->ref->key));
        json_object_set_new(c, "section", json_string(k->ref->section));
        json_object_set_new(c, "what", json_string(k->ref->what));
        json_object_set_new(c, "paper", sclaw_json_number(k->ref->value));
        json_object_set_new(c, "sclaw", sclaw_json_number(k->got));
        json_object_set_new(c, "rel_diff", sclaw_json_number(k->rel));
        json_object_set_new(c, "rtol", k->ref->rtol >= 0 ? sclaw_json_number(k->ref->rtol) : json_null());
        json_object_set_new(c, "ok", json_boolean(k->ok));
        json_array_append_new(checks, c);
    }
    for (int64_t i = 0; i < r->n_files; i++)
        json_array_append_new(files, json_string(r->files[i]));
    json_object_set_new(o, "out_dir", json_string(out_dir));
    json_object_set_new(o, "files", files);
    json_object_set_new(o, "n_checks", json_integer(r->n_checks));
    json_object_set_new(o, "n_ok", json_integer(r->n_ok));
    json_object_set_new(o, "n_missing", json_integer(r->n_missing));
    json_object_set_new(o, "max_rel_diff", sclaw_json_number(r->max_rel));
    json_object_set_new(o, "checks", checks);
    return o;
}

/* The headline of a study report: the power laws and the winner per budget. */
static void print_study(json_t *sum, const char *out_dir, int64_t n_files)
{
    static const char *const fk[] = {"xlstm", "llama"}, *const fn[] = {"xLSTM", "Llama"};
    const char *hdr[] = {"family", "law", "exponent", "95% interval", "coefficient", "resamples ok"};
    struct sclaw_table tb;
    if (sclaw_table_init(&tb, 6, hdr))
        return;
    tb.right[2] = tb.right[4] = tb.right[5] = 1;
    for (int a = 0; a < 2; a++)
        for (int w = 0; w < 2; w++) {
            json_t *L = json_object_get(json_object_get(json_object_get(sum, "families"), fk[a]),
                                        w ? "dstar" : "nstar");
            const char *ex = w ? "b" : "a";
            char e[32] = "-", ci[64] = "-", co[32] = "-", ok[48] = "-", k[8];
            if (json_is_true(json_object_get(L, "ok"))) {
                snprintf(k, sizeof k, "%s_ci", ex);
                json_t *iv = json_object_get(L, k);
                snprintf(e, sizeof e, "%.4f", json_number_value(json_object_get(L, ex)));
                if (json_is_number(json_array_get(iv, 0)))
                    snprintf(ci, sizeof ci, "[%.4f, %.4f]", json_number_value(json_array_get(iv, 0)),
                             json_number_value(json_array_get(iv, 1)));
                snprintf(co, sizeof co, "%.4g", json_number_value(json_object_get(L, "coef")));
                snprintf(ok, sizeof ok, "%lld of %lld",
                         (long long)json_integer_value(json_object_get(L, "resamples_ok")),
                         (long long)json_integer_value(json_object_get(L, "resamples")));
            } else if (json_is_string(json_object_get(L, "reason")))
                snprintf(ci, sizeof ci, "not fitted");
            const char *row[] = {fn[a], w ? "D*(C)" : "N*(C)", e, ci, co, ok};
            sclaw_table_add(&tb, row);
        }
    sclaw_table_print(&tb, stdout);
    sclaw_table_free(&tb);
    printf("\n");
    const char *h2[] = {"budget", "xLSTM best", "Llama best", "lower"};
    if (sclaw_table_init(&tb, 4, h2))
        return;
    tb.right[1] = tb.right[2] = 1;
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(sum, "budgets"), i, b) {
        char bn[32], x[32] = "-", l[32] = "-";
        snprintf(bn, sizeof bn, "%g", json_number_value(json_object_get(b, "budget")));
        json_t *vx = json_object_get(json_object_get(b, "xlstm"), "best_loss");
        json_t *vl = json_object_get(json_object_get(b, "llama"), "best_loss");
        if (json_is_number(vx))
            snprintf(x, sizeof x, "%.4f", json_number_value(vx));
        if (json_is_number(vl))
            snprintf(l, sizeof l, "%.4f", json_number_value(vl));
        json_t *lw = json_object_get(b, "lower");
        const char *row[] = {bn, x, l, json_is_string(lw) ? (strcmp(json_string_value(lw), "xlstm") ? "Llama" : "xLSTM") : "-"};
        sclaw_table_add(&tb, row);
    }
    sclaw_table_print(&tb, stdout);
    sclaw_table_free(&tb);
    printf("\n%s\nwrote %s/report.md, summary.json and %lld figure files\n",
           json_string_value(json_object_get(sum, "headline")), out_dir, (long long)(n_files - 2));
}

static int finish(const char *cmd, struct sclaw_report_result *r, const char *out_dir)
{
    if (cli.json) {
        json_t *j = result_json(r, out_dir);
        sclaw_json_print(j, stdout);
        json_decref(j);
    } else {
        print_checks(r);
        int64_t judged = 0;
        for (int64_t i = 0; i < r->n_checks; i++)
            judged += r->checks[i].ref->rtol >= 0;
        printf("\n%lld of %lld numbers within tolerance of the paper", (long long)r->n_ok,
               (long long)judged);
        if (r->n_missing)
            printf(", %lld not computed", (long long)r->n_missing);
        printf("; largest relative difference %.3g\nwrote %s/report.md and %lld figure files\n",
               r->max_rel, out_dir, (long long)(r->n_files - 1));
    }
    (void)cmd;
    sclaw_report_result_free(r);
    return 0;
}

static int report_paper(int argc, char **argv)
{
    const char *cmd = "report paper", *arg;
    struct sclaw_report_opts o = {0};
    o.data_dir = "data/paper";
    o.out_dir = "out/paper-report";
    o.threads = cli.threads;
    int c;
    while ((c = cli_next(argc, argv, &paper_info, &arg))) {
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case O_OUT: o.out_dir = arg; break;
        case O_DATA: o.data_dir = arg; break;
        case O_FULL: o.full_grid = 1; break;
        }
    }
    if (cli_optind() < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[cli_optind()]);
    use_progress(&o);
    struct sclaw_report_result r;
    int st = sclaw_report_paper(&o, &r);
    cli_progress_done(&prog.line);
    if (st)
        return cli_fail(cmd, st);
    return finish(cmd, &r, o.out_dir);
}

static int report_inference(int argc, char **argv)
{
    const char *cmd = "report inference", *arg;
    struct sclaw_report_opts o = {0};
    o.data_dir = "data/paper";
    o.out_dir = "out/inference-report";
    int c;
    while ((c = cli_next(argc, argv, &infer_info, &arg))) {
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case O_OUT: o.out_dir = arg; break;
        case O_DATA: o.data_dir = arg; break;
        }
    }
    /* extra tables: the positional arguments (the dispatcher takes '--csv'
     * as its global flag, so "--csv FILE..." arrives here as "FILE...") */
    o.extra = (const char *const *)(argv + cli_optind());
    o.n_extra = argc - cli_optind();
    if (cli.csv && o.n_extra == 0)
        return cli_usage(cmd, "option '--csv' needs at least one FILE");
    struct sclaw_report_result r;
    int st = sclaw_report_inference(&o, &r);
    if (st)
        return cli_fail(cmd, st);
    return finish(cmd, &r, o.out_dir);
}

static int report_study(int argc, char **argv)
{
    const char *cmd = "report study", *arg, *dir = NULL;
    struct sclaw_report_study_opts o = {0};
    o.bootstrap = 200;
    o.threads = cli.threads;
    int c;
    while ((c = cli_next(argc, argv, &study_info, &arg))) {
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case O_OUT: o.out_dir = arg; break;
        case O_BOOT: {
            int64_t k;
            if (cli_int64(cmd, "--bootstrap", arg, 0, &k))
                return 2;
            o.bootstrap = k;
            break;
        }
        case O_SEED: {
            int64_t k;
            if (cli_int64(cmd, "--seed", arg, 0, &k))
                return 2;
            o.seed = (uint64_t)k;
            break;
        }
        }
    }
    if (cli_optind() >= argc)
        return cli_usage(cmd, "missing the study directory DIR");
    dir = argv[cli_optind()];
    if (cli_optind() + 1 < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[cli_optind() + 1]);
    o.study_dir = dir;
    char out[4200];
    if (!o.out_dir) {
        snprintf(out, sizeof out, "%s/report", dir);
        o.out_dir = out;
    }
    struct sclaw_report_opts po = {0};
    use_progress(&po);
    o.progress = po.progress;
    o.progress_user = po.progress_user;
    struct sclaw_report_result r;
    int st = sclaw_report_study(&o, &r);
    cli_progress_done(&prog.line);
    if (st)
        return cli_fail(cmd, st);
    char p[4300];
    json_t *sum = NULL;
    snprintf(p, sizeof p, "%s/summary.json", o.out_dir);
    if ((st = sclaw_json_load(p, &sum))) {
        sclaw_report_result_free(&r);
        return cli_fail(cmd, st);
    }
    if (cli.json)
        sclaw_json_print(sum, stdout);
    else
        print_study(sum, o.out_dir, r.n_files);
    json_decref(sum);
    sclaw_report_result_free(&r);
    return 0;
}

static const struct cli_sub subs[] = {
    {"inference", report_inference, "measured and modelled inference times against prefill (spec 3.5)"},
    {"paper", report_paper, "the paper's scaling-law results recomputed, drawn and compared (spec 4-9)"},
    {"study", report_study, "a study's IsoFLOP analysis: xLSTM against Llama with bootstrap intervals"},
};

int cmd_report(int argc, char **argv)
{
    return cli_dispatch("report", "sclaw report <paper|inference|study> [options]",
                        "Markdown reports with figures (PNG and SVG) from the paper's data or a study.",
                        subs, sizeof subs / sizeof subs[0], argc, argv);
}
