/**
 * A local stand-in for the Hugging Face Hub, for tests only (never shipped): it answers the routes
 * @huggingface/hub and huggingface_hub use, as the real Hub does:
 *  - GET  /api/models/{repo}/revision/{rev}   model info: sha (the commit), siblings (+ sizes and LFS hashes with
 *                                              ?blobs=true), gated; 404 RepoNotFound / RevisionNotFound
 *  - POST /api/models/{repo}/paths-info/{rev} per file: oid (git blob id), size, lfs {oid: SHA-256, size}
 *  - GET/HEAD /{repo}/resolve/{rev}/{path}    small files: the content with ETag (git blob id) and X-Repo-Commit;
 *                                              LFS files: 302 to a content URL with X-Linked-Etag (SHA-256),
 *                                              X-Linked-Size and X-Repo-Commit; 401 GatedRepo without a token
 *                                              on a gated repo; 404 EntryNotFound
 *  - GET  /cdn/{sha256}                       LFS content, with range requests (206, Content-Range)
 * Faults for the tests: stall a file after N bytes (the connection stays open, as a dying network does), flip a
 * byte, throttle, answer 404 for a listed file. Every request is logged.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface ServedRepo {
  id: string;
  files: Record<string, Uint8Array>;
  /** Resolve answers 401 unless the request carries `Bearer <token>`. */
  gated?: boolean;
}

export interface Faults {
  /** Send this file's content only up to absolute byte `bytes`, then hold the connection open until `release()`. */
  stall?: { path: string; bytes: number };
  /** Cut the connection once after absolute byte `bytes` of this file (the fault then clears itself). */
  drop?: { path: string; bytes: number };
  /** Serve this file with the byte at `at` flipped. */
  corrupt?: { path: string; at: number };
  /** Pace content: `chunk` bytes every `everyMs`. */
  throttle?: { chunk: number; everyMs: number };
  /** Answer 404 EntryNotFound for this listed file. */
  missing?: string;
}

export interface LoggedRequest {
  method: string;
  url: string;
  range: string | null;
  auth: string | null;
}

