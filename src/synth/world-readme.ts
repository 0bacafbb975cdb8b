/**
 * The README.md written into a generated world's folder: its layout, formats and counts, and how the trainer
 * and `imp eval` use it.
 */
import { SPLIT_RANGES } from "./world.js";
import type { WorldManifest } from "./write-world.js";

export function worldReadme(m: WorldManifest): string {
  const rec = (split: string) =>
    Object.entries(m.records[split] ?? {})
      .map(([c, n]) => `${c} ${n}`)
      .join(", ");
  const ev = (split: string) =>
    Object.entries(m.eval[split] ?? {})
      .map(([b, n]) => `${b} ${n}`)
      .join(", ");
  return `# imp-ts generated world (version ${m.version})

Made by \`npm run world\` (src/synth). Every file is a function of the generator options (in world.json):
regenerating with the same options gives the same bytes (world.json's timings aside). Images are ${m.imageSize}×${m.imageSize} RGB PNG.

Scenes are drawn from disjoint seed ranges: train ${m.splits.train?.firstSeed}…, val ${m.splits.val?.firstSeed}…,
test ${m.splits.test?.firstSeed}…, corpus ${SPLIT_RANGES.corpus.start}…. Kinds: shapes (1–6 coloured shapes), text (signs with a
word or number, shapes with a letter), chart (bar, horizontal bar, pie with printed values).

## Layout

\`\`\`
images/train/sNNNNNNNN.png, images/val/…      images of the LLaVA-format data (--image_folder = images/)
train/<category>.json, val/<category>.json    LLaVA format: [{id, image, conversations: [{from, value}]}]
  captions: caption.json (stage 1, "plain" template: image + caption)
  stage 2:  vqa.json pope.json text.json chart.json mc.json detail.json conv.json
eval/test/<benchmark>/                        test sets in official formats (below)
eval/val/<benchmark>/                         the same for a slice of the validation split (if generated)
corpus.txt                                    text corpus for LM pretraining; documents separated by a blank line
tokenizer/                                    tokenizer.json, tokenizer_config.json, special_tokens_map.json
world.json                                    manifest: options, counts, timings
\`\`\`

Records: train ${rec("train")}; val ${rec("val")}.

Categories: caption (LLaVA-Pretrain-like), vqa (colour/shape/count/relation/position/size/yes-no, VQAv2/GQA-like,
3 turns), pope (existence yes/no with random/popular/adversarial negatives, 4 turns), text (TextVQA-like, 2 turns),
chart (ChartQA/DVQA-like, 2 turns), mc (MMBench/ScienceQA-like lettered choice), detail (ShareGPT-4V-like
description), conv (ALLaVA-like multi-turn, sentence answers). Short-answer turns end with "Answer the question
using a single word or phrase."; multiple choice with "Answer with the option's letter from the given choices
directly." Short answers are lower case.

## Evaluation sets (eval/test, eval/val)

Each folder is both LLaVA's \`playground/data/eval/BENCH\` (question file + images, for \`imp eval run\`) and
a scoring folder like ../shared/fixtures/eval/BENCH (ground truth; add the answers file, then
\`imp eval score SCORER FOLDER\`).

| folder | scorer | question file | images | ground truth |
| --- | --- | --- | --- | --- |
| vqav2 | vqav2 | llava_vqav2_mscoco_test-dev2015.jsonl | test2015/ | questions.json, annotations.json (10 identical answers) |
| gqa | gqa | llava_gqa_testdev_balanced.jsonl | data/images/ | testdev_balanced_questions.json |
| pope | pope | llava_pope_test.jsonl | val2014/ | coco/coco_pope_{adversarial,popular,random}.json |
| textvqa | textvqa | llava_textvqa_val_v051_ocr.jsonl (no OCR tokens) | train_images/ | TextVQA_0.5.1_val.json |
| chartqa | textvqa | llava_textvqa_val_v051_ocr.jsonl | train_images/ | TextVQA_0.5.1_val.json |
| mmbench | mmbench | mmbench_dev_20230712.tsv (circular passes, base64 images) | inline | mmbench_dev.tsv (same file) |
| scienceqa | scienceqa | llava_test_CQM-A.json | images/test/PID/image.png | problems.json, pid_splits.json |

Questions: test ${ev("test")}${m.eval.val ? `; val ${ev("val")}` : ""}.

Charts use the TextVQA layout: its scorer normalises case, punctuation and articles on both sides and takes
exact matches, which suits printed labels and integer values.

## Corpus and tokenizer

corpus.txt: ${m.corpus.documents} documents, ${m.corpus.characters} characters, from ${m.corpus.scenes} scenes of
the corpus range (captions, descriptions, statements, questions answered from a description, multiple choice,
ChatML conversations with Imp's system prompt). Join documents with <|endoftext|> for pretraining.

tokenizer/: byte-level BPE (Qwen2 layout), ${m.tokenizer.vocabSize} tokens (${m.tokenizer.merges} merges;
specials ${m.tokenizer.specialTokens.join(" ")} after the vocabulary). EOS <|im_end|>, PAD <|endoftext|>, no BOS.
`;
}
