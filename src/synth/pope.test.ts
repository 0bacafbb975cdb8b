// POPE negatives follow POPE's definitions: random = absent, uniformly; popular = the absent categories most
// frequent across the set; adversarial = the absent categories that co-occur most with the present ones.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../util/random.js";
import { CATEGORIES, POPE_KINDS, popeNegatives, popeStats, presentCategories } from "./pope.js";
import { categoryOf } from "./scene.js";
import { makeScene, splitSeeds } from "./world.js";

const scenes = splitSeeds("test", 400)
  .map((s) => makeScene(s))
  .filter((s) => s.kind === "shapes");
const stats = popeStats(scenes);
const C = CATEGORIES.length;

test("statistics count images per category and per pair", () => {
  const idx = (c: string) => CATEGORIES.indexOf(c);
  const freq = new Array<number>(C).fill(0);
  for (const s of scenes) for (const c of new Set(s.objects.map(categoryOf))) freq[idx(c)]!++;
  assert.deepEqual([...stats.freq], freq);
  const [a, b] = [idx("red circle"), idx("blue circle")];
  const both = scenes.filter((s) => {
    const p = presentCategories(s);
    return p.includes("red circle") && p.includes("blue circle");
  }).length;
  assert.equal(stats.cooc[a * C + b], both);
  assert.equal(stats.cooc[b * C + a], both);
  // The world's priors and themes make frequencies uneven: popular differs from random.
  assert.ok(Math.max(...freq) > 3 * Math.min(...freq.filter((f) => f > 0)));
});

test("negatives are absent, distinct, and chosen by each definition", () => {
  for (const s of scenes.slice(0, 120)) {
    const present = presentCategories(s);
    const absent = CATEGORIES.filter((c) => !present.includes(c));
    const score = (kind: string, c: string) => {
      const j = CATEGORIES.indexOf(c);
      if (kind === "popular") return stats.freq[j]!;
      return present.reduce((acc, p) => acc + stats.cooc[CATEGORIES.indexOf(p) * C + j]!, 0);
    };
    for (const kind of POPE_KINDS) {
      const neg = popeNegatives(kind, s, stats, 3, new Rng(s.id));
      assert.equal(neg.length, 3);
      assert.equal(new Set(neg).size, 3);
      for (const n of neg) assert.ok(!present.includes(n), `${kind}: ${n} is present in ${s.id}`);
      if (kind === "random") continue;
      // No absent category outside the chosen ones scores higher than the weakest chosen one.
      const weakest = Math.min(...neg.map((n) => score(kind, n)));
      for (const c of absent)
        if (!neg.includes(c)) assert.ok(score(kind, c) <= weakest, `${kind}: ${c} beats ${neg}`);
      // The chosen ones are in descending order of score.
      for (let k = 1; k < 3; k++) assert.ok(score(kind, neg[k - 1]!) >= score(kind, neg[k]!));
    }
  }
});

test("random negatives cover many categories; popular ones concentrate on frequent ones", () => {
  const seen = { random: new Set<string>(), popular: new Set<string>(), adversarial: new Set<string>() };
  for (const s of scenes)
    for (const k of POPE_KINDS) for (const n of popeNegatives(k, s, stats, 3, new Rng(s.id))) seen[k].add(n);
  assert.ok(seen.random.size > 60, `random used ${seen.random.size} categories`);
  assert.ok(seen.popular.size < 20, `popular used ${seen.popular.size} categories`);
  assert.ok(seen.adversarial.size > seen.popular.size);
});
