#!/usr/bin/env node
// Runs the whole test suite: every `*.test.ts` under src/ and test/, through Node's test runner with tsx.
// Builds the WebAssembly kernels first when they are missing or older than their sources, then the in-tab engine's
// bundle (build/web/, which holds most of src/) when it is missing or older than src/ or the kernels.
// Usage: node scripts/test.mjs [path-substring ...]   (only test files whose path contains one of them)
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function newest(dir) {
  let t = 0;
  for (const f of walk(dir)) t = Math.max(t, statSync(f).mtimeMs);
  return t;
}

function wasmStale() {
  try {
    const built = Math.min(
      ...readdirSync(join(root, "build"))
        .filter((f) => f.endsWith(".wasm"))
        .map((f) => statSync(join(root, "build", f)).mtimeMs),
    );
    return !Number.isFinite(built) || built < newest(join(root, "assembly"));
  } catch {
    return true;
  }
}

if (wasmStale()) {
  const r = spawnSync(process.execPath, [join(root, "scripts/build-wasm.mjs")], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function webStale() {
  try {
    const built = statSync(join(root, "build", "web", "engine-worker.js")).mtimeMs;
    return built < Math.max(newest(join(root, "src")), newest(join(root, "assembly")));
  } catch {
    return true;
  }
}

if (webStale()) {
  const r = spawnSync(process.execPath, [join(root, "scripts/build-web.mjs")], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const filters = process.argv.slice(2);
const files = ["src", "test"]
  .flatMap((d) => {
    try {
      return walk(join(root, d));
    } catch {
      return [];
    }
  })
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}

const r = spawnSync(
  process.execPath,
  [
    "--import",
    "tsx",
    "--enable-source-maps",
    "--test",
    "--test-concurrency=2",
    "--test-reporter=spec",
    ...files,
  ],
  { stdio: "inherit", cwd: root, env: { ...process.env, IMP_TEST: "1" } },
);
process.exit(r.status ?? 1);
