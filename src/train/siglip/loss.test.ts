/** The sigmoid contrastive loss: value against a direct formula, gradients against finite differences. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Tape } from "../../tensor/autograd.js";
import { tidy } from "../../tensor/scope.js";
import { fromF32 } from "../../tensor/tensor.js";
import { testBackend } from "../../testing/backends.js";
import { Rng } from "../../util/random.js";
import { sigmoidContrastiveLoss } from "./loss.js";

test("sigmoid loss: value and gradients (images, texts, temperature, bias)", async () => {
  const be = await testBackend("js");
  const rng = new Rng(2);
  const [b, b2, d] = [3, 4, 5];
  const xs = Float32Array.from({ length: b * d }, () => rng.normal() * 0.5);
  const ys = Float32Array.from({ length: b2 * d }, () => rng.normal() * 0.5);
  const [t, bias] = [0.7, -1.3];
  const lossOf = (x: Float32Array, y: Float32Array, tt = t, bb = bias) =>
    tidy(
      () => sigmoidContrastiveLoss(fromF32(be, x, [b, d]), fromF32(be, y, [b2, d]), tt, bb).loss.toF32()[0]!,
    );
  let direct = 0;
  for (let i = 0; i < b; i++)
    for (let j = 0; j < b2; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += xs[i * d + k]! * ys[j * d + k]!;
      const z = i === j ? 1 : -1;
      direct += Math.log(1 + Math.exp(-z * (Math.exp(t) * s + bias)));
    }
  assert.ok(Math.abs(lossOf(xs, ys) - direct / b) < 1e-5);
  const x = fromF32(be, xs, [b, d]);
  const y = fromF32(be, ys, [b2, d]);
  x.requiresGrad = true;
  y.requiresGrad = true;
  const tape = new Tape();
  const r = tidy(() => tape.run(() => sigmoidContrastiveLoss(x, y, t, bias)));
  tape.backward(r.loss);
  const check = (name: string, analytic: number, f: (e: number) => number) => {
    const e = 1e-3;
    const numeric = (f(e) - f(-e)) / (2 * e);
    assert.ok(
      Math.abs(numeric - analytic) < 2e-3 * Math.max(1, Math.abs(numeric)),
      `${name}: ${numeric} vs ${analytic}`,
    );
  };
  const gx = x.grad!.toF32();
  const gy = y.grad!.toF32();
  for (const k of [0, 7, 14])
    check(`x[${k}]`, gx[k]!, (e) =>
      lossOf(
        xs.map((v, i) => (i === k ? v + e : v)),
        ys,
      ),
    );
  for (const k of [1, 9, 19])
    check(`y[${k}]`, gy[k]!, (e) =>
      lossOf(
        xs,
        ys.map((v, i) => (i === k ? v + e : v)),
      ),
    );
  check("t'", r.grads.logTemperature, (e) => lossOf(xs, ys, t + e));
  check("b", r.grads.bias, (e) => lossOf(xs, ys, t, bias + e));
});
