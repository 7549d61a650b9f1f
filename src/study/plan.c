/* plan.c - IsoFLOP and token/param study plans from a compute budget
 * (sclaw_study.h; accounting-and-fits.md §2.6, §5; models.md §5.3). */
#include "sclaw_study.h"
#include "sclaw_account.h"
#include "sclaw_io.h"
#include "sclaw_status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Widths of the study family, smallest first: below 64 for the budgets of a
 * single CPU (a few 1e12 FLOPs), then the spacing of the paper's grid. */
static const int64_t widths[] = {32,  48,  64,  96,  128,  160,  192,  256,  320,  384,
                                 448, 512, 640, 768, 896, 1024, 1280, 1536, 1792, 2048};
#define NWIDTHS (int64_t)(sizeof widths / sizeof widths[0])

int sclaw_study_shape(struct sclaw_config *c, const struct sclaw_arch *a, int64_t d, int64_t vocab,
                      int64_t ctx)
{
    if (d < 32 || d % 16)
        return sclaw_fail(SCLAW_E_ARG, "model width %lld is not a multiple of 16 of at least 32",
                          (long long)d);
    memset(c, 0, sizeof *c);
    c->arch = a;
    c->embedding_dim = d;
    c->num_blocks = d / 64 + 2; /* §5.3: 128->4, 256->6, 384->8, 512->10, 640->12; 32->2 */
    c->num_heads = a->study_heads(d);
    c->vocab_size = vocab;
    c->context_length = ctx;
    snprintf(c->name, sizeof c->name, "%s d%lld", a->display, (long long)d);
    return sclaw_config_derive(c, "study shape");
}

double sclaw_study_expected_nopt(const struct sclaw_arch *a, double C)
{
    /* 20 tokens per parameter under C = 6ND, the same for both families: the
     * paper's own laws (accounting-and-fits.md §5.3) were fitted at 1e18-1e21
     * FLOPs with a 50k vocabulary and put the optimum of a 1e12-FLOP budget
     * below any model with an embedding table, so they make a poor centre at
     * the scale of one machine */
    (void)a;
    return sqrt(C / 120.0);
}

static int add_run(struct sclaw_plan *p, struct sclaw_plan_run **out)
{
    if (p->nruns == p->cap) {
        int64_t cap = p->cap ? 2 * p->cap : 32;
        struct sclaw_plan_run *r = realloc(p->runs, (size_t)cap * sizeof *r);
        if (!r)
            return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        p->runs = r;
        p->cap = cap;
    }
    *out = &p->runs[p->nruns++];
    memset(*out, 0, sizeof **out);
    return SCLAW_OK;
}

/* "1e+14" -> "1e14", "3.5e+14" -> "3.5e14" */
static void budget_label(char *buf, size_t n, double C)
{
    char tmp[32], *o = buf;
    snprintf(tmp, sizeof tmp, "%.3g", C);
    for (const char *s = tmp; *s && o + 1 < buf + n; s++)
        if (*s != '+')
            *o++ = *s;
    *o = '\0';
}

/* Fill the training length and accounting of run r for `steps` steps. */
static void set_length(struct sclaw_plan_run *r, const struct sclaw_plan_opts *o, int64_t steps)
{
    struct sclaw_params pc;
    sclaw_count_params(&r->config, &pc);
    r->steps = steps;
    r->batch = o->batch;
    r->lr = o->lr;
    r->seed = o->seed;
    /* sclaw train takes 1 <= warmup <= steps */
    r->warmup = o->warmup >= 0 ? (o->warmup < steps ? o->warmup : steps)
                               : (int64_t)llround(0.1 * (double)steps);
    if (r->warmup < 1)
        r->warmup = 1;
    r->num_params = pc.total;
    r->num_tokens_training = sclaw_count_training_tokens(&r->config, (double)o->batch, (double)steps);
    r->num_flops_training =
        sclaw_count_training_flops(&r->config, NULL, (double)o->batch, (double)steps);
}

