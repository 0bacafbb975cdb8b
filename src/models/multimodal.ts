/**
 * The multimodal model (Imp, LLaVA-1.5): vision tower → connector → image embeddings spliced into the token
 * embeddings where the prompt had its image placeholder → the causal LM.
 *
 *   pixels [3,S,S] ──tower──► features [N,Hv] ──mm_projector──► image embeds [N,H]
 *   ids [T] (one placeholder per image) ──embed_tokens──► [T,H] ──splice──► [T−1+N, H] ──LM──► logits
 *
 * The placeholder (config image_token_index, or the −200 the official code uses) is removed and the N image
 * rows take its place; positions run on continuously (shared/fixtures/README.md, "Semantics").
 */
import type { Backend } from "../backend/backend.js";
import { IMAGE_TOKEN_INDEX } from "../io/tokenizer/index.js";
import type { KVCache, KVDType } from "../nn/kv-cache.js";
import { Module } from "../nn/module.js";
import * as F from "../tensor/ops/index.js";
import { IGNORE_INDEX } from "../tensor/ops/loss.js";
import type { Tensor } from "../tensor/tensor.js";
import { fromI32 } from "../tensor/tensor.js";
import { ShapeError, UsageError } from "../util/errors.js";
import type { ModelConfig, VisionConfig } from "./config.js";
import { Connector } from "./connector.js";
import { VISION_PREFIX } from "./layout.js";
import { DecoderLM, type LayerTap } from "./llm/decoder.js";
import { ClipVisionTower } from "./vision/clip.js";
import { SiglipVisionTower } from "./vision/siglip.js";

/**
 * The vision towers by config kind. `classToken`: the tower has one, kept as a row with "cls_patch"; `anySide`: it
 * takes an image of any side, its position table resized to the grid.
 */
const VISION_TOWERS: Readonly<
  Record<
    VisionConfig["kind"],
    { create(v: VisionConfig): SiglipVisionTower | ClipVisionTower; classToken: boolean; anySide: boolean }
  >
> = {
  siglip: { create: (v) => new SiglipVisionTower(v), classToken: false, anySide: true },
  clip: { create: (v) => new ClipVisionTower(v), classToken: true, anySide: false },
};

/** A loss term from one image's final hidden states [n, H] (`image`: its index among the sequence's images). */
export type ImageTokenLoss = (hidden: Tensor, image: number) => Tensor | null;

export class MultimodalModel extends Module {
  readonly llm: DecoderLM;
  readonly vision: SiglipVisionTower | ClipVisionTower | null;
  readonly projector: Connector | null;
  /** Element type of the KV caches `newCache` makes (loadModel sets it from its kvDtype option). */
  kvDtype: KVDType = "f32";

  /** The backend may be omitted to build the module tree only (e.g. to list parameter names and shapes). */
  constructor(
    readonly config: ModelConfig,
    private readonly _backend: Backend | null = null,
  ) {
    super();
    this.llm = this.child("", new DecoderLM(config.llm));
    const v = config.vision;
    if (v) {
      const tower = VISION_TOWERS[v.kind].create(v);
      this.vision = this.child(VISION_PREFIX.slice(0, -1), tower);
      this.projector = this.child(
        "model.mm_projector",
        new Connector(config.projectorType, v.hidden, config.llm.hidden),
      );
    } else {
      this.vision = null;
      this.projector = null;
    }
  }

  get backend(): Backend {
    if (!this._backend) throw new Error("this model was built without a backend");
    return this._backend;
  }

  /** Number of image embeddings one image contributes at the tower's own size. */
  get imageTokens(): number {
    const v = this.config.vision;
    if (!v) return 0;
    return this.imageTokensAt(v.imageSize);
  }

  /** Image embeddings of an image of `side` pixels (a SigLIP tower takes any side; CLIP only its own). */
  imageTokensAt(side: number): number {
    const v = this.config.vision;
    if (!v) return 0;
    const grid = Math.floor(side / v.patch);
    return grid * grid + (VISION_TOWERS[v.kind].classToken && v.selectFeature === "cls_patch" ? 1 : 0);
  }

