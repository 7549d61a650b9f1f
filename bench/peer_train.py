#!/usr/bin/python3
"""peer_train.py - training-step throughput of the PyTorch peer (issue 5 benchmark).

Benchmark peer only; run with Debian's /usr/bin/python3 (python3-torch 1.13, CPU).

  peer_train.py [CONFIG.json ...] [--grid] [--family xlstm,llama] [--d 256,512,768]
                [--ctx 512,2048] [--tokens 8192 | --batch B] [--steps 3] [--warmup 1]
                [--threads 2] [--sclaw build/sclaw] [--out FILE.jsonl]
  peer_train.py --mixer-sweep [--ctx 512,1024,2048,4096] [--tokens N]
  peer_train.py --table FILE.jsonl... [--compare BENCH_TRAIN.csv]
                                          (markdown tables of earlier outputs, and
                                          sclaw tokens/s / peer tokens/s per setting)

For each setting (each CONFIG at its context_length, or with --grid every family x
d x ctx of the CPU family shapes: num_blocks = d/64 + 2, xLSTM NH = d/128 (dqk 64,
dv 128), Llama head_dim 64, V = 4096, chunk 64) it times full training steps on
random tokens: forward, backward, gradient clipping at 0.5 and an AdamW update
(betas 0.9/0.95, eps 1e-8, weight decay 0.1 on matrices except the embedding, as
sclaw trains, models.md §1.5). The batch is tokens/ctx sequences (8192 tokens per
step unless --batch). Warm-up steps are excluded; the step time is the median of
--steps timed steps.

Model FLOPs per step come from sclaw's accounting, not from 6ND:
`sclaw --json count CONFIG --ctx T` -> flops_fwbw_per_seq x batch. The GEMM peak is
measured in the same run with torch.matmul on 2048 x 2048 float32 matrices (best of
5), so MFU = (FLOPs per step / step time) / peak, with the peak re-measured right
before each setting (the load of a shared machine changes between settings).

Each step also records its CPU time (time.process_time of the whole process):
cpu_share = CPU seconds / (wall seconds x threads) is below 1 when other processes
took the cores, which on a shared machine is the first thing to read.

Output: one JSON object per line on stdout, first {"kind": "peak", ...}, then
{"kind": "step", ...} per setting, and with --grid {"kind": "ctx_growth", ...} per
(family, d), and with --mixer-sweep {"kind": "mixer", ...} per (family, ctx): the per-token step-time ratio between the largest and smallest context
(at equal tokens per step a linear-time sequence mixer stays near 1; attention
grows with the context).

OPENBLAS_CORETYPE is removed from this process's environment before torch loads
OpenBLAS (a preset core type halves GEMM speed on this machine); --keep-coretype
leaves it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

if "--keep-coretype" not in sys.argv:
    os.environ.pop("OPENBLAS_CORETYPE", None)

import torch  # noqa: E402

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_models as pm  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gemm_peak(n=2048, reps=5):
    """Best-of-reps GFLOP/s of an n^3 float32 torch.matmul (after one warm-up)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)
    best = min(_timed(lambda: torch.matmul(a, b)) for _ in range(reps))
    return 2.0 * n ** 3 / best / 1e9, best


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _timed_cpu(fn):
    """(wall seconds, CPU seconds of this process): on a shared, oversubscribed
    machine the CPU time shows how much of the wall time the step really ran."""
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def grid_config(family, d, ctx, V=4096, nb=0):
    """The CPU family shapes of issue 5 (models.md §5.3 rules); nb = 0: d/64 + 2."""
    nb = nb or d // 64 + 2
    if family == "xlstm":
        return {"name": "xLSTM d%d" % d, "model_type": "mlstm_v1", "embedding_dim": d,
                "num_blocks": nb, "num_heads": max(1, d // 128), "vocab_size": V,
                "context_length": ctx, "chunk_size": 64}
    return {"name": "Llama d%d" % d, "model_type": "llama", "embedding_dim": d, "num_blocks": nb,
            "num_heads": max(1, d // 64), "vocab_size": V, "context_length": ctx}


def sclaw_count(sclaw, cfg_path, T):
    r = subprocess.run([sclaw, "--json", "count", cfg_path, "--ctx", str(T)], capture_output=True,
                       text=True)
    if r.returncode:
        raise RuntimeError("%s count %s failed: %s" % (sclaw, cfg_path, r.stderr.strip()))
    return json.loads(r.stdout)


def make_optimizer(model, lr=1e-3):
    """AdamW as sclaw trains (models.md §1.5): decay every matrix except the
    embedding; never norm scales or biases."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        emb = name.endswith("embeddings.weight") or name.endswith("embed_tokens.weight")
        (decay if p.dim() == 2 and not emb else no_decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.95), eps=1e-8)


def bench_setting(cfg, cfg_path, a, peak):
    T = int(cfg["context_length"])
    B = a.batch or max(1, a.tokens // T)
    cnt = sclaw_count(a.sclaw, cfg_path, T)
    torch.manual_seed(0)
    model = pm.build(cfg).init_params(1)
    if model.num_params() != cnt["num_params"]:
        raise RuntimeError("%s: peer has %d parameters, sclaw counts %d"
                           % (cfg_path, model.num_params(), cnt["num_params"]))
    opt = make_optimizer(model)
    V = int(cfg["vocab_size"])
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, V, (B, T + 1), generator=g)
    inp, tgt = x[:, :T], x[:, 1:]
    seg = None
    if a.doc_len:  # documents of doc_len tokens: xLSTM resets, Llama masks (as bench_train.c)
        seg = (torch.arange(T) // a.doc_len).expand(B, T).contiguous()
    losses, times, cpus = [], [], []

    def step():
        opt.zero_grad(set_to_none=True)
        _, loss = model(inp, tgt, seg)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        losses.append(float(loss))

    for k in range(a.warmup + a.steps):
        dt, dc = _timed_cpu(step)
        if k >= a.warmup:
            times.append(dt)
            cpus.append(dc)
        if not a.quiet:
            print("  %s d=%d T=%d step %d: %.2f s (cpu %.2f s)" % (
                pm.derive(cfg)["family"], cfg["embedding_dim"], T, k, dt, dc), file=sys.stderr,
                flush=True)
    med = statistics.median(times)
    flops = cnt["flops_fwbw_per_seq"] * B
    s = pm.derive(cfg)
    return {"kind": "step", "family": s["family"], "config": cfg_path, "d": s["D"],
            "num_blocks": s["NB"], "num_heads": s["NH"], "ctx": T, "batch": B,
            "tokens_per_step": B * T, "doc_len": a.doc_len, "num_params": cnt["num_params"],
            "steps_timed": len(times), "step_s_median": med, "step_s_min": min(times),
            "step_s_max": max(times), "cpu_s_median": statistics.median(cpus),
            "cpu_share": statistics.median(cpus) / med / a.threads, "tokens_per_s": B * T / med,
            "flops_per_step": flops, "gflops_per_s": flops / med / 1e9,
            "mfu": flops / med / 1e9 / peak, "loss_first": losses[0], "loss_last": losses[-1]}


def mixer_sweep(a, emit):
    """Forward + backward of the sequence mixer alone (no projections) at equal
    tokens per call over growing contexts, D = 512 shapes: mLSTM chunkwise cell
    (NH 4, dqk 64, dv 128, chunk 64) and causal attention (NH 8, hd 64). Time per
    token stays flat for a linear-time mixer and grows ~linearly with the context
    for attention (quadratic per sequence)."""
    g = torch.Generator().manual_seed(3)
    for fam in a.family.split(","):
        base = None
        for T in (int(v) for v in a.ctx.split(",")):
            B = max(1, a.tokens // T)
            if fam == "xlstm":
                NH, dqk, dv = 4, 64, 128
                ins = [torch.randn(B, NH, T, d, generator=g).requires_grad_() for d in (dqk, dqk, dv)]
                gates = [torch.randn(B, NH, T, generator=g).requires_grad_() for _ in range(2)]

                def run():
                    h = pm.mlstm_chunkwise(*ins, *gates, L=64)
                    h.sum().backward()
            else:
                NH, hd = 8, 64
                ins = [torch.randn(B, NH, T, hd, generator=g).requires_grad_() for _ in range(3)]
                mask = pm._mask(B, T, None)

                def run():
                    pm.CausalAttention.apply(*ins, mask).sum().backward()
            run()
            ts = [_timed_cpu(run) for _ in range(a.steps)]
            wall = statistics.median(t[0] for t in ts)
            cpu = statistics.median(t[1] for t in ts)
            per_tok = cpu / (B * T)
            base = base or per_tok
            emit({"kind": "mixer", "family": fam, "ctx": T, "batch": B, "tokens": B * T,
                  "wall_s_median": wall, "cpu_s_median": cpu, "cpu_us_per_token": 1e6 * per_tok,
                  "cpu_per_token_vs_first_ctx": per_tok / base})


def read_sclaw_csv(path):
    """bench_train's CSV (family,d,num_blocks,...,tokens_per_s,...; '#' comments)
    -> {(family, d, ctx): row}."""
    import csv
    with open(path) as fp:
        rows = list(csv.DictReader(line for line in fp if not line.startswith("#")))
    fam = {"xlstm": "xlstm", "mlstm_v1": "xlstm", "llama": "llama"}
    return {(fam[r["family"].lower()], int(r["d"]), int(r["ctx"])): r for r in rows}


def table(paths, compare=None):
    """Markdown tables of earlier JSON-line outputs (--table); with compare, the
    ratio of sclaw's tokens/s (bench_train CSV) to the peer's."""
    rows = []
    for p in paths:
        with open(p) as fp:
            rows += [json.loads(line) for line in fp if line.strip()]
    steps = [r for r in rows if r["kind"] == "step"]
    peaks = [r["gflops_per_s"] for r in rows if r["kind"] == "peak"]
    if peaks:
        print("GEMM peak (torch.matmul 2048^3 fp32, best of 5) per run: %s GFLOP/s\n"
              % ", ".join("%.1f" % v for v in peaks))
    if steps:
        print("| family | d | blocks | ctx | batch | step s (median) | cpu share | tokens/s "
              "| GFLOP/step | GFLOP/s | GEMM peak | MFU |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in sorted(steps, key=lambda r: (r["family"], r["d"], r["ctx"])):
            print("| %s | %d | %d | %d | %d | %.1f (%d) | %s | %.1f | %.0f | %.2f | %.0f | %.1f%% |" % (
                r["family"], r["d"], r["num_blocks"], r["ctx"], r["batch"], r["step_s_median"],
                r["steps_timed"], "%.2f" % r["cpu_share"] if "cpu_share" in r else "-",
                r["tokens_per_s"], r["flops_per_step"] / 1e9, r["gflops_per_s"],
                r["peak_gflops_per_s"], 100 * r["mfu"]))
    if compare and steps:
        sc = read_sclaw_csv(compare)
        print("\n| family | d | ctx | sclaw tokens/s | peer tokens/s | sclaw / peer | blocks sclaw / peer |")
        print("|---|---|---|---|---|---|---|")
        for r in sorted(steps, key=lambda r: (r["family"], r["d"], r["ctx"])):
            o = sc.get((r["family"], r["d"], r["ctx"]))
            if o:
                print("| %s | %d | %d | %.1f | %.1f | %.2f | %s / %d |" % (
                    r["family"], r["d"], r["ctx"], float(o["tokens_per_s"]), r["tokens_per_s"],
                    float(o["tokens_per_s"]) / r["tokens_per_s"], o["num_blocks"], r["num_blocks"]))
    mixers = [r for r in rows if r["kind"] == "mixer"]
    if mixers:
        print("\n| mixer | ctx | batch | CPU us/token | vs first ctx |")
        print("|---|---|---|---|---|")
        for r in mixers:
            print("| %s | %d | %d | %.0f | %.2f |" % ("mLSTM chunkwise" if r["family"] == "xlstm"
                                                     else "attention", r["ctx"], r["batch"],
                                                     r["cpu_us_per_token"],
                                                     r["cpu_per_token_vs_first_ctx"]))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("configs", nargs="*", help="sclaw model configs (timed at their context_length)")
    ap.add_argument("--grid", action="store_true", help="time the family x d x ctx grid")
    ap.add_argument("--mixer-sweep", action="store_true",
                    help="time only the sequence mixers (mLSTM cell, attention) over --ctx")
    ap.add_argument("--family", default="xlstm,llama")
    ap.add_argument("--d", default="256,512,768")
    ap.add_argument("--ctx", default="512,2048")
    ap.add_argument("--blocks", default="",
                    help="num_blocks per --d value, comma-separated (default d/64 + 2 each)")
    ap.add_argument("--tokens", type=int, default=8192, help="tokens per step (default 8192)")
    ap.add_argument("--batch", type=int, default=0, help="sequences per step (overrides --tokens)")
    ap.add_argument("--doc-len", type=int, default=0,
                    help="documents of this many tokens per row (default: one per row)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps (median, default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed warm-up steps (default 1)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--sclaw", default=os.path.join(ROOT, "build", "sclaw"))
    ap.add_argument("--out", help="also append the JSON lines to this file")
    ap.add_argument("--keep-coretype", action="store_true",
                    help="leave OPENBLAS_CORETYPE as set (default: removed)")
    ap.add_argument("--quiet", action="store_true", help="no per-step times on stderr")
    ap.add_argument("--table", nargs="+", metavar="FILE.jsonl",
                    help="print markdown tables of earlier --out files and exit")
    ap.add_argument("--compare", metavar="BENCH_TRAIN.csv",
                    help="with --table: ratio to sclaw's build/bench/bench_train output")
    a = ap.parse_args()
    if a.table:
        return table(a.table, a.compare)
    if not a.configs and not a.grid and not a.mixer_sweep:
        ap.error("give CONFIG.json files, --grid or --mixer-sweep")
    if a.steps < 1 or a.warmup < 0 or a.tokens < 1 or a.batch < 0:
        ap.error("--steps >= 1, --warmup >= 0, --tokens >= 1, --batch >= 0")
    if not os.access(a.sclaw, os.X_OK):
        ap.error("%s not found: run 'make' first (FLOPs come from 'sclaw count')" % a.sclaw)
    torch.set_num_threads(a.threads)
    out = open(a.out, "a") if a.out else None

    def emit(o):
        line = json.dumps(o)
        print(line, flush=True)
        if out:
            out.write(line + "\n")
            out.flush()

    peak, t = gemm_peak()
    emit({"kind": "peak", "gemm": "torch.matmul 2048^3 float32, best of 5", "gflops_per_s": peak,
          "seconds": t, "threads": a.threads, "torch": torch.__version__,
          "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "")})

    if a.mixer_sweep:
        mixer_sweep(a, emit)
    settings = []
    for path in a.configs:
        settings.append((pm.load_config(path), path))
    if a.grid:
        tmp = os.path.join(ROOT, "build", "peer-train")
        os.makedirs(tmp, exist_ok=True)
        ds = [int(v) for v in a.d.split(",")]
        nbs = [int(v) for v in a.blocks.split(",")] if a.blocks else [0] * len(ds)
        if len(nbs) != len(ds):
            ap.error("--blocks needs one value per --d value")
        for fam in a.family.split(","):
            for d, nb in zip(ds, nbs):
                for T in (int(v) for v in a.ctx.split(",")):
                    cfg = grid_config(fam, d, T, nb=nb)
                    path = os.path.join(tmp, "%s-d%d-T%d.json" % (fam, d, T))
                    with open(path, "w") as fp:
                        json.dump(cfg, fp, indent=1)
                    settings.append((cfg, path))
    res = []
    for cfg, path in settings:
        # the peak again right before each setting: on a shared machine the load
        # (and so the reachable GEMM rate) changes between settings
        local, _ = gemm_peak()
        r = bench_setting(cfg, path, a, local)
        r["peak_gflops_per_s"] = local
        r["peak_gflops_per_s_first"] = peak
        emit(r)
        res.append(r)
    if a.grid:
        for fam in a.family.split(","):
            for d in (int(v) for v in a.d.split(",")):
                rs = sorted((r for r in res if r["family"] == fam and r["d"] == d),
                            key=lambda r: r["ctx"])
                if len(rs) >= 2:
                    lo, hi = rs[0], rs[-1]
                    per_tok = lambda r: r["step_s_median"] / r["tokens_per_step"]  # noqa: E731
                    emit({"kind": "ctx_growth", "family": fam, "d": d, "ctx_lo": lo["ctx"],
                          "ctx_hi": hi["ctx"],
                          "time_per_token_ratio": per_tok(hi) / per_tok(lo),
                          "flops_per_token_ratio": (hi["flops_per_step"] / hi["tokens_per_step"]) /
                          (lo["flops_per_step"] / lo["tokens_per_step"])})
    if out:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
