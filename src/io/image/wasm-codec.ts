/**
 * Runs one of the jSquash WebAssembly decoders (libjpeg-turbo via MozJPEG, libwebp), compiled by Emscripten.
 *
 * - Loading: in Node the `.wasm` is read from the installed package on disk (never fetched); in a browser the
 *   package's own loader fetches it next to its script (bundlers copy it).
 * - Errors: the C code reports through stderr (`printErr`) and, for libjpeg, ends with `exit(1)`, which
 *   Emscripten turns into a thrown `ExitStatus`. We capture the messages to name the cause, and after any
 *   failure start a fresh instance, since a C stack unwound by a throw can leave the old one inconsistent.
 * - Calls are serialised: the captured messages belong to one decode at a time.
 */

import type { RgbImage } from "./rgb-image.js";

type InitFn = (module: WebAssembly.Module | undefined, overrides: object) => Promise<void>;

export interface DecodedRgba {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

export class WasmDecodeError extends Error {
  constructor(
    message: string,
    readonly messages: string[],
  ) {
    super(message);
    this.name = "WasmDecodeError";
  }
}

function isNode(): boolean {
  return typeof process !== "undefined" && typeof process.versions?.node === "string";
}

/** A package file's URL, as this module would import it (import.meta.resolve is unflagged from Node 20.6). */
async function resolveInNode(specifier: string): Promise<URL> {
  if (typeof import.meta.resolve === "function") return new URL(import.meta.resolve(specifier));
  const { createRequire } = await import("node:module");
  const { pathToFileURL } = await import("node:url");
  return pathToFileURL(createRequire(import.meta.url).resolve(specifier));
}

export class WasmCodec<Args extends unknown[]> {
  private module: Promise<WebAssembly.Module | undefined> | null = null;
  private ready: Promise<void> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private messages: string[] = [];

  /**
   * @param wasmSpecifier the `.wasm` file as a package path, resolved from this module in Node
   * @param init the package's `init(module, overrides)`
   * @param decode the package's `decode(buffer, ...args)`
   */
  constructor(
    private readonly wasmSpecifier: string,
    private readonly init: InitFn,
    private readonly decode: (buffer: ArrayBuffer, ...args: Args) => Promise<DecodedRgba | null>,
  ) {}

  private compile(): Promise<WebAssembly.Module | undefined> {
    if (!this.module) {
      this.module = (async () => {
        if (!isNode()) return undefined;
        const { readFile } = await import("node:fs/promises");
        return WebAssembly.compile(await readFile(await resolveInNode(this.wasmSpecifier)));
      })();
      // A failed compile (missing file) is retried on the next call rather than cached.
      this.module.catch(() => {
        this.module = null;
      });
    }
    return this.module;
  }

  private start(): Promise<void> {
    if (!this.ready) {
      this.ready = this.compile().then((module) =>
        this.init(module, {
          print: () => {},
          printErr: (line: string) => this.messages.push(line),
        }),
      );
      this.ready.catch(() => {
        this.ready = null;
      });
    }
    return this.ready;
  }

  /** Decodes `bytes`; on failure throws WasmDecodeError carrying the decoder's own messages. */
  run(bytes: Uint8Array, ...args: Args): Promise<{ image: DecodedRgba; messages: string[] }> {
    const task = async () => {
      await this.start();
      this.messages = [];
      // A fresh, exactly sized ArrayBuffer (the input may be a view into a larger or pooled buffer).
      const buffer = new Uint8Array(bytes).buffer;
      let image: DecodedRgba | null;
      try {
        image = await this.decode(buffer, ...args);
      } catch (e) {
        const messages = this.messages;
        this.ready = null;
        const detail = messages.length > 0 ? messages.join("; ") : e instanceof Error ? e.message : String(e);
        throw new WasmDecodeError(detail, messages);
      }
      if (!image) throw new WasmDecodeError("decoder returned no image", this.messages);
      return { image, messages: this.messages };
    };
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => {});
    return result;
  }
}

/** Drops the alpha channel of a decoder's RGBA output (Pillow's RGBA → RGB keeps R, G, B as they are). */
export function rgbaToRgb(img: DecodedRgba): RgbImage {
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  const src = img.data;
  for (let i = 0, o = 0, s = 0; i < n; i++, o += 3, s += 4) {
    out[o] = src[s]!;
    out[o + 1] = src[s + 1]!;
    out[o + 2] = src[s + 2]!;
  }
  return { width: img.width, height: img.height, data: out };
}
