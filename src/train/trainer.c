/* trainer.c - the training loop, run directory, resume, log and result
 * (sclaw_train.h; models.md §1.5). */
#define _POSIX_C_SOURCE 200809L
#include "sclaw_account.h"
#include "sclaw_arch.h"
#include "sclaw_io.h"
#include "sclaw_safetensors.h"
#include "sclaw_status.h"
#include "sclaw_threads.h"
#include "sclaw_train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- options --------------------------------------------------------------- */

void sclaw_train_defaults(struct sclaw_train_opts *o, const struct sclaw_config *c)
{
    memset(o, 0, sizeof *o);
    o->batch = 8;
    o->lr = sclaw_default_lr(c);
    o->min_lr_ratio = 0.1;
    o->beta1 = 0.9;
    o->beta2 = 0.95;
    o->eps = 1e-8;
    o->weight_decay = 0.1;
    o->clip = 0.5;
    o->eval_batches = 8;
    o->seed = 1;
    o->doc_reset = 1;
}

int sclaw_train_check(struct sclaw_train_opts *o, const struct sclaw_config *c)
{
    (void)c;
    if (o->steps < 1)
        return sclaw_fail(SCLAW_E_ARG, "training needs at least one step (got %lld)",
                          (long long)o->steps);
    if (o->batch < 1)
        return sclaw_fail(SCLAW_E_ARG, "option 'batch' must be at least 1 (got %lld)",
                          (long long)o->batch);
    if (!(o->lr > 0) || !isfinite(o->lr))
        return sclaw_fail(SCLAW_E_ARG, "option 'lr' must be positive (got %g)", o->lr);
    if (!o->warmup) {
        o->warmup = o->steps / 10 > 1 ? o->steps / 10 : 1;
        if (o->warmup > 750)
            o->warmup = 750;
    }
    if (o->warmup < 1 || o->warmup > o->steps)
        return sclaw_fail(SCLAW_E_ARG, "option 'warmup' must be in 1..%lld (got %lld)",
                          (long long)o->steps, (long long)o->warmup);
    if (o->cooldown < 0 || o->warmup + o->cooldown > o->steps)
        return sclaw_fail(SCLAW_E_ARG, "options 'warmup' + 'cooldown' (%lld) exceed the %lld steps",
                          (long long)(o->warmup + o->cooldown), (long long)o->steps);
    if (o->eval_every < 0 || o->save_every < 0 || o->eval_batches < 1)
        return sclaw_fail(SCLAW_E_ARG, "options 'eval_every', 'save_every' must be >= 0 and "
                                       "'eval_batches' >= 1");
    if (!(o->beta1 >= 0 && o->beta1 < 1 && o->beta2 >= 0 && o->beta2 < 1 && o->eps > 0 &&
          o->weight_decay >= 0 && o->clip >= 0 && o->min_lr_ratio >= 0 && o->min_lr_ratio <= 1))
        return sclaw_fail(SCLAW_E_ARG, "AdamW/schedule hyperparameters out of range");
    return SCLAW_OK;
}

#define OPT_INT(X) X(batch) X(steps) X(warmup) X(cooldown) X(eval_every) X(eval_batches) X(save_every) X(doc_reset)
#define OPT_REAL(X) X(lr) X(min_lr_ratio) X(beta1) X(beta2) X(eps) X(weight_decay) X(clip)

json_t *sclaw_train_opts_to_json(const struct sclaw_train_opts *o)
{
    json_t *j = json_object();
#define SET_I(k) json_object_set_new(j, #k, json_integer((json_int_t)o->k));
#define SET_R(k) json_object_set_new(j, #k, json_real(o->k));
    OPT_INT(SET_I)
    OPT_REAL(SET_R)
#undef SET_I
#undef SET_R
    json_object_set_new(j, "seed", json_integer((json_int_t)o->seed));
    return j;
}

