// AdamW and gradient clipping against torch.optim.AdamW (foreach=False) and clip_grad_norm_ (values from PyTorch 1.13).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createBackend } from "../backend/registry.js";
import { keep } from "../tensor/scope.js";
import { fromF32 } from "../tensor/tensor.js";
import { AdamW, gradNorm } from "./adamw.js";

const close = (a: ArrayLike<number>, b: readonly number[], tol: number) =>
  b.every((v, i) => Math.abs(a[i]! - v) <= tol * Math.max(1, Math.abs(v)));

describe("AdamW", () => {
  test("three steps with two groups (weight decay on one) match torch", async () => {
    const be = await createBackend("js");
    const p = keep(fromF32(be, [0.5, -1, 2, 0]));
    const b = keep(fromF32(be, [0.1, -0.2]));
    const opt = new AdamW(
      [
        { name: "w", lr: 0.01, weightDecay: 0.1, params: [{ name: "p", tensor: p }] },
        { name: "b", lr: 0.02, weightDecay: 0, params: [{ name: "b", tensor: b }] },
      ],
      { beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    );
    const grads: Array<[number[], number[]]> = [
      [
        [0.3, -0.2, 1.5, 0],
        [0.5, -0.5],
      ],
      [
        [-0.1, 0.4, 0.2, 1],
        [0.25, 0.75],
      ],
      [
        [1, 1, -1, 0.5],
        [0, 0.1],
      ],
    ];
    for (const [gp, gb] of grads) {
      p.grad = keep(fromF32(be, gp));
      b.grad = keep(fromF32(be, gb));
      opt.step(1);
      opt.zeroGrad();
    }
    assert.ok(
      close(
        p.toF32(),
        [0.47749996185302734, -0.9976673722267151, 1.9750158786773682, -0.015436339192092419],
        1e-6,
      ),
      `${p.toF32()}`,
    );
    assert.ok(close(b.toF32(), [0.04694485664367676, -0.1901698112487793], 1e-6), `${b.toF32()}`);
    assert.equal(opt.steps, 3);
  });

  test("gradient norm and clipping coefficient as clip_grad_norm_", async () => {
    const be = await createBackend("js");
    const p = keep(fromF32(be, [0, 0, 0]));
    p.grad = keep(fromF32(be, [3, 4, 0]));
    const { norm, scale } = gradNorm([{ name: "p", tensor: p }], 1);
    assert.equal(norm, 5);
    assert.ok(Math.abs(3 * scale - 0.5999999046325684) < 1e-7);
    assert.equal(gradNorm([{ name: "p", tensor: p }], 10).scale, 1);
    assert.equal(gradNorm([{ name: "p", tensor: p }], 0).scale, 1, "max_grad_norm 0 = no clipping");
  });
});
