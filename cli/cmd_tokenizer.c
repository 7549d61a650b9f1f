/* cmd_tokenizer.c - `sclaw tokenizer train|encode|decode|info`: byte-level
 * BPE vocabularies in GPT-2 format (sclaw_data.h, issue 5). */
#include "cli.h"
#include "sclaw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { O_VOCAB = 1000, O_DOCS, O_NO_EOT, O_TEXT, O_IN };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Whole file, or stdin for NULL / "-", into a malloc'ed buffer. */
static int read_input(const char *path, uint8_t **out, int64_t *n)
{
    FILE *fp = (!path || !strcmp(path, "-")) ? stdin : fopen(path, "rb");
    const char *name = (!path || !strcmp(path, "-")) ? "<stdin>" : path;
    size_t cap = 1 << 16, len = 0, got;
    uint8_t *buf;
    *out = NULL;
    if (!fp)
        return sclaw_fail(SCLAW_E_IO, "cannot open '%s': %s", name, strerror(errno));
    if (!(buf = malloc(cap + 1))) {
        if (fp != stdin)
            fclose(fp);
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory reading '%s'", name);
    }
    while ((got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                if (fp != stdin)
                    fclose(fp);
                return sclaw_fail(SCLAW_E_NOMEM, "out of memory reading '%s'", name);
            }
            buf = nb;
            cap *= 2;
        }
    }
    int err = ferror(fp);
    if (fp != stdin)
        fclose(fp);
    if (err) {
        free(buf);
        return sclaw_fail(SCLAW_E_IO, "cannot read '%s'", name);
    }
    buf[len] = '\0';
    *out = buf;
    *n = (int64_t)len;
    return SCLAW_OK;
}

/* To a file (atomically) or to stdout for NULL / "-". */
static int write_output(const char *path, const void *data, size_t n)
{
    if (path && strcmp(path, "-"))
        return sclaw_atomic_write(path, data, n);
    if (n && fwrite(data, 1, n, stdout) != n)
        return sclaw_fail(SCLAW_E_IO, "cannot write to standard output");
    return SCLAW_OK;
}

/* Merges done / wanted on stderr (TTY only, not --quiet, at most 10 Hz). */
struct progress {
    double t0, last;
    int open;  /* a progress line is on screen without its newline */
};

static void show_progress(int64_t done, int64_t total, void *user)
{
    struct progress *p = user;
    double t = now();
    if (t - p->last < 0.1 && done < total)
        return;
    p->last = t;
    double rate = (double)done / (t - p->t0 + 1e-9);
    fprintf(stderr, "\rtraining: %lld/%lld merges  %.0f merges/s  ETA %.0f s   ", (long long)done,
            (long long)total, rate, rate > 0 ? (double)(total - done) / rate : 0.0);
    p->open = done < total;
    if (!p->open)
        fputc('\n', stderr);
}

/* ---- train ----------------------------------------------------------------- */
static const struct cli_opt train_opts[] = {
    {"vocab-size", O_VOCAB, "V", "vocabulary size: 256 bytes + merges + the separator (>= 257; >= 256 with --no-eot)"},
    {"out", 'o', "TOK", "directory to write (encoder.json, vocab.bpe, tokenizer.json)"},
    {"docs", O_DOCS, "MODE", "how files split into documents: file (default), paragraph, eot"},
    {"no-eot", O_NO_EOT, NULL, "do not reserve the '<|endoftext|>' separator token"},
    {NULL, 0, NULL, NULL},
};
static const struct cli_cmd_info train_info = {
    "tokenizer train",
    "sclaw tokenizer train --vocab-size V CORPUS... --out TOK [--docs MODE]",
    "Trains a byte-level BPE vocabulary (GPT-2 style: text is split into words with their\n"
    "leading space, numbers, punctuation and whitespace runs; merges never cross these).\n"
    "CORPUS is a built-in name (kjv: the King James Bible, public domain) or a text file;\n"
    "to read a file named like a built-in corpus, write ./NAME. Ties between equally\n"
    "frequent pairs go to the pair whose bytes sort first, so training is deterministic.\n"
    "TOK is written in GPT-2's format and loads in other tools; ids 0-255 are the bytes in\n"
    "GPT-2's order and the last id is '<|endoftext|>'.",
    train_opts,
};

