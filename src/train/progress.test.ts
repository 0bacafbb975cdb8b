// The progress line: loss, lr, tokens/s and ETA; redrawn in place on a terminal, plain lines otherwise.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatDuration, TrainProgress } from "./progress.js";

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { out, isTTY, write: (s: string) => out.push(s) };
}

describe("training progress", () => {
  test("the line shows step, loss, lr, tokens/s and ETA", () => {
    const line = TrainProgress.render(
      5,
      20,
      { loss: 1.23456, lr: 2e-4, positions: 0, tokPerSec: 1234.4, etaS: 125 },
      10,
    );
    assert.equal(line, "step 5/20 [###-------] loss 1.2346 lr 2.00e-4 1234 tok/s ETA 2m05s");
    assert.equal(formatDuration(3725), "1h02m");
  });

  test("not a terminal: a plain line every N steps, the first and the last; messages on their own lines", () => {
    let t = 0;
    const s = sink(false);
    const p = new TrainProgress(10, 0, 4, s, () => t);
    for (let i = 1; i <= 10; i++) {
      t += 1000;
      p.update(i, { loss: 1, lr: 1e-3, positions: 100 });
    }
    p.message("checkpoint x");
    assert.deepEqual(
      s.out.filter((l) => l.startsWith("step")).map((l) => l.split(" ")[1]),
      ["1/10", "4/10", "8/10", "10/10"],
    );
    assert.match(s.out[0]!, /100 tok\/s ETA 9s\n$/);
    assert.equal(s.out.at(-1), "checkpoint x\n");
  });

  test("a terminal: redrawn in place, cleared for messages", () => {
    const s = sink(true);
    const p = new TrainProgress(3, 1, 1, s, () => 0);
    p.update(2, { loss: 1, lr: 1e-3, positions: 10 });
    p.message("hello");
    p.update(3, { loss: 1, lr: 1e-3, positions: 10 });
    p.finish();
    assert.ok(s.out[0]!.startsWith("\rstep 2/3"));
    assert.deepEqual(s.out.slice(1, 3), ["\r\u001b[K", "hello\n"]);
    assert.equal(s.out.at(-1), "\n");
  });
});
