/* runs.c - recompute N, D, C of a paper-schema run table (sclaw_account.h). */
#include "sclaw_account.h"
#include "sclaw_arch.h"
#include "sclaw_io.h"
#include "sclaw_status.h"

#include <math.h>
#include <string.h>

static const double REL_TOL = 1e-12;

/* Reads an integer config cell; *present = 0 for an empty or absent cell. */
static int int_cell(const struct sclaw_csv *t, int64_t row, const char *name, int64_t *out,
                    int *present)
{
    int64_t col = sclaw_csv_col(t, name);
    double v;
    *present = 0;
    if (col < 0)
        return SCLAW_OK;
    int st = sclaw_csv_double(t, row, col, &v);
    if (st)
        return st;
    if (isnan(v))
        return SCLAW_OK;
    if (v != floor(v) || v <= 0)
        return sclaw_fail(SCLAW_E_FORMAT, "%s:%lld: column '%s': '%s' is not a positive integer",
                          t->path, (long long)t->line[row], name, sclaw_csv_cell(t, row, col));
    *out = (int64_t)v;
    *present = 1;
    return SCLAW_OK;
}

int sclaw_config_from_run_row(struct sclaw_config *c, const struct sclaw_csv *t, int64_t row)
{
    static const struct {
        const char *name;
        size_t off;
        int required;
    } ints[] = {
        {"embedding_dim", offsetof(struct sclaw_config, embedding_dim), 1},
        {"num_blocks", offsetof(struct sclaw_config, num_blocks), 1},
        {"num_heads", offsetof(struct sclaw_config, num_heads), 1},
        {"vocab_size", offsetof(struct sclaw_config, vocab_size), 1},
        {"context_length", offsetof(struct sclaw_config, context_length), 1},
        {"chunk_size", offsetof(struct sclaw_config, chunk_size), 0},
        {"ffn_multiple_of", offsetof(struct sclaw_config, ffn_multiple_of), 0},
    };
    int64_t col;
    int st = sclaw_csv_require(t, "model_type", &col);
    if (st)
        return st;
    const char *mt = sclaw_csv_cell(t, row, col);
    char where[512];
    snprintf(where, sizeof where, "%s:%lld", t->path, (long long)t->line[row]);
    if ((st = sclaw_config_init(c, mt)))
        return sclaw_wrap(st, "%s", where);
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int present;
        int64_t *dst = (int64_t *)((char *)c + ints[i].off);
        if ((st = int_cell(t, row, ints[i].name, dst, &present)))
            return st;
        if (!present && ints[i].required)
            return sclaw_fail(SCLAW_E_FORMAT, "%s: column '%s' is empty or missing", where,
                              ints[i].name);
    }
    static const struct {
        const char *name;
        size_t off;
    } reals[] = {
        {"proj_factor_ffn", offsetof(struct sclaw_config, proj_factor_ffn)},
        {"proj_factor_qk", offsetof(struct sclaw_config, proj_factor_qk)},
    };
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        int64_t k = sclaw_csv_col(t, reals[i].name);
        double v;
        if (k < 0)
            continue;
        if ((st = sclaw_csv_double(t, row, k, &v)))
            return st;
        /* only keys the family owns; other cells are empty in the paper schema */
        if (!isnan(v) && (strcmp(reals[i].name, "proj_factor_qk") || c->arch == &sclaw_arch_mlstm))
            *(double *)((char *)c + reals[i].off) = v;
    }
    if (c->arch != &sclaw_arch_mlstm)
        c->chunk_size = 0;
    return sclaw_config_derive(c, where);
}

struct check {
    const struct sclaw_csv *t;
    int64_t row;
    int bad;
};

/* Compare a computed value with the stored cell `name` (absent or empty cells
 * are not compared). */
static int compare(struct check *k, const char *name, double computed, double rel)
{
    int64_t col = sclaw_csv_col(k->t, name);
    double stored;
    if (col < 0)
        return SCLAW_OK;
    int st = sclaw_csv_double(k->t, k->row, col, &stored);
    if (st)
        return st;
    if (isnan(stored))
        return SCLAW_OK;
    double err = fabs(stored - computed) / fmax(fabs(stored), 1e-300);
    if (!(err <= rel)) {
        k->bad = 1;
        sclaw_warn("%s:%lld: column '%s': stored %.17g, computed %.17g (relative difference %.3g)",
                   k->t->path, (long long)k->t->line[k->row], name, stored, computed, err);
    }
    return SCLAW_OK;
}

/* Fill an empty N/D/C cell with the computed value. */
static int fill(struct sclaw_csv *t, int64_t row, const char *name, double v)
{
    int64_t col;
    int st = sclaw_csv_add_col(t, name, &col);
    if (st)
        return st;
    if (!sclaw_csv_cell(t, row, col)[0] && isfinite(v))
        return sclaw_csv_set_double(t, row, col, v);
    return SCLAW_OK;
}

