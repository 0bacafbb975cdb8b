/** `imp quantize`: writes a q8/q4 copy of a model folder that every other command loads. */
import type { Command } from "commander";
import { Option } from "commander";
import type { WeightDType } from "../../models/load.js";
import { positiveInt, resolveModelOption } from "../common.js";

interface QuantizeOptions {
  model: string;
  revision?: string;
  bits: "8" | "4";
  out: string;
  visionDtype?: WeightDType;
  visionTower?: string;
  threads?: number;
  force?: boolean;
}

export function register(program: Command): void {
  program
    .command("quantize")
    .description("write a copy of a model with 8- or 4-bit weights (GGUF Q8_0/Q4_0 blocks) for the LLM")
    .requiredOption("-m, --model <dir|org/name>", "model folder, or a Hugging Face Hub id, to quantize")
    .option("--revision <rev>", "with a Hub id: the branch, tag or commit (default: main)")
    .addOption(
      new Option("--bits <n>", "bits per weight of the LLM's matrices")
        .choices(["8", "4"])
        .makeOptionMandatory(),
    )
    .requiredOption("-o, --out <dir>", "output folder (written atomically)")
    .addOption(
      new Option("--vision-dtype <format>", "format of the vision tower and connector")
        .choices(["auto", "f32", "f16", "q8", "q4"])
        .default("f16"),
    )
    .option(
      "--vision-tower <dir>",
      "the tower folder mm_vision_tower names, if not found (LLaVA-1.5's CLIP, an Imp SigLIP folder)",
    )
    .option("--threads <n>", "threads", positiveInt("--threads"))
    .option("--force", "replace the output folder if it exists")
    .addHelpText(
      "after",
      "\nExample:\n  imp quantize --model Imp-v1.5-3B-Phi2 --bits 4 --out Imp-v1.5-3B-Phi2-q4",
    )
    .action(async (o: QuantizeOptions) => {
      const { loadModel } = await import("../../models/load.js");
      const { saveModelFolder } = await import("../../quant/save.js");
      const { createBackend } = await import("../../backend/registry.js");
      const { progressBar } = await import("../progress.js");
      const { folder, visionTower } = await resolveModelOption(o);
      const backend = await createBackend("wasm", { threads: o.threads });
      const bar = progressBar("quantizing");
      const loaded = await loadModel(folder, {
        backend,
        dtype: o.bits === "8" ? "q8" : "q4",
        visionDtype: o.visionDtype,
        visionTower,
        onProgress: (done, total) => bar.update(done, total),
      });
      bar.done();
      try {
        saveModelFolder(loaded, o.out, {
          overwrite: o.force,
          configPatch: {
            quantization_config: {
              quant_method: "imp-ts",
              format: o.bits === "8" ? "q8_0" : "q4_0",
              bits: Number(o.bits),
            },
          },
        });
        process.stderr.write(`wrote ${o.out}\n`);
      } finally {
        loaded.model.dispose();
        backend.dispose();
      }
    });
}
