/* runsel.c - choosing the runs a fit uses (accounting-and-fits.md §4.4, §5.1).
 *
 * Reads a run table in the paper's CSV schema, keeps the rows that have a
 * usable N, D and loss and pass the filter, and labels each row with its
 * IsoFLOP budget and preset token/param ratio exactly as the repo does
 * (round_to_catgorical_vals, quirk §10.10). With paper_filters the IsoFLOP
 * rows also go through the per model/context cuts of §5.1.
 */
#include "sclaw_account.h"
#include "sclaw_fit.h"
#include "sclaw_io.h"
#include "sclaw_status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double BUDGETS[] = {6e18, 1e19, 3e19, 1e20, 6e20, 3e21};
static const double RATIOS[] = {22, 44, 110, 220, 550, 1100, 2200};

double sclaw_round_to_category(double x, const double *cats, int64_t n, double frac)
{
    /* repo: diff = |cats - x|; bound = frac*cats; among diff < bound pick
     * argmin |bound - diff| (the category x is FARTHEST from within its
     * band, not the nearest one: quirk §10.10); first one on ties. */
    int64_t best = -1;
    double best_key = INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double diff = fabs(cats[i] - x), bound = frac * cats[i];
        if (!(diff < bound))
            continue;
        double key = fabs(bound - diff);
        if (key < best_key) {
            best_key = key;
            best = i;
        }
    }
    return best < 0 ? NAN : cats[best];
}

double sclaw_isoflop_budget_label(double C)
{
    return sclaw_round_to_category(C, BUDGETS, 6, 0.1);
}

double sclaw_ratio_label(double ratio, int tokenparam, const char *model_type)
{
    /* Manual override in the repo's TokenParam loader: the xLSTM 160M run at
     * D/N = 51.12 would round to 44 with the 18% band but is marked "extra".
     * (The Llama run at 51.71 keeps its label 44.) */
    if (tokenparam && model_type && !strcmp(model_type, "mlstm_v1") && ratio > 51.0 &&
        ratio < 51.2)
        return NAN;
    return sclaw_round_to_category(ratio, RATIOS, 7, tokenparam ? 0.18 : 0.07);
}

int sclaw_runs_set_parse(const char *s)
{
    if (!strcmp(s, "all"))
        return SCLAW_RUNS_SET_ALL;
    if (!strcmp(s, "tokenparam"))
        return SCLAW_RUNS_SET_TOKENPARAM;
    if (!strcmp(s, "isoflop"))
        return SCLAW_RUNS_SET_ISOFLOP;
    return -1;
}

const char *sclaw_runs_model_type(const char *s)
{
    if (!strcmp(s, "llama") || !strcmp(s, "transformer"))
        return "llama";
    if (!strcmp(s, "mlstm_v1") || !strcmp(s, "xlstm") || !strcmp(s, "mlstm"))
        return "mlstm_v1";
    return NULL;
}

void sclaw_runs_free(struct sclaw_runs *r)
{
    if (r->model_type)
        for (int64_t i = 0; i < r->n; i++) {
            free(r->model_type[i]);
            free(r->experiment_set[i]);
            free(r->model_size[i]);
        }
    free(r->path);
    free(r->N);
    free(r->D);
    free(r->C);
    free(r->C_tfla);
    free(r->loss);
    free(r->ctx);
    free(r->model_type);
    free(r->experiment_set);
    free(r->model_size);
    free(r->budget);
    free(r->ratio_label);
    free(r->line);
    memset(r, 0, sizeof *r);
}

/* ---- per-row reading ---------------------------------------------------- */

/* Column indices (-1 when absent). */
struct cols {
    int64_t model_type, N, D, loss, set, ctx, C, C_tfla, size, dataset, gbs, steps, run_tag;
};

