/* test_train.c - training (sclaw_train.h): schedule, AdamW against a direct
 * double-precision transcription of the update, gradient norm, overfitting a
 * fixed batch with both families, kill-and-resume equality bit for bit,
 * NaN detection, checkpoint shape errors and run-directory rules. */
#include "testutil.h"

#include "sclaw.h"
#include "sclaw_model.h"
#include "sclaw_safetensors.h"
#include "sclaw_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void make_config(struct sclaw_config *c, const char *type, int64_t D, int64_t NB,
                        int64_t NH, int64_t V, int64_t T)
{
    assert_int_equal(sclaw_config_init(c, type), 0);
    c->embedding_dim = D;
    c->num_blocks = NB;
    c->num_heads = NH;
    c->vocab_size = V;
    c->context_length = T;
    c->ffn_multiple_of = 16;
    if (!strcmp(type, "mlstm_v1"))
        c->chunk_size = 16;
    assert_int_equal(sclaw_config_derive(c, "test"), 0);
}

/* ---- schedule, AdamW, norm -------------------------------------------------- */

static void test_schedule(void **state)
{
    (void)state;
    struct sclaw_lr_schedule s = {1e-3, 0.1, 10, 110, 0};
    tu_close(sclaw_lr_at(&s, 0), 1e-4, 1e-12, 0, "first warmup step");
    tu_close(sclaw_lr_at(&s, 9), 1e-3, 1e-12, 0, "end of warmup");
    tu_close(sclaw_lr_at(&s, 10), 1e-3, 1e-12, 0, "cosine start");
    tu_close(sclaw_lr_at(&s, 60), 0.55e-3, 1e-12, 0, "cosine midpoint");
    tu_close(sclaw_lr_at(&s, 109), 1e-4 + 0.9e-3 * 0.5 * (1 + cos(M_PI * 99.0 / 100.0)), 1e-12, 0,
             "last step");
    struct sclaw_lr_schedule c = {1e-3, 0.1, 10, 110, 20};
    tu_close(sclaw_lr_at(&c, 89), 1e-4 + 0.9e-3 * 0.5 * (1 + cos(M_PI * 79.0 / 80.0)), 1e-12, 0,
             "last cosine step");
    tu_close(sclaw_lr_at(&c, 90), 1e-4 * 20.0 / 21.0, 1e-12, 0, "first cooldown step");
    tu_close(sclaw_lr_at(&c, 109), 1e-4 / 21.0, 1e-12, 0, "last cooldown step");
    /* paper LRs (models.md §1.5) */
    struct sclaw_config cf;
    make_config(&cf, "mlstm_v1", 1024, 2, 4, 100, 64);
    tu_close(sclaw_default_lr(&cf), 3e-3, 0, 0, "xLSTM 1024");
    make_config(&cf, "mlstm_v1", 1280, 2, 5, 100, 64);
    tu_close(sclaw_default_lr(&cf), 2e-3, 0, 0, "xLSTM 1280");
    make_config(&cf, "llama", 1536, 2, 12, 100, 64);
    tu_close(sclaw_default_lr(&cf), 1e-3, 0, 0, "Llama 1536");
}

