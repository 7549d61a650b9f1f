/* cmd_count.c - `sclaw count`: parameters, FLOPs and memory traffic of model
 * configs (accounting-and-fits.md §1-§3), or a check of a whole run table. */
#include "cli.h"
#include "sclaw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { O_CTX = 1000, O_BATCH, O_STEPS, O_MLSTM, O_ATTN, O_INFER, O_PREFILL, O_GEN, O_RUNS, O_OUT };

static const struct cli_opt opts[] = {
    {"ctx", O_CTX, "T", "sequence length for the FLOP counts (default: the config's context_length)"},
    {"batch", O_BATCH, "B", "sequences per step (training) or batch size (inference, default 1)"},
    {"steps", O_STEPS, "S", "training steps; with --batch gives num_tokens_training and num_flops_training"},
    {"mlstm-flops", O_MLSTM, "MODE", "mLSTM cell FLOP formula: first (default, all paper runs) or tfla"},
    {"attn-flops", O_ATTN, "MODE", "attention FLOPs: distill (default, causal) or chinchilla"},
    {"infer", O_INFER, NULL, "add the inference accounting (needs --prefill)"},
    {"prefill", O_PREFILL, "P", "prompt length for --infer"},
    {"generate", O_GEN, "G", "generated tokens for --infer (default 100)"},
    {"runs", O_RUNS, "RUNS.csv", "recompute N, D, C of every row of a run table and check them"},
    {"out", O_OUT, "FILE", "with --runs: write the checked table here (default: stdout)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_cmd_info info = {
    "count",
    "sclaw count CONFIG.json... [--ctx T] [--batch B --steps S] [--mlstm-flops first|tfla]\n"
    "                   [--attn-flops distill|chinchilla] [--infer --prefill P [--generate G]] [--json]\n"
    "       sclaw count --runs RUNS.csv [--out FILE]",
    "Counts parameters (all of them: embedding, LM head and norms included), forward and\n"
    "forward+backward FLOPs per sequence split into linear / sequence-mixing / other, training\n"
    "tokens and compute, and the inference FLOPs and bytes of time-to-first-token and generation,\n"
    "exactly as the xLSTM scaling-law paper counts them (not 6ND). Several configs print one\n"
    "comparison table. With --runs, every row of a run table in the paper's CSV schema is\n"
    "recomputed and checked; disagreements are listed on stderr and a count_ok column is added.",
    opts,
};

struct count_args {
    double ctx, batch, steps, prefill, generate;
    int has_batch, has_steps, infer;
    struct sclaw_flop_opts fo;
};

static json_t *count_json(const char *path, const struct sclaw_config *c, const struct count_args *a)
{
    struct sclaw_params p;
    struct sclaw_flops f;
    double T = a->ctx > 0 ? a->ctx : (double)c->context_length;
    sclaw_count_params(c, &p);
    sclaw_count_flops(c, T, &a->fo, &f);

    json_t *o = json_object();
    json_object_set_new(o, "config_file", json_string(path));
    json_object_set_new(o, "model_type", json_string(c->arch->name));
    json_object_set_new(o, "config", sclaw_config_to_json(c));
    json_object_set_new(o, "num_params", sclaw_json_number(p.total));
    json_object_set_new(o, "num_params_noembed", sclaw_json_number(p.noembed));
    json_object_set_new(o, "num_params_noembed_nohead", sclaw_json_number(p.noembed_nohead));
    json_object_set_new(o, "context_length", sclaw_json_number(T));
    json_object_set_new(o, "mlstm_flops", json_string(a->fo.mlstm == SCLAW_MLSTM_FLOPS_TFLA ? "tfla" : "first"));
    json_object_set_new(o, "attn_flops", json_string(a->fo.attn == SCLAW_ATTN_FLOPS_CHINCHILLA ? "chinchilla" : "distill"));
    json_object_set_new(o, "flops_fw_per_seq", sclaw_json_number(f.fw));
    json_object_set_new(o, "flops_fwbw_per_seq", sclaw_json_number(f.fwbw));
    json_object_set_new(o, "flops_fw_linear", sclaw_json_number(f.linear));
    json_object_set_new(o, "flops_fw_seqmix", sclaw_json_number(f.seqmix));
    json_object_set_new(o, "flops_fw_other", sclaw_json_number(f.other));
    /* per-sequence ratio to the 6ND rule (§2.5) */
    json_object_set_new(o, "ratio_to_6nd", sclaw_json_number(f.fwbw / (6.0 * p.total * T)));
    if (a->has_batch && a->has_steps) {
        double D = a->batch * T * a->steps, C = f.fwbw * a->batch * a->steps;
        json_object_set_new(o, "global_batch_size", sclaw_json_number(a->batch));
        json_object_set_new(o, "num_train_steps", sclaw_json_number(a->steps));
        json_object_set_new(o, "num_tokens_training", sclaw_json_number(D));
        json_object_set_new(o, "num_flops_training", sclaw_json_number(C));
        json_object_set_new(o, "flops_6nd", sclaw_json_number(6.0 * p.total * D));
    }
    if (a->infer) {
        struct sclaw_infer_opts io = {a->has_batch ? a->batch : 1, a->prefill, a->generate};
        struct sclaw_infer_acct r;
        sclaw_count_infer(c, &io, &r);
        json_object_set_new(o, "batch", sclaw_json_number(io.batch));
        json_object_set_new(o, "prefill", sclaw_json_number(io.prefill));
        json_object_set_new(o, "ttft_flops", sclaw_json_number(r.ttft_flops));
        json_object_set_new(o, "ttft_bytes", sclaw_json_number(r.ttft_bytes));
        json_object_set_new(o, "ttft_intensity", sclaw_json_number(r.ttft_flops / r.ttft_bytes));
        if (r.has_step) {
            json_object_set_new(o, "step_flops", sclaw_json_number(r.step_flops));
            json_object_set_new(o, "step_bytes", sclaw_json_number(r.step_bytes));
            json_object_set_new(o, "step_intensity", sclaw_json_number(r.step_flops / r.step_bytes));
        }
        if (r.has_gen) {
            json_object_set_new(o, "generate", sclaw_json_number(io.generate));
            json_object_set_new(o, "gen_flops", sclaw_json_number(r.gen_flops));
            json_object_set_new(o, "gen_bytes_per_token", sclaw_json_number(r.gen_bytes_per_token));
            /* FLOPs per generated token over bytes per generated token */
            json_object_set_new(o, "gen_intensity",
                                sclaw_json_number(r.gen_flops / io.generate / r.gen_bytes_per_token));
        }
    }
    return o;
}

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

/* One config: a two-column table of every quantity. */
static void print_one(const json_t *o)
{
    static const struct {
        const char *key, *label;
    } rows[] = {
        {"num_params", "parameters (all)"},
        {"num_params_noembed", "parameters without embedding"},
        {"num_params_noembed_nohead", "parameters without embedding and head"},
        {"context_length", "sequence length T"},
        {"flops_fw_per_seq", "forward FLOPs / sequence"},
        {"flops_fw_linear", "  linear"},
        {"flops_fw_seqmix", "  sequence mixing"},
        {"flops_fw_other", "  other"},
        {"flops_fwbw_per_seq", "forward+backward FLOPs / sequence"},
        {"ratio_to_6nd", "fwbw / (6 N T)"},
        {"global_batch_size", "batch B"},
        {"num_train_steps", "steps S"},
        {"num_tokens_training", "training tokens D = B T S"},
        {"num_flops_training", "training compute C"},
        {"flops_6nd", "6 N D (for comparison)"},
        {"batch", "inference batch"},
        {"prefill", "prefill tokens"},
        {"ttft_flops", "time-to-first-token FLOPs"},
        {"ttft_bytes", "time-to-first-token bytes"},
        {"ttft_intensity", "  arithmetic intensity (FLOP/B)"},
        {"step_flops", "generation step FLOPs"},
        {"step_bytes", "generation step bytes"},
        {"step_intensity", "  arithmetic intensity (FLOP/B)"},
        {"generate", "generated tokens G"},
        {"gen_flops", "generation FLOPs (all G tokens)"},
        {"gen_bytes_per_token", "generation bytes / token"},
        {"gen_intensity", "  arithmetic intensity (FLOP/B)"},
    };
    const json_t *cfg = json_object_get(o, "config");
    printf("%s (%s): d %lld, %lld blocks, %lld heads, d_qk %lld, d_v %lld, d_ff %lld, V %lld\n",
           json_string_value(json_object_get(o, "config_file")),
           json_string_value(json_object_get(o, "model_type")),
           (long long)json_integer_value(json_object_get(cfg, "embedding_dim")),
           (long long)json_integer_value(json_object_get(cfg, "num_blocks")),
           (long long)json_integer_value(json_object_get(cfg, "num_heads")),
           (long long)json_integer_value(json_object_get(cfg, "head_dim_qk")),
           (long long)json_integer_value(json_object_get(cfg, "head_dim_v")),
           (long long)json_integer_value(json_object_get(cfg, "ffn_dim")),
           (long long)json_integer_value(json_object_get(cfg, "vocab_size")));
    const char *head[] = {"quantity", "value", "SI"};
    struct sclaw_table tb;
    sclaw_table_init(&tb, 3, head);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const json_t *v = json_object_get(o, rows[i].key);
        char a[64], b[64];
        if (!v)
            continue;
        double x = json_number_value(v);
        if (strstr(rows[i].key, "intensity") || strstr(rows[i].key, "ratio")) {
            snprintf(a, sizeof a, "%.4f", x);
            b[0] = '\0';
        } else {
            sclaw_fmt_group(a, sizeof a, x);
            sclaw_fmt_si(b, sizeof b, x);
        }
        const char *cells[] = {rows[i].label, a, b};
        sclaw_table_add(&tb, cells);
    }
    sclaw_table_print(&tb, stdout);
    sclaw_table_free(&tb);
}

