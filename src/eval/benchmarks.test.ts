/**
 * The shared evaluation fixtures score exactly what the official scripts printed for them
 * (`shared/fixtures/eval/expected.json`: `primary`, and the variants in `results`).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fixture } from "../testing/fixtures.js";
import { BENCHMARK_NAMES, scoreFolder } from "./benchmarks.js";
import type { GqaScore } from "./gqa.js";
import type { MmbenchScore } from "./mmbench.js";
import type { MmeScore } from "./mme.js";
import type { PopeScore } from "./pope.js";
import type { ScienceQaScore } from "./scienceqa.js";
import type { TextVqaScore } from "./textvqa.js";
import type { Vqav2Score } from "./vqav2.js";

interface Expected {
  primary: Record<string, number & Record<string, number>>;
  results: {
    vqav2: Record<
      string,
      { overall: number; overall_unrounded: number; perAnswerType: Record<string, number> }
    >;
    textvqa: { accuracy_fraction_unrounded: number; samples: number };
    gqa: { eval_py_scores_unrounded: Record<string, number & Record<string, number>> };
    scienceqa: Record<
      string,
      { acc_unrounded: number; img_acc_unrounded: number; img_total: number; img_correct: number }
    >;
    pope: Record<string, Record<string, number>> & {
      mean_f1_over_3_splits: number;
      mean_acc_over_3_splits: number;
    };
    mme: Record<string, { total: number; subtasks: Record<string, number> }>;
    mmbench: Record<
      string,
      { overall_dev: number; l2: Record<string, number>; leaf: Record<string, number> }
    >;
  };
}

const expected = JSON.parse(readFileSync(fixture("eval", "expected.json"), "utf8")) as Expected;
const dir = (b: string) => fixture("eval", b);
const P = expected.primary;

describe("fixtures score the official numbers", () => {
  it("vqav2: official evaluator, raw and after LLaVA processing", () => {
    const s = scoreFolder("vqav2", dir("vqav2")) as Vqav2Score;
    assert.equal(s.overall, P.vqav2_overall);
    assert.equal(s.overall_after_llava_processing, P.vqav2_overall_after_llava_processing);
    const head = expected.results.vqav2.official_vqaEval_HEAD_on_results!;
    assert.deepEqual(s.per_answer_type, head.perAnswerType);
    assert.equal(s.overall_unrounded, head.overall_unrounded);
    const llava = expected.results.vqav2.official_vqaEval_HEAD_after_llava_EvalAIAnswerProcessor!;
    assert.deepEqual(s.per_answer_type_after_llava_processing, llava.perAnswerType);
  });

  it("vqav2 variant pre2021", () => {
    const s = scoreFolder("vqav2", dir("vqav2"), { variant: "pre2021" }) as Vqav2Score;
    const pre = expected.results.vqav2.official_vqaEval_pre2021_on_results!;
    assert.equal(s.overall, pre.overall);
    assert.deepEqual(s.per_answer_type, pre.perAnswerType);
  });

  it("textvqa", () => {
    const s = scoreFolder("textvqa", dir("textvqa")) as TextVqaScore;
    assert.equal(s.accuracy, P.textvqa_accuracy_percent);
    assert.equal(s.accuracy / 100, expected.results.textvqa.accuracy_fraction_unrounded);
    assert.equal(s.samples, expected.results.textvqa.samples);
  });

  it("gqa", () => {
    const s = scoreFolder("gqa", dir("gqa")) as GqaScore;
    const u = expected.results.gqa.eval_py_scores_unrounded;
    assert.equal(s.accuracy, P.gqa_accuracy_percent);
    assert.equal(s.binary, u.binary);
    assert.equal(s.open, u.open);
    assert.equal(s.distribution, u.distribution);
    assert.deepEqual(s.per_structural_type, u.accuracyPerStructuralType);
    assert.deepEqual(s.per_semantic_type, u.accuracyPerSemanticType);
  });

  it("scienceqa: LLaVA (primary) and Imp variants", () => {
    const s = scoreFolder("scienceqa", dir("scienceqa")) as ScienceQaScore;
    assert.equal(s.img_accuracy, P.scienceqa_img_accuracy_percent);
    assert.equal(s.all_accuracy, P.scienceqa_all_accuracy_percent);
    const imp = scoreFolder("scienceqa", dir("scienceqa"), { variant: "imp" }) as ScienceQaScore;
    const e = expected.results.scienceqa.imp_eval_science_qa!;
    assert.equal(imp.img_accuracy, e.img_acc_unrounded);
    assert.equal(imp.all_accuracy, e.acc_unrounded);
    assert.equal(imp.img_total, e.img_total);
    assert.equal(imp.img_correct, e.img_correct);
  });

  it("pope: every metric of every split", () => {
    const s = scoreFolder("pope", dir("pope")) as PopeScore;
    assert.deepEqual(s.f1, P.pope_f1);
    assert.deepEqual(s.accuracy, P.pope_accuracy);
    for (const split of ["adversarial", "popular", "random"]) {
      const e = expected.results.pope[split]!;
      const got = s.splits[split]!;
      for (const k of [
        "TP",
        "FP",
        "TN",
        "FN",
        "samples",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "yes_ratio",
      ] as const) {
        assert.equal(got[k], e[k], `${split}.${k}`);
      }
    }
    assert.equal(s.mean_f1, expected.results.pope.mean_f1_over_3_splits);
    assert.equal(s.mean_accuracy, expected.results.pope.mean_acc_over_3_splits);
  });

  it("mme: totals and every subtask", () => {
    const s = scoreFolder("mme", dir("mme")) as MmeScore;
    assert.equal(s.perception, P.mme_perception);
    assert.equal(s.cognition, P.mme_cognition);
    assert.deepEqual(s.subtasks, {
      ...expected.results.mme.Perception!.subtasks,
      ...expected.results.mme.Cognition!.subtasks,
    });
  });

  it("mmbench: OpenCompass (primary) and VLMEvalKit exact matching", () => {
    for (const [variant, key] of [
      ["opencompass", "opencompass_tools_eval_mmbench"],
      ["vlmevalkit", "vlmevalkit_exact_matching"],
    ] as const) {
      const s = scoreFolder("mmbench", dir("mmbench"), { variant }) as MmbenchScore;
      const e = expected.results.mmbench[key]!;
      assert.equal(s.circular_accuracy, P.mmbench_dev_circular_accuracy);
      assert.equal(s.circular_accuracy, e.overall_dev);
      assert.deepEqual(s.l2, e.l2);
      assert.deepEqual(s.leaf, e.leaf);
      assert.equal(s.unparseable_answers, 0);
    }
  });

  it("every benchmark has a scorer and rejects unknown variants", () => {
    for (const b of BENCHMARK_NAMES) assert.ok(scoreFolder(b, dir(b)));
    assert.throws(() => scoreFolder("pope", dir("pope"), { variant: "nope" }), /no variant "nope"/);
    assert.throws(() => scoreFolder("nope", dir("pope")), /unknown benchmark/);
  });
});