static void test_adamw(void **state)
{
    (void)state;
    struct sclaw_tensor_table tt = {0};
    assert_int_equal(sclaw_tensor_table_add(&tt, "w", 2, 3, 4, 1, SCLAW_INIT_CONST, 0, 0, 0), 0);
    assert_int_equal(sclaw_tensor_table_add(&tt, "b", 1, 5, 0, 0, SCLAW_INIT_CONST, 0, 0, 0), 0);
    const int64_t n = tt.numel;
    struct sclaw_adamw o;
    assert_int_equal(sclaw_adamw_init(&o, &tt, 0.9, 0.95, 1e-8, 0.1), 0);
    float p[17], g[17];
    double P[17], M[17] = {0}, Vv[17] = {0};
    uint64_t s = 3;
    for (int64_t i = 0; i < n; i++)
        P[i] = p[i] = (float)tu_rand_normal(&s);
    for (int t = 1; t <= 5; t++) {
        for (int64_t i = 0; i < n; i++)
            g[i] = (float)tu_rand_normal(&s);
        double lr = 1e-2 * t, gs = t == 3 ? 0.25 : 1.0;
        sclaw_adamw_step(&o, p, g, lr, gs);
        for (int64_t i = 0; i < n; i++) { /* AdamW as written in Loshchilov & Hutter / optax */
            double gi = gs * (double)g[i];
            M[i] = 0.9 * M[i] + 0.1 * gi;
            Vv[i] = 0.95 * Vv[i] + 0.05 * gi * gi;
            double mh = M[i] / (1 - pow(0.9, t)), vh = Vv[i] / (1 - pow(0.95, t));
            double wd = i < 12 ? 0.1 : 0.0; /* matrix decays, vector does not */
            P[i] -= lr * (mh / (sqrt(vh) + 1e-8) + wd * P[i]);
        }
    }
    double pd[17];
    for (int64_t i = 0; i < n; i++)
        pd[i] = p[i];
    tu_allclose_d(pd, P, n, 1e-5, 1e-6, "AdamW params after 5 steps");
    sclaw_adamw_free(&o);
    sclaw_tensor_table_free(&tt);

    float big[200000];
    double want = 0;
    for (int i = 0; i < 200000; i++) {
        big[i] = (float)(i % 7) - 3.0f;
        want += (double)big[i] * big[i];
    }
    tu_close(sclaw_grad_norm(big, 200000), sqrt(want), 1e-12, 0, "global grad norm");
}

/* ---- a deterministic batch source ------------------------------------------------
 * Token stream: batch k, row r, position t holds a function of (k, r, t); with
 * fixed = 1 every batch is batch 0. Documents change every 23 tokens. */
struct src {
    int64_t pos, V;
    int fixed;
};

static int src_next(void *ctx, int32_t *in, int32_t *tg, int32_t *sg, int64_t B, int64_t T)
{
    struct src *s = ctx;
    int64_t k = s->fixed ? 0 : s->pos;
    for (int64_t r = 0; r < B; r++)
        for (int64_t t = 0; t < T; t++) {
            uint64_t h = (uint64_t)(k * 1000003 + r * 7919 + t) * 0x9E3779B97F4A7C15ull;
            uint64_t h2 = (uint64_t)(k * 1000003 + r * 7919 + t + 1) * 0x9E3779B97F4A7C15ull;
            in[r * T + t] = (int32_t)((h >> 33) % (uint64_t)s->V);
            tg[r * T + t] = (int32_t)((h2 >> 33) % (uint64_t)s->V);
            sg[r * T + t] = (int32_t)(t / 23);
        }
    s->pos++;
    return 0;
}
static json_t *src_save(void *ctx) { return json_pack("{s:I}", "position", (json_int_t)((struct src *)ctx)->pos); }
static int src_load(void *ctx, const json_t *j)
{
    ((struct src *)ctx)->pos = (int64_t)json_integer_value(json_object_get(j, "position"));
    return 0;
}
static int src_rewind(void *ctx)
{
    ((struct src *)ctx)->pos = 0;
    return 0;
}

static void make_source(struct sclaw_batch_source *bs, struct src *s, int64_t V, int fixed)
{
    *s = (struct src){0, V, fixed};
    *bs = (struct sclaw_batch_source){s, src_next, src_save, src_load, src_rewind};
}

/* ---- overfitting one batch -------------------------------------------------------- */

