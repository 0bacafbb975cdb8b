/**
 * The closed vocabularies of the generated world: words written on signs and category labels of charts.
 * Closed on purpose: a tiny model can learn to read a few hundred words, and the tokenizer sees them all.
 * No word names a colour or a shape, so a question about a sign's text never collides with one about its
 * colour. Order is part of the world (seeds index into these lists).
 */

/** Words for signs: 3–7 letters, common English. */
export const SIGN_WORDS: readonly string[] = (
  "apple bread cake milk tea coffee juice water pizza soup open closed stop exit enter push pull sale " +
  "free new park shop cafe hotel bank school store market garden beach river lake hill road bridge " +
  "train bus taxi boat plane cat dog bird fish horse lion tiger zebra mouse rabbit hello thanks " +
  "up down left right north south east west city town home office music movie book games sport tennis " +
  "golf soccer chess dance art farm zoo museum happy sunny rain snow wind cloud storm night day time " +
  "love peace smile dream magic light fire ice stone wood gold silver king queen robot rocket planet " +
  "moon sun sky pasta salad lemon mango melon grape cherry honey sugar salt"
).split(" ");

/** Category labels of charts: three lowercase letters, short enough to read under a bar at scale 2. */
export const CHART_LABELS: readonly string[] = (
  "cat dog cow pig fox owl bee hen ant elk car bus van cab jet map pen cup box hat tea jam egg pie ice " +
  "oak fig yam sea sky mon tue wed thu fri sat sun jan feb mar"
).split(" ");

/**
 * Letters and digits that label shapes in text scenes: no I, O, Q (too close to 1, 0, O), and no A–D, which
 * would read as option letters in multiple choice.
 */
export const LABEL_CHARS: readonly string[] = [..."EFGHJKLMNPRSTUVWXYZ123456789"];
