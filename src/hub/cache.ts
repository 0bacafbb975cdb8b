/**
 * One model repository in the Hub cache, in huggingface_hub's layout (`file_download.py`), so that Python and
 * imp-ts read each other's downloads:
 *
 *   <cache>/models--org--name/blobs/<etag>                    file contents, named by the Hub's ETag: the SHA-256
 *                                                             of an LFS file, the git blob id of a small one
 *   <cache>/models--org--name/blobs/<etag>.incomplete         a download in progress (appended to on resume)
 *   <cache>/models--org--name/snapshots/<commit>/<path>       relative symlink to ../../blobs/<etag>
 *   <cache>/models--org--name/refs/<revision>                 the commit a branch or tag pointed to
 *   <cache>/.locks/models--org--name/<etag>.lock              Python's lock file for that blob
 */
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { writeFileAtomic } from "../util/atomic-file.js";
import { HubError } from "./errors.js";

export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** The folder name of a model repo: "models--" + the id with "/" replaced by "--". */
export function repoFolderName(repo: string): string {
  return `models--${repo.split("/").join("--")}`;
}

export class RepoCache {
  readonly dir: string;

  constructor(
    readonly cacheDir: string,
    readonly repo: string,
  ) {
    this.dir = join(cacheDir, repoFolderName(repo));
  }

  blobPath(etag: string): string {
    return join(this.dir, "blobs", etag);
  }

  incompletePath(etag: string): string {
    return `${this.blobPath(etag)}.incomplete`;
  }

  /** Beside Python's own `<etag>.lock` file (which it locks with flock): a lock imp-ts processes share. */
  lockPath(etag: string): string {
    return join(this.cacheDir, ".locks", repoFolderName(this.repo), `${etag}.imp-lock`);
  }

  snapshotDir(commit: string): string {
    return join(this.dir, "snapshots", commit);
  }

  pointerPath(commit: string, file: string): string {
    const p = resolve(this.snapshotDir(commit), file);
    if (!p.startsWith(this.snapshotDir(commit) + sep))
      throw new HubError(`${this.repo}: file name "${file}" points outside the snapshot folder`);
    return p;
  }

  /** The commit a revision names: itself when it is a commit hash, else what refs/<revision> holds. */
  commitFor(revision: string): string | null {
    if (COMMIT_HASH.test(revision)) return revision;
    try {
      const commit = readFileSync(join(this.dir, "refs", revision), "utf8").trim();
      return COMMIT_HASH.test(commit) ? commit : null;
    } catch {
      return null;
    }
  }

  /** Records what a branch or tag points to (nothing for a commit hash), as Python does. */
  writeRef(revision: string, commit: string): void {
    if (revision === commit || this.commitFor(revision) === commit) return;
    const file = join(this.dir, "refs", revision);
    mkdirSync(dirname(file), { recursive: true });
    writeFileAtomic(file, (f) => f.write(new TextEncoder().encode(commit)));
  }

  /** True when the snapshot has the file and it resolves to an existing blob (a dangling link is absent). */
  hasFile(commit: string, file: string): boolean {
    return existsSync(this.pointerPath(commit, file));
  }

  /** Size of a complete blob, or null when there is none. */
  blobSize(etag: string): number | null {
    try {
      return statSync(this.blobPath(etag)).size;
    } catch {
      return null;
    }
  }

  /**
   * Points snapshots/<commit>/<file> at the blob with a relative link (as Python does; a copy where the file
   * system has no symlinks). A link that another process made first is kept.
   */
  link(commit: string, file: string, etag: string): string {
    const pointer = this.pointerPath(commit, file);
    const blob = this.blobPath(etag);
    mkdirSync(dirname(pointer), { recursive: true });
    const target = relative(dirname(pointer), blob);
    try {
      if (lstatSync(pointer).isSymbolicLink() && readlinkSync(pointer) === target && existsSync(pointer))
        return pointer;
      unlinkSync(pointer);
    } catch {}
    try {
      symlinkSync(target, pointer);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EEXIST" && existsSync(pointer)) return pointer;
      if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP") copyFileSync(blob, pointer);
      else throw new HubError(`cannot link ${pointer} to ${blob}: ${(e as Error).message}`, { cause: e });
    }
    return pointer;
  }

  /** Every file of a cached snapshot, as repo paths ("a/b.json"), following links that resolve. */
  listSnapshot(commit: string): string[] {
    const root = this.snapshotDir(commit);
    const out: string[] = [];
    const walk = (dir: string): void => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return;
      }
      for (const name of names) {
        const p = join(dir, name);
        let st: ReturnType<typeof statSync>;
        try {
          st = statSync(p);
        } catch {
          continue;
        }
        if (st.isDirectory()) walk(p);
        else out.push(relative(root, p).split(sep).join("/"));
      }
    };
    walk(root);
    return out.sort();
  }
}
