/* bootstrap.c - the bootstrap resample of the paper's runtime fits
 * (sclaw_runtime.h, accounting-and-fits.md §3.5 and quirk §10.9).
 *
 * The repo's objective defaults to bootstrap_seed=0 and fits the rows
 * pandas' DataFrame.sample(n, replace=True, random_state=default_rng(0))
 * picks. That is numpy's Generator.choice(n, n, replace=True), which draws
 * Generator.integers(0, n, n) from a PCG64 bit generator seeded through
 * SeedSequence(seed). This file reproduces that stream bit for bit
 * (numpy >= 1.17, checked against numpy 1.24):
 *
 *   SeedSequence   entropy -> 4-word pool (hashmix/mix), generate_state(4 x u64)
 *   PCG64          128-bit LCG, XSL-RR output; seeded with state words 0-1,
 *                  increment words 2-3 (pcg64_set_seed)
 *   next_uint32    low half of a 64-bit output first, the high half buffered
 *   integers       Lemire's bounded method on 32 bits when n - 1 < 2^32
 */
#include "sclaw_runtime.h"
#include "sclaw_status.h"

#include <stdlib.h>

__extension__ typedef unsigned __int128 u128;

/* ---- SeedSequence (numpy/random/bit_generator.pyx) ---------------------- */

enum { POOL = 4 };
static const uint32_t INIT_A = 0x43b0d7e5u, MULT_A = 0x931e8875u;
static const uint32_t INIT_B = 0x8b51f9ddu, MULT_B = 0x58f38dedu;
static const uint32_t MIX_L = 0xca01f9ddu, MIX_R = 0x4973f715u;

static uint32_t hashmix(uint32_t v, uint32_t *hc)
{
    v ^= *hc;
    *hc *= MULT_A;
    v *= *hc;
    return v ^ (v >> 16);
}

static uint32_t mix(uint32_t x, uint32_t y)
{
    uint32_t r = MIX_L * x - MIX_R * y;
    return r ^ (r >> 16);
}

/* generate_state(4, uint64) of SeedSequence(seed), seed < 2^64. */
static void seed_sequence(uint64_t seed, uint64_t out[4])
{
    /* the entropy as 32-bit words, least significant first ([0] for 0) */
    uint32_t ent[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    int nent = seed >> 32 ? 2 : 1;
    uint32_t pool[POOL], hc = INIT_A;
    for (int i = 0; i < POOL; i++)
        pool[i] = hashmix(i < nent ? ent[i] : 0, &hc);
    for (int s = 0; s < POOL; s++)
        for (int d = 0; d < POOL; d++)
            if (s != d)
                pool[d] = mix(pool[d], hashmix(pool[s], &hc));
    uint32_t w[8], hb = INIT_B;
    for (int i = 0; i < 8; i++) {
        uint32_t v = pool[i % POOL] ^ hb;
        hb *= MULT_B;
        v *= hb;
        w[i] = v ^ (v >> 16);
    }
    for (int i = 0; i < 4; i++) /* little-endian view of pairs */
        out[i] = (uint64_t)w[2 * i] | (uint64_t)w[2 * i + 1] << 32;
}

/* ---- PCG64 (numpy/random/src/pcg64) ------------------------------------- */

struct pcg64 {
    u128 state, inc;
    int has32;
    uint32_t buf32;
};

static const u128 PCG_MULT = ((u128)0x2360ed051fc65da4ull << 64) | 0x4385df649fccf645ull;

static void pcg_step(struct pcg64 *g) { g->state = g->state * PCG_MULT + g->inc; }

static uint64_t pcg_next64(struct pcg64 *g)
{
    pcg_step(g);
    /* XSL-RR: xor the halves, rotate right by the top 6 bits */
    uint64_t x = (uint64_t)(g->state >> 64) ^ (uint64_t)g->state;
    unsigned rot = (unsigned)(g->state >> 122);
    return (x >> rot) | (x << ((64 - rot) & 63));
}

static uint32_t pcg_next32(struct pcg64 *g)
{
    if (g->has32) {
        g->has32 = 0;
        return g->buf32;
    }
    uint64_t v = pcg_next64(g);
    g->has32 = 1;
    g->buf32 = (uint32_t)(v >> 32);
    return (uint32_t)v;
}

static void pcg_seed(struct pcg64 *g, uint64_t seed)
{
    uint64_t s[4];
    seed_sequence(seed, s);
    u128 init = (u128)s[0] << 64 | s[1], seq = (u128)s[2] << 64 | s[3];
    /* pcg_setseq_128_srandom_r */
    g->state = 0;
    g->inc = seq << 1 | 1;
    pcg_step(g);
    g->state += init;
    pcg_step(g);
    g->has32 = 0;
    g->buf32 = 0;
}

/* Lemire's bounded integer in [0, rng] (buffered_bounded_lemire_uint32). */
static uint32_t bounded32(struct pcg64 *g, uint32_t rng)
{
    const uint32_t excl = rng + 1;
    uint64_t m = (uint64_t)pcg_next32(g) * excl;
    uint32_t left = (uint32_t)m;
    if (left < excl) {
        const uint32_t threshold = (UINT32_MAX - rng) % excl;
        while (left < threshold) {
            m = (uint64_t)pcg_next32(g) * excl;
            left = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

int sclaw_rt_bootstrap_indices(int64_t n, uint64_t seed, int64_t *idx)
{
    struct pcg64 g;
    if (n < 1 || n > (int64_t)UINT32_MAX)
        return sclaw_fail(SCLAW_E_ARG, "bootstrap of %lld rows is not supported", (long long)n);
    pcg_seed(&g, seed);
    for (int64_t i = 0; i < n; i++)
        idx[i] = n == 1 ? 0 : (int64_t)bounded32(&g, (uint32_t)(n - 1));
    return SCLAW_OK;
}

int sclaw_rt_bootstrap(const struct sclaw_rt_point *pts, int64_t n, uint64_t seed,
                       struct sclaw_rt_point **out)
{
    int64_t *idx = malloc((size_t)(n > 0 ? n : 1) * sizeof *idx);
    struct sclaw_rt_point *res = malloc((size_t)(n > 0 ? n : 1) * sizeof *res);
    int st;
    *out = NULL;
    if (!idx || !res) {
        free(idx);
        free(res);
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory resampling %lld points", (long long)n);
    }
    if ((st = sclaw_rt_bootstrap_indices(n, seed, idx))) {
        free(idx);
        free(res);
        return st;
    }
    for (int64_t i = 0; i < n; i++)
        res[i] = pts[idx[i]];
    free(idx);
    *out = res;
    return SCLAW_OK;
}
