/* cmd_train.c - `sclaw train`: train one model of either family on a prepared
 * token directory (sclaw_train.h, models.md §1.5), with a memory plan,
 * progress, checkpoints and resume. */
#include "cli.h"
#include "sclaw.h"
#include "sclaw_data.h"
#include "sclaw_model.h"
#include "sclaw_train.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    O_DATA = 1000, O_OUT, O_STEPS, O_TOKENS, O_FLOPS, O_BATCH, O_LR, O_WARMUP, O_COOLDOWN,
    O_EVAL, O_EVALB, O_SAVE, O_SEED, O_NORESET, O_STOP, O_RESUME
};

static const struct cli_opt opts[] = {
    {"data", O_DATA, "DIR", "token directory from 'sclaw data prepare' (required)"},
    {"out", O_OUT, "RUNDIR", "run directory: checkpoints, log.csv, result.json (required)"},
    {"steps", O_STEPS, "S", "training steps"},
    {"tokens", O_TOKENS, "D", "or: training tokens (steps = ceil(D / (B T)))"},
    {"flops", O_FLOPS, "C", "or: training compute in FLOPs, counted as the paper does"},
    {"batch", O_BATCH, "B", "sequences per step (default 8)"},
    {"lr", O_LR, "LR", "peak learning rate (default: the paper's for the size, 3e-3 up to d=1024)"},
    {"warmup", O_WARMUP, "W", "linear warmup steps (default min(750, steps/10))"},
    {"cooldown", O_COOLDOWN, "C", "final linear decay to 0 over C steps (default 0)"},
    {"eval-every", O_EVAL, "K", "validate every K steps (default: steps/10; 0 = only at the end)"},
    {"eval-batches", O_EVALB, "N", "validation batches per evaluation (default 8)"},
    {"save-every", O_SAVE, "K", "checkpoint every K steps (default: as --eval-every)"},
    {"seed", O_SEED, "S", "seed of the initialisation and the data order (default 1)"},
    {"no-doc-reset", O_NORESET, NULL, "ignore document borders (default: reset at each)"},
    {"stop-after", O_STOP, "K", "stop after K steps of this invocation (checkpointed; --resume continues)"},
    {"resume", O_RESUME, NULL, "continue the run in RUNDIR (start it if RUNDIR holds none)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_cmd_info info = {
    "train",
    "sclaw train CONFIG.json --data DIR --out RUNDIR (--steps S | --tokens D | --flops C)\n"
    "                   [--batch B] [--lr LR] [--warmup W] [--eval-every K] [--seed S] ...\n"
    "       sclaw train [CONFIG.json] --data DIR --out RUNDIR --resume",
    "Trains an xLSTM (mlstm_v1) or Llama model with the paper's recipe: AdamW (0.9, 0.95,\n"
    "eps 1e-8, weight decay 0.1 on matrices except the embedding), gradient clipping at 0.5,\n"
    "linear warmup and cosine decay to 0.1 x LR, document borders reset the xLSTM memory and\n"
    "mask Llama attention. Before training it prints the memory plan and refuses a run that\n"
    "does not fit. RUNDIR gets config.json, train.json, checkpoint.safetensors (params, Adam\n"
    "state, data position), model.safetensors, log.csv and, when done, result.json in the\n"
    "paper's run-table schema. A killed or --stop-after run continues with --resume; with the\n"
    "same --threads its losses equal an uninterrupted run's bit for bit. Ctrl-C saves a\n"
    "checkpoint and stops.",
    opts,
};

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

struct prog {
    int on;
    double last;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_time(char *buf, size_t n, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, n, "?");
    else if (s < 60)
        snprintf(buf, n, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

static void progress(const struct sclaw_train_progress *p, void *user)
{
    struct prog *pr = user;
    double t = now();
    if (!pr->on)
        return;
    int last = p->step == p->steps;
    if (!isnan(p->val_loss)) { /* evaluations get their own line */
        fprintf(stderr, "\rstep %lld/%lld  val loss %.4f%30s\n", (long long)p->step,
                (long long)p->steps, p->val_loss, "");
        pr->last = t;
        return;
    }
    if (t - pr->last < 0.1 && !last)
        return;
    pr->last = t;
    char eta[32];
    fmt_time(eta, sizeof eta, p->eta_s);
    fprintf(stderr, "\rstep %lld/%lld  loss %.4f  lr %.2e  %.0f tok/s  ETA %s   ",
            (long long)p->step, (long long)p->steps, p->loss, p->lr, p->tokens_per_s, eta);
    if (last)
        fputc('\n', stderr);
}

static void mib(char *buf, size_t n, double bytes)
{
    if (bytes >= 1024.0 * 1024 * 1024)
        snprintf(buf, n, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
    else
        snprintf(buf, n, "%.1f MiB", bytes / (1024.0 * 1024));
}

/* Print the plan (unless quiet) and refuse what cannot fit. */
static int check_memory(const struct sclaw_config *c, int64_t B)
{
    struct sclaw_mem_plan p;
    double avail;
    char a[32], b[32], d[32], e[32], f[32], g[32];
    sclaw_model_plan(c, B, c->context_length, 1, &p);
    int known = sclaw_mem_available(&avail) == SCLAW_OK;
    if (!cli.quiet) {
        mib(a, sizeof a, p.params);
        mib(b, sizeof b, p.grads);
        mib(d, sizeof d, p.optim);
        mib(e, sizeof e, p.acts);
        mib(f, sizeof f, p.total);
        if (known)
            mib(g, sizeof g, avail);
        fprintf(stderr,
                "memory plan: params %s, grads %s, AdamW state %s, activations %s (batch %lld x "
                "%lld): total %s%s%s%s\n",
                a, b, d, e, (long long)B, (long long)c->context_length, f,
                known ? " of " : "", known ? g : "", known ? " available" : "");
    }
    if (known && p.total > avail) {
        mib(f, sizeof f, p.total);
        mib(g, sizeof g, avail);
        return sclaw_fail(SCLAW_E_NOMEM,
                          "the run needs %s but only %s are available; lower --batch or the "
                          "context length",
                          f, g);
    }
    return SCLAW_OK;
}

static void print_result(const char *out, const struct sclaw_config *c,
                         const struct sclaw_train_result *r)
{
    char buf[4400];
    if (cli.json) {
        json_t *j;
        snprintf(buf, sizeof buf, "%s/result.json", out);
        if (r->finished && sclaw_json_load(buf, &j) == SCLAW_OK) {
            json_object_set_new(j, "run_dir", json_string(out));
            sclaw_json_print(j, stdout);
            json_decref(j);
            return;
        }
        j = json_pack("{s:s, s:b, s:I, s:o, s:o, s:o, s:o}", "run_dir", out, "finished",
                      r->finished, "step", (json_int_t)r->step, "train_loss",
                      sclaw_json_number(r->train_loss), "val_loss", sclaw_json_number(r->val_loss),
                      "num_tokens_training", sclaw_json_number(r->tokens), "num_flops_training",
                      sclaw_json_number(r->flops));
        sclaw_json_print(j, stdout);
        json_decref(j);
        return;
    }
    struct sclaw_params np;
    sclaw_count_params(c, &np);
    const char *head[] = {"quantity", "value"};
    struct sclaw_table tb;
    sclaw_table_init(&tb, 2, head);
    char v[64];
#define ROW(label, ...)                          \
    do {                                         \
        snprintf(v, sizeof v, __VA_ARGS__);      \
        const char *cells[] = {label, v};        \
        sclaw_table_add(&tb, cells);             \
    } while (0)
    ROW("run directory", "%s", out);
    ROW("model", "%s, %s parameters", c->arch->display, sclaw_fmt_si(buf, sizeof buf, np.total));
    ROW("status", "%s", r->finished ? "finished" : "stopped (continue with --resume)");
    ROW("steps", "%lld", (long long)r->step);
    ROW("tokens D", "%s", sclaw_fmt_si(buf, sizeof buf, r->tokens));
    ROW("compute C (FLOPs)", "%s", sclaw_fmt_si(buf, sizeof buf, r->flops));
    ROW("train loss", "%.4f", r->train_loss);
    ROW("val loss", "%.4f", r->val_loss);
    ROW("peak RSS", "%.1f MiB", r->peak_rss / (1024.0 * 1024.0));
#undef ROW
    sclaw_table_print(&tb, stdout);
    sclaw_table_free(&tb);
}

int cmd_train(int argc, char **argv)
{
    const char *cmd = "train", *data = NULL, *out = NULL, *arg, *cfgpath = NULL;
    int c, resume = 0, budget = 0, rc = 0, st;
    int64_t steps = 0, batch = -1, warmup = -1, cooldown = -1, eval_every = -1, eval_batches = -1,
            save_every = -1, seed = -1, stop_after = 0;
    double tokens = 0, flops = 0, lr = 0;
    int noreset = 0;
    while ((c = cli_next(argc, argv, &info, &arg))) {
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case O_DATA: data = arg; break;
        case O_OUT: out = arg; break;
        case O_STEPS: budget++; if (cli_int64(cmd, "steps", arg, 1, &steps)) return 2; break;
        case O_TOKENS:
            budget++;
            if (cli_double(cmd, "tokens", arg, &tokens)) return 2;
            if (!(tokens > 0)) return cli_usage(cmd, "option '--tokens' must be positive, got '%s'", arg);
            break;
        case O_FLOPS:
            budget++;
            if (cli_double(cmd, "flops", arg, &flops)) return 2;
            if (!(flops > 0)) return cli_usage(cmd, "option '--flops' must be positive, got '%s'", arg);
            break;
        case O_BATCH: if (cli_int64(cmd, "batch", arg, 1, &batch)) return 2; break;
        case O_LR:
            if (cli_double(cmd, "lr", arg, &lr)) return 2;
            if (!(lr > 0)) return cli_usage(cmd, "option '--lr' must be positive, got '%s'", arg);
            break;
        case O_WARMUP: if (cli_int64(cmd, "warmup", arg, 1, &warmup)) return 2; break;
        case O_COOLDOWN: if (cli_int64(cmd, "cooldown", arg, 0, &cooldown)) return 2; break;
        case O_EVAL: if (cli_int64(cmd, "eval-every", arg, 0, &eval_every)) return 2; break;
        case O_EVALB: if (cli_int64(cmd, "eval-batches", arg, 1, &eval_batches)) return 2; break;
        case O_SAVE: if (cli_int64(cmd, "save-every", arg, 0, &save_every)) return 2; break;
        case O_SEED: if (cli_int64(cmd, "seed", arg, 0, &seed)) return 2; break;
        case O_NORESET: noreset = 1; break;
        case O_STOP: if (cli_int64(cmd, "stop-after", arg, 1, &stop_after)) return 2; break;
        case O_RESUME: resume = 1; break;
        }
    }
    int npos = argc - cli_optind();
    if (npos > 1)
        return cli_usage(cmd, "expected one CONFIG.json, got %d arguments", npos);
    if (npos == 1)
        cfgpath = argv[cli_optind()];
    if (!data)
        return cli_usage(cmd, "--data DIR is required");
    if (!out)
        return cli_usage(cmd, "--out RUNDIR is required");
    /* --resume continues the run in RUNDIR; where RUNDIR holds no run yet it
     * starts one (so "train --resume" can be repeated until a run is done) */
    char tpath[4200];
    snprintf(tpath, sizeof tpath, "%s/train.json", out);
    int have_run = access(tpath, F_OK) == 0;
    if (resume && !have_run && !(cfgpath && budget))
        return cli_fail(cmd, sclaw_fail(SCLAW_E_ARG, "nothing to resume: '%s' holds no run (no "
                                                     "train.json)", out));
    if (resume && !have_run)
        resume = 0;
    if (!resume && !cfgpath)
        return cli_usage(cmd, "a CONFIG.json is required (or --resume)");
    if (budget > 1 || (!resume && budget != 1))
        return cli_usage(cmd, "give exactly one of --steps, --tokens, --flops");

    struct sclaw_config cfg, given;
    struct sclaw_train_opts o, want;
    struct sclaw_loader loader;
    struct sclaw_loader_source ts, vs;
    struct sclaw_batch_source tsrc, vsrc, *val = NULL;
    struct sclaw_train_result res;
    memset(&loader, 0, sizeof loader);
    memset(&ts, 0, sizeof ts);
    memset(&vs, 0, sizeof vs);
    /* the options this command line asks for (on resume: only to compare) */
    if (cfgpath) {
        if ((st = sclaw_config_load(&given, cfgpath)))
            return cli_fail(cmd, st);
        sclaw_train_defaults(&want, &given);
        if (batch > 0) want.batch = batch;
        if (lr > 0) want.lr = lr;
        if (seed >= 0) want.seed = (uint64_t)seed;
        if (warmup > 0) want.warmup = warmup;
        if (cooldown >= 0) want.cooldown = cooldown;
        if (eval_batches > 0) want.eval_batches = eval_batches;
        want.doc_reset = !noreset;
        const double per_step_tokens = (double)want.batch * (double)given.context_length;
        if (steps)
            want.steps = steps;
        else if (tokens > 0)
            want.steps = (int64_t)ceil(tokens / per_step_tokens);
        else if (flops > 0) {
            struct sclaw_flop_opts fo = {SCLAW_MLSTM_FLOPS_FIRST, SCLAW_ATTN_FLOPS_DISTILL};
            double per = sclaw_count_training_flops(&given, &fo, (double)want.batch, 1.0);
            want.steps = (int64_t)floor(flops / per);
            if (want.steps < 1)
                return cli_usage(cmd, "--flops %g is less than one step (%.4g FLOPs)", flops, per);
        }
        want.eval_every = eval_every >= 0 ? eval_every : (want.steps / 10 > 0 ? want.steps / 10 : 1);
        want.save_every = save_every >= 0 ? save_every : want.eval_every;
    }
    if (resume) {
        /* the run's own config and options; flags given again must agree */
        char p[4200];
        json_t *j;
        snprintf(p, sizeof p, "%s/config.json", out);
        if ((st = sclaw_config_load(&cfg, p)))
            return cli_fail(cmd, st);
        if ((st = sclaw_json_load(tpath, &j)))
            return cli_fail(cmd, st);
        sclaw_train_defaults(&o, &cfg);
        st = sclaw_train_opts_from_json(&o, j, tpath);
        json_decref(j);
        if (st)
            return cli_fail(cmd, st);
        const struct {
            const char *flag;
            int given;
            double a, b;
        } same[] = {
            {"steps/--tokens/--flops", budget && cfgpath, (double)want.steps, (double)o.steps},
            {"batch", batch > 0, (double)batch, (double)o.batch},
            {"lr", lr > 0, lr, o.lr},
            {"warmup", warmup > 0, (double)warmup, (double)o.warmup},
            {"cooldown", cooldown >= 0, (double)cooldown, (double)o.cooldown},
            {"seed", seed >= 0, (double)seed, (double)o.seed},
            {"eval-every", eval_every >= 0, (double)eval_every, (double)o.eval_every},
            {"eval-batches", eval_batches > 0, (double)eval_batches, (double)o.eval_batches},
            {"save-every", save_every >= 0, (double)save_every, (double)o.save_every},
        };
        for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
            if (same[i].given && same[i].a != same[i].b)
                return cli_fail(cmd, sclaw_fail(SCLAW_E_ARG,
                                                "option '--%s' (%.10g) differs from the run's "
                                                "(%.10g in '%s')",
                                                same[i].flag, same[i].a, same[i].b, tpath));
    } else {
        cfg = given;
        o = want;
    }
    o.stop_after = stop_after;
    o.interrupt = &interrupted;
    o.data_name = data;

    if ((st = check_memory(&cfg, o.batch)))
        return cli_fail(cmd, st);
    if ((st = sclaw_loader_open(&loader, data, cfg.context_length, 0, o.seed)))
        return cli_fail(cmd, st);
    if (loader.vocab_size > cfg.vocab_size) {
        st = sclaw_fail(SCLAW_E_ARG, "data '%s' has %lld token ids, the config's vocab_size is %lld",
                        data, (long long)loader.vocab_size, (long long)cfg.vocab_size);
        goto done;
    }
    if ((st = sclaw_loader_source_init(&ts, &tsrc, &loader, o.batch, 0)))
        goto done;
    if (sclaw_loader_val_batches(&loader, o.batch) > 0) {
        if ((st = sclaw_loader_source_init(&vs, &vsrc, &loader, o.batch, 1)))
            goto done;
        val = &vsrc;
        if (o.eval_batches > sclaw_loader_val_batches(&loader, o.batch) && !resume)
            o.eval_batches = sclaw_loader_val_batches(&loader, o.batch);
    } else {
        sclaw_warn("data '%s' has no validation split: val_loss stays empty", data);
    }

    struct prog pr = {isatty(2) && !cli.quiet, 0};
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    st = sclaw_train_run(!resume ? &cfg : cfgpath ? &given : NULL, &o, out, resume, &tsrc, val, progress, &pr, &res);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (st)
        goto done;
    print_result(out, &cfg, &res);
    if (!res.finished && !cli.quiet)
        fprintf(stderr, "stopped after step %lld of %lld; continue with: sclaw train --resume --data %s --out %s\n",
                (long long)res.step, (long long)o.steps, data, out);
done:
    if (st)
        rc = cli_fail(cmd, st);
    sclaw_loader_source_free(&ts);
    sclaw_loader_source_free(&vs);
    sclaw_loader_close(&loader);
    return rc;
}
