/** Entry point of the `imp` binary: registers every subcommand and runs. */
import { addCommandModule, main } from "./program.js";

addCommandModule(() => import("./commands/info.js"));

process.exitCode = await main(process.argv);
