/**
 * Fresh parameter values for training from scratch: matrices and embeddings N(0, std²) (GPT-2/HF style,
 * initializer_range 0.02), norm weights 1, biases 0. Seeded.
 */
import type { Backend } from "../backend/backend.js";
import { numel } from "../formats/dtype.js";
import type { Module } from "../nn/module.js";
import { keep } from "../tensor/scope.js";
import { fromF32 } from "../tensor/tensor.js";
import type { Rng } from "../util/random.js";

export function initParams(module: Module, backend: Backend, rng: Rng, std = 0.02): void {
  for (const [name, p] of module.namedParameters()) {
    if (p.loaded) continue;
    const n = numel(p.shape);
    const v = new Float32Array(n);
    if (p.role === "vector") {
      if (/norm|ln/.test(name) && name.endsWith("weight")) v.fill(1);
    } else for (let i = 0; i < n; i++) v[i] = rng.normal() * std;
    p.value = keep(fromF32(backend, v, p.shape));
  }
}