/* Several configs: one row each. */
static void print_many(const json_t *list)
{
    const char *head[] = {"config", "family", "d", "nb", "nh", "N", "N (no emb)", "FW/seq",
                          "FWBW/seq", "seqmix %", "C/6NT"};
    struct sclaw_table tb;
    sclaw_table_init(&tb, 11, head);
    size_t i;
    const json_t *o;
    json_array_foreach(list, i, o) {
        const json_t *cfg = json_object_get(o, "config");
        char d[16], nb[16], nh[16], n[32], ne[32], fw[32], fb[32], sm[16], r[16];
        snprintf(d, sizeof d, "%lld", (long long)json_integer_value(json_object_get(cfg, "embedding_dim")));
        snprintf(nb, sizeof nb, "%lld", (long long)json_integer_value(json_object_get(cfg, "num_blocks")));
        snprintf(nh, sizeof nh, "%lld", (long long)json_integer_value(json_object_get(cfg, "num_heads")));
        sclaw_fmt_group(n, sizeof n, num(o, "num_params"));
        sclaw_fmt_si(ne, sizeof ne, num(o, "num_params_noembed_nohead"));
        sclaw_fmt_si(fw, sizeof fw, num(o, "flops_fw_per_seq"));
        sclaw_fmt_si(fb, sizeof fb, num(o, "flops_fwbw_per_seq"));
        snprintf(sm, sizeof sm, "%.1f", 100 * num(o, "flops_fw_seqmix") / num(o, "flops_fw_per_seq"));
        snprintf(r, sizeof r, "%.3f", num(o, "ratio_to_6nd"));
        const char *cells[] = {json_string_value(json_object_get(o, "config_file")),
                               json_string_value(json_object_get(o, "model_type")), d, nb, nh, n,
                               ne, fw, fb, sm, r};
        sclaw_table_add(&tb, cells);
    }
    sclaw_table_print(&tb, stdout);
    sclaw_table_free(&tb);
}

