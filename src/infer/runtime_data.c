/* runtime_data.c - read inference timing tables in the paper's schema and
 * attach the FLOP/byte accounting of every usable row (sclaw_runtime.h,
 * accounting-and-fits.md §3.3-§3.4, data/paper/README.md "Inference tables").
 *
 * Each row's model is rebuilt from its columns: num_heads, embedding_dim,
 * num_blocks, vocab_size, ffn_dim (+ qk_dim_factor and chunk_size for xLSTM).
 * As in the repo's inference models, xLSTM uses d_qk = int(qk_dim_factor *
 * d_hv) with d_hv = d / nh and chunk 128; Llama is MHA with head_dim = d / nh.
 * Values <= 0 are missing (the repo turns them into NaN and drops the row).
 */
#include "sclaw_runtime.h"
#include "sclaw_account.h"
#include "sclaw_io.h"
#include "sclaw_status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generated tokens assumed by the repo's Llama step-time model (§3.4). */
static const double STEP_T_GEN = 100;

struct cols {
    int64_t tag, type, batch, prefill, target, heads, dim, blocks, vocab, ffn, qk, chunk;
};

void sclaw_rt_data_free(struct sclaw_rt_data *d)
{
    if (!d)
        return;
    for (int64_t g = 0; g < d->ngroups; g++)
        free(d->groups[g].pts);
    free(d->groups);
    free(d->path);
    memset(d, 0, sizeof *d);
}

/* A positive integer model cell (the tables store them as "768.0"). */
static int model_int(const struct sclaw_csv *t, int64_t row, int64_t col, int64_t *out)
{
    double v;
    int st = sclaw_csv_double(t, row, col, &v);
    if (st)
        return st;
    if (!(v > 0) || v != floor(v) || v > 9e15)
        return sclaw_fail(SCLAW_E_FORMAT, "%s:%lld: column '%s': '%s' is not a positive integer",
                          t->path, (long long)t->line[row], t->header[col],
                          sclaw_csv_cell(t, row, col));
    *out = (int64_t)v;
    return SCLAW_OK;
}

/* The family of a model_type cell: xlstm / mlstm_v1 or llama / llama2. */
static const char *family_of(const char *model_type)
{
    if (!strcmp(model_type, "xlstm") || !strcmp(model_type, "mlstm_v1"))
        return "mlstm_v1";
    if (!strcmp(model_type, "llama") || !strcmp(model_type, "llama2"))
        return "llama";
    return NULL;
}

static int row_config(struct sclaw_config *c, const struct sclaw_csv *t, int64_t row,
                      const struct cols *k)
{
    char where[512];
    const char *mt = sclaw_csv_cell(t, row, k->type), *fam = family_of(mt);
    int st;
    snprintf(where, sizeof where, "%s:%lld", t->path, (long long)t->line[row]);
    if (!fam)
        return sclaw_fail(SCLAW_E_FORMAT,
                          "%s: unknown model_type '%s' (expected xlstm, mlstm_v1, llama or llama2)",
                          where, mt);
    if ((st = sclaw_config_init(c, fam)))
        return sclaw_wrap(st, "%s", where);
    if ((st = model_int(t, row, k->heads, &c->num_heads)) ||
        (st = model_int(t, row, k->dim, &c->embedding_dim)) ||
        (st = model_int(t, row, k->blocks, &c->num_blocks)) ||
        (st = model_int(t, row, k->vocab, &c->vocab_size)) ||
        (st = model_int(t, row, k->ffn, &c->ffn_dim)))
        return st;
    c->context_length = 1; /* unused by the inference accounting */
    snprintf(c->name, sizeof c->name, "%s", sclaw_csv_cell(t, row, k->tag));
    if (c->embedding_dim % c->num_heads)
        return sclaw_fail(SCLAW_E_FORMAT,
                          "%s: embedding_dim %lld is not divisible by num_heads %lld", where,
                          (long long)c->embedding_dim, (long long)c->num_heads);
    if (!strcmp(fam, "mlstm_v1")) {
        double qk;
        if (k->qk < 0)
            return sclaw_fail(SCLAW_E_FORMAT, "%s: missing column 'qk_dim_factor' (xLSTM rows need it)",
                              t->path);
        if ((st = sclaw_csv_double(t, row, k->qk, &qk)))
            return st;
        if (!(qk > 0))
            return sclaw_fail(SCLAW_E_FORMAT, "%s: column 'qk_dim_factor': '%s' is not positive",
                              where, sclaw_csv_cell(t, row, k->qk));
        c->head_dim_v = c->embedding_dim / c->num_heads;
        /* §3: d_qk = int(qk_dim_factor * d_hv), truncation as Python's int() */
        c->head_dim_qk = (int64_t)(qk * (double)c->head_dim_v);
        if (c->head_dim_qk < 1)
            return sclaw_fail(SCLAW_E_FORMAT, "%s: qk_dim_factor %g gives a q/k head size below 1",
                              where, qk);
        c->proj_factor_qk = qk;
        c->chunk_size = 128; /* the inference models' chunk (§3) unless given */
        if (k->chunk >= 0 && sclaw_csv_cell(t, row, k->chunk)[0] &&
            (st = model_int(t, row, k->chunk, &c->chunk_size)))
            return st;
    }
    return sclaw_config_derive(c, where);
}

