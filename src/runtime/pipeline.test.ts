/**
 * The three-line API end to end on a fixture model given a small tokenizer: image + prompt in, text out;
 * streaming pieces add up to the whole answer; greedy is deterministic; cancellation; the context limit.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { testBackend } from "../testing/backends.js";
import { fixture } from "../testing/fixtures.js";
import { writeTinyModel } from "../testing/tiny-model.js";
import { AbortError } from "./generate.js";
import { ImpPipeline } from "./pipeline.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-pipeline-"));
const image = fixture("preprocess", "landscape_rgb.png");
let imp: ImpPipeline;

before(async () => {
  const dir = writeTinyModel(join(tmp, "model"), { max_position_embeddings: 1024 });
  imp = await ImpPipeline.load(dir, { backend: await testBackend("wasm") });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("ImpPipeline", () => {
  test("generate answers; the stream's pieces add up to the same text; greedy repeats", async () => {
    const a = await imp.generate({ image, prompt: "What shape is it?", maxNewTokens: 12 });
    assert.equal(a.tokens.length, a.stats.generatedTokens);
    assert.ok(a.tokens.length > 0 && a.tokens.length <= 12);
    assert.equal(a.stats.imageTokens, 16);
    let streamed = "";
    for await (const piece of imp.stream({ image, prompt: "What shape is it?", maxNewTokens: 12 }))
      streamed += piece;
    assert.equal(streamed, a.text);
    const b = await imp.generate({ image, prompt: "What shape is it?", maxNewTokens: 12 });
    assert.deepEqual(b.tokens, a.tokens);
  });

  test("an image changes the answer's logits; a text-only prompt works", async () => {
    const withImage = await imp.generate({ image, prompt: "Describe.", maxNewTokens: 6 });
    const textOnly = await imp.generate({ prompt: "Describe.", maxNewTokens: 6 });
    assert.equal(textOnly.stats.imageTokens, 0);
    assert.notEqual(withImage.stats.prefillPositions, textOnly.stats.prefillPositions);
  });

  test("an aborted signal stops generation with AbortError; stats still report the tokens", async () => {
    const ctrl = new AbortController();
    let seen = 0;
    let reported = -1;
    await assert.rejects(async () => {
      for await (const _ of imp.stream(
        { image, prompt: "Go on.", maxNewTokens: 50, signal: ctrl.signal },
        (s) => {
          reported = s.generatedTokens;
        },
      )) {
        if (++seen === 2) ctrl.abort();
      }
    }, AbortError);
    assert.ok(reported >= 1, "stats reported on abort");
  });

  test("`interrupted` stops the vision or prefill pass between layers, freeing what the pass held", async () => {
    // Read once before the passes, then before each layer: 2 vision layers (select −2 of 3), 2 LLM layers.
    let calls = 0;
    const counting = { image, prompt: "What shape is it?", maxNewTokens: 1 };
    const whole = await imp.generate({ ...counting, interrupted: () => ++calls < 0 });
    assert.equal(whole.tokens.length, 1);
    assert.equal(calls, 1 + 2 + 2);
    const heap = imp.model.backend.heap;
    for (const [at, pass] of [
      [2, "vision"],
      [4, "prefill"],
    ] as const) {
      const before = heap.used;
      let n = 0;
      let stats: { finishReason: string | null; generatedTokens: number; visionMs: number } | null = null;
      await assert.rejects(async () => {
        for await (const _ of imp.stream({ ...counting, interrupted: () => ++n === at }, (s) => {
          stats = s;
        }));
      }, AbortError);
      assert.equal(n, at, `stopped at the ${pass} layer it was asked to, not after the pass`);
      assert.equal(stats!.finishReason, "abort");
      assert.equal(stats!.generatedTokens, 0);
      assert.equal(stats!.visionMs > 0, pass === "prefill", `${pass}: vision timed only when it finished`);
      assert.equal(heap.used, before, `${pass}: every tensor of the stopped pass freed`);
    }
  });

  test("a prompt longer than the context is refused before any compute", async () => {
    await assert.rejects(
      imp.generate({ image, prompt: "x".repeat(2000), maxNewTokens: 4 }),
      /takes \d+ positions .* but the model's context is 1024/,
    );
  });

  test("fewer visual tokens: a pipeline default and a per-request count, each fed to the prompt's positions", async () => {
    const q = { image, prompt: "What shape is it?", maxNewTokens: 2 };
    const own = await imp.generate(q);
    const nine = await imp.generate({ ...q, imageTokens: 9 });
    assert.equal(own.stats.imageTokens, 16);
    assert.equal(nine.stats.imageTokens, 9);
    assert.equal(own.stats.prefillPositions - nine.stats.prefillPositions, 16 - 9);
    const small = await ImpPipeline.load(join(tmp, "model"), { backend: imp.backend, imageTokens: 4 });
    assert.equal(small.imageTokens, 4);
    assert.equal((await small.generate(q)).stats.imageTokens, 4);
    assert.equal((await small.generate({ ...q, imageTokens: 16 })).tokens.join(), own.tokens.join());
    small.model.dispose();
    await assert.rejects(
      ImpPipeline.load(join(tmp, "model"), { backend: imp.backend, imageTokens: 5 }),
      /5 is not a square number/,
    );
  });

  test("a corrupt image is a clear error naming the file", async () => {
    const bad = join(tmp, "bad.png");
    writeFileSync(bad, Buffer.from("\x89PNG\r\n\x1a\nnot really"));
    await assert.rejects(imp.generate({ image: bad, prompt: "?" }), /bad\.png/);
  });
});