static struct sclaw_plan_opts with_defaults(const struct sclaw_plan_opts *o)
{
    struct sclaw_plan_opts d = *o;
    if (!d.points)
        d.points = 5;
    if (!d.batch)
        d.batch = 16;
    if (!(d.lr > 0))
        d.lr = 3e-3;
    if (!d.min_steps)
        d.min_steps = 20;
    return d;
}

static void plan_init(struct sclaw_plan *p, const char *kind, const struct sclaw_plan_opts *o)
{
    memset(p, 0, sizeof *p);
    snprintf(p->kind, sizeof p->kind, "%s", kind);
    if (o->data)
        snprintf(p->data, sizeof p->data, "%s", o->data);
}

static int check_common(const struct sclaw_plan_opts *o)
{
    if (o->narchs < 1)
        return sclaw_fail(SCLAW_E_ARG, "no model type given");
    if (o->ctx < 1 || o->vocab < 2)
        return sclaw_fail(SCLAW_E_ARG, "context length and vocabulary size must be positive");
    return SCLAW_OK;
}

/* One family at one budget: candidates whose rounded step count hits C to
 * within 1% and trains for at least min_steps, then `points` consecutive
 * candidates centred on the one nearest the expected optimum (in log N). */
static int plan_budget(struct sclaw_plan *p, const struct sclaw_plan_opts *o,
                       const struct sclaw_arch *a, double C)
{
    struct sclaw_config cfg[NWIDTHS];
    int64_t steps[NWIDTHS], valid[NWIDTHS], nvalid = 0;
    double logn[NWIDTHS];
    char label[32];
    budget_label(label, sizeof label, C);
    for (int64_t w = 0; w < NWIDTHS; w++) {
        struct sclaw_flops f;
        struct sclaw_params pc;
        int st = sclaw_study_shape(&cfg[w], a, widths[w], o->vocab, o->ctx);
        if (st)
            return st;
        sclaw_count_flops(&cfg[w], 0, NULL, &f);
        sclaw_count_params(&cfg[w], &pc);
        steps[w] = (int64_t)llround(C / ((double)o->batch * f.fwbw));
        double achieved = (double)steps[w] * (double)o->batch * f.fwbw;
        if (steps[w] < o->min_steps || fabs(achieved - C) > 0.01 * C)
            continue;
        logn[nvalid] = log(pc.total);
        valid[nvalid++] = w;
    }
    if (nvalid == 0) {
        sclaw_warn("budget %s: no %s shape trains for at least %lld steps; budget skipped", label,
                   a->display, (long long)o->min_steps);
        return SCLAW_OK;
    }
    double target = log(o->center > 0 ? o->center : sclaw_study_expected_nopt(a, C));
    int64_t best = 0;
    for (int64_t i = 1; i < nvalid; i++)
        if (fabs(logn[i] - target) < fabs(logn[best] - target))
            best = i;
    int64_t lo = best - (o->points - 1) / 2;
    if (lo + o->points > nvalid)
        lo = nvalid - o->points;
    if (lo < 0)
        lo = 0;
    int64_t hi = lo + o->points < nvalid ? lo + o->points : nvalid;
    if (hi - lo < o->points)
        sclaw_warn("budget %s: only %lld %s shapes fit (wanted %lld)", label, (long long)(hi - lo),
                   a->display, (long long)o->points);
    for (int64_t i = lo; i < hi; i++) {
        struct sclaw_plan_run *r;
        int64_t w = valid[i];
        int st = add_run(p, &r);
        if (st)
            return st;
        r->config = cfg[w];
        r->budget = C;
        set_length(r, o, steps[w]);
        snprintf(r->name, sizeof r->name, "%s-%s-d%lld", a == &sclaw_arch_mlstm ? "xlstm" : a->name,
                 label, (long long)widths[w]);
    }
    return SCLAW_OK;
}

