/**
 * Test material for training: a tiny base model folder (a fixture's weights + the tiny test tokenizer) and a small
 * generated LLaVA-format dataset (PNG images of coloured squares, captions for stage 1, multi-turn and text-only
 * chats for stage 2).
 */
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encode } from "fast-png";
import { Rng } from "../util/random.js";
import { fixture } from "./fixtures.js";
import { writeTinyTokenizer } from "./tiny-tokenizer.js";

/** Copies a fixture model (without its golden outputs) into `dir` and adds a tokenizer. */
export function makeTinyBase(dir: string, name = "tiny-imp-qwen2"): string {
  mkdirSync(dir, { recursive: true });
  const src = fixture(name);
  for (const f of readdirSync(src)) if (f !== "golden.safetensors") copyFileSync(join(src, f), join(dir, f));
  const modelType = { "tiny-imp-qwen2": "imp_qwen2", "tiny-imp-phi3": "imp_phi3" }[name] ?? "imp";
  writeTinyTokenizer(dir, modelType);
  return dir;
}

export const COLORS: ReadonlyArray<[string, [number, number, number]]> = [
  ["red", [220, 30, 30]],
  ["green", [30, 200, 40]],
  ["blue", [30, 40, 220]],
  ["yellow", [230, 220, 30]],
];

/** A PNG of a coloured square on grey, with a little noise. */
export function squarePng(color: [number, number, number], size: number, rng: Rng): Uint8Array {
  const data = new Uint8Array(size * size * 3);
  const lo = Math.floor(size / 4);
  const hi = size - lo;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const inside = x >= lo && x < hi && y >= lo && y < hi;
      for (let c = 0; c < 3; c++)
        data[(y * size + x) * 3 + c] = Math.max(
          0,
          Math.min(255, (inside ? color[c]! : 128) + rng.int(9) - 4),
        );
    }
  return encode({ width: size, height: size, data, channels: 3, depth: 8 });
}

export interface TinyDataset {
  dir: string;
  images: string;
  /** Stage 1 captions (JSON array). */
  captions: string;
  /** Stage 2 chats (JSONL: single- and multi-turn with images, and text-only). */
  chats: string;
}

/** Writes `n` images and both data files into `dir`. */
export function writeTinyDataset(dir: string, n = 8, seed = 1): TinyDataset {
  const images = join(dir, "images");
  mkdirSync(images, { recursive: true });
  const rng = new Rng(seed);
  const captions: unknown[] = [];
  const chats: string[] = [];
  for (let i = 0; i < n; i++) {
    const [name, rgb] = COLORS[i % COLORS.length]!;
    const file = `sq${i}.png`;
    writeFileSync(join(images, file), squarePng(rgb, 40 + (i % 3) * 8, rng));
    captions.push({
      id: `cap-${i}`,
      image: file,
      conversations: [
        { from: "human", value: "<image>\nDescribe the image." },
        { from: "gpt", value: `a ${name} square` },
      ],
    });
    const turns =
      i % 2 === 0
        ? [
            { from: "human", value: "What color is the square?\n<image>" },
            { from: "gpt", value: `It is ${name}.` },
          ]
        : [
            { from: "human", value: "<image>\nWhat is shown?" },
            { from: "gpt", value: "A square." },
            { from: "human", value: "Which color?" },
            { from: "gpt", value: name },
          ];
    chats.push(JSON.stringify({ id: `chat-${i}`, image: file, conversations: turns }));
    if (i % 4 === 3)
      chats.push(
        JSON.stringify({
          id: `text-${i}`,
          conversations: [
            { from: "human", value: `Say ${name}.` },
            { from: "gpt", value: name },
          ],
        }),
      );
  }
  const captionsFile = join(dir, "captions.json");
  writeFileSync(captionsFile, `${JSON.stringify(captions, null, 1)}\n`);
  const chatsFile = join(dir, "chats.jsonl");
  writeFileSync(chatsFile, `${chats.join("\n")}\n`);
  return { dir, images, captions: captionsFile, chats: chatsFile };
}
