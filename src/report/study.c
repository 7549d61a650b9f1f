/* study.c - `sclaw report study`: the paper's IsoFLOP analysis applied to a
 * study sclaw trained itself (accounting-and-fits.md §4, §5, §8; the study
 * directory layout of sclaw_study.h), comparing xLSTM with Llama.
 *
 * Steps: collect the finished runs into DIR/runs.csv (sclaw_study_collect),
 * then per family: training curves from each run's log.csv, IsoFLOP parabolas
 * in log10 N and log10 D per budget, the N*(C) and D*(C) power laws with
 * bootstrap intervals (sclaw_isoflop_bootstrap), L(N,D) with gamma = 1, the
 * loss each family reaches per budget, and the loss/compute Pareto frontier.
 * Output: report.md, figures (PNG + SVG) and summary.json in out_dir; the
 * summary holds no paths, so it does not depend on where the study lives.
 *
 * Honesty rules: a family with fewer than 3 fitted budgets gets no power law
 * (the report and the summary say why); non-convex parabolas are kept and
 * flagged; bootstrap resamples that fail are counted in the tables. */
#define _POSIX_C_SOURCE 200809L
#include "report_internal.h"
#include "sclaw_fit.h"
#include "sclaw_io.h"
#include "sclaw_status.h"
#include "sclaw_study.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NFAM = 2, MAXB = 32, MAXSIZES = 64, NSTAGE = 6 };
static const char *const FAM[NFAM] = {"mlstm_v1", "llama"};
static const char *const FKEY[NFAM] = {"xlstm", "llama"};
static const char *const FNAME[NFAM] = {"xLSTM", "Llama"};
static const int FMARK[NFAM] = {SCLAW_MARK_CIRCLE, SCLAW_MARK_SQUARE};

struct law {
    int ok;                        /* power law fitted */
    char why[256];                 /* why not */
    struct sclaw_isoflop_boot boot;
    double *samples;               /* [K][2] (coef, exponent), NaN where not ok */
};

struct fam {
    struct sclaw_runs runs;        /* this family's finished IsoFLOP runs */
    struct sclaw_isoflop_budget *bn, *bd;
    int64_t nbn, nbd;
    struct law ln, ld;             /* N*(C), D*(C) */
    struct sclaw_lnd_result lnd;
    int lnd_ok;
    char lnd_why[256];
    int64_t *front, nfront;        /* Pareto frontier, indices into runs */
};

struct study {
    const struct sclaw_report_study_opts *o;
    struct sclaw_plan plan;
    struct sclaw_run_status *rs;   /* [plan.nruns] */
    int64_t count[4];              /* runs per enum sclaw_run_state */
    int64_t n_collected;
    double budgets[MAXB];          /* every budget with a finished run, increasing */
    int64_t nbudgets;
    struct fam f[NFAM];
    json_t *summary;
};

static void study_free(struct study *s)
{
    sclaw_plan_free(&s->plan);
    free(s->rs);
    for (int a = 0; a < NFAM; a++) {
        struct fam *f = &s->f[a];
        sclaw_runs_free(&f->runs);
        free(f->bn);
        free(f->bd);
        free(f->ln.samples);
        free(f->ld.samples);
        free(f->front);
    }
    json_decref(s->summary);
}

static int fam_of(const struct sclaw_plan_run *r)
{
    for (int a = 0; a < NFAM; a++)
        if (!strcmp(r->config.arch->name, FAM[a]))
            return a;
    return -1;
}

static int64_t budget_index(const struct study *s, double b)
{
    for (int64_t i = 0; i < s->nbudgets; i++)
        if (s->budgets[i] == b)
            return i;
    return -1;
}

/* "1.5e9" for a budget (the paper's helper rounds the mantissa to an integer). */
static void budget_name(char *buf, size_t n, double b)
{
    int e = (int)floor(log10(b) + 1e-9);
    snprintf(buf, n, "%.3ge%d", b / pow(10, e), e);
}

/* "199K" / "2.5M" for a parameter count. */
static void size_name(char *buf, size_t n, double N)
{
    if (N >= 1e9)
        snprintf(buf, n, "%.3gB", N / 1e9);
    else if (N >= 1e6)
        snprintf(buf, n, "%.3gM", N / 1e6);
    else
        snprintf(buf, n, "%.3gK", N / 1e3);
}

/* ---------------------------------------------------------------------- */
/* collection and fits                                                     */
/* ---------------------------------------------------------------------- */

