/**
 * Running one measurement in a child process, with a time limit, and noting how busy the rest of the machine was
 * meanwhile (the host is shared: other processes' CPU time during a run is why two runs differ).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";

export interface ChildResult {
  ok: boolean;
  /** The last JSON line the child printed. */
  json: Record<string, unknown> | null;
  wallMs: number;
  /** Average number of cores other processes kept busy while it ran. */
  busyCores: number;
  /** CPU time of the child's whole process tree. */
  cpuMs: number;
  error?: string;
  stderr: string;
  stdout: string;
}

/** Busy and total jiffies over all CPUs, from /proc/stat. */
function cpuTimes(): { busy: number; total: number } {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Cores busy over the next `ms` (the bench itself is idle while it waits). */
export async function busyNow(ms = 1000): Promise<number> {
  const a = cpuTimes();
  await sleep(ms);
  const b = cpuTimes();
  return b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * cpus().length : 0;
}

/** Waits (up to maxMs) until other processes leave the machine nearly idle; returns the last busy reading. */
export async function waitQuiet(maxMs: number, threshold = 0.3): Promise<number> {
  const end = Date.now() + maxMs;
  let busy = await busyNow(500);
  while (busy > threshold && Date.now() < end) busy = await busyNow(2000);
  return busy;
}

/**
 * Runs `cmd` under bash so that `times` can report the CPU time of the whole process tree (helpers such as tsx's
 * esbuild or node-llama-cpp's binary probe included); `busyCores` is what the rest of the machine used meanwhile.
 * The child gets its own process group, so a timeout kills all of it.
 */
export function runChild(
  cmd: string,
  args: string[],
  opts: { timeoutMs: number; env?: Record<string, string>; cwd?: string; expectJson?: boolean },
): Promise<ChildResult> {
  const t0 = performance.now();
  const c0 = cpuTimes();
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", '"$@"; rc=$?; times >&2; exit $rc', "bench-child", cmd, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19));
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, opts.timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const c1 = cpuTimes();
      const wallMs = performance.now() - t0;
      const all = c1.total > c0.total ? ((c1.busy - c0.busy) / (c1.total - c0.total)) * cpus().length : 0;
      // `times` prints the shell's and then its children's user and system time: "0m1.234s 0m0.050s".
      const t = [...stderr.matchAll(/^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/gm)].pop();
      const ownMs = t ? (Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4])) * 1000 : 0;
      const busyCores = Math.max(0, all - ownMs / wallMs);
      let json: Record<string, unknown> | null = null;
      for (const line of stdout.trim().split("\n").reverse())
        if (line.startsWith("{")) {
          try {
            json = JSON.parse(line) as Record<string, unknown>;
            break;
          } catch {
            /* not the result line */
          }
        }
      const ok = code === 0 && (json !== null || opts.expectJson === false);
      const tail = stderr
        .trim()
        .split("\n")
        .filter((l) => !/^\d+m[\d.]+s \d+m[\d.]+s$/.test(l))
        .slice(-3)
        .join(" | ")
        .slice(0, 400);
      const error = ok
        ? undefined
        : timedOut
          ? `timed out after ${(opts.timeoutMs / 1000).toFixed(0)} s`
          : `exit ${code ?? signal}: ${tail || "no output"}`;
      resolve({ ok, json, wallMs, busyCores, cpuMs: ownMs, error, stderr, stdout });
    });
  });
}
