/**
 * Question families about charts (ChartQA/DVQA-like): read a value, find the largest or smallest category,
 * compare two categories, take a difference, count bars or slices, name a bar's colour. Values are printed
 * on the chart, so every answer can be read or computed from the pixels.
 */
import type { Rng } from "../util/random.js";
import { capitalize, numberWord } from "./language.js";
import { COLOR_NAMES } from "./palette.js";
import { COUNT_POOL, type Family, YES_NO } from "./qa.js";
import { pick, sample } from "./sampling.js";
import type { Chart } from "./scene.js";

const isPie = (c: Chart) => c.type === "pie";
const unit = (c: Chart) => (isPie(c) ? "slice" : "bar");

/** Values a reader could confuse with n: the chart's others and near neighbours (pies: steps of 5). */
function values(c: Chart, n: number): string[] {
  const out = new Set<string>(c.values.map(String));
  const steps = isPie(c) ? [5, 10, 15, -5, -10, -15] : [1, 2, 5, 10, -1, -2, -5, -10];
  for (const d of steps) if (n + d > 0) out.add(String(n + d));
  out.add(String(n));
  return [...out];
}

function twoLabels(c: Chart, rng: Rng): [number, number] {
  const [i, j] = sample(
    rng,
    c.labels.map((_, k) => k),
    2,
  );
  return [i!, j!];
}

export const chartValueQ: Family = (scene, rng) => {
  const c = scene.chart;
  if (!c) return null;
  const i = rng.int(c.labels.length);
  const label = c.labels[i]!;
  const v = c.values[i]!;
  const question = isPie(c)
    ? pick(rng, [`What percentage is ${label}?`, `What percentage of the pie is ${label}?`])
    : pick(rng, [`What is the value of ${label}?`, `What value does the ${label} bar show?`]);
  return {
    family: "chart-value",
    question,
    answer: String(v),
    long: isPie(c) ? `${capitalize(label)} is ${v}% of the pie.` : `The value of ${label} is ${v}.`,
    answerType: "number",
    questionType: question.split(" ").slice(0, 3).join(" ").toLowerCase(),
    pool: values(c, v),
    hard: c.values.filter((x) => x !== v).map(String),
  };
};

export const chartExtremeQ: Family = (scene, rng) => {
  const c = scene.chart;
  if (!c) return null;
  const most = rng.float() < 0.55;
  const target = most ? Math.max(...c.values) : Math.min(...c.values);
  const label = c.labels[c.values.indexOf(target)]!;
  const question = isPie(c)
    ? most
      ? pick(rng, ["Which slice is the largest?", "Which category has the largest share?"])
      : pick(rng, ["Which slice is the smallest?", "Which category has the smallest share?"])
    : most
      ? pick(rng, ["Which category has the highest value?", "Which bar is the longest?"])
      : pick(rng, ["Which category has the lowest value?", "Which bar is the shortest?"]);
  return {
    family: most ? "chart-max" : "chart-min",
    question,
    answer: label,
    long: `${capitalize(label)} has the ${most ? "largest" : "smallest"} value, ${target}${isPie(c) ? "%" : ""}.`,
    answerType: "other",
    questionType: "which",
    pool: c.labels,
    hard: c.labels.filter((l) => l !== label),
  };
};

export const chartCompareQ: Family = (scene, rng) => {
  const c = scene.chart;
  if (!c || c.labels.length < 2) return null;
  const [i, j] = twoLabels(c, rng);
  const a = c.labels[i]!;
  const b = c.labels[j]!;
  const va = c.values[i]!;
  const vb = c.values[j]!;
  if (rng.float() < 0.5) {
    const yes = va > vb;
    return {
      family: "chart-compare-yn",
      question: `Is the value of ${a} greater than the value of ${b}?`,
      answer: yes ? "yes" : "no",
      long: `${yes ? "Yes" : "No"}, ${a} is ${va} and ${b} is ${vb}.`,
      answerType: "yes/no",
      questionType: "is the",
      pool: YES_NO,
      hard: [],
    };
  }
  const larger = va > vb ? a : b;
  return {
    family: "chart-compare",
    question: `Which is larger, ${a} or ${b}?`,
    answer: larger,
    long: `${capitalize(larger)} is larger: ${a} is ${va} and ${b} is ${vb}.`,
    answerType: "other",
    questionType: "which",
    pool: c.labels,
    hard: [a, b].filter((l) => l !== larger),
  };
};

export const chartDiffQ: Family = (scene, rng) => {
  const c = scene.chart;
  if (!c || c.labels.length < 2) return null;
  const [i, j] = twoLabels(c, rng);
  const a = c.labels[i]!;
  const b = c.labels[j]!;
  const d = Math.abs(c.values[i]! - c.values[j]!);
  return {
    family: "chart-diff",
    question: `What is the difference between the values of ${a} and ${b}?`,
    answer: String(d),
    long: `The difference is ${d}: ${a} is ${c.values[i]} and ${b} is ${c.values[j]}.`,
    answerType: "number",
    questionType: "what is the",
    pool: values(c, d),
    hard: [String(c.values[i]), String(c.values[j])],
  };
};

export const chartCountQ: Family = (scene, rng) => {
  const c = scene.chart;
  if (!c) return null;
  const n = c.labels.length;
  const question = isPie(c)
    ? pick(rng, ["How many slices does the pie chart have?", "How many slices are there?"])
    : pick(rng, ["How many bars are there?", "How many bars does the chart have?"]);
  return {
    family: "chart-count",
    question,
    answer: String(n),
    long: `The chart has ${numberWord(n)} ${unit(c)}s.`,
    answerType: "number",
    questionType: "how many",
    pool: COUNT_POOL.filter((x) => x !== "0"),
    hard: [String(n + 1), String(n - 1)],
  };
};

export const chartColorQ: Family = (scene, rng) => {
  const c = scene.chart;
  if (!c) return null;
  const i = rng.int(c.labels.length);
  const color = c.colors[i]!;
  return {
    family: "chart-color",
    question: `What color is the ${c.labels[i]} ${unit(c)}?`,
    answer: color,
    long: `The ${c.labels[i]} ${unit(c)} is ${color}.`,
    answerType: "other",
    questionType: "what color is the",
    pool: COLOR_NAMES,
    hard: c.colors.filter((x) => x !== color),
  };
};

/** Chart families, with weights. */
export const CHART_FAMILIES: readonly { name: string; make: Family; weight: number }[] = [
  { name: "chart-value", make: chartValueQ, weight: 4 },
  { name: "chart-extreme", make: chartExtremeQ, weight: 3 },
  { name: "chart-compare", make: chartCompareQ, weight: 2 },
  { name: "chart-diff", make: chartDiffQ, weight: 1 },
  { name: "chart-count", make: chartCountQ, weight: 1 },
  { name: "chart-color", make: chartColorQ, weight: 1 },
];
