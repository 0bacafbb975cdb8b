/**
 * Contrastive pretraining of the vision tower with SigLIP's sigmoid loss (how the SigLIP towers Imp starts from
 * were made, at toy scale): each step takes a batch of (image, text) pairs, encodes images through the tower and
 * an image head and texts through a small text tower, L2-normalises both, and minimises the pairwise sigmoid
 * loss. Everything trains with AdamW and a cosine schedule with warmup; the temperature and bias are learned too
 * (init t′ = log 10 as the paper; b = −log(batch): the paper's −10 is the prior for its 32k-pair batches, and with a
 * small batch it pins the positives' logits so low that the embeddings collapse before b can move).
 *
 * An optional patch-level term (`patchLoss`) asks the same sigmoid loss of every patch feature: a patch holding an
 * object's centre against that object's phrase ("red circle"), every other patch against none, over a fixed list of
 * phrases encoded by the same text tower. The image-level loss only needs a concept somewhere in the pooled
 * features, so single patches learn little of shape (docs/builtin-model.md); a model that answers about one of
 * several objects needs it in the patch under that object, as SigLIP 2's location-aware objectives give its
 * patch features. The centre patch alone is positive so that one token per object says what the object is.
 */
import type { Tokenizer } from "../../io/tokenizer/index.js";
import type { MultimodalModel } from "../../models/multimodal.js";
import type { SiglipVisionTower } from "../../models/vision/siglip.js";
import type { Module } from "../../nn/module.js";
import * as F from "../../tensor/ops/index.js";
import { tidy } from "../../tensor/scope.js";
import { Tape } from "../../tensor/tape.js";
import type { Tensor } from "../../tensor/tensor.js";
import { fromF32 } from "../../tensor/tensor.js";
import { UsageError } from "../../util/errors.js";
import type { Rng } from "../../util/random.js";
import type { ParamGroup } from "../adamw.js";
import { AdamW, gradNorm } from "../adamw.js";
import { initParams } from "../init.js";
import { makeSchedule } from "../schedule.js";
import { sigmoidContrastiveLoss } from "./loss.js";
import type { ImagePooling, TextTowerConfig } from "./towers.js";
import { ImageHead, l2Normalize, PatchHead, TextTower } from "./towers.js";

export interface ContrastivePair {
  /** The tower's input [3, S, S]. */
  pixels: Float32Array;
  text: string;
  /** For the patch-level loss: the patch (row-major index) of each object's centre and its phrase's index. */
  centres?: ReadonlyArray<{ patch: number; phrase: number }>;
}

export interface PatchLossOptions {
  /** Weight of the patch-level loss against the image-level one. */
  weight: number;
  /** The phrases patches are scored against (`centres[].phrase` indexes them). */
  phrases: readonly string[];
}

export interface SiglipPretrainOptions {
  steps: number;
  batch: number;
  lr: number;
  warmupRatio: number;
  weightDecay: number;
  embedDim: number;
  /** Image-side pooling over patch features (default mean). */
  pooling?: ImagePooling;
  text: TextTowerConfig;
  /** The patch-level loss (none when absent). */
  patchLoss?: PatchLossOptions;
  /** The pairs of step s (batch of them); called once per step. */
  pairs: (step: number) => ContrastivePair[];
  onStep?: (step: number, info: SiglipStepInfo) => void;
}

export interface SiglipStepInfo {
  /** The image-level loss and in-batch retrieval accuracy. */
  loss: number;
  accuracy: number;
  /** The patch-level loss and the share of centre patches whose best phrase is their object's (NaN without it). */
  patchLoss: number;
  patchAccuracy: number;
  lr: number;
  ms: number;
}

