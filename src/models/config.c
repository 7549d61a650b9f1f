/* config.c - model configs from and to JSON (sclaw_config.h). */
#define _POSIX_C_SOURCE 200809L
#include "sclaw_arch.h"
#include "sclaw_config.h"
#include "sclaw_io.h"
#include "sclaw_status.h"

#include <math.h>
#include <string.h>

int64_t sclaw_ffn_dim(int64_t d, double p, int64_t m, enum sclaw_ffn_round mode)
{
    /* Python: x = ceil(d*p) or floor(d*p); m * ((x + m - 1) // m) - always up. */
    double dp = (double)d * p;
    int64_t x = (int64_t)(mode == SCLAW_FFN_CEIL ? ceil(dp) : floor(dp));
    return m * ((x + m - 1) / m);
}

enum key_type { K_INT, K_REAL, K_STRING };

struct key {
    const char *name;
    enum key_type type;
    size_t offset;
    int required;
};

#define KEY(n, t, req) { #n, t, offsetof(struct sclaw_config, n), req }
/* Keys every family accepts; family-specific ones are listed in arch->own_keys
 * and must also appear here (with their storage). */
static const struct key keys[] = {
    KEY(embedding_dim, K_INT, 1),   KEY(num_blocks, K_INT, 1),
    KEY(num_heads, K_INT, 1),       KEY(vocab_size, K_INT, 1),
    KEY(context_length, K_INT, 1),  KEY(chunk_size, K_INT, 0),
    KEY(proj_factor_ffn, K_REAL, 0), KEY(proj_factor_qk, K_REAL, 0),
    KEY(ffn_multiple_of, K_INT, 0), KEY(head_dim_qk, K_INT, 0),
    KEY(head_dim_v, K_INT, 0),      KEY(ffn_dim, K_INT, 0),
    KEY(num_kv_heads, K_INT, 0),    KEY(name, K_STRING, 0),
};
#undef KEY

/* Keys that belong to one family only: not every family lists them. */
static int family_specific(const char *name)
{
    for (int i = 0; sclaw_archs[i]; i++)
        for (const char *const *k = sclaw_archs[i]->own_keys; k && *k; k++)
            if (!strcmp(*k, name))
                return 1;
    return 0;
}

static int arch_owns(const struct sclaw_arch *a, const char *name)
{
    for (const char *const *k = a->own_keys; k && *k; k++)
        if (!strcmp(*k, name))
            return 1;
    return 0;
}

static const struct key *find_key(const char *name)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(keys[i].name, name))
            return &keys[i];
    return NULL;
}

static int read_key(struct sclaw_config *c, const struct key *k, const json_t *v, const char *where)
{
    char *dst = (char *)c + k->offset;
    switch (k->type) {
    case K_INT: {
        double x;
        if (json_is_integer(v))
            x = (double)json_integer_value(v);
        else if (json_is_real(v))
            x = json_real_value(v);
        else
            return sclaw_fail(SCLAW_E_FORMAT, "%s: key '%s' must be an integer", where, k->name);
        if (x != floor(x) || fabs(x) > 9.007199254740992e15)
            return sclaw_fail(SCLAW_E_FORMAT, "%s: key '%s' must be an integer, got %g", where,
                              k->name, x);
        if (x <= 0)
            return sclaw_fail(SCLAW_E_ARG, "%s: key '%s' must be positive, got %lld", where,
                              k->name, (long long)x);
        *(int64_t *)dst = (int64_t)x;
        return SCLAW_OK;
    }
    case K_REAL: {
        if (!json_is_number(v))
            return sclaw_fail(SCLAW_E_FORMAT, "%s: key '%s' must be a number", where, k->name);
        double x = json_number_value(v);
        if (!(x > 0) || !isfinite(x))
            return sclaw_fail(SCLAW_E_ARG, "%s: key '%s' must be positive, got %g", where,
                              k->name, x);
        *(double *)dst = x;
        return SCLAW_OK;
    }
    case K_STRING:
        if (!json_is_string(v))
            return sclaw_fail(SCLAW_E_FORMAT, "%s: key '%s' must be a string", where, k->name);
        snprintf(dst, sizeof c->name, "%s", json_string_value(v));
        return SCLAW_OK;
    }
    return SCLAW_OK;
}

