/* sclaw.c - entry point of the sclaw tool: global options, the command table,
 * dispatch, and the shared end-of-run policy (flush stdout, check for write
 * errors, exit code). */
#include "cli.h"
#include "sclaw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sclaw_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

/* Alphabetical, one line each. */
static const struct sclaw_cmd commands[] = {
    {"bench", cmd_bench, "time inference (TTFT, decode steps) over a batch x prefill grid"},
    {"count", cmd_count, "parameters, FLOPs and memory traffic of a model config or a run table"},
    {"data", cmd_data, "tokenize a corpus into train/val token shards; check a prepared directory"},
    {"eval", cmd_eval, "validation loss of a trained model on a token directory"},
    {"fit", cmd_fit, "fit L(N,D), IsoFLOP power laws, slopes and Pareto frontiers to run results"},
    {"generate", cmd_generate, "generate text from a trained model (xLSTM state or Llama KV cache)"},
    {"optimal", cmd_optimal, "compute-optimal budget and tokens per model size from IsoFLOP laws"},
    {"plan", cmd_plan, "plan an IsoFLOP or token/param study from a compute budget"},
    {"report", cmd_report, "Markdown reports with figures: the paper's results recomputed, inference times"},
    {"study", cmd_study, "run, resume and collect a planned scaling study"},
    {"tokenizer", cmd_tokenizer, "train, load, encode and decode byte-level BPE tokenizers"},
    {"train", cmd_train, "train one xLSTM or Llama model on a token directory"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_overview(FILE *fp)
{
    fprintf(fp, "usage: sclaw [--json] [--threads N] [--quiet] <command> [<args>]\n\n"
                "sclaw measures how language-model architectures scale: xLSTM (mLSTM) against\n"
                "a Llama-2 Transformer, with exact compute accounting.\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\n'sclaw help <command>' or 'sclaw <command> --help' describes one command.\n");
}

static const struct sclaw_cmd *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

/* Levenshtein distance, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];
    if (lb >= 63)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t best = prev + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

static void warn_to_stderr(const char *msg, void *user)
{
    (void)user;
    if (!cli.quiet)
        fprintf(stderr, "sclaw: warning: %s\n", msg);
}

/* Remove the global options from argv (they may appear anywhere). Returns 0,
 * or 2 after a usage error. */
static int take_globals(int *argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { /* everything after is positional */
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (!strcmp(a, "--json"))
            cli.json = 1;
        else if (!strcmp(a, "--csv"))
            cli.csv = 1;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
            cli.quiet = 1;
        else if (!strcmp(a, "--threads") || !strncmp(a, "--threads=", 10)) {
            const char *v = a[9] == '=' ? a + 10 : (i + 1 < *argc ? argv[++i] : NULL);
            int64_t n;
            if (!v)
                return cli_usage("", "option '--threads' needs a value"), 2;
            if (cli_int64("", "threads", v, 1, &n))
                return 2;
            cli.threads = (int)n;
        } else
            argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    int rc;
    if (take_globals(&argc, argv))
        return 2;
    sclaw_set_warn_handler(warn_to_stderr, NULL);
    sclaw_threads_set(cli.threads);

    if (argc < 2) {
        print_overview(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
        if (argc < 3) {
            print_overview(stdout);
            return 0;
        }
        const struct sclaw_cmd *c = find_command(argv[2]);
        if (!c) {
            fprintf(stderr, "sclaw: '%s' is not a sclaw command; see 'sclaw help'\n", argv[2]);
            return 2;
        }
        char *hargv[] = {(char *)c->name, "--help", NULL};
        cli_reset();
        return c->run(2, hargv);
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("sclaw %s\n", SCLAW_VERSION);
        return 0;
    }
    const struct sclaw_cmd *c = find_command(name);
    if (!c) {
        fprintf(stderr, "sclaw: '%s' is not a sclaw command; see 'sclaw help'\n", name);
        size_t best = 3;
        const char *near = NULL;
        for (size_t i = 0; i < NCOMMANDS; i++) {
            size_t d = edit_distance(name, commands[i].name);
            if (d < best) {
                best = d;
                near = commands[i].name;
            }
        }
        if (near)
            fprintf(stderr, "\nthe most similar command is\n\t%s\n", near);
        return 2;
    }
    cli_reset();
    rc = c->run(argc - 1, argv + 1);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "sclaw %s: error: cannot write to standard output\n", name);
        return 1;
    }
    return rc;
}
