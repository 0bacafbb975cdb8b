/**
 * Fetching one file of a repo into the cache: resumable, verified and safe against other processes.
 *
 * Under a per-blob lock (another imp-ts process pulling the same file waits, then finds it done), the bytes are
 * appended to blobs/<etag>.incomplete, continuing an interrupted download with a range request; the file is
 * checked against the Hub's hash (the LFS SHA-256, or the git blob id of a small file) and its size, and only
 * then renamed to blobs/<etag> and linked from the snapshot. A file that fails the check is deleted; one cut off
 * (a kill, a network error, a full disk) stays .incomplete for the next run to resume.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream, mkdirSync, renameSync, statSync, truncateSync, unlinkSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname } from "node:path";
import { downloadFile } from "@huggingface/hub";
import lockfile from "proper-lockfile";
import type { RepoCache } from "./cache.js";
import { describeHubFailure, HubError } from "./errors.js";
import type { PullEventHandler } from "./events.js";

/** A file as the Hub lists it for one commit (paths-info). */
export interface RemoteFile {
  path: string;
  size: number;
  /** SHA-256 of an LFS file (also its ETag and blob name). */
  sha256: string | null;
  /** Git blob id (SHA-1 of "blob <size>\0" + content): the ETag and blob name of a small file. */
  gitOid: string;
}

export function etagOf(f: RemoteFile): string {
  return f.sha256 ?? f.gitOid;
}

