/**
 * The three-line API: load a model (a folder, or a Hugging Face Hub id pulled into the Hub cache), then ask
 * about an image.
 *
 * @example
 * const imp = await ImpPipeline.load("MILVLG/Imp-v1.5-3B-Phi2", { dtype: "q4" });
 * const { text } = await imp.generate({ image: "cat.jpg", prompt: "What is the cat doing?" });
 * for await (const piece of imp.stream({ image: "cat.jpg", prompt: "Describe it." })) process.stdout.write(piece);
 *
 * It composes the pieces of the design's data flow: decode + preprocess the image, render the conversation
 * template, tokenize with the image placeholder, generate, detokenize as a stream with stop strings.
 */
import { readFile } from "node:fs/promises";
import type { Backend } from "../backend/backend.js";
import type { BackendName } from "../backend/registry.js";
import { createBackend } from "../backend/registry.js";
import type { ImageProcessorSpec, RgbImage } from "../io/image/index.js";
import { decodeImage, imageSpecFor, preprocessForTower } from "../io/image/index.js";
import type { ChatMessage, ConversationTemplate } from "../io/template/index.js";
import { templateForModelType } from "../io/template/index.js";
import { createStreamDecoder, Tokenizer } from "../io/tokenizer/index.js";
import type { LoadOptions } from "../models/load.js";
import { loadModel } from "../models/load.js";
import type { MultimodalModel } from "../models/multimodal.js";
import type { ModelSourceOptions } from "../models/source.js";
import { resolveModelSource } from "../models/source.js";
import type { Tensor } from "../tensor/tensor.js";
import { fromF32 } from "../tensor/tensor.js";
import { UsageError } from "../util/errors.js";
import type { GenerationStats } from "./generate.js";
import { generateTokens } from "./generate.js";
import { ImageCache } from "./image-cache.js";
import { PrefixCache } from "./prefix-cache.js";
import { PromptBuilder } from "./prompt.js";
import type { SamplingOptions } from "./sampler.js";
import { StopStringFilter } from "./stop.js";

export type ImageInput = string | Uint8Array | RgbImage;

export interface GenerateRequest {
  /** A file path, encoded bytes, or decoded RGB. */
  image?: ImageInput;
  /** The user's question (a single turn); or give `messages`. */
  prompt?: string;
  /** A whole conversation; the image goes with the first user message. */
  messages?: readonly ChatMessage[];
  maxNewTokens?: number;
  sampling?: SamplingOptions;
  /** Extra stop strings besides the template's. */
  stop?: readonly string[];
  signal?: AbortSignal;
  /** Read before every layer: true cancels mid-pass (generate.ts, `GenerateTokensOptions.interrupted`). */
  interrupted?: () => boolean;
  /**
   * Visual tokens for this image (a square number: 729, 196, 64 …); the pipeline's default when absent. A SigLIP
   * tower then sees the image at the matching side with its position table resized (fewer tokens, less time).
   */
  imageTokens?: number;
}

export interface GenerateResult {
  text: string;
  tokens: number[];
  stats: GenerationStats;
}

export interface PipelineOptions extends Omit<LoadOptions, "backend">, ModelSourceOptions {
  backend?: Backend | BackendName;
  threads?: number;
  /** A new backend's Backend.intProducts (default: $IMP_INT_PRODUCTS, else on). */
  intProducts?: boolean;
  /** Refuse images with more pixels than this (default 50 megapixels). */
  maxImagePixels?: number;
  /** Visual tokens per image unless a request says otherwise (default: the tower's own, e.g. 729 for Imp). */
  imageTokens?: number;
  /**
   * Bytes of image embeddings to keep, so a second question about the same image skips the tower (0, the
   * default: none). `imp serve` and the page keep 256 MiB.
   */
  imageCacheBytes?: number;
  /**
   * Bytes of KV cache to keep from the last answer, so the next message of the same conversation runs only its
   * new positions (0, the default: none). `imp serve` and the page keep 1 GiB.
   */
  conversationCacheBytes?: number;
}

