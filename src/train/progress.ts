/**
 * The training progress line on stderr: step, a bar, loss, learning rate, tokens/s and ETA. On a terminal it
 * redraws in place; otherwise (logs, CI, a parent process) it prints one plain line every `every` steps.
 */

export interface ProgressSink {
  isTTY?: boolean;
  write(s: string): unknown;
}

export interface ProgressValues {
  loss: number;
  lr: number;
  /** Positions processed in this step (for tokens/s). */
  positions: number;
}

/** "1h02m", "3m05s", "42s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

export class TrainProgress {
  private readonly started: number;
  private positions = 0;
  private steps = 0;
  private barShown = false;

  /** `first` is the step this process starts at (after a resume), `total` the run's last. */
  constructor(
    private readonly total: number,
    private readonly first: number,
    private readonly every: number,
    private readonly sink: ProgressSink = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  /** The text for `done` of `total` steps. */
  static render(
    done: number,
    total: number,
    v: ProgressValues & { tokPerSec: number; etaS: number },
    width = 20,
  ): string {
    const filled = Math.round((done / Math.max(1, total)) * width);
    return (
      `step ${done}/${total} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ` +
      `loss ${v.loss.toFixed(4)} lr ${v.lr.toExponential(2)} ${Math.round(v.tokPerSec)} tok/s ` +
      `ETA ${done >= total ? "0s" : formatDuration(v.etaS)}`
    );
  }

  /** Reports that step `done` (1-based count of completed steps) finished. */
  update(done: number, v: ProgressValues): void {
    this.steps++;
    this.positions += v.positions;
    const elapsed = (this.now() - this.started) / 1000;
    const perStep = elapsed / Math.max(1, done - this.first);
    const text = TrainProgress.render(done, this.total, {
      ...v,
      tokPerSec: elapsed > 0 ? this.positions / elapsed : 0,
      etaS: perStep * (this.total - done),
    });
    if (this.sink.isTTY) {
      this.sink.write(`\r${text}\u001b[K`);
      this.barShown = true;
    } else if (done % this.every === 0 || done === this.total || this.steps === 1)
      this.sink.write(`${text}\n`);
  }

  /** A message on its own line (the bar is redrawn by the next update). */
  message(text: string): void {
    if (this.barShown) this.sink.write("\r\u001b[K");
    this.barShown = false;
    this.sink.write(`${text}\n`);
  }

  finish(): void {
    if (this.barShown) this.sink.write("\n");
    this.barShown = false;
  }
}
