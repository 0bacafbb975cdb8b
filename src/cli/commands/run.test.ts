/**
 * The README's main job as a user runs it: `imp run` with no `--model` loads the committed built-in model and
 * answers about examples/shapes.png, streaming text, or one JSON object with `--json`. (Whether the answer is right
 * is the model's quality, measured on the test sets in docs/builtin-model.md, not asserted here.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { runCli } from "../../testing/cli.js";
import { repoRoot } from "../../testing/fixtures.js";

const example = join(repoRoot, "examples/shapes.png");
const question = "How many red circles are there?\nAnswer the question using a single word or phrase.";

describe("imp run on the built-in model", () => {
  // One plain run, shared: the --json test compares its answer with this one.
  let plainRun: ReturnType<typeof runCli> | undefined;
  const plain = () => {
    plainRun ??= runCli(["run", "--image", example, question]);
    return plainRun;
  };

  test("with no --model it loads models/imp-tiny and answers in a few words", async () => {
    const r = await plain();
    assert.equal(r.code, 0, r.stderr);
    const answer = r.stdout.trim();
    assert.ok(answer.length > 0 && answer.split(/\s+/).length <= 4, `answer: ${JSON.stringify(answer)}`);
  });

  test("--json: the same answer (greedy) with its token counts and timings", async () => {
    const expected = (await plain()).stdout.trim();
    const r = await runCli(["run", "--json", "--threads", "1", "--image", example, question]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(String(j.answer).trim(), expected);
    assert.match(String(j.model), /models[/\\]imp-tiny$/);
    assert.equal(j.imageTokens, 64);
    assert.equal(j.finishReason, "stop");
    assert.equal(j.threads, 1);
    for (const k of ["loadMs", "visionEncodeMs", "prefillTokensPerSecond", "peakRssBytes"])
      assert.ok(typeof j[k] === "number" && (j[k] as number) > 0, `${k}: ${j[k]}`);
  });

  test("--image-tokens: the image as that many visual tokens (a square number), else a clear error", async () => {
    const r = await runCli(["run", "--json", "--image-tokens", "16", "--image", example, question]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(j.imageTokens, 16);
    const bad = await runCli(["run", "--image-tokens", "20", "--image", example, question]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /visual tokens: 20 is not a square number of patches \(the tower's own is 64/);
  });
});
