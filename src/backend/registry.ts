/**
 * Creating backends by name. `wasm` (SIMD128, threads) is the default; `js` is the slow reference.
 * The thread count comes from the option, else $IMP_THREADS, else the machine's cores; integer products for
 * many-row q8/q4 linears from the option, else $IMP_INT_PRODUCTS (1 or 0), else on.
 */
import { availableParallelism } from "node:os";
import { UsageError } from "../util/errors.js";
import type { Backend } from "./backend.js";
import { JsBackend } from "./js/backend.js";

export type BackendName = "js" | "wasm";

export interface BackendOptions {
  threads?: number;
  /** Use relaxed SIMD (FMA, int8 dot) when the runtime has it (default true). */
  relaxedSimd?: boolean;
  /** Multiply many rows by q8/q4 weights with integer products (Backend.intProducts; default true). */
  intProducts?: boolean;
}

export function defaultThreads(): number {
  const env = process.env.IMP_THREADS;
  if (env !== undefined && env !== "") {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1)
      throw new UsageError(`IMP_THREADS must be a positive integer, got "${env}"`);
    return n;
  }
  return Math.max(1, availableParallelism());
}

export function defaultIntProducts(): boolean {
  const env = process.env.IMP_INT_PRODUCTS;
  if (env === undefined || env === "") return true;
  if (env === "1" || env === "0") return env === "1";
  throw new UsageError(`IMP_INT_PRODUCTS must be 1 or 0, got "${env}"`);
}

export async function createBackend(name: BackendName = "wasm", opts: BackendOptions = {}): Promise<Backend> {
  const intProducts = opts.intProducts ?? defaultIntProducts();
  let backend: Backend;
  if (name === "js") backend = new JsBackend();
  else if (name === "wasm") {
    const { WasmBackend } = await import("./wasm/backend.js");
    backend = await WasmBackend.create({
      threads: opts.threads ?? defaultThreads(),
      relaxedSimd: opts.relaxedSimd ?? true,
    });
  } else throw new UsageError(`unknown backend "${String(name)}": expected js or wasm`);
  backend.intProducts = intProducts;
  return backend;
}

export async function describeBackends(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {
    defaultThreads: defaultThreads(),
    intProducts: defaultIntProducts(),
  };
  for (const name of ["js", "wasm"] as const) {
    try {
      const b = await createBackend(name);
      out[name] = { threads: b.threads, features: b.features };
      b.dispose();
    } catch (err) {
      out[name] = { error: err instanceof Error ? err.message : String(err) };
    }
  }
  return out;
}