static void overfit(const char *type, int64_t NH)
{
    struct sclaw_config c;
    struct sclaw_train_opts o;
    struct sclaw_batch_source tr, va;
    struct src ts, vs;
    struct sclaw_train_result res;
    char dir[512];
    make_config(&c, type, 32, 2, NH, 32, 64);
    sclaw_train_defaults(&o, &c);
    o.batch = 1;
    o.steps = 150;
    o.lr = 1e-2;
    o.warmup = 10;
    o.weight_decay = 0;
    make_source(&tr, &ts, 32, 1);
    make_source(&va, &vs, 32, 1);
    o.eval_batches = 1;
    snprintf(dir, sizeof dir, "%s/overfit-%s", tu_tmpdir(), type);
    int st = sclaw_train_run(&c, &o, dir, 0, &tr, &va, NULL, NULL, &res);
    if (st)
        fail_msg("%s", sclaw_errmsg());
    assert_true(res.finished);
    /* one fixed batch of 64 tokens: memorised (val = the same batch) */
    if (!(res.train_loss < 0.1 && res.val_loss < 0.1))
        fail_msg("%s: loss after %lld steps: train %g, val %g (want < 0.1)", type,
                 (long long)res.step, res.train_loss, res.val_loss);
}

static void test_overfit_mlstm(void **state)
{
    (void)state;
    overfit("mlstm_v1", 2);
}

static void test_overfit_llama(void **state)
{
    (void)state;
    overfit("llama", 2);
}

/* ---- kill and resume ------------------------------------------------------------ */

/* The train_loss column of a run's log.csv. */
static char *loss_column(const char *dir)
{
    char p[600];
    struct sclaw_csv t;
    snprintf(p, sizeof p, "%s/log.csv", dir);
    assert_int_equal(sclaw_csv_read(&t, p), 0);
    int64_t col;
    assert_int_equal(sclaw_csv_require(&t, "train_loss", &col), 0);
    size_t cap = 64 * (size_t)(t.nrows + 1), k = 0;
    char *s = calloc(cap, 1);
    for (int64_t i = 0; i < t.nrows; i++)
        k += (size_t)snprintf(s + k, cap - k, "%s\n", sclaw_csv_cell(&t, i, col));
    sclaw_csv_free(&t);
    return s;
}

static void resume_family(const char *type, int64_t NH)
{
    struct sclaw_config c;
    struct sclaw_train_opts o;
    struct sclaw_batch_source tr, va;
    struct src ts, vs;
    struct sclaw_train_result res;
    char full[512], part[512];
    make_config(&c, type, 32, 2, NH, 50, 32);
    sclaw_train_defaults(&o, &c);
    o.batch = 2;
    o.steps = 12;
    o.eval_every = 4;
    o.eval_batches = 2;
    snprintf(full, sizeof full, "%s/full-%s", tu_tmpdir(), type);
    snprintf(part, sizeof part, "%s/part-%s", tu_tmpdir(), type);
    make_source(&tr, &ts, 50, 0);
    make_source(&va, &vs, 50, 0);
    assert_int_equal(sclaw_train_run(&c, &o, full, 0, &tr, &va, NULL, NULL, &res), 0);
    assert_true(res.finished);
    double full_val = res.val_loss;

    /* 5 steps, stop (checkpointed), then resume in a fresh "process" state:
     * new sources starting at position 0 (the checkpoint restores it) */
    o.stop_after = 5;
    make_source(&tr, &ts, 50, 0);
    assert_int_equal(sclaw_train_run(&c, &o, part, 0, &tr, &va, NULL, NULL, &res), 0);
    assert_false(res.finished);
    assert_int_equal(res.step, 5);
    /* a second stop after 4 more (a save point that is not an eval step) */
    struct sclaw_train_opts o2 = o;
    o2.stop_after = 4;
    make_source(&tr, &ts, 50, 0);
    assert_int_equal(sclaw_train_run(NULL, &o2, part, 1, &tr, &va, NULL, NULL, &res), 0);
    assert_int_equal(res.step, 9);
    o2.stop_after = 0;
    make_source(&tr, &ts, 50, 0);
    assert_int_equal(sclaw_train_run(&c, &o2, part, 1, &tr, &va, NULL, NULL, &res), 0);
    assert_true(res.finished);
    assert_int_equal(res.step, 12);
    if (res.val_loss != full_val)
        fail_msg("%s: resumed val loss %.17g, uninterrupted %.17g", type, res.val_loss, full_val);
    char *a = loss_column(full), *b = loss_column(part);
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* the checkpoints are equal too */
    char pa[600], pb[600];
    snprintf(pa, sizeof pa, "%s/model.safetensors", full);
    snprintf(pb, sizeof pb, "%s/model.safetensors", part);
    char *fa = tu_read_file(pa), *fb = tu_read_file(pb);
    assert_non_null(fa);
    assert_non_null(fb);
    struct stat sa, sb;
    stat(pa, &sa);
    stat(pb, &sb);
    assert_int_equal(sa.st_size, sb.st_size);
    assert_memory_equal(fa, fb, (size_t)sa.st_size);
    free(fa);
    free(fb);

    /* a finished run is not overwritten, and resuming it changes nothing */
    assert_int_equal(sclaw_train_run(&c, &o, full, 0, &tr, &va, NULL, NULL, &res), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "holds a finished run"));
    assert_int_equal(sclaw_train_run(NULL, NULL, full, 1, &tr, &va, NULL, NULL, &res), 0);
    assert_true(res.finished);
}