static int collect(struct rep *c, struct study *s)
{
    const char *dir = s->o->study_dir;
    char path[4200];
    int st;
    snprintf(path, sizeof path, "%s/plan.json", dir);
    if ((st = sclaw_plan_load(&s->plan, path)))
        return sclaw_wrap(st, "'%s' is not a study directory", dir);
    if (!(s->rs = calloc((size_t)(s->plan.nruns + 1), sizeof *s->rs)))
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    if ((st = sclaw_study_scan(&s->plan, dir, s->rs)))
        return st;
    for (int64_t i = 0; i < s->plan.nruns; i++)
        s->count[s->rs[i].state]++;
    if (s->count[SCLAW_RUN_FINISHED] == 0)
        return sclaw_fail(SCLAW_E_ARG, "study '%s' has no finished runs (%lld planned); "
                          "train them with 'sclaw study run'", dir, (long long)s->plan.nruns);
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    if ((st = sclaw_study_collect(dir, path, &s->n_collected)))
        return st;
    for (int a = 0; a < NFAM; a++) {
        struct fam *f = &s->f[a];
        struct sclaw_runs_filter flt = {0};
        flt.model_type = FAM[a];
        flt.set = SCLAW_RUNS_SET_ISOFLOP;
        if ((st = sclaw_runs_load(&f->runs, path, &flt)))
            return st;
        for (int64_t i = 0; i < f->runs.n; i++) {
            double b = f->runs.budget[i];
            if (isnan(b) || budget_index(s, b) >= 0)
                continue;
            if (s->nbudgets == MAXB)
                return sclaw_fail(SCLAW_E_ARG, "study '%s' has more than %d budgets", dir, MAXB);
            int64_t j = s->nbudgets++;
            while (j > 0 && s->budgets[j - 1] > b) { /* keep increasing */
                s->budgets[j] = s->budgets[j - 1];
                j--;
            }
            s->budgets[j] = b;
        }
    }
    fprintf(c->md, "## 1. Runs\n\nThe plan `plan.json` lists %lld runs: **%lld finished**, "
                   "%lld not started, %lld partial, %lld corrupt. The finished runs were "
                   "collected into `runs.csv` of the study directory (paper schema).",
            (long long)s->plan.nruns, (long long)s->count[SCLAW_RUN_FINISHED],
            (long long)s->count[SCLAW_RUN_PENDING], (long long)s->count[SCLAW_RUN_PARTIAL],
            (long long)s->count[SCLAW_RUN_CORRUPT]);
    int64_t unfinished = s->plan.nruns - s->count[SCLAW_RUN_FINISHED];
    if (unfinished) {
        fprintf(c->md, " **%lld runs are not finished and are left out of every fit:**",
                (long long)unfinished);
        int64_t listed = 0;
        for (int64_t i = 0; i < s->plan.nruns; i++)
            if (s->rs[i].state != SCLAW_RUN_FINISHED)
                fprintf(c->md, "%s `%s` (%s)", listed++ ? "," : "", s->plan.runs[i].name,
                        sclaw_run_state_str(s->rs[i].state));
        fputc('.', c->md);
        sclaw_warn("%lld of %lld runs of study '%s' are not finished; the report uses the "
                   "other %lld", (long long)unfinished, (long long)s->plan.nruns, dir,
                   (long long)s->count[SCLAW_RUN_FINISHED]);
    }
    fprintf(c->md, "\n\n| family | finished runs | budgets | model sizes N |\n|---|---:|---:|---|\n");
    for (int a = 0; a < NFAM; a++) {
        const struct sclaw_runs *r = &s->f[a].runs;
        double lo = INFINITY, hi = 0;
        int64_t nb = 0;
        for (int64_t i = 0; i < r->n; i++) {
            lo = fmin(lo, r->N[i]);
            hi = fmax(hi, r->N[i]);
        }
        for (int64_t b = 0; b < s->nbudgets; b++)
            for (int64_t i = 0; i < r->n; i++)
                if (r->budget[i] == s->budgets[b]) {
                    nb++;
                    break;
                }
        if (r->n)
            fprintf(c->md, "| %s | %lld | %lld | %.3g to %.3g |\n", FNAME[a], (long long)r->n,
                    (long long)nb, lo, hi);
        else
            fprintf(c->md, "| %s | 0 | 0 | — |\n", FNAME[a]);
    }
    fprintf(c->md, "\n");
    return SCLAW_OK;
}

/* One power law with its bootstrap; a family that cannot have one says why. */
static int fit_law(struct study *s, struct fam *f, int which, struct law *L)
{
    int64_t nb = which ? f->nbd : f->nbn, K = s->o->bootstrap > 0 ? s->o->bootstrap : 0;
    const double *x = which ? f->runs.D : f->runs.N;
    if (nb < 3) {
        snprintf(L->why, sizeof L->why, "%lld budget%s with a parabola (3 or more runs each); a "
                 "power law needs at least 3", (long long)nb, nb == 1 ? "" : "s");
        return SCLAW_OK;
    }
    if (!(L->samples = malloc(sizeof(double) * (size_t)(2 * K + 2))))
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    if (sclaw_isoflop_bootstrap(x, f->runs.loss, f->runs.C, f->runs.budget, f->runs.n, K,
                                s->o->seed, &L->boot, L->samples)) {
        snprintf(L->why, sizeof L->why, "%s", sclaw_errmsg());
        return SCLAW_OK;
    }
    if (L->boot.n_budgets < 3) {
        snprintf(L->why, sizeof L->why, "only %lld of %lld budgets have a parabola that opens "
                 "upwards (a minimum); a power law needs at least 3", (long long)L->boot.n_budgets,
                 (long long)nb);
        return SCLAW_OK;
    }
    L->ok = 1;
    return SCLAW_OK;
}

static int fits(struct study *s)
{
    int st;
    for (int a = 0; a < NFAM; a++) {
        struct fam *f = &s->f[a];
        const struct sclaw_runs *r = &f->runs;
        if (r->n == 0) {
            snprintf(f->ln.why, sizeof f->ln.why, "no finished runs");
            snprintf(f->ld.why, sizeof f->ld.why, "no finished runs");
            snprintf(f->lnd_why, sizeof f->lnd_why, "no finished runs");
            continue;
        }
        f->bn = calloc((size_t)(r->n + 1), sizeof *f->bn);
        f->bd = calloc((size_t)(r->n + 1), sizeof *f->bd);
        f->front = malloc((size_t)(r->n + 1) * sizeof *f->front);
        if (!f->bn || !f->bd || !f->front)
            return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        if ((st = sclaw_fit_isoflop(r->N, r->loss, r->C, r->budget, r->n, f->bn, &f->nbn)) ||
            (st = sclaw_fit_isoflop(r->D, r->loss, r->C, r->budget, r->n, f->bd, &f->nbd)))
            return sclaw_wrap(st, "%s IsoFLOP parabolas", FNAME[a]);
        if ((st = fit_law(s, f, 0, &f->ln)) || (st = fit_law(s, f, 1, &f->ld)))
            return st;
        if (!f->ln.ok)
            sclaw_warn("%s: no N*(C) power law: %s", FNAME[a], f->ln.why);
        if (r->n >= 3) {
            /* gamma = 1: a handful of points cannot pin down six parameters */
            struct sclaw_lnd_opts o;
            sclaw_lnd_opts_default(&o);
            o.threads = s->o->threads;
            if (sclaw_fit_lnd(r->N, r->D, r->loss, r->n, &o, &f->lnd))
                snprintf(f->lnd_why, sizeof f->lnd_why, "%s", sclaw_errmsg());
            else
                f->lnd_ok = 1;
        } else
            snprintf(f->lnd_why, sizeof f->lnd_why, "%lld runs; L(N,D) needs at least 3",
                     (long long)r->n);
        if (sclaw_pareto_frontier(r->C, r->loss, r->n, f->front, &f->nfront))
            f->nfront = 0;
    }
    return SCLAW_OK;
}

