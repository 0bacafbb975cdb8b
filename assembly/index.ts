// Entry of the WebAssembly kernel module (built by scripts/build-wasm.mjs): re-exports every kernel. Each
// takes its arguments, then (tid, nth), and computes share tid of nth. Kernels allocate nothing and use no
// static data: several instances (one per thread) share one memory, and work only through the pointers given.
export { activation, activationBackward, swiglu, swigluBackward } from "./activations";
export { convert } from "./convert";
export { decodeAttention, decodeAttentionScratch } from "./decodeattn";
export { add, axpy, copyStrided, fill, mul, scale } from "./elementwise";
export { repackQ4 } from "./formats";
export { embedding, embeddingBackward, patchify } from "./gather";
export { gemm } from "./gemm";
export { linearQuant } from "./linearquant";
export { linearQuantGemm } from "./linearquantgemm";
export { linearDot } from "./matvec";
export { layerNorm, layerNormBackwardRows, normBackwardCols, rmsNorm, rmsNormBackwardRows } from "./norms";
export { relaxedDotProbe } from "./probe";
export { rowSums, sumRows, sumSquares } from "./reduce";
export { rope } from "./rope";
export { crossEntropy, crossEntropyBackward, softmax, softmaxBackward } from "./softmax";
export { scratchBytes, sumSquaresChunk } from "./scratch";
