/* tensor.c - the tensor table (sclaw_tensor.h): parameter plan, init rules
 * (models.md §1.3, §2), aligned float buffers. */
#include "sclaw_tensor.h"
#include "sclaw_status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sclaw_tensor_table_add(struct sclaw_tensor_table *tt, const char *name, int ndim,
                           int64_t d0, int64_t d1, int decay, enum sclaw_init init, double a,
                           double b, int64_t layer)
{
    SCLAW_ASSERT(ndim == 1 || ndim == 2);
    if (strlen(name) >= SCLAW_TENSOR_NAME_MAX)
        return sclaw_fail(SCLAW_E_ARG, "tensor name '%s' is too long", name);
    if (sclaw_tensor_table_find(tt, name) >= 0)
        return sclaw_fail(SCLAW_E_ARG, "duplicate tensor name '%s'", name);
    if (d0 < 1 || (ndim == 2 && d1 < 1))
        return sclaw_fail(SCLAW_E_SHAPE, "tensor '%s': empty shape", name);
    if (tt->n == tt->cap) {
        int64_t cap = tt->cap ? 2 * tt->cap : 32;
        struct sclaw_tensor_info *t = realloc(tt->t, (size_t)cap * sizeof *t);
        if (!t)
            return sclaw_fail(SCLAW_E_NOMEM, "out of memory building the tensor table");
        tt->t = t;
        tt->cap = cap;
    }
    struct sclaw_tensor_info *t = &tt->t[tt->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = ndim == 2 ? d1 : 1;
    t->numel = d0 * t->shape[1];
    t->offset = tt->numel;
    t->decay = decay;
    t->init = init;
    t->a = a;
    t->b = b;
    t->layer = layer;
    tt->numel += t->numel;
    return SCLAW_OK;
}

int64_t sclaw_tensor_table_find(const struct sclaw_tensor_table *tt, const char *name)
{
    for (int64_t i = 0; i < tt->n; i++)
        if (!strcmp(tt->t[i].name, name))
            return i;
    return -1;
}

void sclaw_tensor_table_free(struct sclaw_tensor_table *tt)
{
    free(tt->t);
    memset(tt, 0, sizeof *tt);
}

char *sclaw_tensor_shape_str(const struct sclaw_tensor_info *t, char *buf, size_t n)
{
    if (t->ndim == 1)
        snprintf(buf, n, "[%lld]", (long long)t->shape[0]);
    else
        snprintf(buf, n, "[%lld,%lld]", (long long)t->shape[0], (long long)t->shape[1]);
    return buf;
}

float *sclaw_alloc_floats(int64_t n)
{
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

/* splitmix64: the stream generator for init (small, fast, good enough for
 * Gaussian weights; every tensor gets its own seed so streams never overlap
 * in a way that matters). */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* FNV-1a of the name: makes each tensor's stream depend on its name only. */
static uint64_t hash_name(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static double uniform01(uint64_t *s)
{
    /* 53 random bits in (0, 1]: never 0, so log() below is finite */
    return ((double)(splitmix64(s) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

void sclaw_tensor_table_init(const struct sclaw_tensor_table *tt, float *params, uint64_t seed)
{
    for (int64_t i = 0; i < tt->n; i++) {
        const struct sclaw_tensor_info *t = &tt->t[i];
        float *p = params + t->offset;
        uint64_t s = seed ^ hash_name(t->name);
        switch (t->init) {
        case SCLAW_INIT_NORMAL:
            /* Box-Muller, both outputs used */
            for (int64_t j = 0; j < t->numel; j += 2) {
                double r = sqrt(-2.0 * log(uniform01(&s))), phi = 2.0 * M_PI * uniform01(&s);
                p[j] = (float)(t->a * r * cos(phi));
                if (j + 1 < t->numel)
                    p[j + 1] = (float)(t->a * r * sin(phi));
            }
            break;
        case SCLAW_INIT_CONST:
            for (int64_t j = 0; j < t->numel; j++)
                p[j] = (float)t->a;
            break;
        case SCLAW_INIT_LINSPACE:
            for (int64_t j = 0; j < t->numel; j++)
                p[j] = (float)(t->numel > 1 ? t->a + (t->b - t->a) * (double)j / (double)(t->numel - 1)
                                            : t->a);
            break;
        }
    }
}
