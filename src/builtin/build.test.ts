/**
 * The built-in model's whole path at a few steps per stage (SHORT_PLAN): world → tokenizer → SigLIP and LM
 * pretraining → stage 1 → the look warm-up → stage 2 → merge; the result is an Imp-v1.5 folder that the normal loader and the
 * pipeline read and that answers a question about one of the world's images.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { WasmBackend } from "../backend/wasm/backend.js";
import { Checkpoint } from "../io/safetensors/index.js";
import { ImpPipeline } from "../runtime/pipeline.js";
import { COLOR_NAMES } from "../synth/palette.js";
import { SHAPE_NAMES, SHAPE_PLURALS } from "../synth/shapes.js";
import { makeScene, splitSeeds } from "../synth/world.js";
import { testBackend } from "../testing/backends.js";
import { buildBuiltinModel, objectCentres } from "./build.js";
import { SHORT_PLAN } from "./plan.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-builtin-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("the built-in model's pipeline runs end to end and its output loads and answers", async () => {
  const backend = await testBackend("wasm");
  const out = join(tmp, "model");
  const lines: string[] = [];
  await buildBuiltinModel(SHORT_PLAN, { work: join(tmp, "work"), out, backend, log: (l) => lines.push(l) });
  for (const stage of [
    "SigLIP pretraining",
    "LM pretraining",
    "stage 1",
    "look-1:",
    "look-2:",
    "stage 2: the whole LLM",
    // Stage 2 trained every weight: its checkpoint is copied out, not merged.
    "copy →",
  ])
    assert.ok(
      lines.some((l) => l.includes(stage)),
      `log mentions ${stage}`,
    );
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"])
    assert.ok(existsSync(join(out, f)), f);
  // SHORT_PLAN's siglip.patchLoss is 1: every logged SigLIP step reports the patch-level loss too.
  const siglipSteps = lines.filter((l) => l.includes("siglip step"));
  assert.ok(siglipSteps.length > 0);
  for (const l of siglipSteps) assert.match(l, /patch loss \d+\.\d+, centres named \d+\.\d%/);
  // The first warm-up asks about lone shapes only.
  const lone = JSON.parse(readFileSync(join(tmp, "work", "look-1.json"), "utf8")) as Array<{ id: string }>;
  assert.ok(lone.length > 0);
  for (const r of lone)
    assert.equal(makeScene(Number.parseInt(r.id, 10), SHORT_PLAN.world).objects.length, 1, r.id);
  // The second: colour questions about shapes scenes (its scenes are "several") and as many colour-and-shape
  // counts (counts is 1) about scenes of several shapes, each record with the boxes of what it names
  // (imageTokenLoss is 1); it starts from the first's merged LLM and connector, and stage 2 from its.
  const look = JSON.parse(readFileSync(join(tmp, "work", "look-2.json"), "utf8")) as Array<{
    id: string;
    conversations: Array<{ value: string }>;
    named_boxes: number[][];
  }>;
  const colors = look.filter((r) => r.id.endsWith("-look"));
  const counts = look.filter((r) => r.id.endsWith("-look-count"));
  assert.ok(colors.length > 0);
  // As many counts as colour questions, or one per scene of several shapes when there are fewer.
  const several = splitSeeds("train", SHORT_PLAN.world.train)
    .map((seed) => makeScene(seed, SHORT_PLAN.world))
    .filter((x) => x.kind === "shapes" && x.objects.length > 1).length;
  assert.equal(counts.length, Math.min(colors.length, several));
  assert.equal(colors.length + counts.length, look.length);
  for (const r of colors) {
    assert.match(r.conversations[0]!.value, /^<image>\n.*colou?r.*\?\nAnswer the question/s);
    const scene = makeScene(Number.parseInt(r.id, 10), SHORT_PLAN.world);
    // maxObjects is 2: the easy start asks about scenes of one or two shapes.
    assert.ok(
      scene.objects.length >= 1 && scene.objects.length <= 2,
      `${r.id}: ${scene.objects.length} shapes`,
    );
    // One box: the named shape's, of the answered colour.
    assert.equal(r.named_boxes.length, 1);
    const [x0, , x1] = r.named_boxes[0]!;
    const named = scene.objects.filter((o) => Math.abs(o.x / scene.width - (x0! + x1!) / 2) < 1e-9);
    assert.ok(named.some((o) => o.color === r.conversations[1]!.value));
  }
  assert.ok(
    colors.some((r) => makeScene(Number.parseInt(r.id, 10), SHORT_PLAN.world).objects.length > 1),
    "some colour questions bind among several shapes",
  );
  for (const r of counts) {
    const m = /^<image>\nHow many (\w+) (\w+) are .*\?\nAnswer the question/s.exec(r.conversations[0]!.value);
    assert.ok(m, r.conversations[0]!.value);
    const objs = makeScene(Number.parseInt(r.id, 10), SHORT_PLAN.world).objects;
    assert.ok(objs.length > 1);
    const n = objs.filter((o) => o.color === m[1] && SHAPE_PLURALS[o.shape] === m[2]).length;
    assert.equal(r.conversations[1]!.value, String(n), r.conversations[0]!.value);
  }
  const config = (phase: string) =>
    JSON.parse(readFileSync(join(tmp, "work", phase, "train_config.json"), "utf8")) as Record<string, string>;
  for (const phase of ["look-1", "look-2"])
    assert.ok(existsSync(join(tmp, "work", `${phase}-model`, "model.safetensors")), phase);
  assert.equal(config("look-1").base, join(tmp, "work", "base"));
  assert.equal(config("look-1").connector_init, join(tmp, "work", "stage1"));
  assert.equal(config("look-2").base, join(tmp, "work", "look-1-model"));
  assert.equal(config("look-2").connector_init, join(tmp, "work", "look-1"));
  // look-2's escape check: each seed's try judged at step 1 against a bar none clears, the second seed tried, and
  // the lower term's try finished; it alone ran to the end, and the next phase starts from it.
  const tries = ["look-2", "look-2.try-2"].map((t) => join(tmp, "work", t));
  assert.equal(config("look-2.try-2").seed, SHORT_PLAN.seed + 1);
  const kept = tries.filter((t) => existsSync(join(t, "run.json")));
  assert.equal(kept.length, 1, "one try finished");
  const [run] = kept as [string];
  assert.ok(
    lines.some((l) => /try 2 of 2 \(seed \d+\): dense term .* not under 1e-9: no tries left/.test(l)),
  );
  assert.ok(lines.some((l) => /no try escaped; finishing try [12]/.test(l)));
  // The dense signal's head passes from phase to phase: the first starts from zeros, each later one from the one
  // before it.
  assert.equal(config("look-1").image_token_head_init, null);
  assert.equal(config("look-2").image_token_head_init, join(tmp, "work", "look-1"));
  assert.equal(config("stage2").image_token_head_init, run);
  // Rehearsal: stage 2's mix beside look-2's questions, and look-2's questions kept in stage 2's mix.
  const sources = (phase: string) =>
    readFileSync(join(tmp, "work", `${phase}.yaml`), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("  - "));
  assert.ok(
    sources("look-2").some((l) => /name: vqa, .*weight: 0\.5 }/.test(l)),
    sources("look-2").join("\n"),
  );
  assert.ok(
    sources("look-1").every((l) => l.includes("name: look")),
    sources("look-1").join("\n"),
  );
  assert.ok(
    sources("stage2").some((l) =>
      l.includes(`name: look, path: ${join(tmp, "work", "look-2.json")}, weight: 1 }`),
    ),
    sources("stage2").join("\n"),
  );
  // The second trains the whole LLM: its run wrote a full checkpoint, copied to where a merge would have put one.
  assert.equal(config("look-1").train, "lora");
  assert.equal(config("look-2").train, "full");
  assert.ok(existsSync(join(run, "model", "model.safetensors")));
  // A phase's schedule: the recipe's cosine unless the phase names one.
  assert.equal(config("look-1").schedule, "cosine");
  assert.equal(config("look-2").schedule, "constant");
  const s2 = config("stage2");
  // Stage 2 trains the whole LLM too: the model is its run's checkpoint, copied whole.
  assert.equal(s2.train, "full");
  assert.ok(!existsSync(join(tmp, "work", "stage2", "adapter_model.safetensors")));
  assert.equal(s2.base, join(tmp, "work", "look-2-model"));
  // Both phases train the dense image-token signal beside the answers.
  assert.equal(Number(s2.image_token_loss), SHORT_PLAN.stage2.imageTokenLoss);
  for (const phase of ["look-1", "look-2", "stage2"]) {
    const metrics = readFileSync(join(tmp, "work", phase, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n");
    for (const m of metrics) assert.ok(Number.isFinite(JSON.parse(m).image_token_loss), `${phase}: ${m}`);
  }
  assert.equal(s2.connector_init, run);
  const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(cfg.model_type, "imp_qwen2");
  assert.equal(cfg.mm_image_placement, "after_text");
  const ck = Checkpoint.open(out);
  assert.ok(ck.has("model.vision_tower.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight"));
  assert.ok(ck.has("model.mm_projector.2.weight"));
  assert.ok(!ck.names().some((n) => n.includes("lora_")), "LoRA merged away");
  ck.close();
  const imp = await ImpPipeline.load(out, { backend });
  const images = join(tmp, "work", "world", "images", "train");
  const image = join(images, readdirSync(images)[0]!);
  const r = await imp.generate({ image, prompt: "What color is the shape?", maxNewTokens: 4 });
  assert.match(imp.promptIds({ prompt: "What color is the shape?" }, true).text, /shape\?\n<image>/);
  assert.ok(r.tokens.length >= 1);
  assert.equal(r.stats.imageTokens, (SHORT_PLAN.model.imageSize / SHORT_PLAN.model.patch) ** 2);
  imp.model.dispose();
});

test("the pipeline gives the same bits at one thread as at three splitting every call (deterministic for a seed)", async () => {
  const sha = (dir: string) =>
    createHash("sha256")
      .update(readFileSync(join(dir, "model.safetensors")))
      .digest("hex");
  const built: string[] = [];
  // At these widths most calls would run on one thread anyway; splitAll makes every kernel divide its work.
  for (const [name, opts] of [
    ["1t", { threads: 1 }],
    ["3t", { threads: 3, splitAll: true }],
  ] as const) {
    const backend = await WasmBackend.create(opts);
    try {
      const out = join(tmp, `model-${name}`);
      await buildBuiltinModel(SHORT_PLAN, { work: join(tmp, `work-${name}`), out, backend, log: () => {} });
      built.push(sha(out));
    } finally {
      backend.dispose();
    }
  }
  assert.equal(built[0], built[1]);
  // The first test built the same plan on the suite's two-thread backend.
  assert.equal(built[0], sha(join(tmp, "model")));
});

test("--tower-from: the base takes a built model's vision tower instead of SigLIP pretraining", async () => {
  const backend = await testBackend("wasm");
  const donor = join(tmp, "model");
  const work = join(tmp, "work-tower");
  const lines: string[] = [];
  await buildBuiltinModel(
    {
      ...SHORT_PLAN,
      stage1: { ...SHORT_PLAN.stage1, steps: 1 },
      look: SHORT_PLAN.look.map((p) => ({ ...p, steps: 1 })),
    },
    { work, out: join(tmp, "model-tower"), backend, towerFrom: donor, log: (l) => lines.push(l) },
  );
  assert.ok(lines.some((l) => l.includes("the vision tower taken from")));
  assert.ok(!lines.some((l) => l.includes("siglip step")));
  const [a, b] = [Checkpoint.open(donor), Checkpoint.open(join(work, "base"))];
  const tower = a.names().filter((n) => n.startsWith("model.vision_tower."));
  assert.ok(tower.length > 10);
  for (const n of tower) assert.deepEqual(b.readBytes(n), a.readBytes(n), n);
  a.close();
  b.close();
});

test("a world left by an earlier run with other world settings is refused, not reused", async () => {
  const work = join(tmp, "other-world");
  mkdirSync(join(work, "world"), { recursive: true });
  writeFileSync(
    join(work, "world", "world.json"),
    JSON.stringify({ options: { ...SHORT_PLAN.world, convQuestionFirst: undefined, mc: 7 } }),
  );
  const backend = await testBackend("wasm");
  await assert.rejects(
    buildBuiltinModel(SHORT_PLAN, { work, out: join(tmp, "unused"), backend }),
    /world\.json: written with world\.mc = 7 but the plan has 6; remove that world folder or use another --work/,
  );
  writeFileSync(
    join(work, "world", "world.json"),
    JSON.stringify({ options: { ...SHORT_PLAN.world, convQuestionFirst: undefined } }),
  );
  await assert.rejects(
    buildBuiltinModel(SHORT_PLAN, { work, out: join(tmp, "unused"), backend }),
    /world\.convQuestionFirst = 0 but the plan has 0\.5/,
  );
  // A world from before the layout option was written with the free layout.
  writeFileSync(
    join(work, "world", "world.json"),
    JSON.stringify({ options: { ...SHORT_PLAN.world, layout: undefined } }),
  );
  await assert.rejects(
    buildBuiltinModel(SHORT_PLAN, { work, out: join(tmp, "unused"), backend }),
    /world\.layout = "free" but the plan has "grid"/,
  );
  assert.ok(!existsSync(join(work, "base")), "nothing built on the refused world");
});

test("objectCentres: the patch under each shape's centre and its colour-and-shape phrase", () => {
  const phrases = COLOR_NAMES.flatMap((c) => SHAPE_NAMES.map((s) => `${c} ${s}`));
  let checked = 0;
  for (const seed of splitSeeds("train", 200)) {
    const scene = makeScene(seed);
    const grid = 8;
    const centres = objectCentres(scene, grid, phrases);
    assert.equal(centres.length, scene.objects.length);
    scene.objects.forEach((o, i) => {
      const { patch, phrase } = centres[i]!;
      // The patch's pixel square (16 px at 128 px, 8 × 8) holds the centre.
      const [px, py] = [(patch % grid) * 16, Math.floor(patch / grid) * 16];
      assert.ok(
        o.x >= px && o.x < px + 16 && o.y >= py && o.y < py + 16,
        `${seed}: ${o.x},${o.y} in patch ${patch}`,
      );
      assert.equal(phrases[phrase], `${o.color} ${o.shape}`);
      checked++;
    });
  }
  assert.ok(checked > 200, `${checked} objects`);
  assert.throws(
    () =>
      objectCentres(makeScene(splitSeeds("train", 200).find((s) => makeScene(s).objects.length > 0)!), 8, []),
    /no phrase for/,
  );
});
