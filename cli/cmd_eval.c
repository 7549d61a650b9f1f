/* cmd_eval.c - `sclaw eval`: validation loss of a trained model (a run
 * directory or a safetensors file) on a prepared token directory
 * (sclaw_train.h). */
#include "cli.h"
#include "sclaw.h"
#include "sclaw_data.h"
#include "sclaw_model.h"
#include "sclaw_train.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

enum { O_DATA = 1000, O_CONFIG, O_BATCHES, O_BATCH, O_NORESET };

static const struct cli_opt opts[] = {
    {"data", O_DATA, "DIR", "token directory from 'sclaw data prepare' (required)"},
    {"config", O_CONFIG, "CONFIG.json", "model config (default: config.json next to the weights)"},
    {"batches", O_BATCHES, "N", "validation batches to use (default: all)"},
    {"batch", O_BATCH, "B", "sequences per batch (default 8)"},
    {"no-doc-reset", O_NORESET, NULL, "ignore document borders (default: reset at each)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_cmd_info info = {
    "eval",
    "sclaw eval RUNDIR|WEIGHTS.safetensors --data DIR [--config CONFIG.json] [--batches N]\n"
    "                  [--batch B]",
    "Computes the mean cross-entropy (nats/token) and perplexity of a model on the validation\n"
    "split of DIR, sequences of the config's context length. RUNDIR uses its config.json and\n"
    "model.safetensors (or checkpoint.safetensors of an unfinished run).",
    opts,
};

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

int cmd_eval(int argc, char **argv)
{
    const char *cmd = "eval", *data = NULL, *cfgpath = NULL, *arg;
    int64_t nb = 0, B = 8;
    int c, noreset = 0, st, rc = 0;
    while ((c = cli_next(argc, argv, &info, &arg))) {
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case O_DATA: data = arg; break;
        case O_CONFIG: cfgpath = arg; break;
        case O_BATCHES: if (cli_int64(cmd, "batches", arg, 1, &nb)) return 2; break;
        case O_BATCH: if (cli_int64(cmd, "batch", arg, 1, &B)) return 2; break;
        case O_NORESET: noreset = 1; break;
        }
    }
    if (argc - cli_optind() != 1)
        return cli_usage(cmd, "expected one RUNDIR or WEIGHTS.safetensors");
    if (!data)
        return cli_usage(cmd, "--data DIR is required");
    const char *src = argv[cli_optind()];
    char cpath[4200], wpath[4200];
    if (is_dir(src)) {
        snprintf(cpath, sizeof cpath, "%s/config.json", src);
        snprintf(wpath, sizeof wpath, "%s/model.safetensors", src);
        if (!is_file(wpath))
            snprintf(wpath, sizeof wpath, "%s/checkpoint.safetensors", src);
    } else {
        snprintf(wpath, sizeof wpath, "%s", src);
        const char *slash = strrchr(src, '/');
        if (slash)
            snprintf(cpath, sizeof cpath, "%.*s/config.json", (int)(slash - src), src);
        else
            snprintf(cpath, sizeof cpath, "config.json");
    }
    if (cfgpath)
        snprintf(cpath, sizeof cpath, "%s", cfgpath);

    struct sclaw_config cfg;
    struct sclaw_model m;
    struct sclaw_loader l;
    struct sclaw_loader_source vs;
    struct sclaw_batch_source bs;
    double loss = NAN;
    memset(&m, 0, sizeof m);
    memset(&l, 0, sizeof l);
    memset(&vs, 0, sizeof vs);
    if ((st = sclaw_config_load(&cfg, cpath)))
        return cli_fail(cmd, st);
    if ((st = sclaw_model_init(&m, &cfg)))
        goto done;
    m.doc_reset = !noreset;
    if ((st = sclaw_ckpt_load(wpath, &m, NULL, NULL)))
        goto done;
    if ((st = sclaw_loader_open(&l, data, cfg.context_length, 0, 1)))
        goto done;
    if (l.vocab_size > cfg.vocab_size) {
        st = sclaw_fail(SCLAW_E_ARG, "data '%s' has %lld token ids, the config's vocab_size is %lld",
                        data, (long long)l.vocab_size, (long long)cfg.vocab_size);
        goto done;
    }
    int64_t avail = sclaw_loader_val_batches(&l, B);
    if (avail < 1) {
        st = sclaw_fail(SCLAW_E_ARG, "data '%s' has no validation split", data);
        goto done;
    }
    if (!nb || nb > avail)
        nb = avail;
    if ((st = sclaw_model_reserve(&m, B, cfg.context_length)))
        goto done;
    if ((st = sclaw_loader_source_init(&vs, &bs, &l, B, 1)))
        goto done;
    if ((st = sclaw_eval_loss(&m, &bs, nb, B, &loss)))
        goto done;
    if (cli.json) {
        json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I}", "weights", wpath, "data",
                              data, "val_loss", sclaw_json_number(loss), "val_perplexity",
                              sclaw_json_number(exp(loss)), "batches", (json_int_t)nb, "batch_size",
                              (json_int_t)B, "context_length", (json_int_t)cfg.context_length);
        sclaw_json_print(j, stdout);
        json_decref(j);
    } else {
        printf("%s: val loss %.4f nats/token, perplexity %.3f (%lld batches of %lld x %lld)\n",
               wpath, loss, exp(loss), (long long)nb, (long long)B, (long long)cfg.context_length);
    }
done:
    if (st)
        rc = cli_fail(cmd, st);
    sclaw_loader_source_free(&vs);
    sclaw_loader_close(&l);
    sclaw_model_free(&m);
    return rc;
}
