/**
 * Memory scopes for tensors in backend memory (JS has no destructors, and a 3B model's activations must be
 * freed promptly). `tidy(fn)` disposes every tensor created while fn runs except those it returns, which move
 * to the enclosing scope. Tensors created outside any scope live until `dispose()` (or, as a backstop, until
 * they are garbage collected).
 */
export interface Disposable {
  dispose(): void;
}

const stack: Array<Set<Disposable>> = [];

/** Called by every new tensor: it joins the innermost scope. */
export function track(t: Disposable): void {
  stack[stack.length - 1]?.add(t);
}

/** Removes a tensor from the innermost scope so it outlives it (until disposed explicitly). */
export function keep<T extends Disposable>(t: T): T {
  untrack(t);
  return t;
}

/** Removes a tensor from the scope that would dispose it; true if some scope owned it. */
export function untrack(t: Disposable): boolean {
  for (let i = stack.length - 1; i >= 0; i--) if (stack[i]!.delete(t)) return true;
  return false;
}

function collect(value: unknown, into: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== "object" || depth > 4) return;
  if (typeof (value as Disposable).dispose === "function" && "shape" in (value as object)) {
    into.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, into, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collect(v, into, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype)
    for (const v of Object.values(value as Record<string, unknown>)) collect(v, into, depth + 1);
}

/** Runs fn in a new scope (synchronously); returns its result with the returned tensors kept. */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    stack.pop();
    for (const t of scope) t.dispose();
    throw err;
  }
  stack.pop();
  if (result instanceof Promise) throw new Error("tidy: fn must be synchronous");
  const kept = new Set<Disposable>();
  collect(result, kept);
  for (const t of scope) if (!kept.has(t)) t.dispose();
  const parent = stack[stack.length - 1];
  if (parent) for (const t of kept) if (scope.has(t)) parent.add(t);
  return result;
}