static void test_resume_mlstm(void **state)
{
    (void)state;
    resume_family("mlstm_v1", 2);
}

static void test_resume_llama(void **state)
{
    (void)state;
    resume_family("llama", 2);
}

/* A kill between checkpoints: the log has rows past the last checkpoint. The
 * resumed run drops them, redoes those steps and ends bit-identical. */
static void test_kill_between_checkpoints(void **state)
{
    (void)state;
    struct sclaw_config c;
    struct sclaw_train_opts o;
    struct sclaw_batch_source tr, va;
    struct src ts, vs;
    struct sclaw_train_result res;
    char full[512], part[512], ck[600], keep[600];
    make_config(&c, "mlstm_v1", 16, 1, 1, 30, 32);
    sclaw_train_defaults(&o, &c);
    o.batch = 2;
    o.steps = 8;
    o.eval_every = 3;
    o.eval_batches = 1;
    snprintf(full, sizeof full, "%s/kfull", tu_tmpdir());
    snprintf(part, sizeof part, "%s/kpart", tu_tmpdir());
    make_source(&tr, &ts, 30, 0);
    make_source(&va, &vs, 30, 0);
    assert_int_equal(sclaw_train_run(&c, &o, full, 0, &tr, &va, NULL, NULL, &res), 0);
    o.stop_after = 4;
    make_source(&tr, &ts, 30, 0);
    assert_int_equal(sclaw_train_run(&c, &o, part, 0, &tr, &va, NULL, NULL, &res), 0);
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", part);
    snprintf(keep, sizeof keep, "%s/step4.safetensors", tu_tmpdir());
    /* a hard link keeps the step-4 file: the next save renames a new file over ck */
    assert_int_equal(link(ck, keep), 0);
    o.stop_after = 2;
    make_source(&tr, &ts, 30, 0);
    assert_int_equal(sclaw_train_run(NULL, &o, part, 1, &tr, &va, NULL, NULL, &res), 0);
    assert_int_equal(res.step, 6);
    /* "killed" after logging step 6 but with the step-4 checkpoint on disk */
    assert_int_equal(rename(keep, ck), 0);
    o.stop_after = 0;
    make_source(&tr, &ts, 30, 0);
    assert_int_equal(sclaw_train_run(NULL, &o, part, 1, &tr, &va, NULL, NULL, &res), 0);
    assert_true(res.finished);
    char *a = loss_column(full), *b = loss_column(part);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* An interrupt flag stops at the next step boundary with a checkpoint. */
static void test_interrupt(void **state)
{
    (void)state;
    struct sclaw_config c;
    struct sclaw_train_opts o;
    struct sclaw_batch_source tr;
    struct src ts;
    struct sclaw_train_result res;
    char dir[512];
    volatile sig_atomic_t flag = 1;
    make_config(&c, "llama", 16, 1, 2, 20, 16);
    sclaw_train_defaults(&o, &c);
    o.steps = 5;
    o.interrupt = &flag;
    make_source(&tr, &ts, 20, 0);
    snprintf(dir, sizeof dir, "%s/interrupt", tu_tmpdir());
    assert_int_equal(sclaw_train_run(&c, &o, dir, 0, &tr, NULL, NULL, NULL, &res),
                     SCLAW_E_INTERRUPTED);
    assert_non_null(strstr(sclaw_errmsg(), "interrupted at step 0"));
    /* unfinished: a new run may not reuse the directory */
    flag = 0;
    assert_int_equal(sclaw_train_run(&c, &o, dir, 0, &tr, NULL, NULL, NULL, &res), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "unfinished run"));
    assert_int_equal(sclaw_train_run(&c, &o, dir, 1, &tr, NULL, NULL, NULL, &res), 0);
    assert_true(res.finished);
}

