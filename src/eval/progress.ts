/**
 * A one-line progress bar with rate and ETA on stderr. On a terminal it redraws in place (at most 10 times a
 * second); otherwise (logs, CI) it prints a plain line every 10% or every 30 seconds.
 */

export interface ProgressSink {
  isTTY?: boolean;
  write(s: string): unknown;
}

/** "1h02m", "3m05s", "42s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

export class ProgressBar {
  private done = 0;
  private readonly started: number;
  private lastDraw = 0;
  private lastLoggedTenth = -1;

  /**
   * `total` questions to ask in this run (already-answered ones excluded), `label` shown before the bar.
   */
  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly sink: ProgressSink = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  /** The text of the bar for `done` of `total` after `elapsedS` seconds. */
  static render(label: string, done: number, total: number, elapsedS: number, width = 24): string {
    const frac = total > 0 ? done / total : 1;
    const filled = Math.round(frac * width);
    const rate = elapsedS > 0 ? done / elapsedS : 0;
    const eta = rate > 0 ? (total - done) / rate : Number.NaN;
    return (
      `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ` +
      `${(frac * 100).toFixed(0)}% ${rate.toFixed(2)}/s ETA ${done >= total ? "0s" : formatDuration(eta)}`
    );
  }

  tick(n = 1): void {
    this.done += n;
    this.draw(false);
  }

  private draw(final: boolean): void {
    const t = this.now();
    const text = ProgressBar.render(this.label, this.done, this.total, (t - this.started) / 1000);
    if (this.sink.isTTY) {
      if (!final && t - this.lastDraw < 100) return;
      this.lastDraw = t;
      this.sink.write(`\r${text}\u001b[K${final ? "\n" : ""}`);
      return;
    }
    const tenth = this.total > 0 ? Math.floor((this.done / this.total) * 10) : 10;
    if (final || tenth > this.lastLoggedTenth || t - this.lastDraw > 30_000) {
      this.lastLoggedTenth = tenth;
      this.lastDraw = t;
      this.sink.write(`${text}\n`);
    }
  }

  finish(): void {
    this.draw(true);
  }
}
