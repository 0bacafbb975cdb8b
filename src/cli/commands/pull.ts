/** `imp pull`: download a model from the Hugging Face Hub into the Hub cache that Python's huggingface_hub shares. */
import type { Command } from "commander";

interface PullCliOptions {
  revision?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("pull")
    .description(
      "download a model from the Hugging Face Hub (only the files imp-ts needs) into the Hub cache",
    )
    .argument("<model>", "Hub model id, e.g. MILVLG/Imp-v1.5-3B-Phi2")
    .option("--revision <rev>", "branch, tag or commit", "main")
    .option("--json", "print one JSON object (repo, commit, folder, bytes downloaded) instead of the folder")
    .addHelpText(
      "after",
      "\nThe snapshot folder is printed on stdout; every --model accepts the id itself too.\n" +
        "Files go to the cache Python uses ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub),\n" +
        "so a model downloaded with Python is not downloaded again. An interrupted pull resumes.\n" +
        "Environment: HF_TOKEN (gated or private models), HF_HUB_OFFLINE=1 (cache only), HF_ENDPOINT (a mirror).\n" +
        '\nExample:\n  imp pull MILVLG/Imp-v1.5-3B-Phi2\n  imp run --model MILVLG/Imp-v1.5-3B-Phi2 --dtype q4 --image photo.jpg "What is this?"',
    )
    .action(async (model: string, o: PullCliOptions) => {
      const { checkRepoId } = await import("../../hub/index.js");
      const { resolveModelSource } = await import("../../models/source.js");
      const { downloadProgress, formatBytes } = await import("../download-progress.js");
      checkRepoId(model);
      const progress = downloadProgress();
      let r: Awaited<ReturnType<typeof resolveModelSource>>;
      try {
        r = await resolveModelSource(model, { revision: o.revision, hub: { onEvent: progress.onEvent } });
      } finally {
        progress.finish();
      }
      const p = r.pulled!;
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify({
            repo: p.repo,
            revision: p.revision,
            commit: p.commit,
            folder: p.folder,
            visionFolder: p.visionFolder,
            downloadedBytes: p.downloadedBytes,
            fromCache: p.fromCache,
          })}\n`,
        );
        return;
      }
      process.stderr.write(
        `${p.repo} (${p.revision}, commit ${p.commit.slice(0, 10)}): ` +
          (p.downloadedBytes > 0 ? `downloaded ${formatBytes(p.downloadedBytes)}` : "already in the cache") +
          (p.visionFolder ? `; vision tower in ${p.visionFolder}` : "") +
          "\n",
      );
      process.stdout.write(`${p.folder}\n`);
    });
}
