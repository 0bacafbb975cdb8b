/**
 * The preparation pool with the built-in model's tokenizer: the same counts as the pipeline's prompt rule, images
 * decoded and refused in the worker, and a cancelled request stopping at once (its worker ended and replaced)
 * where running it out takes many times longer, measured in the same run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { templateForModelType } from "../../io/template/index.js";
import { Tokenizer } from "../../io/tokenizer/index.js";
import { readModelConfig } from "../../models/load.js";
import { repoRoot } from "../../testing/fixtures.js";
import { pngIdatBomb } from "../../testing/image-bombs.js";
import { encodeTestPng } from "../../testing/image-encoders.js";
import { RequestError } from "../../util/errors.js";
import { AbortError } from "../generate.js";
import { PromptBuilder } from "../prompt.js";
import { PreparePool } from "./prepare-pool.js";

const folder = join(repoRoot, "models", "imp-tiny");
let pool: PreparePool;
let prompt: PromptBuilder;
/** How long the pool took to start its workers: what replacing one costs. */
let startMs = 0;

before(async () => {
  const { config } = readModelConfig(folder);
  const settings = { imagePlacement: config.imagePlacement, imageTokenIndex: config.imageTokenIndex };
  const t0 = performance.now();
  pool = await PreparePool.start(
    { folder, modelType: config.modelType, imageTokens: 64, prompt: settings },
    2,
    () => {},
  );
  startMs = performance.now() - t0;
  prompt = new PromptBuilder({
    tokenizer: await Tokenizer.fromFolder(folder),
    template: templateForModelType(config.modelType),
    imageTokens: 64,
    ...settings,
  });
});
after(() => pool?.close());

const never = () => new AbortController().signal;
const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i % 97} red square`).join(" ");

test("counts as the prompt rule does, and decodes the image in the worker", async () => {
  const messages = [{ role: "user" as const, content: `<image>\n${words(20)}` }];
  const png = encodeTestPng({ width: 3, height: 2, depth: 8, colorType: 2, samples: new Array(18).fill(77) });
  const out = await pool.run({ messages, image: { bytes: png, field: "f", maxPixels: 100 } }, never());
  assert.equal(out.positions, prompt.promptPositions(messages, true));
  assert.deepEqual([out.image!.width, out.image!.height, out.image!.data[0]], [3, 2, 77]);
  const text = await pool.run({ messages: [{ role: "user", content: "hi" }] }, never());
  assert.equal(text.positions, prompt.promptPositions([{ role: "user", content: "hi" }], false));
  assert.equal(text.image, undefined);
});

test("a bad image is a RequestError naming its field; the worker goes on", async () => {
  const messages = [{ role: "user" as const, content: "<image>\nhi" }];
  await assert.rejects(
    pool.run(
      { messages, image: { bytes: pngIdatBomb(1 << 20), field: "messages[0].content[1]", maxPixels: 100 } },
      never(),
    ),
    (e: unknown) =>
      e instanceof RequestError &&
      e.field === "messages[0].content[1]" &&
      /inflates to more than the 4 bytes/.test(e.message),
  );
  const big = encodeTestPng({
    width: 20,
    height: 10,
    depth: 8,
    colorType: 0,
    samples: new Array(200).fill(1),
  });
  await assert.rejects(
    pool.run({ messages, image: { bytes: big, field: "img", maxPixels: 100 } }, never()),
    (e: unknown) => e instanceof RequestError && /over the limit of 0\.0001 megapixels/.test(e.message),
  );
  assert.equal(
    (await pool.run({ messages: [{ role: "user", content: "again" }] }, never())).image,
    undefined,
  );
});

test("a cancelled request stops at once, waiting or running; the pool answers the next one", async () => {
  // Running a long text out, measured here: what a cancel must not wait for.
  const long = [{ role: "user" as const, content: words(3000) }];
  const t0 = performance.now();
  await pool.run({ messages: long }, never());
  const fullMs = performance.now() - t0;
  const huge = [{ role: "user" as const, content: words(30_000) }];
  // Two workers busy, a third request waiting in line: cancel all three after a moment.
  const slots = () => (pool as unknown as { slots: Array<{ worker: { threadId: number } | null }> }).slots;
  const busy = slots().map((s) => s.worker!.threadId);
  const controller = new AbortController();
  const runs = [1, 2, 3].map(() =>
    pool.run({ messages: huge }, controller.signal).then(
      () => null,
      (e: unknown) => e,
    ),
  );
  await new Promise((r) => setTimeout(r, Math.min(50, fullMs / 4)));
  const c0 = performance.now();
  controller.abort();
  for (const e of await Promise.all(runs)) assert.ok(e instanceof AbortError, String(e));
  const cancelMs = performance.now() - c0;
  assert.ok(cancelMs < fullMs, `the cancel took ${cancelMs.toFixed(0)} ms`);
  // The two workers on the huge text were ended, not left to run it out, and replaced.
  for (const [i, s] of slots().entries()) assert.notEqual(s.worker?.threadId, busy[i]);
  // The next request waits for a fresh worker (as long as starting the pool took), not for the huge text.
  const next = await pool.run({ messages: [{ role: "user", content: "still there?" }] }, never());
  const afterMs = performance.now() - c0;
  assert.ok(next.positions > 0);
  assert.ok(
    afterMs < 2 * startMs + fullMs,
    `cancel + next took ${afterMs.toFixed(0)} ms; starting the pool took ${startMs.toFixed(0)} ms`,
  );
  // An already-cancelled signal never reaches a worker.
  await assert.rejects(pool.run({ messages: long }, AbortSignal.abort()), AbortError);
});
