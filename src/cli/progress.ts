/**
 * A progress bar on stderr for long jobs: a redrawn line with percentage, count and ETA on a terminal, and a
 * plain line every few seconds otherwise (logs, CI).
 */
export interface ProgressBar {
  update(done: number, total: number, extra?: string): void;
  done(): void;
}

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const start = performance.now();
  let lastPlain = 0;
  let drawn = false;
  return {
    update(done, total, extra = "") {
      const now = performance.now();
      const frac = total > 0 ? done / total : 0;
      const elapsed = (now - start) / 1000;
      const eta = frac > 0 ? elapsed / frac - elapsed : 0;
      const text = `${label} ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total} ${fmt(elapsed)} elapsed, ETA ${fmt(eta)}${extra ? `  ${extra}` : ""}`;
      if (stream.isTTY) {
        const width = 24;
        const fill = Math.round(frac * width);
        stream.write(`\r[${"#".repeat(fill)}${"-".repeat(width - fill)}] ${text}\x1b[K`);
        drawn = true;
      } else if (now - lastPlain > 5000 || done === total) {
        lastPlain = now;
        stream.write(`${text}\n`);
      }
    },
    done() {
      if (drawn) stream.write("\n");
      drawn = false;
    },
  };
}

function fmt(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`;
}