interface StoredFile {
  repo: ServedRepo;
  path: string;
  bytes: Uint8Array;
  gitOid: string;
  sha256: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function newGate(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export function gitBlobId(bytes: Uint8Array): string {
  return createHash("sha1").update(`blob ${bytes.byteLength}\0`).update(bytes).digest("hex");
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The Hub stores weights (and anything large) in LFS; small text files in git. */
function isLfs(path: string, size: number): boolean {
  return /\.(safetensors|bin|model)$/.test(path) || size > 10 * 1024 * 1024;
}

export class TestHub {
  readonly requests: LoggedRequest[] = [];
  faults: Faults = {};
  private readonly repos = new Map<
    string,
    { repo: ServedRepo; commit: string; files: Map<string, StoredFile> }
  >();
  private readonly blobs = new Map<string, StoredFile>();
  private readonly sockets = new Set<Socket>();
  private gate = newGate();

  private constructor(
    private readonly server: Server,
    readonly token: string,
  ) {}

  static async start(repos: readonly ServedRepo[], token = "hf_testtoken"): Promise<TestHub> {
    const server = createServer();
    const hub = new TestHub(server, token);
    for (const r of repos) hub.add(r);
    server.on("request", (req, res) => {
      hub.handle(req, res).catch((e: Error) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(e));
      });
    });
    server.on("connection", (s) => {
      hub.sockets.add(s);
      s.on("close", () => hub.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return hub;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Adds (or replaces) a repo; its commit is a hash of its contents. */
  add(repo: ServedRepo): string {
    const files = new Map<string, StoredFile>();
    const commitHash = createHash("sha1").update(repo.id);
    for (const [path, bytes] of Object.entries(repo.files).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const f: StoredFile = {
        repo,
        path,
        bytes,
        gitOid: gitBlobId(bytes),
        sha256: isLfs(path, bytes.byteLength) ? sha256(bytes) : null,
      };
      files.set(path, f);
      if (f.sha256) this.blobs.set(f.sha256, f);
      commitHash.update(`${path}\0${f.gitOid}\0`);
    }
    const commit = commitHash.digest("hex");
    this.repos.set(repo.id, { repo, commit, files });
    return commit;
  }

  commitOf(id: string): string {
    return this.repos.get(id)!.commit;
  }

  /** Requests for file content (not the 1-byte probes, API calls or redirects) of `path` in any repo. */
  contentRequests(path?: string): LoggedRequest[] {
    return this.requests.filter(
      (r) =>
        r.method === "GET" &&
        r.range !== "bytes=0-0" &&
        (r.url.startsWith("/cdn/") || r.url.includes("/resolve/")) &&
        (path === undefined ||
          r.url.split("?")[0]!.endsWith(`/${path}`) ||
          r.url.includes(`file=${encodeURIComponent(path)}`)),
    );
  }

  /** Lets stalled downloads go on (and later ones pass the stall point at once), clearing the stall fault. */
  release(): void {
    this.faults = { ...this.faults, stall: undefined };
    this.gate.resolve();
    this.gate = newGate();
  }

  async close(): Promise<void> {
    this.gate.resolve();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private json(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  }

  private authorised(req: IncomingMessage, repo: ServedRepo): boolean {
    return !repo.gated || req.headers.authorization === `Bearer ${this.token}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    this.requests.push({
      method: req.method ?? "GET",
      url: req.url ?? "/",
      range: (req.headers.range as string | undefined) ?? null,
      auth: (req.headers.authorization as string | undefined) ?? null,
    });
    const p = decodeURIComponent(url.pathname);
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(p);
    if (m && req.method === "GET")
      return this.modelInfo(res, m[1]!, m[2]!, url.searchParams.get("blobs") === "true");
    m = /^\/api\/models\/([^/]+\/[^/]+)\/paths-info\/([^/]+)$/.exec(p);
    if (m && req.method === "POST") return this.pathsInfo(req, res, m[1]!, m[2]!);
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(p);
    if (m && (req.method === "GET" || req.method === "HEAD"))
      return this.resolve(req, res, m[1]!, m[2]!, m[3]!);
    m = /^\/cdn\/([0-9a-f]{64})$/.exec(p);
    if (m && req.method === "GET") {
      const f = this.blobs.get(m[1]!);
      if (!f) return this.json(res, 404, { error: "no such object" });
      return this.content(req, res, f, { ETag: `"${f.sha256}"` });
    }
    this.json(res, 404, { error: `no route ${req.method} ${p}` });
  }

  private findRepo(res: ServerResponse, id: string, rev: string) {
    const r = this.repos.get(id);
    if (!r) {
      this.json(res, 404, { error: "Repository not found" }, { "X-Error-Code": "RepoNotFound" });
      return null;
    }
    if (rev !== "main" && rev !== "HEAD" && rev !== r.commit) {
      this.json(res, 404, { error: `Invalid rev id: ${rev}` }, { "X-Error-Code": "RevisionNotFound" });
      return null;
    }
    return r;
  }

  private modelInfo(res: ServerResponse, id: string, rev: string, blobs: boolean): void {
    const r = this.findRepo(res, id, rev);
    if (!r) return;
    const siblings = [...r.files.values()].map((f) => ({
      rfilename: f.path,
      ...(blobs
        ? {
            blobId: f.gitOid,
            size: f.bytes.byteLength,
            ...(f.sha256 ? { lfs: { sha256: f.sha256, size: f.bytes.byteLength, pointerSize: 134 } } : {}),
          }
        : {}),
    }));
    this.json(res, 200, {
      _id: createHash("md5").update(id).digest("hex").slice(0, 24),
      id,
      modelId: id,
      author: id.split("/")[0],
      sha: r.commit,
      lastModified: "2024-05-01T00:00:00.000Z",
      private: false,
      gated: r.repo.gated ? "manual" : false,
      disabled: false,
      downloads: 0,
      likes: 0,
      pipeline_tag: "image-text-to-text",
      tags: [],
      siblings,
    });
  }

  private async pathsInfo(req: IncomingMessage, res: ServerResponse, id: string, rev: string): Promise<void> {
    let body = "";
    for await (const c of req) body += String(c);
    const r = this.findRepo(res, id, rev);
    if (!r) return;
    const { paths } = JSON.parse(body) as { paths: string[] };
    const out = paths.flatMap((path) => {
      const f = r.files.get(path);
      if (!f) return [];
      return [
        {
          type: "file",
          oid: f.gitOid,
          size: f.bytes.byteLength,
          path,
          ...(f.sha256 ? { lfs: { oid: f.sha256, size: f.bytes.byteLength, pointerSize: 134 } } : {}),
        },
      ];
    });
    this.json(res, 200, out);
  }

  private async resolve(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    rev: string,
    path: string,
  ): Promise<void> {
    const r = this.findRepo(res, id, rev);
    if (!r) return;
    if (!this.authorised(req, r.repo))
      return this.json(
        res,
        401,
        {
          error: `Access to model ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
        },
        { "X-Error-Code": "GatedRepo" },
      );
    const f = r.files.get(path);
    if (!f || this.faults.missing === path)
      return this.json(res, 404, { error: "Entry not found" }, { "X-Error-Code": "EntryNotFound" });
    const common = { "X-Repo-Commit": r.commit, ETag: `"${f.gitOid}"` };
    if (f.sha256) {
      res.writeHead(302, {
        ...common,
        Location: `/cdn/${f.sha256}?file=${encodeURIComponent(path)}`,
        "X-Linked-Etag": `"${f.sha256}"`,
        "X-Linked-Size": String(f.bytes.byteLength),
      });
      res.end();
      return;
    }
    if (req.method === "HEAD") {
      res.writeHead(200, {
        ...common,
        "Content-Length": String(f.bytes.byteLength),
        "Accept-Ranges": "bytes",
      });
      res.end();
      return;
    }
    await this.content(req, res, f, common);
  }

  /** The file's bytes (or the requested range), with the faults applied. */
  private async content(
    req: IncomingMessage,
    res: ServerResponse,
    f: StoredFile,
    headers: Record<string, string>,
  ): Promise<void> {
    const size = f.bytes.byteLength;
    let start = 0;
    let end = size;
    const range = req.headers.range;
    if (range) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!m || Number(m[1]) >= size) {
        res.writeHead(416, { "Content-Range": `bytes */${size}` });
        res.end();
        return;
      }
      start = Number(m[1]);
      end = m[2] ? Math.min(size, Number(m[2]) + 1) : size;
    }
    let bytes = f.bytes;
    const corrupt = this.faults.corrupt;
    if (corrupt?.path === f.path) {
      bytes = new Uint8Array(f.bytes);
      bytes[corrupt.at] = bytes[corrupt.at]! ^ 0xff;
    }
    res.writeHead(range ? 206 : 200, {
      ...headers,
      "Content-Type": "application/octet-stream",
      "Content-Length": String(end - start),
      "Accept-Ranges": "bytes",
      ...(range ? { "Content-Range": `bytes ${start}-${end - 1}/${size}` } : {}),
    });
    let stall = this.faults.stall?.path === f.path && end - start > 1 ? this.faults.stall.bytes : null;
    const throttle = end - start > 1 ? this.faults.throttle : undefined;
    const step = throttle?.chunk ?? 64 * 1024;
    for (let pos = start; pos < end; ) {
      if (pos === stall) {
        // Hold the connection open, as a stalled download does, until the test lets it go on.
        await this.gate.promise;
        if (res.destroyed) return;
        stall = null;
      }
      const drop = this.faults.drop?.path === f.path && end - start > 1 ? this.faults.drop.bytes : null;
      if (drop !== null && pos >= drop) {
        this.faults = { ...this.faults, drop: undefined };
        res.destroy();
        return;
      }
      let stop = Math.min(end, pos + step);
      if (stall !== null && pos < stall && stop > stall) stop = stall;
      if (drop !== null && pos < drop && stop > drop) stop = drop;
      if (!res.write(bytes.subarray(pos, stop))) await new Promise((r) => res.once("drain", r));
      pos = stop;
      if (throttle) await sleep(throttle.everyMs);
      if (res.destroyed) return;
    }
    res.end();
  }
}
