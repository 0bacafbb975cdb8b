// The escape check's decisions, from each try's logged dense term: the first try under the bar runs to the end,
// a try on the plateau gives way to the next seed, none escaping finishes the lowest, and a build run again
// decides the same way without training a judged try again. (The real trainer under it: build.test's plan.)
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readMetrics } from "../train/metrics.js";
import { resolveRecipe } from "../train/recipe.js";
import { denseTermAt, trainEscaping } from "./escape.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-escape-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * A stand-in trainer: try k logs `term(k)` × the head's weight every step (as the real one logs the weighted term),
 * and writes run.json when it reaches the end.
 */
function fakeTrainer(dir: string, term: (seed: number) => number) {
  const calls: string[] = [];
  const tryRecipe = (k: number) =>
    resolveRecipe(
      {
        stage: 2,
        base: "b",
        output: join(dir, `try-${k + 1}`),
        data: "d.yaml",
        seed: 10 + k,
        max_steps: 8,
        image_token_loss: 4,
      },
      "test",
    );
  const train = async (r: ReturnType<typeof tryRecipe>, stopAfter?: number) => {
    calls.push(`${r.seed}:${stopAfter ?? "end"}`);
    mkdirSync(r.output, { recursive: true });
    const file = join(r.output, "metrics.jsonl");
    const done = existsSync(file) ? readMetrics(file).length : 0;
    for (let step = done + 1; step <= (stopAfter ?? r.maxSteps!); step++)
      appendFileSync(
        file,
        `${JSON.stringify({ step, loss: 1, image_token_loss: term(r.seed) * 4, lr: 1, grad_norm: 1, tokens: 1, positions: 1, sequences: 1, skipped: 0, ms: 1, tokens_per_s: 1 })}\n`,
      );
    if (stopAfter === undefined) writeFileSync(join(r.output, "run.json"), "{}");
  };
  return { calls, tryRecipe, train };
}

const check = { by: 4, below: 0.02, tries: 3 };
const quiet = () => {};

test("a try on the plateau gives way to the next seed; the first under the bar runs to the end", async () => {
  const dir = join(tmp, "second");
  const t = fakeTrainer(dir, (seed) => (seed === 10 ? 0.033 : 0.015));
  const lines: string[] = [];
  assert.equal(await trainEscaping(t.tryRecipe, check, t.train, (l) => lines.push(l)), join(dir, "try-2"));
  assert.deepEqual(t.calls, ["10:4", "11:4", "11:end"]);
  assert.equal(denseTermAt(t.tryRecipe(0), 4), 0.033);
  assert.match(
    lines.join("\n"),
    /try 1 of 3 \(seed 10\): dense term 0\.0330 at step 4, not under 0\.02: next seed/,
  );
  assert.match(lines.join("\n"), /try 2 of 3 \(seed 11\): dense term 0\.0150 at step 4, under 0\.02: kept/);
  // Run again (a build killed after it and restarted): the finished try is taken, nothing is trained.
  t.calls.length = 0;
  assert.equal(await trainEscaping(t.tryRecipe, check, t.train, quiet), join(dir, "try-2"));
  assert.deepEqual(t.calls, []);
});

test("killed after judging a try, the build judges it again from its metrics without training it", async () => {
  const dir = join(tmp, "killed");
  const t = fakeTrainer(dir, (seed) => (seed === 12 ? 0.01 : 0.04));
  await t.train(t.tryRecipe(0), 4);
  await t.train(t.tryRecipe(1), 4);
  t.calls.length = 0;
  assert.equal(await trainEscaping(t.tryRecipe, check, t.train, quiet), join(dir, "try-3"));
  assert.deepEqual(t.calls, ["12:4", "12:end"]);
});

test("no try escaping: the one with the lowest term is finished", async () => {
  const dir = join(tmp, "none");
  const t = fakeTrainer(dir, (seed) => [0.04, 0.03, 0.035][seed - 10]!);
  const lines: string[] = [];
  assert.equal(await trainEscaping(t.tryRecipe, check, t.train, (l) => lines.push(l)), join(dir, "try-2"));
  assert.deepEqual(t.calls, ["10:4", "11:4", "12:4", "11:end"]);
  assert.match(lines.at(-1)!, /no try escaped; finishing try 2, whose term was lowest/);
});
