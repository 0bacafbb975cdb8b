/**
 * Data mixtures: which records of which LLaVA-format files a run trains on. A mixture (JSON or YAML, or inline in
 * a recipe) lists sources with an optional weight (a multiple of the source: 0.5 = a random half, 2 = twice) and
 * cap (at most N random records: "300K samples of ALLaVA"), exclusions (drop a whole source such as TextCaps, ids,
 * or image path prefixes), and a seed. Resolution is deterministic: the same files and spec give the same records,
 * and each source draws from its own seeded stream, so editing one source leaves the others' picks as they were.
 *
 * @example
 * # mixture.yaml
 * seed: 42
 * images: images            # default image folder (relative to this file)
 * sources:
 *   - { name: llava665k, path: llava_v1_5_mix665k.json, exclude_image_prefix: [textvqa/] }
 *   - { name: allava, path: allava.jsonl, cap: 300000 }
 *   - { name: dvqa, path: dvqa.json, weight: 1 }
 * drop: [sharegpt4v]
 * exclude_ids: bad_ids.txt
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, resolve } from "node:path";
import { FormatError, UsageError } from "../util/errors.js";
import { Rng } from "../util/random.js";
import { parseStructured } from "./recipe.js";
import type { BadRecord, DataRecord } from "./records.js";
import { readRecords } from "./records.js";

/** A mixture as written (snake_case keys). */
export interface MixtureSpec {
  seed?: number;
  images?: string;
  sources: Array<Record<string, unknown>>;
  drop?: string[];
  exclude_ids?: string[] | string;
}

export interface SourceSpec {
  name: string;
  path: string;
  images: string;
  weight: number | null;
  cap: number | null;
  excludeIds: Set<string>;
  excludeImagePrefix: string[];
}

export interface ResolvedSource {
  name: string;
  path: string;
  images: string;
  /** Good records in the file. */
  records: number;
  /** Records left out by the exclusions. */
  excluded: number;
  /** Record indices picked (ascending; a record repeats when the weight is above 1). */
  indices: number[];
}

export interface Example {
  source: number;
  record: DataRecord;
}

