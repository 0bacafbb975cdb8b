/**
 * Generates the built-in model's world (npm run world): images, LLaVA-format train/val data per category, the
 * evaluation sets in official formats, the text corpus and the tokenizer (src/synth/write-world.ts).
 *
 *   npm run world -- --out /tmp/imp-world [--train 20000] [--val 500] [--eval-val 300] [--test 1000]
 *                    [--corpus 10000] [--vocab 2048] [--pope-images 200] [--mc 300] [--layout free|grid|mixed]
 *                    [--conv-question-first 0]
 *
 * Keep the output outside the repository (or in an ignored folder): it is data, regenerated at will.
 */
import { parseArgs } from "node:util";
import type { ShapeLayout } from "../src/synth/scene.js";
import { writeWorld } from "../src/synth/write-world.js";

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    train: { type: "string", default: "20000" },
    val: { type: "string", default: "500" },
    "eval-val": { type: "string", default: "300" },
    test: { type: "string", default: "1000" },
    corpus: { type: "string", default: "10000" },
    vocab: { type: "string", default: "2048" },
    "pope-images": { type: "string", default: "200" },
    mc: { type: "string", default: "300" },
    layout: { type: "string", default: "free" },
    "conv-question-first": { type: "string", default: "0" },
    help: { type: "boolean", default: false },
  },
});

const usage =
  "usage: npm run world -- --out DIR [--train N] [--val N] [--eval-val N] [--test N] [--corpus N] [--vocab N] [--pope-images N] [--mc N]\n" +
  "       [--layout free|grid|mixed] [--conv-question-first SHARE]\n" +
  "--layout grid puts each shape of a shapes scene alone in a cell of an 8 × 8 board (src/synth/scene.ts), mixed\n" +
  "  half of the shapes scenes (drawn by the seed);\n" +
  "--conv-question-first is the share of conversation records that open with a question, not a caption.";
if (values.help || !values.out) {
  console.error(usage);
  process.exit(values.help ? 0 : 2);
}

function count(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} ${v}: expected a whole number ≥ 0\n${usage}`);
    process.exit(2);
  }
  return n;
}

const t0 = performance.now();
const manifest = writeWorld({
  out: values.out,
  train: count("train", values.train),
  val: count("val", values.val),
  evalVal: count("eval-val", values["eval-val"]),
  test: count("test", values.test),
  corpus: count("corpus", values.corpus),
  vocabSize: count("vocab", values.vocab),
  popeImages: count("pope-images", values["pope-images"]),
  mcQuestions: count("mc", values.mc),
  layout: values.layout as ShapeLayout,
  convQuestionFirst: Number(values["conv-question-first"]),
  log: (line) => process.stderr.write(`${line}\n`),
});
process.stderr.write(`world written to ${values.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
console.log(
  JSON.stringify({ records: manifest.records, eval: manifest.eval, tokenizer: manifest.tokenizer }),
);
