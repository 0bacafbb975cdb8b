"""Which difference between the binding sandbox and the built-in model keeps the one-hop match from being learnt?

The shared sandbox (`../shared/research/binding_tasks.py`, `binding_levers.py`) learns the colour of a named shape
among 1-6 with the question first in ~500 steps of batch 32. The built-in model does not, with the same prompt
order, a tower whose tokens know their shape and the same dense signal. This script is that sandbox with each
difference as a switch, so each can be turned on alone and in combination:

  --pos rope        rotary positions (the built-in Qwen2 LLM) instead of learned absolute ones; with the question
                    first, absolute positions let every image token find the noun at a fixed place
  --prefix N        N filler tokens before the question (the chat template's system prompt), the noun's place
                    varying with --prefix-jitter J (0..J more fillers), as the real templates and wordings do
  --norm rms        RMSNorm, no biases in attention (Qwen2 keeps q/k/v biases: --qkv-bias) or the MLP, SwiGLU
  --img-gain G      the connector's output times G, the token embeddings drawn at std 0.02 (HF's init): the
                    built-in model's image rows are ~50x the text rows' norm
  --pool N          N training questions drawn once and repeated (the built-in model's few thousand), not fresh
                    ones every step
  --pretrain K      K steps of next-token training on the questions and answers alone (no image: the LLM's LM
                    phase), then --lora R adapters on q/k/v/o and the MLP, the base frozen (R 0: full training)
  --aux W           the dense per-token signal (binding_levers.py's), weight W
  --warm-lone K     the first K steps on scenes of one object (the built-in model's first look warm-up), then 1-6

Prints held-out accuracy (1,024 scenes) every --every steps, and the dense term.
Measured (docs/builtin-model.md, "The sandbox made like this model"): every architectural switch together escapes
the plateau by step 250-750 like the shared sandbox; after --pretrain 600, --lora 32 stays on it to step 750-1,000
where --lora 0 (every weight trained) escapes by step 250-500.
Needs Debian's python3-torch (/usr/bin/python3). About 0.3-0.4 s a step on one core at the defaults.
"""
import argparse, math, random
import torch
import torch.nn as nn
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=1000)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--order", default="question-first", choices=["question-first", "image-first"])
ap.add_argument("--pos", default="abs", choices=["abs", "rope"])
ap.add_argument("--norm", default="ln", choices=["ln", "rms"])
ap.add_argument("--qkv-bias", action="store_true")
ap.add_argument("--prefix", type=int, default=0)
ap.add_argument("--prefix-jitter", type=int, default=0)
ap.add_argument("--img-gain", type=float, default=0.0, help="0: the sandbox's own scales (N(0,1) embeddings)")
ap.add_argument("--pool", type=int, default=0)
ap.add_argument("--pretrain", type=int, default=0)
ap.add_argument("--lora", type=int, default=0)
ap.add_argument("--aux", type=float, default=0.0)
ap.add_argument("--lr", type=float, default=1e-3)
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--warm-lone", type=int, default=0, help="first K steps on lone objects (the look warm-up)")
ap.add_argument("--min-n", type=int, default=1)
ap.add_argument("--max-n", type=int, default=6)
ap.add_argument("--d", type=int, default=128)
ap.add_argument("--layers", type=int, default=4)
ap.add_argument("--every", type=int, default=250)
ap.add_argument("--threads", type=int, default=1)
args = ap.parse_args()
torch.set_num_threads(args.threads)

S, C, FEAT, SLOTS, QLEN = 8, 10, 32, 64, 7
W = ["what", "color", "is", "the", "?", "f", "ASSIST", "sys"] + [f"S{i}" for i in range(S)] + [f"C{i}" for i in range(C)]
ID = {w: i for i, w in enumerate(W)}
IMG = len(W)
V = IMG + 1
g = torch.Generator().manual_seed(1234)
SHAPE_EXT = torch.cat([torch.randn(S, FEAT, generator=g), torch.zeros(1, FEAT)])
COL_EXT = torch.cat([torch.randn(C, FEAT, generator=g), torch.zeros(1, FEAT)])
PMAX = args.prefix + args.prefix_jitter