/* ---------------------------------------------------------------------- */
/* figures                                                                 */
/* ---------------------------------------------------------------------- */

/* Distinct model sizes of a family's finished runs, increasing. */
static int64_t sizes_of(const struct study *s, int a, double *N)
{
    int64_t n = 0;
    for (int64_t i = 0; i < s->plan.nruns; i++) {
        const struct sclaw_plan_run *r = &s->plan.runs[i];
        if (fam_of(r) != a || s->rs[i].state != SCLAW_RUN_FINISHED)
            continue;
        int64_t j = 0;
        while (j < n && N[j] != r->num_params)
            j++;
        if (j < n || n == MAXSIZES)
            continue;
        j = n++;
        while (j > 0 && N[j - 1] > r->num_params) {
            N[j] = N[j - 1];
            j--;
        }
        N[j] = r->num_params;
    }
    return n;
}

/* Columns tokens, train_loss, val_loss of a run's log.csv (val empty = NaN). */
static int read_log(const char *dir, const char *run, double **x, double **tl, double **vl,
                    int64_t *n)
{
    char path[4400];
    struct sclaw_csv t;
    int64_t ct, cl, cv;
    snprintf(path, sizeof path, "%s/%s/log.csv", dir, run);
    int st = sclaw_csv_read(&t, path);
    if (st)
        return st;
    if ((st = sclaw_csv_require(&t, "tokens", &ct)) || (st = sclaw_csv_require(&t, "train_loss", &cl)) ||
        (st = sclaw_csv_require(&t, "val_loss", &cv)))
        goto done;
    *x = malloc(sizeof(double) * (size_t)(t.nrows + 1));
    *tl = malloc(sizeof(double) * (size_t)(t.nrows + 1));
    *vl = malloc(sizeof(double) * (size_t)(t.nrows + 1));
    if (!*x || !*tl || !*vl) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < t.nrows; i++) {
        (*tl)[i] = (*vl)[i] = NAN;
        if ((st = sclaw_csv_double(&t, i, ct, &(*x)[i])))
            goto done;
        if (sclaw_csv_cell(&t, i, cl)[0] && (st = sclaw_csv_double(&t, i, cl, &(*tl)[i])))
            goto done;
        if (sclaw_csv_cell(&t, i, cv)[0] && (st = sclaw_csv_double(&t, i, cv, &(*vl)[i])))
            goto done;
    }
    *n = t.nrows;
done:
    sclaw_csv_free(&t);
    return st;
}

/* Training curves of one family: a panel per budget, colour by model size. */
static int fig_curves(struct rep *c, struct study *s, int a)
{
    double sizes[MAXSIZES];
    int64_t ns = sizes_of(s, a, sizes);
    int64_t nb = s->nbudgets < 1 ? 1 : s->nbudgets;
    int64_t ncols = nb < 4 ? nb : 4, nrows = (nb + ncols - 1) / ncols;
    if (nrows > 8)
        nrows = 8;
    char title[128], name[32];
    snprintf(title, sizeof title, "%s training curves: train loss (lines) and validation loss "
             "(points) per budget", FNAME[a]);
    struct sclaw_plot_fig fig;
    int st = sclaw_plot_init(&fig, nrows, ncols, title);
    if (st)
        return st;
    for (int64_t b = 0; b < nb && b < nrows * ncols; b++) {
        struct sclaw_plot_panel *pn = sclaw_plot_panel(&fig, b / ncols, b % ncols);
        char bn[32];
        budget_name(bn, sizeof bn, s->nbudgets ? s->budgets[b] : 0);
        snprintf(title, sizeof title, "budget %s FLOPs", bn);
        sclaw_plot_labels(pn, title, "tokens seen", b % ncols == 0 ? "loss [nats]" : NULL);
        pn->flags = SCLAW_PLOT_XLOG;
        pn->legend = SCLAW_LEGEND_TOP_RIGHT;
        for (int64_t i = 0; i < s->plan.nruns; i++) {
            const struct sclaw_plan_run *r = &s->plan.runs[i];
            if (fam_of(r) != a || s->rs[i].state != SCLAW_RUN_FINISHED ||
                !s->nbudgets || r->budget != s->budgets[b])
                continue;
            double *x = NULL, *tl = NULL, *vl = NULL;
            int64_t n = 0, k = 0;
            if ((st = read_log(s->o->study_dir, r->name, &x, &tl, &vl, &n))) {
                free(x);
                free(tl);
                free(vl);
                goto done;
            }
            while (k < ns && sizes[k] != r->num_params)
                k++;
            uint32_t col = sclaw_plot_ramp(ns > 1 ? 0.9 * (double)k / (double)(ns - 1) : 0);
            char lab[48];
            size_name(lab, sizeof lab, r->num_params);
            strncat(lab, " params", sizeof lab - strlen(lab) - 1);
            struct sclaw_plot_style sty = {col, SCLAW_MARK_CIRCLE, SCLAW_LINE_NONE, 0, 0.9};
            if (!(st = sclaw_plot_line(pn, lab, x, tl, n, col, SCLAW_LINE_SOLID)))
                st = sclaw_plot_add(pn, NULL, x, vl, n, &sty);
            free(x);
            free(tl);
            free(vl);
            if (st)
                goto done;
        }
    }
    snprintf(name, sizeof name, "curves_%s", FKEY[a]);
    st = rep_figure(c, &fig, name);
done:
    sclaw_plot_free(&fig);
    return st;
}

