/** The request queue: concurrency, the bounded line, order, and leaving the line on abort. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AbortError } from "../runtime/generate.js";
import { QueueFullError, RequestQueue } from "./queue.js";

describe("RequestQueue", () => {
  test("runs at most `concurrency` at once and grants waiters in arrival order", async () => {
    const q = new RequestQueue(2, 10);
    const order: number[] = [];
    const r1 = await q.acquire();
    const r2 = await q.acquire();
    assert.equal(q.active, 2);
    const granted = (n: number) => (r: () => void) => {
      order.push(n);
      return r;
    };
    const p3 = q.acquire().then(granted(3));
    const p4 = q.acquire().then(granted(4));
    assert.equal(q.waiting, 2);
    r1();
    r1(); // a second call frees nothing more
    const r3 = await p3;
    assert.equal(q.active, 2);
    r2();
    const r4 = await p4;
    assert.deepEqual(order, [3, 4]);
    r3();
    r4();
    assert.equal(q.active, 0);
    assert.equal(q.waiting, 0);
  });

  test("a full line refuses at once, synchronously", async () => {
    const q = new RequestQueue(1, 1);
    const r1 = await q.acquire();
    const p2 = q.acquire();
    assert.throws(() => q.acquire(), QueueFullError);
    r1();
    (await p2)();
  });

  test("maxWaiting 0: only the running one, none waits", async () => {
    const q = new RequestQueue(1, 0);
    const r1 = await q.acquire();
    assert.throws(() => q.acquire(), QueueFullError);
    r1();
    (await q.acquire())();
  });

  test("an aborted waiter leaves the line and never runs; the next one gets the slot", async () => {
    const q = new RequestQueue(1, 5);
    const r1 = await q.acquire();
    const c = new AbortController();
    const p2 = q.acquire(c.signal);
    const p3 = q.acquire();
    c.abort();
    await assert.rejects(p2, AbortError);
    assert.equal(q.waiting, 1);
    r1();
    const r3 = await p3;
    assert.equal(q.active, 1);
    r3();
    await assert.rejects(q.acquire(c.signal), AbortError);
  });
});
