/**
 * `npm run train:tiny`: makes the built-in model from scratch (src/builtin/build.ts): the generated world, its
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
import { buildBuiltinModel } from "../src/builtin/build.js";
import {
  type BuiltinPlan,
  checkLookPhases,
  checkRehearse,
  checkTrainMode,
  FULL_PLAN,
  SHORT_PLAN,
} from "../src/builtin/plan.js";
import { readJson } from "../src/eval/files.js";
import { ImpError, UsageError } from "../src/util/errors.js";
import { TINY_MODEL, TINY_WORK } from "./tiny-paths.js";

const isSection = (v: unknown): v is object => typeof v === "object" && v !== null && !Array.isArray(v);

/** The plan with `over`'s keys replacing its own, one level of sections deep (a list, as `look`, replaced whole). */
function mergePlan(plan: BuiltinPlan, over: Record<string, unknown>): BuiltinPlan {
  const out: Record<string, unknown> = { ...plan };
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    out[k] = isSection(v) && isSection(cur) ? { ...cur, ...v } : v;
  }
  return out as unknown as BuiltinPlan;
}

function readPlan(file: string): Record<string, unknown> {
  const over = readJson(file, "plan file");
  if (!isSection(over))
    throw new UsageError(`${file}: expected a JSON object of plan sections, got ${JSON.stringify(over)}`);
  return over as Record<string, unknown>;
}

const { values } = parseArgs({
  options: {
    work: { type: "string", default: TINY_WORK },
    out: { type: "string", default: TINY_MODEL },
    threads: { type: "string" },
    short: { type: "boolean", default: false },
    seed: { type: "string" },
    plan: { type: "string" },
    "tower-from": { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(
    "npm run train:tiny -- [--work DIR] [--out DIR] [--threads N] [--short] [--seed N] [--plan FILE.json]\n" +
      "Builds the built-in model from scratch (78 minutes on 2 Zen 5 cores, about 2.5× that on Zen 3; --short: a few steps of each stage).\n" +
      '--plan merges a JSON object over the plan of src/builtin/plan.ts (e.g. {"stage2": {"steps": 500}}).\n' +
      "--tower-from DIR takes the vision tower of a model this plan made (models/imp-tiny) instead of SigLIP\n" +
      "pretraining (stages 1 and 2 keep it frozen, so it is the tower that phase writes): for trying stage settings.\n",
  );
  process.exit(0);
}
async function main(): Promise<void> {
  const plan = mergePlan(values.short ? SHORT_PLAN : FULL_PLAN, values.plan ? readPlan(values.plan) : {});
  plan.look = checkLookPhases(plan.look, values.plan ? `${values.plan}: look` : "look");
  const stage2At = values.plan ? `${values.plan}: stage2` : "stage2";
  plan.stage2.train = checkTrainMode(plan.stage2.train, stage2At);
  plan.stage2.rehearse = checkRehearse(plan.stage2.rehearse, plan.look.length, stage2At);
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
    towerFrom: values["tower-from"],
    log: (line) => process.stderr.write(`[${stamp()}] ${line}\n`),
  });
  if (existsSync(out)) rmSync(out, { recursive: true, force: true });
  renameSync(staging, out);
  cpSync(join(values.work, "world", "world.json"), join(out, "world.json"));
  process.stderr.write(`[${stamp()}] wrote ${out}\n`);
  backend.dispose();
}

// A mistake the user can fix (a plan file, a world written with other settings) is one line, not a stack.
main().catch((e: unknown) => {
  if (!(e instanceof ImpError)) throw e;
  process.stderr.write(`train:tiny: ${e.message}\n`);
  process.exit(1);
});
