/** Backends the model-level tests run on: both, so every model passes on the reference and the fast path. */
import type { Backend } from "../backend/backend.js";
import type { BackendName } from "../backend/registry.js";
import { createBackend } from "../backend/registry.js";

export const TEST_BACKENDS: readonly BackendName[] = ["js", "wasm"];

const cache = new Map<BackendName, Promise<Backend>>();

/** One shared backend per name and test process (threads: 2). */
export function testBackend(name: BackendName): Promise<Backend> {
  let b = cache.get(name);
  if (!b) {
    b = createBackend(name, { threads: 2 });
    cache.set(name, b);
  }
  return b;
}
