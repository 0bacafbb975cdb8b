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

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

export const PAGE_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
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
