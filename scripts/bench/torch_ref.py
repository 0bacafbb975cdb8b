"""PyTorch CPU f32 reference for `npm run bench` (scripts/bench.ts): SigLIP + mlp2x_gelu connector + Phi-2 or
Qwen2 written out in plain torch (no transformers), reading the same safetensors checkpoint the imp-ts run loads
(bf16 widened to f32). Measures, in this process and with a fixed thread count: load, vision encode (729 and, from
the 196 variant, 196 tokens), prefill of [image tokens + text tokens] with a KV cache, and greedy decode after the
image prompt and after a short text prompt. Prints one JSON object.

Usage: python3 torch_ref.py SPEC.json   (written by bench.ts)
"""
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

VISION = "model.vision_tower.vision_tower.vision_model."


def read_checkpoint(folder, keep=lambda name: True):
    index = os.path.join(folder, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
    out = {}
    for f in files:
        out.update(read_safetensors(os.path.join(folder, f), keep))
    return out


NP = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}


def read_safetensors(path, keep):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__" or not keep(name):
            continue
        a, b = e["data_offsets"]
        raw = np.frombuffer(mm, dtype=NP[e["dtype"]], count=(b - a) // np.dtype(NP[e["dtype"]]).itemsize, offset=base + a)
        if e["dtype"] == "BF16":  # bf16 → f32: the bits are the top half of an f32
            t = torch.from_numpy((raw.astype(np.uint32) << 16).view(np.float32))
        else:
            t = torch.from_numpy(raw.astype(np.float32))
        out[name] = t.reshape(e["shape"]).contiguous()
    return out


def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def attention(q, k, v, causal, past):
    # q [H, T, D], k/v [Hkv, S, D]
    if k.shape[0] != q.shape[0]:
        rep = q.shape[0] // k.shape[0]
        k = k.repeat_interleave(rep, 0)
        v = v.repeat_interleave(rep, 0)
    s = torch.matmul(q, k.transpose(1, 2)) / math.sqrt(q.shape[-1])
    if causal and q.shape[1] > 1:
        t, n = q.shape[1], k.shape[1]
        mask = torch.ones(t, n, dtype=torch.bool).triu(past + 1)
        s = s.masked_fill(mask, float("-inf"))
    return torch.matmul(torch.softmax(s, -1), v)


class Siglip:
    def __init__(self, w, cfg, select_layer):
        self.w = w
        self.hidden = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.patch = cfg["patch_size"]
        self.eps = cfg.get("layer_norm_eps", 1e-6)
        # Imp's select layer −2: the tower's layers up to the second-to-last, no post-layernorm.
        total = cfg["num_hidden_layers"]
        self.layers = total + 1 + select_layer if select_layer < 0 else select_layer

    def __call__(self, pixels):
        w, H, nh = self.w, self.hidden, self.heads
        p = VISION + "embeddings."
        x = F.conv2d(pixels, w[p + "patch_embedding.weight"], w[p + "patch_embedding.bias"], stride=self.patch)
        x = x.flatten(2).transpose(1, 2)[0]  # [N, H]
        x = x + w[p + "position_embedding.weight"]
        n = x.shape[0]
        for i in range(self.layers):
            l = f"{VISION}encoder.layers.{i}."
            h = F.layer_norm(x, (H,), w[l + "layer_norm1.weight"], w[l + "layer_norm1.bias"], self.eps)
            q, k, v = (F.linear(h, w[l + f"self_attn.{j}_proj.weight"], w[l + f"self_attn.{j}_proj.bias"]).view(n, nh, -1).transpose(0, 1) for j in "qkv")
            o = attention(q, k, v, False, 0).transpose(0, 1).reshape(n, H)
            x = x + F.linear(o, w[l + "self_attn.out_proj.weight"], w[l + "self_attn.out_proj.bias"])
            h = F.layer_norm(x, (H,), w[l + "layer_norm2.weight"], w[l + "layer_norm2.bias"], self.eps)
            x = x + F.linear(gelu_tanh(F.linear(h, w[l + "mlp.fc1.weight"], w[l + "mlp.fc1.bias"])), w[l + "mlp.fc2.weight"], w[l + "mlp.fc2.bias"])
        return x


def projector(w, x):
    x = F.gelu(F.linear(x, w["model.mm_projector.0.weight"], w["model.mm_projector.0.bias"]))
    return F.linear(x, w["model.mm_projector.2.weight"], w["model.mm_projector.2.bias"])


class DecoderLM:
    """Phi-2 (LayerNorm, parallel attention + GELU MLP, partial rotary) or Qwen2 (RMSNorm, SwiGLU, GQA)."""

    def __init__(self, w, cfg, max_len):
        self.w = w
        self.phi2 = cfg["model_type"] in ("imp", "phi", "phi-msft")
        self.H = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.kv = cfg.get("num_key_value_heads", self.heads)
        self.D = self.H // self.heads
        self.layers = cfg["num_hidden_layers"]
        self.eps = cfg.get("layer_norm_eps" if self.phi2 else "rms_norm_eps", 1e-5)
        rot = int(self.D * cfg.get("partial_rotary_factor", 1.0)) if self.phi2 else self.D
        self.rot = rot
        inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, rot, 2, dtype=torch.float32) / rot))
        f = torch.outer(torch.arange(max_len, dtype=torch.float32), inv)
        emb = torch.cat((f, f), -1)
        self.cos, self.sin = emb.cos(), emb.sin()
        self.max_len = max_len

    def new_cache(self):
        z = lambda: torch.empty(self.kv, self.max_len, self.D)
        return {"k": [z() for _ in range(self.layers)], "v": [z() for _ in range(self.layers)], "n": 0}

    def norm(self, x, name):
        w = self.w
        if self.phi2:
            return F.layer_norm(x, (self.H,), w[name + ".weight"], w[name + ".bias"], self.eps)
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w[name + ".weight"]

    def rope(self, x, pos):
        cos, sin = self.cos[pos], self.sin[pos]  # [T, rot]
        r, rest = x[..., : self.rot], x[..., self.rot :]
        return torch.cat((r * cos + rotate_half(r) * sin, rest), -1)

    def forward(self, x, cache):
        w, t, past = self.w, x.shape[0], cache["n"]
        pos = torch.arange(past, past + t)
        for i in range(self.layers):
            l = f"model.layers.{i}."
            h = self.norm(x, l + "input_layernorm")
            q, k, v = (F.linear(h, w[l + f"self_attn.{j}_proj.weight"], w[l + f"self_attn.{j}_proj.bias"]) for j in "qkv")
            q = self.rope(q.view(t, self.heads, self.D).transpose(0, 1), pos)
            k = self.rope(k.view(t, self.kv, self.D).transpose(0, 1), pos)
            v = v.view(t, self.kv, self.D).transpose(0, 1)
            cache["k"][i][:, past : past + t] = k
            cache["v"][i][:, past : past + t] = v
            o = attention(q, cache["k"][i][:, : past + t], cache["v"][i][:, : past + t], True, past)
            o = o.transpose(0, 1).reshape(t, self.H)
            if self.phi2:
                a = F.linear(o, w[l + "self_attn.dense.weight"], w[l + "self_attn.dense.bias"])
                m = F.linear(gelu_tanh(F.linear(h, w[l + "mlp.fc1.weight"], w[l + "mlp.fc1.bias"])), w[l + "mlp.fc2.weight"], w[l + "mlp.fc2.bias"])
                x = x + a + m
            else:
                x = x + F.linear(o, w[l + "self_attn.o_proj.weight"])
                h = self.norm(x, l + "post_attention_layernorm")
                g = F.silu(F.linear(h, w[l + "mlp.gate_proj.weight"])) * F.linear(h, w[l + "mlp.up_proj.weight"])
                x = x + F.linear(g, w[l + "mlp.down_proj.weight"])
        cache["n"] = past + t
        last = self.norm(x[-1:], "model.final_layernorm" if self.phi2 else "model.norm")
        return F.linear(last, w["lm_head.weight"], w.get("lm_head.bias"))

    def embed(self, ids):
        return self.w["model.embed_tokens.weight"][torch.tensor(ids)]


