/**
 * Starts one of the engine's worker threads from its module beside this file. Compiled, that is NAME.js; under
 * tsx (tests, scripts) it is the .ts source, and Node 20 loads a worker's entry before the inherited
 * `--import tsx` hooks apply, so a one-line module registers tsx first, then imports it.
 */
import { Worker } from "node:worker_threads";

const FROM_SOURCE = import.meta.url.endsWith(".ts");

export function startWorker(name: string, workerData: unknown): Worker {
  const url = new URL(`./${name}${FROM_SOURCE ? ".ts" : ".js"}`, import.meta.url);
  if (!FROM_SOURCE) return new Worker(url, { workerData });
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData });
}