int sclaw_plan_isoflop(struct sclaw_plan *p, const struct sclaw_plan_opts *opts)
{
    struct sclaw_plan_opts o = with_defaults(opts);
    int st = check_common(&o);
    plan_init(p, "isoflop", &o);
    if (st)
        return st;
    if (o.nbudgets < 1)
        return sclaw_fail(SCLAW_E_ARG, "no budget given");
    for (int64_t b = 0; b < o.nbudgets; b++) {
        if (!(o.budgets[b] > 0) || !isfinite(o.budgets[b]))
            return sclaw_fail(SCLAW_E_ARG, "budget %g is not a positive number", o.budgets[b]);
        for (int64_t a = 0; a < o.narchs; a++)
            if ((st = plan_budget(p, &o, o.archs[a], o.budgets[b])))
                return st;
    }
    if (!p->nruns)
        return sclaw_fail(SCLAW_E_ARG, "no run fits any budget: raise the budgets or lower --batch");
    return SCLAW_OK;
}

int sclaw_plan_tokenparam(struct sclaw_plan *p, const struct sclaw_plan_opts *opts)
{
    struct sclaw_plan_opts o = with_defaults(opts);
    int st = check_common(&o);
    plan_init(p, "tokenparam", &o);
    if (st)
        return st;
    if (o.nratios < 1 || o.nwidths < 1)
        return sclaw_fail(SCLAW_E_ARG, "token/param plans need ratios and sizes");
    for (int64_t a = 0; a < o.narchs; a++)
        for (int64_t w = 0; w < o.nwidths; w++)
            for (int64_t k = 0; k < o.nratios; k++) {
                struct sclaw_config c;
                struct sclaw_params pc;
                struct sclaw_plan_run *r;
                if (!(o.ratios[k] > 0))
                    return sclaw_fail(SCLAW_E_ARG, "ratio %g is not positive", o.ratios[k]);
                if ((st = sclaw_study_shape(&c, o.archs[a], o.widths[w], o.vocab, o.ctx)))
                    return st;
                sclaw_count_params(&c, &pc);
                double tokens_per_step = (double)o.batch * (double)o.ctx;
                int64_t steps = (int64_t)llround(o.ratios[k] * pc.total / tokens_per_step);
                if (steps < 1)
                    steps = 1;
                if ((st = add_run(p, &r)))
                    return st;
                r->config = c;
                r->ratio = o.ratios[k];
                set_length(r, &o, steps);
                snprintf(r->name, sizeof r->name, "%s-d%lld-r%g",
                         o.archs[a] == &sclaw_arch_mlstm ? "xlstm" : o.archs[a]->name,
                         (long long)o.widths[w], o.ratios[k]);
            }
    return SCLAW_OK;
}

json_t *sclaw_plan_to_json(const struct sclaw_plan *p)
{
    json_t *o = json_object(), *runs = json_array();
    json_object_set_new(o, "kind", json_string(p->kind));
    if (p->data[0])
        json_object_set_new(o, "data", json_string(p->data));
    for (int64_t i = 0; i < p->nruns; i++) {
        const struct sclaw_plan_run *r = &p->runs[i];
        json_t *j = json_object();
        json_object_set_new(j, "name", json_string(r->name));
        if (r->budget > 0)
            json_object_set_new(j, "budget", json_real(r->budget));
        if (r->ratio > 0)
            json_object_set_new(j, "ratio", json_real(r->ratio));
        json_object_set_new(j, "config", sclaw_config_to_json(&r->config));
        json_object_set_new(j, "steps", json_integer(r->steps));
        json_object_set_new(j, "batch", json_integer(r->batch));
        json_object_set_new(j, "lr", json_real(r->lr));
        json_object_set_new(j, "warmup", json_integer(r->warmup));
        json_object_set_new(j, "seed", json_integer(r->seed));
        json_object_set_new(j, "num_params", sclaw_json_number(r->num_params));
        json_object_set_new(j, "num_tokens_training", sclaw_json_number(r->num_tokens_training));
        json_object_set_new(j, "num_flops_training", sclaw_json_number(r->num_flops_training));
        json_array_append_new(runs, j);
    }
    json_object_set_new(o, "runs", runs);
    return o;
}

int sclaw_plan_save(const struct sclaw_plan *p, const char *path)
{
    json_t *o = sclaw_plan_to_json(p);
    int st = sclaw_json_write(path, o);
    json_decref(o);
    return st;
}