static int run_table(const char *path, const char *out)
{
    struct sclaw_csv t;
    struct sclaw_count_summary s;
    int st = sclaw_csv_read(&t, path);
    if (st)
        return cli_fail("count", st);
    if ((st = sclaw_count_run_table(&t, &s))) {
        sclaw_csv_free(&t);
        return cli_fail("count", st);
    }
    st = out ? sclaw_csv_write(&t, out) : (cli.json ? SCLAW_OK : sclaw_csv_print(&t, stdout));
    sclaw_csv_free(&t);
    if (st)
        return cli_fail("count", st);
    if (cli.json) {
        json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I}", "file", path, "rows", (json_int_t)s.rows,
                              "ok", (json_int_t)s.ok, "mismatched", (json_int_t)s.mismatched,
                              "skipped", (json_int_t)s.skipped);
        sclaw_json_print(o, stdout);
        json_decref(o);
    }
    if (!cli.quiet)
        fprintf(stderr, "%s: %lld rows: %lld agree, %lld disagree, %lld without a config (skipped)\n",
                path, (long long)s.rows, (long long)s.ok, (long long)s.mismatched,
                (long long)s.skipped);
    return s.mismatched ? 1 : 0;
}

int cmd_count(int argc, char **argv)
{
    struct count_args a = {0};
    const char *runs = NULL, *out = NULL, *arg;
    int c, m;
    a.generate = 100;
    a.prefill = -1;
    while ((c = cli_next(argc, argv, &info, &arg))) {
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case O_CTX:
            if (cli_double("count", "ctx", arg, &a.ctx)) return 2;
            if (!(a.ctx >= 1)) return cli_usage("count", "option '--ctx' must be at least 1");
            break;
        case O_BATCH:
            if (cli_double("count", "batch", arg, &a.batch)) return 2;
            if (!(a.batch > 0)) return cli_usage("count", "option '--batch' must be positive");
            a.has_batch = 1;
            break;
        case O_STEPS:
            if (cli_double("count", "steps", arg, &a.steps)) return 2;
            if (!(a.steps > 0)) return cli_usage("count", "option '--steps' must be positive");
            a.has_steps = 1;
            break;
        case O_MLSTM:
            if ((m = sclaw_mlstm_flops_parse(arg)) < 0)
                return cli_usage("count", "option '--mlstm-flops' must be first or tfla, got '%s'", arg);
            a.fo.mlstm = m;
            break;
        case O_ATTN:
            if ((m = sclaw_attn_flops_parse(arg)) < 0)
                return cli_usage("count", "option '--attn-flops' must be distill or chinchilla, got '%s'", arg);
            a.fo.attn = m;
            break;
        case O_INFER: a.infer = 1; break;
        case O_PREFILL:
            if (cli_double("count", "prefill", arg, &a.prefill)) return 2;
            if (!(a.prefill >= 0)) return cli_usage("count", "option '--prefill' must be >= 0");
            break;
        case O_GEN:
            if (cli_double("count", "generate", arg, &a.generate)) return 2;
            if (!(a.generate >= 1)) return cli_usage("count", "option '--generate' must be >= 1");
            break;
        case O_RUNS: runs = arg; break;
        case O_OUT: out = arg; break;
        }
    }
    int first = cli_optind();
    if (runs) {
        if (first < argc)
            return cli_usage("count", "--runs takes no config files");
        return run_table(runs, out);
    }
    if (out)
        return cli_usage("count", "--out goes with --runs");
    if (first >= argc)
        return cli_usage("count", "no config file given");
    if (a.has_batch != a.has_steps && !a.infer)
        return cli_usage("count", "--batch and --steps go together");
    if (a.infer && a.prefill < 0)
        return cli_usage("count", "--infer needs --prefill P");
    if (!a.infer && a.prefill >= 0)
        return cli_usage("count", "--prefill goes with --infer");

    json_t *list = json_array();
    for (int i = first; i < argc; i++) {
        struct sclaw_config cfg;
        int st = sclaw_config_load(&cfg, argv[i]);
        if (st) {
            json_decref(list);
            return cli_fail("count", st);
        }
        json_array_append_new(list, count_json(argv[i], &cfg, &a));
    }
    if (cli.json)
        sclaw_json_print(json_array_size(list) == 1 ? json_array_get(list, 0) : list, stdout);
    else if (json_array_size(list) == 1)
        print_one(json_array_get(list, 0));
    else
        print_many(list);
    json_decref(list);
    return 0;
}