export interface FetchContext {
  repo: string;
  commit: string;
  cache: RepoCache;
  endpoint: string;
  token: string | undefined;
  fetch?: typeof fetch;
  gated: boolean;
  onEvent?: PullEventHandler;
  /** How long a lock may go without its holder touching it before another process takes it over. */
  lockStaleMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lock whose holder has not touched it for this long is taken over (its process died). */
export const DEFAULT_LOCK_STALE_MS = 10_000;

/** Tries per file when the connection breaks off mid-file, each resuming where the last one stopped. */
const MAX_ATTEMPTS = 4;

/** The file's content on the Hub, as a Blob whose slices are range requests. */
async function openRemote(ctx: FetchContext, file: RemoteFile, what: string): Promise<Blob> {
  let blob: Blob | null;
  try {
    blob = await downloadFile({
      repo: { type: "model", name: ctx.repo },
      path: file.path,
      revision: ctx.commit,
      hubUrl: ctx.endpoint,
      fetch: ctx.fetch,
      accessToken: ctx.token,
      // Plain HTTP with range requests: the path that resumes and that the tests run.
      xet: false,
    });
  } catch (e) {
    throw describeHubFailure(e, ctx.repo, what, ctx.gated);
  }
  if (!blob) throw new HubError(`${what}: not found on the Hub at commit ${ctx.commit} (HTTP 404)`);
  if (blob.size !== file.size)
    throw new HubError(`${what}: the Hub serves ${blob.size} bytes but lists the file as ${file.size} bytes`);
  return blob;
}

/** Takes the blob's lock, waiting (and saying so once) while another process holds it. */
async function lockBlob(ctx: FetchContext, file: RemoteFile, onCompromised: (e: Error) => void) {
  const lockPath = ctx.cache.lockPath(etagOf(file));
  mkdirSync(dirname(lockPath), { recursive: true });
  let told = false;
  for (;;) {
    try {
      return await lockfile.lock(ctx.cache.blobPath(etagOf(file)), {
        realpath: false,
        lockfilePath: lockPath,
        stale: ctx.lockStaleMs ?? DEFAULT_LOCK_STALE_MS,
        onCompromised,
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ELOCKED") throw e;
      if (!told) ctx.onEvent?.({ type: "wait", repo: ctx.repo, path: file.path });
      told = true;
      await sleep(250);
    }
  }
}

function newHash(file: RemoteFile): Hash {
  if (file.sha256) return createHash("sha256");
  return createHash("sha1").update(`blob ${file.size}\0`);
}

/** Hashes the bytes already on disk from an earlier run. */
async function hashExisting(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function diskFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/**
 * Makes `file` present in the snapshot of `ctx.commit`, downloading what is missing. Returns the bytes fetched
 * over the network (0 when the blob was already there, e.g. downloaded by another process or by Python).
 */
export async function fetchFile(ctx: FetchContext, file: RemoteFile): Promise<number> {
  const { cache, commit, repo } = ctx;
  if (cache.hasFile(commit, file.path)) return 0;
  const etag = etagOf(file);
  const what = `${repo}: ${file.path}`;
  let compromised: Error | null = null;
  const release = await lockBlob(ctx, file, (e) => {
    compromised = e;
  });
  try {
    if (cache.blobSize(etag) === file.size) {
      cache.link(commit, file.path, etag);
      ctx.onEvent?.({ type: "done", repo, path: file.path, size: file.size, downloaded: 0 });
      return 0;
    }
    mkdirSync(dirname(cache.blobPath(etag)), { recursive: true });
    const incomplete = cache.incompletePath(etag);
    let offset = sizeOf(incomplete);
    if (offset > file.size) {
      truncateSync(incomplete, 0);
      offset = 0;
    }
    let hash = newHash(file);
    if (offset > 0) await hashExisting(incomplete, hash);
    ctx.onEvent?.({ type: "start", repo, path: file.path, size: file.size, resumedFrom: offset });
    let done = offset;
    let blob: Blob | null = null;
    for (let attempt = 1; done < file.size; attempt++) {
      blob ??= await openRemote(ctx, file, what);
      const out = await open(incomplete, "a");
      try {
        for await (const chunk of blob.slice(done).stream()) {
          if (compromised)
            throw new HubError(`${what}: lost the download lock (${(compromised as Error).message})`);
          const bytes = chunk as Uint8Array;
          if (done + bytes.byteLength > file.size)
            throw new HubError(`${what}: the Hub sent more than the ${file.size} bytes it lists`);
          await out.write(bytes);
          hash.update(bytes);
          done += bytes.byteLength;
          ctx.onEvent?.({ type: "bytes", repo, path: file.path, done, size: file.size });
        }
        await out.sync();
        if (done < file.size) throw new Error("the connection closed early");
      } catch (e) {
        if (e instanceof HubError) throw e;
        if (diskFull(e))
          throw new HubError(
            `${what}: no space left on the device of ${cache.cacheDir} after ${done} of ${file.size} bytes; ` +
              "free some space and run again (the download resumes where it stopped)",
            { cause: e },
          );
        const reason = e instanceof Error ? e.message : String(e);
        if (attempt >= MAX_ATTEMPTS)
          throw new HubError(
            `${what}: the download broke off after ${done} of ${file.size} bytes (${reason}, ${attempt} tries); ` +
              "run again to resume",
            { cause: e },
          );
        ctx.onEvent?.({
          type: "notice",
          message: `${file.path}: the download broke off after ${done} of ${file.size} bytes (${reason}); resuming`,
        });
        await sleep(500 * attempt);
        // A chunk may be half on disk: go on from what the file holds, hashed afresh.
        done = sizeOf(incomplete);
        hash = newHash(file);
        await hashExisting(incomplete, hash);
      } finally {
        await out.close().catch(() => {});
      }
    }
    if (done !== file.size) {
      throw new HubError(
        `${what}: the download ended after ${done} of ${file.size} bytes; run again to resume`,
      );
    }
    const digest = hash.digest("hex");
    if (digest !== etag) {
      unlinkSync(incomplete);
      throw new HubError(
        `${what}: the downloaded bytes do not match the Hub's ${file.sha256 ? "SHA-256" : "git blob id"} ` +
          `(expected ${etag}, got ${digest}); the corrupt copy was deleted, run again to download it afresh`,
      );
    }
    renameSync(incomplete, cache.blobPath(etag));
    cache.link(commit, file.path, etag);
    ctx.onEvent?.({ type: "done", repo, path: file.path, size: file.size, downloaded: done - offset });
    return done - offset;
  } finally {
    await release().catch(() => {});
  }
}
