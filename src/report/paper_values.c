/* paper_values.c - every number of the xLSTM scaling-law paper that the
 * reports reproduce, with the spec section it is quoted from
 * (shared/spec/accounting-and-fits.md, read off the authors' repository).
 *
 * rtol is the relative difference accepted as "reproduced". It is set from
 * how the paper's number was obtained, not from sclaw's result:
 *   - half a unit in the last printed digit (3 digits: 5e-3, 4: 5e-4, ...);
 *   - L(N,D) parameters (§4.5, §4.6): the paper picks its fit among the top
 *     100 by a broken metric on an extremely flat objective valley, so the
 *     parameters agree only to ~1e-3..1e-2 (A and B through exp(a), exp(b));
 *     the objective itself is compared to 1e-3;
 *   - xLSTM ctx 8192 and 2048 IsoFLOP numbers (§5.3): the paper used 32
 *     duplicated runs that the current data set removes, and 110 of 145
 *     (ctx 8192) or all (ctx 2048) xLSTM losses are only known to +-0.0025
 *     (data/paper/README.md): exponents 5e-3, coefficients and what derives
 *     from them (N* per budget, the optimal table) 5e-2;
 *   - inference (§3.5): the paper fitted a bootstrap resample (quirk §10.9),
 *     sclaw the plain data: attainable FLOP/s and bytes/s and the per-sequence
 *     step overhead eps_bp 5e-2 (each dominates its time at large sizes);
 *     the TTFT overheads eps are shown but not judged (rtol < 0): they are
 *     small differences of large numbers (the paper's are mostly negative).
 */
#include "sclaw_report.h"

#include <string.h>

#define EXACT 0.0
#define NOT_JUDGED -1.0

