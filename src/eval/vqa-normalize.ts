/**
 * Answer normalisation of the VQA evaluator (GT-Vision-Lab/VQA `vqaEval.py`) and of EvalAI's answer
 * processor (facebookresearch/mmf `EvalAIAnswerProcessor`, copied into LLaVA as `llava/eval/m4c_evaluator.py`),
 * rule for rule, quirks included:
 *
 * - Punctuation: each listed mark is deleted when it touches a space anywhere in the *original* string, or when
 *   the string contains a digit-comma-digit anywhere; otherwise it becomes a space. The apostrophe and colon are
 *   not in the list (they were before 2021's "Fixed processing answers bug" commit).
 * - Periods: the pattern meant "a period not between digits" but its lookbehind is written `(?!<=\d)`, a lookahead
 *   that never fires, so every period not followed by a digit goes; and `re.UNICODE` is passed where `sub` takes
 *   `count`, so only the first 32 such periods are removed.
 * - Words (split on Python whitespace, lower-cased): number words "none"/"zero".."ten" become digits, the
 *   articles a/an/the are dropped, then contractions are spelt with an apostrophe ("dont" -> "don't"). The table is
 *   kept verbatim: keys with capitals ("Im") can never match lower-cased words, and "somebody'd" maps to
 *   "somebodyd".
 * - Digits: the evaluator runs under Python 2, where `\d` is ASCII only; EvalAI's processor runs under Python 3,
 *   where `\d` is any Unicode decimal digit.
 * - EvalAI's processor first lower-cases, deletes every "," and "?", writes "'s" as " 's" and strips; its
 *   digit-comma-digit test therefore never fires.
 */
import { pyLower, pySplit, pyStrip } from "./python-compat.js";

export const CONTRACTIONS: Readonly<Record<string, string>> = {
  aint: "ain't",
  arent: "aren't",
  cant: "can't",
  couldve: "could've",
  couldnt: "couldn't",
  "couldn'tve": "couldn't've",
  "couldnt've": "couldn't've",
  didnt: "didn't",
  doesnt: "doesn't",
  dont: "don't",
  hadnt: "hadn't",
  "hadnt've": "hadn't've",
  "hadn'tve": "hadn't've",
  hasnt: "hasn't",
  havent: "haven't",
  hed: "he'd",
  "hed've": "he'd've",
  "he'dve": "he'd've",
  hes: "he's",
  howd: "how'd",
  howll: "how'll",
  hows: "how's",
  "Id've": "I'd've",
  "I'dve": "I'd've",
  Im: "I'm",
  Ive: "I've",
  isnt: "isn't",
  itd: "it'd",
  "itd've": "it'd've",
  "it'dve": "it'd've",
  itll: "it'll",
  "let's": "let's",
  maam: "ma'am",
  mightnt: "mightn't",
  "mightnt've": "mightn't've",
  "mightn'tve": "mightn't've",
  mightve: "might've",
  mustnt: "mustn't",
  mustve: "must've",
  neednt: "needn't",
  notve: "not've",
  oclock: "o'clock",
  oughtnt: "oughtn't",
  "ow's'at": "'ow's'at",
  "'ows'at": "'ow's'at",
  "'ow'sat": "'ow's'at",
  shant: "shan't",
  "shed've": "she'd've",
  "she'dve": "she'd've",
  "she's": "she's",
  shouldve: "should've",
  shouldnt: "shouldn't",
  "shouldnt've": "shouldn't've",
  "shouldn'tve": "shouldn't've",
  "somebody'd": "somebodyd",
  "somebodyd've": "somebody'd've",
  "somebody'dve": "somebody'd've",
  somebodyll: "somebody'll",
  somebodys: "somebody's",
  someoned: "someone'd",
  "someoned've": "someone'd've",
  "someone'dve": "someone'd've",
  someonell: "someone'll",
  someones: "someone's",
  somethingd: "something'd",
  "somethingd've": "something'd've",
  "something'dve": "something'd've",
  somethingll: "something'll",
  thats: "that's",
  thered: "there'd",
  "thered've": "there'd've",
  "there'dve": "there'd've",
  therere: "there're",
  theres: "there's",
  theyd: "they'd",
  "theyd've": "they'd've",
  "they'dve": "they'd've",
  theyll: "they'll",
  theyre: "they're",
  theyve: "they've",
  twas: "'twas",
  wasnt: "wasn't",
  "wed've": "we'd've",
  "we'dve": "we'd've",
  weve: "we've",
  werent: "weren't",
  whatll: "what'll",
  whatre: "what're",
  whats: "what's",
  whatve: "what've",
  whens: "when's",
  whered: "where'd",
  wheres: "where's",
  whereve: "where've",
  whod: "who'd",
  "whod've": "who'd've",
  "who'dve": "who'd've",
  wholl: "who'll",
  whos: "who's",
  whove: "who've",
  whyll: "why'll",
  whyre: "why're",
  whys: "why's",
  wont: "won't",
  wouldve: "would've",
  wouldnt: "wouldn't",
  "wouldnt've": "wouldn't've",
  "wouldn'tve": "wouldn't've",
  yall: "y'all",
  "yall'll": "y'all'll",
  "y'allll": "y'all'll",
  "yall'd've": "y'all'd've",
  "y'alld've": "y'all'd've",
  "y'all'dve": "y'all'd've",
  youd: "you'd",
  "youd've": "you'd've",
  "you'dve": "you'd've",
  youll: "you'll",
  youre: "you're",
  youve: "you've",
};

