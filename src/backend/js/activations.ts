/**
 * Activations and their backwards (reference). GELU in its exact (erf) form, as PyTorch's nn.GELU and Imp's
 * mlp2x_gelu projector use, and its tanh form (gelu_new / gelu_pytorch_tanh: Phi-2, SigLIP); quick_gelu
 * x·σ(1.702x) (CLIP); SiLU x·σ(x) and SwiGLU silu(gate)·up (Qwen2, Phi-3, LLaMA).
 */
import { Activation } from "../backend.js";
import type { FloatArray } from "./arrays.js";

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * erf(x) to about 1e-15: the Maclaurin series for |x| ≤ 2 and Lentz's continued fraction for erfc beyond.
 * Slow but exact enough to be the spec and to differentiate numerically in float64.
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax > 6) return Math.sign(x);
  if (ax <= 2) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), modified Lentz.
  const tiny = 1e-300;
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = d === 0 ? tiny : 1 / d;
    c = ax + an / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function activationValue(x: number, fn: Activation): number {
  switch (fn) {
    case Activation.geluErf:
      return 0.5 * x * (1 + erf(x * INV_SQRT_2));
    case Activation.geluTanh:
      return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
    case Activation.quickGelu:
      return x * sigmoid(1.702 * x);
    case Activation.silu:
      return x * sigmoid(x);
  }
}

export function activationDerivative(x: number, fn: Activation): number {
  switch (fn) {
    case Activation.geluErf:
      return 0.5 * (1 + erf(x * INV_SQRT_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    case Activation.geluTanh: {
      const u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
      const t = Math.tanh(u);
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
    }
    case Activation.quickGelu: {
      const s = sigmoid(1.702 * x);
      return s + 1.702 * x * s * (1 - s);
    }
    case Activation.silu: {
      const s = sigmoid(x);
      return s * (1 + x * (1 - s));
    }
  }
}

export function activation(x: FloatArray, out: FloatArray, n: number, fn: Activation): void {
  for (let i = 0; i < n; i++) out[i] = activationValue(x[i]!, fn);
}

export function activationBackward(
  x: FloatArray,
  dy: FloatArray,
  dx: FloatArray,
  n: number,
  fn: Activation,
): void {
  for (let i = 0; i < n; i++) dx[i] = dx[i]! + dy[i]! * activationDerivative(x[i]!, fn);
}

export function swiglu(gate: FloatArray, up: FloatArray, out: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = activationValue(gate[i]!, Activation.silu) * up[i]!;
}

export function swigluBackward(
  gate: FloatArray,
  up: FloatArray,
  dy: FloatArray,
  dgate: FloatArray,
  dup: FloatArray,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i]!;
    dgate[i] = dgate[i]! + dy[i]! * up[i]! * activationDerivative(g, Activation.silu);
    dup[i] = dup[i]! + dy[i]! * activationValue(g, Activation.silu);
  }
}
