/**
 * Progress of a Hub download on stderr: on a terminal, a bar per file in flight and one for the whole pull (bytes,
 * rate, ETA), redrawn in place with finished files listed above; otherwise (logs, CI) plain lines: each file as it
 * starts and ends, and the total every few seconds.
 */
import type { PullEvent, PullEventHandler } from "../hub/index.js";
import { DEFAULT_LOCK_STALE_MS } from "../hub/index.js";

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`;
}

function bar(frac: number, width = 20): string {
  const fill = Math.max(0, Math.min(width, Math.round(frac * width)));
  return `[${"#".repeat(fill)}${"-".repeat(width - fill)}]`;
}

interface FileState {
  path: string;
  size: number;
  done: number;
  resumedFrom: number;
  started: number;
}

export interface DownloadProgress {
  onEvent: PullEventHandler;
  /** Ends the live display (call once the pull is over, whether it succeeded or not). */
  finish(): void;
}

export function downloadProgress(
  stream: Pick<NodeJS.WriteStream, "write"> & { isTTY?: boolean; columns?: number } = process.stderr,
  now: () => number = () => performance.now(),
  plainEveryMs = 5000,
): DownloadProgress {
  const tty = stream.isTTY === true;
  const active = new Map<string, FileState>();
  let total = 0;
  let done = 0;
  let fetched = 0;
  let firstStart: number | null = null;
  let liveLines = 0;
  let lastDraw = 0;
  let lastPlain = 0;

  const rate = () => {
    const secs = firstStart === null ? 0 : (now() - firstStart) / 1000;
    return secs > 0 ? fetched / secs : 0;
  };
  const totalLine = () => {
    const r = rate();
    const eta = r > 0 ? (total - done) / r : Number.NaN;
    const pct = total > 0 ? ((done / total) * 100).toFixed(0) : "0";
    return `${pct.padStart(3)}% ${formatBytes(done)} / ${formatBytes(total)}  ${formatBytes(Math.round(r))}/s  ETA ${formatSeconds(eta)}`;
  };
  const key = (e: { repo: string; path: string }) => `${e.repo}/${e.path}`;

  const clearLive = () => {
    if (liveLines > 0) stream.write(`\x1b[${liveLines}A\x1b[J`);
    liveLines = 0;
  };
  const drawLive = () => {
    clearLive();
    const lines: string[] = [];
    for (const f of active.values()) {
      const frac = f.size > 0 ? f.done / f.size : 1;
      const secs = (now() - f.started) / 1000;
      const r = secs > 0 ? (f.done - f.resumedFrom) / secs : 0;
      lines.push(
        `${bar(frac)} ${f.path}  ${formatBytes(f.done)} / ${formatBytes(f.size)}  ${formatBytes(Math.round(r))}/s  ETA ${formatSeconds(r > 0 ? (f.size - f.done) / r : Number.NaN)}`,
      );
    }
    if (total > 0) lines.push(`${bar(total > 0 ? done / total : 0)} total ${totalLine()}`);
    // A wrapped line would break the cursor-up count: cut each to the terminal's width.
    const width = Math.max(20, (stream.columns ?? 120) - 1);
    for (const l of lines) stream.write(`${l.length > width ? l.slice(0, width) : l}\x1b[K\n`);
    liveLines = lines.length;
    lastDraw = now();
  };
  /** A line that stays: above the live block on a terminal. */
  const say = (line: string) => {
    if (tty) {
      clearLive();
      stream.write(`${line}\n`);
      drawLive();
    } else stream.write(`${line}\n`);
  };

  const onEvent = (e: PullEvent) => {
    switch (e.type) {
      case "plan":
        total += e.totalBytes;
        say(
          `${e.repo}: downloading ${e.files.length} file${e.files.length > 1 ? "s" : ""}, ${formatBytes(e.totalBytes)}`,
        );
        break;
      case "start":
        firstStart ??= now();
        active.set(key(e), {
          path: e.path,
          size: e.size,
          done: e.resumedFrom,
          resumedFrom: e.resumedFrom,
          started: now(),
        });
        done += e.resumedFrom;
        if (e.resumedFrom > 0)
          say(`${e.path}: resuming at ${formatBytes(e.resumedFrom)} of ${formatBytes(e.size)}`);
        else if (tty) drawLive();
        break;
      case "bytes": {
        const f = active.get(key(e));
        if (!f) break;
        done += e.done - f.done;
        fetched += e.done - f.done;
        f.done = e.done;
        if (tty) {
          if (now() - lastDraw > 100) drawLive();
        } else if (now() - lastPlain > plainEveryMs) {
          lastPlain = now();
          stream.write(`total ${totalLine()}\n`);
        }
        break;
      }
      case "done": {
        const f = active.get(key(e));
        active.delete(key(e));
        if (!f) {
          // Found complete (another process, or Python, had it): nothing was fetched.
          done += e.size;
          break;
        }
        done += e.size - f.done;
        const secs = (now() - f.started) / 1000;
        say(
          `${e.path}  ${formatBytes(e.size)}${e.downloaded > 0 ? ` in ${formatSeconds(secs)} (${formatBytes(Math.round(e.downloaded / Math.max(secs, 1e-3)))}/s)` : ""}`,
        );
        break;
      }
      case "wait":
        say(
          `${e.path}: another process is downloading it; waiting (the lock of a killed download is taken over once ${DEFAULT_LOCK_STALE_MS / 1000} s old)`,
        );
        break;
      case "notice":
        say(e.message);
        break;
    }
  };
  return {
    onEvent,
    finish() {
      if (tty) {
        clearLive();
        if (total > 0) stream.write(`total ${totalLine()}\n`);
      } else if (total > 0 && fetched > 0) stream.write(`total ${totalLine()}\n`);
    },
  };
}
