/**
 * Writes examples/: a few test-split scenes of the generated world (never seen in training), chosen by fixed
 * rules so that the README's commands have something to ask about, with the true answers beside them.
 *
 *   node --import tsx scripts/make-examples.ts [--out examples] [--model models/imp-tiny]
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { encodePng } from "../src/synth/png.js";
import { renderScene } from "../src/synth/render.js";
import type { Scene } from "../src/synth/scene.js";
import { makeScene, splitSeeds } from "../src/synth/world.js";
import { worldSceneOptions } from "../src/synth/write-world.js";
import { TINY_MODEL } from "./tiny-paths.js";

const { values } = parseArgs({
  options: {
    out: { type: "string", default: "examples" },
    model: { type: "string", default: TINY_MODEL },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(
    "node --import tsx scripts/make-examples.ts [--out DIR] [--model DIR]\n" +
      "Writes a few test scenes of the generated world as PNGs, with their questions and true answers (README.md);\n" +
      "the world is the one the model (default the built-in one) was made on, as its world.json says.\n",
  );
  process.exit(0);
}
const out = values.out!;
const sceneOptions = worldSceneOptions(values.model!);

const count = (s: Scene, color: string, shape: string) =>
  s.objects.filter((o) => o.color === color && o.shape === shape).length;

interface Example {
  file: string;
  rule: (s: Scene) => boolean;
  question: string;
  answer: (s: Scene) => string;
}
const EXAMPLES: Example[] = [
  {
    file: "shapes.png",
    // Two red circles among other shapes, one of them a red shape that is not a circle: the count needs both
    // colour and shape.
    rule: (s) =>
      s.kind === "shapes" &&
      count(s, "red", "circle") === 2 &&
      s.objects.length >= 4 &&
      s.objects.some((o) => o.color === "red" && o.shape !== "circle"),
    question: "How many red circles are there?",
    answer: (s) => String(count(s, "red", "circle")),
  },
  {
    file: "sign.png",
    rule: (s) => s.kind === "text" && s.signs.length === 1 && s.signs[0]!.kind === "word",
    question: "What word is written on the sign?",
    answer: (s) => s.signs[0]!.reading,
  },
  {
    file: "chart.png",
    rule: (s) => s.kind === "chart" && s.chart!.type === "bar",
    question: "Which label has the highest value?",
    answer: (s) => {
      const c = s.chart!;
      return c.labels[c.values.indexOf(Math.max(...c.values))]!;
    },
  },
];

mkdirSync(out, { recursive: true });
const seeds = splitSeeds("test", 5000);
const lines = [
  "# Example images",
  "",
  "Scenes of the built-in model's generated world from its **test** split (never seen in training), written by",
  "`node --import tsx scripts/make-examples.ts`: the first test scene that fits each rule.",
  "",
  "| file | scene seed | question | true answer |",
  "| --- | ---: | --- | --- |",
];
for (const ex of EXAMPLES) {
  const seed = seeds.find((s) => ex.rule(makeScene(s, sceneOptions)));
  if (seed === undefined) throw new Error(`no test scene fits the rule of ${ex.file}`);
  const scene = makeScene(seed, sceneOptions);
  const tmp = join(out, `.${ex.file}.tmp`);
  writeFileSync(tmp, encodePng(renderScene(scene)));
  renameSync(tmp, join(out, ex.file));
  lines.push(`| ${ex.file} | ${seed} | ${ex.question} | ${ex.answer(scene)} |`);
}
writeFileSync(join(out, "README.md"), `${lines.join("\n")}\n`);
process.stdout.write(`${lines.join("\n")}\n`);
