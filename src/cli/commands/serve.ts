/**
 * `imp serve`: an OpenAI- and Ollama-compatible HTTP server with a web chat page, over a model that runs in
 * worker threads. Binds 127.0.0.1 unless told otherwise; warns when it listens beyond this machine with no
 * API key.
 */
import type { Command } from "commander";
import { UsageError } from "../../util/errors.js";
import type { ModelCliOptions } from "../common.js";
import {
  addImageTokensOption,
  addModelOptions,
  nonNegativeNumber,
  positiveInt,
  resolveModelOption,
} from "../common.js";

interface ServeOptions extends ModelCliOptions {
  host: string;
  port: number;
  apiKey?: string;
  modelName?: string;
  parallel: number;
  maxQueue: number;
  timeout: number;
  maxTokens: number;
  maxBodyMib: number;
  maxImageMib: number;
  maxImageMegapixels: number;
  maxMessages: number;
  allowLocalImages?: string;
  allowHost: string[];
  cors: string[];
  web: boolean;
  imageTokens?: number;
  imageCacheMib: number;
  conversationCacheMib: number;
}

const collect = (v: string, all: string[]) => [...all, v];

/** A web origin as browsers send it: scheme, host and port only. */
function origin(v: string): string {
  if (v === "*") return v;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new UsageError(
      `--cors needs an origin like https://app.example or http://localhost:3000, got "${v}"`,
    );
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.origin !== v.replace(/\/+$/, ""))
    throw new UsageError(
      `--cors needs an origin (scheme://host[:port], no path), got "${v}"; did you mean ${url.origin}?`,
    );
  return url.origin;
}

function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a number > 0, got "${v}"`);
    return n;
  };
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be 0–65535, got "${v}"`);
  return n;
}

