/**
 * What the integer products cost in accuracy on the parity fixtures: each model folder loaded with q8 and q4
 * weights (tower and connector too), its image encoded and its prompt prefilled twice on the same backend, once
 * with integer products (activations quantized to q8 blocks) and once with the f32 GEMM over the same weights
 * widened to f32; prints max |int − f32| / max |f32| per output, and, for scale, each way's error against the
 * fixture's f32 golden (what `imp parity --dtype` reports).
 *
 *   node --import tsx scripts/int-products-error.ts [--backend wasm|js] DIR...
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Backend } from "../src/backend/backend.js";
import { createBackend } from "../src/backend/registry.js";
import { Checkpoint } from "../src/io/safetensors/index.js";
import { loadModel } from "../src/models/load.js";
import { readGolden, relError } from "../src/parity/model.js";
import { tidy } from "../src/tensor/scope.js";
import { fromF32 } from "../src/tensor/tensor.js";
import { helpFromHeader } from "./help.js";

helpFromHeader(import.meta.url);
const { values, positionals } = parseArgs({
  options: { backend: { type: "string", default: "wasm" } },
  allowPositionals: true,
});
if (values.backend !== "wasm" && values.backend !== "js")
  throw new Error(`--backend: expected wasm or js, got ${values.backend}`);

const OUTPUTS = ["vision_features", "image_embeds", "logits"] as const;
type Outputs = Record<(typeof OUTPUTS)[number], Float32Array>;

async function prefill(folder: string, backend: Backend, dtype: "q8" | "q4"): Promise<Outputs> {
  const golden = Checkpoint.open(join(folder, "golden.safetensors"));
  const { model } = await loadModel(folder, { backend, dtype, visionDtype: dtype });
  try {
    const ids = Array.from(readGolden(golden, "input_ids").values);
    const px = readGolden(golden, "pixel_values");
    return tidy(() => {
      const pixels = fromF32(backend, px.values, px.shape.slice(1));
      const { features, embeds } = model.encodeImage(pixels);
      const cache = model.newCache();
      try {
        const logits = model.logits(model.forward(model.embed(ids, [embeds]), cache)).toF32();
        return { vision_features: features.toF32(), image_embeds: embeds.toF32(), logits };
      } finally {
        cache.dispose();
      }
    });
  } finally {
    golden.close();
    model.dispose();
  }
}

const backend = await createBackend(values.backend);
const fmt = (x: number) => x.toExponential(2);
console.log(
  "| fixture | weights | output | integer vs f32 products | integer vs golden | f32 products vs golden |",
);
console.log("| --- | --- | --- | ---: | ---: | ---: |");
try {
  for (const folder of positionals) {
    for (const dtype of ["q8", "q4"] as const) {
      backend.intProducts = true;
      const int = await prefill(folder, backend, dtype);
      backend.intProducts = false;
      const f32 = await prefill(folder, backend, dtype);
      const golden = Checkpoint.open(join(folder, "golden.safetensors"));
      for (const out of OUTPUTS) {
        const g = readGolden(golden, out).values;
        const name = folder.replace(/\/+$/, "").split("/").pop();
        console.log(
          `| ${name} | ${dtype} | ${out} | ${fmt(relError(int[out], f32[out]))} | ${fmt(relError(int[out], g))} | ${fmt(relError(f32[out], g))} |`,
        );
      }
      golden.close();
    }
  }
} finally {
  backend.dispose();
}