static int train(int argc, char **argv)
{
    const char *out = NULL, *arg, *cmd = "tokenizer train";
    struct sclaw_bpe_opts o = {0, 1, NULL, NULL};
    int c, docs = SCLAW_DOCS_FILE;
    while ((c = cli_next(argc, argv, &train_info, &arg))) {
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case O_VOCAB:
            if (cli_int64(cmd, "vocab-size", arg, 256, &o.vocab_size)) return 2;
            break;
        case 'o': out = arg; break;
        case O_DOCS:
            if ((docs = sclaw_docs_parse(arg)) < 0)
                return cli_usage(cmd, "option '--docs' must be file, paragraph or eot, got '%s'", arg);
            break;
        case O_NO_EOT: o.add_eot = 0; break;
        }
    }
    int first = cli_optind();
    if (!o.vocab_size)
        return cli_usage(cmd, "--vocab-size V is required");
    if (!out)
        return cli_usage(cmd, "--out TOK is required");
    if (first >= argc)
        return cli_usage(cmd, "no corpus given (a file, or a name: kjv)");
    if (o.vocab_size < 256 + o.add_eot)
        return cli_usage(cmd, "option '--vocab-size' must be at least %d", 256 + o.add_eot);

    struct sclaw_corpus corpus;
    struct sclaw_tokenizer tok;
    int st = sclaw_corpus_load(&corpus, (const char *const *)argv + first, argc - first, docs);
    if (st)
        return cli_fail(cmd, st);
    double t0 = now();
    struct progress pr = {t0, t0, 0};  /* first line after 0.1 s */
    if (isatty(2) && !cli.quiet) {
        o.progress = show_progress;
        o.user = &pr;
    }
    st = sclaw_bpe_train(&tok, &corpus, &o);
    if (pr.open)
        fputc('\n', stderr);  /* stopped before the target: end the line */
    double secs = now() - t0;
    if (!st)
        st = sclaw_tok_save(&tok, out);
    if (st) {
        sclaw_corpus_free(&corpus);
        return cli_fail(cmd, st);
    }
    /* compression on the training text: bytes per token */
    int64_t ntok = 0;
    for (int64_t d = 0; d < corpus.ndocs && !st; d++) {
        int32_t *ids;
        int64_t n;
        st = sclaw_tok_encode(&tok, (const uint8_t *)corpus.text + corpus.off[d],
                              corpus.off[d + 1] - corpus.off[d], &ids, &n);
        if (!st)
            free(ids);
        ntok += n;
    }
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)sclaw_tok_hash(&tok));
    json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:s}", "tokenizer", out,
                          "vocab_size", (json_int_t)tok.vocab_size, "requested_vocab_size",
                          (json_int_t)o.vocab_size, "merges", (json_int_t)tok.nmerges, "eot_id",
                          (json_int_t)tok.eot_id, "corpus_bytes", (json_int_t)corpus.nbytes,
                          "corpus_tokens", (json_int_t)ntok, "bytes_per_token",
                          ntok ? (double)corpus.nbytes / (double)ntok : 0.0, "train_seconds", secs,
                          "hash", hash);
    json_object_set(j, "sources", corpus.sources);
    if (cli.json) {
        sclaw_json_print(j, stdout);
    } else {
        const char *head[] = {"quantity", "value"};
        struct sclaw_table tb;
        char v[6][64];
        sclaw_table_init(&tb, 2, head);
        snprintf(v[0], 64, "%lld", (long long)tok.vocab_size);
        snprintf(v[1], 64, "%lld", (long long)tok.nmerges);
        snprintf(v[2], 64, "%lld", (long long)tok.eot_id);
        sclaw_fmt_group(v[3], 64, (double)corpus.nbytes);
        snprintf(v[4], 64, "%.3f", ntok ? (double)corpus.nbytes / (double)ntok : 0.0);
        snprintf(v[5], 64, "%.2f", secs);
        const char *rows[][2] = {{"tokenizer", out}, {"vocabulary size", v[0]}, {"merges", v[1]},
                                 {"separator id", v[2]}, {"corpus bytes", v[3]},
                                 {"bytes per token (corpus)", v[4]}, {"training seconds", v[5]},
                                 {"hash", hash}};
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
            sclaw_table_add(&tb, rows[i]);
        sclaw_table_print(&tb, stdout);
        sclaw_table_free(&tb);
    }
    if (tok.vocab_size < o.vocab_size && !cli.quiet)
        fprintf(stderr, "sclaw tokenizer train: note: no pair occurs twice after %lld merges; the "
                "vocabulary has %lld tokens, not %lld\n", (long long)tok.nmerges,
                (long long)tok.vocab_size, (long long)o.vocab_size);
    json_decref(j);
    sclaw_tok_free(&tok);
    sclaw_corpus_free(&corpus);
    return st ? cli_fail(cmd, st) : 0;
}

