/** Token cross-entropy with ignored positions (labels = −100 where the loss is masked, as LLaVA does). */
import { ShapeError } from "../../util/errors.js";
import type { Tensor } from "../tensor.js";
import { empty } from "../tensor.js";
import { dense, expectDType, expectF32 } from "./check.js";

export const IGNORE_INDEX = -100;

/** Per-row losses [rows] (0 where ignored). */
export function crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex = IGNORE_INDEX): Tensor {
  expectF32("crossEntropy", "logits", logits);
  expectDType("crossEntropy", "targets", targets, ["i32"]);
  const vocab = logits.dim(-1);
  const rows = logits.numel / vocab;
  if (targets.numel !== rows) throw new ShapeError(`crossEntropy: ${targets.numel} targets for ${rows} rows`);
  const ld = dense(logits);
  const td = dense(targets);
  const out = empty(logits.backend, "f32", [rows]);
  logits.backend.crossEntropy(ld.ptr, td.ptr, out.ptr, rows, vocab, ignoreIndex);
  if (ld !== logits) ld.dispose();
  if (td !== targets) td.dispose();
  return out;
}
