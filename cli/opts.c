/* opts.c - option tables, help text and flag-value parsing for the CLI (cli.h). */
#define _GNU_SOURCE
#include "cli.h"
#include "sclaw_io.h"
#include "sclaw_status.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct cli_globals cli;

void cli_help(const struct cli_cmd_info *info, FILE *fp)
{
    fprintf(fp, "usage: %s\n", info->usage);
    if (info->about)
        fprintf(fp, "\n%s\n", info->about);
    if (!info->opts || !info->opts[0].name)
        return;
    fprintf(fp, "\noptions:\n");
    for (const struct cli_opt *o = info->opts; o->name; o++) {
        char left[96];
        if (o->key > ' ' && o->key < 127 && o->key != 'h')
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->key, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        fprintf(fp, "  %-30s %s\n", left, o->help);
    }
    fprintf(fp, "  %-30s %s\n", "    --json", "machine-readable JSON on stdout (global)");
    fprintf(fp, "  %-30s %s\n", "    --threads N", "threads for OpenMP and BLAS (global; default: all cores)");
    fprintf(fp, "  %-30s %s\n", "-h, --help", "show this help");
}

void cli_reset(void)
{
    optind = 0; /* 0 makes glibc re-initialise its scan */
    opterr = 0;
}

int cli_optind(void) { return optind; }

int cli_next(int argc, char **argv, const struct cli_cmd_info *info, const char **arg)
{
    struct option lo[64];
    char so[160];
    int n = 0, s = 0;
    so[s++] = ':'; /* report missing arguments as ':' */
    for (const struct cli_opt *o = info->opts; o && o->name && n < 62; o++, n++) {
        lo[n].name = o->name;
        lo[n].has_arg = o->arg ? required_argument : no_argument;
        lo[n].flag = NULL;
        lo[n].val = o->key;
        if (o->key > ' ' && o->key < 127 && s < 150) {
            so[s++] = (char)o->key;
            if (o->arg)
                so[s++] = ':';
        }
    }
    lo[n++] = (struct option){"help", no_argument, NULL, 'h'};
    lo[n] = (struct option){0, 0, 0, 0};
    so[s++] = 'h';
    so[s] = '\0';

    opterr = 0;
    int c = getopt_long(argc, argv, so, lo, NULL);
    *arg = optarg;
    if (c == -1)
        return 0;
    if (c == 'h') {
        cli_help(info, stdout);
        return 'h';
    }
    if (c == ':') {
        cli_usage(info->name, "option '%s' needs a value", argv[optind - 1]);
        return '?';
    }
    if (c == '?') {
        cli_usage(info->name, "unknown option '%s'", argv[optind - 1]);
        return '?';
    }
    return c;
}

static void dispatch_overview(FILE *fp, const char *cmd, const char *usage, const char *about,
                              const struct cli_sub *subs, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(subs[i].name) > w)
            w = strlen(subs[i].name);
    fprintf(fp, "usage: %s\n\n%s\n\nsubcommands:\n", usage, about);
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "  %-*s  %s\n", (int)w, subs[i].name, subs[i].summary);
    fprintf(fp, "\n'sclaw %s <subcommand> --help' describes one.\n", cmd);
}

int cli_dispatch(const char *cmd, const char *usage, const char *about,
                 const struct cli_sub *subs, size_t n, int argc, char **argv)
{
    if (argc < 2) {
        dispatch_overview(stderr, cmd, usage, about, subs, n);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        dispatch_overview(stdout, cmd, usage, about, subs, n);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!strcmp(argv[1], subs[i].name)) {
            cli_reset();
            return subs[i].run(argc - 1, argv + 1);
        }
    char names[512] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                 subs[i].name);
    return cli_usage(cmd, "unknown subcommand '%s' (%s)", argv[1], names);
}

int cli_fail(const char *cmd, int status)
{
    const char *msg = sclaw_errmsg();
    fprintf(stderr, "sclaw %s: error: %s\n", cmd, msg[0] ? msg : sclaw_status_str(status));
    return 1;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sclaw %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nsee 'sclaw %s --help'\n", cmd);
    return 2;
}

int cli_double(const char *cmd, const char *flag, const char *s, double *out)
{
    if (!s || sclaw_parse_double(s, out))
        return cli_usage(cmd, "option '--%s' expects a number, got '%s'", flag, s ? s : "");
    return 0;
}

int cli_int64(const char *cmd, const char *flag, const char *s, int64_t lo, int64_t *out)
{
    double v;
    if (!s || sclaw_parse_double(s, &v) || v != (double)(int64_t)v)
        return cli_usage(cmd, "option '--%s' expects an integer, got '%s'", flag, s ? s : "");
    if ((int64_t)v < lo)
        return cli_usage(cmd, "option '--%s' must be at least %lld, got '%s'", flag, (long long)lo, s);
    *out = (int64_t)v;
    return 0;
}

int cli_double_list(const char *cmd, const char *flag, const char *s, double **out, int64_t *n)
{
    int64_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    double *v = malloc((size_t)cap * sizeof *v);
    char *copy = strdup(s), *save = NULL;
    int64_t k = 0;
    if (!v || !copy) {
        free(v);
        free(copy);
        return cli_usage(cmd, "out of memory");
    }
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (sclaw_parse_double(tok, &v[k])) {
            int r = cli_usage(cmd, "option '--%s': '%s' is not a number", flag, tok);
            free(v);
            free(copy);
            return r;
        }
        k++;
    }
    free(copy);
    if (!k) {
        free(v);
        return cli_usage(cmd, "option '--%s' needs at least one value", flag);
    }
    *out = v;
    *n = k;
    return 0;
}