const struct sclaw_paper_value sclaw_paper_values[] = {
    /* §9 headline numbers: the data set (runs_paper_selection.csv) */
    {"data.runs", "9", "runs in the paper's selection", 640, EXACT},
    {"data.runs.llama", "9", "Transformer runs", 292, EXACT},
    {"data.runs.xlstm", "9", "xLSTM runs", 348, EXACT},
    {"data.C.total", "9", "total training compute [FLOPs]", 3.135e23, 5e-4},
    {"data.N.min", "9", "smallest N", 8.36e7, 5e-3},
    {"data.N.max", "9", "largest N", 6.87e9, 5e-3},
    {"data.D.min", "9", "smallest D", 1.89e9, 5e-3},
    {"data.D.max", "9", "largest D", 2.10e12, 5e-3},
    {"data.C.min", "9", "smallest C", 2.81e18, 5e-3},
    {"data.C.max", "9", "largest C", 8.48e22, 5e-3},

    /* §4.6 headline L(N,D): TokenParam, ctx 8192, D/N <= 5000, delta 1e-3, gamma free */
    {"lnd.llama.free.A", "4.6", "Transformer L(N,D) A", 1.607e5, 3e-2},
    {"lnd.llama.free.B", "4.6", "Transformer L(N,D) B", 6.306e5, 3e-2},
    {"lnd.llama.free.E", "4.6", "Transformer L(N,D) E", 1.0119, 5e-3},
    {"lnd.llama.free.alpha", "4.6", "Transformer L(N,D) alpha", 0.527115, 1e-2},
    {"lnd.llama.free.beta", "4.6", "Transformer L(N,D) beta", 0.508037, 1e-2},
    {"lnd.llama.free.gamma", "4.6", "Transformer L(N,D) gamma", 0.293457, 1e-2},
    {"lnd.llama.free.objective", "4.6", "Transformer L(N,D) objective", 7.1475e-5, 1e-3},
    {"lnd.xlstm.free.A", "4.6", "xLSTM L(N,D) A", 1.109e7, 3e-2},
    {"lnd.xlstm.free.B", "4.6", "xLSTM L(N,D) B", 3.298e7, 3e-2},
    {"lnd.xlstm.free.E", "4.6", "xLSTM L(N,D) E", 1.1200, 5e-3},
    {"lnd.xlstm.free.alpha", "4.6", "xLSTM L(N,D) alpha", 0.727419, 1e-2},
    {"lnd.xlstm.free.beta", "4.6", "xLSTM L(N,D) beta", 0.670784, 1e-2},
    {"lnd.xlstm.free.gamma", "4.6", "xLSTM L(N,D) gamma", 0.238725, 1e-2},
    {"lnd.xlstm.free.objective", "4.6", "xLSTM L(N,D) objective", 8.5572e-5, 1e-3},
    /* §4.6 "other settings": the same data with gamma = 1 (min-objective fit;
     * E = exp(e) with e printed to 3 decimals) */
    {"lnd.llama.fixed.E", "4.6", "Transformer L(N,D), gamma=1: E", 0.86416, 5e-3},
    {"lnd.llama.fixed.alpha", "4.6", "Transformer L(N,D), gamma=1: alpha", 0.1287, 1e-2},
    {"lnd.llama.fixed.beta", "4.6", "Transformer L(N,D), gamma=1: beta", 0.1716, 1e-2},
    {"lnd.llama.fixed.objective", "4.6", "Transformer L(N,D), gamma=1: objective", 1.3851e-4, 1e-3},
    {"lnd.xlstm.fixed.E", "4.6", "xLSTM L(N,D), gamma=1: E", 1.26238, 5e-3},
    {"lnd.xlstm.fixed.alpha", "4.6", "xLSTM L(N,D), gamma=1: alpha", 0.1746, 1e-2},
    {"lnd.xlstm.fixed.beta", "4.6", "xLSTM L(N,D), gamma=1: beta", 0.2311, 1e-2},
    {"lnd.xlstm.fixed.objective", "4.6", "xLSTM L(N,D), gamma=1: objective", 1.9834e-4, 1e-3},

    /* §5.3 per-budget optima N* (ctx 8192) */
    {"iso.llama.ctx8192.nstar.6e18", "5.3", "Transformer N* at 6e18", 1.438e8, 5e-4},
    {"iso.llama.ctx8192.nstar.1e19", "5.3", "Transformer N* at 1e19", 1.905e8, 5e-4},
    {"iso.llama.ctx8192.nstar.3e19", "5.3", "Transformer N* at 3e19", 3.615e8, 5e-4},
    {"iso.llama.ctx8192.nstar.1e20", "5.3", "Transformer N* at 1e20", 7.181e8, 5e-4},
    {"iso.xlstm.ctx8192.nstar.6e18", "5.3", "xLSTM N* at 6e18", 2.278e8, 5e-2},
    {"iso.xlstm.ctx8192.nstar.1e19", "5.3", "xLSTM N* at 1e19", 3.051e8, 5e-2},
    {"iso.xlstm.ctx8192.nstar.3e19", "5.3", "xLSTM N* at 3e19", 5.452e8, 5e-2},
    {"iso.xlstm.ctx8192.nstar.1e20", "5.3", "xLSTM N* at 1e20", 1.069e9, 5e-2},
    {"iso.xlstm.ctx8192.nstar.6e20", "5.3", "xLSTM N* at 6e20", 2.511e9, 5e-2},

    /* §5.3 power laws N* = A' C^a, D* = B' C^b. Main: ctx 8192, 4 budgets */
#define LAW(key, what, A, a, B, b, ctol, etol)                                   \
    {"iso." key ".Acoef", "5.3", what " N*(C) coefficient A'", A, ctol},         \
    {"iso." key ".a", "5.3", what " N*(C) exponent a", a, etol},                 \
    {"iso." key ".Bcoef", "5.3", what " D*(C) coefficient B'", B, ctol},         \
    {"iso." key ".b", "5.3", what " D*(C) exponent b", b, etol}
    LAW("llama.ctx8192.b4", "Transformer ctx 8192 (4 budgets)", 0.002281, 0.574909, 58.460, 0.424271, 5e-4, 5e-6),
    LAW("xlstm.ctx8192.b4", "xLSTM ctx 8192 (4 budgets)", 0.012045, 0.547253, 77.748, 0.417166, 5e-2, 5e-3),
    /* context comparison: 3 budgets (6e18, 1e19, 3e19) per context length */
    LAW("llama.ctx2048.b3", "Transformer ctx 2048 (3 budgets)", 0.006899, 0.553549, 74.029, 0.422606, 5e-4, 5e-6),
    LAW("xlstm.ctx2048.b3", "xLSTM ctx 2048 (3 budgets)", 0.008587, 0.555534, 140.61, 0.403072, 5e-2, 5e-3),
    LAW("llama.ctx8192.b3", "Transformer ctx 8192 (3 budgets)", 0.002052, 0.577327, 64.962, 0.421860, 5e-4, 5e-6),
    LAW("xlstm.ctx8192.b3", "xLSTM ctx 8192 (3 budgets)", 0.016094, 0.540627, 46.804, 0.428769, 5e-2, 5e-3),
    LAW("llama.ctx16384.b3", "Transformer ctx 16384 (3 budgets)", 0.002500, 0.569337, 34.477, 0.432544, 5e-4, 5e-6),
    LAW("xlstm.ctx16384.b3", "xLSTM ctx 16384 (3 budgets)", 0.004999, 0.566040, 336.10, 0.385230, 5e-4, 5e-6),
#undef LAW

    /* §6 token/param-ratio slopes L(C) = lambda C^-eta per preset ratio M
     * (TokenParam runs without "7B long"; xLSTM C with the tfla cell formula) */
#define SLOPE(m, le, ll, xe, xl)                                                        \
    {"slope.llama." #m ".eta", "6", "Transformer slope M=" #m ": eta", le, 5e-5},       \
    {"slope.llama." #m ".lambda", "6", "Transformer slope M=" #m ": lambda", ll, 5e-4}, \
    {"slope.xlstm." #m ".eta", "6", "xLSTM slope M=" #m ": eta", xe, 5e-5},             \
    {"slope.xlstm." #m ".lambda", "6", "xLSTM slope M=" #m ": lambda", xl, 5e-4}
    SLOPE(22, 0.049611, 27.678, 0.047398, 24.290),
    SLOPE(44, 0.047659, 25.235, 0.045730, 22.532),
    SLOPE(110, 0.047257, 24.995, 0.045611, 22.717),
    SLOPE(220, 0.047538, 25.683, 0.046663, 24.264),
    SLOPE(550, 0.048799, 27.975, 0.047288, 25.716),
    SLOPE(1100, 0.052825, 34.814, 0.047442, 26.592),
#undef SLOPE

    /* §7 compute-optimal table (ctx 8192, 4-budget laws): C*(N), D*(N) and the ratio D* / N;
     * printed to 3 digits, the ratio to one decimal */
#define OPT(tag, N, lc, ld, lr, xc, xd, xr)                                                   \
    {"opt.llama." tag ".C", "7", "Transformer optimal C at N=" tag, lc, 5e-3},                \
    {"opt.llama." tag ".D", "7", "Transformer optimal D at N=" tag, ld, 5e-3},                \
    {"opt.llama." tag ".ratio", "7", "Transformer optimal D/N at N=" tag, lr, 0.05 / lr},     \
    {"opt.xlstm." tag ".C", "7", "xLSTM optimal C at N=" tag, xc, 5e-2},                      \
    {"opt.xlstm." tag ".D", "7", "xLSTM optimal D at N=" tag, xd, 5e-2},                      \
    {"opt.xlstm." tag ".ratio", "7", "xLSTM optimal D/N at N=" tag, xr, 5e-2}
    OPT("100M", 1e8, 3.24e18, 4.17e9, 41.7, 1.33e18, 2.83e9, 28.3),
    OPT("400M", 4e8, 3.61e19, 11.6e9, 29.0, 1.68e19, 8.15e9, 20.4),
    OPT("1B", 1e9, 1.78e20, 22.8e9, 22.8, 8.97e19, 16.4e9, 16.4),
    OPT("2B", 2e9, 5.94e20, 38.1e9, 19.0, 3.18e20, 27.8e9, 13.9),
    OPT("4B", 4e9, 1.98e21, 63.5e9, 15.9, 1.13e21, 47.1e9, 11.8),
    OPT("8B", 8e9, 6.62e21, 106e9, 13.2, 4.01e21, 79.9e9, 10.0),
    OPT("10B", 1e10, 9.76e21, 125e9, 12.5, 6.03e21, 94.8e9, 9.5),
    OPT("14B", 1.4e10, 1.75e22, 160e9, 11.4, 1.11e22, 122e9, 8.7),
    OPT("32B", 3.2e10, 7.38e22, 295e9, 9.2, 5.05e22, 230e9, 7.2),
    OPT("67B", 6.7e10, 2.67e23, 508e9, 7.6, 1.95e23, 404e9, 6.0),
    OPT("175B", 1.75e11, 1.42e24, 1.03e12, 5.9, 1.13e24, 840e9, 4.8),
#undef OPT

    /* §8 Pareto frontier */
    {"pareto.llama.points", "8", "Transformer Pareto frontier points", 16, EXACT},
    {"pareto.xlstm.points", "8", "xLSTM Pareto frontier points", 16, EXACT},

    /* §3.5 inference: TTFT linear_flops fits per model size (alpha_eff in FLOP/s, eps in s) */
#define TTFT(size, xa, xe, la, le)                                                               \
    {"infer.ttft.xlstm_" size ".alpha", "3.5", "xLSTM " size " TTFT alpha_eff [FLOP/s]", xa, 5e-2}, \
    {"infer.ttft.xlstm_" size ".eps", "3.5", "xLSTM " size " TTFT eps [s]", xe, NOT_JUDGED},      \
    {"infer.ttft.llama2_" size ".alpha", "3.5", "Llama " size " TTFT alpha_eff [FLOP/s]", la, 5e-2}, \
    {"infer.ttft.llama2_" size ".eps", "3.5", "Llama " size " TTFT eps [s]", le, NOT_JUDGED}
    TTFT("160m", 1.629e14, 1.249e-3, 2.001e14, -6.96e-4),
    TTFT("400m", 2.370e14, 1.910e-3, 2.456e14, 6.40e-3),
    TTFT("830m", 2.951e14, 1.850e-3, 2.719e14, -8.28e-3),
    TTFT("1.4b", 3.348e14, 1.532e-3, 3.345e14, -3.80e-3),
    TTFT("2.7b", 3.664e14, 2.248e-3, 3.154e14, -1.45e-2),
    TTFT("7b", 4.053e14, 3.134e-3, 3.742e14, -6.59e-3),
#undef TTFT
    /* §3.5 Llama step time, log_linear_memops on batch >= 8 */
#define STEP(size, beta, epsbp)                                                                  \
    {"infer.step.llama2_" size ".beta", "3.5", "Llama " size " step beta [B/s]", beta, 5e-2},    \
    {"infer.step.llama2_" size ".eps_bp", "3.5", "Llama " size " step eps_bp [s]", epsbp, 5e-2}
    STEP("160m", 7.45e11, 5.3e-6),
    STEP("400m", 8.13e11, 2.2e-5),
    STEP("830m", 1.17e12, 4.0e-5),
    STEP("1.4b", 1.53e12, 6.1e-5),
    STEP("2.7b", 9.78e11, 1.34e-4),
    STEP("7b", 1.53e12, 2.32e-4),
#undef STEP
};

const int64_t sclaw_paper_nvalues = (int64_t)(sizeof sclaw_paper_values / sizeof sclaw_paper_values[0]);

const struct sclaw_paper_value *sclaw_paper_value(const char *key)
{
    for (int64_t i = 0; i < sclaw_paper_nvalues; i++)
        if (!strcmp(sclaw_paper_values[i].key, key))
            return &sclaw_paper_values[i];
    return NULL;
}