/* IsoFLOP parabolas: rows = families, columns = log10 N, log10 D. */
static int fig_isoflop(struct rep *c, const struct study *s)
{
    struct sclaw_plot_fig fig;
    int st = sclaw_plot_init(&fig, NFAM, 2, "IsoFLOP profiles: validation loss per compute budget");
    if (st)
        return st;
    int64_t cap = 64;
    for (int a = 0; a < NFAM; a++)
        cap = s->f[a].runs.n + 64 > cap ? s->f[a].runs.n + 64 : cap;
    double *x = malloc(sizeof(double) * (size_t)cap), *y = malloc(sizeof(double) * (size_t)cap);
    if (!x || !y) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    for (int a = 0; a < NFAM; a++)
        for (int w = 0; w < 2; w++) {
            const struct fam *f = &s->f[a];
            const struct sclaw_runs *r = &f->runs;
            struct sclaw_plot_panel *pn = sclaw_plot_panel(&fig, a, w);
            char title[64];
            snprintf(title, sizeof title, "%s: loss against %s", FNAME[a], w ? "tokens D" : "parameters N");
            sclaw_plot_labels(pn, title, w ? "training tokens D" : "parameters N",
                              w == 0 ? "validation loss" : NULL);
            pn->flags = SCLAW_PLOT_XLOG;
            pn->legend = w == 1 ? SCLAW_LEGEND_OUTSIDE_RIGHT : SCLAW_LEGEND_NONE;
            if (w == 1) {
                for (int64_t b = 0; b < s->nbudgets; b++) {
                    char lab[32];
                    budget_name(lab, sizeof lab, s->budgets[b]);
                    if ((st = sclaw_plot_scatter(pn, lab, NULL, NULL, 0, sclaw_plot_color(b),
                                                 SCLAW_MARK_CIRCLE)))
                        goto done;
                }
                struct sclaw_plot_style star = {0x000000, SCLAW_MARK_STAR, SCLAW_LINE_NONE, 0, 1.3};
                if ((st = sclaw_plot_add(pn, "optimum", NULL, NULL, 0, &star)))
                    goto done;
            }
            const struct sclaw_isoflop_budget *B = w ? f->bd : f->bn;
            int64_t nb = w ? f->nbd : f->nbn;
            /* every run, also those of budgets without a parabola */
            for (int64_t b = 0; b < s->nbudgets; b++) {
                int64_t m = 0;
                for (int64_t i = 0; i < r->n; i++)
                    if (r->budget[i] == s->budgets[b]) {
                        x[m] = w ? r->D[i] : r->N[i];
                        y[m++] = r->loss[i];
                    }
                if ((st = sclaw_plot_scatter(pn, NULL, x, y, m, sclaw_plot_color(b), SCLAW_MARK_CIRCLE)))
                    goto done;
            }
            for (int64_t b = 0; b < nb; b++) {
                uint32_t col = sclaw_plot_color(budget_index(s, B[b].budget));
                double lo = INFINITY, hi = -INFINITY;
                for (int64_t i = 0; i < r->n; i++)
                    if (r->budget[i] == B[b].budget) {
                        lo = fmin(lo, log10(w ? r->D[i] : r->N[i]));
                        hi = fmax(hi, log10(w ? r->D[i] : r->N[i]));
                    }
                for (int i = 0; i < 40; i++) {
                    double t = lo - 0.05 + (hi - lo + 0.1) * i / 39.0;
                    x[i] = pow(10, t);
                    y[i] = (B[b].poly[0] * t + B[b].poly[1]) * t + B[b].poly[2];
                }
                if ((st = sclaw_plot_line(pn, NULL, x, y, 40, col,
                                          B[b].poly[0] > 0 ? SCLAW_LINE_SOLID : SCLAW_LINE_DOTTED)))
                    goto done;
                if (B[b].poly[0] > 0) {
                    struct sclaw_plot_style star = {col, SCLAW_MARK_STAR, SCLAW_LINE_NONE, 0, 1.6};
                    if ((st = sclaw_plot_add(pn, NULL, &B[b].x_opt, &B[b].loss_opt, 1, &star)))
                        goto done;
                }
            }
        }
    st = rep_figure(c, &fig, "isoflop");
done:
    free(x);
    free(y);
    sclaw_plot_free(&fig);
    return st;
}

/* N*(C) and D*(C): budget optima, the fitted laws and their pointwise 95%
 * bootstrap band. */