export interface ResolvedMixture {
  seed: number;
  sources: ResolvedSource[];
  dropped: string[];
  /** The training examples, source by source, in file order. */
  examples: Example[];
  /** Bad records skipped (only with skipBad; otherwise resolving throws). */
  bad: BadRecord[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads a mixture file; relative paths in it are relative to its folder. */
export function readMixtureFile(file: string): { spec: MixtureSpec; dir: string } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read the mixture ${file}: ${(e as Error).message}`, { cause: e });
  }
  return { spec: parseStructured(text, file) as unknown as MixtureSpec, dir: dirname(resolve(file)) };
}

function readIdList(v: unknown, dir: string, where: string): Set<string> {
  if (v === undefined || v === null) return new Set();
  if (Array.isArray(v)) return new Set(v.map(String));
  if (typeof v === "string") {
    const file = join(dir, v);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new UsageError(`${where}: cannot read the id list ${file}: ${(e as Error).message}`);
    }
    if (extname(file) === ".json") {
      const ids = JSON.parse(text) as unknown;
      if (!Array.isArray(ids)) throw new FormatError(`${file}: expected a JSON list of ids`);
      return new Set(ids.map(String));
    }
    return new Set(
      text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== ""),
    );
  }
  throw new UsageError(`${where}: expected a list of ids or a file of ids, found ${JSON.stringify(v)}`);
}

const SOURCE_KEYS = ["name", "path", "images", "weight", "cap", "exclude_ids", "exclude_image_prefix"];
const MIXTURE_KEYS = ["seed", "images", "sources", "drop", "exclude_ids"];

/** Checks a mixture spec and resolves its paths against `dir`. */
export function parseMixture(
  spec: MixtureSpec,
  dir: string,
  where: string,
): { seed: number | null; sources: SourceSpec[]; drop: string[] } {
  if (!isObject(spec)) throw new UsageError(`${where}: a mixture must be an object with "sources"`);
  for (const k of Object.keys(spec))
    if (!MIXTURE_KEYS.includes(k))
      throw new UsageError(`${where}: unknown key "${k}" (known: ${MIXTURE_KEYS.join(", ")})`);
  if (!Array.isArray(spec.sources) || spec.sources.length === 0)
    throw new UsageError(`${where}: "sources" must be a non-empty list`);
  const abs = (p: string) => (isAbsolute(p) ? p : join(dir, p));
  const globalExclude = readIdList(spec.exclude_ids, dir, `${where}: exclude_ids`);
  const defaultImages = typeof spec.images === "string" ? abs(spec.images) : null;
  const sources = spec.sources.map((s, i): SourceSpec => {
    const w = `${where}: sources[${i}]`;
    if (!isObject(s)) throw new UsageError(`${w}: expected an object with "path"`);
    for (const k of Object.keys(s))
      if (!SOURCE_KEYS.includes(k))
        throw new UsageError(`${w}: unknown key "${k}" (known: ${SOURCE_KEYS.join(", ")})`);
    if (typeof s.path !== "string" || s.path === "") throw new UsageError(`${w}: "path" must be a file name`);
    const path = abs(s.path);
    const positive = (k: string, integer: boolean): number | null => {
      const v = s[k];
      if (v === undefined || v === null) return null;
      if (typeof v !== "number" || !(v >= 0) || (integer && !Number.isInteger(v)))
        throw new UsageError(`${w}: "${k}" must be ${integer ? "an integer" : "a number"} ≥ 0, found ${v}`);
      return v;
    };
    const prefixes = s.exclude_image_prefix ?? [];
    if (!Array.isArray(prefixes) || !prefixes.every((p) => typeof p === "string"))
      throw new UsageError(`${w}: "exclude_image_prefix" must be a list of strings`);
    const excludeIds = readIdList(s.exclude_ids, dir, `${w}: exclude_ids`);
    for (const id of globalExclude) excludeIds.add(id);
    return {
      name: typeof s.name === "string" && s.name !== "" ? s.name : basename(path, extname(path)),
      path,
      images: typeof s.images === "string" ? abs(s.images) : (defaultImages ?? dirname(path)),
      weight: positive("weight", false),
      cap: positive("cap", true),
      excludeIds,
      excludeImagePrefix: prefixes as string[],
    };
  });
  const names = new Set<string>();
  for (const s of sources) {
    if (names.has(s.name))
      throw new UsageError(`${where}: two sources are named "${s.name}"; name them apart`);
    names.add(s.name);
  }
  const drop = spec.drop ?? [];
  if (!Array.isArray(drop)) throw new UsageError(`${where}: "drop" must be a list of source names`);
  for (const d of drop)
    if (!names.has(String(d)))
      throw new UsageError(`${where}: drop names "${d}", which is not a source (${[...names].join(", ")})`);
  const seed = spec.seed === undefined ? null : Number(spec.seed);
  if (seed !== null && !Number.isInteger(seed)) throw new UsageError(`${where}: "seed" must be an integer`);
  return { seed, sources, drop: drop.map(String) };
}

function nameSeed(seed: number, name: string): number {
  const h = createHash("sha256").update(`${seed}\0${name}`).digest();
  return h.readUInt32LE(0);
}

/** `count` indices of [0, n): whole copies, then a seeded sample without replacement; ascending. */
export function pick(n: number, count: number, rng: Rng): number[] {
  if (n === 0 || count === 0) return [];
  const out: number[] = [];
  const copies = Math.floor(count / n);
  for (let c = 0; c < copies; c++) for (let i = 0; i < n; i++) out.push(i);
  const rest = count - copies * n;
  if (rest > 0) {
    // Partial Fisher–Yates: the first `rest` slots are a uniform sample.
    const perm = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < rest; i++) {
      const j = i + rng.int(n - i);
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    out.push(...perm.slice(0, rest));
  }
  return out.sort((a, b) => a - b);
}

/** Formats bad records for an error or a report: up to `max` lines, then a count. */
export function describeBad(bad: readonly BadRecord[], max = 10): string {
  const lines = bad
    .slice(0, max)
    .map((b) => `  ${b.where}${b.id !== null ? ` (id ${JSON.stringify(b.id)})` : ""}: ${b.reason}`);
  if (bad.length > max) lines.push(`  … and ${bad.length - max} more`);
  return lines.join("\n");
}

/**
 * Reads every source, checks its records, applies exclusions, weights and caps. Bad records stop it with a list
 * naming file and line, unless `skipBad`, which leaves them out and counts them.
 */
export function resolveMixture(
  spec: MixtureSpec,
  opts: { dir: string; where: string; seed: number; skipBad: boolean },
): ResolvedMixture {
  const parsed = parseMixture(spec, opts.dir, opts.where);
  const seed = parsed.seed ?? opts.seed;
  const out: ResolvedMixture = { seed, sources: [], dropped: parsed.drop, examples: [], bad: [] };
  for (const s of parsed.sources) {
    if (parsed.drop.includes(s.name)) continue;
    const { records, bad } = readRecords(s.path, s.images);
    out.bad.push(...bad);
    const kept = records.filter(
      (r) =>
        !s.excludeIds.has(r.id) &&
        !(r.image !== null && s.excludeImagePrefix.some((p) => r.image!.startsWith(join(s.images, p)))),
    );
    let count = s.weight === null ? kept.length : Math.round(s.weight * kept.length);
    if (s.cap !== null) count = Math.min(count, s.cap);
    const indices = pick(kept.length, count, new Rng(nameSeed(seed, s.name)));
    const index = out.sources.length;
    out.sources.push({
      name: s.name,
      path: s.path,
      images: s.images,
      records: records.length,
      excluded: records.length - kept.length,
      indices,
    });
    for (const i of indices) out.examples.push({ source: index, record: kept[i]! });
  }
  if (out.bad.length > 0 && !opts.skipBad)
    throw new FormatError(
      `${out.bad.length} bad record(s) in the training data:\n${describeBad(out.bad)}\n` +
        "Fix them, or pass --skip-bad to leave them out (they are counted and reported).",
    );
  if (out.examples.length === 0) throw new UsageError(`${opts.where}: the mixture selects no records`);
  return out;
}

/** The resolved mixture as written next to a run (ids per source), enough to reproduce or audit it. */
export function mixtureToJson(m: ResolvedMixture): Record<string, unknown> {
  return {
    seed: m.seed,
    total: m.examples.length,
    dropped: m.dropped,
    bad_records: m.bad.map((b) => ({ where: b.where, id: b.id, reason: b.reason })),
    sources: m.sources.map((s, si) => ({
      name: s.name,
      path: s.path,
      images: s.images,
      records: s.records,
      excluded: s.excluded,
      selected: s.indices.length,
      ids: m.examples.filter((e) => e.source === si).map((e) => e.record.id),
    })),
  };
}

/** A digest of what the mixture selects (files and record ids, in order): a resumed run must see the same. */
export function mixtureFingerprint(m: ResolvedMixture): string {
  const h = createHash("sha256");
  for (const e of m.examples) h.update(`${m.sources[e.source]!.path}\0${e.record.where}\0${e.record.id}\n`);
  return h.digest("hex").slice(0, 16);
}
