// Sizes the host asks the module for (so they live in one place): per-thread scratch, sumSquares chunks.
import { CONVERT_CHUNK } from "./convert";
import { GEMM_SCRATCH } from "./gemm";
import { linearQuantScratch } from "./linearquant";
import { linearQuantGemmScratch } from "./linearquantgemm";
import { DOT_SCRATCH } from "./matvec";
import { SUMSQ_CHUNK } from "./reduce";

/** Bytes of scratch each thread needs for any kernel call with inner dimension k. */
export function scratchBytes(k: i32): i32 {
  return max(max(GEMM_SCRATCH, DOT_SCRATCH), max(CONVERT_CHUNK * 4, max(linearQuantScratch(k), linearQuantGemmScratch(k))));
}

/** Elements per partial sum of sumSquares (the host adds the partials in order). */
export function sumSquaresChunk(): i32 {
  return SUMSQ_CHUNK;
}
