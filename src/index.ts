/**
 * imp-ts, the library: load a model folder and ask it about an image in three lines (ImpPipeline), or go down a
 * layer — models, tensors, backends, training, evaluation — as the CLI does.
 */
export type { Backend } from "./backend/backend.js";
export { type BackendName, type BackendOptions, createBackend } from "./backend/registry.js";
export {
  HubError,
  type HubSettings,
  type PullEvent,
  type PulledModel,
  type PullOptions,
  pullModel,
} from "./hub/index.js";
export { decodeImage, preprocessForTower } from "./io/image/index.js";
export { Checkpoint, writeSafetensors } from "./io/safetensors/index.js";
export { getTemplate, templateForModelType } from "./io/template/index.js";
export { createStreamDecoder, Tokenizer } from "./io/tokenizer/index.js";
export type { ModelConfig } from "./models/config.js";
export { type LoadedModel, type LoadOptions, loadModel, type WeightDType } from "./models/load.js";
export { MultimodalModel } from "./models/multimodal.js";
export { type ModelSourceOptions, type ResolvedModel, resolveModelSource } from "./models/source.js";
export { AbortError, type GenerationStats, generateTokens } from "./runtime/generate.js";
export {
  type GenerateRequest,
  type GenerateResult,
  type ImageInput,
  ImpPipeline,
  type PipelineOptions,
} from "./runtime/pipeline.js";
export type { SamplingOptions } from "./runtime/sampler.js";
export { tidy } from "./tensor/scope.js";
export { Tensor } from "./tensor/tensor.js";
export { CheckpointError, FormatError, ImpError, ShapeError, UsageError } from "./util/errors.js";