export class ImpPipeline {
  /** The prompt rule (template, image placement, tokenizer) this model's answers are built with. */
  readonly prompt: PromptBuilder;
  /** Visual tokens per image when a request does not say (the tower's own unless the pipeline was given one). */
  readonly imageTokens: number;
  /** Image embeddings kept between requests (null: off). */
  readonly imageCache: ImageCache | null;
  /** The last conversation's KV cache (null: off). */
  readonly conversationCache: PrefixCache | null;

  private constructor(
    readonly model: MultimodalModel,
    readonly tokenizer: Tokenizer,
    readonly template: ConversationTemplate,
    readonly imageSpec: ImageProcessorSpec | null,
    readonly folder: string,
    private readonly maxImagePixels: number | undefined,
    defaultImageTokens: number | undefined,
    caches: { imageBytes?: number; conversationBytes?: number } = {},
  ) {
    this.imageCache = caches.imageBytes ? new ImageCache(caches.imageBytes) : null;
    this.conversationCache = caches.conversationBytes ? new PrefixCache(caches.conversationBytes) : null;
    this.imageTokens = defaultImageTokens ?? (imageSpec ? model.imageTokens : 0);
    // Refused at load, not at the first image: a count the tower cannot take.
    if (imageSpec && defaultImageTokens !== undefined) model.imageSideFor(defaultImageTokens);
    this.prompt = new PromptBuilder({
      tokenizer,
      template,
      imageTokens: this.imageTokens,
      imagePlacement: model.config.imagePlacement,
      imageTokenIndex: model.config.imageTokenIndex,
    });
  }

  /** `source`: a model folder, or a Hub id ("org/name", at `opts.revision`) downloaded once into the Hub cache. */
  static async load(source: string, opts: PipelineOptions = {}): Promise<ImpPipeline> {
    const { folder, visionTower } = await resolveModelSource(source, {
      revision: opts.revision,
      hub: opts.hub,
    });
    const backend =
      typeof opts.backend === "object"
        ? opts.backend
        : await createBackend(opts.backend ?? "wasm", {
            threads: opts.threads,
            intProducts: opts.intProducts,
          });
    const loaded = await loadModel(folder, {
      ...opts,
      visionTower: opts.visionTower ?? visionTower,
      backend,
    });
    const tokenizer = await Tokenizer.fromFolder(folder);
    const template = templateForModelType(loaded.config.modelType);
    const spec = await imageSpecFor(loaded.model.config, folder, loaded.towerFolder);
    return new ImpPipeline(
      loaded.model,
      tokenizer,
      template,
      spec,
      folder,
      opts.maxImagePixels,
      opts.imageTokens,
      { imageBytes: opts.imageCacheBytes, conversationBytes: opts.conversationCacheBytes },
    );
  }

  get backend(): Backend {
    return this.model.backend;
  }

  /**
   * Decodes and preprocesses an image into the tower's input [3, S, S]: S the tower's own side, or the side that
   * gives `imageTokens` visual tokens.
   */
  async prepareImage(input: ImageInput, imageTokens = this.imageTokens): Promise<Tensor> {
    return (await this.prepareKeyedImage(input, imageTokens, false)).pixels;
  }

