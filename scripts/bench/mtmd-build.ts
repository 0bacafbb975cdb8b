/**
 * llama.cpp's image-encoding CLI (`llama-mtmd-cli`) for the bench's vision column. node-llama-cpp, the text peer,
 * has no image input but ships the llama.cpp sources it was built from as a git bundle; the bench builds the CLI
 * from that bundle once, into its cache, so both llama.cpp columns come from one release and nothing is fetched.
 * A build of one's own can be named with $IMP_BENCH_LLAMA_BIN (the folder holding `llama-mtmd-cli`).
 */
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { tryRun } from "./limits.js";

export type MtmdCli = { bin: string; source: string } | { bin: null; why: string };

const BIN = "llama-mtmd-cli";

/** The folder of node-llama-cpp's bundled llama.cpp sources, or null where the package has none. */
export function llamaCppBundle(): { bundle: string; release: string } | null {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    // The package exports no package.json: its entry lies in dist/, one folder below the package's root.
    pkg = dirname(dirname(require.resolve("node-llama-cpp")));
  } catch {
    return null;
  }
  const bundle = join(pkg, "llama", "gitRelease.bundle");
  if (!existsSync(bundle)) return null;
  let release = "unknown release";
  try {
    const info = require(join(pkg, "llama", "llama.cpp.info.json")) as { tag?: string };
    if (info.tag) release = `llama.cpp ${info.tag}`;
  } catch {
    // the info file is optional; the bundle alone builds
  }
  return { bundle, release };
}

function missingTool(): string | null {
  for (const [tool, args] of [
    ["git", ["--version"]],
    ["cmake", ["--version"]],
    ["c++", ["--version"]],
  ] as const)
    if (tryRun(tool, args) === null)
      return `${tool} is not installed (the build needs git, cmake and a C++ compiler)`;
  return null;
}

/**
 * The CLI to time: $IMP_BENCH_LLAMA_BIN's, else the one built in `cache` by an earlier bench, else built now
 * (`build`: false only looks). Every step's output goes to `cache/llama-mtmd/build.log`; a failure says why and
 * where to read more, and the column is skipped, never guessed.
 */
export async function findOrBuildMtmd(
  cache: string,
  log: (s: string) => void,
  build = true,
): Promise<MtmdCli> {
  const own = process.env.IMP_BENCH_LLAMA_BIN;
  if (own) {
    const bin = join(own, BIN);
    return existsSync(bin)
      ? { bin, source: `${bin} ($IMP_BENCH_LLAMA_BIN)` }
      : { bin: null, why: `$IMP_BENCH_LLAMA_BIN=${own} holds no ${BIN}` };
  }
  const root = join(cache, "llama-mtmd");
  const built = join(root, "build", "bin", BIN);
  const src = llamaCppBundle();
  if (!src)
    return {
      bin: null,
      why: "node-llama-cpp ships no llama.cpp sources here (node_modules/node-llama-cpp/llama/gitRelease.bundle)",
    };
  const source = `built by the bench from node-llama-cpp's bundled ${src.release} sources (${built})`;
  if (existsSync(built)) return { bin: built, source };
  if (!build) return { bin: null, why: `not built yet (${built})` };
  const tool = missingTool();
  if (tool) return { bin: null, why: tool };

  mkdirSync(root, { recursive: true });
  const logFile = join(root, "build.log");
  const out = createWriteStream(logFile);
  // cmake's "[ 42%]" lines drive the progress: one log line per tenth, the rest to the log file.
  const step = (what: string, cmd: string, args: string[]): Promise<boolean> =>
    new Promise((done) => {
      log(`${BIN}: ${what} …`);
      const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
      let shown = -1;
      const read = (chunk: Buffer) => {
        out.write(chunk);
        for (const m of chunk.toString().matchAll(/^\[\s*(\d+)%\]/gm)) {
          const tenth = Math.floor(Number(m[1]) / 10);
          if (tenth > shown) {
            shown = tenth;
            log(`${BIN}: ${what}: ${m[1]} %`);
          }
        }
      };
      child.stdout.on("data", read);
      child.stderr.on("data", read);
      child.on("error", () => done(false));
      child.on("close", (code) => done(code === 0));
    });
  try {
    const checkout = join(root, "src");
    if (!existsSync(join(checkout, "CMakeLists.txt"))) {
      // Cloned beside, then renamed: a killed clone never passes for sources.
      const partial = join(root, "src.partial");
      rmSync(partial, { recursive: true, force: true });
      const cloned = await step(`unpacking ${src.release}`, "git", ["clone", "--quiet", src.bundle, partial]);
      if (!cloned) return { bin: null, why: `git clone of ${src.bundle} failed (${logFile})` };
      rmSync(checkout, { recursive: true, force: true });
      renameSync(partial, checkout);
    }
    const dir = join(root, "build");
    // Static, for this CPU, the CLI alone: what the bench times and nothing it would need to find at run time.
    const options = ["CMAKE_BUILD_TYPE=Release", "GGML_NATIVE=ON", "BUILD_SHARED_LIBS=OFF", "LLAMA_CURL=OFF"];
    const configure = ["-S", checkout, "-B", dir, ...options.map((o) => `-D${o}`)];
    const configured = await step("configuring (cmake, native CPU)", "cmake", configure);
    if (!configured) return { bin: null, why: `cmake could not configure the sources (${logFile})` };
    const jobs = String(Math.max(1, cpus().length));
    const compiled = await step(`compiling on ${jobs} cores (once)`, "cmake", [
      "--build",
      dir,
      "--target",
      BIN,
      "-j",
      jobs,
    ]);
    if (!compiled) return { bin: null, why: `the build of ${BIN} failed (${logFile})` };
  } finally {
    out.end();
  }
  return existsSync(built)
    ? { bin: built, source }
    : { bin: null, why: `the build wrote no ${built} (${logFile})` };
}
