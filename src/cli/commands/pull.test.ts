/**
 * `imp pull` and Hub ids in --model, as a user runs them (the CLI in a child process) against a local stand-in for
 * the Hub: a fresh pull with plain progress lines, `imp run` on a Hub id (online, then offline from the cache), a
 * pull killed mid-file and resumed, and two pulls of one model at once.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { RepoCache } from "../../hub/cache.js";
import type { CliResult } from "../../testing/cli.js";
import { runCli } from "../../testing/cli.js";
import { repoRoot } from "../../testing/fixtures.js";
import { fixtureRepo } from "../../testing/hub-repos.js";
import { sha256, TestHub } from "../../testing/hub-server.js";

const phi2 = fixtureRepo("test-org/tiny-imp-phi2", "tiny-imp-phi2");
const qwen2 = fixtureRepo("test-org/tiny-imp-qwen2", "tiny-imp-qwen2");
const image = join(repoRoot, "examples/shapes.png");

let hub: TestHub;
before(async () => {
  hub = await TestHub.start([phi2, qwen2]);
});
after(async () => {
  await hub.close();
});

function env(cacheDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cacheDir, HF_TOKEN: "", HF_HUB_OFFLINE: "", ...extra };
}

function freshCache(): string {
  return mkdtempSync(join(tmpdir(), "imp-pull-cli-"));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The CLI in a child process whose stderr can be read while it runs. */
function spawnCli(args: string[], extraEnv: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "src/cli/main.ts"), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<CliResult>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done, stderr: () => stderr };
}

describe("imp pull", () => {
  test("downloads the model, prints its snapshot folder, and says when it is already cached", async () => {
    const cache = freshCache();
    const r = await runCli(["pull", phi2.id], { env: env(cache) });
    assert.equal(r.code, 0, r.stderr);
    const folder = r.stdout.trim();
    assert.equal(folder, join(cache, "models--test-org--tiny-imp-phi2", "snapshots", hub.commitOf(phi2.id)));
    assert.ok(existsSync(join(folder, "model.safetensors")));
    // Not a terminal: plain lines, one per file with its size, and the total.
    assert.match(r.stderr, /^test-org\/tiny-imp-phi2: downloading 1 file, 711 kB$/m);
    assert.match(r.stderr, /^test-org\/tiny-imp-phi2: downloading 2 files, 3\.1 kB$/m);
    assert.match(r.stderr, /^model\.safetensors {2}711 kB in \d+(\.\d)?s \(\d+(\.\d)? [kMG]B\/s\)$/m);
    assert.match(r.stderr, /^total 100% /m);
    assert.match(r.stderr, /downloaded \d+ kB/);
    assert.ok(!r.stderr.includes("\u001b["), "no terminal escapes in plain output");
    const again = await runCli(["pull", phi2.id, "--json"], { env: env(cache) });
    assert.equal(again.code, 0, again.stderr);
    const j = JSON.parse(again.stdout) as Record<string, unknown>;
    assert.equal(j.folder, folder);
    assert.equal(j.downloadedBytes, 0);
    assert.equal(j.commit, hub.commitOf(phi2.id));
  });

  test("an unknown repo is a clear error", async () => {
    const cache = freshCache();
    const missing = await runCli(["pull", "test-org/nothing-here"], { env: env(cache) });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /imp: test-org\/nothing-here: not found on the Hub \(HTTP 404\)/);
  });

  test("--help names the cache, the token and offline mode", async () => {
    const r = await runCli(["pull", "--help"]);
    assert.equal(r.code, 0);
    for (const s of ["HF_HUB_CACHE", "HF_TOKEN", "HF_HUB_OFFLINE", "--revision"])
      assert.ok(r.stdout.includes(s), s);
  });
});

describe("--model ORG/NAME", () => {
  test("imp run pulls the model and answers as from its folder; offline it runs from the cache", async () => {
    const cache = freshCache();
    const args = ["--max-tokens", "6", "--backend", "js", "--image", image, "What is in the picture?"];
    const viaHub = await runCli(["run", "--model", phi2.id, ...args], { env: env(cache) });
    assert.equal(viaHub.code, 0, viaHub.stderr);
    const folder = join(cache, "models--test-org--tiny-imp-phi2", "snapshots", hub.commitOf(phi2.id));
    const viaFolder = await runCli(["run", "--model", folder, ...args], { env: env(cache) });
    assert.equal(viaFolder.code, 0, viaFolder.stderr);
    assert.ok(viaHub.stdout.length > 0);
    assert.equal(viaHub.stdout, viaFolder.stdout);
    const offline = await runCli(["run", "--model", phi2.id, ...args], {
      env: env(cache, { HF_HUB_OFFLINE: "1", HF_ENDPOINT: "http://127.0.0.1:9" }),
    });
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(offline.stdout, viaFolder.stdout);
  });
});

