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
 * This file holds only what the ops need (the active tape and `record`) and imports no tensor code at run time,
 * so tensor.ts and the ops can record without an import cycle; the Tape itself is in tape.ts.
 */
import type { Tape } from "./tape.js";
import type { Tensor } from "./tensor.js";

/** One recorded op: its output and the closure that turns the output's gradient into its inputs'. */
export interface TapeNode {
  out: Tensor;
  backward: (grad: Tensor) => void;
}

let active: Tape | null = null;

/** Runs fn with `tape` recording (Tape.run). */
export function withTape<T>(tape: Tape, fn: () => T): T {
  const prev = active;
  active = tape;
  try {
    return fn();
  } finally {
    active = prev;
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
