/**
 * A generation streamed to an HTTP client, for both chat APIs (OpenAI's server-sent events, Ollama's NDJSON): the
 * run's text becomes frames as it comes, the outcome a last frame or two, an error after the 200 a frame holding
 * the error (the one place a stream maps it), and a client that goes away cancels the run. The request's
 * `streamDone` settles when the stream ends, so the request metrics count the whole answer.
 */
import type { Context } from "hono";
import { AbortError } from "../runtime/generate.js";
import type { ServeContext, ServeEnv } from "./context.js";
import { type MappedError, mapError } from "./errors.js";
import type { RunOutcome, ScheduledRun } from "./scheduler.js";

export interface StreamFormat {
  headers: Record<string, string>;
  /** Written before the run starts (OpenAI's first chunk with the assistant role). */
  opening?: string;
  /** A piece of the answer. */
  text: (text: string) => string;
  /** The end of a finished run. */
  end: (out: RunOutcome) => string;
  /** An error after the response started. */
  error: (mapped: MappedError) => string;
  /** A frame the client ignores, written this often while the run waits or computes (keeps proxies from closing). */
  keepAlive?: { frame: string; everyMs: number };
}

/** Starts `run` and answers with its stream in `format`. */
export function streamRun(
  c: Context<ServeEnv>,
  run: ScheduledRun,
  ctx: ServeContext,
  format: StreamFormat,
): Response {
  const enc = new TextEncoder();
  let done!: () => void;
  c.set(
    "streamDone",
    new Promise<void>((r) => {
      done = r;
    }),
  );
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      const write = (s: string) => {
        if (!open) return;
        try {
          controller.enqueue(enc.encode(s));
        } catch {
          open = false;
        }
      };
      const ka = format.keepAlive;
      const keepAlive = ka ? setInterval(() => write(ka.frame), ka.everyMs) : undefined;
      if (format.opening) write(format.opening);
      run
        .start((text) => write(format.text(text)))
        .then((out) => write(format.end(out)))
        .catch((err: unknown) => {
          if (err instanceof AbortError) return; // the client is gone: nobody to tell
          const mapped = mapError(err);
          if (mapped.internal)
            ctx.log(`imp serve: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          write(format.error(mapped));
        })
        .finally(() => {
          clearInterval(keepAlive);
          if (open) {
            open = false;
            try {
              controller.close();
            } catch {}
          }
          done();
        });
    },
    cancel() {
      run.cancel();
    },
  });
  return new Response(body, { headers: format.headers });
}
