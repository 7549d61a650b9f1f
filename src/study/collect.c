/* collect.c - a study directory's finished runs as a run table in the paper's
 * CSV schema (sclaw_study.h; columns as in data/paper/README.md). */
#include "sclaw_study.h"
#include "sclaw_account.h"
#include "sclaw_io.h"
#include "sclaw_status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const columns[] = {
    "dataset", "source", "experiment_set_ctx_length", "model_type", "experiment_set",
    "context_length", "name", "status", "loss_source", "val_loss", "train_loss", "num_params",
    "num_params_noembed", "num_params_noembed_nohead", "num_tokens_training", "num_flops_training",
    "num_flops_training_attn_chinchilla", "num_flops_training_mlstm_tfla", "flops_6ND",
    "flops_fw_per_seq", "flops_fwbw_per_seq", "flops_fwbw_linear_per_seq",
    "flops_fwbw_seqmix_per_seq", "token_param_ratio", "isoflop_budget_tag",
    "preset_token_param_ratio", "embedding_dim", "num_blocks", "num_heads", "head_dim_qk",
    "head_dim_v", "ffn_dim", "proj_factor_ffn", "proj_factor_qk", "ffn_multiple_of", "chunk_size",
    "vocab_size", "global_batch_size", "learning_rate", "num_lr_warmup_steps", "num_train_steps",
};
#define NCOLS (int64_t)(sizeof columns / sizeof columns[0])

static int set_num(struct sclaw_csv *t, int64_t row, const char *col, double v)
{
    return sclaw_csv_set_double(t, row, sclaw_csv_col(t, col), v);
}

static int set_text(struct sclaw_csv *t, int64_t row, const char *col, const char *v)
{
    return sclaw_csv_set(t, row, sclaw_csv_col(t, col), v);
}

/* One finished run as a row: counts from the accounting, losses from result.json. */
static int add_row(struct sclaw_csv *t, const struct sclaw_plan *p, const struct sclaw_plan_run *r,
                   const json_t *res, const char *dir)
{
    const struct sclaw_config *c = &r->config;
    int is_mlstm = c->arch == &sclaw_arch_mlstm;
    struct sclaw_params pc;
    struct sclaw_flops f, f_alt;
    struct sclaw_flop_opts alt = {is_mlstm ? SCLAW_MLSTM_FLOPS_TFLA : SCLAW_MLSTM_FLOPS_FIRST,
                                  is_mlstm ? SCLAW_ATTN_FLOPS_DISTILL : SCLAW_ATTN_FLOPS_CHINCHILLA};
    double B = (double)r->batch, S = (double)r->steps;
    char buf[256];
    int64_t row;
    int st;
    sclaw_count_params(c, &pc);
    sclaw_count_flops(c, 0, NULL, &f);
    sclaw_count_flops(c, 0, &alt, &f_alt);
    double D = sclaw_count_training_tokens(c, B, S), C = f.fwbw * B * S;
    double stored_n = json_number_value(json_object_get(res, "num_params"));
    if (stored_n > 0 && stored_n != pc.total)
        sclaw_warn("run %s: result.json says num_params %.17g, the accounting %.17g", r->name,
                   stored_n, pc.total);
    if ((st = sclaw_csv_add_row(t, &row)))
        return st;
    snprintf(buf, sizeof buf, "sclaw_%s", p->kind);
    set_text(t, row, "dataset", buf);
    set_text(t, row, "source", dir);
    snprintf(buf, sizeof buf, "%s_ctx%lld", p->kind, (long long)c->context_length);
    set_text(t, row, "experiment_set_ctx_length", buf);
    set_text(t, row, "model_type", c->arch->name);
    set_text(t, row, "experiment_set", p->kind);
    set_num(t, row, "context_length", (double)c->context_length);
    set_text(t, row, "name", r->name);
    set_text(t, row, "status", "finished");
    set_text(t, row, "loss_source", "sclaw_result_json");
    set_num(t, row, "val_loss", json_number_value(json_object_get(res, "val_loss")));
    const json_t *tl = json_object_get(res, "train_loss");
    if (json_is_number(tl))
        set_num(t, row, "train_loss", json_number_value(tl));
    set_num(t, row, "num_params", pc.total);
    set_num(t, row, "num_params_noembed", pc.noembed);
    set_num(t, row, "num_params_noembed_nohead", pc.noembed_nohead);
    set_num(t, row, "num_tokens_training", D);
    set_num(t, row, "num_flops_training", C);
    set_num(t, row, is_mlstm ? "num_flops_training_mlstm_tfla" : "num_flops_training_attn_chinchilla",
            f_alt.fwbw * B * S);
    set_num(t, row, "flops_6ND", 6 * pc.total * D);
    set_num(t, row, "flops_fw_per_seq", f.fw);
    set_num(t, row, "flops_fwbw_per_seq", f.fwbw);
    set_num(t, row, "flops_fwbw_linear_per_seq", 3 * f.linear);
    set_num(t, row, "flops_fwbw_seqmix_per_seq", 3 * f.seqmix);
    set_num(t, row, "token_param_ratio", D / pc.total);
    if (r->budget > 0) {
        snprintf(buf, sizeof buf, "%g", r->budget); /* "1e+14", as the paper's tags */
        set_text(t, row, "isoflop_budget_tag", buf);
    }
    if (r->ratio > 0) {
        snprintf(buf, sizeof buf, "%g", r->ratio);
        set_text(t, row, "preset_token_param_ratio", buf);
    }
    set_num(t, row, "embedding_dim", (double)c->embedding_dim);
    set_num(t, row, "num_blocks", (double)c->num_blocks);
    set_num(t, row, "num_heads", (double)c->num_heads);
    set_num(t, row, "head_dim_qk", (double)c->head_dim_qk);
    set_num(t, row, "head_dim_v", (double)c->head_dim_v);
    set_num(t, row, "ffn_dim", (double)c->ffn_dim);
    set_num(t, row, "proj_factor_ffn", c->proj_factor_ffn);
    if (is_mlstm) {
        set_num(t, row, "proj_factor_qk", c->proj_factor_qk);
        set_num(t, row, "chunk_size", (double)c->chunk_size);
    }
    set_num(t, row, "ffn_multiple_of", (double)c->ffn_multiple_of);
    set_num(t, row, "vocab_size", (double)c->vocab_size);
    set_num(t, row, "global_batch_size", B);
    set_num(t, row, "learning_rate", r->lr);
    set_num(t, row, "num_lr_warmup_steps", (double)r->warmup);
    return set_num(t, row, "num_train_steps", S);
}