static int fig_powerlaws(struct rep *c, const struct study *s)
{
    struct sclaw_plot_fig fig;
    int st = sclaw_plot_init(&fig, 1, 2, "Compute-optimal model size and data: power laws with 95% bootstrap bands");
    if (st)
        return st;
    int64_t K = s->o->bootstrap > 0 ? s->o->bootstrap : 0;
    double *tmp = malloc(sizeof(double) * (size_t)(K + 1));
    if (!tmp) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    double cmin = INFINITY, cmax = 0;
    for (int a = 0; a < NFAM; a++)
        for (int64_t b = 0; b < s->f[a].nbn; b++) {
            cmin = fmin(cmin, s->f[a].bn[b].flops_mean);
            cmax = fmax(cmax, s->f[a].bn[b].flops_mean);
        }
    if (!(cmax > 0)) {
        cmin = 1;
        cmax = 10;
    }
    for (int w = 0; w < 2; w++) {
        struct sclaw_plot_panel *pn = sclaw_plot_panel(&fig, 0, w);
        sclaw_plot_labels(pn, w ? "D*(C) = B' C#ub#d" : "N*(C) = A' C#ua#d", "training compute C [FLOPs]",
                          w ? "compute-optimal tokens D*" : "compute-optimal parameters N*");
        pn->flags = SCLAW_PLOT_XLOG | SCLAW_PLOT_YLOG;
        pn->legend = SCLAW_LEGEND_TOP_LEFT;
        for (int a = 0; a < NFAM; a++) {
            const struct fam *f = &s->f[a];
            const struct sclaw_isoflop_budget *B = w ? f->bd : f->bn;
            int64_t nb = w ? f->nbd : f->nbn;
            const struct law *L = w ? &f->ld : &f->ln;
            uint32_t col = sclaw_plot_color(a);
            double xs[MAXB], ys[MAXB];
            int64_t m = 0;
            for (int64_t b = 0; b < nb && b < MAXB; b++)
                if (B[b].poly[0] > 0) { /* a maximum is no optimum */
                    xs[m] = B[b].flops_mean;
                    ys[m++] = B[b].x_opt;
                }
            char lab[96];
            snprintf(lab, sizeof lab, "%s budget optima", FNAME[a]);
            if ((st = sclaw_plot_scatter(pn, lab, xs, ys, m, col, FMARK[a])))
                goto done;
            if (!L->ok)
                continue;
            double gx[48], gy[48], glo[48], ghi[48];
            for (int i = 0; i < 48; i++) {
                gx[i] = cmin / 1.5 * pow(cmax * 2.25 / cmin, i / 47.0);
                gy[i] = L->boot.law.coef * pow(gx[i], L->boot.law.exponent);
                int64_t q = 0;
                for (int64_t k = 0; k < K; k++)
                    if (!isnan(L->samples[2 * k]))
                        tmp[q++] = L->samples[2 * k] * pow(gx[i], L->samples[2 * k + 1]);
                glo[i] = q >= 2 ? sclaw_percentile(tmp, q, 2.5) : NAN;
                ghi[i] = q >= 2 ? sclaw_percentile(tmp, q, 97.5) : NAN;
            }
            snprintf(lab, sizeof lab, "%s: %.3g C#u%.3f#d", FNAME[a], L->boot.law.coef,
                     L->boot.law.exponent);
            if ((st = sclaw_plot_line(pn, lab, gx, gy, 48, col, SCLAW_LINE_SOLID)))
                goto done;
            snprintf(lab, sizeof lab, "%s 95%% band", FNAME[a]);
            if ((st = sclaw_plot_line(pn, lab, gx, glo, 48, col, SCLAW_LINE_DOTTED)) ||
                (st = sclaw_plot_line(pn, NULL, gx, ghi, 48, col, SCLAW_LINE_DOTTED)))
                goto done;
        }
    }
    st = rep_figure(c, &fig, "powerlaws");
done:
    free(tmp);
    sclaw_plot_free(&fig);
    return st;
}

/* Loss against compute of both families with their Pareto frontiers. */
static int fig_pareto(struct rep *c, const struct study *s)
{
    struct sclaw_plot_fig fig;
    int st = sclaw_plot_init(&fig, 1, 1, "Loss against training compute: every run and the Pareto frontiers");
    if (st)
        return st;
    fig.width = 760;
    struct sclaw_plot_panel *pn = sclaw_plot_panel(&fig, 0, 0);
    sclaw_plot_labels(pn, NULL, "training compute C [FLOPs]", "validation loss");
    pn->flags = SCLAW_PLOT_XLOG | SCLAW_PLOT_YLOG;
    pn->legend = SCLAW_LEGEND_OUTSIDE_RIGHT;
    for (int a = 0; a < NFAM && !st; a++) {
        const struct fam *f = &s->f[a];
        const struct sclaw_runs *r = &f->runs;
        double *x = malloc(sizeof(double) * (size_t)(r->n + 1)), *y = malloc(sizeof(double) * (size_t)(r->n + 1));
        if (!x || !y) {
            free(x);
            free(y);
            st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
            break;
        }
        char lab[64];
        snprintf(lab, sizeof lab, "%s runs", FNAME[a]);
        st = sclaw_plot_scatter(pn, lab, r->C, r->loss, r->n, sclaw_plot_color(a), FMARK[a]);
        int64_t m = 0;
        for (int64_t i = 0; i < f->nfront; i++)
            if (f->front[i] < r->n) { /* index n is the added closing point */
                x[m] = r->C[f->front[i]];
                y[m++] = r->loss[f->front[i]];
            }
        snprintf(lab, sizeof lab, "%s frontier", FNAME[a]);
        if (!st && m)
            st = sclaw_plot_line(pn, lab, x, y, m, sclaw_plot_color(a), SCLAW_LINE_SOLID);
        free(x);
        free(y);
    }
    if (!st)
        st = rep_figure(c, &fig, "pareto");
    sclaw_plot_free(&fig);
    return st;
}

/* ---------------------------------------------------------------------- */
/* tables and summary                                                      */
/* ---------------------------------------------------------------------- */

static json_t *law_json(const struct law *L, const char *ex)
{
    json_t *j = json_object();
    char k[32];
    json_object_set_new(j, "ok", json_boolean(L->ok));
    if (!L->ok) {
        json_object_set_new(j, "reason", json_string(L->why));
        return j;
    }
    const struct sclaw_isoflop_boot *b = &L->boot;
    json_object_set_new(j, ex, sclaw_json_number(b->law.exponent));
    snprintf(k, sizeof k, "%s_ci", ex);
    json_t *ci = json_array();
    json_array_append_new(ci, sclaw_json_number(b->exponent_lo));
    json_array_append_new(ci, sclaw_json_number(b->exponent_hi));
    json_object_set_new(j, k, ci);
    json_object_set_new(j, "coef", sclaw_json_number(b->law.coef));
    ci = json_array();
    json_array_append_new(ci, sclaw_json_number(b->coef_lo));
    json_array_append_new(ci, sclaw_json_number(b->coef_hi));
    json_object_set_new(j, "coef_ci", ci);
    json_object_set_new(j, "budgets", json_integer(b->n_budgets));
    json_object_set_new(j, "budgets_concave", json_integer(b->n_concave));
    json_object_set_new(j, "resamples", json_integer(b->n_resamples));
    json_object_set_new(j, "resamples_ok", json_integer(b->n_ok));
    json_object_set_new(j, "resamples_nonconvex", json_integer(b->n_nonconvex));
    json_object_set_new(j, "resamples_failed", json_integer(b->n_failed));
    return j;
}

