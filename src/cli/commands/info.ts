/** `imp info`: what this installation has (version, backends, threads, SIMD features). */
import type { Command } from "commander";
import { packageVersion } from "../../util/package-version.js";

export function register(program: Command): void {
  program
    .command("info")
    .description("print the version, the available compute backends and the thread count")
    .action(async () => {
      const { describeBackends } = await import("../../backend/registry.js");
      const info = { version: packageVersion(), node: process.version, ...(await describeBackends()) };
      process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    });
}
