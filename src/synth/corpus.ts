/**
 * The text corpus of the generated world, for pretraining the language model before it ever sees an image:
 * scenes from the corpus seed range (never a train/val/test scene) told in words — captions and descriptions,
 * true statements in varied grammar, questions answered from a description (so the model learns to take answers
 * from context, not from priors), multiple choice, and ChatML conversations in the template the built-in model
 * uses (Qwen2/Imp: `<|im_start|>role\n…<|im_end|>`). Documents are separated by a blank line; none holds one.
 */
import { IMP_SYSTEM } from "../io/template/phi2.js";
import type { Rng } from "../util/random.js";
import { caption, describe } from "./describe.js";
import { be, capitalize, numberWord } from "./language.js";
import { LETTER_PROMPT, LETTERS, makeMc, mcPrompt } from "./mc.js";
import { drawQuestions, type Qa } from "./qa.js";
import { familiesFor, SHORT_PROMPT } from "./records.js";
import { horizontal, refer, vertical } from "./refer.js";
import { pick, rngFor, STREAM, sample } from "./sampling.js";
import type { Scene } from "./scene.js";
import { SHAPE_PLURALS } from "./shapes.js";

export const CHATML = { start: "<|im_start|>", end: "<|im_end|>", eos: "<|endoftext|>" } as const;

/** True statements about a shapes scene in varied grammar. */
export function facts(scene: Scene, rng: Rng): string[] {
  const out: string[] = [];
  const objs = scene.objects;
  const refs = objs.map((_, i) => refer(objs, i));
  for (let a = 0; a < objs.length; a++) {
    for (let b = a + 1; b < objs.length; b++) {
      const ra = refs[a];
      const rb = refs[b];
      if (!ra || !rb) continue;
      const h = horizontal(objs[a]!, objs[b]!);
      const v = vertical(objs[a]!, objs[b]!);
      if (h) {
        const other = h === "left" ? "right" : "left";
        out.push(
          pick(rng, [
            `The ${ra.phrase} is to the ${h} of the ${rb.phrase}.`,
            `The ${rb.phrase} is to the ${other} of the ${ra.phrase}.`,
            `To the ${other} of the ${ra.phrase} there is the ${rb.phrase}.`,
          ]),
        );
      }
      if (v) {
        const other = v === "above" ? "below" : "above";
        out.push(
          pick(rng, [
            `The ${ra.phrase} is ${v} the ${rb.phrase}.`,
            `The ${rb.phrase} is ${other} the ${ra.phrase}.`,
          ]),
        );
      }
    }
  }
  const byShape = new Map<string, number>();
  const byColor = new Map<string, number>();
  for (const o of objs) {
    byShape.set(o.shape, (byShape.get(o.shape) ?? 0) + 1);
    byColor.set(o.color, (byColor.get(o.color) ?? 0) + 1);
  }
  for (const [s, n] of byShape) {
    const noun = n === 1 ? s : SHAPE_PLURALS[s as keyof typeof SHAPE_PLURALS];
    out.push(
      pick(rng, [
        `There ${be(n)} ${numberWord(n)} ${noun}.`,
        `${capitalize(numberWord(n))} of the shapes ${n === 1 ? "is a" : "are"} ${noun}.`,
        `The image has ${numberWord(n)} ${noun}.`,
      ]),
    );
  }
  for (const [c, n] of byColor) {
    out.push(n === 1 ? `Only one shape is ${c}.` : `${capitalize(numberWord(n))} shapes are ${c}.`);
  }
  objs.forEach((o, i) => {
    const r = refer(objs, i, "color");
    if (r && rng.float() < 0.5)
      out.push(`The ${r.phrase} is ${o.color}, not ${o.color === "red" ? "blue" : "red"}.`);
  });
  rng.shuffle(out);
  return out;
}

function chat(turns: readonly { user: string; assistant: string }[]): string {
  const parts = [`${CHATML.start}system\n${IMP_SYSTEM}${CHATML.end}`];
  for (const t of turns) {
    parts.push(`${CHATML.start}user\n${t.user}${CHATML.end}`);
    parts.push(`${CHATML.start}assistant\n${t.assistant}${CHATML.end}`);
  }
  return parts.join("\n");
}

/** The documents one scene contributes. */
export function sceneDocuments(scene: Scene): string[] {
  const rng = rngFor(scene.id, STREAM.corpus);
  const families = familiesFor(scene);
  const description = describe(scene, rng);
  const docs: string[] = [`${caption(scene, rng)} ${description}`];
  if (scene.kind === "shapes") {
    const f = facts(scene, rng);
    if (f.length > 0) docs.push(f.slice(0, 8).join(" "));
  }
  const qs: Qa[] = drawQuestions(scene, rng, families, 3);
  if (qs.length > 0) {
    docs.push(
      [
        description,
        ...qs.map((qa) => `Question: ${qa.question}\nAnswer: ${rng.float() < 0.5 ? qa.answer : qa.long}`),
      ].join("\n"),
    );
  }
  const [mcQa] = drawQuestions(scene, rng, families, 1);
  if (mcQa) {
    const mc = makeMc(mcQa, rng);
    docs.push(`${description}\n${mcPrompt(mcQa.question, mc.options)}\nAnswer: ${LETTERS[mc.answer]}`);
  }
  const convQs = sample(rng, drawQuestions(scene, rng, families, 3), 3);
  if (convQs.length > 0) {
    const shortStyle = rng.float() < 0.5;
    docs.push(
      chat(
        convQs.map((qa, i) => ({
          user: `${i === 0 ? `${description}\n` : ""}${qa.question}${shortStyle ? `\n${SHORT_PROMPT}` : ""}`,
          assistant: shortStyle ? qa.answer : qa.long,
        })),
      ),
    );
    if (mcQa && rng.float() < 0.3) {
      const mc = makeMc(mcQa, rng);
      docs.push(
        chat([
          {
            user: `${description}\n${mcPrompt(mcQa.question, mc.options)}\n${LETTER_PROMPT}`,
            assistant: LETTERS[mc.answer]!,
          },
        ]),
      );
    }
  }
  return docs;
}

/** The corpus text of many scenes: documents joined by blank lines, ending with a newline. */
export function corpusText(scenes: Iterable<Scene>): string {
  const docs: string[] = [];
  for (const s of scenes) docs.push(...sceneDocuments(s));
  return `${docs.join("\n\n")}\n`;
}
