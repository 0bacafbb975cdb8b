/** The tensor-level op set models are written in. */

export { writeRows } from "../tensor.js";
export type { AttentionOptions } from "./attention.js";
export { attention } from "./attention.js";
export { cast } from "./convert.js";
export type { DecodeAttentionOptions } from "./decode-attention.js";
export { DECODE_ROWS, decodeAttention } from "./decode-attention.js";
export { dropout } from "./dropout.js";
export {
  activationByName,
  add,
  addInPlace,
  geluErf,
  geluTanh,
  mul,
  quickGelu,
  scale,
  silu,
  swiglu,
} from "./elementwise.js";
export { concatRows, embedding, patchify } from "./gather.js";
export { linear, matmul, SMALL_M } from "./linear.js";
export { binaryCrossEntropySum, crossEntropy, crossEntropySum, IGNORE_INDEX } from "./loss.js";
export { layerNorm, rmsNorm } from "./norm.js";
export { maxRows, mean, sum } from "./reduce.js";
export type { RopeTable } from "./rope.js";
export { rope, ropeTable } from "./rope.js";
export { softmax } from "./softmax.js";
