/** What a pull reports while it runs; the CLI draws progress bars from these, a library caller may ignore them. */
export type PullEvent =
  /** The files about to be fetched in one batch (those not in the cache yet), with their sizes. */
  | { type: "plan"; repo: string; files: ReadonlyArray<{ path: string; size: number }>; totalBytes: number }
  /** A file starts (or resumes from `resumedFrom` bytes of an earlier, interrupted download). */
  | { type: "start"; repo: string; path: string; size: number; resumedFrom: number }
  /** `done` of `size` bytes of a file are on disk. */
  | { type: "bytes"; repo: string; path: string; done: number; size: number }
  /** A file is complete, verified and in the snapshot (`downloaded`: bytes fetched for it in this run). */
  | { type: "done"; repo: string; path: string; size: number; downloaded: number }
  /** Another process is downloading this file; this one waits for it. */
  | { type: "wait"; repo: string; path: string }
  /** Something the user should know (offline fallback to the cache, a lock taken over). */
  | { type: "notice"; message: string };

export type PullEventHandler = (e: PullEvent) => void;
