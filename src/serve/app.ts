/**
 * The HTTP application: OpenAI's and Ollama's chat APIs, /health, /metrics and the web page, over one
 * engine, behind same-origin checks (Host, Origin, JSON bodies), a bounded queue, a body limit and an optional
 * API key. Handlers take a standard Request,
 * so tests call `app.fetch(new Request(...))` with no port; server.ts binds it to a socket.
 *
 * @example
 * const engine = await WorkerEngine.start({ folder: "models/imp-tiny" });
 * const { app } = createApp({ engine });
 * const res = await app.fetch(new Request("http://localhost/v1/models"));
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { routePath } from "hono/route";
import type { WeightDType } from "../models/load.js";
import type { KVDType } from "../nn/kv-cache.js";
import type { Engine } from "../runtime/engine/engine.js";
import { apiKeyChecker, unauthorized } from "./auth.js";
import type { ServeContext, ServeEnv } from "./context.js";
import { ApiError, mapError, toOllamaBody } from "./errors.js";
import { DEFAULT_LIMITS, type ServeLimits } from "./limits.js";
import { ServerMetrics } from "./metrics.js";
import { modelFileBody, modelFiles } from "./model-files.js";
import { ollamaRoutes } from "./ollama-routes.js";
import { openAiRoutes } from "./openai-routes.js";
import { RequestQueue } from "./queue.js";
import { sameOrigin } from "./same-origin.js";
import { Scheduler } from "./scheduler.js";
import { ENGINE_DIR, ENGINE_HEADERS, loadStaticFiles, PAGE_HEADERS } from "./static-files.js";

export interface AppOptions {
  engine: Engine;
  limits?: Partial<ServeLimits>;
  /** Requests that may wait for a slot; one more is refused with 429 (default 16). */
  maxQueue?: number;
  /** Required as `Authorization: Bearer KEY` on the APIs and /metrics when set. */
  apiKey?: string | null;
  /** A folder whose images `file:` URLs may name (default: none). */
  allowLocalImages?: string | null;
  /** Serve the web page at / (default true), and its in-tab engine at /engine/. */
  web?: boolean;
  /**
   * The model's folder and how to load it: its loader files are served at /model/ (behind the API key when
   * there is one), so the page can run the same model in the browser tab (default: not served).
   */
  inTab?: { folder: string; dtype?: WeightDType; visionDtype?: WeightDType; kvDtype?: KVDType } | null;
  /**
   * Which requests a browser may make (same-origin.ts): the bind address and extra Host names to answer to,
   * and other sites' origins allowed through CORS. Loopback names are always allowed.
   */
  bindHost?: string;
  allowHosts?: readonly string[];
  corsOrigins?: readonly string[];
  /** Include the process's metrics (RSS, heap, event loop) in /metrics (default true). */
  processMetrics?: boolean;
  log?: (line: string) => void;
}

export interface ServeApp {
  app: Hono<ServeEnv>;
  ctx: ServeContext;
}

