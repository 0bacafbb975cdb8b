/** TEST-ONLY: the image fixtures' goldens (U8 and F32 tensors) as a map, read through the safetensors reader. */
import { Checkpoint } from "../io/safetensors/index.js";

export interface TestTensor {
  dtype: "U8" | "F32";
  shape: number[];
  data: Uint8Array | Float32Array;
}

export function readTestSafetensors(path: string): Map<string, TestTensor> {
  const ck = Checkpoint.open(path);
  const out = new Map<string, TestTensor>();
  try {
    for (const name of ck.names()) {
      const e = ck.info(name);
      const bytes = ck.readBytes(name);
      if (e.dtype === "U8") out.set(name, { dtype: "U8", shape: [...e.shape], data: bytes });
      else if (e.dtype === "F32")
        out.set(name, {
          dtype: "F32",
          shape: [...e.shape],
          data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4),
        });
      else
        throw new Error(
          `${path}: tensor ${name} has dtype ${e.dtype}; this test reader knows U8 and F32 only`,
        );
    }
  } finally {
    ck.close();
  }
  return out;
}

export function testTensor(map: Map<string, TestTensor>, name: string): TestTensor {
  const t = map.get(name);
  if (!t) throw new Error(`golden tensor ${name} missing`);
  return t;
}
