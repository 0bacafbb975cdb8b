/**
 * Does a model trained on the generated world use the image? For each record category of the world's validation
 * split, the loss on the assistant's answer tokens (the tokens training is scored on) with the record's own image
 * and with another record's image (record i gets record i + 17's), in the template training uses (stage 1's
 * "plain" for captions, the model's chat template for the rest). A model that reads its image has a clearly lower
 * loss with its own; equal losses mean the answers come from the text alone. Prints a markdown table
 * (docs/builtin-model.md quotes it).
 *
 *   node --import tsx scripts/image-use.ts [--model models/imp-tiny] [--world DIR] [--records 60]
 *                                          [--categories caption,vqa,…] [--threads N]
 * --world is train:tiny's work folder's world (default .cache/train-tiny/world).
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../src/backend/registry.js";
import { ProgressBar } from "../src/eval/progress.js";
import { imageSpecFor } from "../src/io/image/image-spec.js";
import { templateForModelType } from "../src/io/template/index.js";
import { Tokenizer } from "../src/io/tokenizer/index.js";
import { loadModel } from "../src/models/load.js";
import { RECORD_CATEGORIES } from "../src/synth/records.js";
import { tidy } from "../src/tensor/scope.js";
import { fromF32 } from "../src/tensor/tensor.js";
import { chooseTemplate, Encoder, type PreparedExample } from "../src/train/encode.js";
import { readRecords } from "../src/train/records.js";
import { helpFromHeader } from "./help.js";
import { MODEL_AND_WORLD } from "./tiny-paths.js";

helpFromHeader(import.meta.url);

const { values } = parseArgs({
  options: {
    ...MODEL_AND_WORLD,
    records: { type: "string", default: "60" },
    categories: { type: "string", default: RECORD_CATEGORIES.join(",") },
    threads: { type: "string" },
  },
});
const count = Number(values.records);
if (!Number.isInteger(count) || count < 2)
  throw new Error(`--records: expected an integer ≥ 2, got ${values.records}`);
const categories = values.categories.split(",").map((c) => c.trim());
for (const c of categories)
  if (!(RECORD_CATEGORIES as readonly string[]).includes(c))
    throw new Error(`--categories: unknown category ${c}; expected some of ${RECORD_CATEGORIES.join(", ")}`);
// Record i is paired with record i + SHIFT's image: never its own (SHIFT mod n ≠ 0 below).
const SHIFT = 17;

const backend = await createBackend("wasm", { threads: values.threads ? Number(values.threads) : undefined });
const { model, config, visionFolder } = await loadModel(values.model, { backend, dtype: "f32" });
const vision = config.vision;
if (!vision) throw new Error(`${values.model}: the model has no vision tower`);
const tokenizer = await Tokenizer.fromFolder(values.model);
const imageSpec = await imageSpecFor(model.config, values.model, visionFolder);
const chat = templateForModelType(config.modelType);
const shape = [3, vision.imageSize, vision.imageSize];

const rows: string[] = [];
const bar = new ProgressBar(categories.length * count, "image use");
for (const category of categories) {
  const file = join(values.world, "val", `${category}.json`);
  const { records, bad } = readRecords(file, join(values.world, "images"));
  if (bad.length > 0) throw new Error(`${file}: ${bad.length} bad record(s), the first: ${bad[0]!.reason}`);
  const encoder = new Encoder({
    tokenizer,
    template: chooseTemplate(category === "caption" ? "plain" : "model", chat),
    imageSpec,
    imageTokens: model.imageTokens,
    imagePlacement: config.imagePlacement,
    maxLength: config.maxLength,
  });
  const examples: PreparedExample[] = [];
  for (const r of records.slice(0, count)) examples.push(await encoder.encode(r));
  const n = examples.length;
  if (n < 2 || SHIFT % n === 0) throw new Error(`${file}: ${n} record(s), too few to pair with other images`);
  let own = 0;
  let other = 0;
  let tokens = 0;
  examples.forEach((e, i) => {
    const loss = (pixels: Float32Array) =>
      tidy(() => {
        const r = model.sequenceLoss(e.ids, e.labels, [fromF32(backend, pixels, shape)], 1, config.maxLength);
        return { sum: r.loss.toF32()[0]!, tokens: r.tokens };
      });
    const a = loss(e.pixels!);
    own += a.sum;
    tokens += a.tokens;
    other += loss(examples[(i + SHIFT) % n]!.pixels!).sum;
    bar.tick();
  });
  const o = own / tokens;
  const x = other / tokens;
  rows.push(`| ${category} | ${n} | ${tokens} | ${o.toFixed(3)} | ${x.toFixed(3)} | ${(x - o).toFixed(3)} |`);
}
bar.finish();
console.log(`Answer-token loss (nats per token) on the world's validation records, ${values.model}:

| category | records | answer tokens | own image | another image | what the image is worth |
| --- | ---: | ---: | ---: | ---: | ---: |
${rows.join("\n")}`);