/* ---- encode ------------------------------------------------------------------- */
static const struct cli_opt enc_opts[] = {
    {"tokenizer", 't', "TOK", "tokenizer directory (encoder.json + vocab.bpe)"},
    {"text", O_TEXT, "STR", "encode this string instead of reading input"},
    {"in", 'i', "FILE", "read the bytes to encode from FILE (default: stdin)"},
    {"out", 'o', "FILE", "write the ids to FILE (default: stdout)"},
    {NULL, 0, NULL, NULL},
};
static const struct cli_cmd_info enc_info = {
    "tokenizer encode",
    "sclaw tokenizer encode -t TOK [--text STR | --in FILE] [--out FILE] [--json]",
    "Encodes bytes (any bytes: text, binary, invalid UTF-8) into token ids, printed as\n"
    "decimal numbers separated by spaces on one line; with --json as {\"tokens\": [...]}.\n"
    "The text '<|endoftext|>' is encoded as ordinary text, never as the separator.",
    enc_opts,
};

static int encode(int argc, char **argv)
{
    const char *tokdir = NULL, *text = NULL, *in = NULL, *out = NULL, *arg, *cmd = "tokenizer encode";
    int c;
    while ((c = cli_next(argc, argv, &enc_info, &arg))) {
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case 't': tokdir = arg; break;
        case O_TEXT: text = arg; break;
        case 'i': in = arg; break;
        case 'o': out = arg; break;
        }
    }
    if (!tokdir)
        return cli_usage(cmd, "--tokenizer TOK is required");
    if (cli_optind() < argc)
        return cli_usage(cmd, "unexpected argument '%s' (use --text STR or --in FILE)", argv[cli_optind()]);
    if (text && in)
        return cli_usage(cmd, "--text and --in exclude each other");
    struct sclaw_tokenizer tok;
    uint8_t *data = NULL;
    int64_t n = 0, nids = 0;
    int32_t *ids = NULL;
    char *buf = NULL;
    size_t blen = 0;
    int st = sclaw_tok_load(&tok, tokdir);
    if (st)
        return cli_fail(cmd, st);
    if (text) {
        n = (int64_t)strlen(text);
        st = sclaw_tok_encode(&tok, (const uint8_t *)text, n, &ids, &nids);
    } else if (!(st = read_input(in, &data, &n))) {
        st = sclaw_tok_encode(&tok, data, n, &ids, &nids);
    }
    if (!st) {
        FILE *mem = open_memstream(&buf, &blen);
        if (cli.json) {
            json_t *arr = json_array();
            for (int64_t i = 0; i < nids; i++)
                json_array_append_new(arr, json_integer(ids[i]));
            json_t *j = json_pack("{s:I, s:I, s:o}", "bytes", (json_int_t)n, "count", (json_int_t)nids,
                                  "tokens", arr);
            sclaw_json_print(j, mem);
            json_decref(j);
        } else {
            for (int64_t i = 0; i < nids; i++)
                fprintf(mem, i ? " %d" : "%d", ids[i]);
            fputc('\n', mem);
        }
        fclose(mem);
        st = write_output(out, buf, blen);
    }
    free(buf);
    free(ids);
    free(data);
    sclaw_tok_free(&tok);
    return st ? cli_fail(cmd, st) : 0;
}

/* ---- decode ------------------------------------------------------------------- */
static const struct cli_opt dec_opts[] = {
    {"tokenizer", 't', "TOK", "tokenizer directory (encoder.json + vocab.bpe)"},
    {"in", 'i', "FILE", "read ids from FILE (default: the arguments, else stdin)"},
    {"out", 'o', "FILE", "write the bytes to FILE (default: stdout)"},
    {NULL, 0, NULL, NULL},
};
static const struct cli_cmd_info dec_info = {
    "tokenizer decode",
    "sclaw tokenizer decode -t TOK [ID...] [--in FILE] [--out FILE]",
    "Decodes token ids (decimal, separated by blanks, commas or brackets, so the output of\n"
    "'encode' and JSON arrays both work) back to the exact bytes. The separator decodes to\n"
    "the text '<|endoftext|>'.",
    dec_opts,
};

/* Parse decimal ids from text; errors name the source and the offending word. */
static int parse_ids(const char *src, const char *text, int32_t **ids, int64_t *n)
{
    int64_t cap = 1024, k = 0;
    int32_t *v = malloc((size_t)cap * sizeof *v);
    const char *p = text;
    if (!v)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    for (;;) {
        while (*p && strchr(" \t\r\n,[]", *p))
            p++;
        if (!*p)
            break;
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (end == p || errno || x < 0 || x > INT32_MAX || (*end && !strchr(" \t\r\n,[]", *end))) {
            int len = 0;
            while (p[len] && !strchr(" \t\r\n,[]", p[len]) && len < 40)
                len++;
            free(v);
            return sclaw_fail(SCLAW_E_FORMAT, "%s: '%.*s' is not a token id", src, len, p);
        }
        if (k == cap) {
            int32_t *nv = realloc(v, (size_t)(cap *= 2) * sizeof *nv);
            if (!nv) {
                free(v);
                return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
            }
            v = nv;
        }
        v[k++] = (int32_t)x;
        p = end;
    }
    *ids = v;
    *n = k;
    return SCLAW_OK;
}

