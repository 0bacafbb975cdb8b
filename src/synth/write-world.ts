/**
 * Writes a generated world to a folder: images, LLaVA-format training and validation data per category, the
 * evaluation sets in official formats (testsets.ts), the text corpus, the tokenizer, a manifest and a README.
 * Everything is a function of the options: the same options give the same bytes.
 *
 * @example
 * writeWorld({ out: "/tmp/world", train: 20000, val: 500, test: 1000 });
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeAtomic, writeJsonAtomic } from "../util/atomic-file.js";
import { UsageError } from "../util/errors.js";
import { corpusText } from "./corpus.js";
import { encodePng } from "./png.js";
import { popeStats } from "./pope.js";
import {
  BRIEF_PROMPTS,
  DETAIL_PROMPTS,
  type LlavaRecord,
  RECORD_CATEGORIES,
  type RecordCategory,
  type RecordOptions,
  sceneRecords,
} from "./records.js";
import { renderScene } from "./render.js";
import { DEFAULT_LAYOUT, IMAGE_SIZE, type Scene, SHAPE_LAYOUTS, type ShapeLayout } from "./scene.js";
import { type EvalCounts, writeEvalSets } from "./testsets.js";
import { imageName, makeScene, type SceneOptions, SPLIT_RANGES, splitSeeds, WORLD_VERSION } from "./world.js";
import { worldReadme } from "./world-readme.js";
import {
  DEFAULT_VOCAB_SIZE,
  SPECIAL_TOKENS,
  trainWorldTokenizer,
  writeTokenizerFolder,
} from "./world-tokenizer.js";

export interface WorldOptions {
  out: string;
  /** Scenes in the train split (LLaVA-format data and images). */
  train: number;
  /** Scenes in the validation split (LLaVA-format data and images). */
  val: number;
  /** Scenes in the test split (evaluation sets only). */
  test: number;
  /** Validation scenes that also get evaluation sets (eval/val), 0 for none; at most `val`. */
  evalVal?: number;
  /** Scenes told in the text corpus. */
  corpus?: number;
  vocabSize?: number;
  popeImages?: number;
  mcQuestions?: number;
  /** Conversation records that open with a question rather than a caption (a share, 0–1; default 0). */
  convQuestionFirst?: number;
  /** How shapes scenes place their shapes (scene.ts; default "free", the version-1 world). */
  layout?: ShapeLayout;
  /** Progress lines (stage and counts); default silent. */
  log?: (line: string) => void;
}

export interface WorldManifest {
  version: number;
  options: Omit<WorldOptions, "out" | "log">;
  imageSize: number;
  splits: Record<string, { firstSeed: number; scenes: number; kinds: Record<string, number> }>;
  records: Record<string, Partial<Record<RecordCategory, number>>>;
  eval: Record<string, EvalCounts>;
  corpus: { scenes: number; characters: number; documents: number };
  tokenizer: { vocabSize: number; merges: number; specialTokens: readonly string[] };
  seconds: Record<string, number>;
}

/** A world folder's world.json, as written (older worlds lack some fields). */
export function readWorldManifest(dir: string): Partial<WorldManifest> {
  const file = join(dir, "world.json");
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Partial<WorldManifest>;
  } catch (e) {
    throw new UsageError(
      `${file}: expected a world manifest written by \`npm run world\` (${(e as Error).message})`,
    );
  }
}

/**
 * The scene options a world folder was written with (its world.json, or `manifest` when already read), so that
 * its seeds make its scenes again; a world written before the option existed gets the default.
 */
export function worldSceneOptions(dir: string, manifest = readWorldManifest(dir)): SceneOptions {
  const file = join(dir, "world.json");
  const layout = (manifest.options as { layout?: unknown } | undefined)?.layout ?? DEFAULT_LAYOUT;
  if (!SHAPE_LAYOUTS.includes(layout as ShapeLayout))
    throw new UsageError(
      `${file}: options.layout must be one of ${SHAPE_LAYOUTS.join(", ")}, got ${JSON.stringify(layout)}`,
    );
  return { layout: layout as ShapeLayout };
}

function kinds(scenes: readonly Scene[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of scenes) out[s.kind] = (out[s.kind] ?? 0) + 1;
  return out;
}

/** PNG bytes of scenes, rendered once each. */
function pngCache(): (s: Scene) => Uint8Array {
  const cache = new Map<number, Uint8Array>();
  return (s) => {
    let b = cache.get(s.id);
    if (!b) cache.set(s.id, (b = encodePng(renderScene(s))));
    return b;
  };
}

/** Writes a JSON array one record per line: still one JSON document, but easy to page through. */
function writeRecords(path: string, records: readonly LlavaRecord[]): void {
  writeAtomic(
    path,
    records.length === 0 ? "[]\n" : `[\n${records.map((r) => JSON.stringify(r)).join(",\n")}\n]\n`,
  );
}

