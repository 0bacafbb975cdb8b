/**
 * `imp serve` as a user runs it: the process prints its URL, answers, warns about a non-loopback bind
 * without a key, and exits cleanly on SIGTERM.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { repoRoot } from "../testing/fixtures.js";
import { rawGet } from "../testing/raw-http.js";
import { writeTinyModel } from "../testing/tiny-model.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-serve-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("imp serve --model DIR --port 0 --host 0.0.0.0: listens, warns, answers, stops on SIGTERM", async () => {
  const dir = writeTinyModel(join(tmp, "model"));
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(repoRoot, "src/cli/main.ts"),
      "serve",
      "--model",
      dir,
      "--port",
      "0",
      "--host",
      "0.0.0.0",
      "--backend",
      "js",
      "--model-name",
      "tiny",
      "--allow-host",
      "imp-box.lan",
      "--cors",
      "http://app.example:3000",
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, IMP_API_KEY: "" } },
  );
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        stdout += d;
        const m = /listening on http:\/\/[^:]+:(\d+)/.exec(stdout);
        if (m) resolve(`http://127.0.0.1:${m[1]}`);
      });
      void exited.then((code) => reject(new Error(`exited with ${code}: ${stderr}`)));
    });
    assert.match(stderr, /WARNING: listening on 0\.0\.0\.0 with no API key/);
    const health = (await (await fetch(`${url}/health`)).json()) as { status: string; model: string };
    assert.deepEqual([health.status, health.model], ["ok", "tiny"]);
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      // Greedy: with the server's default (temperature 1, a fresh random seed per request) the random-weight fixture
      // sometimes draws its stop token first, and the answer would be one token long.
      body: JSON.stringify({
        model: "tiny",
        max_tokens: 2,
        temperature: 0,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    assert.equal(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens, 2);
    // Bound to all interfaces: an IP or a --allow-host name is answered, another name (DNS rebinding) is not;
    // a --cors origin gets CORS headers, another site is refused.
    const port = Number(new URL(url).port);
    const get = (headers: Record<string, string>) => rawGet(port, "/v1/models", headers);
    assert.equal((await get({ host: `10.1.2.3:${port}` })).status, 200);
    assert.equal((await get({ host: `imp-box.lan:${port}` })).status, 200);
    assert.equal((await get({ host: `evil.example:${port}` })).status, 403);
    const cors = await get({ host: `127.0.0.1:${port}`, origin: "http://app.example:3000" });
    assert.equal(cors.status, 200);
    assert.equal(cors.headers["access-control-allow-origin"], "http://app.example:3000");
    assert.equal((await get({ host: `127.0.0.1:${port}`, origin: "http://evil.example" })).status, 403);
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal(await exited, 0, stderr);
});

test("imp serve --allow-local-images with a missing folder is refused at start", () => {
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      join(repoRoot, "src/cli/main.ts"),
      "serve",
      "--allow-local-images",
      join(tmp, "nope"),
    ],
    { encoding: "utf8", env: { ...process.env, IMP_API_KEY: "" }, timeout: 60_000 },
  );
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--allow-local-images .*nope: no such folder/);
  assert.doesNotMatch(r.stderr, /listening|loading/);
});
