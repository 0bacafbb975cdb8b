/** `imp train RECIPE`: run a training recipe (stage 1, stage 2 LoRA, or full fine-tuning); see src/train/run.ts. */
import type { Command } from "commander";
import { Option } from "commander";
import { positiveInt } from "../common.js";

interface TrainCliOptions {
  set: string[];
  resume?: boolean;
  skipBad?: boolean;
  backend?: "wasm" | "js";
  threads?: number;
}

const HELP = `
Recipe keys (JSON or YAML; override any with --set KEY=VALUE, dotted for lora.*):
  stage 1|2            1: connector only, plain template; 2: LoRA + connector, model's template
  base DIR|ORG/NAME    base model folder (config.json, weights, tokenizer), or a Hugging Face Hub id
  data FILE|{...}      mixture file (JSON/YAML: sources with weight/cap, drop, exclude_ids, seed)
  output DIR           run folder (checkpoints, metrics, outputs)
  train                connector | lora | full          template   plain | model | phi2 | qwen2 | phi3
  connector_init       base | random | FILE-or-stage-1-DIR (mm_projector.safetensors)
  lora.rank lora.alpha lora.dropout lora.target_modules ("all-linear" or [q_proj, ...])
  lr connector_lr global_batch epochs max_steps schedule (cosine|linear|constant) warmup_ratio
  group_by_modality_length  true: batches of image or of text-only records, as Imp's stage 2
  weight_decay adam_beta1 adam_beta2 adam_eps max_grad_norm max_length seed
  save_every keep_checkpoints log_every base_dtype (auto|f32|f16|q8|q4) backend threads
  skip_bad validate_images
  image_token_loss W   the dense image-token signal (question-first models): a head on the image tokens learns
                       which show what the question names, from the records' named_boxes (0: off)
  image_token_layer N  that head reads decoder layer N's output (0-based) instead of the final hidden states
  image_token_head_init RUN-or-FILE  start that head from an earlier run's image_token_head.safetensors
Values are read as YAML scalars: --set lr=1e-3 --set max_steps=20 --set lora.target_modules=[q_proj,v_proj]
Paths in a recipe are relative to the working directory; paths in a mixture file to the mixture file.

Outputs in OUTPUT: mm_projector.safetensors (connector), adapter_model.safetensors + adapter_config.json
(LoRA, PEFT layout), model/ (full), image_token_head.safetensors (with image_token_loss), metrics.jsonl,
curve.svg, train_config.json, mixture.resolved.json, checkpoints/step-N/ (resume with --resume after any
interruption).

Examples:
  imp train recipes/imp-stage1.json --set base=models/imp-base --set data=data/pretrain.yaml
  imp train recipes/imp-stage2-lora.json --set connector_init=runs/imp-stage1 --resume
  imp merge --base models/imp-base --adapter runs/imp-stage2-lora --out models/imp-mine`;

export function register(program: Command): void {
  program
    .command("train")
    .description("train a model with a recipe (Imp stage 1 / stage 2 LoRA / full fine-tuning)")
    .argument("<recipe>", "recipe file (JSON or YAML), e.g. recipes/imp-stage2-lora.json")
    .option(
      "--set <key=value>",
      "override a recipe key (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--resume", "continue from the newest checkpoint in the output folder")
    .option("--skip-bad", "skip and count bad records instead of stopping (= --set skip_bad=true)")
    .addOption(
      new Option("--backend <name>", "compute backend (= --set backend=...)").choices(["wasm", "js"]),
    )
    .option("--threads <n>", "threads (= --set threads=N)", positiveInt("--threads"))
    .addHelpText("after", HELP)
    .action(async (file: string, o: TrainCliOptions) => {
      const { loadRecipe } = await import("../../train/recipe.js");
      const { runTraining } = await import("../../train/run.js");
      const sets = [...o.set];
      if (o.skipBad) sets.push("skip_bad=true");
      if (o.backend) sets.push(`backend=${o.backend}`);
      if (o.threads) sets.push(`threads=${o.threads}`);
      const recipe = loadRecipe(file, sets);
      // A Hub id as the base is pulled (or found in the Hub cache) and trained on as its snapshot folder.
      const { resolveModelOption } = await import("../common.js");
      const base = await resolveModelOption({ model: recipe.base });
      await runTraining({ ...recipe, base: base.folder }, { resume: o.resume });
    });
}