/* A huge LR blows the model up: the run stops naming the step and checkpoint. */
static void test_nan_stops(void **state)
{
    (void)state;
    struct sclaw_config c;
    struct sclaw_train_opts o;
    struct sclaw_batch_source tr;
    struct src ts;
    struct sclaw_train_result res;
    char dir[512];
    make_config(&c, "llama", 16, 1, 2, 20, 16);
    sclaw_train_defaults(&o, &c);
    o.steps = 50;
    o.warmup = 1;
    o.lr = 1e30;
    o.save_every = 1;
    make_source(&tr, &ts, 20, 0);
    snprintf(dir, sizeof dir, "%s/nan", tu_tmpdir());
    int st = sclaw_train_run(&c, &o, dir, 0, &tr, NULL, NULL, NULL, &res);
    assert_int_equal(st, SCLAW_E_NUMERIC);
    const char *msg = sclaw_errmsg();
    assert_non_null(strstr(msg, "step "));
    assert_non_null(strstr(msg, "last good checkpoint"));
    assert_non_null(strstr(msg, "checkpoint.safetensors"));
}

static void test_bad_runs(void **state)
{
    (void)state;
    struct sclaw_config c, c2;
    struct sclaw_train_opts o;
    struct sclaw_batch_source tr;
    struct src ts;
    struct sclaw_train_result res;
    char dir[512], p[600];
    make_config(&c, "llama", 16, 1, 2, 20, 16);
    sclaw_train_defaults(&o, &c);
    o.steps = 2;
    make_source(&tr, &ts, 20, 0);
    /* unwritable run directory: below a regular file */
    snprintf(p, sizeof p, "%s/afile", tu_tmpdir());
    tu_write_file(p, "x");
    snprintf(dir, sizeof dir, "%s/afile/run", tu_tmpdir());
    assert_int_equal(sclaw_train_run(&c, &o, dir, 0, &tr, NULL, NULL, NULL, &res), SCLAW_E_IO);
    assert_non_null(strstr(sclaw_errmsg(), "afile/run"));
    /* nothing to resume */
    snprintf(dir, sizeof dir, "%s/empty", tu_tmpdir());
    assert_int_equal(sclaw_train_run(&c, &o, dir, 1, &tr, NULL, NULL, NULL, &res), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "nothing to resume"));
    /* bad options */
    o.steps = 0;
    snprintf(dir, sizeof dir, "%s/nosteps", tu_tmpdir());
    assert_int_equal(sclaw_train_run(&c, &o, dir, 0, &tr, NULL, NULL, NULL, &res), SCLAW_E_ARG);
    /* a checkpoint of another config: the message names tensor and shapes */
    o.steps = 2;
    snprintf(dir, sizeof dir, "%s/ok", tu_tmpdir());
    assert_int_equal(sclaw_train_run(&c, &o, dir, 0, &tr, NULL, NULL, NULL, &res), 0);
    make_config(&c2, "llama", 32, 1, 2, 20, 16);
    struct sclaw_model m;
    assert_int_equal(sclaw_model_init(&m, &c2), 0);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    assert_int_equal(sclaw_ckpt_load(p, &m, NULL, NULL), SCLAW_E_SHAPE);
    assert_non_null(strstr(sclaw_errmsg(), "'model.embed_tokens.weight': shape [20,16], config says [20,32]"));
    sclaw_model_free(&m);
    /* the matching config loads the model file and the checkpoint */
    assert_int_equal(sclaw_model_init(&m, &c), 0);
    assert_int_equal(sclaw_ckpt_load(p, &m, NULL, NULL), 0);
    struct sclaw_adamw opt;
    json_t *st = NULL;
    assert_int_equal(sclaw_adamw_init(&opt, &m.tt, 0.9, 0.95, 1e-8, 0.1), 0);
    snprintf(p, sizeof p, "%s/checkpoint.safetensors", dir);
    assert_int_equal(sclaw_ckpt_load(p, &m, &opt, &st), 0);
    assert_non_null(st);
    assert_int_equal(json_integer_value(json_object_get(st, "step")), 2);
    json_decref(st);
    sclaw_adamw_free(&opt);
    sclaw_model_free(&m);
    /* result.json has the paper fields */
    json_t *r;
    snprintf(p, sizeof p, "%s/result.json", dir);
    assert_int_equal(sclaw_json_load(p, &r), 0);
    static const char *const keys[] = {"model_type", "num_params", "num_tokens_training",
                                       "num_flops_training", "val_loss", "context_length",
                                       "global_batch_size", "learning_rate", "num_train_steps",
                                       "peak_rss_bytes"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!json_object_get(r, keys[i]))
            fail_msg("result.json lacks '%s'", keys[i]);
    struct sclaw_params np;
    sclaw_count_params(&c, &np);
    tu_close(json_number_value(json_object_get(r, "num_params")), np.total, 0, 0, "num_params");
    tu_close(json_number_value(json_object_get(r, "num_tokens_training")), 8 * 16 * 2, 0, 0,
             "num_tokens_training");
    tu_close(json_number_value(json_object_get(r, "num_flops_training")),
             sclaw_count_training_flops(&c, &(struct sclaw_flop_opts){0, 0}, 8, 2), 1e-12, 0,
             "num_flops_training");
    json_decref(r);
}

