/**
 * `imp parity DIR...`: checks fixture folders (shared/fixtures/README.md format) against their golden outputs of
 * the official PyTorch code: model folders (config.json + golden.safetensors) and image preprocessing folders
 * (manifest.json + golden.safetensors). One line per fixture, backend and output; exit 1 if any is out of
 * tolerance. `--dtype q8|q4` loads every matrix (tower and connector too) quantized, to measure what quantized
 * products cost against the f32 goldens (with $IMP_INT_PRODUCTS=0 or 1 for the two ways of multiplying them).
 */
import { basename, resolve } from "node:path";
import type { Command } from "commander";
import { Option } from "commander";
import { fixtureKind } from "../../parity/fixture.js";

interface ParityCliOptions {
  backend: "js" | "wasm" | "both";
  threads?: number;
  tolerance?: number;
  dtype: "f32" | "q8" | "q4";
  kvDtype?: "f16" | "f32";
}

export function register(program: Command): void {
  program
    .command("parity")
    .description("compare fixture folders with the golden outputs of the official PyTorch code")
    .argument("<dir...>", "fixture folders: model folders or preprocess/ and preprocess-clip/")
    .addOption(
      new Option("--backend <name>", "backend to run").choices(["js", "wasm", "both"]).default("both"),
    )
    .option("--threads <n>", "threads for the wasm backend", (v) => Number.parseInt(v, 10))
    .addOption(
      new Option("--kv-dtype <type>", "KV cache element type (default: the loader's, f32)").choices([
        "f16",
        "f32",
      ]),
    )
    .option("--tolerance <x>", "max |ours − golden| / max |golden| for float outputs (default 1e-4)", Number)
    .addOption(
      new Option(
        "--dtype <format>",
        "load the models' matrices in this format (q8/q4: quantized, tower and connector too; the goldens are f32 math, so give --tolerance)",
      )
        .choices(["f32", "q8", "q4"])
        .default("f32"),
    )
    .addHelpText(
      "after",
      "\nExample:\n  imp parity ../shared/fixtures/tiny-imp-phi2 ../shared/fixtures/preprocess\n" +
        "Each line: fixture, backend, output, error, tolerance, ok|FAIL.",
    )
    .action(async (dirs: string[], o: ParityCliOptions) => {
      const { createBackend } = await import("../../backend/registry.js");
      const { modelParity, preprocessParity } = await import("../../parity/index.js");
      const kinds = dirs.map((d) => [resolve(d), fixtureKind(resolve(d))] as const);
      const names: Array<"js" | "wasm"> = o.backend === "both" ? ["js", "wasm"] : [o.backend];
      let failed = 0;
      for (const name of names) {
        const backend = await createBackend(name, { threads: o.threads });
        try {
          for (const [dir, kind] of kinds) {
            // Image preprocessing runs in plain TypeScript, not on a backend: check it once.
            if (kind === "preprocess" && name !== names[0]) continue;
            const label = kind === "preprocess" ? "-" : name;
            const results =
              kind === "model"
                ? await modelParity(dir, {
                    backend,
                    tolerance: o.tolerance,
                    dtype: o.dtype,
                    kvDtype: o.kvDtype,
                  })
                : await preprocessParity(dir);
            for (const r of results) {
              if (!r.ok) failed++;
              const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toExponential(2));
              const err = fmt(r.error);
              const tol = r.tolerance === 0 ? "exact" : fmt(r.tolerance);
              process.stdout.write(
                `${basename(dir).padEnd(18)} ${label.padEnd(4)} ${r.output.padEnd(34)} err ${err.padEnd(9)} ` +
                  `tol ${tol.padEnd(6)} ${r.ok ? "ok" : "FAIL"}${r.detail ? `  ${r.detail}` : ""}\n`,
              );
            }
          }
        } finally {
          backend.dispose();
        }
      }
      if (failed > 0) {
        process.stderr.write(`imp parity: ${failed} output(s) out of tolerance\n`);
        process.exitCode = 1;
      }
    });
}
