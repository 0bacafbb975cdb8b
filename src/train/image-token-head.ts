/**
 * The dense image-token signal (recipe `image_token_loss`): a linear head [hidden → 1] on the LLM's final hidden
 * states (or one layer's output, recipe `image_token_layer`) at an image's positions, trained with binary cross-entropy to say whether each image token shows what the
 * question names (the record's `named_boxes`, image-token-labels.ts), beside the answer's loss:
 *
 *   loss = Σ CE(answer tokens) / N_answer  +  weight · Σ BCE(head(h_img), labels) / N_labelled_image_tokens
 *
 * Only a prompt with the question before the image lets an image token see the question, so only then can it
 * answer this; the head exists only in training (it is checkpointed with the run, never exported).
 */
import type { Backend } from "../backend/backend.js";
import * as F from "../tensor/ops/index.js";
import { keep } from "../tensor/scope.js";
import type { Tensor } from "../tensor/tensor.js";
import { zeros } from "../tensor/tensor.js";
import type { ParamGroup } from "./adamw.js";

export const IMAGE_TOKEN_HEAD_PREFIX = "image_token_head.";

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

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}
