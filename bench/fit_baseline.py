#!/usr/bin/python3
"""Baseline for bench/bench_fit_lnd.c: the paper's L(N,D) fitting procedure
(accounting-and-fits.md §4.3) in Python: scipy.optimize.minimize(method="L-BFGS-B",
tol=None, options={ftol: 1e-32, gtol: 1e-32, maxls: 200}), no bounds, numerical
2-point gradients (scipy's default), one run per grid start, best by objective.

Timing the whole 8000-start grid takes too long for a benchmark, so this times
every STRIDE-th start of the same grid (in the paper's order) in one process
and reports the time per start; the caller extrapolates to the full grid.

    fit_baseline.py RUNS.csv MODEL_TYPE STRIDE    ->  one JSON line on stdout
"""
import csv
import json
import sys
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import huber

path, model, stride = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [r for r in csv.DictReader(open(path))
        if r["model_type"] == model and r["experiment_set"] == "tokenparam"
        and r["context_length"] == "8192" and r["val_loss"] != ""
        and 0 <= float(r["num_tokens_training"]) / float(r["num_params"]) <= 5000]
lnN = np.log([float(r["num_params"]) for r in rows])
lnD = np.log([float(r["num_tokens_training"]) for r in rows])
lnL = np.log([float(r["val_loss"]) for r in rows])
delta = 1e-3


def objective(p):
    # log L_hat = LSE(gamma * LSE(a - alpha ln N, b - beta ln D), e)   (§4.1)
    a, b, e, alpha, beta, gamma = p
    s = np.logaddexp(a - alpha * lnN, b - beta * lnD)
    return huber(delta, lnL - np.logaddexp(gamma * s, e)).sum()


vals = [[0, 5, 10, 15, 20], [0, 5, 10, 15, 20], [-1, -0.5, 0, 0.5, 1], [0, 0.2, 0.5, 1],
        [0, 0.2, 0.5, 1], [0, 0.5, 1, 1.5]]
grid = np.array(np.meshgrid(*vals)).T.reshape(-1, 6)
starts = grid[::stride]
best = np.inf
t0, c0 = time.perf_counter(), time.process_time()
for x0 in starts:
    with np.errstate(all="ignore"):
        res = minimize(objective, x0, method="L-BFGS-B", tol=None,
                       options={"ftol": 1e-32, "gtol": 1e-32, "maxls": 200})
    if np.isfinite(res.fun) and res.fun < best:
        best = res.fun
t, c = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"n_points": len(rows), "n_starts": len(starts), "grid": len(grid),
                  "seconds": t, "seconds_per_start": t / len(starts),
                  "cpu_seconds_per_start": c / len(starts), "best_objective": best}))