/* Same model as the group's first row? (A tag naming two models is an error.) */
static int same_model(const struct sclaw_config *a, const struct sclaw_config *b)
{
    return a->arch == b->arch && a->embedding_dim == b->embedding_dim &&
           a->num_blocks == b->num_blocks && a->num_heads == b->num_heads &&
           a->vocab_size == b->vocab_size && a->ffn_dim == b->ffn_dim &&
           a->head_dim_qk == b->head_dim_qk && a->chunk_size == b->chunk_size;
}

static int find_cols(const struct sclaw_csv *t, enum sclaw_rt_target target, struct cols *k)
{
    int st;
    if ((st = sclaw_csv_require(t, "model_tag", &k->tag)) ||
        (st = sclaw_csv_require(t, "model_type", &k->type)) ||
        (st = sclaw_csv_require(t, "batchsize", &k->batch)) ||
        (st = sclaw_csv_require(t, "prefill", &k->prefill)) ||
        (st = sclaw_csv_require(t, sclaw_rt_target_name(target), &k->target)) ||
        (st = sclaw_csv_require(t, "num_heads", &k->heads)) ||
        (st = sclaw_csv_require(t, "embedding_dim", &k->dim)) ||
        (st = sclaw_csv_require(t, "num_blocks", &k->blocks)) ||
        (st = sclaw_csv_require(t, "vocab_size", &k->vocab)) ||
        (st = sclaw_csv_require(t, "ffn_dim", &k->ffn)))
        return st;
    k->qk = sclaw_csv_col(t, "qk_dim_factor");
    k->chunk = sclaw_csv_col(t, "chunk_size");
    return SCLAW_OK;
}

/* The group for a tag, appended if new. */
static int group_for(struct sclaw_rt_data *d, const char *tag, const struct sclaw_config *c,
                     const struct sclaw_csv *t, int64_t row, struct sclaw_rt_group **out)
{
    for (int64_t g = 0; g < d->ngroups; g++) {
        if (strcmp(d->groups[g].model_tag, tag))
            continue;
        if (!same_model(&d->groups[g].config, c))
            return sclaw_fail(SCLAW_E_FORMAT,
                              "%s:%lld: model_tag '%s' has a different model than on line %lld",
                              t->path, (long long)t->line[row], tag,
                              (long long)d->groups[g].pts[0].line);
        *out = &d->groups[g];
        return SCLAW_OK;
    }
    if (strlen(tag) >= sizeof d->groups[0].model_tag)
        return sclaw_fail(SCLAW_E_FORMAT, "%s:%lld: model_tag '%s' is too long", t->path,
                          (long long)t->line[row], tag);
    struct sclaw_rt_group *g = realloc(d->groups, (size_t)(d->ngroups + 1) * sizeof *g);
    if (!g)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory reading '%s'", t->path);
    d->groups = g;
    g = &d->groups[d->ngroups++];
    memset(g, 0, sizeof *g);
    snprintf(g->model_tag, sizeof g->model_tag, "%s", tag);
    g->config = *c;
    *out = g;
    return SCLAW_OK;
}

