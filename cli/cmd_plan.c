/* cmd_plan.c - `sclaw plan isoflop|tokenparam`: study plans from a compute
 * budget (sclaw_study.h). */
#include "cli.h"
#include "sclaw.h"
#include "sclaw_study.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { O_BUDGETS = 1000, O_TYPES, O_CTX, O_POINTS, O_BATCH, O_LR, O_VOCAB, O_OUT, O_DATA, O_SEED,
       O_WARMUP, O_CENTER, O_MINSTEPS, O_RATIOS, O_SIZES };

static const struct cli_opt iso_opts[] = {
    {"budgets", O_BUDGETS, "C1,C2,...", "training FLOP budgets (e.g. 1e14,3e14,1e15)"},
    {"model-type", O_TYPES, "T1,T2", "families: mlstm_v1 (or xlstm), llama (default: both)"},
    {"ctx", O_CTX, "T", "context length (default 512)"},
    {"points", O_POINTS, "K", "model sizes per budget and family (default 5)"},
    {"batch", O_BATCH, "B", "sequences per step (default 16)"},
    {"lr", O_LR, "LR", "peak learning rate (default 3e-3)"},
    {"vocab", O_VOCAB, "V", "vocabulary size of the tokenizer used (default 4096)"},
    {"data", O_DATA, "DIR", "token dataset directory recorded in the plan"},
    {"seed", O_SEED, "S", "seed of every run (default 0)"},
    {"warmup", O_WARMUP, "W", "warmup steps (default 10% of each run)"},
    {"center", O_CENTER, "N", "expected optimal parameter count (default: sqrt(C/120), 20 tokens per parameter)"},
    {"min-steps", O_MINSTEPS, "S", "leave out shapes that would train fewer steps (default 20)"},
    {"out", O_OUT, "PLAN.json", "where to write the plan (required)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_opt tp_opts[] = {
    {"ratios", O_RATIOS, "M1,M2,...", "token/parameter ratios D/N (e.g. 22,44,110,220)"},
    {"sizes", O_SIZES, "d1,d2,...", "model widths of the study family (e.g. d128,d256 or 128,256)"},
    {"model-type", O_TYPES, "T1,T2", "families: mlstm_v1 (or xlstm), llama (default: both)"},
    {"ctx", O_CTX, "T", "context length (default 512)"},
    {"batch", O_BATCH, "B", "sequences per step (default 16)"},
    {"lr", O_LR, "LR", "peak learning rate (default 3e-3)"},
    {"vocab", O_VOCAB, "V", "vocabulary size of the tokenizer used (default 4096)"},
    {"data", O_DATA, "DIR", "token dataset directory recorded in the plan"},
    {"seed", O_SEED, "S", "seed of every run (default 0)"},
    {"warmup", O_WARMUP, "W", "warmup steps (default 10% of each run)"},
    {"out", O_OUT, "PLAN.json", "where to write the plan (required)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_cmd_info iso_info = {
    "plan isoflop",
    "sclaw plan isoflop --budgets C1,C2,... [--model-type mlstm_v1,llama] [--ctx T] [--points K]\n"
    "                          [--batch B] [--lr LR] [--vocab V] [--data DIR] --out PLAN.json",
    "Plans an IsoFLOP study: for every budget and family, K model shapes of sclaw's scaled-down\n"
    "family (width d from 32, d/64+2 blocks; models.md 5.3) around the expected compute-optimal\n"
    "size (20 tokens per parameter unless --center),\n"
    "each trained for the step count whose exact training FLOPs hit the budget (within 1%).\n"
    "The plan is a JSON list of runs that can be edited before `sclaw study run`.",
    iso_opts,
};

static const struct cli_cmd_info tp_info = {
    "plan tokenparam",
    "sclaw plan tokenparam --ratios M1,M2,... --sizes d1,d2,... [--model-type ...] [--ctx T]\n"
    "                             [--batch B] [--lr LR] [--vocab V] [--data DIR] --out PLAN.json",
    "Plans a token/parameter-ratio study: every size trained on D = M x N tokens for every ratio M.",
    tp_opts,
};

static const struct cli_cmd_info plan_info = {
    "plan", "sclaw plan isoflop|tokenparam [options] --out PLAN.json",
    "Plans a scaling study. 'sclaw plan isoflop --help' and 'sclaw plan tokenparam --help'\n"
    "describe the two kinds.",
    NULL,
};

static int parse_types(const char *cmd, const char *s, const struct sclaw_arch **out, int64_t *n)
{
    char *copy = strdup(s), *save = NULL;
    *n = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        const struct sclaw_arch *a = sclaw_arch_find(t);
        if (!a || *n >= 8) {
            int rc = cli_usage(cmd, "option '--model-type': unknown model type '%s'", t);
            free(copy);
            return rc;
        }
        out[(*n)++] = a;
    }
    free(copy);
    return *n ? 0 : cli_usage(cmd, "option '--model-type' needs a value");
}

static int parse_sizes(const char *cmd, const char *s, int64_t **out, int64_t *n)
{
    double *v;
    char *copy = strdup(s);
    /* accept "d256" as well as "256" */
    char *w = copy;
    for (const char *r = s; *r; r++)
        if (*r != 'd' && *r != 'D')
            *w++ = *r;
    *w = '\0';
    int rc = cli_double_list(cmd, "sizes", copy, &v, n);
    free(copy);
    if (rc)
        return rc;
    *out = malloc((size_t)*n * sizeof **out);
    for (int64_t i = 0; i < *n; i++) {
        if (v[i] < 32 || fmod(v[i], 16) != 0) {
            int rc2 = cli_usage(cmd, "option '--sizes': width %g is not a multiple of 16 of at least 32", v[i]);
            free(v);
            free(*out);
            *out = NULL;
            return rc2;
        }
        (*out)[i] = (int64_t)v[i];
    }
    free(v);
    return 0;
}

static void print_plan(const struct sclaw_plan *p)
{
    const char *head[] = {"run", "d", "nb", "nh", "N", "steps", "tokens D", "D/N", "C planned",
                          "target", "error %"};
    struct sclaw_table tb;
    sclaw_table_init(&tb, 11, head);
    for (int64_t i = 0; i < p->nruns; i++) {
        const struct sclaw_plan_run *r = &p->runs[i];
        char d[16], nb[16], nh[16], n[32], st[32], D[32], ratio[32], C[32], tgt[32], err[32];
        snprintf(d, sizeof d, "%lld", (long long)r->config.embedding_dim);
        snprintf(nb, sizeof nb, "%lld", (long long)r->config.num_blocks);
        snprintf(nh, sizeof nh, "%lld", (long long)r->config.num_heads);
        sclaw_fmt_si(n, sizeof n, r->num_params);
        snprintf(st, sizeof st, "%lld", (long long)r->steps);
        sclaw_fmt_si(D, sizeof D, r->num_tokens_training);
        snprintf(ratio, sizeof ratio, "%.1f", r->num_tokens_training / r->num_params);
        snprintf(C, sizeof C, "%.4g", r->num_flops_training);
        if (r->budget > 0) {
            snprintf(tgt, sizeof tgt, "%.4g", r->budget);
            snprintf(err, sizeof err, "%+.2f", 100 * (r->num_flops_training / r->budget - 1));
        } else {
            snprintf(tgt, sizeof tgt, "D/N %g", r->ratio);
            snprintf(err, sizeof err, "-");
        }
        const char *cells[] = {r->name, d, nb, nh, n, st, D, ratio, C, tgt, err};
        sclaw_table_add(&tb, cells);
    }
    sclaw_table_print(&tb, stdout);
    sclaw_table_free(&tb);
}

static int run_plan(int argc, char **argv, int isoflop)
{
    const struct cli_cmd_info *info = isoflop ? &iso_info : &tp_info;
    const char *cmd = info->name, *arg, *out = NULL;
    const struct sclaw_arch *archs[8] = {&sclaw_arch_mlstm, &sclaw_arch_llama};
    struct sclaw_plan_opts o = {0};
    double *budgets = NULL, *ratios = NULL;
    int64_t *sizes = NULL, v;
    int c, rc = 2;
    o.archs = archs;
    o.narchs = 2;
    o.ctx = 512;
    o.vocab = 4096;
    o.warmup = -1;
    while ((c = cli_next(argc, argv, info, &arg))) {
        switch (c) {
        case 'h': rc = 0; goto done;
        case '?': goto done;
        case O_BUDGETS: free(budgets); if (cli_double_list(cmd, "budgets", arg, &budgets, &o.nbudgets)) goto done; break;
        case O_RATIOS: free(ratios); if (cli_double_list(cmd, "ratios", arg, &ratios, &o.nratios)) goto done; break;
        case O_SIZES: free(sizes); if (parse_sizes(cmd, arg, &sizes, &o.nwidths)) goto done; break;
        case O_TYPES: if (parse_types(cmd, arg, archs, &o.narchs)) goto done; break;
        case O_CTX: if (cli_int64(cmd, "ctx", arg, 1, &o.ctx)) goto done; break;
        case O_POINTS: if (cli_int64(cmd, "points", arg, 1, &o.points)) goto done; break;
        case O_BATCH: if (cli_int64(cmd, "batch", arg, 1, &o.batch)) goto done; break;
        case O_VOCAB: if (cli_int64(cmd, "vocab", arg, 2, &o.vocab)) goto done; break;
        case O_SEED: if (cli_int64(cmd, "seed", arg, 0, &o.seed)) goto done; break;
        case O_WARMUP: if (cli_int64(cmd, "warmup", arg, 0, &o.warmup)) goto done; break;
        case O_MINSTEPS: if (cli_int64(cmd, "min-steps", arg, 1, &v)) goto done; o.min_steps = v; break;
        case O_LR:
            if (cli_double(cmd, "lr", arg, &o.lr)) goto done;
            if (!(o.lr > 0)) { cli_usage(cmd, "option '--lr' must be positive"); goto done; }
            break;
        case O_CENTER:
            if (cli_double(cmd, "center", arg, &o.center)) goto done;
            if (!(o.center > 0)) { cli_usage(cmd, "option '--center' must be positive"); goto done; }
            break;
        case O_DATA: o.data = arg; break;
        case O_OUT: out = arg; break;
        }
    }
    if (cli_optind() < argc) { cli_usage(cmd, "unexpected argument '%s'", argv[cli_optind()]); goto done; }
    if (!out) { cli_usage(cmd, "--out PLAN.json is required"); goto done; }
    if (isoflop && !budgets) { cli_usage(cmd, "--budgets is required"); goto done; }
    if (!isoflop && (!ratios || !sizes)) { cli_usage(cmd, "--ratios and --sizes are required"); goto done; }
    o.budgets = budgets;
    o.ratios = ratios;
    o.widths = sizes;

    struct sclaw_plan p;
    int st = isoflop ? sclaw_plan_isoflop(&p, &o) : sclaw_plan_tokenparam(&p, &o);
    if (!st)
        st = sclaw_plan_save(&p, out);
    if (st) {
        rc = cli_fail(cmd, st);
        sclaw_plan_free(&p);
        goto done;
    }
    if (cli.json) {
        json_t *j = sclaw_plan_to_json(&p);
        sclaw_json_print(j, stdout);
        json_decref(j);
    } else {
        print_plan(&p);
        printf("\n%lld runs written to %s\n", (long long)p.nruns, out);
    }
    sclaw_plan_free(&p);
    rc = 0;
done:
    free(budgets);
    free(ratios);
    free(sizes);
    return rc;
}

int cmd_plan(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        const char *arg;
        int c = argc < 2 ? 0 : cli_next(argc, argv, &plan_info, &arg);
        if (c == 'h')
            return 0;
        return cli_usage("plan", "expected 'isoflop' or 'tokenparam'");
    }
    if (!strcmp(argv[1], "isoflop"))
        return run_plan(argc - 1, argv + 1, 1);
    if (!strcmp(argv[1], "tokenparam"))
        return run_plan(argc - 1, argv + 1, 0);
    return cli_usage("plan", "unknown plan kind '%s' (expected isoflop or tokenparam)", argv[1]);
}
