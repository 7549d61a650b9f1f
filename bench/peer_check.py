#!/usr/bin/python3
"""peer_check.py - verify sclaw's C models against the PyTorch peer (bench/peer_models.py).

Benchmark peer only (issue 5); run with Debian's /usr/bin/python3 (python3-torch).

  peer_check.py loss CONFIG.json WEIGHTS.safetensors (--data DIR | --tokens FILE)
                [--batch B] [--batches N] [--no-doc-reset] [--cell chunkwise|parallel|recurrent]
                [--logits-out FILE] [--sclaw-loss X]
      Loss (mean cross-entropy in nats over all valid targets) of the weights in a
      sclaw checkpoint or model file (Hugging Face tensor names, include/sclaw_model.h;
      Adam moments and trainer state in checkpoint.safetensors are ignored) on
        --data DIR    the validation windows of a 'sclaw data prepare' directory, batch
                      by batch exactly as 'sclaw eval' reads them (window i = val tokens
                      [i*T, i*T+T+1), documents start at the separator token, so the
                      xLSTM memory resets and Llama attention is masked there), or
        --tokens FILE a safetensors file with "tokens" (B, T+1) int32/int64 and an
                      optional "seg" (B, T) of document ids.
      --sclaw-loss X (e.g. from 'sclaw eval --json') prints the relative difference and
      exits 1 when it exceeds --rtol (default 1e-6; matching float32
      implementations agree to ~1e-8 on the mean loss, while e.g. dropping the document
      reset of a tiny xLSTM moves it by 1e-4). Prints one JSON object.

  peer_check.py selftest [--quick]
      Checks the peer itself, independently of sclaw: the chunkwise mLSTM cell against
      the parallel and recurrent forms (outputs and autograd gradients, float64), the
      recompute-in-backward attention against plain autograd, a two-document row against
      its documents run separately (memory reset, RoPE restart, attention mask), the
      safetensors writer/reader round trip, and the parameter counts against
      `build/sclaw --json count` when build/sclaw exists. Exits 1 on any failure.
"""
import argparse
import glob
import json
import os
import struct
import subprocess
import sys

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_models as pm  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------
# Token batches
# ---------------------------------------------------------------------------
def read_shard(path):
    """A sclaw token shard (sclaw_data.h): 32-byte header 'SCLAWTOK', version,
    width (2 or 4), count, vocab, reserved; then the tokens."""
    with open(path, "rb") as fp:
        raw = fp.read()
    if len(raw) < 32 or raw[:8] != b"SCLAWTOK":
        raise ValueError("%s: not a sclaw token shard" % path)
    ver, width, count, vocab, _ = struct.unpack("<IIQII", raw[8:32])
    if ver != 1 or width not in (2, 4) or len(raw) != 32 + width * count:
        raise ValueError("%s: bad shard header (version %d, width %d, %d tokens)" % (path, ver, width, count))
    dt = torch.int16 if width == 2 else torch.int32
    t = torch.frombuffer(bytearray(raw[32:]), dtype=dt).to(torch.int64)
    if width == 2:
        t = t & 0xFFFF  # uint16 ids
    return t


def val_batches(ddir, T, B, nbatches):
    """The validation batches of 'sclaw eval': fixed windows in order; yields
    (inputs (b, T), targets (b, T), seg (b, T)) with b <= B rows."""
    with open(os.path.join(ddir, "meta.json")) as fp:
        meta = json.load(fp)
    eot = int(meta["eot_id"])
    toks = torch.cat([read_shard(os.path.join(ddir, f)) for f in meta["val"]["shards"]])
    nval = (toks.numel() - 1) // T if toks.numel() >= T + 1 else 0
    if nval == 0:
        raise ValueError("%s: the validation split has fewer than T+1 = %d tokens" % (ddir, T + 1))
    nb = (nval + B - 1) // B
    for k in range(nbatches if nbatches and nbatches < nb else nb):
        rows = [toks[w * T:w * T + T + 1] for w in range(k * B, min(nval, k * B + B))]
        x = torch.stack(rows)
        # segment ids as sclaw's loader fills them: 0 at the row start, +1 at every
        # separator token after position 0
        isdoc = (x[:, :T] == eot).to(torch.int64)
        isdoc[:, 0] = 0
        yield x[:, :T], x[:, 1:], isdoc.cumsum(1)


def token_file_batch(path):
    ts, _ = pm.safetensors_load(path)
    if "tokens" not in ts:
        raise ValueError("%s: no tensor 'tokens' (B, T+1)" % path)
    x = ts["tokens"].to(torch.int64)
    if x.dim() != 2 or x.shape[1] < 2:
        raise ValueError("%s: 'tokens' must be (B, T+1), got %s" % (path, list(x.shape)))
    seg = ts.get("seg")
    if seg is not None:
        seg = seg.to(torch.int64)
        if tuple(seg.shape) != (x.shape[0], x.shape[1] - 1):
            raise ValueError("%s: 'seg' must be (B, T) = %s, got %s"
                             % (path, [x.shape[0], x.shape[1] - 1], list(seg.shape)))
    yield x[:, :-1], x[:, 1:], seg


