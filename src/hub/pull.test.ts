/**
 * Pulling models from a local stand-in for the Hub (src/testing/hub-server.ts) through @huggingface/hub: what lands in
 * the cache and in which layout, what is never fetched, resuming, hash checks, locks, offline mode, a cache laid
 * out by Python, gated and missing repos, and refusing models imp-ts cannot run before their weights are fetched.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { checkHubConfig } from "../models/source.js";
import { fixtureRepo, folderRepo, withConfig } from "../testing/hub-repos.js";
import { gitBlobId, sha256, TestHub } from "../testing/hub-server.js";
import { writeImp196Checkpoint } from "../testing/imp-196-checkpoint.js";
import { RepoCache } from "./cache.js";
import { HubError } from "./errors.js";
import type { PullEvent } from "./events.js";
import type { PullOptions } from "./pull.js";
import { pullModel } from "./pull.js";

const phi2 = fixtureRepo("test-org/tiny-imp-phi2", "tiny-imp-phi2");
const phi3 = fixtureRepo("test-org/tiny-imp-phi3", "tiny-imp-phi3");
const gated = fixtureRepo("test-org/gated-phi2", "tiny-imp-phi2", { gated: true });
const llava = fixtureRepo("test-org/tiny-llava15", "tiny-llava15");
const textOnly = withConfig(phi2, "test-org/text-only-phi", {
  model_type: "phi",
  vision_tower_config: undefined,
  mm_vision_tower: undefined,
});
const clipRepo = {
  id: "test-org/tiny-clip",
  files: Object.fromEntries(
    Object.entries(llava.files)
      .filter(([p]) => p.startsWith("clip-vision/"))
      .map(([p, b]) => [p.slice("clip-vision/".length), b]),
  ),
};
const llavaOutside = (() => {
  const r = withConfig(llava, "test-org/tiny-llava15-hub-tower", { mm_vision_tower: "test-org/tiny-clip" });
  return {
    ...r,
    files: Object.fromEntries(Object.entries(r.files).filter(([p]) => !p.startsWith("clip-vision/"))),
  };
})();

let hub: TestHub;
let cacheDir: string;

function opts(extra: PullOptions = {}): PullOptions {
  return {
    ...extra,
    settings: { endpoint: hub.url, cacheDir, token: undefined, offline: false, ...extra.settings },
    checkConfig: extra.checkConfig ?? checkHubConfig,
  };
}

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

before(async () => {
  hub = await TestHub.start([phi2, phi3, gated, llava, textOnly, clipRepo, llavaOutside]);
});
after(async () => {
  await hub.close();
});
beforeEach(() => {
  cacheDir = mkdtempSync(join(tmpdir(), "imp-hub-cache-"));
  hub.requests.length = 0;
  hub.faults = {};
});

describe("a fresh pull", () => {
  test("fetches only what the model needs, in Python's cache layout", async () => {
    const events: PullEvent[] = [];
    const pulled = await pullModel(phi3.id, opts({ onEvent: (e) => events.push(e) }));
    const commit = hub.commitOf(phi3.id);
    const repoDir = join(cacheDir, "models--test-org--tiny-imp-phi3");
    assert.equal(pulled.commit, commit);
    assert.equal(pulled.folder, join(repoDir, "snapshots", commit));
    assert.equal(readFileSync(join(repoDir, "refs", "main"), "utf8"), commit);
    const expected = [
      "config.json",
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      "model.safetensors.index.json",
      "tokenizer.json",
      "tokenizer_config.json",
    ];
    assert.deepEqual(readdirSync(pulled.folder).sort(), expected);
    for (const name of expected) {
      const pointer = join(pulled.folder, name);
      const bytes = phi3.files[name]!;
      const etag = name.endsWith(".safetensors") ? sha256(bytes) : gitBlobId(bytes);
      assert.ok(lstatSync(pointer).isSymbolicLink(), `${name} is a link`);
      assert.equal(readlinkSync(pointer), `../../blobs/${etag}`);
      assert.deepEqual(new Uint8Array(readFileSync(pointer)), bytes);
    }
    // golden.safetensors, pytorch_model.bin and README.md stay on the Hub.
    assert.equal(hub.contentRequests("golden.safetensors").length, 0);
    assert.equal(hub.contentRequests("pytorch_model.bin").length, 0);
    assert.equal(hub.contentRequests("README.md").length, 0);
    assert.ok(!readdirSync(join(repoDir, "blobs")).some((f) => f.endsWith(".incomplete")));
    const total = expected.reduce((s, f) => s + phi3.files[f]!.byteLength, 0);
    assert.equal(pulled.downloadedBytes, total);
    const done = events.filter((e) => e.type === "done").map((e) => (e as { path: string }).path);
    assert.deepEqual(done.sort(), expected);
    // config.json is fetched and judged before any weights are planned.
    const firstPlan = events.find((e) => e.type === "plan") as Extract<PullEvent, { type: "plan" }>;
    assert.deepEqual(
      firstPlan.files.map((f) => f.path),
      ["config.json"],
    );
  });

  test("a second pull finds everything in the cache and fetches nothing", async () => {
    await pullModel(phi2.id, opts());
    hub.requests.length = 0;
    const again = await pullModel(phi2.id, opts());
    assert.equal(again.downloadedBytes, 0);
    assert.equal(hub.contentRequests().length, 0);
    assert.deepEqual(
      hub.requests.map((r) => r.url.split("?")[0]),
      ["/api/models/test-org/tiny-imp-phi2/revision/main"],
    );
  });

  test("a pinned --revision (the commit) gives the same snapshot and writes no ref for it", async () => {
    const commit = hub.commitOf(phi2.id);
    const pulled = await pullModel(phi2.id, opts({ revision: commit }));
    assert.equal(pulled.commit, commit);
    assert.ok(!existsSync(join(cacheDir, "models--test-org--tiny-imp-phi2", "refs", commit)));
    await assert.rejects(
      pullModel(phi2.id, opts({ revision: "no-such-branch" })),
      /no-such-branch.*not found/,
    );
  });
});

describe("interrupted and damaged downloads", () => {
  test("a partial .incomplete file is resumed with a range request", async () => {
    const name = "model.safetensors";
    const bytes = phi2.files[name]!;
    const cache = new RepoCache(cacheDir, phi2.id);
    const partial = cache.incompletePath(sha256(bytes));
    mkdirSync(dirname(partial), { recursive: true });
    const cut = 100_003;
    writeFileSync(partial, bytes.subarray(0, cut));
    const events: PullEvent[] = [];
    const pulled = await pullModel(phi2.id, opts({ onEvent: (e) => events.push(e) }));
    const ranges = hub.contentRequests(name).map((r) => r.range);
    assert.deepEqual(ranges, [`bytes=${cut}-${bytes.byteLength - 1}`]);
    const start = events.find((e) => e.type === "start" && e.path === name) as { resumedFrom: number };
    assert.equal(start.resumedFrom, cut);
    assert.equal(sha256File(join(pulled.folder, name)), sha256(bytes));
    assert.ok(!existsSync(partial));
  });

  test("a connection cut mid-file is resumed within the same pull", async () => {
    const name = "model.safetensors";
    const bytes = phi2.files[name]!;
    hub.faults = { drop: { path: name, bytes: 200_000 } };
    const notices: string[] = [];
    const pulled = await pullModel(
      phi2.id,
      opts({ onEvent: (e) => e.type === "notice" && notices.push(e.message) }),
    );
    assert.equal(sha256File(join(pulled.folder, name)), sha256(bytes));
    const ranges = hub.contentRequests(name).map((r) => r.range);
    assert.equal(ranges.length, 2);
    assert.equal(ranges[0], null);
    assert.match(ranges[1]!, new RegExp(`^bytes=\\d+-${bytes.byteLength - 1}$`));
    assert.ok(Number(/=(\d+)-/.exec(ranges[1]!)![1]) >= 65536, "not from the start");
    assert.match(
      notices.join("\n"),
      /model\.safetensors: the download broke off after \d+ of \d+ bytes .*; resuming/,
    );
  });

  test("a corrupted byte fails the SHA-256 check: nothing is kept as complete, and the next pull repairs it", async () => {
    const name = "model.safetensors";
    hub.faults = { corrupt: { path: name, at: 12345 } };
    await assert.rejects(pullModel(phi2.id, opts()), (e: Error) => {
      assert.ok(e instanceof HubError);
      assert.match(e.message, /model\.safetensors: the downloaded bytes do not match the Hub's SHA-256/);
      return true;
    });
    const cache = new RepoCache(cacheDir, phi2.id);
    const etag = sha256(phi2.files[name]!);
    assert.ok(!existsSync(cache.blobPath(etag)));
    assert.ok(!existsSync(cache.incompletePath(etag)));
    assert.ok(!existsSync(cache.pointerPath(hub.commitOf(phi2.id), name)));
    hub.faults = {};
    const pulled = await pullModel(phi2.id, opts());
    assert.equal(sha256File(join(pulled.folder, name)), etag);
  });

  test("a file the Hub lists but answers 404 for: an error naming it, and no file left as complete", async () => {
    hub.faults = { missing: "model.safetensors" };
    await assert.rejects(
      pullModel(phi2.id, opts()),
      /test-org\/tiny-imp-phi2: model\.safetensors: not found/,
    );
    const cache = new RepoCache(cacheDir, phi2.id);
    assert.ok(!existsSync(cache.pointerPath(hub.commitOf(phi2.id), "model.safetensors")));
    assert.ok(!existsSync(cache.blobPath(sha256(phi2.files["model.safetensors"]!))));
  });

  test("a full disk: an error naming the file and the cache, and no blob", {
    skip: !existsSync("/dev/full"),
  }, async () => {
    const name = "model.safetensors";
    const cache = new RepoCache(cacheDir, phi2.id);
    const etag = sha256(phi2.files[name]!);
    mkdirSync(dirname(cache.incompletePath(etag)), { recursive: true });
    // Writes to /dev/full fail with ENOSPC, as writes to a full file system do.
    symlinkSync("/dev/full", cache.incompletePath(etag));
    await assert.rejects(pullModel(phi2.id, opts()), (e: Error) => {
      assert.match(e.message, /tiny-imp-phi2: model\.safetensors: no space left on the device of /);
      assert.ok(e.message.includes(cacheDir));
      return true;
    });
    assert.ok(!existsSync(cache.blobPath(etag)));
    assert.ok(!existsSync(cache.pointerPath(hub.commitOf(phi2.id), name)));
  });

  test("a lock left by a killed process is taken over once stale", async () => {
    const name = "model.safetensors";
    const cache = new RepoCache(cacheDir, phi2.id);
    const lock = cache.lockPath(sha256(phi2.files[name]!));
    mkdirSync(lock, { recursive: true });
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const pulled = await pullModel(phi2.id, opts({ lockStaleMs: 10_000 }));
    assert.ok(existsSync(join(pulled.folder, name)));
    assert.ok(!existsSync(lock));
  });

  test("two pulls of one model in one process: each file is fetched once", async () => {
    hub.faults = { throttle: { chunk: 64 * 1024, everyMs: 5 } };
    const [a, b] = await Promise.all([pullModel(phi2.id, opts()), pullModel(phi2.id, opts())]);
    assert.equal(a.folder, b.folder);
    assert.equal(hub.contentRequests("model.safetensors").length, 1);
    assert.equal(
      a.downloadedBytes + b.downloadedBytes,
      ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"].reduce(
        (s, f) => s + phi2.files[f]!.byteLength,
        0,
      ),
    );
  });
});

describe("the cache shared with Python", () => {
  /** Lays a repo out as huggingface_hub's snapshot_download does (blobs by ETag, relative links, refs/main). */
  function writePythonCache(repo: typeof phi2, commit: string, names: string[]): string {
    const root = join(cacheDir, `models--${repo.id.replace("/", "--")}`);
    mkdirSync(join(root, "refs"), { recursive: true });
    writeFileSync(join(root, "refs", "main"), commit);
    for (const name of names) {
      const bytes = repo.files[name]!;
      const etag = name.endsWith(".safetensors") ? sha256(bytes) : gitBlobId(bytes);
      mkdirSync(join(root, "blobs"), { recursive: true });
      writeFileSync(join(root, "blobs", etag), bytes);
      const pointer = join(root, "snapshots", commit, name);
      mkdirSync(dirname(pointer), { recursive: true });
      symlinkSync(join("..", "..", "blobs", etag), pointer);
    }
    return join(root, "snapshots", commit);
  }

  test("a model Python downloaded is used online without fetching a byte", async () => {
    const commit = hub.commitOf(phi2.id);
    const folder = writePythonCache(phi2, commit, ["config.json", "model.safetensors", "tokenizer.json"]);
    const pulled = await pullModel(phi2.id, opts());
    assert.equal(pulled.folder, folder);
    assert.deepEqual(hub.contentRequests("model.safetensors"), []);
    assert.deepEqual(hub.contentRequests("config.json"), []);
    // tokenizer_config.json was not in Python's download: it alone is fetched.
    assert.equal(pulled.downloadedBytes, phi2.files["tokenizer_config.json"]!.byteLength);
  });

  test("a blob Python has under another commit is linked, not downloaded", async () => {
    const other = "0123456789abcdef0123456789abcdef01234567";
    writePythonCache(phi2, other, ["model.safetensors"]);
    rmSync(join(cacheDir, "models--test-org--tiny-imp-phi2", "refs"), { recursive: true });
    await pullModel(phi2.id, opts());
    assert.deepEqual(hub.contentRequests("model.safetensors"), []);
  });

  test("offline (HF_HUB_OFFLINE): the cached model with no request at all; an uncached one is a clear error", async () => {
    const commit = hub.commitOf(phi2.id);
    const folder = writePythonCache(phi2, commit, ["config.json", "model.safetensors"]);
    const offline = opts({ settings: { offline: true } });
    const pulled = await pullModel(phi2.id, offline);
    assert.equal(pulled.folder, folder);
    assert.ok(pulled.fromCache);
    assert.equal(hub.requests.length, 0);
    await assert.rejects(pullModel(phi3.id, offline), (e: Error) => {
      assert.match(
        e.message,
        /test-org\/tiny-imp-phi3 \(main\) is not in the Hub cache at .* and HF_HUB_OFFLINE is set/,
      );
      assert.match(e.message, /imp pull test-org\/tiny-imp-phi3/);
      return true;
    });
    // A snapshot missing a shard is named as such.
    writePythonCache(phi3, hub.commitOf(phi3.id), [
      "config.json",
      "model.safetensors.index.json",
      "model-00001-of-00002.safetensors",
    ]);
    await assert.rejects(
      pullModel(phi3.id, offline),
      /only partly in the Hub cache .*missing model-00002-of-00002\.safetensors/,
    );
    assert.equal(hub.requests.length, 0);
  });

  test("an unreachable Hub falls back to the cached model, with a notice", async () => {
    const commit = hub.commitOf(phi2.id);
    writePythonCache(phi2, commit, ["config.json", "model.safetensors"]);
    const notices: string[] = [];
    const pulled = await pullModel(
      phi2.id,
      opts({
        settings: { endpoint: "http://127.0.0.1:9" },
        onEvent: (e) => e.type === "notice" && notices.push(e.message),
      }),
    );
    assert.ok(pulled.fromCache);
    assert.match(notices.join("\n"), /cannot reach the Hub/);
    await assert.rejects(
      pullModel(phi3.id, opts({ settings: { endpoint: "http://127.0.0.1:9" } })),
      /cannot reach the Hub/,
    );
  });
});

