/** The sigmoid contrastive loss: value against a direct formula, gradients against finite differences. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { tidy } from "../../tensor/scope.js";
import { Tape } from "../../tensor/tape.js";
import { fromF32 } from "../../tensor/tensor.js";
import { testBackend } from "../../testing/backends.js";
import { Rng } from "../../util/random.js";
import { sigmoidContrastiveLoss } from "./loss.js";

/** Checks the loss for [b, d] rows against [b2, d] texts, row i's positives being `pos(i)` (default [i]). */
async function checkLoss(b: number, b2: number, d: number, pos?: (i: number) => readonly number[]) {
  const be = await testBackend("js");
  const rng = new Rng(2);
  const isPositive = (i: number, j: number) => (pos ? pos(i).includes(j) : i === j);
  const xs = Float32Array.from({ length: b * d }, () => rng.normal() * 0.5);
  const ys = Float32Array.from({ length: b2 * d }, () => rng.normal() * 0.5);
  const [t, bias] = [0.7, -1.3];
  const lossOf = (x: Float32Array, y: Float32Array, tt = t, bb = bias) =>
    tidy(
      () =>
        sigmoidContrastiveLoss(fromF32(be, x, [b, d]), fromF32(be, y, [b2, d]), tt, bb, pos).loss.toF32()[0]!,
    );
  let direct = 0;
  for (let i = 0; i < b; i++)
    for (let j = 0; j < b2; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += xs[i * d + k]! * ys[j * d + k]!;
      const z = isPositive(i, j) ? 1 : -1;
      direct += Math.log(1 + Math.exp(-z * (Math.exp(t) * s + bias)));
    }
  assert.ok(Math.abs(lossOf(xs, ys) - direct / b) < 1e-5);
  const x = fromF32(be, xs, [b, d]);
  const y = fromF32(be, ys, [b2, d]);
  x.requiresGrad = true;
  y.requiresGrad = true;
  const tape = new Tape();
  const r = tidy(() => tape.run(() => sigmoidContrastiveLoss(x, y, t, bias, pos)));
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
  for (const k of [0, 7, b * d - 1])
    check(`x[${k}]`, gx[k]!, (e) =>
      lossOf(
        xs.map((v, i) => (i === k ? v + e : v)),
        ys,
      ),
    );
  for (const k of [1, 9, b2 * d - 1])
    check(`y[${k}]`, gy[k]!, (e) =>
      lossOf(
        xs,
        ys.map((v, i) => (i === k ? v + e : v)),
      ),
    );
  check("t'", r.grads.logTemperature, (e) => lossOf(xs, ys, t + e));
  check("b", r.grads.bias, (e) => lossOf(xs, ys, t, bias + e));
  return r.accuracy;
}

test("sigmoid loss: value and gradients (images, texts, temperature, bias)", async () => {
  await checkLoss(3, 4, 5);
});

test("sigmoid loss with given positives: rows with none or several, fewer texts than rows", async () => {
  // The patch-level form: 6 patches against 3 phrases; patches 1 and 4 have no object, patch 2 two.
  const pos = [[0], [], [1, 2], [2], [], [0]];
  const accuracy = await checkLoss(6, 3, 4, (i) => pos[i]!);
  assert.ok(accuracy >= 0 && accuracy <= 1);
  const be = await testBackend("js");
  // Accuracy counts only rows with a positive: row 0 scores its positive best, row 1 does not, row 2 has none.
  const x = fromF32(be, [1, 0, 0, 1, 1, 0], [3, 2]);
  const y = fromF32(be, [1, 0, 0, 1], [2, 2]);
  const r = tidy(() => sigmoidContrastiveLoss(x, y, 0, 0, (i) => [[0], [0], []][i]!));
  assert.equal(r.accuracy, 0.5);
  assert.throws(
    () => sigmoidContrastiveLoss(x, y, 0, 0, () => [2]),
    /row 0's positive 2 is not one of 2 texts/,
  );
});