# ---------------------------------------------------------------------------
# loss
# ---------------------------------------------------------------------------
def cmd_loss(a):
    torch.set_num_threads(a.threads)
    cfg = pm.load_config(a.config)
    model = pm.build(cfg)
    pm.load_weights(model, a.weights)
    model.eval()
    if isinstance(model, pm.XLSTM):
        model.set_cell(a.cell)
    T = cfg["context_length"]
    src = token_file_batch(a.tokens) if a.tokens else val_batches(a.data, T, a.batch, a.batches)
    tot, cnt, logits_all = 0.0, 0, []
    with torch.no_grad():
        for x, y, seg in src:
            logits, _ = model(x, None, None if a.no_doc_reset else seg)
            lp = torch.log_softmax(logits.double(), -1)
            valid = y >= 0
            nll = -lp.gather(-1, y.clamp(min=0)[..., None]).squeeze(-1)
            tot += float(nll[valid].sum())
            cnt += int(valid.sum())
            if a.logits_out:
                logits_all.append(logits)
    out = {"config": a.config, "weights": a.weights, "tokens": cnt,
           "loss": tot / cnt if cnt else float("nan"), "cell": a.cell,
           "doc_reset": not a.no_doc_reset}
    rc = 0
    if a.sclaw_loss is not None:
        rel = abs(out["loss"] - a.sclaw_loss) / abs(a.sclaw_loss)
        out.update(sclaw_loss=a.sclaw_loss, rel_diff=rel, rtol=a.rtol, ok=rel <= a.rtol)
        rc = 0 if rel <= a.rtol else 1
    if a.logits_out:
        pm.safetensors_save(a.logits_out, {"logits": torch.cat(logits_all)})
    print(json.dumps(out))
    return rc


# ---------------------------------------------------------------------------
# selftest
# ---------------------------------------------------------------------------
class Checker:
    def __init__(self):
        self.fails = 0
        self.n = 0

    def close(self, what, got, ref, atol, rtol):
        """|got - ref| <= atol + rtol*|ref| elementwise; prints the worst element."""
        self.n += 1
        got, ref = got.detach().double(), ref.detach().double()
        err = (got - ref).abs() - (atol + rtol * ref.abs())
        k = int(err.flatten().argmax())
        ok = bool(err.flatten()[k] <= 0)
        self.fails += not ok
        print("%s %-58s worst [%d] %.9g vs %.9g" % ("ok  " if ok else "FAIL", what, k,
              float(got.flatten()[k]), float(ref.flatten()[k])))

    def true(self, what, cond, detail=""):
        self.n += 1
        self.fails += not cond
        print("%s %-58s %s" % ("ok  " if cond else "FAIL", what, detail))


def _cell_inputs(B, NH, T, dqk, dv, gen):
    d = torch.float64
    q, k = (torch.randn(B, NH, T, dqk, dtype=d, generator=gen) for _ in range(2))
    v = torch.randn(B, NH, T, dv, dtype=d, generator=gen)
    i = 15 * torch.tanh(3 * torch.randn(B, NH, T, dtype=d, generator=gen) / 15)
    f = 15 * torch.tanh((3 * torch.randn(B, NH, T, dtype=d, generator=gen) + 2) / 15)
    return [x.requires_grad_() for x in (q, k, v, i, f)]


def tiny_cfg(family, D=64, NB=2, NH=None, V=97, T=160):
    if family == "xlstm":
        return {"model_type": "mlstm_v1", "embedding_dim": D, "num_blocks": NB,
                "num_heads": NH or 2, "vocab_size": V, "context_length": T, "chunk_size": 32}
    return {"model_type": "llama", "embedding_dim": D, "num_blocks": NB, "num_heads": NH or 4,
            "vocab_size": V, "context_length": T}