  /**
   * The image side that gives `tokens` visual tokens: the tower's own size for its own count, else a square grid
   * of `tokens` patches (196 → 14 × 14 patches of 14 px = 196 px). Only SigLIP towers resize their positions.
   */
  imageSideFor(tokens: number): number {
    const v = this.config.vision;
    if (!v) throw new ShapeError("this model has no vision tower");
    if (tokens === this.imageTokens) return v.imageSize;
    const problem = visualTokensProblem(tokens, this.imageTokens, this.anyImageTokens);
    if (problem) throw new UsageError(`visual tokens: ${problem}`);
    return Math.round(Math.sqrt(tokens)) * v.patch;
  }

  /** The tower takes any square number of visual tokens (it resizes its position table: SigLIP), not only its own. */
  get anyImageTokens(): boolean {
    const v = this.config.vision;
    return v !== null && VISION_TOWERS[v.kind].anySide;
  }

  isPlaceholder(id: number): boolean {
    return id === IMAGE_TOKEN_INDEX || id === this.config.imageTokenIndex;
  }

  /** pixels [3, S, S] (S the tower's size, or any side for SigLIP) → { features [N, Hv], embeds [N, H] }. */
  encodeImage(pixels: Tensor): { features: Tensor; embeds: Tensor } {
    if (!this.vision || !this.projector) throw new ShapeError("this model has no vision tower");
    const features = this.vision.forward(this.imageTensor(pixels));
    return { features, embeds: this.projector.forward(features) };
  }

  /**
   * Images → their embeddings one after another [Σ Nᵢ, H] (training on a packed batch). A SigLIP tower takes
   * images of one side in one pass; otherwise they go through it one at a time.
   */
  encodeImages(images: readonly Tensor[]): Tensor {
    if (!this.vision || !this.projector) throw new ShapeError("this model has no vision tower");
    const px = images.map((p) => this.imageTensor(p));
    if (
      px.length > 1 &&
      this.vision instanceof SiglipVisionTower &&
      px.every((p) => p.dim(2) === px[0]!.dim(2))
    )
      return this.projector.forward(this.vision.forwardMany(px));
    const embeds = px.map((p) => this.encodeImage(p).embeds);
    return embeds.length === 1 ? embeds[0]! : F.concatRows(embeds);
  }

  /** pixels as [3, S, S], checked against the tower. */
  private imageTensor(pixels: Tensor): Tensor {
    const v = this.config.vision!;
    const side = Math.round(Math.sqrt(pixels.numel / 3));
    if (pixels.numel !== 3 * side * side || (!VISION_TOWERS[v.kind].anySide && side !== v.imageSize))
      throw new ShapeError(
        `image tensor [${pixels.shape}] does not match the tower's 3×${v.imageSize}×${v.imageSize}`,
      );
    return pixels.reshape([3, side, side]);
  }

  /** Token embeddings of `ids` with each placeholder replaced by the next image's embeddings. */
  embed(ids: readonly number[], images: readonly Tensor[] = []): Tensor {
    const places = ids.flatMap((id, i) => (this.isPlaceholder(id) ? [i] : []));
    if (places.length !== images.length)
      throw new ShapeError(
        `the prompt has ${places.length} image placeholder(s) but ${images.length} image(s) were given`,
      );
    const parts: Tensor[] = [];
    let start = 0;
    places.forEach((p, k) => {
      if (p > start) parts.push(this.embedTokens(ids.slice(start, p)));
      parts.push(images[k]!);
      start = p + 1;
    });
    if (start < ids.length) parts.push(this.embedTokens(ids.slice(start)));
    if (parts.length === 0) throw new ShapeError("empty prompt");
    return parts.length === 1 ? parts[0]! : F.concatRows(parts);
  }

  /** Plain token embeddings (no placeholder handling: a generated id is always an ordinary token). */
  embedTokens(ids: readonly number[]): Tensor {
    return this.llm.embed_tokens.forward(fromI32(this.backend, ids));
  }

