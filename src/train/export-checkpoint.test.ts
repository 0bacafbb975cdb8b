/** exportCheckpoint's durability: every file of the folder is on disk before the folder is renamed into place. */
import assert from "node:assert/strict";
import fs, { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, mock, test } from "node:test";
import { makeTinyBase } from "../testing/training-material.js";
import { exportCheckpoint } from "./export-checkpoint.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-export-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("the copied config and tokenizer files are fsynced before the folder's rename", () => {
  const base = makeTinyBase(join(tmp, "base"));
  const out = join(tmp, "out");
  // Record, in order, which files are fsynced (by the path of the descriptor) and which folders renamed.
  const events: string[] = [];
  const fsync = fs.fsyncSync;
  const rename = fs.renameSync;
  mock.method(fs, "fsyncSync", (fd: number) => {
    events.push(`fsync ${basename(readlinkSync(`/proc/self/fd/${fd}`))}`);
    fsync(fd);
  });
  mock.method(fs, "renameSync", (from: fs.PathLike, to: fs.PathLike) => {
    events.push(`rename ${basename(String(to))}`);
    rename(from, to);
  });
  syncBuiltinESMExports();
  try {
    exportCheckpoint(base, out, () => null);
  } finally {
    mock.restoreAll();
    syncBuiltinESMExports();
  }
  const renamed = events.indexOf("rename out");
  assert.ok(renamed > 0, events.join("\n"));
  for (const f of readdirSync(out)) {
    // Written files are synced under their temporary name (`.NAME.PID.RANDOM.tmp`), then renamed.
    const synced = events.findIndex((e) => e === `fsync ${f}` || e.startsWith(`fsync .${f}.`));
    assert.ok(
      synced >= 0 && synced < renamed,
      `${f} is not fsynced before the rename:\n${events.join("\n")}`,
    );
  }
  for (const f of ["config.json", "tokenizer.json"])
    assert.deepEqual(readFileSync(join(out, f)), readFileSync(join(base, f)));
});
