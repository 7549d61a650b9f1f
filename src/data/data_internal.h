/* data_internal.h - helpers shared by the files of src/data (not installed):
 * hashing and a growable byte-string -> int64 table used by the tokenizer
 * (token lookup) and the BPE trainer (chunk counting). */
#ifndef SCLAW_DATA_INTERNAL_H
#define SCLAW_DATA_INTERNAL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64 finaliser: a good 64-bit mix for integer keys and seeds. */
static inline uint64_t dt_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

#define DT_FNV_OFFSET 0xcbf29ce484222325ULL
#define DT_FNV_PRIME 0x100000001b3ULL
static inline uint64_t dt_fnv1a(uint64_t h, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * DT_FNV_PRIME;
    return h;
}

/* Byte strings -> int64 values. Keys are copied into an arena; entries are
 * open-addressed by a 64-bit hash (0 = empty slot). An entry keeps hash,
 * key and value together, so a probe touches one cache line (plus the key's
 * bytes on a hash match). */
struct dt_strent {
    uint64_t hash;
    int64_t koff;       /* key offset in keys */
    int64_t val;
    int64_t klen;
};
struct dt_strmap {
    struct dt_strent *e;  /* [cap] */
    int64_t cap, count;
    uint8_t *keys;
    int64_t kused, kcap;
};

static inline uint64_t dt_strhash(const uint8_t *s, int64_t n)
{
    return dt_fnv1a(DT_FNV_OFFSET, s, (size_t)n) | 1;  /* never 0 */
}

void dt_strmap_free(struct dt_strmap *m);
/* Slot of key (found or where it would go); *found says which. -1 on no memory. */
int64_t dt_strmap_slot(struct dt_strmap *m, const uint8_t *s, int64_t n, int *found);
/* Pointer to the value of key, inserting it with value init if absent; NULL on no memory. */
int64_t *dt_strmap_upsert(struct dt_strmap *m, const uint8_t *s, int64_t n, int64_t init);
/* Value of key or -1. */
int64_t dt_strmap_get(const struct dt_strmap *m, const uint8_t *s, int64_t n);
/* Remove every entry, keeping the memory. */
void dt_strmap_clear(struct dt_strmap *m);

/* Id of byte b among the 256 base tokens in GPT-2's order (the printable
 * bytes of its byte-to-unicode alphabet first, then the others), so a
 * tokenizer trained here has GPT-2's base ids. */
int32_t dt_base_id(uint8_t b);

#endif
