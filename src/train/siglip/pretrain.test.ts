/**
 * SigLIP pretraining with the patch-level loss on a toy world a tiny tower learns in a few dozen steps: 32-px
 * images of 8-px patches holding one red and one blue block in random cells. Checks that the patch-level loss is
 * wired into the update (it falls, and the centre patches come to name their block), and that the image-level
 * loss trains alongside it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Tokenizer } from "../../io/tokenizer/index.js";
import { parseModelConfig } from "../../models/config.js";
import { MultimodalModel } from "../../models/multimodal.js";
import { testBackend } from "../../testing/backends.js";
import { tinyTokenizerJson } from "../../testing/tiny-tokenizer.js";
import { Rng } from "../../util/random.js";
import { initParams } from "../init.js";
import { type ContrastivePair, pretrainSiglip, type SiglipStepInfo } from "./pretrain.js";

const SIZE = 32;
const PATCH = 8;
const GRID = SIZE / PATCH;
const PHRASES = ["red block", "blue block"];
const RGB = [
  [1, -1, -1],
  [-1, -1, 1],
];

/** One image: a red and a blue block in two different random cells; its text names the red one's row. */
function toyPair(rng: Rng): ContrastivePair {
  const cells = rng.shuffle(Array.from({ length: GRID * GRID }, (_, i) => i)).slice(0, 2);
  const pixels = new Float32Array(3 * SIZE * SIZE);
  cells.forEach((cell, k) => {
    const [cx, cy] = [(cell % GRID) * PATCH, Math.floor(cell / GRID) * PATCH];
    for (let c = 0; c < 3; c++)
      for (let y = cy; y < cy + PATCH; y++)
        for (let x = cx; x < cx + PATCH; x++) pixels[c * SIZE * SIZE + y * SIZE + x] = RGB[k]![c]!;
  });
  return {
    pixels,
    text: `red ${["top", "upper", "lower", "bottom"][Math.floor(cells[0]! / GRID)]}`,
    centres: cells.map((patch, phrase) => ({ patch, phrase })),
  };
}

/** An Imp-v1.5 `imp_qwen2` config of the toy's sizes: a one-layer 32-wide tower over 8-px patches of 32-px images. */
function toyConfig(tok: Tokenizer): Record<string, unknown> {
  const id = (t: string) => tok.tokenToId(t)!;
  return {
    architectures: ["ImpQwen2ForCausalLM"],
    model_type: "imp_qwen2",
    hidden_size: 32,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 1,
    num_key_value_heads: 1,
    hidden_act: "silu",
    rms_norm_eps: 1e-6,
    rope_theta: 10000.0,
    vocab_size: Math.ceil(tok.vocabSize / 64) * 64,
    max_position_embeddings: 512,
    tie_word_embeddings: false,
    eos_token_id: id("<|im_end|>"),
    pad_token_id: id("<|endoftext|>"),
    image_token: "<image>",
    image_token_index: id("<image>"),
    image_aspect_ratio: "square",
    mm_projector_type: "mlp2x_gelu",
    mm_hidden_size: 32,
    mm_vision_select_layer: -2,
    mm_vision_select_feature: "patch",
    vision_tower_config: {
      model_type: "siglip_vision_model",
      hidden_size: 32,
      intermediate_size: 128,
      num_attention_heads: 1,
      // Select layer −2 drops the last of these two layers.
      num_hidden_layers: 2,
      patch_size: PATCH,
      image_size: SIZE,
      num_channels: 3,
      layer_norm_eps: 1e-6,
      hidden_act: "gelu_pytorch_tanh",
    },
  };
}

async function run(patchLoss: boolean, steps: number): Promise<SiglipStepInfo[]> {
  const backend = await testBackend("js");
  const tok = Tokenizer.fromJson(tinyTokenizerJson(["<|endoftext|>", "<|im_end|>", "<image>"]));
  const model = new MultimodalModel(parseModelConfig(toyConfig(tok), "toy config"), backend);
  const rng = new Rng(3);
  initParams(model, backend, rng);
  const data = new Rng(4);
  const infos: SiglipStepInfo[] = [];
  pretrainSiglip(model, tok, rng, {
    steps,
    batch: 8,
    lr: 3e-3,
    warmupRatio: 0.05,
    weightDecay: 0,
    embedDim: 16,
    pooling: "max",
    text: { vocab: tok.vocabSize, maxLength: 16, hidden: 32, intermediate: 64, heads: 1, layers: 0 },
    ...(patchLoss && { patchLoss: { weight: 1, phrases: PHRASES } }),
    pairs: () => Array.from({ length: 8 }, () => toyPair(data)),
    onStep: (_, info) => infos.push(info),
  });
  model.dispose();
  return infos;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test("SigLIP pretraining: the patch-level loss falls and centre patches come to name their object", async () => {
  const infos = await run(true, 60);
  const first = mean(infos.slice(0, 5).map((i) => i.patchLoss));
  const last = mean(infos.slice(-5).map((i) => i.patchLoss));
  assert.ok(last < 0.5 * first, `patch loss ${first.toFixed(4)} → ${last.toFixed(4)}`);
  assert.ok(mean(infos.slice(-5).map((i) => i.patchAccuracy)) > 0.95);
  assert.ok(infos.every((i) => Number.isFinite(i.loss)));
  assert.ok(infos.at(-1)!.loss < infos[0]!.loss, "the image-level loss trains alongside");
});

test("SigLIP pretraining without the patch-level loss reports none", async () => {
  const infos = await run(false, 2);
  assert.ok(infos.every((i) => Number.isNaN(i.patchLoss) && Number.isNaN(i.patchAccuracy)));
});