/* ---- the CLI (sclaw train / sclaw eval) ------------------------------------------ */

/* A tokenizer and token directory from the built-in corpus, made once. */
static const char *cli_data(void)
{
    static char dir[600];
    if (dir[0])
        return dir;
    const char *t = tu_tmpdir();
    char *err = NULL;
    int rc = tu_sclaw(NULL, &err, "tokenizer train --vocab-size 300 kjv --out '%s/tok'", t);
    if (rc)
        fail_msg("tokenizer train: %s", err);
    free(err);
    rc = tu_sclaw(NULL, &err, "data prepare --corpus kjv --tokenizer '%s/tok' --out '%s/data' "
                              "--val-fraction 0.01", t, t);
    if (rc)
        fail_msg("data prepare: %s", err);
    free(err);
    snprintf(dir, sizeof dir, "%s/data", t);
    char p[700];
    snprintf(p, sizeof p, "%s/x.json", t);
    tu_write_file(p, "{\"model_type\": \"xlstm\", \"embedding_dim\": 32, \"num_blocks\": 2, "
                     "\"num_heads\": 2, \"vocab_size\": 300, \"context_length\": 32, "
                     "\"chunk_size\": 16}");
    snprintf(p, sizeof p, "%s/big.json", t);
    tu_write_file(p, "{\"model_type\": \"llama\", \"embedding_dim\": 8192, \"num_blocks\": 80, "
                     "\"num_heads\": 64, \"vocab_size\": 300, \"context_length\": 8192}");
    return dir;
}

