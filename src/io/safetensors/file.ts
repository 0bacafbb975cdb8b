/**
 * One open safetensors file: its validated header and a file descriptor for positioned reads.
 * `open` reads the header only; `read` copies one tensor's bytes straight into a caller's buffer (typically
 * a view into WebAssembly memory, possibly shared and past 2 GiB), so no tensor ever passes through a
 * JS-heap buffer of its own. Format and rules: ./header.ts.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { CheckpointError } from "../../util/errors.js";
import { headerError, parseHeader, parseHeaderLength, type StEntry } from "./header.js";

/** Largest single read: under the 2 GiB − 1 that one read(2) through Node may move. */
export const DEFAULT_CHUNK_BYTES = 1 << 30;

export interface OpenOptions {
  /** Largest single positioned read, in bytes (tests use small values to exercise chunking). */
  readonly chunkBytes?: number;
}

export class SafetensorsFile {
  /** Tensors in file order. */
  readonly entries: readonly StEntry[];
  /** `__metadata__` (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly size: number;
  private readonly byName: ReadonlyMap<string, StEntry>;
  private fd: number | null;
  private readonly chunkBytes: number;

  private constructor(
    readonly path: string,
    fd: number,
    size: number,
    entries: readonly StEntry[],
    metadata: Readonly<Record<string, string>>,
    chunkBytes: number,
  ) {
    this.fd = fd;
    this.size = size;
    this.entries = entries;
    this.metadata = metadata;
    this.byName = new Map(entries.map((e) => [e.name, e]));
    this.chunkBytes = chunkBytes;
  }

  /**
   * Opens `path`, reads and validates its header, and keeps the file open for `read`.
   * @example
   * const f = SafetensorsFile.open("model.safetensors");
   * const w = f.info("lm_head.weight"); // { dtype: "F16", shape: [512, 64], ... }
   * f.read("lm_head.weight", new Uint8Array(memory.buffer, ptr, w.byteLength));
   * f.close();
   */
  static open(path: string, options: OpenOptions = {}): SafetensorsFile {
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > DEFAULT_CHUNK_BYTES) {
      throw new RangeError(`chunkBytes must be an integer in [1, ${DEFAULT_CHUNK_BYTES}], got ${chunkBytes}`);
    }
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (e) {
      throw new CheckpointError(`cannot open ${path}: ${(e as Error).message}`, { cause: e });
    }
    try {
      const size = fstatSync(fd).size;
      const prefix = new Uint8Array(Math.min(8, size)); // parseHeaderLength refuses a shorter file
      readFully(fd, prefix, 0, path, null, chunkBytes);
      const n = parseHeaderLength(prefix, size, path);
      const json = new Uint8Array(n);
      readFully(fd, json, 8, path, null, chunkBytes);
      const header = parseHeader(json, size, path);
      return new SafetensorsFile(path, fd, size, header.entries, header.metadata, chunkBytes);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The tensor's entry; throws a CheckpointError naming the file when it is absent. */
  info(name: string): StEntry {
    const e = this.byName.get(name);
    if (e === undefined) {
      throw new CheckpointError(
        `${this.path}: no tensor ${JSON.stringify(name)} (it has ${this.entries.length})`,
      );
    }
    return e;
  }

  /** Tensor names in file order. */
  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  /** Reads the tensor's bytes into `dest`, which must be exactly `info(name).byteLength` long. */
  read(name: string, dest: Uint8Array): void {
    const e = this.info(name);
    if (dest.byteLength !== e.byteLength) {
      throw new CheckpointError(
        `${this.path}: tensor ${JSON.stringify(name)} is ${e.byteLength} bytes (${e.dtype} ${JSON.stringify(e.shape)}), ` +
          `but the destination holds ${dest.byteLength}`,
      );
    }
    if (this.fd === null)
      throw new CheckpointError(`${this.path}: read of ${JSON.stringify(name)} after close()`);
    readFully(this.fd, dest, e.byteOffset, this.path, name, this.chunkBytes);
  }

  /** Reads the tensor into a new buffer (for small tensors and tests; big ones go through `read`). */
  readBytes(name: string): Uint8Array {
    const out = new Uint8Array(this.info(name).byteLength);
    this.read(name, out);
    return out;
  }

  /** Closes the file descriptor; later reads fail. Safe to call twice. */
  close(): void {
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      closeSync(fd);
    }
  }
}

/**
 * Fills `dest` from `position` with positioned reads of at most `chunkBytes`, looping over short reads.
 * Each read gets a subarray at offset 0, so no buffer offset (which may pass 2^31 in a 4 GiB memory) is
 * handed to Node's argument checks.
 */
function readFully(
  fd: number,
  dest: Uint8Array,
  position: number,
  file: string,
  tensor: string | null,
  chunkBytes: number,
): void {
  let done = 0;
  while (done < dest.byteLength) {
    const len = Math.min(chunkBytes, dest.byteLength - done);
    let got: number;
    try {
      got = readSync(fd, dest.subarray(done, done + len), 0, len, position + done);
    } catch (e) {
      const what = tensor === null ? "the header" : `tensor ${JSON.stringify(tensor)}`;
      throw new CheckpointError(`${file}: reading ${what} failed: ${(e as Error).message}`, { cause: e });
    }
    if (got === 0) {
      // The size was checked at open; the file shrank since.
      throw headerError(
        file,
        tensor,
        `the file ended at byte ${position + done} while reading (was it replaced?)`,
      );
    }
    done += got;
  }
}