/** Number words up to ten ("none" counts as zero). */
export const NUMBER_WORDS: Readonly<Record<string, string>> = {
  none: "0",
  zero: "0",
  one: "1",
  two: "2",
  three: "3",
  four: "4",
  five: "5",
  six: "6",
  seven: "7",
  eight: "8",
  nine: "9",
  ten: "10",
};

export const ARTICLES: readonly string[] = ["a", "an", "the"];

/** The punctuation list of vqaEval.py since 2021 and of EvalAI's processor (identical). */
export const PUNCTUATION: readonly string[] = [
  ";",
  "/",
  "[",
  "]",
  '"',
  "{",
  "}",
  "(",
  ")",
  "=",
  "+",
  "\\",
  "_",
  "-",
  ">",
  "<",
  "@",
  "`",
  ",",
  "?",
  "!",
];

/** Which Python ran the rule: decides `\d`, whitespace and lower-casing. */
export type PyFlavour = "py2" | "py3";

const ASCII_DIGIT = /[0-9]/;
const UNICODE_DIGIT = /\p{Nd}/u;

function isDigitAt(s: string, i: number, flavour: PyFlavour): boolean {
  const cp = s.codePointAt(i);
  if (cp === undefined) return false;
  return (flavour === "py2" ? ASCII_DIGIT : UNICODE_DIGIT).test(String.fromCodePoint(cp));
}

/** Removes the first 32 periods that are not followed by a digit (see the file comment). */
export function stripPeriods(s: string, flavour: PyFlavour): string {
  let out = "";
  let removed = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "." && removed < 32 && !isDigitAt(s, i + 1, flavour)) {
      removed++;
      continue;
    }
    out += s[i];
  }
  return out;
}

/** vqaEval's `commaStrip` (Python 2): a digit, a comma, a digit, anywhere. */
const VQA_COMMA = /[0-9],[0-9]/;
/** EvalAI's `COMMA_STRIP` (Python 3): commas between Unicode digits. */
const EVALAI_COMMA = /(?<=\p{Nd}),+(?=\p{Nd})/u;

/** `processPunctuation` of vqaEval.py (flavour py2) or EvalAI's `process_punctuation` (py3). */
export function processPunctuation(inText: string, flavour: PyFlavour): string {
  const commaRe = flavour === "py2" ? VQA_COMMA : EVALAI_COMMA;
  const hasDigitComma = commaRe.test(inText);
  let outText = inText;
  for (const p of PUNCTUATION) {
    // The test looks at the original text every time, not the text as rewritten so far.
    if (inText.includes(`${p} `) || inText.includes(` ${p}`) || hasDigitComma)
      outText = outText.split(p).join("");
    else outText = outText.split(p).join(" ");
  }
  return stripPeriods(outText, flavour);
}

/** `processDigitArticle`: number words to digits, articles dropped, contractions restored. */
export function processDigitArticle(inText: string, flavour: PyFlavour): string {
  const py2 = flavour === "py2";
  const words: string[] = [];
  for (let word of pySplit(pyLower(inText, py2), py2)) {
    word = Object.hasOwn(NUMBER_WORDS, word) ? NUMBER_WORDS[word]! : word;
    if (!ARTICLES.includes(word)) words.push(word);
  }
  return words.map((w) => (Object.hasOwn(CONTRACTIONS, w) ? CONTRACTIONS[w]! : w)).join(" ");
}

/** Python's `s.replace('\n', ' ').replace('\t', ' ').strip()`, done to every answer before comparing. */
export function flattenWhitespace(s: string, flavour: PyFlavour): string {
  return pyStrip(s.replaceAll("\n", " ").replaceAll("\t", " "), flavour === "py2");
}

/**
 * EvalAI's answer processor (LLaVA `m4c_evaluator.EvalAIAnswerProcessor.__call__`): what LLaVA and Imp apply to
 * every VQAv2 answer before submission, and what TextVQA's evaluator applies to predictions and human answers.
 */
export function evalAiProcess(answer: string): string {
  let item = pyLower(answer);
  item = item.replaceAll(",", "").replaceAll("?", "").replaceAll("'s", " 's");
  item = pyStrip(item);
  item = flattenWhitespace(item, "py3");
  item = processPunctuation(item, "py3");
  return processDigitArticle(item, "py3");
}