describe("--model ORG/NAME in the other commands", () => {
  test("imp quantize writes a q8 copy of a Hub model that imp run loads", async () => {
    const cache = freshCache();
    const out = join(cache, "q8");
    const q = await runCli(["quantize", "--model", qwen2.id, "--bits", "8", "--out", out], {
      env: env(cache),
    });
    assert.equal(q.code, 0, q.stderr);
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as {
      quantization_config?: { bits?: number };
    };
    assert.equal(config.quantization_config?.bits, 8);
    assert.ok(
      existsSync(
        join(
          cache,
          "models--test-org--tiny-imp-qwen2",
          "snapshots",
          hub.commitOf(qwen2.id),
          "model.safetensors",
        ),
      ),
    );
  });

  test("--revision with a local folder is a usage error", async () => {
    const { resolveModelOption } = await import("../common.js");
    await assert.rejects(
      resolveModelOption({ model: join(repoRoot, "models", "imp-tiny"), revision: "main" }),
      /--revision applies to a Hub id; .*imp-tiny is a local folder/,
    );
  });
});

describe("interruptions and concurrency", () => {
  test("a pull killed mid-file resumes where it stopped", async () => {
    const cache = freshCache();
    const name = "model.safetensors";
    const bytes = phi2.files[name]!;
    const cut = 300_000;
    hub.faults = { stall: { path: name, bytes: cut } };
    const partial = new RepoCache(cache, phi2.id).incompletePath(sha256(bytes));
    const { child, done } = spawnCli(["pull", phi2.id], env(cache));
    const t0 = Date.now();
    while (!(existsSync(partial) && statSync(partial).size >= cut)) {
      assert.ok(Date.now() - t0 < 60_000, "the download never reached the stall point");
      await sleep(50);
    }
    child.kill("SIGKILL");
    await done;
    assert.equal(statSync(partial).size, cut);
    hub.release();
    hub.requests.length = 0;
    // The killed process left its lock behind: the new one waits until it is stale, then takes over.
    const r = await runCli(["pull", phi2.id], { env: env(cache) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /model\.safetensors: resuming at 300 kB of/);
    assert.deepEqual(
      hub.contentRequests(name).map((q) => q.range),
      [`bytes=${cut}-${bytes.byteLength - 1}`],
    );
    const blob = readFileSync(join(r.stdout.trim(), name));
    assert.equal(createHash("sha256").update(blob).digest("hex"), sha256(bytes));
    assert.ok(!existsSync(partial));
  });

  test("two processes pulling one model: both succeed, each file is downloaded once", async () => {
    const cache = freshCache();
    const name = "model.safetensors";
    const cut = 100_000;
    hub.faults = { stall: { path: name, bytes: cut } };
    hub.requests.length = 0;
    const partial = new RepoCache(cache, qwen2.id).incompletePath(sha256(qwen2.files[name]!));
    const a = spawnCli(["pull", qwen2.id], env(cache));
    const b = spawnCli(["pull", qwen2.id], env(cache));
    // Hold the first download mid-file until the other process is seen waiting for it.
    const t0 = Date.now();
    while (
      !(
        existsSync(partial) &&
        statSync(partial).size >= cut &&
        /model\.safetensors: another process is downloading/.test(a.stderr() + b.stderr())
      )
    ) {
      assert.ok(Date.now() - t0 < 60_000, `no overlap seen:\n${a.stderr()}\n${b.stderr()}`);
      await sleep(50);
    }
    hub.release();
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(ra.stdout, rb.stdout);
    assert.equal(hub.contentRequests(name).length, 1);
    assert.match(ra.stderr + rb.stderr, /model\.safetensors: another process is downloading it; waiting/);
    const folder = ra.stdout.trim();
    for (const f of ["config.json", name, "tokenizer.json", "tokenizer_config.json"])
      assert.deepEqual(new Uint8Array(readFileSync(join(folder, f))), qwen2.files[f], f);
  });
});
