/**
 * The browser build's `node:fs`: a read-only file table in memory, filled by the in-tab engine with a model
 * folder's files (fetched from `imp serve`, or picked by the user), so the library's loaders read them unchanged.
 * Entries are bytes or Blobs; a Blob (a picked file) is read in slices with FileReaderSync, so a large checkpoint
 * is never copied whole into JavaScript memory. Only what model loading uses is here; writes throw.
 */

import { resolve } from "./path.js";

type Entry = Uint8Array | Blob;

/** A worker global (lib.webworker), declared here so the library's DOM-typed build checks this file too. */
declare class FileReaderSync {
  readAsArrayBuffer(blob: Blob): ArrayBuffer;
}

const files = new Map<string, Entry>();
const open = new Map<number, string>();
let nextFd = 3;

const norm = (p: string | URL): string => resolve(typeof p === "string" ? p : p.pathname);

function notFound(path: string, op: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, ${op} '${path}'`), { code: "ENOENT" });
}

/** Adds (or replaces) a file at an absolute path such as "/model/config.json". */
export function addFile(path: string, data: Entry): void {
  files.set(norm(path), data);
}

/** Forgets every file under a folder (or everything). */
export function clearFiles(prefix = "/"): void {
  const p = norm(prefix);
  for (const k of [...files.keys()]) if (p === "/" || k === p || k.startsWith(`${p}/`)) files.delete(k);
}

const sizeOf = (e: Entry) => (e instanceof Uint8Array ? e.byteLength : e.size);

function isDir(path: string): boolean {
  const p = path === "/" ? "/" : `${path}/`;
  for (const k of files.keys()) if (k.startsWith(p)) return true;
  return false;
}

function bytes(e: Entry, start: number, end: number): Uint8Array {
  if (e instanceof Uint8Array) return e.subarray(start, end);
  const reader = new FileReaderSync();
  return new Uint8Array(reader.readAsArrayBuffer(e.slice(start, end)));
}

export function existsSync(path: string | URL): boolean {
  const p = norm(path);
  return files.has(p) || isDir(p);
}

interface Stats {
  size: number;
  mtimeMs: number;
  isFile(): boolean;
  isDirectory(): boolean;
}

function stats(p: string): Stats {
  const e = files.get(p);
  if (e) return { size: sizeOf(e), mtimeMs: 0, isFile: () => true, isDirectory: () => false };
  if (isDir(p)) return { size: 0, mtimeMs: 0, isFile: () => false, isDirectory: () => true };
  throw notFound(p, "stat");
}

export function statSync(path: string | URL): Stats {
  return stats(norm(path));
}

export function readFileSync(
  path: string | URL,
  encoding?: string | { encoding?: string },
): Uint8Array | string {
  const p = norm(path);
  const e = files.get(p);
  if (!e) throw notFound(p, "open");
  const data = bytes(e, 0, sizeOf(e));
  const enc = typeof encoding === "string" ? encoding : encoding?.encoding;
  return enc ? new TextDecoder().decode(data) : data;
}

export function readdirSync(path: string | URL): string[] {
  const p = norm(path);
  if (!isDir(p)) throw notFound(p, "scandir");
  const prefix = p === "/" ? "/" : `${p}/`;
  const names = new Set<string>();
  for (const k of files.keys()) if (k.startsWith(prefix)) names.add(k.slice(prefix.length).split("/")[0]!);
  return [...names].sort();
}

export function openSync(path: string | URL): number {
  const p = norm(path);
  if (!files.has(p)) throw notFound(p, "open");
  const fd = nextFd++;
  open.set(fd, p);
  return fd;
}

export function fstatSync(fd: number): Stats {
  const p = open.get(fd);
  if (p === undefined) throw new Error(`EBADF: bad file descriptor ${fd}`);
  return stats(p);
}

export function readSync(
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
): number {
  const p = open.get(fd);
  if (p === undefined) throw new Error(`EBADF: bad file descriptor ${fd}`);
  const e = files.get(p)!;
  const end = Math.min(sizeOf(e), position + length);
  if (end <= position) return 0;
  const chunk = bytes(e, position, end);
  buffer.set(chunk, offset);
  return chunk.byteLength;
}

export function closeSync(fd: number): void {
  open.delete(fd);
}

function readOnly(name: string): () => never {
  return () => {
    throw new Error(`${name}: the browser build reads models only; it writes no files`);
  };
}

export const writeFileSync = readOnly("writeFileSync");
export const mkdirSync = readOnly("mkdirSync");
export const unlinkSync = readOnly("unlinkSync");
export const renameSync = readOnly("renameSync");
export const rmSync = readOnly("rmSync");
export const openAsBlob = readOnly("openAsBlob");
export const writeSync = readOnly("writeSync");
export const fsyncSync = readOnly("fsyncSync");

/** `node:fs/promises` readFile. */
export async function readFile(
  path: string | URL,
  encoding?: string | { encoding?: string },
): Promise<Uint8Array | string> {
  return readFileSync(path, encoding);
}

/** `node:fs/promises` readdir. */
export async function readdir(path: string | URL): Promise<string[]> {
  return readdirSync(path);
}

export default { existsSync, statSync, readFileSync, readdirSync, openSync, fstatSync, readSync, closeSync };
