/**
 * The image cache and the conversation cache: bounded, pinned while in use, and invisible in the answers (every
 * cached answer is the same, token for token, as a cold pipeline's), with cancelled and concurrent requests safe.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ChatMessage } from "../io/template/index.js";
import { fromF32 } from "../tensor/tensor.js";
import { testBackend } from "../testing/backends.js";
import { fixture } from "../testing/fixtures.js";
import { writeTinyModel } from "../testing/tiny-model.js";
import { AbortError } from "./generate.js";
import { ImageCache } from "./image-cache.js";
import { ImpPipeline } from "./pipeline.js";
import { kvCacheBytes, PrefixCache } from "./prefix-cache.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-caches-"));
const image = fixture("preprocess", "landscape_rgb.png");
const other = fixture("preprocess", "portrait_photo.jpg");
let dir: string;
let cold: ImpPipeline;
let warm: ImpPipeline;
let imagesOnly: ImpPipeline;

before(async () => {
  dir = writeTinyModel(join(tmp, "model"), { max_position_embeddings: 1024 });
  const backend = await testBackend("wasm");
  cold = await ImpPipeline.load(dir, { backend });
  warm = await ImpPipeline.load(dir, { backend, imageCacheBytes: 1 << 20, conversationCacheBytes: 64 << 20 });
  imagesOnly = await ImpPipeline.load(dir, { backend, imageCacheBytes: 1 << 20 });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("ImageCache", () => {
  test("least recently used out by bytes; a pinned entry stays until released; too large is refused", async () => {
    const backend = await testBackend("js");
    const t = (n: number) => fromF32(backend, new Float32Array(n), [n]);
    const cache = new ImageCache(100 * 4);
    assert.equal(cache.insert("a", t(40)), true);
    cache.release("a");
    assert.equal(cache.insert("b", t(40)), true);
    cache.release("b");
    assert.ok(cache.acquire("a")); // a is now the most recent, and pinned
    assert.equal(cache.insert("c", t(40)), true); // evicts b, the least recent unpinned
    assert.equal(cache.acquire("b"), null);
    assert.equal(cache.stats().entries, 2);
    // Both held entries pinned: a fourth cannot make room, and the caller keeps its tensor.
    const d = t(40);
    assert.equal(cache.insert("d", d), false);
    assert.equal(d.toF32().length, 40, "not freed: still the caller's");
    cache.release("a");
    cache.release("c");
    assert.equal(cache.insert("big", t(101)), false);
    assert.deepEqual({ hits: cache.stats().hits, misses: cache.stats().misses }, { hits: 1, misses: 1 });
    assert.ok(cache.stats().bytes <= cache.maxBytes);
    cache.clear();
    assert.equal(cache.stats().bytes, 0);
    assert.notEqual(
      ImageCache.key(new Float32Array([1, 2]), [2]),
      ImageCache.key(new Float32Array([1, 3]), [2]),
    );
  });
});

describe("PrefixCache", () => {
  test("takes the shared prefix, leaving one position to run; a second take finds nothing", async () => {
    const model = cold.model;
    const cache = new PrefixCache(64 << 20);
    const kv = model.newCache(64);
    kv.reserve(5);
    kv.advance(5);
    cache.store(kv, [1, 2, "img#0", "img#1", 3]);
    assert.equal(cache.take([9]), null, "nothing shared: dropped");
    const kv2 = model.newCache(64);
    kv2.reserve(5);
    kv2.advance(5);
    cache.store(kv2, [1, 2, "img#0", "img#1", 3]);
    const got = cache.take([1, 2, "img#0", "img#1", 3]);
    assert.equal(got?.reused, 4, "the last position is run again for its logits");
    assert.equal(got?.cache.length, 4);
    assert.equal(cache.take([1, 2]), null, "taken: the cache is empty until a generation stores again");
    got!.cache.dispose();
    const small = new PrefixCache(1);
    const kv3 = model.newCache(64);
    kv3.reserve(1);
    kv3.advance(1);
    small.store(kv3, [1]);
    assert.equal(small.stats().bytes, 0, "over the budget: not kept");
  });
});

describe("KV cache element types", () => {
  test("an f16 cache holds and is counted at half an f32 one's bytes; its answers are an f16 cold run's", async () => {
    const model = cold.model;
    const heap = cold.backend.heap;
    const sizes: Record<string, { counted: number; held: number }> = {};
    for (const dtype of ["f32", "f16"] as const) {
      model.kvDtype = dtype;
      const base = heap.used;
      const kv = model.newCache(256);
      kv.reserve(100);
      sizes[dtype] = { counted: kvCacheBytes(kv), held: heap.used - base };
      assert.equal(kv.dtype, dtype);
      kv.dispose();
    }
    model.kvDtype = "f32";
    assert.equal(sizes.f16!.counted * 2, sizes.f32!.counted);
    for (const s of Object.values(sizes))
      assert.ok(s.held >= s.counted && s.held < s.counted * 1.05, `${s.held}`);

    const backend = cold.backend;
    const coldF16 = await ImpPipeline.load(dir, { backend, kvDtype: "f16" });
    const warmF16 = await ImpPipeline.load(dir, {
      backend,
      conversationCacheBytes: 64 << 20,
      kvDtype: "f16",
    });
    const messages: ChatMessage[] = [{ role: "user", content: "Describe the picture." }];
    const first = await warmF16.generate({ image, messages, maxNewTokens: 8 });
    const stored = warmF16.conversationCache!.stats().bytes;
    assert.ok(stored > 0, "kept");
    messages.push({ role: "assistant", content: first.text }, { role: "user", content: "More?" });
    const hot = await warmF16.generate({ image, messages, maxNewTokens: 8 });
    assert.ok(hot.stats.cachedPositions > 16);
    assert.deepEqual(hot.tokens, (await coldF16.generate({ image, messages, maxNewTokens: 8 })).tokens);
    warmF16.conversationCache!.clear();
  });
});

describe("ImpPipeline with caches", () => {
  const ask = (imp: ImpPipeline, messages: ChatMessage[], img = image, signal?: AbortSignal) =>
    imp.generate({ image: img, messages, maxNewTokens: 8, signal });

  test("the same image again skips the tower; the answers are a cold pipeline's", async () => {
    const q: ChatMessage[] = [{ role: "user", content: "What shape is it?" }];
    const first = await ask(imagesOnly, q);
    assert.equal(first.stats.imageCacheHits, 0);
    const again = await ask(imagesOnly, [{ role: "user", content: "And its colour?" }]);
    assert.equal(again.stats.imageCacheHits, 1);
    assert.deepEqual(again.tokens, (await ask(cold, [{ role: "user", content: "And its colour?" }])).tokens);
    assert.deepEqual(first.tokens, (await ask(cold, q)).tokens);
    const third = await ask(imagesOnly, q, other);
    assert.equal(third.stats.imageCacheHits, 0, "another image is another key");
    assert.deepEqual(imagesOnly.imageCache!.stats().hits, 1);
    // With the conversation cache too, a question that starts as the last one began reuses the image's positions
    // outright: neither the tower nor the image's prefill runs.
    await ask(warm, q);
    const follow = await ask(warm, [{ role: "user", content: "And its colour?" }]);
    assert.ok(follow.stats.cachedPositions >= 16, `${follow.stats.cachedPositions} positions reused`);
    assert.deepEqual(follow.tokens, again.tokens);
  });

  test("a conversation's next message runs only its new positions, token for token as a cold run", async () => {
    const messages: ChatMessage[] = [{ role: "user", content: "Describe the picture." }];
    for (let turn = 0; turn < 3; turn++) {
      const hot = await ask(warm, messages);
      const coldRun = await ask(cold, messages);
      assert.deepEqual(hot.tokens, coldRun.tokens, `turn ${turn}`);
      assert.equal(hot.stats.prefillPositions, coldRun.stats.prefillPositions);
      if (turn > 0)
        assert.ok(hot.stats.cachedPositions > 16, `turn ${turn}: ${hot.stats.cachedPositions} cached`);
      messages.push(
        { role: "assistant", content: hot.text },
        { role: "user", content: `Question ${turn + 2}?` },
      );
    }
  });

  test("a cancelled answer leaves no cache behind; concurrent requests get cold-run answers", async () => {
    const messages: ChatMessage[] = [{ role: "user", content: "Go on." }];
    await ask(warm, messages);
    const ctrl = new AbortController();
    await assert.rejects(async () => {
      let n = 0;
      for await (const _ of warm.stream({ image, messages, maxNewTokens: 50, signal: ctrl.signal }))
        if (++n === 2) ctrl.abort();
    }, AbortError);
    assert.equal(warm.conversationCache!.stats().bytes, 0);
    const heap = warm.backend.heap;
    const base = heap.used;
    const [a, b] = await Promise.all([
      ask(warm, [{ role: "user", content: "One?" }]),
      ask(warm, [{ role: "user", content: "Two?" }], other),
    ]);
    assert.deepEqual(a.tokens, (await ask(cold, [{ role: "user", content: "One?" }])).tokens);
    assert.deepEqual(b.tokens, (await ask(cold, [{ role: "user", content: "Two?" }], other)).tokens);
    warm.conversationCache!.clear();
    warm.imageCache!.clear();
    assert.ok(heap.used <= base, `caches cleared: ${heap.used} bytes in use, ${base} before`);
  });
});
