/**
 * Every output is written atomically, through this file: written beside its target under a temporary name and
 * moved into place only when complete: write, fsync, close, rename (atomic within one file system), then fsync the
 * folder so the rename itself survives a power cut. A crash leaves the old target or the new one, never a mix;
 * `abort` removes the temporary file when the writer fails. Only a hard kill can leave a `.*.tmp` file behind.
 * A folder that must appear whole (a checkpoint) is built under a temporary name and renamed the same way.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { CheckpointError } from "./errors.js";

/** Largest single write: under the 2 GiB − 1 that one write(2) through Node may move. */
export const DEFAULT_WRITE_CHUNK_BYTES = 1 << 30;

export class PendingFile {
  private fd: number | null;
  private written = 0;
  private state: "open" | "finished" | "committed" | "aborted" = "open";

  private constructor(
    readonly target: string,
    readonly tempPath: string,
    fd: number,
    private readonly chunkBytes: number,
  ) {
    this.fd = fd;
  }

  /** Creates the temporary file beside `target` (same folder, so that rename stays atomic). */
  static create(target: string, chunkBytes = DEFAULT_WRITE_CHUNK_BYTES): PendingFile {
    const temp = join(
      dirname(target),
      `.${basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
    );
    let fd: number;
    try {
      fd = openSync(temp, "wx", 0o644);
    } catch (e) {
      throw new CheckpointError(`cannot create ${temp} to write ${target}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    return new PendingFile(target, temp, fd, chunkBytes);
  }

  /** Bytes written so far. */
  get position(): number {
    return this.written;
  }

  /** Appends all of `bytes`, in chunks, looping over short writes. */
  write(bytes: Uint8Array): void {
    if (this.fd === null || this.state !== "open")
      throw new Error(`${this.tempPath}: write after finish/abort`);
    let done = 0;
    while (done < bytes.byteLength) {
      const len = Math.min(this.chunkBytes, bytes.byteLength - done);
      // A subarray at offset 0: no buffer offset past 2^31 goes through Node's argument checks.
      done += writeSync(this.fd, bytes.subarray(done, done + len), 0, len, this.written + done);
    }
    this.written += bytes.byteLength;
  }

  /** Flushes the data to disk and closes the temporary file; `commit` may follow later. */
  finish(): void {
    if (this.state !== "open" || this.fd === null) throw new Error(`${this.tempPath}: finish twice`);
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
    this.state = "finished";
  }

  /** Renames the finished file over the target. The caller fsyncs the folder (once for many files). */
  commit(): void {
    if (this.state === "open") this.finish();
    if (this.state !== "finished") throw new Error(`${this.tempPath}: commit after ${this.state}`);
    renameSync(this.tempPath, this.target);
    this.state = "committed";
  }

  /** Closes and removes the temporary file; never throws (it runs while another error propagates). */
  abort(): void {
    if (this.state === "committed" || this.state === "aborted") return;
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {}
      this.fd = null;
    }
    try {
      unlinkSync(this.tempPath);
    } catch {}
    this.state = "aborted";
  }
}

/** Makes renames in `dir` durable. Some platforms cannot fsync a folder; that is not an error there. */
export function syncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Writes `target` atomically: `fill` appends the content; on any error nothing is left behind. */
export function writeFileAtomic(
  target: string,
  fill: (file: PendingFile) => void,
  chunkBytes?: number,
): void {
  const file = PendingFile.create(target, chunkBytes);
  try {
    fill(file);
    file.commit();
  } catch (e) {
    file.abort();
    throw e;
  }
  syncDir(dirname(target));
}

/** Writes text (UTF-8) or bytes to `target` atomically. */
export function writeAtomic(target: string, data: string | Uint8Array): void {
  writeFileAtomic(target, (f) => f.write(typeof data === "string" ? new TextEncoder().encode(data) : data));
}

/** Writes `value` as JSON (2-space indent, trailing newline) to `target` atomically. */
export function writeJsonAtomic(target: string, value: unknown): void {
  writeAtomic(target, `${JSON.stringify(value, null, 2)}\n`);
}

/** Copies `source` to `target` atomically (the copy fsynced, as every output is). */
export function copyAtomic(source: string, target: string): void {
  writeAtomic(target, readFileSync(source));
}

/** The temporary name a folder is built under, beside `out`: `.NAME.PID.tmp`. */
export function tempFolderFor(out: string): string {
  return join(dirname(resolve(out)), `.${basename(out)}.${process.pid}.tmp`);
}

/**
 * Builds the folder `out` whole: `fill` writes into a fresh temporary folder beside it, which is then fsynced and
 * renamed over `out` (an existing `out` is removed first), and the parent folder fsynced. On any error the
 * temporary folder is removed and `out` is left as it was.
 */
export function writeFolderAtomic<T>(out: string, fill: (tmp: string) => T): T {
  const tmp = tempFolderFor(out);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  let result: T;
  try {
    result = fill(tmp);
    syncDir(tmp);
    if (existsSync(out)) rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  syncDir(dirname(resolve(out)));
  return result;
}
