#!/usr/bin/python3
"""Reference values for tests/test_fit_isoflop.c and tests/test_fit_tables.c.

Independent of sclaw: reads data/paper/runs_all.csv with the csv module and fits
with numpy (np.polyfit, i.e. LAPACK least squares), following the paper's
procedure (accounting-and-fits.md §5-§6) with the filters taken from the
table's own in_paper_selection / isoflop_budget_tag / preset_token_param_ratio
columns (not from sclaw's re-implementation of them). Prints C initialisers.

    /usr/bin/python3 tests/gen/fit_ref.py
"""
import csv
import math

import numpy as np

rows = list(csv.DictReader(open("data/paper/runs_all.csv")))


def isoflop(model, ctx, xcol, lo, hi):
    r = [x for x in rows if x["dataset"] == f"isoflop_{model}_ctx{ctx}" and x["in_paper_selection"] == "1"]
    budgets = sorted({float(x["isoflop_budget_tag"]) for x in r if x["isoflop_budget_tag"] != "extra"})
    cs, xs = [], []
    for b in budgets:
        g = [x for x in r if x["isoflop_budget_tag"] != "extra" and float(x["isoflop_budget_tag"]) == b]
        lx = np.log10([float(x[xcol]) for x in g])
        y = np.array([float(x["val_loss"]) for x in g])
        c2, c1, c0 = np.polyfit(lx, y, 2)
        cm = np.mean([float(x["num_flops_training"]) for x in g])
        if lo <= cm <= hi:
            cs.append(cm)
            xs.append(10 ** (-c1 / (2 * c2)))
    e, c = np.polyfit(np.log(cs), np.log(xs), 1)
    return math.exp(c), e, len(cs)


print("/* IsoFLOP power laws: {model, ctx, x, lo, hi, coef, exponent, n_budgets} */")
for model, ctx, lo, hi in [("llama", 2048, 5e18, 5e19), ("llama", 8192, 5e18, 2e20),
                           ("llama", 8192, 5e18, 5e19), ("llama", 16384, 5e18, 5e19),
                           ("mlstm", 16384, 5e18, 5e19)]:
    for xcol in ("num_params", "num_tokens_training"):
        c, e, n = isoflop(model, ctx, xcol, lo, hi)
        print(f'    {{"{model}", {ctx}, {int(xcol == "num_tokens_training")}, {lo:g}, {hi:g}, '
              f'{c!r}, {e!r}, {n}}},')

print("/* token/param slopes: {model, ratio, eta, lambda, n} */")
for model in ("llama", "mlstm"):
    r = [x for x in rows if x["dataset"] == f"tokenparam_{model}" and x["preset_token_param_ratio"] != "extra"]
    for m in sorted({int(x["preset_token_param_ratio"]) for x in r}):
        g = [x for x in r if int(x["preset_token_param_ratio"]) == m]
        if len(g) < 2:
            continue
        col = "num_flops_training_mlstm_tfla" if model == "mlstm" else "num_flops_training"
        s, i = np.polyfit(np.log([float(x[col]) for x in g]), np.log([float(x["val_loss"]) for x in g]), 1)
        print(f'    {{"{model}", {m}, {-s!r}, {math.exp(i)!r}, {len(g)}}},')
