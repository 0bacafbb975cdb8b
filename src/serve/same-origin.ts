/**
 * Keeps the local server to its own page and its own clients. A server on 127.0.0.1 is still reachable from
 * any web page the user opens: a page can POST to it (a "simple" request needs no CORS preflight), and with
 * DNS rebinding (its own name re-pointed at 127.0.0.1) it can even read the answers and the model's files.
 * - Host: only names this server answers to (the bind address, localhost, 127.0.0.1, [::1], --allow-host;
 *   bound to all interfaces, any IP address too, since a rebinding page always sends its own name), else 403.
 * - Origin: a browser sends it on cross-site requests; another site's origin is refused (403) unless
 *   --cors lists it, and then it gets CORS headers (preflight included).
 * - Content-Type: POST bodies must be application/json (415 otherwise), so no HTML form or `text/plain`
 *   fetch, which browsers send without asking, can drive the API.
 */
import { isIP } from "node:net";
import type { MiddlewareHandler } from "hono";
import type { ServeEnv } from "./context.js";
import { ApiError } from "./errors.js";

export interface SameOriginOptions {
  /** The address the server binds (its own name is always allowed). */
  bindHost?: string;
  /** More Host names (without port) to answer to: the machine's name, a proxy's. */
  allowHosts?: readonly string[];
  /** Origins (`https://app.example`) other than the server's own that may call the API from a browser. */
  corsOrigins?: readonly string[];
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"];

/** The host name of a Host header or URL authority, lower case, without port or IPv6 brackets. */
export function hostName(authority: string): string {
  const a = authority.trim().toLowerCase();
  if (a.startsWith("[")) return a.slice(1, a.indexOf("]") < 0 ? undefined : a.indexOf("]"));
  const colon = a.lastIndexOf(":");
  return colon >= 0 && a.indexOf(":") === colon ? a.slice(0, colon) : a;
}

function wildcard(host: string): boolean {
  const h = hostName(host);
  return h === "0.0.0.0" || h === "::" || h === "";
}

/** Whether a Host header names this server. */
export function hostAllowed(host: string, opts: SameOriginOptions): boolean {
  const name = hostName(host);
  if (name === "") return false;
  const allowed = new Set([...LOOPBACK_NAMES, ...(opts.allowHosts ?? []).map(hostName)]);
  if (opts.bindHost && !wildcard(opts.bindHost)) allowed.add(hostName(opts.bindHost));
  if (allowed.has(name)) return true;
  return opts.bindHost !== undefined && wildcard(opts.bindHost) && isIP(name) !== 0;
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;

/**
 * The checks as one middleware, run before anything else (the API key, the body): a refused request costs
 * nothing.
 */
export function sameOrigin(opts: SameOriginOptions): MiddlewareHandler<ServeEnv> {
  const cors = new Set((opts.corsOrigins ?? []).map((o) => o.replace(/\/+$/, "").toLowerCase()));
  const corsHeaders = (origin: string): Record<string, string> => ({
    "access-control-allow-origin": origin,
    "access-control-allow-headers": "authorization, content-type",
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-expose-headers": "retry-after",
    "access-control-max-age": "600",
    vary: "Origin",
  });
  return async (c, next) => {
    // Node's server builds the URL from the Host header; in-process requests carry their URL's host.
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    if (!hostAllowed(host, opts)) {
      const name = hostName(host);
      throw new ApiError(
        403,
        `this server does not answer to the host "${host}" (a page on another site may be trying to reach ` +
          `it through DNS rebinding); if that is this machine's name, start the server with --allow-host ${name || "NAME"}`,
        null,
        "host_not_allowed",
      );
    }
    const origin = c.req.header("origin");
    let allowCors: string | null = null;
    if (origin !== undefined) {
      const o = origin.toLowerCase();
      const same = o === `http://${host.toLowerCase()}` || o === `https://${host.toLowerCase()}`;
      if (!same) {
        if (!cors.has(o) && !cors.has("*"))
          throw new ApiError(
            403,
            `requests from the web origin ${origin} are refused (only this server's own page may call it); ` +
              `start the server with --cors ${origin} to allow that site`,
            null,
            "cross_origin_refused",
          );
        allowCors = origin;
      }
    }
    if (allowCors && c.req.method === "OPTIONS") return c.body(null, 204, corsHeaders(allowCors));
    if (c.req.method === "POST") {
      const type = c.req.header("content-type") ?? "";
      if (!JSON_TYPE.test(type))
        throw new ApiError(
          415,
          `the request body must be JSON sent as Content-Type: application/json, got ${type ? `"${type}"` : "none"}` +
            " (curl: -H 'Content-Type: application/json')",
          null,
          "unsupported_media_type",
          allowCors ? corsHeaders(allowCors) : {},
        );
    }
    await next();
    if (allowCors) for (const [k, v] of Object.entries(corsHeaders(allowCors))) c.res.headers.set(k, v);
  };
}