/* An integer member of a run object, >= lo. */
static int run_int(const json_t *j, const char *key, int64_t lo, int64_t *out, const char *where)
{
    const json_t *v = json_object_get(j, key);
    if (!v)
        return sclaw_fail(SCLAW_E_FORMAT, "%s: missing key '%s'", where, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo)
        return sclaw_fail(SCLAW_E_FORMAT, "%s: key '%s' must be an integer >= %lld", where, key,
                          (long long)lo);
    *out = json_integer_value(v);
    return SCLAW_OK;
}

static int valid_name(const char *s)
{
    if (!*s || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

static int load_run(struct sclaw_plan *p, const json_t *j, const char *path, size_t idx)
{
    char where[1200];
    struct sclaw_plan_run *r;
    int st;
    snprintf(where, sizeof where, "%s: run %zu", path, idx + 1);
    if (!json_is_object(j))
        return sclaw_fail(SCLAW_E_FORMAT, "%s: not an object", where);
    const char *name = json_string_value(json_object_get(j, "name"));
    if (!name || !valid_name(name) || strlen(name) >= sizeof r->name)
        return sclaw_fail(SCLAW_E_FORMAT,
                          "%s: key 'name' must be a short name of letters, digits, '-', '_', '.'",
                          where);
    snprintf(where, sizeof where, "%s: run '%s'", path, name);
    for (int64_t i = 0; i < p->nruns; i++)
        if (!strcmp(p->runs[i].name, name))
            return sclaw_fail(SCLAW_E_FORMAT, "%s: duplicate run name", where);
    if ((st = add_run(p, &r)))
        return st;
    snprintf(r->name, sizeof r->name, "%s", name);
    const json_t *cfg = json_object_get(j, "config");
    if (!cfg)
        return sclaw_fail(SCLAW_E_FORMAT, "%s: missing key 'config'", where);
    if ((st = sclaw_config_from_json(&r->config, cfg, where)) ||
        (st = run_int(j, "steps", 1, &r->steps, where)) ||
        (st = run_int(j, "batch", 1, &r->batch, where)) ||
        (st = run_int(j, "warmup", 1, &r->warmup, where)) ||
        (st = run_int(j, "seed", 0, &r->seed, where)))
        return st;
    const json_t *lr = json_object_get(j, "lr");
    if (!json_is_number(lr) || !(json_number_value(lr) > 0))
        return sclaw_fail(SCLAW_E_FORMAT, "%s: key 'lr' must be a positive number", where);
    r->lr = json_number_value(lr);
    r->budget = json_number_value(json_object_get(j, "budget"));
    r->ratio = json_number_value(json_object_get(j, "ratio"));
    /* the accounting is recomputed, so an edited config or step count stays exact */
    struct sclaw_plan_opts o = {0};
    o.batch = r->batch;
    o.lr = r->lr;
    o.seed = r->seed;
    o.warmup = r->warmup;
    set_length(r, &o, r->steps);
    return SCLAW_OK;
}

int sclaw_plan_load(struct sclaw_plan *p, const char *path)
{
    json_t *o;
    memset(p, 0, sizeof *p);
    int st = sclaw_json_load(path, &o);
    if (st)
        return st;
    const json_t *runs = json_object_get(o, "runs");
    const char *kind = json_string_value(json_object_get(o, "kind"));
    const char *data = json_string_value(json_object_get(o, "data"));
    if (!json_is_array(runs) || !json_array_size(runs)) {
        st = sclaw_fail(SCLAW_E_FORMAT, "%s: a plan needs a non-empty array 'runs'", path);
        goto done;
    }
    snprintf(p->kind, sizeof p->kind, "%s", kind ? kind : "custom");
    if (data)
        snprintf(p->data, sizeof p->data, "%s", data);
    size_t i;
    const json_t *j;
    json_array_foreach(runs, i, j) {
        if ((st = load_run(p, j, path, i)))
            goto done;
    }
done:
    json_decref(o);
    if (st)
        sclaw_plan_free(p);
    return st;
}

void sclaw_plan_free(struct sclaw_plan *p)
{
    free(p->runs);
    memset(p, 0, sizeof *p);
}
