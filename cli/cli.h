/* cli.h - shared helpers of the sclaw command-line tool (not part of the library).
 *
 * Each subcommand lives in cli/cmd_<name>.c, owns its usage text and option
 * table, and is listed in the command table in cli/sclaw.c. A new subcommand
 * is one file, one table line and one CLI test.
 *
 * Options are declared once in a struct cli_opt table; the same table drives
 * getopt_long parsing and the --help text, so they cannot drift apart.
 * Exit codes: 0 ok, 1 runtime error ("sclaw CMD: error: MSG"), 2 usage error.
 */
#ifndef SCLAW_CLI_H
#define SCLAW_CLI_H

#include <stdint.h>
#include <stdio.h>

/* Global options, accepted anywhere on the line and removed before the
 * subcommand sees argv. */
struct cli_globals {
    int json;     /* --json: machine-readable JSON on stdout */
    int csv;      /* --csv: CSV on stdout where a command supports it */
    int quiet;    /* --quiet: no progress or notes on stderr */
    int threads;  /* --threads N (0 = library default) */
};
extern struct cli_globals cli;

struct cli_opt {
    const char *name;  /* long name without dashes; NULL ends the table */
    int key;           /* value returned by cli_next (a char for short options) */
    const char *arg;   /* metavar if the option takes a value, else NULL */
    const char *help;  /* one line: meaning, range, default */
};

struct cli_cmd_info {
    const char *name;     /* "count" or "fit lnd" */
    const char *usage;    /* synopsis lines after "usage: " */
    const char *about;    /* a paragraph printed under the synopsis */
    const struct cli_opt *opts;
};

/* getopt_long over a cli_opt table. Returns the option key, 0 at the end of
 * options (positional arguments then start at *optind_out), 'h' after printing
 * help (caller returns 0), or '?' after printing a usage error (caller returns 2).
 * *arg receives the option value. */
int cli_next(int argc, char **argv, const struct cli_cmd_info *info, const char **arg);
int cli_optind(void);
void cli_reset(void);
void cli_help(const struct cli_cmd_info *info, FILE *fp);

/* Print "sclaw CMD: error: <library message>" and return 1. */
int cli_fail(const char *cmd, int status);
/* Print "sclaw CMD: <message>" + a pointer to --help and return 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Flag value parsers: print a usage error naming the flag and return 2 on bad
 * input, else 0. */
int cli_double(const char *cmd, const char *flag, const char *s, double *out);
int cli_int64(const char *cmd, const char *flag, const char *s, int64_t lo, int64_t *out);
/* Comma-separated list of numbers ("1e14,3e14") or integers; *out is malloc'ed. */
int cli_double_list(const char *cmd, const char *flag, const char *s, double **out, int64_t *n);

/* A command with subcommands (`sclaw fit lnd ...`): a table of them. */
struct cli_sub {
    const char *name;
    int (*run)(int argc, char **argv);   /* called with argv[0] = the subcommand */
    const char *summary;
};
/* Runs the subcommand named by argv[1]; with none or --help prints `usage`,
 * `about` and the table (exit 2 / 0); an unknown name is a usage error
 * listing the table's names. */
int cli_dispatch(const char *cmd, const char *usage, const char *about,
                 const struct cli_sub *subs, size_t nsubs, int argc, char **argv);

/* Subcommands. */
int cmd_bench(int argc, char **argv);
int cmd_count(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_fit_runtime(int argc, char **argv); /* `sclaw fit runtime`, a subcommand of `fit` */
int cmd_fit(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_optimal(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_study(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_train(int argc, char **argv);

#endif