static int decode(int argc, char **argv)
{
    const char *tokdir = NULL, *in = NULL, *out = NULL, *arg, *cmd = "tokenizer decode";
    int c;
    while ((c = cli_next(argc, argv, &dec_info, &arg))) {
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case 't': tokdir = arg; break;
        case 'i': in = arg; break;
        case 'o': out = arg; break;
        }
    }
    int first = cli_optind();
    if (!tokdir)
        return cli_usage(cmd, "--tokenizer TOK is required");
    if (in && first < argc)
        return cli_usage(cmd, "give ids as arguments or with --in, not both");
    struct sclaw_tokenizer tok;
    int32_t *ids = NULL;
    int64_t nids = 0, nout = 0;
    uint8_t *bytes = NULL, *text = NULL;
    int st = sclaw_tok_load(&tok, tokdir);
    if (st)
        return cli_fail(cmd, st);
    if (first < argc) {
        size_t len = 1;
        for (int i = first; i < argc; i++)
            len += strlen(argv[i]) + 1;
        char *joined = calloc(len, 1);
        if (!joined) {
            st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        } else {
            for (int i = first; i < argc; i++)
                strcat(strcat(joined, argv[i]), " ");
            st = parse_ids("arguments", joined, &ids, &nids);
            free(joined);
        }
    } else {
        int64_t n;
        if (!(st = read_input(in, &text, &n)))
            st = parse_ids(in && strcmp(in, "-") ? in : "<stdin>", (const char *)text, &ids, &nids);
    }
    if (!st)
        st = sclaw_tok_decode(&tok, ids, nids, &bytes, &nout);
    if (!st)
        st = write_output(out, bytes, (size_t)nout);
    free(bytes);
    free(ids);
    free(text);
    sclaw_tok_free(&tok);
    return st ? cli_fail(cmd, st) : 0;
}

/* ---- info ------------------------------------------------------------------------ */
static const struct cli_opt info_opts[] = {{NULL, 0, NULL, NULL}};
static const struct cli_cmd_info info_info = {
    "tokenizer info",
    "sclaw tokenizer info TOK [--json]",
    "Loads a tokenizer (sclaw's or GPT-2's files) and prints its size, merges, separator\n"
    "id, content hash and longest token.",
    info_opts,
};

static int info(int argc, char **argv)
{
    const char *arg, *cmd = "tokenizer info";
    int c;
    while ((c = cli_next(argc, argv, &info_info, &arg))) {
        if (c == 'h')
            return 0;
        return 2;
    }
    if (cli_optind() + 1 != argc)
        return cli_usage(cmd, "expected one tokenizer directory");
    struct sclaw_tokenizer tok;
    int st = sclaw_tok_load(&tok, argv[cli_optind()]);
    if (st)
        return cli_fail(cmd, st);
    int64_t longest = 0, nspecial = 0;
    for (int64_t i = 0; i < tok.vocab_size; i++) {
        int64_t len = tok.tok_off[i + 1] - tok.tok_off[i];
        nspecial += tok.is_special[i];
        if (!tok.is_special[i] && len > longest)
            longest = len;
    }
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)sclaw_tok_hash(&tok));
    json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s}", "tokenizer", argv[cli_optind()],
                          "vocab_size", (json_int_t)tok.vocab_size, "merges", (json_int_t)tok.nmerges,
                          "specials", (json_int_t)nspecial, "eot_id", (json_int_t)tok.eot_id,
                          "longest_token_bytes", (json_int_t)longest, "hash", hash);
    if (cli.json) {
        sclaw_json_print(j, stdout);
    } else {
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v) {
            if (json_is_string(v))
                printf("%-20s %s\n", key, json_string_value(v));
            else
                printf("%-20s %lld\n", key, (long long)json_integer_value(v));
        }
    }
    json_decref(j);
    sclaw_tok_free(&tok);
    return 0;
}

/* ---- dispatch --------------------------------------------------------------------- */
static const struct cli_sub subs[] = {
    {"decode", decode, "token ids -> bytes"},
    {"encode", encode, "bytes -> token ids"},
    {"info", info, "size, merges, separator and hash of a tokenizer"},
    {"train", train, "train a byte-level BPE vocabulary on a corpus"},
};

int cmd_tokenizer(int argc, char **argv)
{
    return cli_dispatch("tokenizer", "sclaw tokenizer <train|encode|decode|info> [<args>]",
                        "Byte-level BPE tokenizers in GPT-2's file format (encoder.json + vocab.bpe).",
                        subs, sizeof subs / sizeof subs[0], argc, argv);
}
