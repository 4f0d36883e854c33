"""The seed model zoo (../shared/seeds/DIGEST.md) as online models over per-frame features.

Every model reads a window of buffered features [B, T, D] (the camera's ring buffer) and gives, for
every frame, class logits that depend on that frame and the frames before it only (causal: no
look-ahead). So one trained model serves both daemon roles:
  - segmenter (lookahead 0): forward -> (probs [B,T,C], boundary [B,T]) drives the segment tracker;
  - recognizer: forward -> probs [B,C] of the newest frame, after reading the whole window
    (`recognition` events, "what is happening now").
The ring buffer is the online cache: each new frame costs one backbone pass; these heads re-read the
buffered features, which is cheap next to the backbone (figures in docs/RESULTS.md).

Models (`--model`):
  tsn    TSN-style baseline: per-frame MLP, causal average of the embeddings (segmental consensus).
  tcn    causal dilated TCN (a single MS-TCN stage with left padding only).
  tsm    TSM: residual per-frame blocks that shift 1/8 of the channels one step from the past (online
         TSM shifts one way), then TSN consensus.
  tin    TIN on top of TSM: each channel group's shift is a learned fractional offset (linear
         interpolation between integer shifts) with a learned per-group weight.
  cast   CAST-lite: appearance stream (features) and motion stream (feature differences), each with causal
         self-attention, exchanging information through bottleneck cross-attention in both directions.
  oadtr  OadTR: causal transformer encoder over the history with a task token per step; a decoder of
         K learned queries anticipates the next K steps; "now" = task token + anticipated future.
  gru    baseline: a plain causal GRU over the window (one layer), linear head per frame.
  afnet  AFNet: an ample path (pooled, low-dimensional input, tiny MLP) on every frame; a navigation gate
         picks frames for the focal path (full input, wide MLP), trained to a target ratio; frames not
         picked reuse the last focal features. Reports the fraction of frames that paid full price.
"""
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import nn


def causal_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean over frames 0..t for every t. x [B,T,H]."""
    t = x.shape[1]
    counts = torch.arange(1, t + 1, device=x.device, dtype=x.dtype).view(1, t, 1)
    return torch.cumsum(x, dim=1) / counts


def shift_past(x: torch.Tensor, steps: int) -> torch.Tensor:
    """x[t - steps] at t (zeros before the window). x [B,T,H]."""
    if steps <= 0:
        return x
    t = x.shape[1]
    if steps >= t:
        return torch.zeros_like(x)
    return torch.cat([torch.zeros_like(x[:, :steps]), x[:, : t - steps]], dim=1)


def causal_mask(t: int, device: torch.device) -> torch.Tensor:
    """Additive attention mask: frame i sees frames <= i."""
    return torch.triu(torch.full((t, t), float("-inf"), device=device), diagonal=1)


class OnlineModel(nn.Module):
    """Base: subclasses implement frame_logits(f [B,T,D]) -> [B,T,C], causal."""

    def __init__(self, dim: int, classes: int):
        super().__init__()
        self.dim = dim
        self.classes = classes
        self.norm = nn.LayerNorm(dim)

    def frame_logits(self, f: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def aux_loss(self) -> torch.Tensor:
        return torch.zeros(1)


class TSN(OnlineModel):
    def __init__(self, dim: int, classes: int, hidden: int = 128):
        super().__init__(dim, classes)
        self.embed = nn.Sequential(nn.Linear(2 * dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(hidden, classes))

    def frame_logits(self, f: torch.Tensor) -> torch.Tensor:
        x = self.norm(f)
        x = torch.cat([x, x - shift_past(x, 1)], dim=2)  # appearance + motion (as the TSN two streams)
        return self.head(causal_mean(self.embed(x)))


class CausalTCN(OnlineModel):
    def __init__(self, dim: int, classes: int, hidden: int = 64, layers: int = 6):
        super().__init__(dim, classes)
        self.inp = nn.Conv1d(dim, hidden, 1)
        self.convs = nn.ModuleList([nn.Conv1d(hidden, hidden, 3, dilation=1 << i) for i in range(layers)])
        self.mix = nn.ModuleList([nn.Conv1d(hidden, hidden, 1) for _ in range(layers)])
        self.out = nn.Conv1d(hidden, classes, 1)

    def frame_logits(self, f: torch.Tensor) -> torch.Tensor:
        x = self.inp(self.norm(f).transpose(1, 2))
        for i, (conv, mix) in enumerate(zip(self.convs, self.mix)):
            d = 1 << i
            y = F.relu(conv(F.pad(x, [2 * d, 0])))  # left padding only: causal
            x = x + F.dropout(mix(y), 0.2, self.training)
        return self.out(x).transpose(1, 2)


class CausalGRU(OnlineModel):
    """The plain recurrent baseline: the window's frames through one GRU layer, a label per frame."""

    def __init__(self, dim: int, classes: int, hidden: int = 128):
        super().__init__(dim, classes)
        self.inp = nn.Linear(dim, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(hidden, classes))

    def frame_logits(self, f: torch.Tensor) -> torch.Tensor:
        h, _ = self.gru(F.relu(self.inp(self.norm(f))))
        return self.head(h)


