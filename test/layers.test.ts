// The layer order of ../shared/design.md, held by the build: a source file under src/ imports only from its own
// layer or the ones before it, the source files import one another without cycles, and no shipped file imports a
// test or a test helper (src/testing/, excluded from dist/).
//
// Tests (`*.test.ts`) and test helpers may import from any layer: they are not shipped and nothing imports them.
// Type-only imports count for the layer order (a type from a later layer is still knowledge of that layer); they
// do not count for cycles, since the compiler erases them and nothing runs in a wrong order because of one.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { cycles, type ImportEdge, importsOf, sourceFiles } from "../scripts/import-graph.js";

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * The layers, first to last: each folder of src/ (or a file or a sub-folder, for a finer rule: the longest
 * matching entry wins) and its layer. A new folder of src/ needs a line here.
 */
const LAYERS: ReadonlyArray<readonly [layer: string, paths: readonly string[]]> = [
  ["util", ["src/util"]],
  ["formats", ["src/formats"]],
  ["kernels", ["src/backend"]],
  ["tensors", ["src/tensor"]],
  // The Hub client turns a model id into a folder, as io turns a folder into tensors: the same layer.
  ["io, nn", ["src/io", "src/nn", "src/hub"]],
  ["models", ["src/models"]],
  ["runtime", ["src/runtime"]],
  ["quant, eval, export, parity, synth", ["src/quant", "src/eval", "src/export", "src/parity", "src/synth"]],
  ["serve, browser", ["src/serve", "src/browser"]],
  ["train, builtin", ["src/train", "src/builtin"]],
  ["cli", ["src/cli"]],
  // The package's entry re-exports the public API of every layer.
  ["package entry", ["src/index.ts"]],
];

/** Test helpers: imported by tests only, left out of dist/ (tsconfig.build.json) and of these rules. */
const TEST_HELPERS = "src/testing/";
const isTest = (f: string): boolean => f.endsWith(".test.ts");

/**
 * Known imports against the order, each to be deleted by the change that moves its code where it belongs (this
 * test then fails until the line goes, so the list only shrinks). Never add to it: move the code instead.
 */
const KNOWN_EXCEPTIONS: ReadonlyArray<readonly [from: string, to: string]> = [];

function layerOf(file: string): number {
  let best = -1;
  let bestLength = -1;
  LAYERS.forEach(([, paths], i) => {
    for (const p of paths)
      if ((file === p || file.startsWith(`${p}/`)) && p.length > bestLength) {
        best = i;
        bestLength = p.length;
      }
  });
  return best;
}

const sources = sourceFiles(root, "src");
const shipped = sources.filter((f) => !isTest(f) && !f.startsWith(TEST_HELPERS));
const imports = new Map<string, ImportEdge[]>(sources.map((f) => [f, importsOf(root, f)]));

test("every source folder has a layer", () => {
  const missing = [
    ...new Set(shipped.filter((f) => layerOf(f) < 0).map((f) => f.split("/").slice(0, 2).join("/"))),
  ];
  assert.deepEqual(missing, [], `add these to LAYERS in ${fileURLToPath(import.meta.url)}`);
});

test("imports resolve to files that exist", () => {
  const broken = [...imports].flatMap(([f, es]) =>
    es.filter((e) => e.to.startsWith("src/") && !existsSync(join(root, e.to))).map((e) => `${f} → ${e.to}`),
  );
  assert.deepEqual(broken, []);
});

test("no file imports from a later layer", () => {
  const found: string[] = [];
  for (const f of shipped) {
    const own = layerOf(f);
    for (const e of imports.get(f)!) {
      const theirs = layerOf(e.to);
      if (theirs > own && !KNOWN_EXCEPTIONS.some(([a, b]) => a === f && b === e.to))
        found.push(`${f} (${LAYERS[own]![0]}) imports ${e.to} (${LAYERS[theirs]![0]})`);
    }
  }
  assert.deepEqual(found, [], "a layer imports only from itself and the layers before it (docs: design.md)");
});

test("the known exceptions still occur (delete the ones fixed)", () => {
  const stale = KNOWN_EXCEPTIONS.filter(([a, b]) => !imports.get(a)?.some((e) => e.to === b)).map(
    ([a, b]) => `${a} → ${b}`,
  );
  assert.deepEqual(stale, []);
});

test("no import cycles among the source files", () => {
  const graph = new Map(
    [...imports].map(([f, es]) => [f, es.filter((e) => e.kind !== "type").map((e) => e.to)] as const),
  );
  assert.deepEqual(cycles(graph), []);
});

test("shipped files import no test and no test helper", () => {
  const found = shipped.flatMap((f) =>
    imports
      .get(f)!
      .filter((e) => isTest(e.to) || e.to.startsWith(TEST_HELPERS))
      .map((e) => `${f} → ${e.to}`),
  );
  assert.deepEqual(found, []);
});

test("the checker sees what it should", () => {
  // Guards against a lexer that silently finds nothing: files known to import across layers and by type only.
  const tensor = imports.get("src/tensor/tensor.ts")!;
  assert.ok(tensor.some((e) => e.to === "src/formats/dtype.ts" && e.kind === "static"));
  assert.ok(tensor.some((e) => e.to === "src/backend/backend.ts" && e.kind === "type"));
  const graph = new Map([
    ["a", ["b"]],
    ["b", ["c"]],
    ["c", ["a"]],
    ["d", ["d"]],
    ["e", ["a"]],
  ]);
  assert.deepEqual(cycles(graph), [["a", "b", "c"], ["d"]]);
});

test("comments go, strings and regular expressions stay whole", async () => {
  const { stripComments } = await import("../scripts/import-graph.js");
  const src = [
    'const url = "http://x/*y"; // import { a } from "./a.js";',
    "const re = /\"[/]/g; /* import b from './b.js'; */",
    // A template whose substitutions hold a brace in a string and a nested template.
    `const t = \`$\{"}"}//$\{\`$\{1}\`}\`; import c from "./c.js";`,
  ].join("\n");
  const out = stripComments(src);
  assert.match(out, /^const url = "http:\/\/x\/\*y"; +\n/);
  assert.match(out, /const re = \/"\[\/\]\/g; +\n/);
  assert.match(out, /import c from "\.\/c\.js";$/);
  assert.doesNotMatch(out, /\.\/a\.js|\.\/b\.js/);
});