def example(rng, lone=False):
    n = 1 if lone else rng.randint(args.min_n, args.max_n)
    shapes = rng.sample(range(S), n)
    objs = [(s, rng.randrange(C)) for s in shapes]
    j = rng.randrange(n)
    ss, cc = [S] * SLOTS, [C] * SLOTS
    for (s, c), p in zip(objs, rng.sample(range(SLOTS), n)):
        ss[p], cc[p] = s, c
    q = ["what", "color", "is", "the", f"S{objs[j][0]}", "?"]
    q = q + ["f"] * (QLEN - len(q))
    pre = ["sys"] * (args.prefix + (rng.randint(0, args.prefix_jitter) if args.prefix_jitter else 0))
    match = [1.0 if x == objs[j][0] else 0.0 for x in ss]
    return pre, q, ss, cc, ID[f"C{objs[j][1]}"], match


def collate(exs, noise_rng):
    """Left-pad with "sys" so every sequence ends at the answer position; returns ids, image features, answer,
    the dense targets and a mask of the image positions."""
    T = PMAX + QLEN + SLOTS + 3
    ids = torch.full((len(exs), T), ID["sys"], dtype=torch.long)
    feats = torch.zeros(len(exs), T, FEAT)
    img_mask = torch.zeros(len(exs), T, dtype=torch.bool)
    ys, match = [], torch.zeros(len(exs), T)
    for b, (pre, q, ss, cc, y, mm) in enumerate(exs):
        qi = [ID[w] for w in q]
        tail = [ID["f"], ID["f"], ID["ASSIST"]]
        body = ([IMG] * SLOTS + qi) if args.order == "image-first" else (qi + [IMG] * SLOTS)
        full = [ID[w] for w in pre] + body + tail
        start = T - len(full)
        ids[b, start:] = torch.tensor(full)
        off = start + len(pre) + (0 if args.order == "image-first" else QLEN)
        feats[b, off:off + SLOTS] = SHAPE_EXT[torch.tensor(ss)] + COL_EXT[torch.tensor(cc)]
        img_mask[b, off:off + SLOTS] = True
        match[b, off:off + SLOTS] = torch.tensor(mm)
        ys.append(y)
    feats = feats + 0.3 * torch.randn(feats.shape, generator=noise_rng) * img_mask.unsqueeze(-1)
    return ids, feats, torch.tensor(ys), match, img_mask


def rope(x, T):
    hd = x.shape[-1]
    inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
    ang = torch.arange(T).float()[:, None] * inv[None, :]
    cos, sin = ang.cos(), ang.sin()
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)


class LoRALinear(nn.Module):
    def __init__(self, i, o, bias):
        super().__init__()
        self.base = nn.Linear(i, o, bias=bias)
        self.r = 0

    def add_lora(self, r):
        self.r = r
        self.a = nn.Parameter(torch.randn(r, self.base.in_features) / math.sqrt(self.base.in_features))
        self.b = nn.Parameter(torch.zeros(self.base.out_features, r))
        self.scale = 2.0  # alpha = 2 r, as the built-in recipe's LoRA

    def forward(self, x):
        y = self.base(x)
        return y + (x @ self.a.t() @ self.b.t()) * self.scale if self.r else y


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.w


def norm(d):
    return RMSNorm(d) if args.norm == "rms" else nn.LayerNorm(d)


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        bias = args.norm == "ln" or args.qkv_bias
        self.ln1, self.ln2 = norm(d), norm(d)
        self.q, self.k, self.v = (LoRALinear(d, d, bias) for _ in range(3))
        self.o = LoRALinear(d, d, args.norm == "ln")
        if args.norm == "rms":
            self.gate, self.up, self.down = LoRALinear(d, 3 * d, False), LoRALinear(d, 3 * d, False), LoRALinear(3 * d, d, False)
        else:
            self.up, self.down = LoRALinear(d, 4 * d, True), LoRALinear(4 * d, d, True)

    def forward(self, x, mask):
        B, T, d = x.shape
        hd = d // self.h
        h = self.ln1(x)
        q, k, v = (m(h).view(B, T, self.h, hd).transpose(1, 2) for m in (self.q, self.k, self.v))
        if args.pos == "rope":
            q, k = rope(q, T), rope(k, T)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        att = att.masked_fill(mask[:T, :T], float("-inf")).softmax(-1)
        x = x + self.o((att @ v).transpose(1, 2).reshape(B, T, d))
        h = self.ln2(x)
        if args.norm == "rms":
            return x + self.down(F.silu(self.gate(h)) * self.up(h))
        return x + self.down(F.gelu(self.up(h)))

    def loras(self):
        return [m for m in self.modules() if isinstance(m, LoRALinear)]