function trainingSplit(
  out: string,
  split: "train" | "val",
  scenes: readonly Scene[],
  png: (s: Scene) => Uint8Array,
  log: (line: string) => void,
  recordOpts: RecordOptions,
): Partial<Record<RecordCategory, number>> {
  const imgDir = join(out, "images", split);
  const dataDir = join(out, split);
  mkdirSync(imgDir, { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  const stats = popeStats(scenes.filter((s) => s.kind === "shapes"));
  const byCat = new Map<RecordCategory, LlavaRecord[]>(RECORD_CATEGORIES.map((c) => [c, []]));
  scenes.forEach((s, i) => {
    const name = imageName(s.id);
    // Images skip the atomic write's two fsyncs (4 ms a file, over a minute for a world): the world counts as
    // written only once world.json is (last, atomically), and a world without it is written again whole.
    writeFileSync(join(imgDir, name), png(s));
    const recs = sceneRecords(s, `${split}/${name}`, stats, recordOpts);
    for (const c of RECORD_CATEGORIES) {
      const r = recs[c];
      if (r) byCat.get(c)!.push(r);
    }
    if ((i + 1) % 2000 === 0 || i + 1 === scenes.length) log(`${split}: ${i + 1}/${scenes.length} scenes`);
  });
  const counts: Partial<Record<RecordCategory, number>> = {};
  for (const [c, recs] of byCat) {
    writeRecords(join(dataDir, `${c}.json`), recs);
    counts[c] = recs.length;
  }
  return counts;
}

export function writeWorld(opts: WorldOptions): WorldManifest {
  const log = opts.log ?? (() => {});
  const out = opts.out;
  const q = opts.convQuestionFirst;
  if (q !== undefined && !(q >= 0 && q <= 1))
    throw new UsageError(`world: convQuestionFirst must be a share between 0 and 1, got ${q}`);
  if (opts.layout !== undefined && !SHAPE_LAYOUTS.includes(opts.layout))
    throw new UsageError(
      `world: layout must be one of ${SHAPE_LAYOUTS.join(", ")}, got ${JSON.stringify(opts.layout)}`,
    );
  const scene = (seed: number) => makeScene(seed, { layout: opts.layout ?? DEFAULT_LAYOUT });
  mkdirSync(out, { recursive: true });
  const seconds: Record<string, number> = {};
  const timed = <T>(stage: string, f: () => T): T => {
    const t = performance.now();
    const r = f();
    seconds[stage] = Math.round(performance.now() - t) / 1000;
    log(`${stage}: ${seconds[stage]} s`);
    return r;
  };
  const { out: _out, log: _log, ...options } = opts;
  const manifest: WorldManifest = {
    version: WORLD_VERSION,
    options,
    imageSize: IMAGE_SIZE,
    splits: {},
    records: {},
    eval: {},
    corpus: { scenes: 0, characters: 0, documents: 0 },
    tokenizer: { vocabSize: 0, merges: 0, specialTokens: SPECIAL_TOKENS },
    seconds,
  };
  const evalVal = Math.min(opts.evalVal ?? 0, opts.val);
  for (const split of ["train", "val"] as const) {
    const n = split === "train" ? opts.train : opts.val;
    const scenes = timed(`${split} scenes`, () => splitSeeds(split, n).map(scene));
    manifest.splits[split] = { firstSeed: SPLIT_RANGES[split].start, scenes: n, kinds: kinds(scenes) };
    const png = pngCache();
    manifest.records[split] = timed(`${split} data`, () =>
      trainingSplit(out, split, scenes, png, log, { convQuestionFirst: opts.convQuestionFirst }),
    );
    if (split === "val" && evalVal > 0) {
      manifest.eval.val = timed("val eval sets", () =>
        writeEvalSets({
          dir: join(out, "eval", "val"),
          scenes: scenes.slice(0, evalVal),
          png,
          ...evalCaps(opts),
        }),
      );
    }
  }
  const testScenes = timed("test scenes", () => splitSeeds("test", opts.test).map(scene));
  manifest.splits.test = { firstSeed: SPLIT_RANGES.test.start, scenes: opts.test, kinds: kinds(testScenes) };
  manifest.eval.test = timed("test eval sets", () =>
    writeEvalSets({ dir: join(out, "eval", "test"), scenes: testScenes, png: pngCache(), ...evalCaps(opts) }),
  );
  const nCorpus = opts.corpus ?? 0;
  const corpus = timed("corpus", () => corpusText(splitSeeds("corpus", nCorpus).map(scene)));
  writeAtomic(join(out, "corpus.txt"), corpus);
  manifest.corpus = {
    scenes: nCorpus,
    characters: corpus.length,
    documents: corpus.trim() === "" ? 0 : corpus.trim().split("\n\n").length,
  };
  // The prompts of the training data are not in the corpus (it has no images); they are few, so a few copies
  // are enough for their words to be merged.
  const prompts = [...BRIEF_PROMPTS, ...DETAIL_PROMPTS].join("\n");
  const model = timed("tokenizer", () =>
    trainWorldTokenizer([corpus, prompts, prompts, prompts], opts.vocabSize ?? DEFAULT_VOCAB_SIZE),
  );
  writeTokenizerFolder(join(out, "tokenizer"), model);
  manifest.tokenizer = {
    vocabSize: Object.keys(model.vocab).length + model.specialTokens.length,
    merges: model.merges.length,
    specialTokens: model.specialTokens,
  };
  writeAtomic(join(out, "README.md"), worldReadme(manifest));
  writeJsonAtomic(join(out, "world.json"), manifest);
  return manifest;
}

function evalCaps(opts: WorldOptions): { popeImages?: number; mcQuestions?: number } {
  const caps: { popeImages?: number; mcQuestions?: number } = {};
  if (opts.popeImages !== undefined) caps.popeImages = opts.popeImages;
  if (opts.mcQuestions !== undefined) caps.mcQuestions = opts.mcQuestions;
  return caps;
}