static void md_law_row(FILE *md, const char *fam, const char *what, const struct law *L)
{
    if (!L->ok) {
        fprintf(md, "| %s | %s | — | — | — | — | — | not fitted: %s |\n", fam, what, L->why);
        return;
    }
    const struct sclaw_isoflop_boot *b = &L->boot;
    char lo[32], hi[32], clo[32], chi[32];
    rep_fmt(lo, sizeof lo, b->exponent_lo);
    rep_fmt(hi, sizeof hi, b->exponent_hi);
    rep_fmt(clo, sizeof clo, b->coef_lo);
    rep_fmt(chi, sizeof chi, b->coef_hi);
    char nb[48];
    if (b->n_concave)
        snprintf(nb, sizeof nb, "%lld (%lld concave left out)", (long long)b->n_budgets,
                 (long long)b->n_concave);
    else
        snprintf(nb, sizeof nb, "%lld", (long long)b->n_budgets);
    fprintf(md, "| %s | %s | %.4f | [%s, %s] | %.4g | [%s, %s] | %s | %lld ok, %lld non-convex, "
                "%lld failed of %lld |\n", fam, what, b->law.exponent, lo, hi, b->law.coef, clo,
            chi, nb, (long long)b->n_ok, (long long)b->n_nonconvex,
            (long long)b->n_failed, (long long)b->n_resamples);
}

/* Per budget: best observed loss and parabola minimum of each family. */
static void budget_losses(const struct study *s, int a, double budget, double *best,
                          double *para, int64_t *nruns)
{
    const struct fam *f = &s->f[a];
    *best = *para = NAN;
    *nruns = 0;
    for (int64_t i = 0; i < f->runs.n; i++)
        if (f->runs.budget[i] == budget) {
            (*nruns)++;
            if (!(f->runs.loss[i] >= *best))
                *best = f->runs.loss[i];
        }
    for (int64_t b = 0; b < f->nbn; b++)
        if (f->bn[b].budget == budget && f->bn[b].poly[0] > 0)
            *para = f->bn[b].loss_opt;
}

