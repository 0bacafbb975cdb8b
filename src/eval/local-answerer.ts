/**
 * The Answerer for a local checkpoint (`imp eval run --model DIR`, or the built-in model): the model is loaded
 * once; each question becomes the model's conversation with the image in the user turn (where LLaVA's and Imp's
 * eval scripts put it, or after the question for a model trained that way: the pipeline's prompt places it),
 * answered greedily up to `maxTokens`. Questions are answered one at a time.
 */
import type { PipelineOptions } from "../runtime/pipeline.js";
import { ImpPipeline } from "../runtime/pipeline.js";
import type { Answerer, AnswerRequest } from "./answerer.js";

export async function createLocalAnswerer(modelDir: string, opts: PipelineOptions = {}): Promise<Answerer> {
  const imp = await ImpPipeline.load(modelDir, opts);
  let queue: Promise<unknown> = Promise.resolve();
  const one = async (req: AnswerRequest): Promise<string> => {
    const image = req.imageBytes ?? req.imagePath;
    const { text } = await imp.generate({
      image,
      messages: [{ role: "user", content: req.prompt }],
      maxNewTokens: req.maxTokens,
      signal: req.signal,
    });
    return text;
  };
  return {
    modelId: modelDir.split(/[\\/]/).filter(Boolean).pop() ?? modelDir,
    answer(req) {
      const next = queue.then(() => one(req));
      queue = next.catch(() => undefined);
      return next;
    },
    async close() {
      await queue.catch(() => undefined);
      imp.dispose();
    },
  };
}