int sclaw_study_collect(const char *dir, const char *out_csv, int64_t *n_collected)
{
    char path[4200];
    struct sclaw_plan p;
    struct sclaw_csv t;
    struct sclaw_run_status *rs = NULL;
    int st;
    *n_collected = 0;
    snprintf(path, sizeof path, "%s/plan.json", dir);
    if ((st = sclaw_plan_load(&p, path)))
        return sclaw_wrap(st, "'%s' is not a study directory", dir);
    if ((st = sclaw_csv_init(&t, NCOLS, columns)))
        goto done;
    rs = calloc((size_t)p.nruns, sizeof *rs);
    if (!rs) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    sclaw_study_scan(&p, dir, rs);
    for (int64_t i = 0; i < p.nruns; i++) {
        const struct sclaw_plan_run *r = &p.runs[i];
        json_t *res;
        if (rs[i].state == SCLAW_RUN_PENDING || rs[i].state == SCLAW_RUN_PARTIAL) {
            sclaw_warn("run %s is %s (step %lld of %lld); skipped", r->name,
                       rs[i].state == SCLAW_RUN_PENDING ? "not started" : "unfinished",
                       (long long)rs[i].step, (long long)r->steps);
            continue;
        }
        if (rs[i].state == SCLAW_RUN_CORRUPT) {
            sclaw_warn("run %s is corrupt: %s; skipped", r->name, rs[i].problem);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s/result.json", dir, r->name);
        if ((st = sclaw_json_load(path, &res)))
            goto done;
        st = add_row(&t, &p, r, res, dir);
        json_decref(res);
        if (st)
            goto done;
        (*n_collected)++;
    }
    st = sclaw_csv_write(&t, out_csv);
done:
    free(rs);
    sclaw_csv_free(&t);
    sclaw_plan_free(&p);
    return st;
}