def text_ids(n, vocab, salt):
    hi = min(vocab - 64, 30000)
    lo = min(256, hi // 4)
    return [lo + ((i * 7919 + salt * 104729) % (hi - lo)) for i in range(n)]


def decode(lm, cache, logits, n):
    t = time.perf_counter()
    for _ in range(n):
        tok = int(torch.argmax(logits[-1]))
        logits = lm.forward(lm.embed([tok]), cache)
    return (time.perf_counter() - t) * 1000


def peak(threads):
    """Best f32 GEMM rate (OpenBLAS sgemm through torch.mm), the prefill and vision limit."""
    n = 3072
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "n": n, "gflops": best}


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(spec["threads"])
    if spec.get("mode") == "peak":
        print(json.dumps(peak(spec["threads"])))
        return
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    cfg = json.load(open(os.path.join(spec["dir"], "config.json")))
    vcfg = cfg.get("vision_tower_config")
    sel = cfg.get("mm_vision_select_layer", -2)
    with torch.inference_mode():
        if spec.get("v196") and vcfg:
            # The 196-token tower first, then free it: the f32 3B model needs the memory.
            w = read_checkpoint(spec["v196"], lambda n: n.startswith(VISION) or n.startswith("model.mm_projector"))
            tower = Siglip(w, json.load(open(os.path.join(spec["v196"], "config.json")))["vision_tower_config"], sel)
            px = torch.randn(1, 3, 196, 196)
            t = time.perf_counter()
            projector(w, tower(px))
            out["vision196Ms"] = (time.perf_counter() - t) * 1000
            del w, tower
        t = time.perf_counter()
        w = read_checkpoint(spec["dir"])
        out["loadMs"] = (time.perf_counter() - t) * 1000
        n_text, n_dec = spec["textTokens"], spec["decodeTokens"]
        image = None
        if vcfg:
            tower = Siglip(w, vcfg, sel)
            s = vcfg["image_size"]
            px = torch.randn(1, 3, s, s)
            t = time.perf_counter()
            image = projector(w, tower(px))
            out["visionMs"] = (time.perf_counter() - t) * 1000
            out["imageTokens"] = image.shape[0]
        lm = DecoderLM(w, cfg, (image.shape[0] if image is not None else 0) + n_text + n_dec + 2)
        ids = text_ids(n_text, cfg["vocab_size"], 1)
        cache = lm.new_cache()
        t = time.perf_counter()
        x = lm.embed(ids) if image is None else torch.cat((image, lm.embed(ids)), 0)
        logits = lm.forward(x, cache)
        out["prefillMs"] = (time.perf_counter() - t) * 1000
        out["prefillPositions"] = x.shape[0]
        out["decodeImageMs"] = decode(lm, cache, logits, n_dec)
        out["decodeImageTokens"] = n_dec
        cache = lm.new_cache()
        logits = lm.forward(lm.embed(text_ids(spec["shortPrompt"], cfg["vocab_size"], 2)), cache)
        out["decodeShortMs"] = decode(lm, cache, logits, n_dec)
        out["decodeShortTokens"] = n_dec
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out["peakRssBytes"] = ru.ru_maxrss * 1024
    out["cpuMs"] = (ru.ru_utime + ru.ru_stime) * 1000
    print(json.dumps(out))


if __name__ == "__main__":
    main()
