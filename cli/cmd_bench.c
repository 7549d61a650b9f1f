/* cmd_bench.c - `sclaw bench inference`: the paper's inference grid
 * (models.md §4; data/paper/inference_*.csv) measured on this machine: time
 * to first token and mean decode-step time per (batch, prefill), with the
 * decode state's memory, and optionally the roofline fractions against this
 * machine's measured GEMM rate and memory bandwidth
 * (accounting-and-fits.md §3.3-§3.4). */
#include "cli.h"
#include "sclaw.h"
#include "sclaw_bench.h"
#include "sclaw_infer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { O_BATCH = 1000, O_PREFILL, O_GEN, O_REPEAT, O_OUT, O_PIECE, O_SEED, O_ROOF, O_TAG };

static const struct cli_opt opts[] = {
    {"batch", O_BATCH, "B,..", "batch sizes (default 1,8)"},
    {"prefill", O_PREFILL, "P,..", "prompt lengths (default 0,256,1024,4096,16384)"},
    {"generate", O_GEN, "G", "decode steps timed per cell (default 100)"},
    {"repeat", O_REPEAT, "R", "timed runs per cell after one warm-up; the median is kept "
                              "(default 3)"},
    {"out", O_OUT, "FILE.csv", "write the table here (required)"},
    {"piece", O_PIECE, "N", "prefill at most N tokens at a time (default 512)"},
    {"seed", O_SEED, "S", "seed of the random weights and prompts (default 0)"},
    {"roofline", O_ROOF, NULL, "also measure the SGEMM rate and memory bandwidth and add the "
                               "achieved fractions"},
    {"tag", O_TAG, "NAME", "model_tag column (default: the config's name or file)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_cmd_info info = {
    "bench inference",
    "sclaw bench inference CONFIG.json|RUNDIR --out FILE.csv [--batch 1,8]\n"
    "                   [--prefill 0,256,1024,4096,16384] [--generate G] [--repeat R] [--roofline]",
    "Times inference of one model for every (batch, prefill) cell: TTFT (the prefill of P\n"
    "random tokens plus the logits of the last one; P = 0 is one step from an empty state)\n"
    "and the mean time of G greedy decode steps after it, each the median of R runs after\n"
    "an untimed warm-up. A config gets random weights (the model's init); a run directory\n"
    "is loaded. The CSV has the columns of data/paper/inference_*.csv (ttft and steptime in\n"
    "ms, throughput = batchsize / steptime in tokens/ms) plus state_bytes (xLSTM C,n,m or\n"
    "the Llama KV cache) and acts_bytes. With --roofline the accounting's TTFT FLOPs and\n"
    "the bytes of one decode step at context = prefill (bf16 weights and KV cache as in the\n"
    "paper, and at fp32 as sclaw stores them) are divided by the times and compared with\n"
    "the SGEMM rate and STREAM-triad bandwidth measured before and after the cells (the best\n"
    "of several passes each: the machine's roof, not a busy moment's share of it). The\n"
    "*_best columns set the fastest TTFT and the fastest single step of all runs beside\n"
    "those best-of roofs. The *read_bandwidth* columns use a read-only bandwidth instead,\n"
    "the stricter roof for a step that only streams weights and cache (triad counts no\n"
    "write-allocate traffic, so a read stream can beat it).\n"
    "The Llama cache of a cell holds prefill + G + 1 positions. Progress goes to stderr.",
    opts,
};

static int parse_ilist(const char *cmd, const char *flag, const char *s, int64_t lo,
                       int64_t **out, int64_t *n)
{
    double *d;
    if (cli_double_list(cmd, flag, s, &d, n))
        return 2;
    *out = malloc((size_t)*n * sizeof **out);
    for (int64_t i = 0; i < *n; i++) {
        if (d[i] != floor(d[i]) || d[i] < (double)lo || d[i] > 1e9) {
            int r = cli_usage(cmd, "option '--%s': '%g' is not an integer >= %lld", flag, d[i],
                              (long long)lo);
            free(d);
            free(*out);
            *out = NULL;
            return r;
        }
        (*out)[i] = (int64_t)d[i];
    }
    free(d);
    return 0;
}

static const char *const columns[] = {
    "model_type", "model_tag", "batchsize", "prefill", "generate", "ttft", "steptime",
    "throughput", "num_params", "state_bytes", "acts_bytes", "num_heads", "embedding_dim",
    "num_blocks", "qk_dim_factor", "ffn_proj_factor", "ffn_round_up_to_multiple_of",
    "vocab_size", "chunk_size", "ffn_dim",
    /* --roofline */
    "ttft_flops", "ttft_gflops_per_s", "gemm_peak_gflops", "ttft_frac_gemm_peak",
    "step_bytes_bf16w", "step_bytes_fp32", "step_gb_per_s_bf16w", "step_gb_per_s_fp32",
    "bandwidth_gb_per_s", "step_frac_bandwidth_bf16w", "step_frac_bandwidth_fp32",
    "ttft_best", "steptime_best", "ttft_best_frac_gemm_peak", "step_best_frac_bandwidth_fp32",
    "read_bandwidth_gb_per_s", "step_frac_read_bandwidth_fp32",
    "step_best_frac_read_bandwidth_fp32",
};
#define NCOLS (sizeof columns / sizeof columns[0])
#define NBASE 20

/* The roofline columns of every row: the machine's SGEMM rate and
 * bandwidths (triad bw, read-only rbw) and each row's measured rates as
 * fractions of them, from the median times and from the fastest ones (best
 * against best, like the roofs). */
static void set_roofs(struct sclaw_csv *t, double peak, double bw, double rbw)
{
    enum { FLOPS, GFLOPS, PEAK, FRAC, B16, B32, GBS16, GBS32, BW, FRAC16, FRAC32,
           TBEST, SBEST, TBFRAC, SBFRAC, RBW, RFRAC32, RSBFRAC, NROOF };
    for (int64_t r = 0; r < t->nrows; r++) {
        double x[NROOF];
        for (int c = 0; c < NROOF; c++)
            if (sclaw_csv_double(t, r, NBASE + c, &x[c]))
                x[c] = NAN; /* empty: no prefill, no TTFT rate */
        x[PEAK] = peak;
        x[FRAC] = x[GFLOPS] / peak;
        x[BW] = bw;
        x[FRAC16] = x[GBS16] / bw;
        x[FRAC32] = x[GBS32] / bw;
        x[TBFRAC] = x[FLOPS] / (x[TBEST] * 1e-3) / 1e9 / peak;
        double best_gbs = x[B32] / (x[SBEST] * 1e-3) / 1e9; /* fastest step, fp32 bytes */
        x[SBFRAC] = best_gbs / bw;
        x[RBW] = rbw;
        x[RFRAC32] = x[GBS32] / rbw;
        x[RSBFRAC] = best_gbs / rbw;
        for (int c = 0; c < NROOF; c++)
            sclaw_csv_set_double(t, r, NBASE + c, x[c]);
    }
}

/* Measures the SGEMM rate and both bandwidths and raises each roof to it: a
 * busy moment on a shared host only ever lowers a measured roof, so the
 * largest of the measurements counts. */
static void raise_roofs(double *peak, double *bw, double *rbw)
{
    double b, r;
    *peak = fmax(*peak, sclaw_bench_gemm_peak(cli.threads));
    sclaw_bench_bandwidths(&b, &r);
    *bw = fmax(*bw, b);
    *rbw = fmax(*rbw, r);
}

static int bench_inference(int argc, char **argv)
{
    const char *cmd = "bench inference", *arg, *out = NULL, *tag = NULL;
    int64_t *bs = NULL, *ps = NULL, nb = 0, np = 0, G = 100, R = 3, piece = 0, seed = 0;
    int roof = 0, c, rc = 0;
    while ((c = cli_next(argc, argv, &info, &arg))) {
        switch (c) {
        case 'h': return 0;
        case '?': return 2;
        case O_BATCH:
            free(bs);
            if ((rc = parse_ilist(cmd, "batch", arg, 1, &bs, &nb))) return rc;
            break;
        case O_PREFILL:
            free(ps);
            if ((rc = parse_ilist(cmd, "prefill", arg, 0, &ps, &np))) return rc;
            break;
        case O_GEN:
            if (cli_int64(cmd, "generate", arg, 1, &G)) return 2;
            break;
        case O_REPEAT:
            if (cli_int64(cmd, "repeat", arg, 1, &R)) return 2;
            if (R > 1000) return cli_usage(cmd, "option '--repeat' must be at most 1000");
            break;
        case O_OUT: out = arg; break;
        case O_PIECE:
            if (cli_int64(cmd, "piece", arg, 1, &piece)) return 2;
            break;
        case O_SEED:
            if (cli_int64(cmd, "seed", arg, 0, &seed)) return 2;
            break;
        case O_ROOF: roof = 1; break;
        case O_TAG: tag = arg; break;
        }
    }
    int first = cli_optind();
    if (first >= argc) {
        rc = cli_usage(cmd, "no model given (a config .json or a run directory)");
        goto usage_done;
    }
    if (argc - first > 1) {
        rc = cli_usage(cmd, "one model only, got '%s' and '%s'", argv[first], argv[first + 1]);
        goto usage_done;
    }
    if (!out) {
        rc = cli_usage(cmd, "--out FILE.csv is required");
        goto usage_done;
    }
    if (!bs) {
        static const int64_t d[] = {1, 8};
        nb = 2;
        bs = malloc(sizeof d);
        memcpy(bs, d, sizeof d);
    }
    if (!ps) {
        static const int64_t d[] = {0, 256, 1024, 4096, 16384};
        np = 5;
        ps = malloc(sizeof d);
        memcpy(ps, d, sizeof d);
    }

    const char *path = argv[first];
    struct sclaw_model *m = NULL;
    struct sclaw_config cfg;
    struct stat sb;
    struct sclaw_csv t;
    int st;
    memset(&t, 0, sizeof t);
    /* the table is written after every cell has run: fail now, not then */
    if ((st = sclaw_atomic_probe(out))) {
        rc = cli_fail(cmd, st);
        goto done;
    }
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        st = sclaw_infer_model_open(&m, path);
    } else {
        st = sclaw_config_load(&cfg, path);
        if (!st)
            st = sclaw_infer_model_random(&m, &cfg, (uint64_t)seed);
    }
    if (st) {
        rc = cli_fail(cmd, st);
        goto done;
    }
    const struct sclaw_config *mc = sclaw_infer_model_config(m);
    if (!tag)
        tag = mc->name[0] ? mc->name : path;
    if ((st = sclaw_csv_init(&t, roof ? (int64_t)NCOLS : NBASE, columns))) {
        rc = cli_fail(cmd, st);
        goto done;
    }
    double peak = 0, bw = 0, rbw = 0;
    if (roof) {
        if (!cli.quiet)
            fprintf(stderr, "sclaw bench inference: measuring the SGEMM rate and bandwidth\n");
        raise_roofs(&peak, &bw, &rbw);
    }
    struct sclaw_params npar;
    sclaw_count_params(mc, &npar);
    const int tty = isatty(2) && !cli.quiet;
    double tstart = sclaw_bench_now();
    int64_t ncell = nb * np, k = 0;
    for (int64_t i = 0; i < nb; i++)
        for (int64_t j = 0; j < np; j++, k++) {
            struct sclaw_infer_timing r;
            if (tty) {
                double el = sclaw_bench_now() - tstart;
                fprintf(stderr, "\rcell %lld/%lld (batch %lld, prefill %lld) %.0f s elapsed%s",
                        (long long)k + 1, (long long)ncell, (long long)bs[i], (long long)ps[j],
                        el, k ? "" : "");
                if (k)
                    fprintf(stderr, ", ETA %.0f s", el / (double)k * (double)(ncell - k));
                fprintf(stderr, "   ");
            }
            st = sclaw_infer_time(m, bs[i], ps[j], G, (int)R, piece, (uint64_t)seed + 1, &r);
            if (st) {
                if (tty)
                    fprintf(stderr, "\n");
                rc = cli_fail(cmd, sclaw_wrap(st, "batch %lld, prefill %lld", (long long)bs[i],
                                              (long long)ps[j]));
                goto done;
            }
            int64_t row;
            sclaw_csv_add_row(&t, &row);
            int64_t col = 0;
            sclaw_csv_set(&t, row, col++, mc->arch->name);
            sclaw_csv_set(&t, row, col++, tag);
            double vals[] = {(double)r.batch, (double)r.prefill, (double)r.generate, r.ttft_ms,
                             r.step_ms, (double)r.batch / r.step_ms, npar.total, r.state_bytes,
                             r.acts_bytes, (double)mc->num_heads, (double)mc->embedding_dim,
                             (double)mc->num_blocks};
            for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++)
                sclaw_csv_set_double(&t, row, col++, vals[v]);
            int rec = mc->chunk_size > 0; /* a recurrent family has a chunk size */
            sclaw_csv_set_double(&t, row, col++, rec ? mc->proj_factor_qk : NAN);
            sclaw_csv_set_double(&t, row, col++, mc->proj_factor_ffn);
            sclaw_csv_set_double(&t, row, col++, (double)mc->ffn_multiple_of);
            sclaw_csv_set_double(&t, row, col++, (double)mc->vocab_size);
            sclaw_csv_set_double(&t, row, col++, rec ? (double)mc->chunk_size : NAN);
            sclaw_csv_set_double(&t, row, col++, (double)mc->ffn_dim);
            if (roof) {
                /* FLOPs of the TTFT and bytes of one step from the accounting
                 * (bf16 weights, activations and KV cache, fp32 states). The
                 * fp32 variant counts the bytes as sclaw stores them: 2 more
                 * per weight read (every non-embedding parameter plus one
                 * embedding row per sequence) and per KV-cache element read.
                 * Llama's generation bytes are per token over T_gen tokens that
                 * share one weight read (accounting-and-fits.md §3.4), so one
                 * step is T_gen = 1 at context = prefill. */
                struct sclaw_infer_opts io = {(double)r.batch, (double)r.prefill, 1.0};
                struct sclaw_infer_acct acc;
                sclaw_count_infer(mc, &io, &acc);
                double bytes = acc.has_step ? acc.step_bytes : acc.gen_bytes_per_token;
                double w32 = bytes + 2.0 * (npar.noembed + (double)(r.batch * mc->embedding_dim));
                if (acc.has_gen) /* cache elements at 4 bytes instead of bf16's 2 */
                    w32 += acc.gen_cache_bytes_per_token;
                double ttft_gf = r.prefill > 0 ? acc.ttft_flops / (r.ttft_ms * 1e-3) / 1e9 : NAN;
                double s = r.step_ms * 1e-3;
                /* the roofs and the ratios to them: set_roofs below */
                double v2[] = {acc.ttft_flops, ttft_gf, NAN, NAN, bytes, w32,
                               bytes / s / 1e9, w32 / s / 1e9, NAN, NAN, NAN,
                               r.prefill > 0 ? r.ttft_best_ms : NAN, r.step_best_ms, NAN,
                               NAN, NAN};
                for (size_t v = 0; v < sizeof v2 / sizeof v2[0]; v++)
                    sclaw_csv_set_double(&t, row, col++, v2[v]);
            }
        }
    if (tty)
        fprintf(stderr, "\n");
    if (roof) {
        /* the roofs again after the cells */
        raise_roofs(&peak, &bw, &rbw);
        set_roofs(&t, peak, bw, rbw);
    }
    if ((st = sclaw_csv_write(&t, out))) {
        rc = cli_fail(cmd, st);
        goto done;
    }
    if (cli.json) {
        json_t *arr = json_array();
        for (int64_t r = 0; r < t.nrows; r++) {
            json_t *o = json_object();
            for (int64_t cc = 0; cc < t.ncols; cc++) {
                double x;
                const char *cell = sclaw_csv_cell(&t, r, cc);
                if (cc >= 2 && !sclaw_parse_double(cell, &x))
                    json_object_set_new(o, t.header[cc], sclaw_json_number(x));
                else if (cc < 2)
                    json_object_set_new(o, t.header[cc], json_string(cell));
            }
            json_array_append_new(arr, o);
        }
        sclaw_json_print(arr, stdout);
        json_decref(arr);
    } else {
        const char *head[] = {"batch", "prefill", "TTFT ms", "step ms", "tokens/s",
                              "state MiB", roof ? "prefill/peak" : "", roof ? "step/bw(fp32)" : "",
                              roof ? "best step/bw" : "", roof ? "step/read bw" : ""};
        struct sclaw_table tb;
        sclaw_table_init(&tb, roof ? 10 : 6, head);
        for (int64_t r = 0; r < t.nrows; r++) {
            char v[10][32];
            double x[8] = {0};
            static const int src[] = {2, 3, 5, 6, 7, 9};
            for (int q = 0; q < 6; q++)
                sclaw_parse_double(sclaw_csv_cell(&t, r, src[q]), &x[q]);
            snprintf(v[0], 32, "%.0f", x[0]);
            snprintf(v[1], 32, "%.0f", x[1]);
            snprintf(v[2], 32, "%.2f", x[2]);
            snprintf(v[3], 32, "%.3f", x[3]);
            snprintf(v[4], 32, "%.1f", x[4] * 1e3);
            snprintf(v[5], 32, "%.2f", x[5] / (1 << 20));
            if (roof) {
                static const char *const frac[] = {"ttft_frac_gemm_peak",
                                                   "step_frac_bandwidth_fp32",
                                                   "step_best_frac_bandwidth_fp32",
                                                   "step_frac_read_bandwidth_fp32"};
                for (int q = 0; q < 4; q++) {
                    double f = NAN;
                    sclaw_csv_double(&t, r, sclaw_csv_col(&t, frac[q]), &f);
                    snprintf(v[6 + q], 32, isnan(f) ? "-" : "%.2f", f);
                }
            }
            const char *cells[] = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]};
            sclaw_table_add(&tb, cells);
        }
        printf("%s (%s), %.1fM parameters, %lld decode steps, median of %lld runs\n", tag,
               mc->arch->display, npar.total / 1e6, (long long)G, (long long)R);
        if (roof)
            printf("SGEMM %.1f GFLOP/s, bandwidth %.1f GB/s triad, %.1f GB/s read (best "
                   "measured in this run)\n",
                   peak, bw, rbw);
        sclaw_table_print(&tb, stdout);
        sclaw_table_free(&tb);
    }
done:
    sclaw_csv_free(&t);
    sclaw_infer_model_close(m);
usage_done:
    free(bs);
    free(ps);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *fp = argc < 2 ? stderr : stdout;
        fprintf(fp, "usage: sclaw bench <subcommand> [<args>]\n\nsubcommands:\n"
                    "  inference  TTFT and decode-step time of a model over a (batch, prefill) "
                    "grid\n");
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "inference")) {
        cli_reset();
        return bench_inference(argc - 1, argv + 1);
    }
    return cli_usage("bench", "unknown subcommand '%s' (known: inference)", argv[1]);
}
