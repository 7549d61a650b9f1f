/* cmd_data.c - `sclaw data prepare|info`: corpora -> token shards with a
 * held-out validation split, and a check of a prepared directory
 * (sclaw_data.h, issue 5). */
#include "cli.h"
#include "sclaw.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { O_CORPUS = 1000, O_TOK, O_OUT, O_VAL, O_DOCS, O_SHARD, O_CTX };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- prepare ------------------------------------------------------------------- */
static const struct cli_opt prep_opts[] = {
    {"corpus", O_CORPUS, "NAME|FILE", "corpus: kjv (King James Bible) or a text file; more may follow"},
    {"tokenizer", O_TOK, "TOK", "tokenizer directory (from 'sclaw tokenizer train' or GPT-2's files)"},
    {"out", O_OUT, "DIR", "output directory (created if missing)"},
    {"val-fraction", O_VAL, "F", "share of documents held out for validation, in [0, 1) (default 0.005)"},
    {"docs", O_DOCS, "MODE", "how files split into documents: file (default), paragraph, eot"},
    {"shard-tokens", O_SHARD, "N", "at most N tokens per shard file (default 134217728)"},
    {NULL, 0, NULL, NULL},
};
static const struct cli_cmd_info prep_info = {
    "data prepare",
    "sclaw data prepare --corpus NAME|FILE... --tokenizer TOK --out DIR [--val-fraction F]\n"
    "                          [--docs file|paragraph|eot] [--shard-tokens N]",
    "Tokenizes a corpus into DIR/train_NNN.bin and DIR/val_NNN.bin (32-byte header, then\n"
    "uint16 tokens, or uint32 when the vocabulary exceeds 65536) and DIR/meta.json. Every\n"
    "document starts with the '<|endoftext|>' separator, so models can reset at document\n"
    "boundaries. Documents: the kjv corpus has one per chapter (1,189); a file is one\n"
    "document (--docs file), or is cut at blank lines (paragraph) or at the text\n"
    "'<|endoftext|>' (eot, as in TinyStories). Validation takes round(F * documents) of them\n"
    "(at least one) chosen by a hash of their text: the split is the same on every run\n"
    "and does not depend on the order of the files.",
    prep_opts,
};

struct progress {
    double t0, last;
    int on;
};

static void show_progress(int64_t done, int64_t total, void *user)
{
    struct progress *p = user;
    double t = now();
    if (!p->on || (t - p->last < 0.1 && done < total))
        return;
    p->last = t;
    double rate = done / (t - p->t0 + 1e-9);
    fprintf(stderr, "\rtokenizing: %5.1f%%  %.1f MB/s  ETA %.0f s   ", 100.0 * (double)done / (double)total,
            rate / 1e6, rate > 0 ? (double)(total - done) / rate : 0.0);
    if (done >= total)
        fputc('\n', stderr);
}

static int prepare(int argc, char **argv)
{
    const char *tokdir = NULL, *out = NULL, *arg, *cmd = "data prepare";
    const char **names = calloc((size_t)argc + 1, sizeof *names);
    struct sclaw_prepare_opts o = {0.005, 0, NULL, NULL, NULL};
    int c, docs = SCLAW_DOCS_FILE, rc = 0;
    int64_t nnames = 0;
    if (!names)
        return cli_usage(cmd, "out of memory");
    while ((c = cli_next(argc, argv, &prep_info, &arg))) {
        switch (c) {
        case 'h': free(names); return 0;
        case '?': free(names); return 2;
        case O_CORPUS: names[nnames++] = arg; break;
        case O_TOK: tokdir = arg; break;
        case O_OUT: out = arg; break;
        case O_VAL:
            if (cli_double(cmd, "val-fraction", arg, &o.val_fraction)) { free(names); return 2; }
            if (!(o.val_fraction >= 0 && o.val_fraction < 1)) {
                free(names);
                return cli_usage(cmd, "option '--val-fraction' must be in [0, 1), got '%s'", arg);
            }
            break;
        case O_DOCS:
            if ((docs = sclaw_docs_parse(arg)) < 0) {
                free(names);
                return cli_usage(cmd, "option '--docs' must be file, paragraph or eot, got '%s'", arg);
            }
            break;
        case O_SHARD:
            if (cli_int64(cmd, "shard-tokens", arg, 1, &o.shard_tokens)) { free(names); return 2; }
            break;
        }
    }
    for (int i = cli_optind(); i < argc; i++)  /* --corpus a.txt b.txt */
        names[nnames++] = argv[i];
    if (!nnames)
        rc = cli_usage(cmd, "--corpus NAME|FILE is required");
    else if (!tokdir)
        rc = cli_usage(cmd, "--tokenizer TOK is required");
    else if (!out)
        rc = cli_usage(cmd, "--out DIR is required");
    if (rc) {
        free(names);
        return rc;
    }
    struct sclaw_corpus corpus;
    struct sclaw_tokenizer tok;
    struct sclaw_prepare_stats s;
    struct progress pr = {now(), 0, isatty(2) && !cli.quiet};
    int st = sclaw_tok_load(&tok, tokdir);
    if (!st && (st = sclaw_corpus_load(&corpus, names, nnames, docs)))
        sclaw_tok_free(&tok);
    free(names);
    if (st)
        return cli_fail(cmd, st);
    char *abs = realpath(tokdir, NULL);  /* meta.json should not depend on the cwd */
    o.tokenizer_path = abs ? abs : tokdir;
    o.progress = show_progress;
    o.user = &pr;
    pr.t0 = pr.last = now();  /* time the tokenizing, not the loading */
    st = sclaw_data_prepare(out, &corpus, &tok, &o, &s);
    double secs = now() - pr.t0;
    if (!st) {
        if (cli.json) {
            json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "out", out,
                                  "bytes", (json_int_t)s.bytes, "vocab_size", (json_int_t)tok.vocab_size,
                                  "train_documents", (json_int_t)s.docs[0], "train_tokens",
                                  (json_int_t)s.tokens[0], "val_documents", (json_int_t)s.docs[1],
                                  "val_tokens", (json_int_t)s.tokens[1], "seconds", secs);
            sclaw_json_print(j, stdout);
            json_decref(j);
        } else {
            const char *head[] = {"split", "documents", "tokens", "shards"};
            struct sclaw_table tb;
            sclaw_table_init(&tb, 4, head);
            for (int k = 0; k < 2; k++) {
                char d[32], t[32], n[32];
                sclaw_fmt_group(d, sizeof d, (double)s.docs[k]);
                sclaw_fmt_group(t, sizeof t, (double)s.tokens[k]);
                snprintf(n, sizeof n, "%lld", (long long)s.shards[k]);
                const char *row[] = {k ? "val" : "train", d, t, n};
                sclaw_table_add(&tb, row);
            }
            sclaw_table_print(&tb, stdout);
            sclaw_table_free(&tb);
            char b[32];
            printf("%s: %s bytes, %.3f bytes/token, vocabulary %lld, %.1f s\n", out,
                   sclaw_fmt_group(b, sizeof b, (double)s.bytes),
                   (double)s.bytes / (double)(s.tokens[0] + s.tokens[1]), (long long)tok.vocab_size, secs);
        }
    }
    free(abs);
    sclaw_corpus_free(&corpus);
    sclaw_tok_free(&tok);
    return st ? cli_fail(cmd, st) : 0;
}