export function pretrainSiglip(
  model: MultimodalModel,
  tokenizer: Tokenizer,
  rng: Rng,
  o: SiglipPretrainOptions,
): { loss: number; accuracy: number; patchLoss: number; patchAccuracy: number } {
  const tower = model.vision as SiglipVisionTower | null;
  if (!tower || model.config.vision?.kind !== "siglip")
    throw new UsageError("SigLIP pretraining needs a SigLIP tower");
  const backend = model.backend;
  const text = new TextTower(o.text, o.embedDim);
  const head = new ImageHead(model.config.vision.hidden, o.embedDim, o.pooling);
  initParams(text, backend, rng);
  initParams(head, backend, rng);
  const modules: Array<[string, Module]> = [
    ["tower", tower],
    ["text", text],
    ["head", head],
  ];
  const pl = o.patchLoss;
  let patchHead: PatchHead | null = null;
  if (pl) {
    if (!(pl.weight > 0) || pl.phrases.length === 0)
      throw new UsageError(
        `patch loss: expected a weight > 0 and phrases, got ${pl.weight} and ${pl.phrases.length}`,
      );
    patchHead = new PatchHead(model.config.vision.hidden, o.embedDim);
    initParams(patchHead, backend, rng);
    modules.push(["patch_head", patchHead]);
  }
  const phraseIds = pl?.phrases.map((p) => tokenizer.encode(p)) ?? [];
  const decay: ParamGroup = { name: "decay", lr: o.lr, weightDecay: o.weightDecay, params: [] };
  const noDecay: ParamGroup = { name: "no_decay", lr: o.lr, weightDecay: 0, params: [] };
  for (const [prefix, m] of modules)
    for (const [name, p] of m.namedParameters()) {
      p.value.requiresGrad = true;
      p.trainable = true;
      (p.role === "vector" ? noDecay : decay).params.push({ name: `${prefix}.${name}`, tensor: p.value });
    }
  const opt = new AdamW([decay, noDecay], { beta1: 0.9, beta2: 0.999, eps: 1e-8 });
  const schedule = makeSchedule("cosine", o.steps, o.warmupRatio);
  // t′ and b: a two-number Adam of their own.
  const scalars = { t: Math.log(10), b: -Math.log(o.batch), m: [0, 0], v: [0, 0] };
  const patchScalars = { t: Math.log(10), b: -Math.log(Math.max(2, phraseIds.length)), m: [0, 0], v: [0, 0] };
  let last = { loss: Number.NaN, accuracy: 0, patchLoss: Number.NaN, patchAccuracy: Number.NaN };
  for (let step = 0; step < o.steps; step++) {
    const t0 = performance.now();
    const pairs = o.pairs(step);
    const factor = schedule.factor(step);
    opt.zeroGrad();
    const tape = new Tape();
    const res = tidy(() =>
      tape.run(() => {
        const feats = towerFeatures(
          tower,
          pairs.map((p) => fromF32(backend, p.pixels, [3, side(p.pixels), side(p.pixels)])),
        );
        const txts = pairs.map((p) => text.forward(tokenizer.encode(p.text)));
        const x = l2Normalize(F.concatRows(feats.map((f) => head.forward(f))));
        const y = l2Normalize(F.concatRows(txts));
        const r = sigmoidContrastiveLoss(x, y, scalars.t, scalars.b);
        const loss = r.loss.toF32()[0]!;
        if (!patchHead || !pl) {
          tape.backward(r.loss);
          return { loss, accuracy: r.accuracy, grads: r.grads, patch: null };
        }
        const patches = feats[0]!.dim(0);
        const positives = pairs.map(() => Array.from({ length: patches }, (): number[] => []));
        pairs.forEach((p, i) => {
          for (const c of p.centres ?? []) {
            if (!(c.patch >= 0 && c.patch < patches && c.phrase >= 0 && c.phrase < phraseIds.length))
              throw new UsageError(
                `patch loss: centre ${JSON.stringify(c)} is outside ${patches} patches × ${phraseIds.length} phrases`,
              );
            positives[i]![c.patch]!.push(c.phrase);
          }
        });
        const px = l2Normalize(F.concatRows(feats.map((f) => patchHead.forward(f))));
        const py = l2Normalize(F.concatRows(phraseIds.map((ids) => text.forward(ids))));
        const rp = sigmoidContrastiveLoss(
          px,
          py,
          patchScalars.t,
          patchScalars.b,
          (row) => positives[Math.floor(row / patches)]![row % patches]!,
        );
        const patchLoss = rp.loss.toF32()[0]!;
        tape.backward(F.add(r.loss, F.scale(rp.loss, pl.weight)));
        return {
          loss,
          accuracy: r.accuracy,
          grads: r.grads,
          patch: { loss: patchLoss, accuracy: rp.accuracy, grads: rp.grads },
        };
      }),
    );
    tape.dispose();
    const norm = gradNorm(opt.params(), 1.0);
    opt.step(factor, norm.scale);
    // Two numbers with a large effect: they move at 10× the weights' learning rate.
    adamScalar(scalars, [res.grads.logTemperature, res.grads.bias], 10 * o.lr * factor, opt.steps);
    if (res.patch)
      adamScalar(
        patchScalars,
        [res.patch.grads.logTemperature, res.patch.grads.bias],
        10 * o.lr * factor,
        opt.steps,
      );
    last = {
      loss: res.loss,
      accuracy: res.accuracy,
      patchLoss: res.patch?.loss ?? Number.NaN,
      patchAccuracy: res.patch?.accuracy ?? Number.NaN,
    };
    o.onStep?.(step, { ...last, lr: o.lr * factor, ms: performance.now() - t0 });
  }
  opt.zeroGrad();
  for (const [, m] of modules) for (const [, p] of m.namedParameters()) p.value.requiresGrad = false;
  text.dispose();
  head.dispose();
  patchHead?.dispose();
  return last;
}

/**
 * Each image's patch features [N, Hv]: images of one side in one pass through the tower (every product over all
 * their patches, attention within each image), views of its rows; else one image at a time.
 */
function towerFeatures(tower: SiglipVisionTower, images: readonly Tensor[]): Tensor[] {
  if (images.some((im) => im.dim(2) !== images[0]!.dim(2))) return images.map((im) => tower.forward(im));
  const all = tower.forwardMany(images);
  const n = all.dim(0) / images.length;
  return images.map((_, i) => all.slice(0, i * n, (i + 1) * n));
}

function adamScalar(
  s: { t: number; b: number; m: number[]; v: number[] },
  g: number[],
  lr: number,
  t: number,
): void {
  const vals = [s.t, s.b];
  for (let i = 0; i < 2; i++) {
    s.m[i] = 0.9 * s.m[i]! + 0.1 * g[i]!;
    s.v[i] = 0.999 * s.v[i]! + 0.001 * g[i]! * g[i]!;
    vals[i] = vals[i]! - (lr * (s.m[i]! / (1 - 0.9 ** t))) / (Math.sqrt(s.v[i]! / (1 - 0.999 ** t)) + 1e-8);
  }
  s.t = vals[0]!;
  s.b = vals[1]!;
}

function side(px: Float32Array): number {
  return Math.round(Math.sqrt(px.length / 3));
}