class ShiftBlock(nn.Module):
    """Residual MLP over channels after a temporal shift of channel groups (TSM; TIN when learned)."""

    def __init__(self, hidden: int, groups: int, learned: bool, max_shift: float = 3.0):
        super().__init__()
        self.groups = groups
        self.learned = learned
        self.max_shift = max_shift
        self.fold = hidden // 8  # channels per shifted group
        # TIN: per group an offset in (0, max_shift) and a weight in (0, 2).
        self.offset = nn.Parameter(torch.linspace(-1.5, 1.5, groups))
        self.weight = nn.Parameter(torch.zeros(groups))
        self.mlp = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, 2 * hidden), nn.ReLU(), nn.Linear(2 * hidden, hidden))

    def shift(self, x: torch.Tensor) -> torch.Tensor:
        parts: List[torch.Tensor] = []
        for g in range(self.groups):
            chunk = x[:, :, g * self.fold:(g + 1) * self.fold]
            if self.learned:
                off = torch.sigmoid(self.offset[g]) * self.max_shift
                lo = int(torch.floor(off).item())
                frac = off - lo
                chunk = ((1 - frac) * shift_past(chunk, lo) + frac * shift_past(chunk, lo + 1)) * \
                    (2 * torch.sigmoid(self.weight[g]))
            else:
                chunk = shift_past(chunk, g + 1)  # TSM: group g looks g+1 frames back
            parts.append(chunk)
        parts.append(x[:, :, self.groups * self.fold:])
        return torch.cat(parts, dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + F.dropout(self.mlp(self.shift(x)), 0.1, self.training)


class TSM(OnlineModel):
    def __init__(self, dim: int, classes: int, hidden: int = 128, blocks: int = 3, learned: bool = False):
        super().__init__(dim, classes)
        self.inp = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList([ShiftBlock(hidden, 2, learned) for _ in range(blocks)])
        self.head = nn.Sequential(nn.LayerNorm(hidden), nn.Dropout(0.2), nn.Linear(hidden, classes))

    def frame_logits(self, f: torch.Tensor) -> torch.Tensor:
        x = self.inp(self.norm(f))
        for b in self.blocks:
            x = b(x)
        # Consensus over the recent past (a short causal mean keeps boundaries sharp).
        return self.head(0.5 * x + 0.5 * causal_mean(x))


class CrossAttention(nn.Module):
    """Queries from one stream read the other through a `bottleneck`-wide attention (B-CAST)."""

    def __init__(self, hidden: int, bottleneck: int, heads: int = 2):
        super().__init__()
        self.down_q = nn.Linear(hidden, bottleneck)
        self.down_kv = nn.Linear(hidden, bottleneck)
        self.attn = nn.MultiheadAttention(bottleneck, heads, batch_first=True)
        self.up = nn.Linear(bottleneck, hidden)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, q: torch.Tensor, kv: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        k = self.down_kv(kv)
        y, _ = self.attn(self.down_q(q), k, k, attn_mask=mask, need_weights=False)
        return self.norm(q + self.up(y))


class CASTLite(OnlineModel):
    def __init__(self, dim: int, classes: int, hidden: int = 96, bottleneck: int = 32):
        super().__init__(dim, classes)
        self.app = nn.Linear(dim, hidden)
        self.mot = nn.Linear(dim, hidden)
        self.app_self = nn.TransformerEncoderLayer(hidden, 2, 2 * hidden, 0.1, batch_first=True)
        self.mot_self = nn.TransformerEncoderLayer(hidden, 2, 2 * hidden, 0.1, batch_first=True)
        self.a_from_m = CrossAttention(hidden, bottleneck)
        self.m_from_a = CrossAttention(hidden, bottleneck)
        self.head = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Dropout(0.2), nn.Linear(hidden, classes))

    def frame_logits(self, f: torch.Tensor) -> torch.Tensor:
        x = self.norm(f)
        mask = causal_mask(x.shape[1], x.device)
        a = self.app_self(self.app(x), src_mask=mask)
        m = self.mot_self(self.mot(x - shift_past(x, 1)), src_mask=mask)
        a2 = self.a_from_m(a, m, mask)
        m2 = self.m_from_a(m, a, mask)
        return self.head(torch.cat([a2, m2], dim=2))