describe("access and refusals", () => {
  test("a gated model: 401 without a token names HF_TOKEN; with the token it downloads", async () => {
    await assert.rejects(pullModel(gated.id, opts()), (e: Error) => {
      assert.match(e.message, /gated-phi2: config\.json: test-org\/gated-phi2 is a gated model.*HF_TOKEN/);
      return true;
    });
    assert.ok(
      !existsSync(join(cacheDir, "models--test-org--gated-phi2", "blobs")) ||
        readdirSync(join(cacheDir, "models--test-org--gated-phi2", "blobs")).length === 0,
    );
    const pulled = await pullModel(gated.id, opts({ settings: { token: hub.token } }));
    assert.ok(existsSync(join(pulled.folder, "model.safetensors")));
    assert.ok(
      hub.requests
        .filter((r) => r.url.includes("/resolve/"))
        .every((r) => r.auth === null || r.auth === `Bearer ${hub.token}`),
    );
  });

  test("an unknown repo is a 404 naming it", async () => {
    await assert.rejects(
      pullModel("test-org/no-such-model", opts()),
      /test-org\/no-such-model: not found on the Hub \(HTTP 404\)/,
    );
  });

  test("a text-only LLM is refused after config.json, before any weights", async () => {
    await assert.rejects(pullModel(textOnly.id, opts()), (e: Error) => {
      assert.match(e.message, /not a model imp-ts can run/);
      assert.match(e.message, /text-only-phi\/config\.json: model_type "phi" is not supported/);
      return true;
    });
    assert.deepEqual(hub.contentRequests("model.safetensors"), []);
    assert.deepEqual(hub.contentRequests("tokenizer.json"), []);
  });

  test("an Imp config without a vision tower is refused as text-only", async () => {
    const noTower = withConfig(phi2, "test-org/imp-no-tower", {
      vision_tower_config: undefined,
      mm_vision_tower: undefined,
    });
    hub.add(noTower);
    await assert.rejects(pullModel(noTower.id, opts()), /no vision tower.*text-only model/);
    assert.deepEqual(hub.contentRequests("model.safetensors"), []);
  });
});