/* A row whose config cells are empty (a failed run) is skipped, not an error;
 * a missing column is an error reported by sclaw_config_from_run_row. */
static int row_has_config(const struct sclaw_csv *t, int64_t row)
{
    static const char *const cols[] = {"model_type", "embedding_dim", "num_blocks", "num_heads",
                                       "vocab_size", "context_length"};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        int64_t c = sclaw_csv_col(t, cols[i]);
        if (c >= 0 && !sclaw_csv_cell(t, row, c)[0])
            return 0;
    }
    return 1;
}

static int count_row(struct sclaw_csv *t, int64_t row, int64_t ok_col, struct sclaw_count_summary *s)
{
    struct sclaw_config c;
    struct sclaw_params p;
    struct sclaw_flops f, f_alt, f_default;
    struct check k = {t, row, 0};
    if (!row_has_config(t, row)) {
        s->skipped++; /* e.g. a failed run: nothing to compare */
        return SCLAW_OK;
    }
    int st = sclaw_config_from_run_row(&c, t, row);
    if (st)
        return st;

    sclaw_count_params(&c, &p);
    int64_t dcol = sclaw_csv_col(t, "dataset");
    const char *ds = dcol >= 0 ? sclaw_csv_cell(t, row, dcol) : "";
    size_t dl = strlen(ds);
    struct sclaw_flop_opts o = {SCLAW_MLSTM_FLOPS_FIRST, SCLAW_ATTN_FLOPS_DISTILL};
    if (dl >= 17 && !strcmp(ds + dl - 17, "_flops_chinchilla"))
        o.attn = SCLAW_ATTN_FLOPS_CHINCHILLA;
    sclaw_count_flops(&c, 0, &o, &f);
    /* the per-sequence columns always use the repo's default counting */
    sclaw_count_flops(&c, 0, NULL, &f_default);

    if ((st = compare(&k, "num_params", p.total, 0)) ||
        (st = compare(&k, "num_params_noembed", p.noembed, 0)) ||
        (st = compare(&k, "num_params_noembed_nohead", p.noembed_nohead, 0)) ||
        (st = compare(&k, "head_dim_qk", (double)c.head_dim_qk, 0)) ||
        (st = compare(&k, "head_dim_v", (double)c.head_dim_v, 0)) ||
        (st = compare(&k, "ffn_dim", (double)c.ffn_dim, 0)) ||
        (st = compare(&k, "flops_fw_per_seq", f_default.fw, REL_TOL)) ||
        (st = compare(&k, "flops_fwbw_per_seq", f_default.fwbw, REL_TOL)))
        return st;
    if ((st = fill(t, row, "num_params", p.total)))
        return st;

    int64_t gbs, steps;
    int has_gbs, has_steps;
    if ((st = int_cell(t, row, "global_batch_size", &gbs, &has_gbs)) ||
        (st = int_cell(t, row, "num_train_steps", &steps, &has_steps)))
        return st;
    if (has_gbs && has_steps) {
        double B = (double)gbs, S = (double)steps;
        double D = sclaw_count_training_tokens(&c, B, S), C = f.fwbw * B * S;
        if ((st = compare(&k, "num_tokens_training", D, REL_TOL)) ||
            (st = compare(&k, "num_flops_training", C, REL_TOL)))
            return st;
        /* the alternative counting modes stored beside C */
        struct sclaw_flop_opts alt = o;
        const char *alt_col;
        if (c.arch == &sclaw_arch_mlstm) {
            alt.mlstm = SCLAW_MLSTM_FLOPS_TFLA;
            alt_col = "num_flops_training_mlstm_tfla";
        } else {
            alt.attn = SCLAW_ATTN_FLOPS_CHINCHILLA;
            alt_col = "num_flops_training_attn_chinchilla";
        }
        sclaw_count_flops(&c, 0, &alt, &f_alt);
        if ((st = compare(&k, alt_col, f_alt.fwbw * B * S, REL_TOL)) ||
            (st = fill(t, row, "num_tokens_training", D)) ||
            (st = fill(t, row, "num_flops_training", C)))
            return st;
    }
    if (k.bad)
        s->mismatched++;
    else
        s->ok++;
    return sclaw_csv_set(t, row, ok_col, k.bad ? "0" : "1");
}

int sclaw_count_run_table(struct sclaw_csv *t, struct sclaw_count_summary *s)
{
    int64_t ok_col;
    int st;
    memset(s, 0, sizeof *s);
    if ((st = sclaw_csv_add_col(t, "count_ok", &ok_col)))
        return st;
    for (int64_t r = 0; r < t->nrows; r++) {
        s->rows++;
        if ((st = count_row(t, r, ok_col, s)))
            return st;
    }
    return SCLAW_OK;
}