static void test_cli_train_resume(void **state)
{
    (void)state;
    const char *data = cli_data(), *t = tu_tmpdir();
    char *out = NULL, *err = NULL;
    const char *common = "--threads 1 train '%s/x.json' --data '%s' --batch 2 --steps 8 --eval-every 4";
    char fmt[400];
    snprintf(fmt, sizeof fmt, "%s --out '%%s/cli-full' --json", common);
    int rc = tu_sclaw(&out, &err, fmt, t, data, t);
    if (rc)
        fail_msg("train: %s", err);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "model_type")), "mlstm_v1");
    assert_int_equal(json_integer_value(json_object_get(j, "num_train_steps")), 8);
    double val = json_number_value(json_object_get(j, "val_loss"));
    json_decref(j);
    free(out);
    free(err);

    snprintf(fmt, sizeof fmt, "%s --out '%%s/cli-part' --stop-after 3", common);
    rc = tu_sclaw(&out, &err, fmt, t, data, t);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "stopped"));
    assert_non_null(strstr(err, "--resume"));
    free(out);
    free(err);
    /* flags that differ from the run's are refused */
    snprintf(fmt, sizeof fmt, "%s --out '%%s/cli-part' --resume --lr 0.1", common);
    rc = tu_sclaw(NULL, &err, fmt, t, data, t);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "option '--lr' (0.1) differs from the run's"));
    free(err);
    /* stop again, continue with the run's own options only ... */
    rc = tu_sclaw(&out, &err, "--threads 1 train --resume --data '%s' --out '%s/cli-part' "
                              "--stop-after 2", data, t);
    if (rc)
        fail_msg("resume: %s", err);
    free(out);
    free(err);
    /* ... and finish with the whole original command line + --resume (as
     * `sclaw study` does) */
    snprintf(fmt, sizeof fmt, "%s --out '%%s/cli-part' --resume", common);
    rc = tu_sclaw(&out, &err, fmt, t, data, t);
    if (rc)
        fail_msg("resume: %s", err);
    assert_non_null(strstr(out, "finished"));
    free(out);
    free(err);
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/cli-full", t);
    snprintf(b, sizeof b, "%s/cli-part", t);
    char *la = loss_column(a), *lb = loss_column(b);
    assert_string_equal(la, lb);
    free(la);
    free(lb);

    /* eval of the run directory */
    rc = tu_sclaw(&out, &err, "--threads 1 eval '%s' --data '%s' --json", a, data);
    if (rc)
        fail_msg("eval: %s", err);
    j = json_loads(out, 0, &je);
    assert_non_null(j);
    double ev = json_number_value(json_object_get(j, "val_loss"));
    assert_true(ev > 0 && ev < 7);
    (void)val;
    json_decref(j);
    free(out);
    free(err);

    /* --resume on a directory without a run starts it */
    snprintf(fmt, sizeof fmt, "%s --out '%%s/cli-fresh' --resume", common);
    rc = tu_sclaw(&out, &err, fmt, t, data, t);
    if (rc)
        fail_msg("resume of a new run: %s", err);
    free(out);
    free(err);
    snprintf(b, sizeof b, "%s/cli-fresh", t);
    la = loss_column(a);
    lb = loss_column(b);
    assert_string_equal(la, lb);
    free(la);
    free(lb);

    /* a finished run is not overwritten */
    snprintf(fmt, sizeof fmt, "%s --out '%%s/cli-full'", common);
    rc = tu_sclaw(NULL, &err, fmt, t, data, t);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "holds a finished run"));
    free(err);
}

