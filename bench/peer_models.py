"""peer_models.py - the two sclaw model families in plain PyTorch (float32, CPU).

Benchmark peer only (issue 5): an independent implementation of models.md §1
(xLSTM = xLSTM-7B "mlstm_v1" blocks) and §2 (Llama-2 Transformer) that
bench/peer_train.py times and bench/peer_check.py uses to verify sclaw's C
models. Nothing in the sclaw library, CLI or tests imports it.

Run with Debian's interpreter (/usr/bin/python3, python3-torch 1.13): the
pyenv python3 on PATH has no torch.

Contents
  derive(cfg)                  derived sizes from a sclaw config dict (models.md §1.1, §2)
  XLSTM(cfg), Llama(cfg)       nn.Modules whose state_dict keys are the Hugging Face
                               names of include/sclaw_model.h; .init_params(seed) follows
                               models.md §1.3 / §2; forward(tokens, targets, seg) -> loss
  build(cfg)                   the module of cfg's family
  mlstm_chunkwise/_parallel/_recurrent   the mLSTM cell, models.md §3.3 / §3.2 / §3.1
  CausalAttention              softmax attention that keeps only the log-sum-exp and
                               recomputes the probabilities in backward (as sclaw does)
  attention_naive              the same by plain autograd (check only)
  safetensors_load/_save       safetensors I/O with the stdlib + torch (Debian 12 has no
                               python3-safetensors)

Shapes: B batch, T sequence, D width, NH heads, dqk/dv head sizes, L chunk,
NC = T/L chunks, V vocabulary, F = d_ff.
"""
import json
import math
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

NORM_EPS = 1e-6        # every RMSNorm / LayerNorm (models.md §1.2)
CELL_EPS = 1e-6        # mLSTM normaliser eps, added after the max (§3.8)
GATE_CAP = 15.0        # i/f gate soft-cap
LOGIT_CAP = 30.0       # xLSTM output-logit soft-cap (Llama: none, models.md §2)
DOC_RESET_F = -25.0    # forget preactivation at document borders (after the cap)
ROPE_THETA = 500000.0  # Llama RoPE base of the scaling-law runs


