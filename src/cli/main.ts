/** Entry point of the `imp` binary: registers every subcommand and runs. */
import { addCommandModule, main } from "./program.js";

addCommandModule(() => import("./commands/info.js"));
addCommandModule(() => import("./commands/eval.js"));
addCommandModule(() => import("./commands/parity.js"));
addCommandModule(() => import("./commands/run.js"));
addCommandModule(() => import("./commands/pull.js"));
addCommandModule(() => import("./commands/export.js"));
addCommandModule(() => import("./commands/train.js"));
addCommandModule(() => import("./commands/merge.js"));
addCommandModule(() => import("./commands/serve.js"));
addCommandModule(() => import("./commands/quantize.js"));

process.exitCode = await main(process.argv);
