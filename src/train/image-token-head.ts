/**
 * The dense image-token signal (recipe `image_token_loss`): a linear head [hidden → 1] on the LLM's final hidden
 * states (or one layer's output, recipe `image_token_layer`) at an image's positions, trained with binary cross-entropy to say whether each image token shows what the
 * question names (the record's `named_boxes`, image-token-labels.ts), beside the answer's loss:
 *
 *   loss = Σ CE(answer tokens) / N_answer  +  weight · Σ BCE(head(h_img), labels) / N_labelled_image_tokens
 *
 * Only a prompt with the question before the image lets an image token see the question, so only then can it
 * answer this. The head exists only in training: it is checkpointed with the run and written beside its outputs
 * (IMAGE_TOKEN_HEAD_FILE), never into a model, so that a later phase can start from it (recipe
 * `image_token_head_init`) instead of from zeros, whose first steps cost weight · log 2 and fill the gradient's
 * clipped norm with the head's own.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../backend/backend.js";
import { Checkpoint, writeSafetensors } from "../io/safetensors/index.js";
import * as F from "../tensor/ops/index.js";
import { keep } from "../tensor/scope.js";
import type { Tensor } from "../tensor/tensor.js";
import { viewF32, zeros } from "../tensor/tensor.js";
import { UsageError } from "../util/errors.js";
import type { ParamGroup } from "./adamw.js";
import { readF32Into } from "./run-state.js";

export const IMAGE_TOKEN_HEAD_PREFIX = "image_token_head.";
/** The head's weights beside a run's outputs (f32, the checkpoint's names). */
export const IMAGE_TOKEN_HEAD_FILE = "image_token_head.safetensors";

export class ImageTokenHead {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(
    backend: Backend,
    hidden: number,
    /** The term's weight beside the answer loss. */
    readonly lossWeight: number,
    /** The decoder layer whose output the head reads (null: the final hidden states). */
    readonly layer: number | null = null,
  ) {
    // Zeros: the first steps train the head alone (no gradient reaches the model through a zero head), and a
    // run's other random draws stay as they were without it.
    this.weight = keep(zeros(backend, [1, hidden]));
    this.bias = keep(zeros(backend, [1]));
    this.weight.requiresGrad = true;
    this.bias.requiresGrad = true;
  }

  /** The head's parameter group (the LLM's learning rate, no weight decay). */
  group(lr: number): ParamGroup {
    return {
      name: "image_token_head",
      lr,
      weightDecay: 0,
      params: [
        { name: `${IMAGE_TOKEN_HEAD_PREFIX}weight`, tensor: this.weight },
        { name: `${IMAGE_TOKEN_HEAD_PREFIX}bias`, tensor: this.bias },
      ],
    };
  }

  /**
   * lossWeight · scale · Σ BCE over one image's tokens: `hidden` [n, H] their hidden states at the head's layer (n may be fewer
   * than the labels when the sequence was cut), `labels` one per image token.
   */
  loss(hidden: Tensor, labels: Float32Array, scale: number): Tensor {
    const n = hidden.dim(0);
    const logits = F.linear(hidden, this.weight, this.bias);
    return F.binaryCrossEntropySum(logits, labels.subarray(0, n), this.lossWeight * scale);
  }

  /** Writes the head (f32) to `file`, atomically. */
  save(file: string): void {
    writeSafetensors(
      file,
      this.named().map(([name, t]) => ({
        name,
        dtype: "F32" as const,
        shape: [...t.shape],
        data: () => new Uint8Array(t.toF32().buffer),
      })),
      { format: "pt" },
    );
  }

  /**
   * Starts the head from an earlier run's (recipe `image_token_head_init`): IMAGE_TOKEN_HEAD_FILE, or a run folder
   * holding one. Shapes are checked against this model's hidden size.
   */
  load(path: string): void {
    const file = existsSync(path) && statSync(path).isDirectory() ? join(path, IMAGE_TOKEN_HEAD_FILE) : path;
    if (!existsSync(file))
      throw new UsageError(
        `image_token_head_init: ${file} does not exist (give an ${IMAGE_TOKEN_HEAD_FILE} file or the folder of a run trained with image_token_loss)`,
      );
    const ckpt = Checkpoint.open(file);
    try {
      for (const [name, t] of this.named())
        readF32Into(ckpt, name, viewF32(t), t.shape, "this model's head", `expected shape [${t.shape}]`);
    } finally {
      ckpt.close();
    }
  }

  private named(): Array<[string, Tensor]> {
    return [
      [`${IMAGE_TOKEN_HEAD_PREFIX}weight`, this.weight],
      [`${IMAGE_TOKEN_HEAD_PREFIX}bias`, this.bias],
    ];
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}