static int write_tables(struct rep *c, struct study *s)
{
    FILE *md = c->md;
    int64_t K = s->o->bootstrap > 0 ? s->o->bootstrap : 0;
    json_t *sum = s->summary = json_object(), *fams = json_object(), *buds = json_array();
    json_t *runs = json_object();
    json_object_set_new(runs, "planned", json_integer(s->plan.nruns));
    json_object_set_new(runs, "finished", json_integer(s->count[SCLAW_RUN_FINISHED]));
    json_object_set_new(runs, "pending", json_integer(s->count[SCLAW_RUN_PENDING]));
    json_object_set_new(runs, "partial", json_integer(s->count[SCLAW_RUN_PARTIAL]));
    json_object_set_new(runs, "corrupt", json_integer(s->count[SCLAW_RUN_CORRUPT]));
    json_object_set_new(sum, "runs", runs);
    json_t *bs = json_object();
    json_object_set_new(bs, "resamples", json_integer(K));
    json_object_set_new(bs, "seed", json_integer((json_int_t)s->o->seed));
    json_object_set_new(bs, "level", json_real(0.95));
    json_object_set_new(sum, "bootstrap", bs);

    /* --- IsoFLOP optima and power laws --- */
    fprintf(md, "## 3. IsoFLOP parabolas and power laws (§5)\n\n"
                "Per budget and family, loss = c2 x^2 + c1 x + c0 in x = log10 N (and separately "
                "log10 D) by least squares; the vertex is the budget's optimum. Budgets with fewer "
                "than 3 runs get no parabola; a parabola that opens downwards (c2 <= 0) is drawn "
                "dotted, its vertex is a maximum and is not drawn as an optimum.\n\n"
                "![IsoFLOP parabolas](isoflop.png)\n\n"
                "*Figure 2.* Finished runs (points, colour: budget), per-budget parabolas and their "
                "minima (stars); rows: families, columns: against N and against D.\n\n"
                "| family | budget | runs | mean C | N\\* | D\\* | loss at N\\* | c2 |\n"
                "|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (int a = 0; a < NFAM; a++) {
        const struct fam *f = &s->f[a];
        for (int64_t b = 0; b < f->nbn; b++) {
            char bn[16];
            budget_name(bn, sizeof bn, f->bn[b].budget);
            double dopt = NAN;
            for (int64_t j = 0; j < f->nbd; j++)
                if (f->bd[j].budget == f->bn[b].budget)
                    dopt = f->bd[j].x_opt;
            fprintf(md, "| %s | %s | %lld | %.4g | %.4g | %.4g | %.4f | %.4g%s |\n", FNAME[a], bn,
                    (long long)f->bn[b].n_runs, f->bn[b].flops_mean, f->bn[b].x_opt, dopt,
                    f->bn[b].loss_opt, f->bn[b].poly[0], f->bn[b].poly[0] > 0 ? "" : " (maximum)");
        }
    }
    fprintf(md, "\nPower laws N\\* = A' C^a and D\\* = B' C^b (least squares in log space over the "
                "budgets' mean compute) with 95%% bootstrap intervals. Unlike the paper's procedure, "
                "a budget whose parabola opens downwards is left out of the law (its vertex is a "
                "maximum); at least 3 budgets with a minimum are required. Bootstrap: "
                "%lld resamples (seed %llu) draw each budget's runs with replacement and refit the "
                "parabolas and the law; resamples in which a budget drew fewer than 3 distinct sizes "
                "(failed) or a parabola opened downwards (non-convex) are left out of the "
                "percentiles and counted here. With only 4 or 5 runs per budget most resamples "
                "repeat runs and many fail; more shapes per budget (`sclaw plan isoflop --points`) "
                "leave more usable resamples. With few budgets the intervals are wide; that is the "
                "uncertainty of the study, not a defect of the fit.\n\n"
                "| family | law | exponent | 95%% interval | coefficient | 95%% interval | budgets | "
                "resamples |\n|---|---|---:|---|---:|---|---:|---|\n",
            (long long)K, (unsigned long long)s->o->seed);
    for (int a = 0; a < NFAM; a++) {
        md_law_row(md, FNAME[a], "N\\*(C): a, A'", &s->f[a].ln);
        md_law_row(md, FNAME[a], "D\\*(C): b, B'", &s->f[a].ld);
    }
    fprintf(md, "\n![Power laws](powerlaws.png)\n\n"
                "*Figure 3.* Budget optima (non-convex budgets left out) against mean compute with "
                "the fitted power laws (solid) and the pointwise 2.5%%/97.5%% percentiles of the "
                "bootstrap laws (dotted).\n\n");

    /* --- L(N,D) --- */
    fprintf(md, "## 4. Parametric loss L(N,D) (§4)\n\n"
                "L(N,D) = E + A N^-alpha + B D^-beta (gamma fixed at 1: a study of a few dozen "
                "runs cannot identify six parameters), Huber objective (delta 1e-3) on the log "
                "loss, L-BFGS from every start of the paper's grid, lowest objective wins; fitted "
                "to each family's finished runs.\n\n"
                "| | xLSTM | Llama |\n|---|---:|---:|\n");
    static const char *const rows[] = {"A", "B", "E", "alpha", "beta", "objective", "runs",
                                       "starts (converged)"};
    for (int i = 0; i < 8; i++) {
        fprintf(md, "| %s |", rows[i]);
        for (int a = 0; a < NFAM; a++) {
            const struct sclaw_lnd_result *r = &s->f[a].lnd;
            if (!s->f[a].lnd_ok) {
                fprintf(md, i == 0 ? " not fitted: %s |" : " — |", s->f[a].lnd_why);
                continue;
            }
            double v[7] = {r->A, r->B, r->E, r->p.alpha, r->p.beta, r->objective, (double)r->n_points};
            char b[48];
            if (i < 7) {
                rep_fmt(b, sizeof b, v[i]);
                fprintf(md, " %s |", b);
            } else
                fprintf(md, " %lld (%lld) |", (long long)r->n_inits, (long long)r->n_converged);
        }
        fprintf(md, "\n");
    }
    fprintf(md, "\nFitted loss at the planned sizes (finished runs):\n\n"
                "| run | N | D | validation loss | L(N,D) | residual |\n|---|---:|---:|---:|---:|---:|\n");
    for (int64_t i = 0; i < s->plan.nruns; i++) {
        const struct sclaw_plan_run *r = &s->plan.runs[i];
        int a = fam_of(r);
        if (a < 0 || s->rs[i].state != SCLAW_RUN_FINISHED)
            continue;
        double fit = s->f[a].lnd_ok ? sclaw_lnd_predict(&s->f[a].lnd.p, r->num_params,
                                                         r->num_tokens_training) : NAN;
        char fb[32], rb[32];
        rep_fmt(fb, sizeof fb, fit);
        rep_fmt(rb, sizeof rb, s->rs[i].val_loss - fit);
        fprintf(md, "| %s | %.4g | %.4g | %.4f | %s | %s |\n", r->name, r->num_params,
                r->num_tokens_training, s->rs[i].val_loss, fb, rb);
    }

    for (int a = 0; a < NFAM; a++) {
        const struct fam *f = &s->f[a];
        json_t *j = json_object(), *l = json_object();
        json_object_set_new(j, "model_type", json_string(FAM[a]));
        json_object_set_new(j, "runs", json_integer(f->runs.n));
        json_object_set_new(j, "budgets_with_parabola", json_integer(f->nbn));
        json_object_set_new(j, "nstar", law_json(&f->ln, "a"));
        json_object_set_new(j, "dstar", law_json(&f->ld, "b"));
        json_object_set_new(l, "ok", json_boolean(f->lnd_ok));
        if (f->lnd_ok) {
            json_object_set_new(l, "A", sclaw_json_number(f->lnd.A));
            json_object_set_new(l, "B", sclaw_json_number(f->lnd.B));
            json_object_set_new(l, "E", sclaw_json_number(f->lnd.E));
            json_object_set_new(l, "alpha", sclaw_json_number(f->lnd.p.alpha));
            json_object_set_new(l, "beta", sclaw_json_number(f->lnd.p.beta));
            json_object_set_new(l, "gamma", sclaw_json_number(f->lnd.p.gamma));
            json_object_set_new(l, "objective", sclaw_json_number(f->lnd.objective));
        } else
            json_object_set_new(l, "reason", json_string(f->lnd_why));
        json_object_set_new(j, "lnd", l);
        json_object_set_new(j, "pareto_points", json_integer(f->nfront));
        json_object_set_new(fams, FKEY[a], j);
    }
    json_object_set_new(sum, "families", fams);

    /* --- loss at equal compute (the headline) --- */
    fprintf(md, "\n## 5. Loss at equal compute (§8)\n\n"
                "Per budget, the lowest validation loss each family reached and its parabola "
                "minimum; the lower family is judged by the observed loss (the parabola minimum is "
                "an interpolation).\n\n"
                "| budget | xLSTM runs | xLSTM best | xLSTM parabola min | Llama runs | Llama best | "
                "Llama parabola min | lower |\n|---|---:|---:|---:|---:|---:|---:|---|\n");
    int64_t wins[NFAM] = {0, 0}, compared = 0;
    for (int64_t b = 0; b < s->nbudgets; b++) {
        double best[NFAM], para[NFAM];
        int64_t nr[NFAM];
        char bn[16];
        budget_name(bn, sizeof bn, s->budgets[b]);
        json_t *jb = json_object();
        json_object_set_new(jb, "budget", sclaw_json_number(s->budgets[b]));
        fprintf(md, "| %s ", bn);
        for (int a = 0; a < NFAM; a++) {
            budget_losses(s, a, s->budgets[b], &best[a], &para[a], &nr[a]);
            char x[32], y[32];
            rep_fmt(x, sizeof x, best[a]);
            rep_fmt(y, sizeof y, para[a]);
            fprintf(md, "| %lld | %s | %s ", (long long)nr[a], x, y);
            json_t *jf = json_object();
            json_object_set_new(jf, "runs", json_integer(nr[a]));
            json_object_set_new(jf, "best_loss", sclaw_json_number(best[a]));
            json_object_set_new(jf, "parabola_loss", sclaw_json_number(para[a]));
            json_object_set_new(jb, FKEY[a], jf);
        }
        int lower = -1;
        if (isfinite(best[0]) && isfinite(best[1]) && best[0] != best[1])
            lower = best[0] < best[1] ? 0 : 1;
        if (lower >= 0) {
            wins[lower]++;
            compared++;
        }
        fprintf(md, "| %s |\n", lower >= 0 ? FNAME[lower] : "—");
        json_object_set_new(jb, "lower", lower >= 0 ? json_string(FKEY[lower]) : json_null());
        json_array_append_new(buds, jb);
    }
    json_object_set_new(sum, "budgets", buds);
    char head[512];
    int n = snprintf(head, sizeof head, "xLSTM reaches the lower loss at %lld of %lld budgets "
                     "both families trained", (long long)wins[0], (long long)compared);
    for (int a = 0; a < NFAM && n > 0 && (size_t)n < sizeof head; a++) {
        const struct law *L = &s->f[a].ln;
        if (L->ok)
            n += snprintf(head + n, sizeof head - (size_t)n, "; %s N* ~ C^%.3f [%.3f, %.3f]",
                          FNAME[a], L->boot.law.exponent, L->boot.exponent_lo, L->boot.exponent_hi);
        else
            n += snprintf(head + n, sizeof head - (size_t)n, "; %s: no N*(C) law", FNAME[a]);
    }
    json_object_set_new(sum, "xlstm_lower_budgets", json_integer(wins[0]));
    json_object_set_new(sum, "llama_lower_budgets", json_integer(wins[1]));
    json_object_set_new(sum, "headline", json_string(head));
    fputs("\n**", md);
    for (const char *w = head; *w; w++) /* '*' would end the emphasis */
        if (*w == '*')
            fputs("\\*", md);
        else
            fputc(*w, md);
    fprintf(md, ".**\n\n![Pareto frontier](pareto.png)\n\n"
                "*Figure 4.* Validation loss against training compute of every finished run with "
                "each family's Pareto frontier (convex hull with the point (max C, max L), as the "
                "paper's §8: %lld xLSTM and %lld Llama frontier points).\n\n",
            (long long)s->f[0].nfront, (long long)s->f[1].nfront);
    return SCLAW_OK;
}