/* A required positive number: empty -> *skip = 1; otherwise it must parse and be > 0. */
static int positive_cell(const struct sclaw_csv *t, int64_t row, int64_t col, double *out,
                         int *skip)
{
    int st = sclaw_csv_double(t, row, col, out);
    if (st)
        return st;
    if (isnan(*out)) {
        *skip = 1;
        return SCLAW_OK;
    }
    if (!(*out > 0) || !isfinite(*out))
        return sclaw_fail(SCLAW_E_FORMAT, "%s:%lld: column '%s': '%s' is not a positive number",
                          t->path, (long long)t->line[row], t->header[col],
                          sclaw_csv_cell(t, row, col));
    return SCLAW_OK;
}

/* Optional number: absent column or empty cell -> NaN. */
static int opt_cell(const struct sclaw_csv *t, int64_t row, int64_t col, double *out)
{
    *out = NAN;
    return col < 0 ? SCLAW_OK : sclaw_csv_double(t, row, col, out);
}

/* Training compute recomputed from the row's config (§2), or NaN when the row
 * lacks config, batch or step columns. Warnings are not raised here: the C
 * columns of a paper-schema table are normally filled. */
static double recompute_C(const struct sclaw_csv *t, int64_t row, const struct cols *c,
                          enum sclaw_mlstm_flops mode)
{
    struct sclaw_config cfg;
    double gbs, steps;
    if (c->gbs < 0 || c->steps < 0)
        return NAN;
    if (sclaw_csv_double(t, row, c->gbs, &gbs) || sclaw_csv_double(t, row, c->steps, &steps) ||
        !(gbs > 0) || !(steps > 0)) {
        sclaw_clear_error();
        return NAN;
    }
    if (sclaw_config_from_run_row(&cfg, t, row)) {
        sclaw_clear_error();
        return NAN;
    }
    struct sclaw_flop_opts fo = {mode, SCLAW_ATTN_FLOPS_DISTILL};
    if (c->dataset >= 0) {
        const char *ds = sclaw_csv_cell(t, row, c->dataset);
        size_t l = strlen(ds), k = strlen("_flops_chinchilla");
        if (l >= k && !strcmp(ds + l - k, "_flops_chinchilla"))
            fo.attn = SCLAW_ATTN_FLOPS_CHINCHILLA;
    }
    return sclaw_count_training_flops(&cfg, &fo, gbs, steps);
}

/* Two rows equal in every column except run_tag (§5.1 duplicate removal). */
static int same_but_tag(const struct sclaw_csv *t, int64_t i, int64_t j, int64_t tag_col)
{
    for (int64_t c = 0; c < t->ncols; c++)
        if (c != tag_col && strcmp(sclaw_csv_cell(t, i, c), sclaw_csv_cell(t, j, c)))
            return 0;
    return 1;
}

/* Row facts the paper filters look at. */
struct rowinfo {
    const char *mt;       /* canonical model type */
    int isoflop, tokenparam;
    int64_t ctx;
    double N, D, C, loss, gbs, budget;
};

/* §5.1: 1 if an IsoFLOP row survives the paper's filters for its model/ctx. */
static int paper_keep(const struct sclaw_csv *t, int64_t row, const struct cols *c,
                      const struct rowinfo *ri)
{
    if (!ri->isoflop)
        return 1;
    int x = !strcmp(ri->mt, "mlstm_v1");
    if (c->dataset >= 0) {
        /* the paper's IsoFLOP data sets, not the chinchilla / batch-size ablations */
        char want[64];
        snprintf(want, sizeof want, "isoflop_%s_ctx%lld", x ? "mlstm" : "llama",
                 (long long)ri->ctx);
        if (strcmp(sclaw_csv_cell(t, row, c->dataset), want))
            return 0;
    }
    double C = ri->C, L = ri->loss, H = ri->budget;
    if (x && ri->ctx == 8192) {
        if (!(L < 4.0))
            return 0;
        if (!((C < 3e20 && ri->gbs < 200) || C > 3e20))
            return 0;
        if (!(H == 6e18 || H == 1e19 || H == 3e19 || H == 1e20 || H == 6e20))
            return 0;
        if (H == 6e20 && L > 3.0)
            return 0;
        /* duplicates (same run under two wandb tags): keep the first */
        for (int64_t j = 0; j < row && c->run_tag >= 0; j++)
            if (same_but_tag(t, j, row, c->run_tag))
                return 0;
        return 1;
    }
    if (!x && ri->ctx == 8192) {
        if (!(L < 3.5))
            return 0;
        if (C > 2.75e19 && C < 4.5e19 && L > 3.0 && ri->N == 406635520.0)
            return 0;
        if (C > 0.9e20 && C < 1.4e20 && L > 3.2)
            return 0;
        return 1;
    }
    if (!x && ri->ctx == 2048)
        return !(H == 3e19 && ri->N == 1223934208.0);
    if (ri->ctx == 2048 || ri->ctx == 16384)
        return L < 4.5;
    return 1;
}