class OadTR(OnlineModel):
    def __init__(self, dim: int, classes: int, hidden: int = 96, layers: int = 2, future: int = 4, max_len: int = 4096):
        super().__init__(dim, classes)
        self.future = future
        self.inp = nn.Linear(dim, hidden)
        self.pos = nn.Parameter(torch.randn(max_len, hidden) * 0.02)
        self.task = nn.Parameter(torch.randn(hidden) * 0.02)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(hidden, 4, 2 * hidden, 0.1, batch_first=True), layers)
        self.queries = nn.Parameter(torch.randn(future, hidden) * 0.02)
        self.dec_attn = nn.MultiheadAttention(hidden, 4, batch_first=True)
        self.dec_ff = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, 2 * hidden), nn.ReLU(), nn.Linear(2 * hidden, hidden))
        self.future_head = nn.Linear(hidden, classes)
        self.head = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Dropout(0.2), nn.Linear(hidden, classes))
        self.last_future = torch.zeros(1)

    def encode(self, f: torch.Tensor) -> torch.Tensor:
        b, t, _ = f.shape
        x = self.inp(self.norm(f))
        # Positions relative to the newest frame, so a window that slides keeps its meaning.
        x = x + self.pos[:t].flip(0).unsqueeze(0) + self.task  # the task token rides on every step
        return self.encoder(x, mask=causal_mask(t, f.device))

    def decode(self, mem: torch.Tensor) -> torch.Tensor:
        """For every step t, K anticipated future states from memory[<= t]. -> [B,T,K,H]"""
        b, t, h = mem.shape
        k = self.future
        q = self.queries.unsqueeze(0).unsqueeze(0).expand(b, t, k, h).reshape(b, t * k, h)
        # Query (t, j) may read memory positions <= t.
        rows = torch.arange(t, device=mem.device).repeat_interleave(k).view(t * k, 1)
        cols = torch.arange(t, device=mem.device).view(1, t)
        mask = torch.zeros(t * k, t, device=mem.device).masked_fill(cols > rows, float("-inf"))
        y, _ = self.dec_attn(q, mem, mem, attn_mask=mask, need_weights=False)
        y = y + self.dec_ff(y)
        return y.view(b, t, k, h)

    def frame_logits(self, f: torch.Tensor) -> torch.Tensor:
        mem = self.encode(f)
        fut = self.decode(mem)
        self.last_future = self.future_head(fut)  # [B,T,K,C], trained on the labels of t+1..t+K
        return self.head(torch.cat([mem, fut.mean(dim=2)], dim=2))