int sclaw_rt_read(struct sclaw_rt_data *d, const char *path, enum sclaw_rt_target target,
                  const struct sclaw_rt_read_opts *o)
{
    struct sclaw_csv t;
    struct cols k;
    int64_t matched = 0;
    int st;
    memset(d, 0, sizeof *d);
    d->target = target;
    if ((st = sclaw_csv_read(&t, path)))
        return st;
    if (!(d->path = strdup(path))) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory reading '%s'", path);
        goto done;
    }
    if ((st = find_cols(&t, target, &k)))
        goto done;
    for (int64_t row = 0; row < t.nrows; row++) {
        const char *tag = sclaw_csv_cell(&t, row, k.tag);
        double B, T, y;
        struct sclaw_config c;
        struct sclaw_rt_group *g = NULL;
        if (o && o->model_tag && strcmp(tag, o->model_tag))
            continue;
        matched++;
        if ((st = sclaw_csv_double(&t, row, k.batch, &B)) ||
            (st = sclaw_csv_double(&t, row, k.prefill, &T)) ||
            (st = sclaw_csv_double(&t, row, k.target, &y)))
            goto done;
        /* missing (<= 0, NaN) or unusable rows, as the repo filters them */
        if (!(y > 0) || !(T > 0) || !(B > 0) || !isfinite(y) || !isfinite(T) || !isfinite(B))
            continue;
        if (o && B < o->min_batch)
            continue;
        if ((st = row_config(&c, &t, row, &k)) || (st = group_for(d, tag, &c, &t, row, &g)))
            goto done;

        struct sclaw_infer_opts io = {B, T, STEP_T_GEN};
        struct sclaw_infer_acct a;
        struct sclaw_rt_point p = {B, T, 0, 0, y, t.line[row]};
        sclaw_count_infer(&c, &io, &a);
        if (target == SCLAW_RT_TTFT) {
            p.flops = a.ttft_flops;
            p.bytes = a.ttft_bytes;
        } else if (a.has_step) { /* recurrent: one step, prefill-independent */
            p.flops = a.step_flops;
            p.bytes = a.step_bytes;
        } else { /* KV cache: per generated token over T_gen tokens (§10.13) */
            p.flops = a.gen_flops / STEP_T_GEN;
            p.bytes = a.gen_bytes_per_token;
        }
        if ((g->n & (g->n - 1)) == 0) { /* grow at powers of two */
            struct sclaw_rt_point *q = realloc(g->pts, (size_t)(g->n ? 2 * g->n : 1) * sizeof *q);
            if (!q) {
                st = sclaw_fail(SCLAW_E_NOMEM, "out of memory reading '%s'", path);
                goto done;
            }
            g->pts = q;
        }
        g->pts[g->n++] = p;
    }
    if (o && o->model_tag && !matched) {
        st = sclaw_fail(SCLAW_E_ARG, "%s: no row has model_tag '%s'", path, o->model_tag);
        goto done;
    }
    if (!d->ngroups) {
        char minb[64] = "";
        if (o && o->min_batch > 1)
            snprintf(minb, sizeof minb, ", batchsize >= %g", o->min_batch);
        st = sclaw_fail(SCLAW_E_FORMAT, "%s: no usable rows for target '%s' (need prefill > 0, %s > 0%s)",
                        path, sclaw_rt_target_name(target), sclaw_rt_target_name(target), minb);
        goto done;
    }
done:
    sclaw_csv_free(&t);
    if (st)
        sclaw_rt_data_free(d);
    return st;
}
