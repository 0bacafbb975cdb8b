"""PyTorch reference for scripts/bench-train.ts: the same Qwen2-style LLM (RMSNorm, rotary, GQA attention with q/k/v
biases, SwiGLU MLP, untied lm_head), the same f32 weights read from the same safetensors file, the same sequences,
full fine-tuning with AdamW, on the CPU with a fixed thread count. Prints one JSON object: the initial loss (to
check that both sides compute the same model) and training tokens/s, batched [B, T] and one sequence at a time.

Usage: python3 bench-train-torch.py SPEC.json   (written by bench-train.ts)
"""
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F


def read_checkpoint(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if not os.path.exists(index):
        return read_safetensors(os.path.join(folder, "model.safetensors"))
    out = {}
    for shard in sorted(set(json.load(open(index))["weight_map"].values())):
        out.update(read_safetensors(os.path.join(folder, shard)))
    return out


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", f"{name}: the bench writes f32 weights"
        a, b = e["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[base + a : base + b]), dtype=torch.float32).reshape(e["shape"])
    return out


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Qwen2(torch.nn.Module):
    def __init__(self, cfg, weights):
        super().__init__()
        self.cfg = cfg
        self.p = torch.nn.ParameterDict()
        for name, t in weights.items():
            if name.startswith("model.layers.") or name in ("model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"):
                self.p[name.replace(".", "__")] = torch.nn.Parameter(t.clone())

    def w(self, name):
        return self.p[name.replace(".", "__")]

    def forward(self, ids):  # ids [B, T] → logits [B, T, V]
        c = self.cfg
        B, T = ids.shape
        H, KV, D = c["heads"], c["kv_heads"], c["head_dim"]
        x = F.embedding(ids, self.w("model.embed_tokens.weight"))
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
        freqs = torch.arange(T, dtype=torch.float32)[:, None] * inv[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        mask = torch.full((T, T), float("-inf")).triu(1)
        for l in range(c["layers"]):
            p = f"model.layers.{l}."
            h = rms_norm(x, self.w(p + "input_layernorm.weight"), c["eps"])
            q = F.linear(h, self.w(p + "self_attn.q_proj.weight"), self.w(p + "self_attn.q_proj.bias")).view(B, T, H, D).transpose(1, 2)
            k = F.linear(h, self.w(p + "self_attn.k_proj.weight"), self.w(p + "self_attn.k_proj.bias")).view(B, T, KV, D).transpose(1, 2)
            v = F.linear(h, self.w(p + "self_attn.v_proj.weight"), self.w(p + "self_attn.v_proj.bias")).view(B, T, KV, D).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = k.repeat_interleave(H // KV, dim=1)
            v = v.repeat_interleave(H // KV, dim=1)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D) + mask, dim=-1)
            o = (att @ v).transpose(1, 2).reshape(B, T, H * D)
            x = x + F.linear(o, self.w(p + "self_attn.o_proj.weight"))
            h = rms_norm(x, self.w(p + "post_attention_layernorm.weight"), c["eps"])
            g = F.linear(h, self.w(p + "mlp.gate_proj.weight"))
            u = F.linear(h, self.w(p + "mlp.up_proj.weight"))
            x = x + F.linear(F.silu(g) * u, self.w(p + "mlp.down_proj.weight"))
        x = rms_norm(x, self.w("model.norm.weight"), c["eps"])
        return F.linear(x, self.w("lm_head.weight"))


def loss_of(model, ids, total):
    logits = model(ids)
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1), reduction="sum") / total


def bench(model, seqs, steps, batched, lr):
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0, foreach=False)
    ids = torch.tensor(seqs, dtype=torch.long)
    total = ids.shape[0] * (ids.shape[1] - 1)
    times = []
    for s in range(steps + 1):
        t0 = time.perf_counter()
        if batched:
            loss_of(model, ids, total).backward()
        else:
            for i in range(ids.shape[0]):
                loss_of(model, ids[i : i + 1], total).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if s > 0:  # the first step warms up allocators and caches
            times.append(time.perf_counter() - t0)
    return ids.numel() / min(times)  # the fastest step: other processes on the machine only ever slow one down


def blas():
    """The BLAS library Debian's torch ended up with (libblas.so.3 is an alternative: reference BLAS or OpenBLAS)."""
    torch.randn(64, 64) @ torch.randn(64, 64)
    libs = open("/proc/self/maps").read()
    for name in ("openblas", "mkl", "blis", "atlas"):
        if name in libs:
            return name
    return "reference"


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    weights = read_checkpoint(spec["checkpoint"])
    seqs = spec["sequences"]
    with torch.no_grad():
        ids = torch.tensor(seqs, dtype=torch.long)
        init_loss = float(loss_of(Qwen2(spec["config"], weights), ids, ids.shape[0] * (ids.shape[1] - 1)))
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas(), "init_loss": init_loss}
    out["batched_tokens_per_s"] = bench(Qwen2(spec["config"], weights), seqs, spec["steps"], True, spec["lr"])
    out["sequential_tokens_per_s"] = bench(Qwen2(spec["config"], weights), seqs, spec["steps"], False, spec["lr"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
