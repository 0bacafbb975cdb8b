/**
 * A preparation worker thread (see prepare-pool.ts): holds the model's tokenizer and template, and for each
 * request decodes its image and counts its prompt's positions, one at a time. It is ended, not asked, when a
 * request is cancelled: the tokenizer and the decoders have no place to check a flag.
 */
import { parentPort, workerData } from "node:worker_threads";
import { detectFormat } from "../../io/image/index.js";
import { templateForModelType } from "../../io/template/index.js";
import { Tokenizer } from "../../io/tokenizer/index.js";
import { PromptBuilder } from "../prompt.js";
import { serializeError } from "./errors.js";
import { prepareHere } from "./prepare.js";
import type { FromPrepareWorker, PrepareInit, ToPrepareWorker } from "./worker-protocol.js";

/** Above this many pixels, a JPEG or WebP leaves its WebAssembly decoder's memory grown for good. */
const RECYCLE_PIXELS = 4_000_000;

const port = parentPort;
if (!port) throw new Error("prepare-worker.ts runs as a worker thread (see prepare-pool.ts)");
const init = workerData as PrepareInit;
const post = (m: FromPrepareWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

let prompt: PromptBuilder;
try {
  prompt = new PromptBuilder({
    tokenizer: await Tokenizer.fromFolder(init.folder),
    template: templateForModelType(init.modelType),
    imageTokens: init.imageTokens,
    ...init.prompt,
  });
} catch (err) {
  post({ type: "load-error", error: serializeError(err) });
  port.close();
  process.exit(1);
}

port.on("message", (msg: ToPrepareWorker) => {
  const format = msg.input.image ? detectFormat(msg.input.image.bytes) : null;
  prepareHere((m, hasImage, n) => prompt.promptPositions(m, hasImage, n), msg.input)
    .then((result) => {
      const img = result.image;
      const recycle =
        (format === "jpeg" || format === "webp") &&
        img !== undefined &&
        img.width * img.height > RECYCLE_PIXELS;
      post({ type: "prepared", id: msg.id, result, recycle }, img ? [img.data.buffer as ArrayBuffer] : []);
    })
    .catch((err: unknown) => post({ type: "error", id: msg.id, error: serializeError(err) }));
});

post({ type: "ready" });