describe("vision towers the config names", () => {
  test("LLaVA's tower folder inside the repo comes along", async () => {
    const pulled = await pullModel(llava.id, opts());
    for (const f of [
      "clip-vision/config.json",
      "clip-vision/model.safetensors",
      "clip-vision/preprocessor_config.json",
    ])
      assert.deepEqual(new Uint8Array(readFileSync(join(pulled.folder, f))), llava.files[f], f);
    assert.equal(
      readlinkSync(join(pulled.folder, "clip-vision/model.safetensors")).split("/").slice(0, 3).join("/"),
      "../../../blobs".split("/").slice(0, 3).join("/"),
    );
    assert.equal(pulled.visionFolder, null);
  });

  test("Imp-v1.5-3B-196's layout: the shards, index and its SigLIP folder's configs, not the folder's weights", async () => {
    const dir = mkdtempSync(join(tmpdir(), "imp-hub-196-"));
    try {
      const w = writeImp196Checkpoint(dir, { tokenizer: true });
      const repo = folderRepo("test-org/Imp-tiny-196", dir);
      // A full SigLIP beside its config: the main shards already hold the tower, so it stays on the Hub.
      repo.files[`${w.towerDir}/model.safetensors`] = new Uint8Array(8192).fill(3);
      repo.files[`${w.towerDir}/README.md`] = new TextEncoder().encode("# tower\n");
      hub.add(repo);
      const events: PullEvent[] = [];
      const pulled = await pullModel(repo.id, opts({ onEvent: (e) => events.push(e) }));
      const shards = Array.from({ length: 7 }, (_, i) => `model-0000${i + 1}-of-00007.safetensors`);
      const fetched = [
        "config.json",
        "model.safetensors.index.json",
        ...shards,
        "tokenizer.json",
        "tokenizer_config.json",
        `${w.towerDir}/config.json`,
        `${w.towerDir}/preprocessor_config.json`,
      ];
      const done = events.filter((e) => e.type === "done").map((e) => (e as { path: string }).path);
      assert.deepEqual(done.sort(), [...fetched].sort());
      for (const f of fetched)
        assert.deepEqual(new Uint8Array(readFileSync(join(pulled.folder, f))), repo.files[f], f);
      assert.deepEqual(hub.contentRequests(`${w.towerDir}/model.safetensors`), []);
      assert.deepEqual(hub.contentRequests("pytorch_model.bin"), []);
      // The tower's config is judged with config.json, before the weights are planned.
      const plans = events.filter((e) => e.type === "plan") as Array<Extract<PullEvent, { type: "plan" }>>;
      assert.deepEqual(
        plans.slice(0, 2).map((p) => p.files.map((f) => f.path)),
        [["config.json"], [`${w.towerDir}/config.json`]],
      );
      assert.equal(pulled.visionFolder, null);
      // Offline, the snapshot is complete as it is.
      hub.requests.length = 0;
      const offline = await pullModel(repo.id, opts({ settings: { offline: true } }));
      assert.equal(offline.folder, pulled.folder);
      assert.equal(hub.requests.length, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an Imp config whose only tower description is a broken folder config is refused before the weights", async () => {
    const dir = mkdtempSync(join(tmpdir(), "imp-hub-196-"));
    try {
      const w = writeImp196Checkpoint(dir, { embedded: "none", shards: 2 });
      const repo = folderRepo("test-org/Imp-tiny-196-broken", dir);
      const tower = JSON.parse(new TextDecoder().decode(repo.files[`${w.towerDir}/config.json`])) as Record<
        string,
        unknown
      >;
      delete tower.patch_size;
      repo.files[`${w.towerDir}/config.json`] = new TextEncoder().encode(JSON.stringify(tower));
      hub.add(repo);
      await assert.rejects(
        pullModel(repo.id, opts()),
        /not a model imp-ts can run.*Imp-tiny-196-broken\/siglip-tiny-patch14-42\/config\.json: missing "patch_size"/,
      );
      assert.deepEqual(hub.contentRequests("model.safetensors.index.json"), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a LLaVA tower in another Hub repo is pulled too and returned as the vision folder", async () => {
    const pulled = await pullModel(llavaOutside.id, opts());
    assert.ok(pulled.visionFolder);
    assert.ok(pulled.visionFolder.includes("models--test-org--tiny-clip"));
    for (const f of ["config.json", "model.safetensors", "preprocessor_config.json"])
      assert.deepEqual(new Uint8Array(readFileSync(join(pulled.visionFolder, f))), clipRepo.files[f], f);
    // Offline, both come from the cache.
    hub.requests.length = 0;
    const offline = await pullModel(llavaOutside.id, opts({ settings: { offline: true } }));
    assert.equal(offline.visionFolder, pulled.visionFolder);
    assert.equal(hub.requests.length, 0);
  });
});