class Model(nn.Module):
    def __init__(self, T, d, L, h=4):
        super().__init__()
        self.tok = nn.Embedding(V, d)
        if args.img_gain:
            nn.init.normal_(self.tok.weight, std=0.02)
        self.pos = nn.Embedding(T, d) if args.pos == "abs" else None
        if self.pos is not None and args.img_gain:
            nn.init.normal_(self.pos.weight, std=0.02)
        self.conn = nn.Sequential(nn.Linear(FEAT, d), nn.GELU(), nn.Linear(d, d))
        self.blocks = nn.ModuleList(Block(d, h) for _ in range(L))
        self.ln, self.head = norm(d), nn.Linear(d, V, bias=args.norm == "ln")
        self.aux = nn.Linear(d, 1)
        self.register_buffer("mask", torch.triu(torch.ones(T, T, dtype=torch.bool), 1))

    def forward(self, ids, feats, img_mask):
        T = ids.shape[1]
        img = self.conn(feats) * (args.img_gain or 1.0)
        x = torch.where(img_mask.unsqueeze(-1), img, self.tok(ids))
        if self.pos is not None:
            x = x + self.pos(torch.arange(T))
        for b in self.blocks:
            x = b(x, self.mask)
        h = self.ln(x)
        return self.head(h), self.aux(h).squeeze(-1), x


def main():
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    noise = torch.Generator().manual_seed(args.seed + 77)
    evald = collate([example(random.Random(999 + i)) for i in range(1024)], torch.Generator().manual_seed(5))
    T = evald[0].shape[1]
    m = Model(T, args.d, args.layers)
    if args.pretrain:
        # The LM phase: next-token prediction over the text alone (the image positions masked out of the input by
        # the "sys" filler, the answer appended), so the base knows the question format and the colour prior.
        opt = torch.optim.AdamW(m.parameters(), lr=args.lr, weight_decay=0.0)
        for step in range(args.pretrain):
            ids, _, y, _, mask = collate([example(rng) for _ in range(args.batch)], noise)
            ids = torch.where(mask, torch.full_like(ids, ID["f"]), ids)
            seq = torch.cat([ids, y[:, None]], 1)
            logits, _, _ = m(seq[:, :-1], torch.zeros(*seq[:, :-1].shape, FEAT), torch.zeros_like(seq[:, :-1], dtype=torch.bool))
            loss = F.cross_entropy(logits.reshape(-1, V), seq[:, 1:].reshape(-1))
            opt.zero_grad(); loss.backward(); opt.step()
        print(f"pretrain {args.pretrain} steps, last LM loss {loss.item():.3f}", flush=True)
        if args.lora:
            for p in m.parameters():
                p.requires_grad_(False)
            for b in m.blocks:
                for lin in b.loras():
                    lin.add_lora(args.lora)
            for p in list(m.conn.parameters()) + list(m.aux.parameters()):
                p.requires_grad_(True)
    params = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    pool = [example(rng) for _ in range(args.pool)] if args.pool else None
    with torch.no_grad():
        img = m.conn(evald[1]) * (args.img_gain or 1.0)
        tok = m.tok.weight
        print(f"row norms: image {img[evald[4]].norm(dim=-1).mean():.2f}, text {tok.norm(dim=-1).mean():.2f}", flush=True)
    aux_sum, n_aux = 0.0, 0
    for step in range(1, args.steps + 1):
        lone = step <= args.warm_lone
        exs = [rng.choice(pool) for _ in range(args.batch)] if pool and not lone else [example(rng, lone) for _ in range(args.batch)]
        ids, f, y, mm, mask = collate(exs, noise)
        logits, aux, _ = m(ids, f, mask)
        loss = F.cross_entropy(logits[:, -1], y)
        dense = F.binary_cross_entropy_with_logits(aux[mask], mm[mask])
        aux_sum += dense.item(); n_aux += 1
        if args.aux > 0:
            loss = loss + args.aux * dense
        opt.zero_grad(); loss.backward(); opt.step()
        if step % args.every == 0:
            with torch.no_grad():
                acc = (m(evald[0], evald[1], evald[4])[0][:, -1].argmax(-1) == evald[2]).float().mean().item()
            print(f"step {step} acc {acc:.3f} loss {loss.item():.3f} dense {aux_sum / n_aux:.4f}", flush=True)
            aux_sum, n_aux = 0.0, 0


if __name__ == "__main__":
    main()
