/** Element-wise tensor ops: broadcast add/mul over trailing dims, scale, in-place accumulate, activations. */
import { Activation } from "../../backend/backend.js";
import { ShapeError } from "../../util/errors.js";
import { record } from "../autograd.js";
import type { Tensor } from "../tensor.js";
import { empty, zeros } from "../tensor.js";
import { dense, expectF32, expectSameBackend } from "./check.js";

function broadcastLen(op: string, a: Tensor, b: Tensor): number {
  // b's shape must equal a trailing part of a's shape (a bias over rows, a residual of the same shape).
  const off = a.ndim - b.ndim;
  if (off < 0 || b.shape.some((s, i) => s !== a.shape[off + i]))
    throw new ShapeError(`${op}: cannot broadcast [${b.shape}] over [${a.shape}]`);
  return b.numel;
}

/** Σ over the broadcast rows: g [n] viewed as [n/bn, bn] → [bn], shaped like b. */
function reduceBroadcast(g: Tensor, b: Tensor): Tensor {
  if (g.numel === b.numel) return g.reshape(b.shape);
  const out = zeros(g.backend, b.shape);
  const gd = dense(g);
  g.backend.sumRows(gd.ptr, out.ptr, g.numel / b.numel, b.numel);
  if (gd !== g) gd.dispose();
  return out;
}

function raw(op: "add" | "mul", a: Tensor, b: Tensor): Tensor {
  expectF32(op, "a", a);
  expectF32(op, "b", b);
  expectSameBackend(op, a, b);
  const bn = broadcastLen(op, a, b);
  const ad = dense(a);
  const bd = dense(b);
  const out = empty(a.backend, "f32", a.shape);
  a.backend[op](ad.ptr, bd.ptr, out.ptr, a.numel, bn);
  if (ad !== a) ad.dispose();
  if (bd !== b) bd.dispose();
  return out;
}

/** a + b, b broadcast over a's leading dims. */
export function add(a: Tensor, b: Tensor): Tensor {
  const out = raw("add", a, b);
  record(out, [a, b], [], (g, tape) => {
    if (a.requiresGrad) tape.accumulate(a, g.reshape(a.shape));
    if (b.requiresGrad) tape.accumulate(b, reduceBroadcast(g, b));
  });
  return out;
}

/** a · b element-wise, b broadcast over a's leading dims. */
export function mul(a: Tensor, b: Tensor): Tensor {
  const out = raw("mul", a, b);
  record(out, [a, b], [a, b], (g, tape) => {
    if (a.requiresGrad) tape.accumulate(a, raw("mul", g.reshape(a.shape), b));
    if (b.requiresGrad) {
      tape.accumulate(b, reduceBroadcast(raw("mul", g.reshape(a.shape), a), b));
    }
  });
  return out;
}

export function scale(a: Tensor, s: number): Tensor {
  expectF32("scale", "a", a);
  const ad = dense(a);
  const out = empty(a.backend, "f32", a.shape);
  a.backend.scale(ad.ptr, out.ptr, a.numel, s);
  if (ad !== a) ad.dispose();
  record(out, [a], [], (g, tape) => tape.accumulate(a, scale(g.reshape(a.shape), s)));
  return out;
}

/** y += alpha · x, in place (y contiguous, same size). Not recorded: for gradients and optimizer state. */
export function addInPlace(y: Tensor, x: Tensor, alpha = 1): void {
  expectF32("addInPlace", "y", y);
  expectF32("addInPlace", "x", x);
  if (!y.isContiguous) throw new ShapeError("addInPlace: y must be contiguous");
  if (y.numel !== x.numel) throw new ShapeError(`addInPlace: [${x.shape}] into [${y.shape}]`);
  const xd = dense(x);
  y.backend.axpy(y.ptr, xd.ptr, y.numel, alpha);
  if (xd !== x) xd.dispose();
}

function unary(fn: Activation, name: string, x: Tensor): Tensor {
  expectF32(name, "x", x);
  const xd = dense(x);
  const out = empty(x.backend, "f32", x.shape);
  x.backend.activation(xd.ptr, out.ptr, x.numel, fn);
  if (xd !== x) xd.dispose();
  record(out, [x], [x], (g, tape) => {
    const dx = zeros(x.backend, x.shape);
    const xs = dense(x);
    const gd = dense(g);
    x.backend.activationBackward(xs.ptr, gd.ptr, dx.ptr, x.numel, fn);
    if (xs !== x) xs.dispose();
    if (gd !== g) gd.dispose();
    tape.accumulate(x, dx);
  });
  return out;
}

/** Exact GELU, 0.5·x·(1 + erf(x/√2)) (PyTorch nn.GELU; Imp's mlp2x_gelu projector). */
export const geluErf = (x: Tensor): Tensor => unary(Activation.geluErf, "geluErf", x);
/** Tanh GELU (gelu_new, gelu_pytorch_tanh: Phi-2, SigLIP). */
export const geluTanh = (x: Tensor): Tensor => unary(Activation.geluTanh, "geluTanh", x);
/** x·σ(1.702x) (CLIP). */
export const quickGelu = (x: Tensor): Tensor => unary(Activation.quickGelu, "quickGelu", x);
/** x·σ(x). */
export const silu = (x: Tensor): Tensor => unary(Activation.silu, "silu", x);

/** silu(gate) · up (SwiGLU MLPs). */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  expectF32("swiglu", "gate", gate);
  expectF32("swiglu", "up", up);
  if (gate.numel !== up.numel) throw new ShapeError(`swiglu: gate [${gate.shape}] vs up [${up.shape}]`);
  const g = dense(gate);
  const u = dense(up);
  const out = empty(gate.backend, "f32", gate.shape);
  gate.backend.swiglu(g.ptr, u.ptr, out.ptr, gate.numel);
  if (g !== gate) g.dispose();
  if (u !== up) u.dispose();
  record(out, [gate, up], [gate, up], (gr, tape) => {
    const dg = zeros(gate.backend, gate.shape);
    const du = zeros(gate.backend, up.shape);
    const [gd, ud, grd] = [dense(gate), dense(up), dense(gr)];
    gate.backend.swigluBackward(gd.ptr, ud.ptr, grd.ptr, dg.ptr, du.ptr, gate.numel);
    for (const [c, o] of [
      [gd, gate],
      [ud, up],
      [grd, gr],
    ] as const)
      if (c !== o) c.dispose();
    tape.accumulate(gate, dg);
    tape.accumulate(up, du);
  });
  return out;
}

/** Activation by its config name (hidden_act / activation_function). */
export function activationByName(name: string): (x: Tensor) => Tensor {
  switch (name) {
    case "gelu":
      return geluErf;
    case "gelu_new":
    case "gelu_pytorch_tanh":
    case "gelu_fast":
      return geluTanh;
    case "quick_gelu":
      return quickGelu;
    case "silu":
    case "swish":
      return silu;
    default:
      throw new ShapeError(`unsupported activation "${name}"`);
  }
}