int sclaw_config_init(struct sclaw_config *c, const char *model_type)
{
    memset(c, 0, sizeof *c);
    c->arch = sclaw_arch_find(model_type);
    if (!c->arch)
        return sclaw_fail(SCLAW_E_ARG, "unknown model_type '%s' (expected mlstm_v1, xlstm or llama)",
                          model_type);
    return SCLAW_OK;
}

int sclaw_config_derive(struct sclaw_config *c, const char *where)
{
    if (!c->proj_factor_ffn)
        c->proj_factor_ffn = 2.667;
    if (!c->ffn_multiple_of)
        c->ffn_multiple_of = 64;
    return c->arch->derive(c, where);
}

int sclaw_config_from_json(struct sclaw_config *c, const json_t *obj, const char *where)
{
    memset(c, 0, sizeof *c);
    if (!json_is_object(obj))
        return sclaw_fail(SCLAW_E_FORMAT, "%s: a model config must be a JSON object", where);
    const json_t *mt = json_object_get(obj, "model_type");
    if (!mt)
        return sclaw_fail(SCLAW_E_FORMAT, "%s: missing key 'model_type'", where);
    if (!json_is_string(mt))
        return sclaw_fail(SCLAW_E_FORMAT, "%s: key 'model_type' must be a string", where);
    c->arch = sclaw_arch_find(json_string_value(mt));
    if (!c->arch)
        return sclaw_fail(SCLAW_E_ARG,
                          "%s: key 'model_type': unknown model type '%s' (expected mlstm_v1, "
                          "xlstm or llama)",
                          where, json_string_value(mt));

    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)obj, name, v) {
        if (!strcmp(name, "model_type"))
            continue;
        const struct key *k = find_key(name);
        if (family_specific(name) && !arch_owns(c->arch, name))
            return sclaw_fail(SCLAW_E_FORMAT, "%s: key '%s' does not apply to model_type '%s'",
                              where, name, c->arch->name);
        if (!k && !arch_owns(c->arch, name))
            return sclaw_fail(SCLAW_E_FORMAT, "%s: unknown key '%s'", where, name);
        if (!k) /* a family key stored by the family itself: read in derive */
            continue;
        int st = read_key(c, k, v, where);
        if (st)
            return st;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (keys[i].required && !json_object_get(obj, keys[i].name))
            return sclaw_fail(SCLAW_E_FORMAT, "%s: missing key '%s'", where, keys[i].name);
    /* Llama's head_dim is stored as head_dim_qk = head_dim_v */
    const json_t *hd = json_object_get(obj, "head_dim");
    if (hd) {
        struct key k = {"head_dim", K_INT, offsetof(struct sclaw_config, head_dim_qk), 0};
        int st = read_key(c, &k, hd, where);
        if (st)
            return st;
        if (c->head_dim_v && c->head_dim_v != c->head_dim_qk)
            return sclaw_fail(SCLAW_E_ARG, "%s: key 'head_dim' (%lld) disagrees with 'head_dim_v' (%lld)",
                              where, (long long)c->head_dim_qk, (long long)c->head_dim_v);
        c->head_dim_v = c->head_dim_qk;
    }
    return sclaw_config_derive(c, where);
}

int sclaw_config_load(struct sclaw_config *c, const char *path)
{
    json_t *obj;
    int st = sclaw_json_load(path, &obj);
    if (st)
        return st;
    st = sclaw_config_from_json(c, obj, path);
    json_decref(obj);
    return st;
}

json_t *sclaw_config_to_json(const struct sclaw_config *c)
{
    json_t *o = json_object();
    if (c->name[0])
        json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "model_type", json_string(c->arch->name));
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct key *k = &keys[i];
        if (k->type == K_STRING)
            continue;
        if (family_specific(k->name) && !arch_owns(c->arch, k->name))
            continue;
        const char *p = (const char *)c + k->offset;
        if (k->type == K_INT)
            json_object_set_new(o, k->name, json_integer(*(const int64_t *)p));
        else
            json_object_set_new(o, k->name, json_real(*(const double *)p));
    }
    return o;
}

int sclaw_config_save(const struct sclaw_config *c, const char *path)
{
    json_t *o = sclaw_config_to_json(c);
    int st = sclaw_json_write(path, o);
    json_decref(o);
    return st;
}
