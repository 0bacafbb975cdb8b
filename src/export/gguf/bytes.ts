/**
 * Little-endian byte building and parsing for GGUF headers: a growable writer, and a reader over a file that
 * pulls more bytes on demand (a header with a 150 000-token vocabulary is megabytes; tensor data is never read
 * through it).
 */
import { closeSync, openSync, readSync } from "node:fs";
import { FormatError } from "../../util/errors.js";

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

export class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.reserve(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  i8(v: number): void {
    this.reserve(1);
    this.view.setInt8(this.length, v);
    this.length += 1;
  }
  u16(v: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }
  i16(v: number): void {
    this.reserve(2);
    this.view.setInt16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  f64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }
  u64(v: number | bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  i64(v: number | bigint): void {
    this.reserve(8);
    this.view.setBigInt64(this.length, BigInt(v), true);
    this.length += 8;
  }
  /** GGUF string: u64 byte length, then the UTF-8 bytes (no terminator). */
  string(s: string): void {
    const b = utf8.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  zeros(n: number): void {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** Sequential reads from the start of a file, buffered; `pos` is the absolute file offset. */
export class FileCursor {
  private readonly fd: number;
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0;
  pos = 0;

  constructor(readonly file: string) {
    try {
      this.fd = openSync(file, "r");
    } catch (e) {
      throw new FormatError(`cannot open ${file}: ${(e as Error).message}`, { cause: e });
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Makes bytes [pos, pos + n) available in the buffer; throws at the end of the file. */
  private need(n: number): number {
    const at = this.pos - this.bufStart;
    if (at + n <= this.buf.length) return at;
    const size = Math.max(n, 1 << 20);
    const next = new Uint8Array(size);
    const got = readSync(this.fd, next, 0, size, this.pos);
    if (got < n)
      throw new FormatError(`${this.file}: truncated GGUF header (needed ${n} bytes at offset ${this.pos})`);
    this.buf = next.subarray(0, got);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.bufStart = this.pos;
    return 0;
  }

  u8(): number {
    const at = this.need(1);
    this.pos += 1;
    return this.view.getUint8(at);
  }
  i8(): number {
    const at = this.need(1);
    this.pos += 1;
    return this.view.getInt8(at);
  }
  u16(): number {
    const at = this.need(2);
    this.pos += 2;
    return this.view.getUint16(at, true);
  }
  i16(): number {
    const at = this.need(2);
    this.pos += 2;
    return this.view.getInt16(at, true);
  }
  u32(): number {
    const at = this.need(4);
    this.pos += 4;
    return this.view.getUint32(at, true);
  }
  i32(): number {
    const at = this.need(4);
    this.pos += 4;
    return this.view.getInt32(at, true);
  }
  f32(): number {
    const at = this.need(4);
    this.pos += 4;
    return this.view.getFloat32(at, true);
  }
  f64(): number {
    const at = this.need(8);
    this.pos += 8;
    return this.view.getFloat64(at, true);
  }
  u64(): bigint {
    const at = this.need(8);
    this.pos += 8;
    return this.view.getBigUint64(at, true);
  }
  i64(): bigint {
    const at = this.need(8);
    this.pos += 8;
    return this.view.getBigInt64(at, true);
  }
  /** A u64 that must fit a JavaScript number (counts, lengths, offsets). */
  size(what: string): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError(`${this.file}: ${what} ${v} is too large`);
    return Number(v);
  }
  string(what: string): string {
    const n = this.size(`length of ${what}`);
    const at = this.need(n);
    this.pos += n;
    try {
      return utf8Strict.decode(this.buf.subarray(at, at + n));
    } catch (e) {
      throw new FormatError(`${this.file}: ${what} is not valid UTF-8`, { cause: e });
    }
  }

  /** `n` bytes at an absolute offset, outside the header buffer. */
  readAt(offset: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const got = readSync(this.fd, out, done, n - done, offset + done);
      if (got === 0) throw new FormatError(`${this.file}: truncated (needed ${n} bytes at offset ${offset})`);
      done += got;
    }
    return out;
  }
}
