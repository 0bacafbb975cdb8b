/** The browser build's `node:path`: the POSIX functions the loaders use, over "/"-separated paths. */

export const sep = "/";

function normalize(parts: string[], absolute: boolean): string {
  const out: string[] = [];
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else out.push(part);
  }
  const s = out.join("/");
  return absolute ? `/${s}` : s || ".";
}

export const isAbsolute = (p: string): boolean => p.startsWith("/");

export function join(...paths: string[]): string {
  const all = paths.filter((p) => p !== "").join("/");
  return normalize(all.split("/"), isAbsolute(all));
}

/** Relative paths resolve against "/" (the in-tab file table has no working directory). */
export function resolve(...paths: string[]): string {
  let out = "";
  for (const p of paths) out = isAbsolute(p) ? p : `${out}/${p}`;
  return normalize(out.split("/"), true);
}

export function dirname(p: string): string {
  const s = p.replace(/\/+$/, "");
  if (s === "" && p.startsWith("/")) return "/";
  const i = s.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : s.slice(0, i);
}

export function basename(p: string, ext?: string): string {
  const b = p.replace(/\/+$/, "").split("/").pop() ?? "";
  return ext && b.endsWith(ext) && b !== ext ? b.slice(0, -ext.length) : b;
}

export function extname(p: string): string {
  const b = basename(p);
  const i = b.lastIndexOf(".");
  return i <= 0 ? "" : b.slice(i);
}

export function relative(from: string, to: string): string {
  const a = resolve(from).split("/").filter(Boolean);
  const b = resolve(to).split("/").filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/");
}

export default { sep, isAbsolute, join, resolve, dirname, basename, extname, relative };
