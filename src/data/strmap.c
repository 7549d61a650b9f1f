/* strmap.c - the byte-string -> int64 hash table of data_internal.h (used for
 * token lookup by bytes and for counting pre-tokenisation chunks). */
#include "data_internal.h"

void dt_strmap_free(struct dt_strmap *m)
{
    free(m->e);
    free(m->keys);
    memset(m, 0, sizeof *m);
}

static int64_t find(const struct dt_strmap *m, uint64_t h, const uint8_t *s, int64_t n, int *found)
{
    int64_t mask = m->cap - 1, i = (int64_t)(h & (uint64_t)mask);
    while (m->e[i].hash) {
        const struct dt_strent *e = &m->e[i];
        if (e->hash == h && e->klen == n && !memcmp(m->keys + e->koff, s, (size_t)n)) {
            *found = 1;
            return i;
        }
        i = (i + 1) & mask;
    }
    *found = 0;
    return i;
}

/* Double the slot array and reinsert (keys stay in the arena). */
static int grow(struct dt_strmap *m)
{
    int64_t ncap = m->cap ? 2 * m->cap : 1024;
    struct dt_strent *e = calloc((size_t)ncap, sizeof *e);
    if (!e)
        return -1;
    for (int64_t i = 0; i < m->cap; i++) {
        if (!m->e[i].hash)
            continue;
        int64_t j = (int64_t)(m->e[i].hash & (uint64_t)(ncap - 1));
        while (e[j].hash)
            j = (j + 1) & (ncap - 1);
        e[j] = m->e[i];
    }
    free(m->e);
    m->e = e, m->cap = ncap;
    return 0;
}

int64_t dt_strmap_slot(struct dt_strmap *m, const uint8_t *s, int64_t n, int *found)
{
    if ((m->count + 1) * 2 > m->cap && grow(m))
        return -1;
    return find(m, dt_strhash(s, n), s, n, found);
}

int64_t *dt_strmap_upsert(struct dt_strmap *m, const uint8_t *s, int64_t n, int64_t init)
{
    int found;
    int64_t i = dt_strmap_slot(m, s, n, &found);
    if (i < 0)
        return NULL;
    if (found)
        return &m->e[i].val;
    if (m->kused + n > m->kcap) {
        int64_t nk = m->kcap ? m->kcap : 4096;
        while (nk < m->kused + n)
            nk *= 2;
        uint8_t *k = realloc(m->keys, (size_t)nk);
        if (!k)
            return NULL;
        m->keys = k, m->kcap = nk;
    }
    if (n)
        memcpy(m->keys + m->kused, s, (size_t)n);
    m->e[i] = (struct dt_strent){dt_strhash(s, n), m->kused, init, n};
    m->kused += n;
    m->count++;
    return &m->e[i].val;
}

int64_t dt_strmap_get(const struct dt_strmap *m, const uint8_t *s, int64_t n)
{
    int found;
    if (!m->cap)
        return -1;
    int64_t i = find(m, dt_strhash(s, n), s, n, &found);
    return found ? m->e[i].val : -1;
}

void dt_strmap_clear(struct dt_strmap *m)
{
    if (m->cap)
        memset(m->e, 0, (size_t)m->cap * sizeof *m->e);
    m->count = 0;
    m->kused = 0;
}
