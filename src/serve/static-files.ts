/**
 * The web chat page (web/ at the package root): a handful of plain files read once at startup and served
 * from memory by name, so no request path ever reaches the file system. A Content-Security-Policy allows
 * only this origin: the page loads nothing from anywhere else.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** web/ beside src/ (running from source) or dist/ (installed): both are two levels above this file. */
export const WEB_DIR = fileURLToPath(new URL("../../web/", import.meta.url));
/** The in-tab engine's bundle and kernels (scripts/build-web.mjs, run by npm install). */
export const ENGINE_DIR = fileURLToPath(new URL("../../build/web/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
};

export const PAGE_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  // Cross-origin isolation: the in-tab engine's kernel threads share WebAssembly memory (SharedArrayBuffer).
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

/** The in-tab engine's workers: the page's headers, and their own policy, which lets them compile the kernels. */
export const ENGINE_HEADERS: Record<string, string> = {
  ...PAGE_HEADERS,
  "content-security-policy":
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; worker-src 'self'",
};

export interface StaticFile {
  body: Uint8Array;
  type: string;
}

/** Reads the page's files: name (`/app.js`) → bytes and type; `/` is index.html. */
export function loadStaticFiles(dir = WEB_DIR): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const file = { body: new Uint8Array(readFileSync(join(dir, name))), type };
    files.set(`/${name}`, file);
    if (name === "index.html") files.set("/", file);
  }
  return files;
}