int sclaw_train_opts_from_json(struct sclaw_train_opts *o, const json_t *j, const char *where)
{
    const json_t *v;
#define GET_I(k)                                                                               \
    if (!json_is_integer(v = json_object_get(j, #k)))                                          \
        return sclaw_fail(SCLAW_E_FORMAT, "%s: key '%s' missing or not an integer", where, #k); \
    o->k = (__typeof__(o->k))json_integer_value(v);
#define GET_R(k)                                                                              \
    if (!json_is_number(v = json_object_get(j, #k)))                                         \
        return sclaw_fail(SCLAW_E_FORMAT, "%s: key '%s' missing or not a number", where, #k); \
    o->k = json_number_value(v);
    OPT_INT(GET_I)
    OPT_REAL(GET_R)
    GET_I(seed)
#undef GET_I
#undef GET_R
    return SCLAW_OK;
}

/* ---- evaluation ----------------------------------------------------------- */

int sclaw_eval_loss(struct sclaw_model *m, struct sclaw_batch_source *src, int64_t n,
                    int64_t B, double *loss)
{
    const int64_t T = m->T, N = B * T;
    int32_t *in = malloc((size_t)N * sizeof *in), *tg = malloc((size_t)N * sizeof *tg),
            *sg = malloc((size_t)N * sizeof *sg);
    double sum = 0;
    int64_t cnt = 0;
    int st = SCLAW_OK;
    if (!in || !tg || !sg) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    if (src->rewind && (st = src->rewind(src->ctx)))
        goto done;
    for (int64_t i = 0; i < n; i++) {
        double l;
        int64_t k;
        if ((st = src->next(src->ctx, in, tg, sg, B, T)))
            goto done;
        struct sclaw_lm_batch b = {B, T, in, tg, sg};
        if ((st = sclaw_model_forward(m, &b, &l, &k)))
            goto done;
        sum += l * (double)k;
        cnt += k;
    }
    *loss = cnt ? sum / (double)cnt : NAN;
done:
    free(in);
    free(tg);
    free(sg);
    return st;
}

/* ---- run directory ---------------------------------------------------------- */

struct run {
    char dir[4096];
    struct sclaw_config cfg;
    struct sclaw_train_opts o;
    struct sclaw_model m;
    struct sclaw_adamw opt;
    struct sclaw_csv log;
    int64_t step, start_step;
    double tokens, flops, elapsed, last_loss, last_val;
    int64_t last_save;          /* step of the last checkpoint, -1 if none */
    int32_t *in, *tgt, *seg;
};

static const char *const log_cols[] = {"step", "tokens", "flops", "lr", "train_loss",
                                       "val_loss", "grad_norm", "tokens_per_s"};
enum { C_STEP, C_TOK, C_FLOP, C_LR, C_LOSS, C_VAL, C_GN, C_TPS, C_N };

static char *path_in(const struct run *r, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", r->dir, name);
    return buf;
}

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int make_dir(const char *d)
{
    if (mkdir(d, 0777) != 0 && errno != EEXIST)
        return sclaw_fail(SCLAW_E_IO, "cannot create run directory '%s': %s", d, strerror(errno));
    struct stat sb;
    if (stat(d, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return sclaw_fail(SCLAW_E_IO, "run directory '%s' is not a directory", d);
    if (access(d, W_OK) != 0)
        return sclaw_fail(SCLAW_E_IO, "cannot write run directory '%s': %s", d, strerror(errno));
    return SCLAW_OK;
}

static json_t *state_json(const struct run *r, struct sclaw_batch_source *train)
{
    json_t *s = json_object();
    json_object_set_new(s, "step", json_integer((json_int_t)r->step));
    json_object_set_new(s, "adam_step", json_integer((json_int_t)r->opt.t));
    json_object_set_new(s, "tokens", json_real(r->tokens));
    json_object_set_new(s, "flops", json_real(r->flops));
    json_object_set_new(s, "elapsed_s", json_real(r->elapsed));
    json_object_set_new(s, "train_loss", sclaw_json_number(r->last_loss));
    json_object_set_new(s, "val_loss", sclaw_json_number(r->last_val));
    json_object_set_new(s, "train_data", train->save ? train->save(train->ctx) : json_null());
    return s;
}

/* log.csv, then checkpoint.safetensors, each atomic. In that order a kill
 * between the two writes leaves the log ahead of the checkpoint, never behind
 * it, and a resume drops the rows past the checkpoint's step (load_log) and
 * redoes those steps: the log always ends up complete. */
static int save_checkpoint(struct run *r, struct sclaw_batch_source *train)
{
    char p[4200];
    int st = sclaw_csv_write(&r->log, path_in(r, "log.csv", p, sizeof p));
    if (st)
        return st;
    json_t *s = state_json(r, train);
    st = sclaw_ckpt_save(path_in(r, "checkpoint.safetensors", p, sizeof p), &r->m, &r->opt, s);
    json_decref(s);
    if (!st)
        r->last_save = r->step;
    return st;
}

/* model.safetensors: the params alone, loadable by Hugging Face tools */
static int save_model(const struct run *r)
{
    char p[4200];
    json_t *meta = json_pack("{s:s, s:s}", "format", "pt", "model_type", r->cfg.arch->name);
    int st = sclaw_st_save_table(path_in(r, "model.safetensors", p, sizeof p), &r->m.tt,
                                 r->m.params, "", meta);
    json_decref(meta);
    return st;
}

static int log_row(struct run *r, double loss, double val, double lr, double gn, double tps)
{
    int64_t row;
    int st = sclaw_csv_add_row(&r->log, &row);
    if (st)
        return st;
    const double v[C_N] = {(double)r->step, r->tokens, r->flops, lr, loss, val, gn, tps};
    for (int c = 0; c < C_N; c++)
        if ((st = sclaw_csv_set_double(&r->log, row, c, v[c])))
            return st;
    return SCLAW_OK;
}

/* Load log.csv keeping the rows up to step `upto`. */
static int load_log(struct run *r, int64_t upto)
{
    char p[4200];
    struct sclaw_csv old;
    int st;
    path_in(r, "log.csv", p, sizeof p);
    if (!exists(p))
        return SCLAW_OK;
    if ((st = sclaw_csv_read(&old, p)))
        return st;
    int64_t col[C_N];
    for (int c = 0; c < C_N; c++)
        if ((st = sclaw_csv_require(&old, log_cols[c], &col[c])))
            goto done;
    for (int64_t i = 0; i < old.nrows; i++) {
        double s;
        if ((st = sclaw_csv_double(&old, i, col[C_STEP], &s)))
            goto done;
        if (s > (double)upto)
            break;
        int64_t row;
        if ((st = sclaw_csv_add_row(&r->log, &row)))
            goto done;
        for (int c = 0; c < C_N; c++)
            if ((st = sclaw_csv_set(&r->log, row, c, sclaw_csv_cell(&old, i, col[c]))))
                goto done;
    }
done:
    sclaw_csv_free(&old);
    return st;
}

static int write_result(struct run *r, double wall)
{
    char p[4200];
    struct sclaw_params np;
    sclaw_count_params(&r->cfg, &np);
    json_t *j = sclaw_config_to_json(&r->cfg);
    json_object_set_new(j, "model_type", json_string(r->cfg.arch->name));
    json_object_set_new(j, "status", json_string("finished"));
    json_object_set_new(j, "num_params", sclaw_json_number(np.total));
    json_object_set_new(j, "num_params_noembed", sclaw_json_number(np.noembed));
    json_object_set_new(j, "num_params_noembed_nohead", sclaw_json_number(np.noembed_nohead));
    json_object_set_new(j, "num_tokens_training", sclaw_json_number(r->tokens));
    json_object_set_new(j, "num_flops_training", sclaw_json_number(r->flops));
    json_object_set_new(j, "flops_6ND", sclaw_json_number(6.0 * np.total * r->tokens));
    json_object_set_new(j, "token_param_ratio", sclaw_json_number(r->tokens / np.total));
    json_object_set_new(j, "val_loss", sclaw_json_number(r->last_val));
    json_object_set_new(j, "train_loss", sclaw_json_number(r->last_loss));
    json_object_set_new(j, "global_batch_size", json_integer((json_int_t)r->o.batch));
    json_object_set_new(j, "learning_rate", json_real(r->o.lr));
    json_object_set_new(j, "num_lr_warmup_steps", json_integer((json_int_t)r->o.warmup));
    json_object_set_new(j, "num_train_steps", json_integer((json_int_t)r->o.steps));
    json_object_set_new(j, "weight_decay", json_real(r->o.weight_decay));
    json_object_set_new(j, "grad_clip", json_real(r->o.clip));
    json_object_set_new(j, "seed", json_integer((json_int_t)r->o.seed));
    json_object_set_new(j, "reset_at_document_boundaries", json_boolean(r->o.doc_reset));
    json_object_set_new(j, "dataset", r->o.data_name ? json_string(r->o.data_name) : json_null());
    json_object_set_new(j, "threads", json_integer(sclaw_threads_get()));
    json_object_set_new(j, "train_time_s", json_real(r->elapsed));
    json_object_set_new(j, "tokens_per_s", sclaw_json_number(wall > 0 ? r->tokens / wall : NAN));
    json_object_set_new(j, "peak_rss_bytes", sclaw_json_number(sclaw_peak_rss()));
    int st = sclaw_json_write(path_in(r, "result.json", p, sizeof p), j);
    json_decref(j);
    return st;
}

static void run_free(struct run *r)
{
    sclaw_model_free(&r->m);
    sclaw_adamw_free(&r->opt);
    sclaw_csv_free(&r->log);
    free(r->in);
    free(r->tgt);
    free(r->seg);
}

/* Set up r for a new run or a resumed one (config, options, files). A new run
 * refuses a directory that already holds one (finished or not), so nothing is
 * overwritten by accident; a resumed run takes config and options from the
 * directory (train.json is what makes the continuation identical), and only
 * the per-invocation settings (stop_after, interrupt flag, data name) from o. */
static int open_run(struct run *r, const struct sclaw_config *c, const struct sclaw_train_opts *o,
                    int resume)
{
    char p[4200];
    int st;
    path_in(r, "config.json", p, sizeof p);
    if (!resume) {
        if (exists(path_in(r, "result.json", p, sizeof p)))
            return sclaw_fail(SCLAW_E_ARG,
                              "run directory '%s' holds a finished run; use --resume or another "
                              "directory",
                              r->dir);
        if (exists(path_in(r, "train.json", p, sizeof p)))
            return sclaw_fail(SCLAW_E_ARG,
                              "run directory '%s' holds an unfinished run; continue it with "
                              "--resume",
                              r->dir);
        r->cfg = *c;
        r->o = *o;
        if ((st = sclaw_train_check(&r->o, &r->cfg)))
            return st;
        if ((st = sclaw_config_save(&r->cfg, path_in(r, "config.json", p, sizeof p))))
            return st;
        json_t *j = sclaw_train_opts_to_json(&r->o);
        st = sclaw_json_write(path_in(r, "train.json", p, sizeof p), j);
        json_decref(j);
        return st;
    }
    if (!exists(path_in(r, "train.json", p, sizeof p)))
        return sclaw_fail(SCLAW_E_ARG, "nothing to resume: '%s' holds no run (no train.json)",
                          r->dir);
    if ((st = sclaw_config_load(&r->cfg, path_in(r, "config.json", p, sizeof p))))
        return st;
    if (c) { /* a config given on resume must be the run's */
        json_t *a = sclaw_config_to_json(c), *b = sclaw_config_to_json(&r->cfg);
        int same = json_equal(a, b);
        json_decref(a);
        json_decref(b);
        if (!same)
            return sclaw_fail(SCLAW_E_ARG, "the config differs from the run's '%s/config.json'",
                              r->dir);
    }
    json_t *j;
    if ((st = sclaw_json_load(path_in(r, "train.json", p, sizeof p), &j)))
        return st;
    sclaw_train_defaults(&r->o, &r->cfg);
    st = sclaw_train_opts_from_json(&r->o, j, p);
    json_decref(j);
    if (st)
        return st;
    if (o) { /* per-invocation settings */
        r->o.stop_after = o->stop_after;
        r->o.interrupt = o->interrupt;
        r->o.data_name = o->data_name;
    }
    return sclaw_train_check(&r->o, &r->cfg);
}

int sclaw_train_run(const struct sclaw_config *c, const struct sclaw_train_opts *o,
                    const char *rundir, int resume, struct sclaw_batch_source *train,
                    struct sclaw_batch_source *val, sclaw_train_progress_fn progress, void *user,
                    struct sclaw_train_result *res)
{
    struct run r;
    char p[4200];
    int st;
    memset(&r, 0, sizeof r);
    memset(res, 0, sizeof *res);
    r.last_save = -1;
    r.last_val = NAN;
    r.last_loss = NAN;
    if (strlen(rundir) >= sizeof r.dir - 64)
        return sclaw_fail(SCLAW_E_ARG, "run directory path too long");
    snprintf(r.dir, sizeof r.dir, "%s", rundir);
    if ((st = make_dir(r.dir)))
        return st;
    if ((st = open_run(&r, c, o, resume)))
        goto done;
    const int64_t B = r.o.batch, T = r.cfg.context_length, N = B * T;
    if ((st = sclaw_model_init(&r.m, &r.cfg)))
        goto done;
    r.m.doc_reset = r.o.doc_reset;
    if ((st = sclaw_model_reserve(&r.m, B, T)))
        goto done;
    if ((st = sclaw_adamw_init(&r.opt, &r.m.tt, r.o.beta1, r.o.beta2, r.o.eps, r.o.weight_decay)))
        goto done;
    if ((st = sclaw_csv_init(&r.log, C_N, log_cols)))
        goto done;
    r.in = malloc((size_t)N * sizeof *r.in);
    r.tgt = malloc((size_t)N * sizeof *r.tgt);
    r.seg = malloc((size_t)N * sizeof *r.seg);
    if (!r.in || !r.tgt || !r.seg) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }

    path_in(&r, "checkpoint.safetensors", p, sizeof p);
    if (resume && exists(path_in(&r, "result.json", p, sizeof p))) {
        /* nothing left to do: report the finished run */
        json_t *j;
        if ((st = sclaw_json_load(p, &j)))
            goto done;
        res->finished = 1;
        res->step = r.o.steps;
        res->val_loss = json_number_value(json_object_get(j, "val_loss"));
        res->train_loss = json_number_value(json_object_get(j, "train_loss"));
        res->tokens = json_number_value(json_object_get(j, "num_tokens_training"));
        res->flops = json_number_value(json_object_get(j, "num_flops_training"));
        res->peak_rss = sclaw_peak_rss();
        json_decref(j);
        goto done;
    }
    /* Resume: params, Adam state and counters from the one checkpoint file;
     * log rows past its step (written before a kill) are dropped and redone. */
    path_in(&r, "checkpoint.safetensors", p, sizeof p);
    if (resume && exists(p)) {
        json_t *s = NULL;
        if ((st = sclaw_ckpt_load(p, &r.m, &r.opt, &s)))
            goto done;
        if (!s) {
            st = sclaw_fail(SCLAW_E_FORMAT, "%s: no 'sclaw_state' metadata", p);
            goto done;
        }
        r.step = (int64_t)json_integer_value(json_object_get(s, "step"));
        r.opt.t = (int64_t)json_integer_value(json_object_get(s, "adam_step"));
        r.tokens = json_number_value(json_object_get(s, "tokens"));
        r.flops = json_number_value(json_object_get(s, "flops"));
        r.elapsed = json_number_value(json_object_get(s, "elapsed_s"));
        const json_t *ld = json_object_get(s, "train_loss"), *vd = json_object_get(s, "val_loss");
        r.last_loss = json_is_number(ld) ? json_number_value(ld) : NAN;
        r.last_val = json_is_number(vd) ? json_number_value(vd) : NAN;
        const json_t *ds = json_object_get(s, "train_data");
        if (train->load && ds && !json_is_null(ds))
            st = train->load(train->ctx, ds);
        json_decref(s);
        if (st)
            goto done;
        if (r.step < 0 || r.step > r.o.steps) {
            st = sclaw_fail(SCLAW_E_FORMAT, "%s: step %lld outside the run's %lld steps", p,
                            (long long)r.step, (long long)r.o.steps);
            goto done;
        }
        r.last_save = r.step;
        if ((st = load_log(&r, r.step)))
            goto done;
    } else {
        /* a new run, or one killed before its first checkpoint: from scratch */
        sclaw_model_init_params(&r.m, r.o.seed);
    }
    r.start_step = r.step;

    struct sclaw_flop_opts fo = {SCLAW_MLSTM_FLOPS_FIRST, SCLAW_ATTN_FLOPS_DISTILL};
    const double flops_step = sclaw_count_training_flops(&r.cfg, &fo, (double)B, 1.0);
    const struct sclaw_lr_schedule sched = {r.o.lr, r.o.min_lr_ratio, r.o.warmup, r.o.steps,
                                            r.o.cooldown};
    double run_time = 0;
    /* One step: batch -> forward/backward -> finite check -> clip -> AdamW.
     * Everything that decides the numbers (params, Adam m/v/t, the LR as a
     * function of the step, the data position) is in the checkpoint, and
     * every reduction has a fixed order, so a resumed run continues with the
     * same bits as an uninterrupted one (same thread count). Wall-clock
     * quantities (tokens_per_s, elapsed) are the only things that differ. */
    while (r.step < r.o.steps) {
        if (r.o.interrupt && *r.o.interrupt) {
            if ((st = save_checkpoint(&r, train)))
                goto done;
            st = sclaw_fail(SCLAW_E_INTERRUPTED, "interrupted at step %lld; checkpoint saved in '%s'",
                            (long long)r.step, r.dir);
            goto done;
        }
        double t0 = now_s(), loss;
        if ((st = train->next(train->ctx, r.in, r.tgt, r.seg, B, T)))
            goto done;
        struct sclaw_lm_batch b = {B, T, r.in, r.tgt, r.seg};
        if ((st = sclaw_model_forward_backward(&r.m, &b, &loss, NULL)))
            goto done;
        double gn = sclaw_grad_norm(r.m.grads, r.m.tt.numel);
        if (!isfinite(loss) || !isfinite(gn)) {
            char last[4400];
            if (r.last_save >= 0)
                snprintf(last, sizeof last, "last good checkpoint: '%s/checkpoint.safetensors' (step %lld)",
                         r.dir, (long long)r.last_save);
            else
                snprintf(last, sizeof last, "no checkpoint was saved");
            st = sclaw_fail(SCLAW_E_NUMERIC, "step %lld: %s is %g; %s", (long long)r.step + 1,
                            isfinite(loss) ? "gradient norm" : "training loss",
                            isfinite(loss) ? gn : loss, last);
            goto done;
        }
        /* global-norm clipping (optax clip_by_global_norm) */
        double gscale = r.o.clip > 0 && gn > r.o.clip ? r.o.clip / gn : 1.0;
        double lr = sclaw_lr_at(&sched, r.step);
        sclaw_adamw_step(&r.opt, r.m.params, r.m.grads, lr, gscale);
        r.step++;
        r.tokens += (double)N;
        r.flops += flops_step;
        r.last_loss = loss;
        double dt = now_s() - t0;
        r.elapsed += dt;
        run_time += dt;
        /* validation rewinds its source, so it never shifts the training
         * stream; the final step always evaluates (result.json's val_loss) */
        double vl = NAN;
        if (r.o.eval_every && r.step % r.o.eval_every == 0 && r.step < r.o.steps && val) {
            if ((st = sclaw_eval_loss(&r.m, val, r.o.eval_batches, B, &vl)))
                goto done;
            r.last_val = vl;
        }
        if (r.step == r.o.steps && val) {
            if ((st = sclaw_eval_loss(&r.m, val, r.o.eval_batches, B, &vl)))
                goto done;
            r.last_val = vl;
        }
        if ((st = log_row(&r, loss, vl, lr, gn, (double)N / dt)))
            goto done;
        if (progress) {
            double per = run_time / (double)(r.step - r.start_step);
            struct sclaw_train_progress pr = {r.step, r.o.steps, loss, lr, gn, (double)N / dt,
                                              r.elapsed, per * (double)(r.o.steps - r.step), vl};
            progress(&pr, user);
        }
        /* --stop-after and periodic saves checkpoint between steps; the log
         * is written with each checkpoint, so log and checkpoint agree */
        int stop = r.o.stop_after && r.step - r.start_step >= r.o.stop_after;
        if (r.step < r.o.steps && (stop || (r.o.save_every && r.step % r.o.save_every == 0)))
            if ((st = save_checkpoint(&r, train)))
                goto done;
        if (stop && r.step < r.o.steps)
            break;
    }
    if (r.step == r.o.steps) {
        if ((st = save_checkpoint(&r, train)))
            goto done;
        if ((st = save_model(&r)))
            goto done;
        if ((st = write_result(&r, run_time)))
            goto done;
        res->finished = 1;
    }
    res->step = r.step;
    res->train_loss = r.last_loss;
    res->val_loss = r.last_val;
    res->tokens = r.tokens;
    res->flops = r.flops;
    res->peak_rss = sclaw_peak_rss();
done:
    run_free(&r);
    return st;
}