# ---------------------------------------------------------------------------
# Config: the same keys and derivation rules as sclaw (src/models/{mlstm,llama}.c)
# ---------------------------------------------------------------------------
def _ffn_dim(d, p, mult, ceil_mode):
    # models.md §1.1 (xLSTM, training code: ceil) and §2 (Llama: int(8D/3) = floor),
    # then always up to the next multiple of `mult`.
    x = math.ceil(d * p) if ceil_mode else math.floor(d * p)
    return mult * ((x + mult - 1) // mult)


def derive(cfg):
    """Full shape dict of a sclaw config dict (explicit keys win over the rules)."""
    mt = cfg["model_type"]
    fam = {"mlstm_v1": "xlstm", "xlstm": "xlstm", "llama": "llama"}.get(mt)
    if fam is None:
        raise ValueError("unknown model_type '%s' (expected mlstm_v1, xlstm or llama)" % mt)
    D, NH = int(cfg["embedding_dim"]), int(cfg["num_heads"])
    if D % NH:
        raise ValueError("embedding_dim %d is not divisible by num_heads %d" % (D, NH))
    s = dict(family=fam, D=D, NH=NH, NB=int(cfg["num_blocks"]), V=int(cfg["vocab_size"]),
             T=int(cfg["context_length"]))
    pf = float(cfg.get("proj_factor_ffn", 2.667))
    mult = int(cfg.get("ffn_multiple_of", 64))
    if fam == "xlstm":
        s["dqk"] = int(cfg.get("head_dim_qk") or math.floor(D * float(cfg.get("proj_factor_qk", 0.5)) / NH))
        s["dv"] = int(cfg.get("head_dim_v") or D // NH)
        s["F"] = int(cfg.get("ffn_dim") or _ffn_dim(D, pf, mult, True))
        s["L"] = int(cfg.get("chunk_size") or 64)
        s["NKV"] = NH
    else:
        hd = cfg.get("head_dim") or cfg.get("head_dim_qk") or cfg.get("head_dim_v") or D // NH
        s["dqk"] = s["dv"] = int(hd)
        s["F"] = int(cfg.get("ffn_dim") or _ffn_dim(D, pf, mult, False))
        s["NKV"] = int(cfg.get("num_kv_heads") or NH)
        if NH % s["NKV"]:
            raise ValueError("num_heads %d is not a multiple of num_kv_heads %d" % (NH, s["NKV"]))
    return s


def load_config(path):
    with open(path) as fp:
        return json.load(fp)


# ---------------------------------------------------------------------------
# Small pieces (models.md §1.2, §2)
# ---------------------------------------------------------------------------
class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + NORM_EPS) * self.weight


class MultiHeadLayerNorm(nn.Module):
    """LayerNorm over each head's dv features, weight only (length NH*dv)."""

    def __init__(self, nh, dv):
        super().__init__()
        self.nh, self.dv = nh, dv
        self.weight = nn.Parameter(torch.ones(nh * dv))

    def forward(self, h):  # h: (B, T, NH, dv) -> (B, T, NH*dv)
        mu = h.mean(-1, keepdim=True)
        var = (h - mu).pow(2).mean(-1, keepdim=True)
        hn = (h - mu) * torch.rsqrt(var + NORM_EPS)
        return hn.flatten(-2) * self.weight


class SwiGLU(nn.Module):
    """Wdown(silu(x Wgate) * x Wup); HF names: proj_up_gate/proj_up/proj_down (xLSTM)
    or gate_proj/up_proj/down_proj (Llama)."""

    def __init__(self, d, f, names):
        super().__init__()
        self.names = names
        for n, shape in zip(names, [(f, d), (f, d), (d, f)]):
            self.add_module(n, nn.Linear(shape[1], shape[0], bias=False))

    def forward(self, x):
        gate, up, down = (getattr(self, n) for n in self.names)
        return down(F.silu(gate(x)) * up(x))


def softcap(x, c):
    return c * torch.tanh(x / c)


def borders(seg):
    """seg: (B, T) document ids -> (B, T) bool, True at t=0 and where the id changes
    (sclaw_model.h: position 0 always is a border)."""
    b = torch.ones_like(seg, dtype=torch.bool)
    b[:, 1:] = seg[:, 1:] != seg[:, :-1]
    return b


def positions(seg, B, T):
    """RoPE positions: 0..T-1, restarted at 0 at every border when seg is given."""
    t = torch.arange(T).expand(B, T)
    if seg is None:
        return t
    brd = borders(seg)
    # index of the last border at or before t, by a running max of border positions
    start = torch.where(brd, t, torch.zeros_like(t)).cummax(1).values
    return t - start


# ---------------------------------------------------------------------------
# mLSTM cell (models.md §3). Inputs per (batch, head):
#   q, k: (B, NH, T, dqk)   v: (B, NH, T, dv)   i, f: (B, NH, T) capped gate
#   preactivations (i = log input gate, logsigmoid(f) = log forget gate).
# Output h: (B, NH, T, dv). Initial state C = 0, n = 0, m = 0.
# Gradients come from autograd through these forwards.
# ---------------------------------------------------------------------------
def mlstm_recurrent(q, k, v, i, f, eps=CELL_EPS):
    """§3.1 step form, a loop over T (reference for tests)."""
    B, NH, T, dqk = q.shape
    s = dqk ** -0.5
    C = q.new_zeros(B, NH, dqk, v.shape[-1])
    n = q.new_zeros(B, NH, dqk)
    m = q.new_zeros(B, NH)
    lf = F.logsigmoid(f)
    hs = []
    for t in range(T):
        m_new = torch.maximum(lf[..., t] + m, i[..., t])
        fa = torch.exp(lf[..., t] + m - m_new)
        ia = torch.exp(i[..., t] - m_new)
        kt, vt = k[:, :, t], v[:, :, t]
        C = fa[..., None, None] * C + ia[..., None, None] * kt[..., :, None] * vt[..., None, :]
        n = fa[..., None] * n + ia[..., None] * kt
        qs = s * q[:, :, t]
        num = (qs[..., :, None] * C).sum(-2)
        den = torch.maximum((qs * n).sum(-1).abs(), torch.exp(-m_new)) + eps
        hs.append(num / den[..., None])
        m = m_new
    return torch.stack(hs, 2)


def mlstm_parallel(q, k, v, i, f, eps=CELL_EPS):
    """§3.2 parallel form: one T x T decay matrix per (batch, head)."""
    T, dqk = q.shape[-2], q.shape[-1]
    s = dqk ** -0.5
    b = F.logsigmoid(f).cumsum(-1)                                   # (B, NH, T)
    logD = b[..., :, None] - b[..., None, :] + i[..., None, :]       # (B, NH, T, T)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    logD = logD.masked_fill(~causal, float("-inf"))
    m = logD.max(-1).values                                          # row max, (B, NH, T)
    Ct = (q @ k.transpose(-1, -2)) * s * torch.exp(logD - m[..., None])
    N = torch.maximum(Ct.sum(-1).abs(), torch.exp(-m))
    return (Ct @ v) / (N[..., None] + eps)


def mlstm_chunkwise(q, k, v, i, f, L=64, eps=CELL_EPS):
    """§3.3 chunkwise form with chunk length L, vectorised over batch, heads and
    chunks; only the inter-chunk state recurrence (B) is a loop over NC chunks.
    T not a multiple of L: zero-padded at the end (causality leaves the first T
    outputs unchanged, models.md §3.6 train_with_padding)."""
    B, NH, T, dqk = q.shape
    dv = v.shape[-1]
    pad = (-T) % L
    if pad:
        q, k, v = (F.pad(x, (0, 0, 0, pad)) for x in (q, k, v))
        i, f = (F.pad(x, (0, pad)) for x in (i, f))
    NC = (T + pad) // L
    s = dqk ** -0.5
    qc = q.reshape(B, NH, NC, L, dqk)
    kc = k.reshape(B, NH, NC, L, dqk)
    vc = v.reshape(B, NH, NC, L, dv)
    ic = i.reshape(B, NH, NC, L)

    # (A) gate prefix sums restarted in every chunk: b (within-chunk cumsum of the
    # log forget gate), g (total log-decay of the chunk), a (decay from t to the
    # chunk end plus the input gate).
    b = F.logsigmoid(f).reshape(B, NH, NC, L).cumsum(-1)
    g = b[..., -1]                                                   # (B, NH, NC)
    a = g[..., None] - b + ic                                        # (B, NH, NC, L)

    # (B) inter-chunk recurrence. Each chunk's contribution sum_t exp(a_t) k_t v_t^T
    # is formed for all chunks at once with its own stabiliser amax; the loop only
    # rescales: with m_new = max(g + m, amax) this equals the spec's
    # C = gamma C + sum_t exp(a_t - m_new) k_t v_t^T.
    amax = a.max(-1).values                                          # (B, NH, NC)
    ka = kc * torch.exp(a - amax[..., None])[..., None]              # (B, NH, NC, L, dqk)
    Cloc = ka.transpose(-1, -2) @ vc                                 # (B, NH, NC, dqk, dv)
    nloc = ka.sum(-2)                                                # (B, NH, NC, dqk)
    C = q.new_zeros(B, NH, dqk, dv)
    n = q.new_zeros(B, NH, dqk)
    m = q.new_zeros(B, NH)
    Cs, ns, ms = [], [], []
    # unbind, not Cloc[:, :, c]: the backward of each indexing op writes a zero
    # tensor of the whole input, which would make the loop quadratic in NC
    for gc, ac, Cc, nc in zip(g.unbind(-1), amax.unbind(-1), Cloc.unbind(2), nloc.unbind(2)):
        Cs.append(C), ns.append(n), ms.append(m)                   # state entering the chunk
        m_new = torch.maximum(gc + m, ac)
        gam = torch.exp(gc + m - m_new)
        al = torch.exp(ac - m_new)
        C = gam[..., None, None] * C + al[..., None, None] * Cc
        n = gam[..., None] * n + al[..., None] * nc
        m = m_new
    Cst = torch.stack(Cs, 2)                                         # (B, NH, NC, dqk, dv)
    nst = torch.stack(ns, 2)                                         # (B, NH, NC, dqk)
    mst = torch.stack(ms, 2)                                         # (B, NH, NC)

    # (C) outputs, independent per chunk: intra-chunk causal part P V plus the
    # inter-chunk part through the entering state, under one stabiliser mc.
    logD = b[..., :, None] - b[..., None, :] + ic[..., None, :]      # (B, NH, NC, L, L)
    causal = torch.ones(L, L, dtype=torch.bool).tril()
    logD = logD.masked_fill(~causal, float("-inf"))
    m_intra = logD.max(-1).values                                    # (B, NH, NC, L)
    m_inter = b + mst[..., None]
    mc = torch.maximum(m_inter, m_intra)
    P = (qc @ kc.transpose(-1, -2)) * s * torch.exp(logD - mc[..., None])
    w = s * torch.exp(m_inter - mc)                                  # (B, NH, NC, L)
    num = w[..., None] * (qc @ Cst) + P @ vc                         # (B, NH, NC, L, dv)
    den = w * (qc @ nst[..., None]).squeeze(-1) + P.sum(-1)
    N = torch.maximum(den.abs(), torch.exp(-mc))
    h = num / (N[..., None] + eps)
    return h.reshape(B, NH, NC * L, dv)[:, :, :T]


# ---------------------------------------------------------------------------
# Causal softmax attention (models.md §2). q: (B, NH, T, hd), k, v: (B, NH, T, hd)
# mask: (B, T, T) bool (True = may attend) or None (causal only).
# ---------------------------------------------------------------------------
def _mask(B, T, seg):
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    if seg is None:
        return causal.expand(B, T, T)
    return causal & (seg[:, :, None] == seg[:, None, :])


def attention_naive(q, k, v, mask):
    """Plain autograd attention (keeps the T x T probabilities; for checks)."""
    sc = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
    sc = sc.masked_fill(~mask[:, None], float("-inf"))
    return torch.softmax(sc, -1) @ v


class CausalAttention(torch.autograd.Function):
    """Attention that saves only q, k, v, out and the row log-sum-exp, one batch
    row at a time, and recomputes the probabilities in backward (the memory
    pattern of sclaw_attention_forward/_backward). torch 1.13 has no
    scaled_dot_product_attention, and keeping B*NH*T*T probabilities for every
    layer does not fit a CPU box at T = 2048."""

    @staticmethod
    def forward(ctx, q, k, v, mask):
        scale = q.shape[-1] ** -0.5
        out = torch.empty_like(q)
        lse = q.new_empty(q.shape[:-1])
        for r in range(q.shape[0]):
            sc = (q[r] @ k[r].transpose(-1, -2)) * scale             # (NH, T, T)
            sc.masked_fill_(~mask[r], float("-inf"))
            lse[r] = torch.logsumexp(sc, -1)
            out[r] = torch.exp(sc - lse[r][..., None]) @ v[r]
        ctx.save_for_backward(q, k, v, out, lse, mask)
        return out

    @staticmethod
    def backward(ctx, dout):
        q, k, v, out, lse, mask = ctx.saved_tensors
        scale = q.shape[-1] ** -0.5
        dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
        for r in range(q.shape[0]):
            sc = (q[r] @ k[r].transpose(-1, -2)) * scale
            sc.masked_fill_(~mask[r], float("-inf"))
            P = torch.exp(sc - lse[r][..., None])                    # (NH, T, T)
            dv[r] = P.transpose(-1, -2) @ dout[r]
            dP = dout[r] @ v[r].transpose(-1, -2)
            # softmax backward: dS = P * (dP - rowsum(dout * out))
            dS = P * (dP - (dout[r] * out[r]).sum(-1, keepdim=True)) * scale
            dq[r] = dS @ k[r]
            dk[r] = dS.transpose(-1, -2) @ q[r]
        return dq, dk, dv, None


def rope(x, pos, theta=ROPE_THETA):
    """Interleaved RoPE (Meta style): pairs (x[2j], x[2j+1]) rotated by pos*w_j,
    w_j = theta^(-2j/hd). x: (B, NH, T, hd); pos: (B, T)."""
    hd = x.shape[-1]
    w = theta ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    ang = (pos.to(torch.float64)[..., None] * w).to(x.dtype)         # (B, T, hd/2)
    c, s = torch.cos(ang)[:, None], torch.sin(ang)[:, None]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), -1).flatten(-2)


