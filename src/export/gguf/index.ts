/** GGUF export for llama.cpp and Ollama: the LLM with its tokenizer, the mmproj, and a GGUF reader/writer. */
export { jinjaChatTemplate } from "./chat-template.js";
export { GgmlType, type GgmlTypeName, GgufType, TokenType } from "./constants.js";
export {
  exportGguf,
  exportGgufFromFolder,
  type GgufExportOptions,
  type GgufExportResult,
  type GgufFolderExportOptions,
} from "./export.js";
export { LLM_ARCH, llmMetadata, llmPlan } from "./llm.js";
export { mmprojMetadata, mmprojPlan, mmprojUnsupported } from "./mmproj.js";
export { folderSource, modelSource, type ParamSource } from "./params.js";
export { GgufFile, type GgufTensorInfo, readGguf, readTensorBytes } from "./reader.js";
export { GGUF_QUANTS, type GgufQuant, type PlanEntry, permuteRotaryRows, tensorType } from "./tensors.js";
export { type TokenizerExport, tokenizerMetadata } from "./tokenizer.js";
export { type GgufKv, type GgufTensor, type GgufWriteResult, kv, writeGguf } from "./writer.js";
