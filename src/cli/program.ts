/**
 * The `imp` command line: one commander program; each subcommand lives in `src/cli/commands/` and
 * registers itself here. Errors a user can cause (ImpError) print their message and exit 1; the stack is
 * printed only with --debug.
 */
import { Command } from "commander";
import { ImpError } from "../util/errors.js";
import { packageVersion } from "../util/package-version.js";

const commandModules: Array<() => Promise<{ register(program: Command): void }>> = [];

/** Registers a subcommand module, loaded lazily so `imp --help` stays fast. */
export function addCommandModule(load: () => Promise<{ register(program: Command): void }>): void {
  commandModules.push(load);
}

export async function buildProgram(): Promise<Command> {
  const program = new Command("imp")
    .description(
      "imp-ts: run, shrink, train, evaluate and serve Imp multimodal models (SigLIP + MLP + small LLM) on CPU.",
    )
    .version(packageVersion(), "-V, --version", "print the version")
    .option("--debug", "print stack traces of errors")
    .showHelpAfterError("(run with --help for usage)");
  for (const load of commandModules) (await load()).register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("commander.")) {
      // commander already printed help, the version, or the usage error.
      return (err as { exitCode?: number }).exitCode ?? 1;
    }
    const debug = program.opts<{ debug?: boolean }>().debug || process.argv.includes("--debug");
    if (err instanceof ImpError && !debug) {
      process.stderr.write(`imp: ${err.message}\n`);
    } else {
      process.stderr.write(`imp: ${debug && err instanceof Error ? err.stack : String(err)}\n`);
    }
    return 1;
  }
}
