/* cmd_optimal.c - `sclaw optimal`: compute-optimal budget and token count per
 * model size from the IsoFLOP power laws (accounting-and-fits.md §7). */
#include "cli.h"
#include "sclaw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { O_LAW = 1000, O_PARAMS, O_FROM, O_MODEL, O_CTX, O_WINDOW, O_PAPER };

static const struct cli_opt opts[] = {
    {"law", O_LAW, "X=COEF,EXP", "a power law X*(C) = COEF * C^EXP for X = N or D (give both)"},
    {"params", O_PARAMS, "LIST", "model sizes, e.g. 100M,400M,1B (suffixes K M B T; default: "
                                 "the paper's 100M ... 175B)"},
    {"from-isoflop", O_FROM, "RUNS.csv", "fit both laws to the IsoFLOP runs of a run table"},
    {"model-type", O_MODEL, "T", "with --from-isoflop: llama or mlstm_v1"},
    {"ctx", O_CTX, "C", "with --from-isoflop: context length"},
    {"window", O_WINDOW, "LO:HI", "with --from-isoflop: budgets with LO <= mean C <= HI (default all)"},
    {"paper-filters", O_PAPER, NULL, "with --from-isoflop: the paper's IsoFLOP run filters"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_cmd_info info = {
    "optimal",
    "sclaw optimal --law N=COEF,EXP --law D=COEF,EXP [--params 100M,400M,1B,...]\n"
    "       sclaw optimal --from-isoflop RUNS.csv --model-type T --ctx C [--window LO:HI]\n"
    "                     [--paper-filters] [--params ...]",
    "Inverts the IsoFLOP power law N*(C) = A' C^a: a model of size N is compute-optimal at\n"
    "C* = (N / A')^(1/a), trained on D* = B' C*^b tokens (the separate D*(C) law, not C*/6N,\n"
    "since the paper's compute is not 6ND). Prints C*, D* and D*/N per model size.",
    opts,
};

static const double PAPER_SIZES[] = {100e6, 400e6, 1e9, 2e9, 4e9, 8e9, 10e9, 14e9, 32e9, 67e9, 175e9};

/* "1.4B" -> 1.4e9; plain numbers are accepted. */
static int parse_size(const char *s, double *out)
{
    char buf[64];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n + 1);
    double mult = 1;
    switch (buf[n - 1]) {
    case 'K': case 'k': mult = 1e3; break;
    case 'M': case 'm': mult = 1e6; break;
    case 'B': case 'b': case 'G': case 'g': mult = 1e9; break;
    case 'T': case 't': mult = 1e12; break;
    }
    if (mult != 1)
        buf[n - 1] = '\0';
    if (sclaw_parse_double(buf, out) || !(*out > 0) || !isfinite(*out))
        return -1;
    *out *= mult;
    return 0;
}

static int parse_sizes(const char *s, double **out, int64_t *n)
{
    int64_t cap = 1, k = 0;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    double *v = malloc(sizeof *v * (size_t)cap);
    char *copy = strdup(s), *save = NULL;
    if (!v || !copy) {
        free(v);
        free(copy);
        return cli_usage("optimal", "out of memory");
    }
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (parse_size(t, &v[k++])) {
            int r = cli_usage("optimal", "option '--params': '%s' is not a model size (e.g. 400M, "
                              "1.4B)", t);
            free(v);
            free(copy);
            return r;
        }
    free(copy);
    if (!k) {
        free(v);
        return cli_usage("optimal", "option '--params' needs at least one size");
    }
    *out = v;
    *n = k;
    return 0;
}

/* "N=0.00228,0.5749" */
static int parse_law(const char *s, char *which, struct sclaw_power_law *law)
{
    double *v;
    int64_t n;
    if ((s[0] != 'N' && s[0] != 'D') || s[1] != '=')
        return cli_usage("optimal", "option '--law' expects N=COEF,EXP or D=COEF,EXP, got '%s'", s);
    *which = s[0];
    if (cli_double_list("optimal", "law", s + 2, &v, &n))
        return 2;
    if (n != 2 || !(v[0] > 0)) {
        free(v);
        return cli_usage("optimal", "option '--law' expects %c=COEF,EXP with COEF > 0, got '%s'",
                         s[0], s);
    }
    *law = (struct sclaw_power_law){v[0], v[1], 0};
    free(v);
    return 0;
}

/* Both IsoFLOP laws of one model type and context. */
static int laws_from_isoflop(const char *path, const struct sclaw_runs_filter *f, double lo,
                             double hi, struct sclaw_power_law *nl, struct sclaw_power_law *dl)
{
    struct sclaw_runs r;
    int st = sclaw_runs_load(&r, path, f);
    if (st)
        return st;
    struct sclaw_isoflop_budget *b = malloc(sizeof *b * (size_t)(r.n > 0 ? r.n : 1));
    int64_t nb;
    if (!b)
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    else if (r.n == 0)
        st = sclaw_fail(SCLAW_E_ARG, "%s: no IsoFLOP runs match the selection", path);
    if (!st && !(st = sclaw_fit_isoflop(r.N, r.loss, r.C, r.budget, r.n, b, &nb)))
        st = sclaw_isoflop_power_law(b, nb, lo, hi, nl);
    if (!st && !(st = sclaw_fit_isoflop(r.D, r.loss, r.C, r.budget, r.n, b, &nb)))
        st = sclaw_isoflop_power_law(b, nb, lo, hi, dl);
    free(b);
    sclaw_runs_free(&r);
    return st;
}

int cmd_optimal(int argc, char **argv)
{
    const char *arg, *from = NULL;
    struct sclaw_power_law nl = {0}, dl = {0};
    struct sclaw_runs_filter f = {0};
    int has_n = 0, has_d = 0, c;
    double lo = 0, hi = INFINITY, *sizes = NULL;
    int64_t ns = 0, ctx;
    char which = 0;
    while ((c = cli_next(argc, argv, &info, &arg))) {
        switch (c) {
        case 'h': free(sizes); return 0;
        case '?': free(sizes); return 2;
        case O_LAW: {
            struct sclaw_power_law l;
            if (parse_law(arg, &which, &l)) {
                free(sizes);
                return 2;
            }
            if (which == 'N') {
                nl = l;
                has_n = 1;
            } else {
                dl = l;
                has_d = 1;
            }
            break;
        }
        case O_PARAMS:
            free(sizes);
            sizes = NULL;
            if (parse_sizes(arg, &sizes, &ns))
                return 2;
            break;
        case O_FROM: from = arg; break;
        case O_MODEL:
            if (!sclaw_runs_model_type(arg)) {
                free(sizes);
                return cli_usage("optimal", "option '--model-type' must be llama or mlstm_v1, "
                                 "got '%s'", arg);
            }
            f.model_type = arg;
            break;
        case O_CTX:
            if (cli_int64("optimal", "ctx", arg, 1, &ctx)) {
                free(sizes);
                return 2;
            }
            f.ctx = ctx;
            break;
        case O_WINDOW: {
            char *colon = strchr(arg, ':');
            int bad = !colon;
            if (!bad) {
                *colon = '\0';
                bad = (arg[0] && sclaw_parse_double(arg, &lo)) ||
                      (colon[1] && sclaw_parse_double(colon + 1, &hi)) || !(lo <= hi);
                *colon = ':';
            }
            if (bad) {
                free(sizes);
                return cli_usage("optimal", "option '--window' expects LO:HI, got '%s'", arg);
            }
            break;
        }
        case O_PAPER: f.paper_filters = 1; break;
        }
    }
    int usage = 0;
    if (cli_optind() < argc)
        usage = cli_usage("optimal", "unexpected argument '%s'", argv[cli_optind()]);
    else if (from && (has_n || has_d))
        usage = cli_usage("optimal", "give --law or --from-isoflop, not both");
    else if (!from && !(has_n && has_d))
        usage = cli_usage("optimal", "give both --law N=COEF,EXP and --law D=COEF,EXP, or "
                          "--from-isoflop RUNS.csv");
    else if (from && (!f.model_type || !f.ctx))
        usage = cli_usage("optimal", "--from-isoflop needs --model-type and --ctx");
    else if (!from && (f.model_type || f.ctx || f.paper_filters))
        usage = cli_usage("optimal", "--model-type, --ctx and --paper-filters go with --from-isoflop");
    if (usage) {
        free(sizes);
        return usage;
    }
    if (from) {
        f.set = SCLAW_RUNS_SET_ISOFLOP;
        int st = laws_from_isoflop(from, &f, lo, hi, &nl, &dl);
        if (st) {
            free(sizes);
            return cli_fail("optimal", st);
        }
    }
    const double *N = sizes ? sizes : PAPER_SIZES;
    int64_t n = sizes ? ns : (int64_t)(sizeof PAPER_SIZES / sizeof PAPER_SIZES[0]);
    struct sclaw_optimal_row *rows = malloc(sizeof *rows * (size_t)n);
    int st = rows ? sclaw_optimal_table(&nl, &dl, N, n, rows)
                  : sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    if (st) {
        free(rows);
        free(sizes);
        return cli_fail("optimal", st);
    }
    if (cli.json) {
        json_t *list = json_array();
        for (int64_t i = 0; i < n; i++)
            json_array_append_new(list, json_pack("{s:o, s:o, s:o, s:o}", "N",
                                                  sclaw_json_number(rows[i].N), "C",
                                                  sclaw_json_number(rows[i].C), "D",
                                                  sclaw_json_number(rows[i].D), "ratio",
                                                  sclaw_json_number(rows[i].ratio)));
        json_t *j = json_pack("{s:{s:o, s:o}, s:{s:o, s:o}, s:o}", "n_law", "coef",
                              sclaw_json_number(nl.coef), "exponent", sclaw_json_number(nl.exponent),
                              "d_law", "coef", sclaw_json_number(dl.coef), "exponent",
                              sclaw_json_number(dl.exponent), "rows", list);
        sclaw_json_print(j, stdout);
        json_decref(j);
    } else {
        printf("N*(C) = %.6g * C^%.6f,   D*(C) = %.6g * C^%.6f\n\n", nl.coef, nl.exponent, dl.coef,
               dl.exponent);
        const char *head[] = {"N", "C*", "D*", "D*/N"};
        struct sclaw_table tb;
        sclaw_table_init(&tb, 4, head);
        for (int64_t i = 0; i < n; i++) {
            char a[32], b[32], d[32], r[32];
            sclaw_fmt_si(a, sizeof a, rows[i].N);
            snprintf(b, sizeof b, "%.3e", rows[i].C);
            sclaw_fmt_si(d, sizeof d, rows[i].D);
            snprintf(r, sizeof r, "%.1f", rows[i].ratio);
            const char *cells[] = {a, b, d, r};
            sclaw_table_add(&tb, cells);
        }
        sclaw_table_print(&tb, stdout);
        sclaw_table_free(&tb);
    }
    free(rows);
    free(sizes);
    return 0;
}
