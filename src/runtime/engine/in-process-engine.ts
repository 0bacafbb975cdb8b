/**
 * An engine that runs the pipeline on the caller's thread. Compute blocks the event loop between tokens'
 * yields, so the server uses the worker engine; this one is for tests and single-threaded embedders.
 *
 * @example
 * const engine = new InProcessEngine(await ImpPipeline.load(dir, { backend: "js" }));
 * const app = createApp({ engine });
 */
import { basename } from "node:path";
import { AbortError } from "../generate.js";
import type { ImpPipeline } from "../pipeline.js";
import type { Engine, EngineHooks, EngineInfo, EngineJob, EngineResult } from "./engine.js";
import { runOnPipeline } from "./engine.js";
import { maxPromptChars, type PreparedInput, type PrepareInput, prepareHere } from "./prepare.js";

export function pipelineInfo(pipeline: ImpPipeline, id?: string): EngineInfo {
  const contextLength = pipeline.model.config.llm.maxPositions;
  return {
    id: id ?? basename(pipeline.folder),
    modelType: pipeline.model.config.modelType,
    contextLength,
    imageTokens: pipeline.imageTokens,
    anyImageTokens: pipeline.model.anyImageTokens,
    backend: pipeline.backend.name,
    threads: pipeline.backend.threads,
    maxPromptChars: maxPromptChars(contextLength, pipeline.tokenizer.maxTokenChars),
  };
}

export class InProcessEngine implements Engine {
  readonly info: EngineInfo;
  readonly ready = true;
  readonly slots = 1;
  private busy = false;
  private readonly disposeOnClose: boolean;

  constructor(
    readonly pipeline: ImpPipeline,
    opts: { id?: string; disposeOnClose?: boolean } = {},
  ) {
    this.info = pipelineInfo(pipeline, opts.id);
    this.disposeOnClose = opts.disposeOnClose ?? false;
  }

  /** On this thread: decoding and tokenizing block it, as generating does. */
  async prepare(input: PrepareInput, signal: AbortSignal): Promise<PreparedInput> {
    if (signal.aborted) throw new AbortError("cancelled before it was prepared");
    return prepareHere((m, hasImage, n) => this.pipeline.prompt.promptPositions(m, hasImage, n), input);
  }

  async run(job: EngineJob, hooks: EngineHooks): Promise<EngineResult> {
    // The queue gives one job at a time; this guards direct callers that do not go through it.
    if (this.busy) throw new Error("InProcessEngine runs one job at a time");
    this.busy = true;
    try {
      return await runOnPipeline(this.pipeline, job, hooks);
    } finally {
      this.busy = false;
    }
  }

  async close(): Promise<void> {
    if (this.disposeOnClose) this.pipeline.dispose();
  }
}
