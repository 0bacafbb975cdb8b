/**
 * Stopping an inference pass between layers. A generation's vision pass and its prefill are one synchronous call
 * each (seconds for a 3B model), and a thread busy in one sees no abort message until it returns. `interruptible`
 * runs a function with a check that every layer of every stack calls first (`forwardLayer`), so a cancelled
 * request stops within one layer, as llama.cpp's abort callback stops a graph between nodes.
 *
 * const logits = interruptible(() => { if (Atomics.load(flag, 0)) throw new AbortError("cancelled"); }, () =>
 *   model.forward(embeds, cache));
 */

let active: (() => void) | null = null;

/** Runs fn (synchronously) with `check` called before each layer; the check throws to stop fn. Scopes nest. */
export function interruptible<T>(check: () => void, fn: () => T): T {
  const outer = active;
  active = outer
    ? () => {
        outer();
        check();
      }
    : check;
  try {
    return fn();
  } finally {
    active = outer;
  }
}

/** Called by forwardLayer before each layer: throws if the check of any enclosing interruptible scope does. */
export function checkInterrupt(): void {
  active?.();
}
