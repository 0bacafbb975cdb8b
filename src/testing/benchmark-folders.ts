/**
 * Tiny benchmark folders in LLaVA's layout (question files, images, ground truth) for testing the runner end to
 * end. Contents are meaningless; the shapes are the real ones.
 */
import { jsonl, tempFolder } from "./temp-folder.js";

/** A 1x1 PNG. */
export const PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC";
const png = () => Buffer.from(PNG_BASE64, "base64");
const SHORT = "\nAnswer the question using a single word or phrase.";

export function popeData(perSplit = 2) {
  const splits = ["adversarial", "popular", "random"];
  const questions: unknown[] = [];
  const files: Record<string, unknown> = {};
  let id = 1;
  for (const s of splits) {
    const labels: unknown[] = [];
    for (let k = 0; k < perSplit; k++) {
      const obj = `${s}-object-${k}`;
      questions.push({
        question_id: id,
        image: `COCO_${k}.png`,
        text: `Is there a ${obj} in the image?${SHORT}`,
        category: s,
      });
      labels.push({
        question_id: id - splits.indexOf(s) * perSplit,
        image: `COCO_${k}.png`,
        text: `Is there a ${obj} in the image?`,
        label: k % 2 ? "no" : "yes",
      });
      files[`val2014/COCO_${k}.png`] = png();
      id++;
    }
    files[`coco/coco_pope_${s}.json`] = jsonl(labels);
  }
  files["llava_pope_test.jsonl"] = jsonl(questions);
  return tempFolder(files);
}

export function mmbenchData() {
  const head =
    "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage\tsource\tl2-category\tcomment\tsplit";
  const rows: string[] = [head];
  const qs = [
    { q: "What room is this?", opts: ["kitchen", "bedroom", "garage"], ans: 0, hint: "" },
    { q: "Which colour?", opts: ["red", "blue"], ans: 1, hint: "Look at the bus." },
  ];
  qs.forEach((x, qi) => {
    for (let k = 0; k < x.opts.length; k++) {
      const rot = [...x.opts.slice(k), ...x.opts.slice(0, k)];
      const letter = "ABCD"[(x.ans - k + x.opts.length) % x.opts.length]!;
      const cells = [
        qi + k * 1000000,
        x.q,
        x.hint,
        ...rot,
        ...Array(4 - rot.length).fill(""),
        letter,
        `cat${qi}`,
      ];
      rows.push([...cells, k === 0 ? PNG_BASE64 : String(qi), "synthetic", "l2", "", "dev"].join("\t"));
    }
  });
  return tempFolder({ "mmbench_dev_20230712.tsv": `${rows.join("\n")}\n` });
}

export function scienceQaData() {
  const conv = (v: string) => [
    { from: "human", value: v },
    { from: "gpt", value: "A" },
  ];
  return tempFolder({
    "llava_test_CQM-A.json": [
      {
        id: "1",
        image: "1/image.png",
        conversations: conv("<image>\nContext: N/A\nWhich animal flies?\nOptions: (A) bird (B) fish"),
      },
      { id: "2", conversations: conv("Context: N/A\nWhich is a noun?\nOptions: (A) run (B) cat (C) blue") },
      {
        id: "3",
        image: "3/image.png",
        conversations: conv("Which is heavier?\nOptions: (A) rock (B) feather\n<image>"),
      },
    ],
    "images/test/1/image.png": png(),
    "images/test/3/image.png": png(),
    "problems.json": {
      "1": { question: "Which animal flies?", choices: ["bird", "fish"], answer: 0, image: "image.png" },
      "2": { question: "Which is a noun?", choices: ["run", "cat", "blue"], answer: 1, image: null },
      "3": { question: "Which is heavier?", choices: ["rock", "feather"], answer: 0, image: "image.png" },
    },
    "pid_splits.json": { test: ["1", "2", "3"] },
  });
}

export function mmeData() {
  const files: Record<string, unknown> = {};
  const questions: unknown[] = [];
  for (const cat of ["existence", "OCR"]) {
    const gtLines: string[] = [];
    for (const n of ["0001", "0002"]) {
      files[`MME_Benchmark_release_version/${cat}/${n}.png`] = png();
      const q1 = `Is there a thing ${n} in this image? Please answer yes or no.`;
      const q2 = `Is there no thing ${n} in this image? Please answer yes or no.`;
      files[`MME_Benchmark_release_version/${cat}/${n}.txt`] = `${q1}\tYes\n${q2}\tNo\n`;
      gtLines.push(q1, q2);
      for (const q of [q1, q2]) {
        questions.push({
          question_id: `${cat}/${n}.png`,
          image: `${cat}/${n}.png`,
          text: `${q}${SHORT}`,
          category: cat,
        });
      }
    }
  }
  files["llava_mme.jsonl"] = jsonl(questions);
  return tempFolder(files);
}

export function textVqaData() {
  return tempFolder({
    "llava_textvqa_val_v051_ocr.jsonl": jsonl([
      { question_id: "img1", image: "img1.jpg", text: `what brand?\nReference OCR token: Heineken${SHORT}` },
      { question_id: "img1", image: "img1.jpg", text: `what year?${SHORT}` },
      { question_id: "img2", image: "img2.jpg", text: `what word?${SHORT}` },
    ]),
    "train_images/img1.jpg": png(),
    "train_images/img2.jpg": png(),
    "TextVQA_0.5.1_val.json": {
      data: [
        { image_id: "img1", question: "what brand?", answers: Array(10).fill("cat") },
        { image_id: "img1", question: "what year?", answers: Array(10).fill("1990") },
        { image_id: "img2", question: "what word?", answers: Array(10).fill("red") },
      ],
    },
  });
}

export function vqav2Data() {
  const q = (id: number) => ({
    question_id: id,
    image: `COCO_test2015_${id}.png`,
    text: `What is it?${SHORT}`,
    category: "default",
  });
  return tempFolder({
    "llava_vqav2_mscoco_test-dev2015.jsonl": jsonl([q(1), q(2)]),
    "llava_vqav2_mscoco_test2015.jsonl": jsonl([q(1), q(2), q(3)]),
    "test2015/COCO_test2015_1.png": png(),
    "test2015/COCO_test2015_2.png": png(),
  });
}

export function gqaData() {
  const question = (answer: string, structural: string) => ({
    question: "What is it?",
    answer,
    isBalanced: true,
    types: { structural, semantic: "obj", detailed: "x" },
    groups: { global: null, local: "l" },
  });
  return tempFolder({
    "llava_gqa_testdev_balanced.jsonl": jsonl([
      { question_id: "201", image: "n1.jpg", text: `What is it?${SHORT}` },
      { question_id: "202", image: "n1.jpg", text: `What colour is it?${SHORT}` },
    ]),
    "data/images/n1.jpg": png(),
    "data/testdev_balanced_questions.json": {
      "201": question("cat", "query"),
      "202": question("red", "query"),
    },
  });
}