int sclaw_runs_load(struct sclaw_runs *r, const char *path, const struct sclaw_runs_filter *f)
{
    struct sclaw_runs_filter none = {0};
    struct sclaw_csv t = {0};
    struct cols c;
    int st;
    memset(r, 0, sizeof *r);
    if (!f)
        f = &none;
    const char *want_mt = NULL;
    if (f->model_type && !(want_mt = sclaw_runs_model_type(f->model_type)))
        return sclaw_fail(SCLAW_E_ARG, "unknown model type '%s' (llama or mlstm_v1)",
                          f->model_type);
    if ((st = sclaw_csv_read(&t, path)))
        return st;
    if ((st = sclaw_csv_require(&t, "model_type", &c.model_type)) ||
        (st = sclaw_csv_require(&t, "num_params", &c.N)) ||
        (st = sclaw_csv_require(&t, "num_tokens_training", &c.D)) ||
        (st = sclaw_csv_require(&t, "val_loss", &c.loss)))
        goto done;
    c.set = sclaw_csv_col(&t, "experiment_set");
    c.ctx = sclaw_csv_col(&t, "context_length");
    c.C = sclaw_csv_col(&t, "num_flops_training");
    c.C_tfla = sclaw_csv_col(&t, "num_flops_training_mlstm_tfla");
    c.size = sclaw_csv_col(&t, "model_size");
    c.dataset = sclaw_csv_col(&t, "dataset");
    c.gbs = sclaw_csv_col(&t, "global_batch_size");
    c.steps = sclaw_csv_col(&t, "num_train_steps");
    c.run_tag = sclaw_csv_col(&t, "run_tag");
    if (f->paper_filters && ((st = sclaw_csv_require(&t, "global_batch_size", &c.gbs)) ||
                             (st = sclaw_csv_require(&t, "context_length", &c.ctx)) ||
                             (st = sclaw_csv_require(&t, "experiment_set", &c.set))))
        goto done;

    size_t cap = (size_t)(t.nrows > 0 ? t.nrows : 1);
    r->path = strdup(path);
    r->N = malloc(cap * sizeof(double));
    r->D = malloc(cap * sizeof(double));
    r->C = malloc(cap * sizeof(double));
    r->C_tfla = malloc(cap * sizeof(double));
    r->loss = malloc(cap * sizeof(double));
    r->budget = malloc(cap * sizeof(double));
    r->ratio_label = malloc(cap * sizeof(double));
    r->ctx = malloc(cap * sizeof(int64_t));
    r->line = malloc(cap * sizeof(int64_t));
    r->model_type = calloc(cap, sizeof(char *));
    r->experiment_set = calloc(cap, sizeof(char *));
    r->model_size = calloc(cap, sizeof(char *));
    if (!r->path || !r->N || !r->D || !r->C || !r->C_tfla || !r->loss || !r->budget ||
        !r->ratio_label || !r->ctx || !r->line || !r->model_type || !r->experiment_set ||
        !r->model_size) {
        st = sclaw_fail(SCLAW_E_NOMEM, "%s: out of memory for %lld runs", path, (long long)t.nrows);
        goto done;
    }

    for (int64_t i = 0; i < t.nrows; i++) {
        struct rowinfo ri = {0};
        int skip = 0;
        const char *mt_cell = sclaw_csv_cell(&t, i, c.model_type);
        ri.mt = sclaw_runs_model_type(mt_cell);
        if (!ri.mt) {
            st = sclaw_fail(SCLAW_E_FORMAT, "%s:%lld: column 'model_type': unknown model type '%s'",
                            path, (long long)t.line[i], mt_cell);
            goto done;
        }
        if ((st = positive_cell(&t, i, c.N, &ri.N, &skip)) ||
            (st = positive_cell(&t, i, c.D, &ri.D, &skip)) ||
            (st = positive_cell(&t, i, c.loss, &ri.loss, &skip)))
            goto done;
        if (skip)
            continue;   /* failed or unfinished run: no N, D or loss */
        const char *set = c.set >= 0 ? sclaw_csv_cell(&t, i, c.set) : "";
        ri.isoflop = !strcmp(set, "isoflop");
        ri.tokenparam = !strcmp(set, "tokenparam");
        double v;
        if ((st = opt_cell(&t, i, c.ctx, &v)))
            goto done;
        ri.ctx = isfinite(v) ? (int64_t)v : 0;
        if ((st = opt_cell(&t, i, c.gbs, &ri.gbs)) || (st = opt_cell(&t, i, c.C, &ri.C)))
            goto done;

        /* the filter */
        if (want_mt && strcmp(want_mt, ri.mt))
            continue;
        if ((f->set == SCLAW_RUNS_SET_TOKENPARAM && !ri.tokenparam) ||
            (f->set == SCLAW_RUNS_SET_ISOFLOP && !ri.isoflop))
            continue;
        if (f->ctx > 0 && ri.ctx != f->ctx)
            continue;
        double ratio = ri.D / ri.N;
        if (f->has_ratio && !(ratio >= f->ratio_lo && ratio <= f->ratio_hi))
            continue;

        if (isnan(ri.C))
            ri.C = recompute_C(&t, i, &c, SCLAW_MLSTM_FLOPS_FIRST);
        ri.budget = ri.isoflop && isfinite(ri.C) ? sclaw_isoflop_budget_label(ri.C) : NAN;
        if (f->paper_filters && !paper_keep(&t, i, &c, &ri))
            continue;

        double ctfla = ri.C;
        if (!strcmp(ri.mt, "mlstm_v1")) {
            if ((st = opt_cell(&t, i, c.C_tfla, &ctfla)))
                goto done;
            if (isnan(ctfla))
                ctfla = recompute_C(&t, i, &c, SCLAW_MLSTM_FLOPS_TFLA);
        }
        int64_t k = r->n;
        r->N[k] = ri.N;
        r->D[k] = ri.D;
        r->C[k] = ri.C;
        r->C_tfla[k] = ctfla;
        r->loss[k] = ri.loss;
        r->ctx[k] = ri.ctx;
        r->budget[k] = ri.budget;
        r->ratio_label[k] = sclaw_ratio_label(ratio, ri.tokenparam, ri.mt);
        r->line[k] = t.line[i];
        r->model_type[k] = strdup(ri.mt);
        r->experiment_set[k] = strdup(set);
        r->model_size[k] = strdup(c.size >= 0 ? sclaw_csv_cell(&t, i, c.size) : "");
        r->n++;
        if (!r->model_type[k] || !r->experiment_set[k] || !r->model_size[k]) {
            st = sclaw_fail(SCLAW_E_NOMEM, "%s: out of memory", path);
            goto done;
        }
    }
    st = SCLAW_OK;
done:
    sclaw_csv_free(&t);
    if (st)
        sclaw_runs_free(r);
    return st;
}