def selftest(a):
    torch.set_num_threads(a.threads)
    ck = Checker()
    gen = torch.Generator().manual_seed(5)

    # 1. mLSTM forms (float64): chunkwise (L=64, T not a multiple: padding path)
    #    vs parallel and recurrent, outputs and gradients of a random projection.
    ins = _cell_inputs(2, 3, 150, 16, 24, gen)
    hc = pm.mlstm_chunkwise(*ins, L=64)
    hp = pm.mlstm_parallel(*ins)
    hr = pm.mlstm_recurrent(*ins)
    w = torch.randn(hc.shape, dtype=torch.float64, generator=gen)
    names = "dq dk dv di df".split()
    g = {n: torch.autograd.grad((h * w).sum(), ins) for n, h in (("c", hc), ("p", hp), ("r", hr))}
    # chunkwise and recurrent both start from m = 0 and agree to rounding; the
    # parallel form has no initial state, so the normaliser's lower bound exp(-m)
    # differs and the forms agree only to ~eps (models.md §3, "differ at ~eps level")
    ck.close("cell: chunkwise == recurrent (h)", hc, hr, 1e-10, 1e-9)
    ck.close("cell: chunkwise == parallel (h, ~eps)", hc, hp, 1e-5, 1e-5)
    for j, n in enumerate(names):
        ck.close("cell: chunkwise == recurrent (%s)" % n, g["c"][j], g["r"][j], 1e-9, 1e-8)
        ck.close("cell: chunkwise == parallel (%s, ~eps)" % n, g["c"][j], g["p"][j], 1e-4, 1e-4)

    # 2. recompute attention vs plain autograd (float64, with a segment mask)
    B, NH, T, hd = 2, 3, 70, 8
    q, k, v = (torch.randn(B, NH, T, hd, dtype=torch.float64, generator=gen).requires_grad_()
               for _ in range(3))
    seg = torch.zeros(B, T, dtype=torch.int64)
    seg[1, 30:] = 1
    mask = pm._mask(B, T, seg)
    o1 = pm.CausalAttention.apply(q, k, v, mask)
    o2 = pm.attention_naive(q, k, v, mask)
    w = torch.randn(o1.shape, dtype=torch.float64, generator=gen)
    g1 = torch.autograd.grad((o1 * w).sum(), (q, k, v))
    g2 = torch.autograd.grad((o2 * w).sum(), (q, k, v))
    ck.close("attention: recompute == autograd (out)", o1, o2, 1e-12, 1e-10)
    for n, x1, x2 in zip(("dq", "dk", "dv"), g1, g2):
        ck.close("attention: recompute == autograd (%s)" % n, x1, x2, 1e-12, 1e-10)
    # interleaved RoPE: rotating by p then by -p is the identity, and the score
    # q_i . k_j depends only on i - j
    x = torch.randn(1, 1, 5, hd, dtype=torch.float64, generator=gen)
    p = torch.tensor([[0, 3, 7, 100, 2047]])
    ck.close("rope: rotate(-p) . rotate(p) == id", pm.rope(pm.rope(x, p), -p), x, 1e-12, 1e-12)
    qq, kk = x[:, :, :1].expand(1, 1, 2, hd), x[:, :, 1:2].expand(1, 1, 2, hd)
    s1 = (pm.rope(qq, torch.tensor([[10, 510]])) * pm.rope(kk, torch.tensor([[4, 504]]))).sum(-1)
    ck.close("rope: score depends on i - j only", s1[..., 0], s1[..., 1], 1e-9, 1e-9)

    # 3. whole models: a row holding two documents equals the documents run
    #    alone (xLSTM memory reset, Llama RoPE restart + mask), chunkwise ==
    #    parallel inside the model, and a safetensors round trip.
    tmp = a.tmpdir or os.path.join(ROOT, "build", "peer-selftest")
    os.makedirs(tmp, exist_ok=True)
    for fam in ("xlstm", "llama"):
        cfg = tiny_cfg(fam)
        m = pm.build(cfg).init_params(7).double()
        if fam == "xlstm":  # random gates so the memory matters
            with torch.no_grad():
                for blk in m.backbone.blocks:
                    ml = blk.mlstm_layer
                    for lin in (ml.igate_preact, ml.fgate_preact, ml.ogate_preact):
                        lin.weight.normal_(0, 0.3, generator=gen)
        T, cut = 96, 41
        x = torch.randint(0, cfg["vocab_size"], (1, T + 1), generator=gen)
        seg = torch.zeros(1, T, dtype=torch.int64)
        seg[0, cut:] = 1
        lg, _ = m(x[:, :T], None, seg)
        la, _ = m(x[:, :cut], None, torch.zeros(1, cut, dtype=torch.int64))
        lb, _ = m(x[:, cut:T], None, torch.zeros(1, T - cut, dtype=torch.int64))
        ck.close("%s: two documents == each alone (doc 1)" % fam, lg[:, :cut], la, 1e-10, 1e-9)
        # xLSTM: the reset gate sigmoid(-25) = 1.4e-11 leaves a trace of document 1, and
        # the stabiliser m entering document 2 differs, so the normaliser's lower bound
        # exp(-m) differs at the cell eps level (1e-6): agreement to ~1e-7, not rounding
        tol = (1e-7, 1e-6) if fam == "xlstm" else (1e-10, 1e-9)
        ck.close("%s: two documents == each alone (doc 2)" % fam, lg[:, cut:], lb, *tol)
        _, lnoseg = m(x[:, :T], x[:, 1:], None)
        _, lseg = m(x[:, :T], x[:, 1:], seg)
        ck.true("%s: the reset changes the loss" % fam, abs(float(lnoseg - lseg)) > 1e-6,
                "%.6f vs %.6f" % (float(lnoseg), float(lseg)))
        if fam == "xlstm":
            lc, _ = m(x[:, :T], None, None)
            m.set_cell("parallel")
            lp, _ = m(x[:, :T], None, None)
            m.set_cell("chunkwise")
            # eps-level differences of the forms (no initial state in the parallel
            # form), carried through two blocks
            ck.close("xlstm: model chunkwise == parallel (logits)", lc, lp, 1e-5, 1e-5)
        else:
            yy = x[:, 1:]
            _, l1 = m(x[:, :T], yy, seg)
            g1 = torch.autograd.grad(l1, list(m.parameters()))
            m.set_attention(True)
            _, l2 = m(x[:, :T], yy, seg)
            g2 = torch.autograd.grad(l2, list(m.parameters()))
            m.set_attention(False)
            ck.close("llama: model grads recompute == autograd attention",
                     torch.cat([t.flatten() for t in g1]), torch.cat([t.flatten() for t in g2]),
                     1e-12, 1e-9)
        # float32 safetensors round trip: same tensors, same loss
        m32 = pm.build(cfg).init_params(3)
        path = os.path.join(tmp, "%s.safetensors" % fam)
        pm.save_weights(m32, path, {"format": "pt"})
        ts, meta = pm.safetensors_load(path)
        m2 = pm.load_weights(pm.build(cfg), path)
        same = all(torch.equal(p1, p2) for p1, p2 in zip(m32.state_dict().values(),
                                                          m2.state_dict().values()))
        ck.true("%s: safetensors round trip is bit-exact" % fam,
                same and meta.get("format") == "pt" and len(ts) == len(m32.state_dict()),
                "%d tensors" % len(ts))
        # bad input: a tensor with the wrong shape is refused with its name
        bad = dict(m32.state_dict())
        bad["lm_head.weight"] = bad["lm_head.weight"][:-1]
        pm.safetensors_save(path, bad)
        try:
            pm.load_weights(pm.build(cfg), path)
            ck.true("%s: wrong shape refused" % fam, False)
        except ValueError as e:
            ck.true("%s: wrong shape refused" % fam, "lm_head.weight" in str(e), str(e))

    # 4. parameter counts vs sclaw's accounting (needs build/sclaw)
    sclaw = os.path.join(ROOT, "build", "sclaw")
    if os.path.exists(sclaw):
        for path in sorted(glob.glob(os.path.join(ROOT, "configs", "cpu", "*.json"))):
            j = json.loads(subprocess.run([sclaw, "--json", "count", path], check=True,
                                          capture_output=True, text=True).stdout)
            cfg = pm.load_config(path)
            n = pm.build(cfg).num_params()
            ck.true("params %-52s" % os.path.basename(path), n == j["num_params"],
                    "peer %d, sclaw %d" % (n, j["num_params"]))
    else:
        print("skip parameter counts: %s not built" % sclaw)

    print("%d checks, %d failed" % (ck.n, ck.fails))
    return 1 if ck.fails else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    lo = sub.add_parser("loss", help="loss of sclaw weights on a token batch")
    lo.add_argument("config")
    lo.add_argument("weights")
    src = lo.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="'sclaw data prepare' directory (validation split)")
    src.add_argument("--tokens", help="safetensors with 'tokens' (B, T+1) [+ 'seg' (B, T)]")
    lo.add_argument("--batch", type=int, default=8, help="sequences per batch (default 8)")
    lo.add_argument("--batches", type=int, default=0, help="validation batches (default all)")
    lo.add_argument("--no-doc-reset", action="store_true", help="ignore document borders")
    lo.add_argument("--cell", default="chunkwise", choices=("chunkwise", "parallel", "recurrent"))
    lo.add_argument("--logits-out", help="write the logits (rows in batch order) as safetensors")
    lo.add_argument("--sclaw-loss", type=float, help="sclaw's loss on the same batches")
    lo.add_argument("--rtol", type=float, default=1e-6,
                    help="largest accepted relative difference to --sclaw-loss (default 1e-6)")
    st = sub.add_parser("selftest", help="check the peer itself")
    st.add_argument("--tmpdir", help="scratch directory (default build/peer-selftest)")
    a = ap.parse_args()
    try:
        return cmd_loss(a) if a.cmd == "loss" else selftest(a)
    except (OSError, ValueError, KeyError) as e:
        print("peer_check: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
