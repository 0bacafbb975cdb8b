/**
 * The dense image-token signal's targets: which of an image's tokens show what the question names. A record's
 * `named_boxes` (fractions of the image as stored) are carried through the tower's image processor (the pad to a
 * square, the shortest-edge resize and centre crop) onto its square grid of patches, row-major as the tower emits
 * its tokens; a patch is labelled 1 when a box covers at least a quarter of it, or holds the box's centre (so a
 * small object still marks its patch), else 0.
 *
 * With the question before the image, each image token can be asked directly whether it holds the object the
 * question names; supervising that beside the answer is what made the binding of a question's noun to one of
 * several objects reliable in the research sandbox (shared research, binding_levers.py).
 */
import { centreOffset, type ImageProcessorSpec } from "../io/image/index.js";
import { outputSize, shortestEdgeSize } from "../io/image/processor.js";
import { UsageError } from "../util/errors.js";
import type { NamedBox } from "./records.js";

/** Share of a patch a box must cover to mark it. */
const MIN_COVER = 0.25;

/** A box in fractions of the processed image (the tower's input). */
export function boxInTowerInput(
  box: NamedBox,
  width: number,
  height: number,
  spec: ImageProcessorSpec,
): NamedBox {
  // Pixels of the image as stored.
  let [x0, y0, x1, y1] = [box[0] * width, box[1] * height, box[2] * width, box[3] * height];
  let [w, h] = [width, height];
  if (spec.aspect === "pad") {
    const m = Math.max(w, h);
    const left = centreOffset(m, w);
    const top = centreOffset(m, h);
    [x0, x1, y0, y1] = [x0 + left, x1 + left, y0 + top, y1 + top];
    [w, h] = [m, m];
  }
  if (spec.kind === "clip") {
    const size = shortestEdgeSize(w, h, spec.shortestEdge);
    const [sx, sy] = [size.width / w, size.height / h];
    const out = outputSize(spec);
    const left = centreOffset(size.width, out.width);
    const top = centreOffset(size.height, out.height);
    [x0, x1, y0, y1] = [x0 * sx - left, x1 * sx - left, y0 * sy - top, y1 * sy - top];
    [w, h] = [out.width, out.height];
  }
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  return [clamp(x0 / w), clamp(y0 / h), clamp(x1 / w), clamp(y1 / h)];
}

/** 1/0 per image token (`tokens` = a square grid's patches) for boxes given in the tower input's fractions. */
export function labelsForBoxes(boxes: readonly NamedBox[], tokens: number): Float32Array {
  const g = Math.round(Math.sqrt(tokens));
  if (g * g !== tokens)
    throw new UsageError(`named_boxes need a square grid of image tokens; the tower gives ${tokens}`);
  const out = new Float32Array(tokens);
  for (const [x0, y0, x1, y1] of boxes) {
    for (let r = 0; r < g; r++) {
      const cover = Math.max(0, Math.min(y1, (r + 1) / g) - Math.max(y0, r / g)) * g;
      if (cover === 0) continue;
      for (let c = 0; c < g; c++) {
        const across = Math.max(0, Math.min(x1, (c + 1) / g) - Math.max(x0, c / g)) * g;
        if (across * cover >= MIN_COVER) out[r * g + c] = 1;
      }
    }
    // The patch under the box's centre, however small the box.
    const cr = Math.min(g - 1, Math.floor(((y0 + y1) / 2) * g));
    const cc = Math.min(g - 1, Math.floor(((x0 + x1) / 2) * g));
    if (x1 > x0 && y1 > y0) out[cr * g + cc] = 1;
  }
  return out;
}