static void test_cli_bad(void **state)
{
    (void)state;
    const char *data = cli_data(), *t = tu_tmpdir();
    char *err = NULL;
    /* usage errors: exit 2 naming the problem */
    assert_int_equal(tu_sclaw(NULL, &err, "train '%s/x.json' --data '%s' --out '%s/u1'", t, data, t), 2);
    assert_non_null(strstr(err, "--steps, --tokens, --flops"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "train '%s/x.json' --data '%s' --out '%s/u2' --steps 3 --tokens 100", t, data, t), 2);
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "train '%s/x.json' --data '%s' --out '%s/u3' --steps x", t, data, t), 2);
    assert_non_null(strstr(err, "'--steps'"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "train '%s/x.json' --data '%s' --out '%s/u4' --flops 10", t, data, t), 2);
    assert_non_null(strstr(err, "less than one step"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "train '%s/x.json' --out '%s/u5' --steps 2", t, t), 2);
    assert_non_null(strstr(err, "--data"));
    free(err);
    /* runtime errors: exit 1 naming the file */
    assert_int_equal(tu_sclaw(NULL, &err, "train '%s/none.json' --data '%s' --out '%s/r1' --steps 2", t, data, t), 1);
    assert_non_null(strstr(err, "none.json"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "train '%s/x.json' --data '%s/nodata' --out '%s/r2' --steps 2", t, t, t), 1);
    assert_non_null(strstr(err, "nodata"));
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "train '%s/x.json' --data '%s' --out /proc/sclaw-run --steps 2", t, data), 1);
    assert_non_null(strstr(err, "/proc/sclaw-run"));
    free(err);
    /* the memory plan refuses what cannot fit, saying how much it needs */
    assert_int_equal(tu_sclaw(NULL, &err, "train '%s/big.json' --data '%s' --out '%s/r3' --steps 2 --batch 512", t, data, t), 1);
    assert_non_null(strstr(err, "memory plan"));
    assert_non_null(strstr(err, "the run needs"));
    free(err);
    /* nothing to resume */
    assert_int_equal(tu_sclaw(NULL, &err, "train --resume --data '%s' --out '%s/r4'", data, t), 1);
    assert_non_null(strstr(err, "nothing to resume"));
    free(err);
    /* eval with weights of another shape: tensor and both shapes named */
    char p[700];
    snprintf(p, sizeof p, "%s/x64.json", t);
    tu_write_file(p, "{\"model_type\": \"xlstm\", \"embedding_dim\": 64, \"num_blocks\": 2, "
                     "\"num_heads\": 2, \"vocab_size\": 300, \"context_length\": 32, "
                     "\"chunk_size\": 16}");
    assert_int_equal(tu_sclaw(NULL, &err, "train '%s/x.json' --data '%s' --out '%s/r5' --steps 1 --quiet", t, data, t), 0);
    free(err);
    assert_int_equal(tu_sclaw(NULL, &err, "eval '%s/r5/model.safetensors' --config '%s' --data '%s'", t, p, data), 1);
    assert_non_null(strstr(err, "'backbone.embeddings.weight': shape [300,32], config says [300,64]"));
    free(err);
}

int main(void)
{
    sclaw_threads_set(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule),      cmocka_unit_test(test_adamw),
        cmocka_unit_test(test_overfit_mlstm), cmocka_unit_test(test_overfit_llama),
        cmocka_unit_test(test_resume_mlstm),  cmocka_unit_test(test_resume_llama),
        cmocka_unit_test(test_kill_between_checkpoints), cmocka_unit_test(test_interrupt),     cmocka_unit_test(test_nan_stops),
        cmocka_unit_test(test_bad_runs),      cmocka_unit_test(test_cli_train_resume),
        cmocka_unit_test(test_cli_bad),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tu_cleanup();
    return rc;
}