export function createApp(opts: AppOptions): ServeApp {
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const metrics = new ServerMetrics({ processMetrics: opts.processMetrics });
  const queue = new RequestQueue(opts.engine.slots, opts.maxQueue ?? 16);
  const ctx: ServeContext = {
    engine: opts.engine,
    scheduler: new Scheduler(opts.engine, queue, metrics, limits.timeoutMs),
    metrics,
    limits,
    images: { limits, allowLocalImages: opts.allowLocalImages ?? null },
    log: opts.log ?? ((line) => process.stderr.write(`${line}\n`)),
  };
  const app = new Hono<ServeEnv>();
  const isOllama = (path: string) => path.startsWith("/api/");

  // The one place errors become responses.
  app.onError((err, c) => {
    const mapped = mapError(err);
    if (mapped.internal) ctx.log(`imp serve: ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}`);
    const body = isOllama(c.req.path) ? toOllamaBody(mapped) : mapped.body;
    return new Response(JSON.stringify(body), {
      status: mapped.status,
      headers: { "content-type": "application/json", ...mapped.headers },
    });
  });
  app.notFound((c) => {
    throw new ApiError(404, `no route ${c.req.method} ${c.req.path}`, null, "not_found");
  });

  // Metrics for every request: by the route's pattern (not its path, which a client can vary at will).
  app.use("*", async (c, next) => {
    const t0 = performance.now();
    await next();
    const route = routePath(c, -1);
    const label = route === "*" || route === "/*" ? "unmatched" : route;
    const observe = () => {
      metrics.requests.inc({ route: label, method: c.req.method, status: String(c.res.status) });
      metrics.requestSeconds.observe({ route: label }, (performance.now() - t0) / 1000);
    };
    const streamDone = c.get("streamDone");
    if (streamDone) void streamDone.finally(observe);
    else observe();
  });

  // Before the key and the body: a foreign Host or site, or a non-JSON body, costs nothing.
  app.use(
    "*",
    sameOrigin({ bindHost: opts.bindHost, allowHosts: opts.allowHosts, corsOrigins: opts.corsOrigins }),
  );

  if (opts.apiKey) {
    const check = apiKeyChecker(opts.apiKey);
    const guard = async (
      c: { req: { header(n: string): string | undefined } },
      next: () => Promise<void>,
    ) => {
      if (!check(c.req.header("authorization"))) throw unauthorized();
      await next();
    };
    for (const p of ["/v1/*", "/api/*", "/metrics", "/model/*"]) app.use(p, guard);
  }

  app.use(
    "*",
    bodyLimit({
      maxSize: limits.maxBodyBytes,
      onError: () => {
        throw new ApiError(
          413,
          `the request body is over the limit of ${limits.maxBodyBytes} bytes`,
          null,
          "request_too_large",
        );
      },
    }),
  );

  app.get("/health", (c) => {
    const ready = opts.engine.ready;
    return c.json(
      {
        status: ready ? "ok" : "loading",
        model: opts.engine.info.id,
        queue: {
          active: queue.active,
          waiting: queue.waiting,
          preparing: ctx.scheduler.preparing,
          maxWaiting: queue.maxWaiting,
          slots: queue.concurrency,
        },
      },
      ready ? 200 : 503,
    );
  });

  app.get("/metrics", async (c) => {
    const { body, contentType } = await metrics.text();
    return c.body(body, 200, { "content-type": contentType });
  });

  openAiRoutes(app, ctx);
  ollamaRoutes(app, ctx);

  if (opts.web ?? true) {
    const engine = loadStaticFiles(ENGINE_DIR);
    app.get("/engine/:file{[A-Za-z0-9._-]+}", (c) => {
      const file = engine.get(`/${c.req.param("file")}`);
      if (!file) throw new ApiError(404, `no route GET ${c.req.path}`, null, "not_found");
      return c.body(file.body as Uint8Array<ArrayBuffer>, 200, {
        "content-type": file.type,
        "cache-control": "no-cache",
        ...ENGINE_HEADERS,
      });
    });
  }
  const inTab = opts.inTab;
  if (inTab) {
    const { folder, dtype, visionDtype, kvDtype } = inTab;
    app.get("/model/files", (c) =>
      c.json({ files: modelFiles(folder), dtype, visionDtype, kvDtype }, 200, PAGE_HEADERS),
    );
    const send = (c: Context<ServeEnv>, name: string) => {
      const file = modelFileBody(folder, name);
      if (!file) throw new ApiError(404, `the model has no file ${name}`, null, "not_found");
      return c.body(file.body, 200, {
        "content-type": "application/octet-stream",
        "content-length": String(file.bytes),
        ...PAGE_HEADERS,
      });
    };
    app.get("/model/:name{[A-Za-z0-9._-]+}", (c) => send(c, c.req.param("name")));
    // A tower folder's files (Imp-v1.5-3B-196's SigLIP folder), as /model/FOLDER/NAME.
    app.get("/model/:dir{[A-Za-z0-9._-]+}/:name{[A-Za-z0-9._-]+}", (c) =>
      send(c, `${c.req.param("dir")}/${c.req.param("name")}`),
    );
  }
  if (opts.web ?? true) {
    const files = loadStaticFiles();
    app.get("/:file{[A-Za-z0-9._-]*}", (c) => {
      const file = files.get(c.req.path);
      if (!file) throw new ApiError(404, `no route GET ${c.req.path}`, null, "not_found");
      return c.body(file.body as Uint8Array<ArrayBuffer>, 200, {
        "content-type": file.type,
        "cache-control": "no-cache",
        ...PAGE_HEADERS,
      });
    });
  }
  return { app, ctx };
}