/* ---- info ------------------------------------------------------------------------- */
static const struct cli_opt info_opts[] = {
    {"tokenizer", O_TOK, "TOK", "also check the data was made with this tokenizer"},
    {"ctx", O_CTX, "T", "sequence length for the window counts (default 256)"},
    {NULL, 0, NULL, NULL},
};
static const struct cli_cmd_info info_info = {
    "data info",
    "sclaw data info DIR [--tokenizer TOK] [--ctx T] [--json]",
    "Opens a prepared directory the way training does (every shard is mapped and checked:\n"
    "magic, version, size, token range, vocabulary) and prints its splits and the number\n"
    "of training and validation windows of T+1 tokens.",
    info_opts,
};

static int info(int argc, char **argv)
{
    const char *tokdir = NULL, *arg, *cmd = "data info";
    int64_t T = 256, vocab = 0;
    int c;
    while ((c = cli_next(argc, argv, &info_info, &arg))) {
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case O_TOK: tokdir = arg; break;
        case O_CTX:
            if (cli_int64(cmd, "ctx", arg, 1, &T)) return 2;
            break;
        }
    }
    if (cli_optind() + 1 != argc)
        return cli_usage(cmd, "expected one data directory");
    const char *dir = argv[cli_optind()];
    struct sclaw_loader l;
    int st;
    char hash[32] = "";
    if (tokdir) {
        struct sclaw_tokenizer tok;
        if ((st = sclaw_tok_load(&tok, tokdir)))
            return cli_fail(cmd, st);
        vocab = tok.vocab_size;
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)sclaw_tok_hash(&tok));
        sclaw_tok_free(&tok);
    }
    if ((st = sclaw_loader_open(&l, dir, T, vocab, 0)))
        return cli_fail(cmd, st);
    json_t *meta = NULL;
    char mpath[4096];
    snprintf(mpath, sizeof mpath, "%s/meta.json", dir);
    if ((st = sclaw_json_load(mpath, &meta))) {
        sclaw_loader_close(&l);
        return cli_fail(cmd, st);
    }
    const char *mhash = json_string_value(json_object_get(meta, "tokenizer_hash"));
    if (hash[0] && mhash && strcmp(hash, mhash) && !cli.quiet)
        fprintf(stderr, "sclaw data info: warning: %s was made with tokenizer %s, '%s' is %s\n",
                dir, mhash, tokdir, hash);
    json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "dir", dir,
                          "vocab_size", (json_int_t)l.vocab_size, "eot_id", (json_int_t)l.eot_id,
                          "train_tokens", (json_int_t)l.ntok[0], "val_tokens", (json_int_t)l.ntok[1],
                          "train_shards", (json_int_t)l.nshards[0], "val_shards", (json_int_t)l.nshards[1],
                          "ctx", (json_int_t)T, "train_windows", (json_int_t)l.nwin);
    json_object_set_new(j, "val_windows", json_integer(l.nval));
    json_object_set(j, "tokenizer", json_object_get(meta, "tokenizer"));
    json_object_set(j, "tokenizer_hash", json_object_get(meta, "tokenizer_hash"));
    if (cli.json) {
        sclaw_json_print(j, stdout);
    } else {
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v) {
            if (json_is_string(v))
                printf("%-16s %s\n", key, json_string_value(v));
            else if (json_is_integer(v))
                printf("%-16s %lld\n", key, (long long)json_integer_value(v));
        }
    }
    json_decref(j);
    json_decref(meta);
    sclaw_loader_close(&l);
    return 0;
}

static const struct cli_sub subs[] = {
    {"info", info, "check a prepared directory and print its splits"},
    {"prepare", prepare, "tokenize a corpus into train/val token shards + meta.json"},
};

int cmd_data(int argc, char **argv)
{
    return cli_dispatch("data", "sclaw data <prepare|info> [<args>]",
                        "Token datasets: shards of token ids with a held-out validation split.",
                        subs, sizeof subs / sizeof subs[0], argc, argv);
}