class AFNet(OnlineModel):
    def __init__(self, dim: int, classes: int, ratio: float = 0.3, ample: int = 32, focal: int = 256, pool: int = 4):
        super().__init__(dim, classes)
        self.ratio = ratio
        self.pool = pool
        self.ample = nn.Sequential(nn.Linear(dim // pool, ample), nn.ReLU())
        self.nav = nn.Sequential(nn.Linear(2 * ample, ample), nn.ReLU(), nn.Linear(ample, 1))
        self.focal = nn.Sequential(nn.Linear(dim, focal), nn.ReLU(), nn.Linear(focal, focal), nn.ReLU(), nn.Linear(focal, 96))
        self.ample_up = nn.Linear(ample, 96)
        self.tcn = CausalTCN(96, classes, hidden=64, layers=4)
        self.gate_mean = torch.zeros(1)
        self.last_ratio = torch.zeros(1)
        self.force_full = False  # evaluation: every frame through the focal path (the accuracy reference)

    def frame_logits(self, f: torch.Tensor) -> torch.Tensor:
        x = self.norm(f)
        b, t, d = x.shape
        coarse = x[:, :, : (d // self.pool) * self.pool].reshape(b, t, d // self.pool, self.pool).mean(dim=3)
        a = self.ample(coarse)
        score = self.nav(torch.cat([a, a - shift_past(a, 1)], dim=2)).squeeze(2)  # [B,T]
        if self.training:
            # Straight-through Gumbel-sigmoid: hard decisions forward, soft gradients back.
            u = torch.rand_like(score).clamp(1e-6, 1 - 1e-6)
            soft = torch.sigmoid((score + torch.log(u) - torch.log(1 - u)) / 0.5)
            gate = (soft > 0.5).float() + soft - soft.detach()
            focal = self.focal(x) * gate.unsqueeze(2)
            self.gate_mean = soft.mean()
        else:
            gate = torch.ones_like(score) if self.force_full else (score > 0).float()
            gate[:, 0] = 1.0  # the first frame of a window always pays, so every frame has focal features
            focal = torch.zeros(b, t, 96, device=x.device)
            picked = gate > 0.5
            if bool(picked.any()):
                focal[picked] = self.focal(x[picked])  # only the picked frames pay the focal cost
            # Frames not picked reuse the last picked frame's focal features.
            idx = torch.where(picked, torch.arange(t, device=x.device).view(1, t).expand(b, t),
                              torch.zeros(b, t, dtype=torch.long, device=x.device))
            idx = torch.cummax(idx, dim=1)[0]
            focal = torch.gather(focal, 1, idx.unsqueeze(2).expand(b, t, 96))
        self.last_ratio = gate.mean()
        return self.tcn.frame_logits(self.ample_up(a) + focal)

    def aux_loss(self) -> torch.Tensor:
        return (self.gate_mean - self.ratio) ** 2


class OnlineSegmenter(nn.Module):
    def __init__(self, model: OnlineModel):
        super().__init__()
        self.model = model

    def forward(self, f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        probs = torch.softmax(self.model.frame_logits(f), dim=2)
        # Boundary score: probability that the label differs from the previous frame's.
        prev = torch.cat([probs[:, :1], probs[:, :-1]], dim=1)
        boundary = 1.0 - (probs * prev).sum(dim=2)
        return probs, boundary


class OnlineRecognizer(nn.Module):
    def __init__(self, model: OnlineModel):
        super().__init__()
        self.model = model

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model.frame_logits(f)[:, -1], dim=1)


def build(name: str, dim: int, classes: int) -> OnlineModel:
    if name == "tsn":
        return TSN(dim, classes)
    if name == "tcn":
        return CausalTCN(dim, classes)
    if name == "tsm":
        return TSM(dim, classes)
    if name == "tin":
        return TSM(dim, classes, learned=True)
    if name == "cast":
        return CASTLite(dim, classes)
    if name == "oadtr":
        return OadTR(dim, classes)
    if name == "afnet":
        return AFNet(dim, classes)
    if name == "gru":
        return CausalGRU(dim, classes)
    raise ValueError(f"unknown model {name!r}")


MODELS = ["tsn", "tcn", "tsm", "tin", "cast", "oadtr", "afnet", "gru"]
