/**
 * `npm run train:tiny`: makes the built-in model from scratch (src/train/builtin.ts): the generated world, its
 * tokenizer, SigLIP and LM pretraining, stage 1 and stage 2 through the shipped recipes, the merge — then writes
 * it to models/imp-tiny. Resumable: finished steps in the work folder are reused and the stages resume from
 * their checkpoints. Deterministic for a seed, backend and thread count.
 *
 *   node --import tsx scripts/train-tiny.ts [--work DIR] [--out DIR] [--threads N] [--short] [--seed N]
 */
import { cpSync, existsSync, renameSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../src/backend/registry.js";
import { buildBuiltinModel, FULL_PLAN, SHORT_PLAN } from "../src/train/builtin.js";

const { values } = parseArgs({
  options: {
    work: { type: "string", default: ".cache/train-tiny" },
    out: { type: "string", default: "models/imp-tiny" },
    threads: { type: "string" },
    short: { type: "boolean", default: false },
    seed: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(
    "npm run train:tiny -- [--work DIR] [--out DIR] [--threads N] [--short] [--seed N]\n" +
      "Builds the built-in model from scratch (about 90 minutes on 2 cores; --short: a few steps of each stage).\n",
  );
  process.exit(0);
}
const plan = { ...(values.short ? SHORT_PLAN : FULL_PLAN) };
if (values.seed) plan.seed = Number(values.seed);
const started = performance.now();
const stamp = () => `${((performance.now() - started) / 60000).toFixed(1).padStart(5)} min`;
const backend = await createBackend("wasm", values.threads ? { threads: Number(values.threads) } : {});
const out = resolve(values.out);
const staging = join(dirname(out), `.${out.split("/").pop()}.new`);
rmSync(staging, { recursive: true, force: true });
await buildBuiltinModel(plan, {
  work: values.work,
  out: staging,
  backend,
  log: (line) => process.stderr.write(`[${stamp()}] ${line}\n`),
});
if (existsSync(out)) rmSync(out, { recursive: true, force: true });
renameSync(staging, out);
cpSync(join(values.work, "world", "world.json"), join(out, "world.json"));
process.stderr.write(`[${stamp()}] wrote ${out}\n`);
backend.dispose();