# ---------------------------------------------------------------------------
# Families
# ---------------------------------------------------------------------------
def _lin(din, dout, bias=False):
    return nn.Linear(din, dout, bias=bias)


class MLSTMLayer(nn.Module):
    def __init__(self, s):
        super().__init__()
        D, NH, dqk, dv = s["D"], s["NH"], s["dqk"], s["dv"]
        self.NH, self.dqk, self.dv, self.L = NH, dqk, dv, s["L"]
        self.q, self.k = _lin(D, NH * dqk), _lin(D, NH * dqk)
        self.v, self.ogate_preact = _lin(D, NH * dv), _lin(D, NH * dv)
        self.igate_preact, self.fgate_preact = _lin(D, NH, True), _lin(D, NH, True)
        self.multihead_norm = MultiHeadLayerNorm(NH, dv)
        self.out_proj = _lin(NH * dv, D)
        self.cell = "chunkwise"

    def forward(self, u, reset):  # u: (B, T, D); reset: (B, T) bool or None
        B, T, _ = u.shape

        def heads(x, d):  # (B, T, NH*d) -> (B, NH, T, d)
            return x.view(B, T, self.NH, d).transpose(1, 2)

        q, k = heads(self.q(u), self.dqk), heads(self.k(u), self.dqk)
        v = heads(self.v(u), self.dv)
        i = softcap(self.igate_preact(u), GATE_CAP).transpose(1, 2)  # (B, NH, T)
        f = softcap(self.fgate_preact(u), GATE_CAP).transpose(1, 2)
        if reset is not None:  # memory reset at document borders, after the cap
            f = f.masked_fill(reset[:, None, :], DOC_RESET_F)
        if self.cell == "chunkwise":
            h = mlstm_chunkwise(q, k, v, i, f, self.L)
        elif self.cell == "parallel":
            h = mlstm_parallel(q, k, v, i, f)
        else:
            h = mlstm_recurrent(q, k, v, i, f)
        hn = self.multihead_norm(h.transpose(1, 2))                  # (B, T, NH*dv)
        return self.out_proj(torch.sigmoid(self.ogate_preact(u)) * hn)


