/** `imp export gguf`: write a model as llama.cpp GGUF files (the LLM with its tokenizer, and the mmproj). */
import type { Command } from "commander";
import { Option } from "commander";
import { positiveInt } from "../common.js";

interface ExportGgufOptions {
  model?: string;
  revision?: string;
  out: string;
  quant: "f32" | "f16" | "q8_0" | "q4_0";
  mmprojQuant: "f32" | "f16" | "q8_0";
  mmproj: boolean;
  name?: string;
  tokenizer?: string;
  visionTower?: string;
  backend: "js" | "wasm";
  threads?: number;
  json?: boolean;
}

function size(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

export function register(program: Command): void {
  const exp = program.command("export").description("write a model in another runtime's format");
  exp
    .command("gguf")
    .description(
      "write the LLM (with its tokenizer) and the vision tower + connector (mmproj) as llama.cpp GGUF files",
    )
    .option(
      "-m, --model <dir|org/name>",
      "model folder (config.json + safetensors + tokenizer), or a Hugging Face Hub id; default: the built-in model",
    )
    .option("--revision <rev>", "with a Hub id: the branch, tag or commit (default: main)")
    .requiredOption("-o, --out <dir>", "folder for the .gguf files (created if missing)")
    .addOption(
      new Option(
        "--quant <format>",
        "LLM weights: Q8_0/Q4_0 blocks (byte-identical to --dtype q8/q4), F16 or F32",
      )
        .choices(["q8_0", "q4_0", "f16", "f32"])
        .default("f16"),
    )
    .addOption(
      new Option("--mmproj-quant <format>", "vision tower and connector weights")
        .choices(["f16", "q8_0", "f32"])
        .default("f16"),
    )
    .option("--no-mmproj", "write the LLM only")
    .option("--name <name>", "general.name and the file name stem (default: the model folder's name)")
    .option("--tokenizer <dir>", "folder with the tokenizer files (default: the model folder)")
    .option(
      "--vision-tower <dir>",
      "the tower folder mm_vision_tower names, if not found (LLaVA-1.5's CLIP, an Imp SigLIP folder)",
    )
    .addOption(
      new Option("--backend <name>", "backend used to convert tensors")
        .choices(["wasm", "js"])
        .default("wasm"),
    )
    .option("--threads <n>", "threads for the wasm backend", positiveInt("--threads"))
    .option("--json", "print one JSON object describing the files written")
    .addHelpText(
      "after",
      "\nExample:\n" +
        "  imp export gguf --model checkpoints/Imp-v1.5-3B-Phi2 --out gguf --quant q4_0\n" +
        "  llama-mtmd-cli --jinja -m gguf/Imp-v1.5-3B-Phi2-Q4_0.gguf --mmproj gguf/mmproj-Imp-v1.5-3B-Phi2-F16.gguf \\\n" +
        '      --image photo.jpg -p "What is in the picture?"\n' +
        "Weights are converted one tensor at a time; each file appears only when complete.",
    )
    .action(async (o: ExportGgufOptions) => {
      const { resolveModelOption } = await import("../common.js");
      const { createBackend } = await import("../../backend/registry.js");
      const { exportGgufFromFolder } = await import("../../export/gguf/export.js");
      const m = await resolveModelOption(o);
      const backend = await createBackend(o.backend, { threads: o.threads });
      try {
        const t0 = performance.now();
        const r = await exportGgufFromFolder(m.folder, o.out, {
          quant: o.quant,
          mmprojQuant: o.mmprojQuant,
          mmproj: o.mmproj ? undefined : false,
          name: o.name ?? m.name,
          tokenizerDir: o.tokenizer,
          visionTower: m.visionTower,
          backend,
        });
        const seconds = (performance.now() - t0) / 1000;
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify({ llm: r.llm, mmproj: r.mmproj, warnings: r.warnings, seconds })}\n`,
          );
          return;
        }
        for (const f of [r.llm, r.mmproj])
          if (f) process.stdout.write(`${f.file}  ${size(f.bytes)}, ${f.tensors} tensors\n`);
        for (const w of r.warnings) process.stderr.write(`note: ${w}\n`);
      } finally {
        backend.dispose();
      }
    });
}
