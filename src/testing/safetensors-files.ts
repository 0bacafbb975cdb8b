/**
 * Test helpers for safetensors: temporary folders and hand-crafted (possibly corrupt) files.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temporary folder, removed when the test ends. */
export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "imp-st-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Writes a file from raw parts: the 8-byte length (defaults to the header's byte length, or `length`
 * when given, to lie about it), the header (bytes or a string taken verbatim, or a value to JSON-encode), and `data`.
 */
export function craft(path: string, header: unknown, data: Uint8Array | number = 0, length?: bigint): string {
  const h =
    header instanceof Uint8Array
      ? header
      : new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const body = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.byteLength + body.byteLength);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(h.byteLength), true);
  out.set(h, 8);
  out.set(body, 8 + h.byteLength);
  writeFileSync(path, out);
  return path;
}

/** Bytes 0, 1, 2, ... (mod 251, so that misplaced chunks show) as a test payload. */
export function pattern(n: number, seed = 0): Uint8Array {
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = (i + seed * 7) % 251;
  return a;
}

/** Names of the files in `dir` (to check for temporary litter). */
export function listDir(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** Every file under `dir` whose name ends with `suffix`. */
export function walkFiles(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walkFiles(p, suffix));
    else if (name.endsWith(suffix)) out.push(p);
  }
  return out;
}
