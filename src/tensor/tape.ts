/**
 * The autodiff tape: the ops recorded while it is active (autograd.ts), run backwards from a loss. The trainer
 * (src/train) drives it: `tape.run(() => loss)`, then `tape.backward(loss)`.
 */
import { ShapeError } from "../util/errors.js";
import type { TapeNode } from "./autograd.js";
import { withTape } from "./autograd.js";
import { addInPlace } from "./ops/elementwise.js";
import { keep, tidy, untrack } from "./scope.js";
import type { Tensor } from "./tensor.js";
import { full } from "./tensor.js";

export class Tape {
  private nodes: TapeNode[] = [];
  /** Tensors saved for the backward that a scope would have freed: the tape frees them instead. */
  private readonly saved = new Set<Tensor>();
  private grads: Map<Tensor, Tensor> | null = null;

  /** Runs fn with this tape recording. */
  run<T>(fn: () => T): T {
    return withTape(this, fn);
  }

  push(node: TapeNode): void {
    this.nodes.push(node);
  }

  /**
   * Keeps tensors a backward closure needs alive until the tape is disposed. Tensors no scope owns (parameters,
   * inputs made outside tidy) are left to their owner.
   */
  save(ts: ReadonlyArray<Tensor | null | undefined>): void {
    for (const t of ts) if (t && !this.saved.has(t) && untrack(t)) this.saved.add(t);
  }

  get size(): number {
    return this.nodes.length;
  }

  /**
   * Back-propagates from `output` with upstream gradient `grad` (default: ones, for a scalar loss), then frees
   * everything the tape holds. Leaf gradients are left in `leaf.grad`.
   */
  backward(output: Tensor, grad?: Tensor): void {
    if (!output.requiresGrad)
      throw new ShapeError("backward: the output does not depend on any trainable tensor");
    this.grads = new Map([[output, grad ?? full(output.backend, output.shape, 1)]]);
    try {
      for (let i = this.nodes.length - 1; i >= 0; i--) {
        const node = this.nodes[i]!;
        const g = this.grads.get(node.out);
        if (!g) continue;
        this.grads.delete(node.out);
        // Each closure's temporaries (views, copies) are freed as soon as it returns; gradients it
        // accumulates are kept by accumulate().
        tidy(() => node.backward(g));
        if (g !== grad) g.dispose();
      }
      for (const g of this.grads.values()) if (g !== grad) g.dispose();
    } finally {
      this.grads = null;
      this.dispose();
    }
  }

  /**
   * Adds g into t's gradient (a leaf's .grad, or an intermediate's pending gradient). Called inside a
   * backward closure: g and its views belong to the closure's scope; what is stored is kept.
   */
  accumulate(t: Tensor, g: Tensor): void {
    if (!t.requiresGrad) return;
    if (g.numel !== t.numel) throw new ShapeError(`gradient [${g.shape}] for tensor [${t.shape}]`);
    const prev = t.isLeaf ? t.grad : this.grads?.get(t);
    if (prev) {
      addInPlace(prev, g);
      return;
    }
    const stored = keep(g.isContiguous ? g.reshape(t.shape) : g.contiguous().reshape(t.shape));
    if (t.isLeaf) t.grad = stored;
    else this.grads?.set(t, stored);
  }

  dispose(): void {
    for (const t of this.saved) t.dispose();
    this.saved.clear();
    this.nodes = [];
  }
}
