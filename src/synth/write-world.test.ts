// A whole (tiny) world: the same options give the same bytes in every file; records point at images that
// exist; the manifest counts what was written; train, val and test images never share a scene.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, test } from "node:test";
import { Tokenizer } from "../io/tokenizer/tokenizer.js";
import { encodePng } from "./png.js";
import type { LlavaRecord } from "./records.js";
import { renderScene } from "./render.js";
import { makeScene } from "./world.js";
import { worldSceneOptions, writeWorld } from "./write-world.js";

const root = mkdtempSync(join(tmpdir(), "imp-world-"));
after(() => rmSync(root, { recursive: true, force: true }));
const opts = {
  train: 40,
  val: 12,
  evalVal: 12,
  test: 60,
  corpus: 40,
  vocabSize: 800,
  popeImages: 10,
  mcQuestions: 10,
};

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), createHash("sha256").update(readFileSync(p)).digest("hex"));
    }
  };
  walk(dir);
  return out;
}

test("the same options write the same bytes", () => {
  const a = writeWorld({ out: join(root, "a"), ...opts });
  const b = writeWorld({ out: join(root, "b"), ...opts });
  const strip = (m: typeof a) => ({ ...m, seconds: {} });
  assert.deepEqual(strip(a), strip(b));
  const fa = files(join(root, "a"));
  const fb = files(join(root, "b"));
  // world.json holds timings; everything else must match byte for byte.
  fa.delete("world.json");
  fb.delete("world.json");
  assert.deepEqual(fa, fb);
  assert.ok(fa.has("README.md") && fa.has("corpus.txt") && fa.has("tokenizer/tokenizer.json"));
});

test("records point at existing images; counts match; splits share no scene", async () => {
  const dir = join(root, "a");
  const m = JSON.parse(readFileSync(join(dir, "world.json"), "utf8"));
  for (const split of ["train", "val"]) {
    for (const [cat, n] of Object.entries(m.records[split] as Record<string, number>)) {
      const recs = JSON.parse(readFileSync(join(dir, split, `${cat}.json`), "utf8")) as LlavaRecord[];
      assert.equal(recs.length, n);
      for (const r of recs) assert.ok(statSync(join(dir, "images", r.image)).size > 100);
    }
  }
  const trainImgs = new Set(readdirSync(join(dir, "images", "train")));
  const valImgs = new Set(readdirSync(join(dir, "images", "val")));
  const testImgs = new Set(readdirSync(join(dir, "eval", "test", "vqav2", "test2015")));
  assert.equal(trainImgs.size, opts.train);
  for (const n of valImgs) assert.ok(!trainImgs.has(n));
  for (const n of testImgs) assert.ok(!trainImgs.has(n) && !valImgs.has(n));
  const tok = await Tokenizer.fromFolder(join(dir, "tokenizer"));
  assert.equal(tok.vocabSize, m.tokenizer.vocabSize);
  const corpus = readFileSync(join(dir, "corpus.txt"), "utf8");
  assert.equal(corpus.trim().split("\n\n").length, m.corpus.documents);
  assert.ok(!corpus.includes("\n\n\n"));
});

test("a conversation share outside 0–1 is refused, naming the option", () => {
  for (const bad of [-0.1, 1.5, Number.NaN])
    assert.throws(
      () => writeWorld({ ...opts, out: join(root, "bad"), convQuestionFirst: bad }),
      /convQuestionFirst must be a share between 0 and 1, got/,
    );
});

test("the shapes layout is written to world.json and read back; an unknown one is refused", () => {
  const dir = join(root, "grid");
  const m = writeWorld({ ...opts, train: 8, val: 2, evalVal: 0, test: 12, out: dir, layout: "grid" });
  assert.equal(m.options.layout, "grid");
  assert.deepEqual(worldSceneOptions(dir), { layout: "grid" });
  // A record's image is its scene drawn on the board.
  const rec = (JSON.parse(readFileSync(join(dir, "train", "caption.json"), "utf8")) as LlavaRecord[])[0]!;
  const seed = Number.parseInt(rec.id, 10);
  const png = readFileSync(join(dir, "images", rec.image));
  assert.deepEqual(png, Buffer.from(encodePng(renderScene(makeScene(seed, { layout: "grid" })))));
  assert.throws(
    () => writeWorld({ ...opts, out: join(root, "bad-layout"), layout: "board" as never }),
    /world: layout must be one of free, grid, mixed, got "board"/,
  );
  mkdirSync(join(root, "odd"), { recursive: true });
  writeFileSync(join(root, "odd", "world.json"), JSON.stringify({ options: { layout: "hex" } }));
  assert.throws(
    () => worldSceneOptions(join(root, "odd")),
    /odd\/world\.json: options\.layout must be one of free, grid, mixed, got "hex"/,
  );
  // A world from before the option: the free layout.
  writeFileSync(join(root, "odd", "world.json"), JSON.stringify({ options: {} }));
  assert.deepEqual(worldSceneOptions(join(root, "odd")), { layout: "free" });
  assert.throws(
    () => worldSceneOptions(join(root, "nowhere")),
    /nowhere\/world\.json: expected a world manifest/,
  );
});
