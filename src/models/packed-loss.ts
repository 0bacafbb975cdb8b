/**
 * The training loss of several sequences in one pass (a packed micro-batch): the same loss as the sum of
 * MultimodalModel.sequenceLoss over them, to rounding, with every product run once over all their rows instead of
 * once per sequence.
 *
 *   all images ──tower (one pass, attention within each image)──► connector ──► image embeds [Σ Nᵢ, H]
 *   each sequence spliced and cut at maxLength as sequenceLoss does ──► rows one after another [Σ Tⱼ, H]
 *   ──LM (positions from 0 in each sequence, causal attention within it)──► hidden
 *   ──only the rows that predict a token──► LM head ──► Σ cross-entropy · scale
 *
 * The rows without a label (image tokens, prompts, each sequence's last row) skip the LM head: they add nothing to
 * the loss or its gradient. A sequence's `imageTokenLoss` gets each of its images' final hidden states (the rows
 * at its packed positions, cut with the sequence), or decoder layer `imageTokenLayer`'s output, as sequenceLoss
 * gives it.
 */

import * as F from "../tensor/ops/index.js";
import { IGNORE_INDEX } from "../tensor/ops/loss.js";
import type { Tensor } from "../tensor/tensor.js";
import { fromI32 } from "../tensor/tensor.js";
import { ShapeError } from "../util/errors.js";
import type { LayerTap } from "./llm/decoder.js";
import type { ImageTokenLoss, MultimodalModel } from "./multimodal.js";

/** One sequence of a packed batch: the unspliced prompt (ids and labels of one length) and its images [3, S, S]. */
export interface PackedSequence {
  ids: readonly number[];
  labels: readonly number[];
  images: readonly Tensor[];
  /** A loss term from each of its images' final hidden states (the trainer's dense image-token signal). */
  imageTokenLoss?: ImageTokenLoss;
}

export interface PackedLoss {
  /** [1]: scale · Σ cross-entropy over every predicted token of every sequence, plus the image-token terms. */
  loss: Tensor;
  /** The value of the image-token terms. */
  imageTokenLoss: number;
  /** Predicted tokens per sequence. */
  tokens: number[];
  /** Rows per sequence after splicing and cutting (what the LLM ran over). */
  positions: number[];
}

/** A run of rows of one sequence: text (from the batch's text embeddings) or one image's embeddings. */
interface Part {
  source: "text" | "image";
  /** First row in its source. */
  from: number;
  rows: number;
}

