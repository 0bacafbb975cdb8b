// Mixtures: deterministic resolution, weights and caps, drops and exclusions, independence of sources, bad records.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Rng } from "../util/random.js";
import type { MixtureSpec } from "./mixture.js";
import { mixtureFingerprint, mixtureToJson, pick, readMixtureFile, resolveMixture } from "./mixture.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-mixture-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function source(name: string, n: number, withImages = false): string {
  const file = join(tmp, `${name}.jsonl`);
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      id: `${name}-${i}`,
      ...(withImages ? { image: i % 2 ? "textvqa/x.png" : "coco/y.png" } : {}),
      conversations: [
        { from: "human", value: withImages ? "<image>\nQ" : "Q" },
        { from: "gpt", value: `A${i}` },
      ],
    }),
  );
  writeFileSync(file, lines.join("\n"));
  return file;
}
source("a", 20);
source("b", 10);
source("c", 6, true);
for (const d of ["textvqa", "coco"]) {
  const { mkdirSync } = await import("node:fs");
  mkdirSync(join(tmp, "img", d), { recursive: true });
}
writeFileSync(join(tmp, "img", "textvqa", "x.png"), "");
writeFileSync(join(tmp, "img", "coco", "y.png"), "");

const resolve = (spec: MixtureSpec, seed = 1, skipBad = false) =>
  resolveMixture(spec, { dir: tmp, where: "test", seed, skipBad });
const ids = (m: ReturnType<typeof resolve>) => m.examples.map((e) => e.record.id);

describe("data mixtures", () => {
  test("the same spec and seed give the same examples; another seed other samples", () => {
    const spec: MixtureSpec = {
      sources: [
        { path: "a.jsonl", cap: 5 },
        { path: "b.jsonl", weight: 0.5 },
      ],
    };
    const m1 = resolve(spec);
    assert.deepEqual(ids(m1), ids(resolve(spec)));
    assert.equal(mixtureFingerprint(m1), mixtureFingerprint(resolve(spec)));
    assert.equal(m1.sources[0]!.indices.length, 5);
    assert.equal(m1.sources[1]!.indices.length, 5);
    assert.notDeepEqual(ids(m1), ids(resolve(spec, 2)));
    assert.notEqual(mixtureFingerprint(m1), mixtureFingerprint(resolve(spec, 2)));
    assert.equal(resolve({ ...spec, seed: 2 }).seed, 2, "the mixture's own seed wins over the recipe's");
    const json = mixtureToJson(m1) as { total: number; sources: Array<{ name: string; ids: string[] }> };
    assert.equal(json.total, 10);
    assert.deepEqual(
      json.sources.map((s) => s.name),
      ["a", "b"],
    );
    assert.deepEqual(json.sources[0]!.ids, ids(m1).slice(0, 5));
  });

  test("weights above 1 repeat records; a cap bounds them; changing one source leaves the other's picks", () => {
    const m = resolve({
      sources: [
        { path: "a.jsonl", weight: 2.5 },
        { path: "b.jsonl", cap: 3 },
      ],
    });
    assert.equal(m.sources[0]!.indices.length, 50);
    const counts = new Map<string, number>();
    for (const id of ids(m).slice(0, 50)) counts.set(id, (counts.get(id) ?? 0) + 1);
    assert.ok([...counts.values()].every((c) => c === 2 || c === 3));
    const m2 = resolve({
      sources: [
        { path: "a.jsonl", weight: 0.1 },
        { path: "b.jsonl", cap: 3 },
      ],
    });
    assert.deepEqual(ids(m2).slice(-3), ids(m).slice(-3));
  });

  test("drop a source, exclude ids (list and file) and image prefixes", () => {
    writeFileSync(join(tmp, "skip.txt"), "a-1\na-2\n\n");
    const m = resolve({
      images: "img",
      sources: [
        { path: "a.jsonl", exclude_ids: "skip.txt" },
        { path: "b.jsonl" },
        { name: "cc", path: "c.jsonl", exclude_image_prefix: ["textvqa/"] },
      ],
      drop: ["b"],
      exclude_ids: ["a-3"],
    });
    assert.deepEqual(m.dropped, ["b"]);
    assert.equal(m.sources.length, 2);
    assert.equal(m.sources[0]!.excluded, 3);
    assert.ok(!ids(m).some((i) => ["a-1", "a-2", "a-3"].includes(i) || i.startsWith("b-")));
    assert.deepEqual(
      ids(m).filter((i) => i.startsWith("c-")),
      ["c-0", "c-2", "c-4"],
    );
    assert.throws(() => resolve({ sources: [{ path: "a.jsonl" }], drop: ["zz"] }), /drop names "zz"/);
    assert.throws(() => resolve({ sources: [{ path: "a.jsonl", cap: -1 }] }), /"cap" must be an integer/);
    assert.throws(() => resolve({ sources: [{ path: "a.jsonl", wieght: 1 }] }), /unknown key "wieght"/);
  });

  test("bad records stop resolution with file:line, or are skipped and counted", () => {
    const file = join(tmp, "bad.jsonl");
    writeFileSync(
      file,
      `${JSON.stringify({
        id: "x",
        conversations: [
          { from: "human", value: "Q" },
          { from: "gpt", value: "A" },
        ],
      })}\n{oops\n`,
    );
    assert.throws(
      () => resolve({ sources: [{ path: "bad.jsonl" }] }),
      (e: Error) => {
        assert.match(e.message, /1 bad record/);
        assert.ok(e.message.includes(`${file}:2: malformed JSON`), e.message);
        assert.match(e.message, /--skip-bad/);
        return true;
      },
    );
    const m = resolve({ sources: [{ path: "bad.jsonl" }] }, 1, true);
    assert.equal(m.examples.length, 1);
    assert.equal(m.bad.length, 1);
  });

  test("YAML mixture files resolve their paths against their own folder", () => {
    writeFileSync(join(tmp, "mix.yaml"), "seed: 3\nsources:\n  - { path: a.jsonl, cap: 4 }\n");
    const { spec, dir } = readMixtureFile(join(tmp, "mix.yaml"));
    const m = resolveMixture(spec, { dir, where: "mix.yaml", seed: 0, skipBad: false });
    assert.equal(m.seed, 3);
    assert.equal(m.examples.length, 4);
  });

  test("pick: whole copies then a sample without replacement, ascending", () => {
    const seven = pick(3, 7, new Rng(1));
    assert.equal(seven.length, 7);
    for (const i of [0, 1, 2]) assert.ok([2, 3].includes(seven.filter((x) => x === i).length));
    const p = pick(100, 10, new Rng(1));
    assert.equal(new Set(p).size, 10);
    assert.deepEqual(
      p,
      [...p].sort((a, b) => a - b),
    );
  });
});
