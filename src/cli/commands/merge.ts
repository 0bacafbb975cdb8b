/** `imp merge`: fold a LoRA adapter (and a trained connector) into a full checkpoint in the base's layout. */
import type { Command } from "commander";
import { Option } from "commander";
import { positiveInt, resolveModelOption } from "../common.js";

interface MergeCliOptions {
  base: string;
  adapter: string;
  out: string;
  backend: "wasm" | "js";
  threads?: number;
}

export function register(program: Command): void {
  program
    .command("merge")
    .description(
      "merge a training run's LoRA adapter and connector into a full checkpoint (same layout as the base)",
    )
    .requiredOption(
      "--base <dir|org/name>",
      "the base model the run trained on: a folder or a Hugging Face Hub id",
    )
    .requiredOption(
      "--adapter <dir>",
      "run output (adapter_model.safetensors + adapter_config.json and/or mm_projector.safetensors), " +
        "or one of its checkpoints (RUN/checkpoints/step-N, to look at a run before it ends)",
    )
    .requiredOption("--out <dir>", "new model folder (must not exist or be empty)")
    .addOption(new Option("--backend <name>", "compute backend").choices(["wasm", "js"]).default("wasm"))
    .option("--threads <n>", "threads", positiveInt("--threads"))
    .addHelpText(
      "after",
      "\nExample:\n  imp merge --base models/imp-base --adapter runs/imp-stage2-lora --out models/imp-mine\n" +
        '  imp run --model models/imp-mine --image cat.png "What is this?"\n' +
        "  imp merge --base models/imp-base --adapter runs/imp-stage2-lora/checkpoints/step-000200 --out models/imp-200",
    )
    .action(async (o: MergeCliOptions) => {
      const { createBackend } = await import("../../backend/registry.js");
      const { mergeAdapter } = await import("../../train/merge.js");
      const { folder: base } = await resolveModelOption({ model: o.base });
      const backend = await createBackend(o.backend, { threads: o.threads });
      try {
        const r = mergeAdapter({ base, adapter: o.adapter, out: o.out, backend });
        process.stdout.write(
          `merged ${r.loraModules} LoRA module(s)${r.connector ? " and the connector" : ""} into ${o.out} ` +
            `(${r.edited.length} parameters changed, ${r.files.length} weight file(s))\n`,
        );
      } finally {
        backend.dispose();
      }
    });
}