  /** prepareImage, with the pixels' cache key when asked (ImageCache.key). */
  private async prepareKeyedImage(
    input: ImageInput,
    imageTokens: number,
    withKey: boolean,
  ): Promise<{ pixels: Tensor; key?: string }> {
    if (!this.imageSpec) throw new UsageError("this model has no vision tower; it cannot take an image");
    const side = this.model.imageSideFor(imageTokens);
    const spec: ImageProcessorSpec =
      this.imageSpec.kind === "siglip" ? { ...this.imageSpec, size: side } : this.imageSpec;
    let img: RgbImage;
    if (typeof input === "string") {
      const bytes = await readFile(input).catch((e: Error) => {
        throw new UsageError(`cannot read image ${input}: ${e.message}`);
      });
      img = await decodeImage(bytes, { source: input, maxPixels: this.maxImagePixels });
    } else if (input instanceof Uint8Array)
      img = await decodeImage(input, { maxPixels: this.maxImagePixels });
    else img = input;
    const px = preprocessForTower(img, spec);
    const out = Math.round(Math.sqrt(px.length / 3));
    const shape = [3, out, out];
    return { pixels: fromF32(this.backend, px, shape), key: withKey ? ImageCache.key(px, shape) : undefined };
  }

  /** The conversation as prompt token ids (image placeholder = −200), built by the model's PromptBuilder. */
  promptIds(
    req: Pick<GenerateRequest, "prompt" | "messages">,
    hasImage: boolean,
  ): { ids: number[]; text: string } {
    const messages: readonly ChatMessage[] =
      req.messages ?? (req.prompt !== undefined ? [{ role: "user", content: req.prompt }] : []);
    return this.prompt.ids(messages, { image: hasImage });
  }

  /** Token ids that end the answer: the template's end-of-turn tokens and the config's EOS. */
  stopTokenIds(): number[] {
    const ids = new Set<number>();
    for (const t of this.template.stopTokens) {
      const id = this.tokenizer.tokenToId(t);
      if (id !== undefined) ids.add(id);
    }
    if (this.model.config.eosId !== null) ids.add(this.model.config.eosId);
    return [...ids];
  }

  /** Streams the answer text; `stats` (timings, token counts) is filled in when the stream ends. */
  async *stream(
    req: GenerateRequest,
    stats?: (s: GenerationStats, tokens: number[]) => void,
  ): AsyncGenerator<string> {
    const cached = this.imageCache !== null || this.conversationCache !== null;
    const image =
      req.image !== undefined
        ? await this.prepareKeyedImage(req.image, req.imageTokens ?? this.imageTokens, cached)
        : null;
    const pixels = image?.pixels ?? null;
    try {
      const { ids } = this.promptIds(req, pixels !== null);
      const run = generateTokens(this.model, ids, {
        imageKeys: image?.key !== undefined ? [image.key] : undefined,
        imageCache: this.imageCache ?? undefined,
        prefixCache: this.conversationCache ?? undefined,
        images: pixels ? [pixels] : [],
        maxNewTokens: req.maxNewTokens,
        sampling: req.sampling,
        stopTokenIds: this.stopTokenIds(),
        signal: req.signal,
        interrupted: req.interrupted,
      });
      const decoder = createStreamDecoder(this.tokenizer);
      const filter = new StopStringFilter([...this.template.stopStrings, ...(req.stop ?? [])]);
      const tokens: number[] = [];
      try {
        for await (const t of run.tokens) {
          tokens.push(t);
          const out = filter.push(decoder.push(t));
          if (out) yield out;
          if (filter.done) {
            run.stats.finishReason = "stop";
            break;
          }
        }
        const tail = filter.push(decoder.flush()) + filter.flush();
        if (tail) yield tail;
      } finally {
        // Also on abort or error: callers report the tokens generated so far.
        stats?.(run.stats, tokens);
      }
    } finally {
      pixels?.dispose();
    }
  }

  /** Generates the whole answer. */
  async generate(req: GenerateRequest): Promise<GenerateResult> {
    let text = "";
    let stats: GenerationStats | null = null;
    let tokens: number[] = [];
    for await (const piece of this.stream(req, (s, t) => {
      stats = s;
      tokens = t;
    }))
      text += piece;
    return { text, tokens, stats: stats! };
  }

  dispose(): void {
    this.imageCache?.clear();
    this.conversationCache?.clear();
    this.model.dispose();
    this.model.backend.dispose();
  }
}
