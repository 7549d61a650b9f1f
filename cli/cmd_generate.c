/* cmd_generate.c - `sclaw generate`: text generation from a trained model
 * (models.md §4): prefill the prompt, then one decode step per token,
 * streamed to stdout; time to first token and tokens/s on stderr. */
#include "cli.h"
#include "sclaw.h"
#include "sclaw_bench.h"
#include "sclaw_infer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { O_PROMPT = 1000, O_PROMPT_FILE, O_TEMP, O_TOPP, O_SEED, O_BATCH, O_TOK, O_MAXCTX,
       O_PIECE };

static const struct cli_opt opts[] = {
    {"prompt", O_PROMPT, "TEXT", "the prompt (UTF-8 or any bytes; must not be empty)"},
    {"prompt-file", O_PROMPT_FILE, "FILE", "read the prompt from FILE ('-': stdin)"},
    {"tokens", 'n', "N", "number of tokens to generate (default 64)"},
    {"temperature", O_TEMP, "T", "sampling temperature >= 0; 0 = greedy argmax (default 1)"},
    {"top-p", O_TOPP, "P", "nucleus sampling mass in (0, 1] (default 0.9; 1 = off)"},
    {"seed", O_SEED, "S", "random seed of the sampler (default 0)"},
    {"batch", O_BATCH, "B", "independent samples of the same prompt (default 1)"},
    {"tokenizer", O_TOK, "TOK", "tokenizer directory (default: the one the run names)"},
    {"max-context", O_MAXCTX, "N", "context limit; Llama's KV cache length (default: the "
                                   "config's context_length for Llama, none for xLSTM)"},
    {"piece", O_PIECE, "N", "prefill at most N tokens at a time (memory bound, default 512)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_cmd_info info = {
    "generate",
    "sclaw generate RUNDIR|CKPT (--prompt TEXT | --prompt-file F) [-n N] [--temperature T]\n"
    "                   [--top-p P] [--seed S] [--batch B] [--tokenizer TOK] [--json]",
    "Loads a model (a run directory with config.json and model.safetensors, or a\n"
    ".safetensors checkpoint with config.json beside it) and its tokenizer, feeds the\n"
    "prompt (preceded by the document separator, as in training) and generates N tokens:\n"
    "xLSTM with its constant-size recurrent state, Llama with a KV cache. Tokens are\n"
    "printed as they are produced (with --batch B > 1 the samples are printed one after\n"
    "the other at the end); generation stops early at the separator token. Time to first\n"
    "token and the generation rate go to stderr. The tokenizer is --tokenizer TOK, else\n"
    "RUNDIR/tokenizer, else the one recorded in the meta.json of the data directory that\n"
    "RUNDIR/result.json names (key \"dataset\"; or a \"tokenizer\" key there).",
    opts,
};

/* Whole file (or stdin for "-") into a NUL-terminated buffer. */
static int read_all(const char *path, char **out, int64_t *n)
{
    FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    size_t cap = 4096, len = 0, got;
    char *buf;
    *out = NULL;
    if (!fp)
        return sclaw_fail(SCLAW_E_IO, "cannot open prompt file '%s': %s", path, strerror(errno));
    if (!(buf = malloc(cap + 1))) {
        if (fp != stdin)
            fclose(fp);
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    }
    while ((got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                if (fp != stdin)
                    fclose(fp);
                return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
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
        return sclaw_fail(SCLAW_E_IO, "cannot read prompt file '%s'", path);
    }
    buf[len] = '\0';
    *out = buf;
    *n = (int64_t)len;
    return SCLAW_OK;
}

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The tokenizer a run names (malloc'ed path), or NULL if none is found. */
static char *find_tokenizer(const char *model)
{
    char buf[4096];
    if (!is_dir(model))
        return NULL;
    snprintf(buf, sizeof buf, "%s/tokenizer", model);
    if (is_dir(buf))
        return strdup(buf);
    static const char *const files[] = {"result.json", "train.json"};
    for (size_t i = 0; i < 2; i++) {
        json_t *j = NULL;
        snprintf(buf, sizeof buf, "%s/%s", model, files[i]);
        if (access(buf, R_OK) || sclaw_json_load(buf, &j)) {
            sclaw_clear_error();
            continue;
        }
        const char *tok = json_string_value(json_object_get(j, "tokenizer"));
        const char *data = json_string_value(json_object_get(j, "dataset"));
        if (!data)
            data = json_string_value(json_object_get(j, "data"));
        char *res = NULL;
        if (tok) {
            res = strdup(tok);
        } else if (data) {
            /* a prepared data directory records its tokenizer in meta.json */
            json_t *meta = NULL;
            snprintf(buf, sizeof buf, "%s/meta.json", data);
            if (!sclaw_json_load(buf, &meta)) {
                const char *t = json_string_value(json_object_get(meta, "tokenizer"));
                if (t)
                    res = strdup(t);
                json_decref(meta);
            }
            sclaw_clear_error();
        }
        json_decref(j);
        if (res)
            return res;
    }
    return NULL;
}

struct gen_args {
    const char *model, *prompt, *prompt_file, *tok;
    int64_t n, batch, max_ctx, piece;
    double temperature, top_p;
    int64_t seed;
};

/* Write the bytes of one token to stdout (streaming). */
static int emit(struct sclaw_tokenizer *tk, int32_t id, FILE *fp)
{
    uint8_t *s;
    int64_t n;
    int st = sclaw_tok_decode(tk, &id, 1, &s, &n);
    if (st)
        return st;
    fwrite(s, 1, (size_t)n, fp);
    free(s);
    return SCLAW_OK;
}

static int run(const struct gen_args *a)
{
    const char *cmd = "generate";
    struct sclaw_model *m = NULL;
    struct sclaw_tokenizer tk;
    struct sclaw_infer s;
    struct sclaw_sampler sp;
    char *prompt = NULL, *tokpath = NULL;
    int32_t *ids = NULL, *prompt_ids = NULL, *gen = NULL, *cur = NULL;
    uint8_t *done_seq = NULL;
    int64_t plen = 0, nids = 0;
    int st;
    memset(&tk, 0, sizeof tk);
    memset(&s, 0, sizeof s);
    memset(&sp, 0, sizeof sp);

    /* the prompt */
    if (a->prompt_file) {
        if ((st = read_all(a->prompt_file, &prompt, &plen)))
            goto done;
    } else {
        prompt = strdup(a->prompt);
        plen = (int64_t)strlen(a->prompt);
    }
    if (plen == 0) {
        st = sclaw_fail(SCLAW_E_ARG, "empty prompt%s%s%s: give at least one byte of text",
                        a->prompt_file ? " in '" : "", a->prompt_file ? a->prompt_file : "",
                        a->prompt_file ? "'" : "");
        goto done;
    }
    /* model and tokenizer */
    if ((st = sclaw_infer_model_open(&m, a->model)))
        goto done;
    const struct sclaw_config *c = sclaw_infer_model_config(m);
    tokpath = a->tok ? strdup(a->tok) : find_tokenizer(a->model);
    if (!tokpath) {
        st = sclaw_fail(SCLAW_E_ARG, "'%s' names no tokenizer: pass --tokenizer TOK", a->model);
        goto done;
    }
    if ((st = sclaw_tok_load(&tk, tokpath)))
        goto done;
    if (tk.vocab_size > c->vocab_size) {
        st = sclaw_fail(SCLAW_E_ARG,
                        "tokenizer '%s' has %lld tokens but the model's vocabulary has %lld: "
                        "not the model's tokenizer",
                        tokpath, (long long)tk.vocab_size, (long long)c->vocab_size);
        goto done;
    }
    if ((st = sclaw_tok_encode(&tk, (const uint8_t *)prompt, plen, &prompt_ids, &nids)))
        goto done;
    /* the document separator first, as every training document starts */
    int64_t T = nids + (tk.eot_id >= 0);
    const int64_t B = a->batch, V = c->vocab_size;
    ids = malloc((size_t)(B * T) * sizeof *ids);
    gen = malloc((size_t)(B * (a->n ? a->n : 1)) * sizeof *gen);
    cur = malloc((size_t)B * sizeof *cur);
    done_seq = calloc((size_t)B, 1);
    if (!ids || !gen || !cur || !done_seq) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t b = 0; b < B; b++) {
        int64_t k = 0;
        if (tk.eot_id >= 0)
            ids[b * T + k++] = tk.eot_id;
        memcpy(ids + b * T + k, prompt_ids, (size_t)nids * sizeof *ids);
    }
    struct sclaw_infer_setup o = {B, a->max_ctx, a->piece, SCLAW_PREFILL_CHUNKED};
    if ((st = sclaw_infer_init(&s, m, &o)))
        goto done;
    if (s.Tmax && T + a->n > s.Tmax) {
        st = sclaw_fail(SCLAW_E_ARG,
                        "prompt of %lld tokens + %lld new tokens exceeds the maximum context of "
                        "%lld tokens%s",
                        (long long)T, (long long)a->n, (long long)s.Tmax,
                        a->max_ctx ? "" : " (the model's context_length; see --max-context)");
        goto done;
    }
    if ((st = sclaw_sampler_init(&sp, V, a->temperature, a->top_p, (uint64_t)a->seed)))
        goto done;

    /* prefill, first token, then one step per token */
    const int stream = B == 1 && !cli.json;
    double t0 = sclaw_bench_now();
    if ((st = sclaw_infer_prefill(&s, ids, T)))
        goto done;
    int64_t ng = 0;
    double t1 = 0;
    for (int64_t g = 0; g < a->n; g++) {
        int all_done = 1;
        for (int64_t b = 0; b < B; b++) {
            cur[b] = sclaw_sampler_next(&sp, s.logits + b * V);
            if (done_seq[b])
                cur[b] = tk.eot_id >= 0 ? tk.eot_id : cur[b];
            gen[b * a->n + g] = cur[b];
            if (cur[b] == tk.eot_id)
                done_seq[b] = 1;
            all_done &= done_seq[b];
        }
        if (g == 0)
            t1 = sclaw_bench_now();
        ng = g + 1;
        if (stream && !done_seq[0]) {
            if ((st = emit(&tk, cur[0], stdout)))
                goto done;
            fflush(stdout);
        }
        if (all_done || g + 1 == a->n)
            break;
        if ((st = sclaw_infer_step(&s, cur)))
            goto done;
    }
    double t2 = sclaw_bench_now();
    double ttft = (t1 - t0) * 1e3, rate = ng > 1 ? (double)(ng - 1) * B / (t2 - t1) : 0;

    if (cli.json) {
        json_t *j = json_object(), *samples = json_array();
        for (int64_t b = 0; b < B; b++) {
            int64_t k = 0;
            while (k < ng && gen[b * a->n + k] != tk.eot_id)
                k++;
            uint8_t *txt;
            int64_t nt;
            if ((st = sclaw_tok_decode(&tk, gen + b * a->n, k, &txt, &nt))) {
                json_decref(samples);
                json_decref(j);
                goto done;
            }
            json_array_append_new(samples, json_stringn((const char *)txt, (size_t)nt));
            free(txt);
        }
        json_object_set_new(j, "model", json_string(a->model));
        json_object_set_new(j, "model_type", json_string(c->arch->name));
        json_object_set_new(j, "prompt_tokens", json_integer(T));
        json_object_set_new(j, "generated_tokens", json_integer(ng));
        json_object_set_new(j, "samples", samples);
        json_object_set_new(j, "ttft_ms", json_real(ttft));
        json_object_set_new(j, "tokens_per_s", json_real(rate));
        sclaw_json_print(j, stdout);
        json_decref(j);
    } else if (!stream) {
        for (int64_t b = 0; b < B; b++) {
            printf("%s[sample %lld]\n", b ? "\n" : "", (long long)b);
            for (int64_t k = 0; k < ng && gen[b * a->n + k] != tk.eot_id; k++)
                if ((st = emit(&tk, gen[b * a->n + k], stdout)))
                    goto done;
            printf("\n");
        }
    } else {
        printf("\n");
    }
    if (!cli.quiet)
        fprintf(stderr,
                "sclaw generate: %s, prompt %lld tokens, TTFT %.1f ms, %lld tokens x %lld "
                "sequences, %.1f tokens/s (%.2f ms/step)\n",
                c->arch->display, (long long)T, ttft, (long long)ng, (long long)B, rate,
                ng > 1 ? (t2 - t1) * 1e3 / (double)(ng - 1) : 0.0);
done:
    sclaw_sampler_free(&sp);
    sclaw_infer_free(&s);
    sclaw_tok_free(&tk);
    sclaw_infer_model_close(m);
    free(prompt);
    free(tokpath);
    free(ids);
    free(prompt_ids);
    free(gen);
    free(cur);
    free(done_seq);
    return st ? cli_fail(cmd, st) : 0;
}

int cmd_generate(int argc, char **argv)
{
    const char *cmd = "generate", *arg;
    struct gen_args a = {0};
    a.n = 64;
    a.batch = 1;
    a.temperature = 1.0;
    a.top_p = 0.9;
    int c;
    while ((c = cli_next(argc, argv, &info, &arg))) {
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case O_PROMPT: a.prompt = arg; break;
        case O_PROMPT_FILE: a.prompt_file = arg; break;
        case 'n':
            if (cli_int64(cmd, "tokens", arg, 1, &a.n)) return 2;
            break;
        case O_TEMP:
            if (cli_double(cmd, "temperature", arg, &a.temperature)) return 2;
            if (!(a.temperature >= 0))
                return cli_usage(cmd, "option '--temperature' must be >= 0, got '%s'", arg);
            break;
        case O_TOPP:
            if (cli_double(cmd, "top-p", arg, &a.top_p)) return 2;
            if (!(a.top_p > 0 && a.top_p <= 1))
                return cli_usage(cmd, "option '--top-p' must be in (0, 1], got '%s'", arg);
            break;
        case O_SEED:
            if (cli_int64(cmd, "seed", arg, 0, &a.seed)) return 2;
            break;
        case O_BATCH:
            if (cli_int64(cmd, "batch", arg, 1, &a.batch)) return 2;
            break;
        case O_TOK: a.tok = arg; break;
        case O_MAXCTX:
            if (cli_int64(cmd, "max-context", arg, 1, &a.max_ctx)) return 2;
            break;
        case O_PIECE:
            if (cli_int64(cmd, "piece", arg, 1, &a.piece)) return 2;
            break;
        }
    }
    int first = cli_optind();
    if (first >= argc)
        return cli_usage(cmd, "no model given (a run directory or a .safetensors checkpoint)");
    if (argc - first > 1)
        return cli_usage(cmd, "one model only, got '%s' and '%s'", argv[first], argv[first + 1]);
    if (!a.prompt == !a.prompt_file)
        return cli_usage(cmd, "give exactly one of --prompt TEXT and --prompt-file F");
    a.model = argv[first];
    return run(&a);
}