  /** Runs embeddings [T, H] after the cache's past (or from position 0 without one); returns hidden [T, H]. */
  forward(embeds: Tensor, cache?: KVCache): Tensor {
    return this.llm.forward(embeds, cache);
  }

  /**
   * The training loss of one sequence: scale · Σ cross-entropy of the next-token predictions where the label is
   * not IGNORE_INDEX (LLaVA's label masking; each image placeholder's label becomes N ignored positions).
   * `ids`/`labels` are the unspliced prompt (same length); the spliced sequence is cut at `maxLength`.
   * `imageTokenLoss`, when given, adds a term per image from the final hidden states at its positions (cut with the
   * sequence), or from decoder layer `imageTokenLayer`'s output: the trainer's dense image-token signal.
   * Returns the [1] loss tensor (record it on a tape to train), the number of predicted tokens and the value of
   * the image-token terms.
   */
  sequenceLoss(
    ids: readonly number[],
    labels: readonly number[],
    images: readonly Tensor[],
    scale: number,
    maxLength = this.config.maxLength,
    imageTokenLoss?: ImageTokenLoss,
    imageTokenLayer: number | null = null,
  ): { loss: Tensor; tokens: number; imageTokenLoss: number } {
    if (ids.length !== labels.length) throw new ShapeError(`${ids.length} ids but ${labels.length} labels`);
    const imageEmbeds = images.map((px) => this.encodeImage(px).embeds);
    let embeds = this.embed(ids, imageEmbeds);
    const spliced: number[] = [];
    const spans: { start: number; length: number }[] = [];
    let k = 0;
    ids.forEach((id, i) => {
      if (this.isPlaceholder(id)) {
        spans.push({ start: spliced.length, length: imageEmbeds[k]!.dim(0) });
        for (let j = 0; j < imageEmbeds[k]!.dim(0); j++) spliced.push(IGNORE_INDEX);
        k++;
      } else spliced.push(labels[i]!);
    });
    if (spliced.length > maxLength) {
      embeds = embeds.slice(0, 0, maxLength);
      spliced.length = maxLength;
    }
    // Row i predicts token i + 1; the last row has nothing to predict.
    const targets = [...spliced.slice(1), IGNORE_INDEX];
    const tokens = targets.filter((t) => t !== IGNORE_INDEX).length;
    // One sequence from position 0: forwardPacked's single segment is forward without a cache, with the tap.
    const tap: LayerTap | undefined = imageTokenLayer === null ? undefined : { after: imageTokenLayer };
    const hidden = this.llm.forwardPacked(embeds, [embeds.dim(0)], tap);
    let loss = F.crossEntropySum(this.logits(hidden), fromI32(this.backend, targets), scale);
    let extra = 0;
    spans.forEach(({ start, length }, image) => {
      const n = Math.min(length, spliced.length - start);
      const l = n > 0 ? imageTokenLoss?.((tap?.out ?? hidden).slice(0, start, start + n), image) : null;
      if (!l) return;
      extra += l.toF32()[0]!;
      loss = F.add(loss, l);
    });
    return { loss, tokens, imageTokenLoss: extra };
  }

  logits(hidden: Tensor): Tensor {
    return this.llm.logits(hidden);
  }

  newCache(maxLength?: number): KVCache {
    return this.llm.newCache(this.backend, maxLength, this.kvDtype);
  }
}

/**
 * Why a tower cannot give `tokens` visual tokens, or null when it can: its own count `own` always, any other square
 * number only when it takes any side (`anySide`). The one rule for the model and for a server checking a request.
 */
export function visualTokensProblem(tokens: number, own: number, anySide: boolean): string | null {
  if (tokens === own) return null;
  const grid = Math.round(Math.sqrt(tokens));
  if (!Number.isInteger(tokens) || tokens < 1 || grid * grid !== tokens)
    return `${tokens} is not a square number of patches (the tower's own is ${own}; e.g. 64, 196, 576)`;
  if (!anySide)
    return `this model's tower takes only its own ${own} visual tokens (a SigLIP tower takes others)`;
  return null;
}