export function packedLoss(
  model: MultimodalModel,
  seqs: readonly PackedSequence[],
  scale: number,
  maxLength = model.config.maxLength,
  imageTokenLayer: number | null = null,
): PackedLoss {
  if (seqs.length === 0) throw new ShapeError("packedLoss: no sequences");
  const images = seqs.flatMap((s) => s.images);
  const imageEmbeds = images.length > 0 ? model.encodeImages(images) : null;
  // Each image's embeddings: how many, and the first of its rows in imageEmbeds.
  const imageTokens = images.map((px) => model.imageTokensAt(Math.round(Math.sqrt(px.numel / 3))));
  const imageRows: number[] = [];
  imageTokens.reduce((at, n) => {
    imageRows.push(at);
    return at + n;
  }, 0);

  const textIds: number[] = [];
  // Where each sequence's images sit in the packed rows: [sequence, its image index, first row, rows kept].
  const spans: Array<{ seq: number; image: number; row: number; rows: number }> = [];
  let packedRow = 0;
  const parts: Part[] = [];
  const targets: number[] = [];
  const positions: number[] = [];
  const tokens: number[] = [];
  let k = 0;
  for (const [j, s] of seqs.entries()) {
    const { ids, labels } = s;
    if (ids.length !== labels.length)
      throw new ShapeError(`sequence ${j}: ${ids.length} ids but ${labels.length} labels`);
    const places = ids.filter((id) => model.isPlaceholder(id)).length;
    if (places !== s.images.length)
      throw new ShapeError(
        `sequence ${j}: the prompt has ${places} image placeholder(s) but ${s.images.length} image(s) were given`,
      );
    // The spliced labels, then the rows they come from, both cut at maxLength.
    const spliced: number[] = [];
    let room = maxLength;
    const add = (p: Part) => {
      const rows = Math.min(p.rows, room);
      if (rows > 0) parts.push({ ...p, rows });
      room -= rows;
    };
    let start = 0;
    let image = 0;
    const text = (end: number) => {
      if (end <= start) return;
      // Only the ids inside the cut are looked up.
      const kept = Math.min(end - start, room);
      add({ source: "text", from: textIds.length, rows: end - start });
      for (let i = start; i < end; i++) {
        if (i < start + kept) textIds.push(ids[i]!);
        spliced.push(labels[i]!);
      }
    };
    ids.forEach((id, i) => {
      if (!model.isPlaceholder(id)) return;
      text(i);
      const n = imageTokens[k]!;
      const index = image++;
      if (room > 0)
        spans.push({ seq: j, image: index, row: packedRow + maxLength - room, rows: Math.min(n, room) });
      add({ source: "image", from: imageRows[k]!, rows: n });
      for (let r = 0; r < n; r++) spliced.push(IGNORE_INDEX);
      k++;
      start = i + 1;
    });
    text(ids.length);
    if (spliced.length === 0) throw new ShapeError(`sequence ${j}: empty prompt`);
    spliced.length = Math.min(spliced.length, maxLength);
    // Row i predicts token i + 1; the last row has nothing to predict.
    const shifted = [...spliced.slice(1), IGNORE_INDEX];
    targets.push(...shifted);
    positions.push(spliced.length);
    packedRow += spliced.length;
    tokens.push(shifted.filter((t) => t !== IGNORE_INDEX).length);
  }

  // The packed rows, gathered in one op from [image embeddings; text embeddings] (one scatter in the backward).
  const textEmbeds = textIds.length > 0 ? model.embedTokens(textIds) : null;
  const sources = [imageEmbeds, textEmbeds].filter((t): t is Tensor => t !== null);
  const source = sources.length === 1 ? sources[0]! : F.concatRows(sources);
  const textFrom = imageEmbeds?.dim(0) ?? 0;
  const order = parts.flatMap((p) =>
    Array.from({ length: p.rows }, (_, r) => (p.source === "image" ? 0 : textFrom) + p.from + r),
  );
  const embeds =
    order.length === source.dim(0) && order.every((r, i) => r === i)
      ? source
      : F.embedding(fromI32(model.backend, order), source);
  const tap: LayerTap | undefined = imageTokenLayer === null ? undefined : { after: imageTokenLayer };
  const hidden = model.llm.forwardPacked(embeds, positions, tap);
  // Only the rows that predict a token go through the LM head (at least one, so an all-masked batch gives 0).
  const kept = targets.flatMap((t, i) => (t !== IGNORE_INDEX ? [i] : []));
  const rows = kept.length > 0 ? kept : [0];
  const h = rows.length === targets.length ? hidden : F.embedding(fromI32(model.backend, rows), hidden);
  const logits = model.logits(h);
  let loss = F.crossEntropySum(
    logits,
    fromI32(
      model.backend,
      rows.map((i) => targets[i]!),
    ),
    scale,
  );
  // The image-token terms: every image's rows gathered at once, each term given its own rows of them.
  let extra = 0;
  const termed = spans.filter((s) => seqs[s.seq]!.imageTokenLoss);
  if (termed.length > 0) {
    const at = termed.flatMap((s) => Array.from({ length: s.rows }, (_, r) => s.row + r));
    const imageHidden = F.embedding(fromI32(model.backend, at), tap?.out ?? hidden);
    let from = 0;
    for (const { seq, image, rows } of termed) {
      const l = seqs[seq]!.imageTokenLoss!(imageHidden.slice(0, from, from + rows), image);
      from += rows;
      if (!l) continue;
      extra += l.toF32()[0]!;
      loss = F.add(loss, l);
    }
  }
  return { loss, imageTokenLoss: extra, tokens, positions };
}
