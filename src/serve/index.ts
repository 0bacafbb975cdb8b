/**
 * The HTTP server: OpenAI- and Ollama-compatible chat over an engine (a worker thread by default), with
 * same-origin checks, a bounded queue, limits, metrics and the web page. `imp serve` (src/cli/commands/serve.ts) wires it up.
 *
 * @example
 * const engine = await WorkerEngine.start({ folder: "models/imp-tiny" });
 * const { app } = createApp({ engine });
 * const server = await listen(app, { host: "127.0.0.1", port: 8080 });
 */

export type { Engine, EngineHooks, EngineInfo, EngineJob, EngineResult } from "../runtime/engine/engine.js";
export { InProcessEngine } from "../runtime/engine/in-process-engine.js";
export type { PreparedInput, PrepareInput } from "../runtime/engine/prepare.js";
export { WorkerEngine, type WorkerEngineOptions } from "../runtime/engine/worker-engine.js";
export { type AppOptions, createApp, type ServeApp } from "./app.js";
export { DEFAULT_LIMITS, type ServeLimits } from "./limits.js";
export { type Listening, listen } from "./server.js";
