/**
 * Reverse-mode autodiff: a tape of the ops run while it is active. Each tensor op that sees an input which
 * requires a gradient records its output and a closure that, given the output's gradient, accumulates the
 * inputs' gradients with the backward kernels. `tape.backward(loss)` runs the closures in reverse order.
 *
 * Without an active tape (inference) `record` returns at once: no closures, nothing kept alive. With a tape,
 * the tensors a closure needs are taken out of their `tidy` scope (saved) and freed by `tape.dispose()`.
 * Gradients of leaves (trainable parameters, `requiresGrad = true`) accumulate into `leaf.grad` across
 * backward passes (gradient accumulation); gradients of intermediates live only during `backward`.
 *
 * The tape lives in the tensor layer because the ops record onto it; the trainer (src/train) drives it.
 */
import { ShapeError } from "../util/errors.js";
import { addInPlace } from "./ops/elementwise.js";
import { keep, tidy, untrack } from "./scope.js";
import type { Tensor } from "./tensor.js";
import { full } from "./tensor.js";

interface TapeNode {
  out: Tensor;
  backward: (grad: Tensor) => void;
}

let active: Tape | null = null;

export class Tape {
  private nodes: TapeNode[] = [];
  /** Tensors saved for the backward that a scope would have freed: the tape frees them instead. */
  private readonly saved = new Set<Tensor>();
  private grads: Map<Tensor, Tensor> | null = null;

  /** Runs fn with this tape recording. */
  run<T>(fn: () => T): T {
    const prev = active;
    active = this;
    try {
      return fn();
    } finally {
      active = prev;
    }
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

export function activeTape(): Tape | null {
  return active;
}

/**
 * Called by every differentiable op after computing `out`: records `backward` when a tape is active and an input
 * requires a gradient. `save` lists the tensors the closure reads.
 */
export function record(
  out: Tensor,
  inputs: ReadonlyArray<Tensor | null | undefined>,
  save: ReadonlyArray<Tensor | null | undefined>,
  backward: (grad: Tensor, tape: Tape) => void,
): void {
  const tape = active;
  if (!tape || !inputs.some((t) => t?.requiresGrad)) return;
  out.requiresGrad = true;
  out.isLeaf = false;
  tape.save(save);
  tape.push({ out, backward: (g) => backward(g, tape) });
}