export function register(program: Command): void {
  const cmd = program
    .command("serve")
    .description(
      "serve a model over HTTP: OpenAI's POST /v1/chat/completions (streaming too), GET /v1/models, " +
        "Ollama's POST /api/chat, GET /health, GET /metrics and a web chat page at / (which can also run the " +
        "model in the browser tab, from the model's files at /model/)",
    )
    .option("--host <host>", "address to bind; anything but loopback needs --api-key to be safe", "127.0.0.1")
    .option("-p, --port <n>", "port (0: any free port)", port, 8080)
    .option("--api-key <key>", "require `Authorization: Bearer KEY` on the APIs (default: $IMP_API_KEY)")
    .option("--model-name <id>", "the model's id in /v1/models and responses (default: the folder's name)")
    .option(
      "--parallel <n>",
      "generations at once, each in its own worker thread with its own copy of the model",
      positiveInt("--parallel"),
      1,
    )
    .option(
      "--max-queue <n>",
      "requests that may wait for a generation; more get 429",
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0)
          throw new UsageError(`--max-queue must be an integer ≥ 0, got "${v}"`);
        return n;
      },
      16,
    )
    .option(
      "--timeout <seconds>",
      "per request, queue wait + generation; then 504",
      positiveNumber("--timeout"),
      300,
    )
    .option(
      "--max-tokens <n>",
      "new tokens when a request sets no max_tokens",
      positiveInt("--max-tokens"),
      512,
    )
    .option(
      "--max-body-mib <n>",
      "largest request body in MiB; larger gets 413",
      positiveNumber("--max-body-mib"),
      32,
    )
    .option("--max-image-mib <n>", "largest image file in MiB", positiveNumber("--max-image-mib"), 20)
    .option(
      "--max-image-megapixels <n>",
      "largest image (width × height), checked before decoding",
      positiveNumber("--max-image-megapixels"),
      25,
    )
    .option("--max-messages <n>", "most messages in one conversation", positiveInt("--max-messages"), 256)
    .option(
      "--allow-local-images <dir>",
      "let image_url take file: URLs of images under DIR (never outside it); default: data: URLs only",
    )
    .option(
      "--allow-host <name>",
      "also answer requests whose Host is NAME (this machine's name, a proxy's); repeatable. By default only " +
        "the bind address, localhost, 127.0.0.1 and [::1] (and any IP when bound to all interfaces), which " +
        "stops DNS rebinding",
      collect,
      [],
    )
    .option(
      "--cors <origin>",
      "let web pages from ORIGIN (https://app.example) call the API, with CORS headers; repeatable. By default " +
        "requests from other sites are refused (403)",
      (v: string, all: string[]) => [...all, origin(v)],
      [],
    )
    .option("--no-web", "do not serve the web chat page at /")
    .option(
      "--image-cache-mib <n>",
      "image embeddings kept per worker, so a second question about an image skips the tower (0: off)",
      nonNegativeNumber("--image-cache-mib"),
      256,
    )
    .option(
      "--conversation-cache-mib <n>",
      "KV cache kept per worker from the last answer, so a chat's next message runs only its new part (0: off)",
      nonNegativeNumber("--conversation-cache-mib"),
      1024,
    );
  addImageTokensOption(addModelOptions(cmd)).addHelpText(
    "after",
    "\nExamples:\n" +
      "  imp serve                                  # the built-in model on http://127.0.0.1:8080\n" +
      "  imp serve --model MILVLG/Imp-v1.5-3B-Phi2 --dtype q4 --port 8000\n" +
      "  IMP_API_KEY=secret imp serve --host 0.0.0.0\n" +
      "\nThen open the page, or point an OpenAI client at http://127.0.0.1:8080/v1 .",
  );
  cmd.action(async (o: ServeOptions) => {
    const { WorkerEngine, createApp, listen } = await import("../../serve/index.js");
    const { isLoopback } = await import("../../serve/auth.js");
    const { defaultThreads } = await import("../../backend/registry.js");
    if (o.allowLocalImages !== undefined) {
      const { statSync } = await import("node:fs");
      const st = statSync(o.allowLocalImages, { throwIfNoEntry: false });
      if (!st?.isDirectory())
        throw new UsageError(
          `--allow-local-images ${o.allowLocalImages}: ${st ? "not a folder" : "no such folder"} (give the folder whose images file: URLs may name)`,
        );
    }
    const { folder, visionTower, name } = await resolveModelOption(o);
    const apiKey = o.apiKey ?? (process.env.IMP_API_KEY || undefined);
    const log = (line: string) => process.stderr.write(`${line}\n`);
    if (!isLoopback(o.host) && !apiKey)
      log(
        `imp serve: WARNING: listening on ${o.host} with no API key: anyone who can reach this machine can use ` +
          "the model. Set --api-key or IMP_API_KEY.",
      );
    log(
      `imp serve: loading ${folder} (${o.parallel} worker${o.parallel > 1 ? "s" : ""}, backend ${o.backend})…`,
    );
    const t0 = performance.now();
    const engine = await WorkerEngine.start({
      folder,
      id: o.modelName ?? name,
      dtype: o.dtype,
      visionDtype: o.visionDtype,
      kvDtype: o.kvDtype,
      visionTower,
      backend: o.backend,
      // N workers share the cores rather than each taking all of them.
      threads:
        o.threads ?? (o.parallel > 1 ? Math.max(1, Math.floor(defaultThreads() / o.parallel)) : undefined),
      maxImagePixels: Math.round(o.maxImageMegapixels * 1e6),
      imageTokens: o.imageTokens,
      imageCacheBytes: Math.round(o.imageCacheMib * 1024 * 1024),
      conversationCacheBytes: Math.round(o.conversationCacheMib * 1024 * 1024),
      workers: o.parallel,
      log,
    });
    const MiB = 1024 * 1024;
    const { app } = createApp({
      engine,
      apiKey,
      allowLocalImages: o.allowLocalImages ?? null,
      bindHost: o.host,
      allowHosts: o.allowHost,
      corsOrigins: o.cors,
      maxQueue: o.maxQueue,
      web: o.web,
      // The page's in-tab engine loads the same folder (a tower in another folder is not served).
      inTab:
        o.web && !visionTower
          ? { folder, dtype: o.dtype, visionDtype: o.visionDtype, kvDtype: o.kvDtype }
          : null,
      log,
      limits: {
        maxBodyBytes: Math.round(o.maxBodyMib * MiB),
        maxImageBytes: Math.round(o.maxImageMib * MiB),
        maxImagePixels: Math.round(o.maxImageMegapixels * 1e6),
        maxMessages: o.maxMessages,
        defaultMaxTokens: o.maxTokens,
        timeoutMs: o.timeout * 1000,
      },
    });
    const server = await listen(app, { host: o.host, port: o.port }).catch(async (err: Error) => {
      await engine.close();
      throw new UsageError(`cannot listen on ${o.host}:${o.port}: ${err.message}`);
    });
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    // stdout carries only the URL line, so scripts (the load test) can read it.
    process.stdout.write(
      `imp serve: listening on ${server.url} (model ${engine.info.id}, loaded in ${secs} s)\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        log("imp serve: shutting down");
        void server
          .close()
          .then(() => engine.close())
          .then(resolve);
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
  });
}