/* ---------------------------------------------------------------------- */

int sclaw_report_study(const struct sclaw_report_study_opts *o, struct sclaw_report_result *r)
{
    struct rep c;
    struct study *s = calloc(1, sizeof *s);
    struct sclaw_report_opts ro = {0};
    char out[4200];
    memset(r, 0, sizeof *r);
    if (!s)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    s->o = o;
    if (!o->study_dir || !o->study_dir[0]) {
        free(s);
        return sclaw_fail(SCLAW_E_ARG, "report study: no study directory given");
    }
    if (o->out_dir && o->out_dir[0])
        snprintf(out, sizeof out, "%s", o->out_dir);
    else
        snprintf(out, sizeof out, "%s/report", o->study_dir);
    ro.out_dir = out;
    ro.threads = o->threads;
    ro.progress = o->progress;
    ro.progress_user = o->progress_user;
    int st = rep_begin(&c, &ro, r);
    if (st)
        goto done;
    fprintf(c.md, "# Scaling study: xLSTM against Llama\n\n"
                  "Generated by `sclaw report study` from the study directory (plan `plan.json`, one "
                  "run directory per planned run). Section numbers (§) refer to "
                  "`shared/spec/accounting-and-fits.md`; the fits are those of `sclaw report "
                  "paper`, applied to this study's runs.\n\n");
    rep_stage(&c, 1, NSTAGE, "collecting the finished runs");
    if ((st = collect(&c, s)))
        goto done;
    rep_stage(&c, 2, NSTAGE, "training curves");
    fprintf(c.md, "## 2. Training curves\n\n");
    for (int a = 0; a < NFAM; a++) {
        if (!s->f[a].runs.n)
            continue;
        if ((st = fig_curves(&c, s, a)))
            goto done;
        fprintf(c.md, "![%s training curves](curves_%s.png)\n\n", FNAME[a], FKEY[a]);
    }
    fprintf(c.md, "*Figure 1.* Training loss (lines) and validation loss (points) against tokens "
                  "seen, one panel per compute budget, colour by model size (dark: smallest). "
                  "Smaller models see more tokens within the same budget.\n\n");
    rep_stage(&c, 3, NSTAGE, "IsoFLOP parabolas, power laws and bootstrap");
    if ((st = fits(s)))
        goto done;
    rep_stage(&c, 4, NSTAGE, "figures");
    if ((st = fig_isoflop(&c, s)) || (st = fig_powerlaws(&c, s)) || (st = fig_pareto(&c, s)))
        goto done;
    rep_stage(&c, 5, NSTAGE, "tables");
    if ((st = write_tables(&c, s)))
        goto done;
    rep_stage(&c, 6, NSTAGE, "summary.json, report.md");
    char p[4300];
    snprintf(p, sizeof p, "%s/summary.json", out);
    if ((st = sclaw_json_write(p, s->summary)) || (st = rep_add_file(&c, p)))
        goto done;
    st = rep_write_md(&c);
done:
    study_free(s);
    free(s);
    rep_end(&c, st);
    if (st)
        sclaw_report_result_free(r);
    return st;
}
