/**
 * Running the model in this tab: the in-tab engine (a Web Worker, /engine/engine-worker.js, built from
 * src/browser/) loads the served model's files (/model/) and answers with the same code as the server, on this
 * machine's cores, so nothing but the model's files crosses the network. Its kernel threads share WebAssembly
 * memory, which needs cross-origin isolation (the server sends the headers).
 */

export function inTabSupported() {
  return globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === "function";
}

function dataUrlBytes(url) {
  const comma = url.indexOf(",");
  const bin = atob(url.slice(comma + 1));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * The page's messages (OpenAI's format) → turns (text parts joined, the image's turn marked) and the image's bytes;
 * the engine maps the turns onto the template with the server's own code (src/runtime/engine/conversation.ts).
 */
export function toTurns(system, messages) {
  const turns = system ? [{ role: "system", text: system, hasImage: false }] : [];
  let image = null;
  for (const m of messages) {
    if (!Array.isArray(m.content)) {
      turns.push({ role: m.role, text: m.content, hasImage: false });
      continue;
    }
    const texts = m.content.filter((p) => p.type === "text").map((p) => p.text);
    const picture = m.content.find((p) => p.type === "image_url");
    // The page attaches one image per conversation (attach() refuses a second).
    if (picture) image = dataUrlBytes(picture.image_url.url);
    turns.push({ role: m.role, text: texts.join("\n"), hasImage: picture !== undefined });
  }
  return { turns, image };
}

export class InTabEngine {
  constructor() {
    this.worker = new Worker("/engine/engine-worker.js", { type: "module" });
    this.nextId = 1;
    this.runs = new Map();
    this.onLoad = null;
    /** Why the worker failed (e.g. its script did not load), kept for a load that starts after. */
    this.error = null;
    this.worker.onmessage = (e) => this.receive(e.data);
    this.worker.onerror = (e) => this.fail(new Error(e.message || "the in-tab engine failed to start"));
  }

  receive(m) {
    if (m.type === "progress" || m.type === "ready" || (m.type === "error" && m.id === undefined)) {
      this.onLoad?.(m);
      return;
    }
    const run = this.runs.get(m.id);
    if (!run) return;
    if (m.type === "text") run.onText(m.text);
    else {
      this.runs.delete(m.id);
      if (m.type === "done") run.resolve({ stats: m.stats, aborted: m.aborted });
      else run.reject(new Error(m.message));
    }
  }

  fail(err) {
    this.error = err;
    this.onLoad?.({ type: "error", message: err.message });
    for (const run of this.runs.values()) run.reject(err);
    this.runs.clear();
  }

  /**
   * Fetches the model's file list, then has the worker load them on `threads` kernel threads (default: the
   * machine's cores); `progress(done, total)` in bytes as the files arrive.
   */
  async load(headers, progress, threads = navigator.hardwareConcurrency || 1) {
    const res = await fetch("/model/files", { headers });
    if (!res.ok)
      throw new Error(
        res.status === 404 ? "this server does not offer its model to the page" : `HTTP ${res.status}`,
      );
    const { files, dtype, visionDtype, kvDtype } = await res.json();
    const total = files.reduce((n, f) => n + f.bytes, 0);
    const loaded = new Map();
    const onProgress = (m) => {
      loaded.set(m.file, m.loaded);
      progress?.(
        [...loaded.values()].reduce((a, b) => a + b, 0),
        total,
      );
    };
    const names = files.map((f) => f.name);
    return this.send(
      { type: "load", base: "/model/", files: names, headers, dtype, visionDtype, kvDtype, threads },
      onProgress,
    );
  }

  /** Posts a load message; resolves with "ready", rejects with the load's error (or the worker's, if it died). */
  send(message, onProgress) {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.onLoad = (m) => {
        if (m.type === "progress") onProgress?.(m);
        else if (m.type === "ready") resolve(m);
        else reject(new Error(m.message));
      };
      this.worker.postMessage(message);
    });
  }

  /**
   * Loads a model folder the user picked (an <input webkitdirectory>'s files): read in place by the worker, never
   * copied whole. `dtype` ("auto", "q8", "q4") is how its weights are held, so a 3B model fits in 4 GiB as q4.
   */
  loadFolder(fileList, dtype = "auto", threads = navigator.hardwareConcurrency || 1) {
    // webkitRelativePath is "folder/config.json": the path inside the folder drops its first part.
    const files = [...fileList].map((f) => ({
      path: (f.webkitRelativePath || f.name).split("/").slice(1).join("/") || f.name,
      data: f,
    }));
    return this.send({ type: "load-files", files, threads, dtype });
  }

  /** Streams one answer; `signal` stops it within a layer. Resolves with the run's stats. */
  run(job, onText, signal) {
    const id = this.nextId++;
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const stop = () => Atomics.store(cancel, 0, 1);
    signal?.addEventListener("abort", stop, { once: true });
    return new Promise((resolve, reject) => {
      this.runs.set(id, { onText, resolve, reject });
      this.worker.postMessage({ type: "run", id, ...job, cancel });
    }).finally(() => signal?.removeEventListener("abort", stop));
  }

  terminate() {
    this.worker.terminate();
    this.fail(new Error("the in-tab engine was stopped"));
  }
}