class XLSTMBlock(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.norm_mlstm = RMSNorm(s["D"])
        self.mlstm_layer = MLSTMLayer(s)
        self.norm_ffn = RMSNorm(s["D"])
        self.ffn = SwiGLU(s["D"], s["F"], ("proj_up_gate", "proj_up", "proj_down"))

    def forward(self, x, reset):
        x = x + self.mlstm_layer(self.norm_mlstm(x), reset)
        return x + self.ffn(self.norm_ffn(x))


class Attention(nn.Module):
    def __init__(self, s):
        super().__init__()
        D, NH, NKV, hd = s["D"], s["NH"], s["NKV"], s["dqk"]
        self.NH, self.NKV, self.hd = NH, NKV, hd
        self.q_proj, self.k_proj = _lin(D, NH * hd), _lin(D, NKV * hd)
        self.v_proj, self.o_proj = _lin(D, NKV * hd), _lin(NH * hd, D)
        self.naive = False

    def forward(self, u, pos, mask):
        B, T, _ = u.shape
        q = self.q_proj(u).view(B, T, self.NH, self.hd).transpose(1, 2)
        k = self.k_proj(u).view(B, T, self.NKV, self.hd).transpose(1, 2)
        v = self.v_proj(u).view(B, T, self.NKV, self.hd).transpose(1, 2)
        q, k = rope(q, pos), rope(k, pos)
        if self.NKV != self.NH:
            k = k.repeat_interleave(self.NH // self.NKV, 1)
            v = v.repeat_interleave(self.NH // self.NKV, 1)
        if self.naive:
            o = attention_naive(q, k, v, mask)
        else:
            o = CausalAttention.apply(q.contiguous(), k.contiguous(), v.contiguous(), mask)
        return self.o_proj(o.transpose(1, 2).reshape(B, T, self.NH * self.hd))


class LlamaBlock(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.input_layernorm = RMSNorm(s["D"])
        self.self_attn = Attention(s)
        self.post_attention_layernorm = RMSNorm(s["D"])
        self.mlp = SwiGLU(s["D"], s["F"], ("gate_proj", "up_proj", "down_proj"))

    def forward(self, x, pos, mask):
        x = x + self.self_attn(self.input_layernorm(x), pos, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class _Stack(nn.Module):
    pass


class _LM(nn.Module):
    """Shared head: final RMSNorm, untied LM head, optional logit soft-cap, and the
    mean cross-entropy over targets >= 0."""

    def head_loss(self, xf, targets, cap):
        logits = self.lm_head(xf)
        if cap:
            logits = softcap(logits, cap)
        if targets is None:
            return logits, None
        t = targets.reshape(-1).long()
        t = torch.where(t < 0, torch.full_like(t, -100), t)  # sclaw: a target < 0 is ignored
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t, ignore_index=-100)
        return logits, loss

    def _small(self, *ws):
        sd = math.sqrt(2.0 / (5.0 * self.s["D"]))
        for w in ws:
            nn.init.normal_(w, 0.0, sd)

    def num_params(self):
        return sum(p.numel() for p in self.parameters())


class XLSTM(_LM):
    """models.md §1: embedding, NB xLSTM blocks, final RMSNorm, untied head, cap 30."""

    def __init__(self, cfg):
        super().__init__()
        s = self.s = derive(cfg)
        self.backbone = _Stack()
        self.backbone.embeddings = nn.Embedding(s["V"], s["D"])
        self.backbone.blocks = nn.ModuleList([XLSTMBlock(s) for _ in range(s["NB"])])
        self.backbone.out_norm = RMSNorm(s["D"])
        self.lm_head = _lin(s["D"], s["V"])

    def set_cell(self, form):
        """'chunkwise' (default), 'parallel' or 'recurrent'."""
        for blk in self.backbone.blocks:
            blk.mlstm_layer.cell = form

    @torch.no_grad()
    def init_params(self, seed=1):
        """models.md §1.3 (sclaw's rules; the random draws differ from sclaw's RNG)."""
        torch.manual_seed(seed)
        s, bb = self.s, self.backbone
        wang = 2.0 / (s["NB"] * math.sqrt(s["D"]))
        self._small(bb.embeddings.weight, self.lm_head.weight)
        for blk in bb.blocks:
            ml = blk.mlstm_layer
            self._small(ml.q.weight, ml.k.weight, ml.v.weight,
                        blk.ffn.proj_up_gate.weight, blk.ffn.proj_up.weight)
            nn.init.normal_(ml.out_proj.weight, 0.0, wang)
            nn.init.normal_(blk.ffn.proj_down.weight, 0.0, wang)
            for w in (ml.ogate_preact.weight, ml.igate_preact.weight, ml.fgate_preact.weight):
                w.zero_()
            ml.igate_preact.bias.fill_(-10.0)
            ml.fgate_preact.bias.copy_(torch.linspace(3.0, 6.0, s["NH"]))
        return self

    def forward(self, tokens, targets=None, seg=None):
        """tokens, targets: (B, T) int; seg: (B, T) document ids or None (no reset).
        Returns (logits (B, T, V), mean loss or None)."""
        reset = borders(seg) if seg is not None else None
        x = self.backbone.embeddings(tokens.long())
        for blk in self.backbone.blocks:
            x = blk(x, reset)
        return self.head_loss(self.backbone.out_norm(x), targets, LOGIT_CAP)


class Llama(_LM):
    """models.md §2: embedding, NB pre-norm attention/SwiGLU blocks, final RMSNorm,
    untied head, no soft-cap."""

    def __init__(self, cfg):
        super().__init__()
        s = self.s = derive(cfg)
        self.model = _Stack()
        self.model.embed_tokens = nn.Embedding(s["V"], s["D"])
        self.model.layers = nn.ModuleList([LlamaBlock(s) for _ in range(s["NB"])])
        self.model.norm = RMSNorm(s["D"])
        self.lm_head = _lin(s["D"], s["V"])

    def set_attention(self, naive):
        for blk in self.model.layers:
            blk.self_attn.naive = naive

    @torch.no_grad()
    def init_params(self, seed=1):
        """models.md §2: small init, wang(D, 2NB) for o_proj and down_proj."""
        torch.manual_seed(seed)
        s, m = self.s, self.model
        wang = 1.0 / (s["NB"] * math.sqrt(s["D"]))
        self._small(m.embed_tokens.weight, self.lm_head.weight)
        for blk in m.layers:
            at = blk.self_attn
            self._small(at.q_proj.weight, at.k_proj.weight, at.v_proj.weight,
                        blk.mlp.gate_proj.weight, blk.mlp.up_proj.weight)
            nn.init.normal_(at.o_proj.weight, 0.0, wang)
            nn.init.normal_(blk.mlp.down_proj.weight, 0.0, wang)
        return self

    def forward(self, tokens, targets=None, seg=None):
        """seg: (B, T) document ids or None; with seg, RoPE positions restart and
        attention is masked at document borders."""
        B, T = tokens.shape
        pos = positions(seg, B, T)
        mask = _mask(B, T, seg)
        x = self.model.embed_tokens(tokens.long())
        for blk in self.model.layers:
            x = blk(x, pos, mask)
        return self.head_loss(self.model.norm(x), targets, None)


def build(cfg):
    return XLSTM(cfg) if derive(cfg)["family"] == "xlstm" else Llama(cfg)


# ---------------------------------------------------------------------------
# safetensors: 8-byte little-endian header length, a JSON header
# {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
# then the raw little-endian data.
# ---------------------------------------------------------------------------
_DT = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
       "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
       "U8": torch.uint8}
_DT_NAME = {v: k for k, v in _DT.items()}


def safetensors_load(path):
    """-> (dict name -> tensor, metadata dict)."""
    with open(path, "rb") as fp:
        raw = fp.read()
    if len(raw) < 8:
        raise ValueError("%s: too short for a safetensors file" % path)
    (hlen,) = struct.unpack("<Q", raw[:8])
    if 8 + hlen > len(raw):
        raise ValueError("%s: header length %d exceeds the file" % (path, hlen))
    hdr = json.loads(raw[8:8 + hlen].decode("utf-8"))
    meta = hdr.pop("__metadata__", {}) or {}
    data = memoryview(raw)[8 + hlen:]
    out = {}
    for name, e in hdr.items():
        if e["dtype"] not in _DT:
            raise ValueError("%s: tensor '%s': unsupported dtype %s" % (path, name, e["dtype"]))
        b, en = e["data_offsets"]
        dt = _DT[e["dtype"]]
        n = math.prod(e["shape"])
        if en - b != n * torch.tensor([], dtype=dt).element_size() or en > len(data):
            raise ValueError("%s: tensor '%s': bad data_offsets %s" % (path, name, e["data_offsets"]))
        buf = bytearray(data[b:en])
        t = torch.frombuffer(buf, dtype=dt) if n else torch.empty(0, dtype=dt)
        out[name] = t.reshape(e["shape"]).clone()
    return out, meta


def safetensors_save(path, tensors, metadata=None):
    """tensors: dict name -> tensor (written contiguous, sorted by name, 8-byte
    aligned header as the reference writer pads it)."""
    hdr, blobs, off = {}, [], 0
    if metadata:
        hdr["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        b = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        hdr[name] = {"dtype": _DT_NAME[t.dtype], "shape": list(t.shape),
                     "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(hdr, separators=(",", ":")).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    tmp = "%s.tmp" % path
    with open(tmp, "wb") as fp:
        fp.write(struct.pack("<Q", len(h)))
        fp.write(h)
        for b in blobs:
            fp.write(b)
    import os
    os.replace(tmp, path)


def load_weights(model, path, strict=True):
    """Copy the model tensors of a sclaw checkpoint/model file into model. Extra
    tensors (Adam moments "exp_avg.*", trainer state) are ignored; a missing or
    mis-shaped model tensor is an error naming it."""
    ts, _ = safetensors_load(path)
    sd = model.state_dict()
    for name, p in sd.items():
        if name not in ts:
            if strict:
                raise ValueError("%s: missing tensor '%s'" % (path, name))
            continue
        t = ts[name]
        if tuple(t.shape) != tuple(p.shape):
            raise ValueError("%s: tensor '%s': shape %s, the config says %s"
                             % (path, name, list(t.shape), list(p.shape)))
        with torch.no_grad():
            p.copy_(t.to(p.dtype))
    return model


def save_weights(model, path, metadata=None):
    safetensors_save(path, dict(model.state_dict()), metadata)
