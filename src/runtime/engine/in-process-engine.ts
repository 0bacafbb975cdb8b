/**
 * An engine that runs the pipeline on the caller's thread. Compute blocks the event loop between tokens'
 * yields, so the server uses the worker engine; this one is for tests and single-threaded embedders.
 *
 * @example
 * const engine = new InProcessEngine(await ImpPipeline.load(dir, { backend: "js" }));
 * const app = createApp({ engine });
 */
import { basename } from "node:path";
import type { ChatMessage } from "../../io/template/index.js";
import type { ImpPipeline } from "../pipeline.js";
import type { Engine, EngineHooks, EngineInfo, EngineJob, EngineResult } from "./engine.js";
import { runOnPipeline } from "./engine.js";

export function pipelineInfo(pipeline: ImpPipeline, id?: string): EngineInfo {
  return {
    id: id ?? basename(pipeline.folder),
    modelType: pipeline.model.config.modelType,
    contextLength: pipeline.model.config.llm.maxPositions,
    imageTokens: pipeline.imageTokens,
    backend: pipeline.backend.name,
    threads: pipeline.backend.threads,
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

  promptPositions(messages: readonly ChatMessage[], hasImage: boolean): number {
    return this.pipeline.prompt.promptPositions(messages, hasImage);
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
