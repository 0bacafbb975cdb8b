/** What every route handler is given: the engine, the scheduler in front of it, limits and metrics. */
import type { Engine } from "../runtime/engine/engine.js";
import type { ImageSourceOptions } from "./image-source.js";
import type { ServeLimits } from "./limits.js";
import type { ServerMetrics } from "./metrics.js";
import type { Scheduler } from "./scheduler.js";

export interface ServeContext {
  engine: Engine;
  scheduler: Scheduler;
  metrics: ServerMetrics;
  limits: ServeLimits;
  images: ImageSourceOptions;
  /** Logs a line (startup, internal errors, worker restarts); requests are not logged per line here. */
  log(line: string): void;
}

/** Hono context variables set by handlers. */
export interface ServeEnv {
  Variables: {
    /** A streamed response sets this: it settles when the stream ends, so the latency metric covers it. */
    streamDone?: Promise<unknown>;
  };
}
