/**
 * The web page in a real browser: Debian's headless Chromium driven by playwright-core. Upload an image
 * and watch the answer stream in; drag and drop, paste; stop an answer mid-stream; run the same model in the
 * tab (the in-tab engine, wasm kernels in Web Workers) and get the same answer as Node.js. The test installs
 * nothing: without /usr/bin/chromium (CI's .ci/run installs it with apt) it skips and says so.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { WorkerEngine } from "../runtime/engine/worker-engine.js";
import { ImpPipeline } from "../runtime/pipeline.js";
import { FakeEngine } from "../testing/fake-engine.js";
import { fixture } from "../testing/fixtures.js";
import { writeTinyModel } from "../testing/tiny-model.js";
import { createApp } from "./app.js";
import { type Listening, listen } from "./server.js";

const CHROMIUM = process.env.IMP_CHROMIUM ?? "/usr/bin/chromium";
const skip = existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (CI's .ci/run does) or set IMP_CHROMIUM`;
if (skip) process.stderr.write(`web.test.ts: SKIPPED: ${skip}\n`);

const IMAGE = fixture("preprocess", "landscape_rgb.png");
// The in-tab test asks about a JPEG: the browser decodes it with the bundled WebAssembly decoder.
const PHOTO = fixture("preprocess", "portrait_photo.jpg");

describe("the web page in headless Chromium", { skip }, () => {
  let tmp: string;
  let browser: BrowserContext;
  let engine: WorkerEngine;
  let server: Listening;
  let dir: string;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "imp-web-"));
    // Room for a long answer to stop (the in-tab Stop); answers within the fixture's 256 positions are unchanged.
    dir = writeTinyModel(join(tmp, "model"), { max_position_embeddings: 4096 });
    const started = WorkerEngine.start({ folder: dir, backend: "js", id: "tiny", log: () => {} });
    browser = await chromium.launchPersistentContext(join(tmp, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    engine = await started;
    server = await listen(
      createApp({ engine, inTab: { folder: dir }, processMetrics: false, log: () => {} }).app,
      {
        host: "127.0.0.1",
        port: 0,
      },
    );
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await engine?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** The server's own greedy answer to "What is the shape?" about IMAGE, with `fields` in the request. */
  async function serverAnswer(fields: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        temperature: 0,
        ...fields,
        messages: [
          {
            role: "user",
            content: [
              {
                type: "image_url",
                image_url: { url: `data:image/png;base64,${readFileSync(IMAGE).toString("base64")}` },
              },
              { type: "text", text: "What is the shape?" },
            ],
          },
        ],
      }),
    });
    return ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message
      .content;
  }

  /** Opens the page and records every URL it requests. */
  async function open(url: string): Promise<{ page: Page; requests: string[] }> {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    page.on("pageerror", (e) => assert.fail(`page error: ${e.message}`));
    await page.goto(url);
    await page.locator("#model").filter({ hasText: "model:" }).waitFor();
    return { page, requests };
  }

  test("upload an image, ask, and the streamed answer shows with its timing", async () => {
    // The server's own greedy answer to the same request, to compare with what the page shows.
    const expected = await serverAnswer({ max_tokens: 16 });

    const { page, requests } = await open(server.url);
    assert.equal(await page.locator("#model").textContent(), "model: tiny");
    await page.locator("summary").click();
    await page.fill("#max-tokens", "16");
    await page.setInputFiles("#file", IMAGE);
    await page.locator("#attachment").waitFor({ state: "visible" });
    await page.fill("#prompt", "What is the shape?");
    const response = page.waitForResponse((r) => r.url().endsWith("/v1/chat/completions"));
    await page.keyboard.press("Enter");
    assert.match((await response).headers()["content-type"] ?? "", /text\/event-stream/);
    const meta = page.locator("#log li.assistant .meta");
    await meta.waitFor();
    assert.match((await meta.textContent()) ?? "", /first text after [\d.]+ s · 16 tokens in [\d.]+ s/);
    const answer = await page.locator("#log li.assistant .text").textContent();
    assert.equal(answer, expected);
    assert.equal(await page.locator("#log li.user img").count(), 1, "the sent image shows in the log");
    assert.equal(await page.locator("#attachment").isVisible(), false, "the attachment was cleared");
    // Nothing came from anywhere but this server.
    assert.ok(
      requests.every((u) => u.startsWith(server.url) || u.startsWith("data:")),
      requests.join("\n"),
    );
    if (process.env.IMP_SCREENSHOT) await page.screenshot({ path: process.env.IMP_SCREENSHOT });
    await page.close();
  });

  test("Run the model in this tab (served, or a picked folder): the same answers as Node.js; Stop stops it", async () => {
    // Node's greedy answer on the same kernels (wasm) to the conversation the page will send.
    const imp = await ImpPipeline.load(dir, { backend: "wasm" });
    const expected = await imp.generate({
      messages: [{ role: "user", content: "<image>\nWhat is the shape?" }],
      image: new Uint8Array(readFileSync(PHOTO)),
      maxNewTokens: 16,
      sampling: { temperature: 0 },
    });
    // A long answer (this random model never ends one), for Stop.
    const long = await imp.generate({
      messages: [{ role: "user", content: "Describe it at length." }],
      maxNewTokens: 3000,
      sampling: { temperature: 0 },
    });
    imp.dispose();
    assert.equal(long.stats.generatedTokens, 3000);

    const { page, requests } = await open(server.url);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true, "the page is cross-origin isolated");
    await page.locator("summary").click();
    await page.fill("#max-tokens", "16");
    await page.check("#in-tab");
    await page.locator("#model").filter({ hasText: "in this tab" }).waitFor();
    assert.match(
      (await page.locator("#model").textContent()) ?? "",
      /^model: tiny · in this tab \(\d+ threads\)$/,
    );
    await page.setInputFiles("#file", PHOTO);
    await page.locator("#attachment").waitFor({ state: "visible" });
    await page.fill("#prompt", "What is the shape?");
    await page.keyboard.press("Enter");
    const meta = page.locator("#log li.assistant .meta");
    await meta.waitFor();
    assert.match((await meta.textContent()) ?? "", /16 tokens in [\d.]+ s .* · in this tab/);
    assert.equal(await page.locator("#log li.assistant .text").textContent(), expected.text);
    // The model's files came from this server once; no question went to it.
    assert.ok(!requests.some((u) => u.includes("/v1/chat/completions")), requests.join("\n"));
    assert.ok(requests.some((u) => u.endsWith("/model/model.safetensors")));

    // Stop ends an answer in the tab: a 3000-token answer is cut soon after its first text.
    await page.click("#new-chat");
    await page.fill("#max-tokens", "3000");
    await page.fill("#prompt", "Describe it at length.");
    await page.click("#send");
    const text = page.locator("#log li.assistant .text");
    await text.filter({ hasText: /./ }).waitFor();
    await page.click("#stop");
    await page.locator("#log li.assistant .meta").filter({ hasText: "stopped" }).waitFor();
    const cut = (await text.textContent()) ?? "";
    assert.ok(
      cut.length > 0 && cut.length < long.text.length / 2,
      `${cut.length} of ${long.text.length} characters`,
    );
    assert.ok(long.text.startsWith(cut), "what was shown is the start of the whole answer");
    assert.equal(await page.locator("#send").isEnabled(), true);
    assert.ok(
      requests.every((u) => u.startsWith(server.url) || u.startsWith("data:")),
      requests.join("\n"),
    );

    // A model folder picked from this computer runs in the tab too, read in place: the same answer again.
    await page.click("#new-chat");
    await page.setInputFiles("#model-folder", dir);
    await page
      .locator("#model")
      .filter({ hasText: /^model: model · in this tab/ })
      .waitFor();
    await page.fill("#max-tokens", "16");
    await page.setInputFiles("#file", PHOTO);
    await page.locator("#attachment").waitFor({ state: "visible" });
    await page.fill("#prompt", "What is the shape?");
    await page.keyboard.press("Enter");
    await page.locator("#log li.assistant .meta").waitFor();
    assert.equal(await page.locator("#log li.assistant .text").textContent(), expected.text);
    await page.close();
  });

  test("Settings → Image tokens: the request asks for that many, and the answer is the server's for them", async () => {
    const expected = await serverAnswer({ max_tokens: 8, image_tokens: 9 });
    const { page } = await open(server.url);
    await page.locator("summary").click();
    await page.fill("#max-tokens", "8");
    await page.fill("#image-tokens", "9");
    await page.setInputFiles("#file", IMAGE);
    await page.locator("#attachment").waitFor({ state: "visible" });
    await page.fill("#prompt", "What is the shape?");
    const request = page.waitForRequest((r) => r.url().endsWith("/v1/chat/completions"));
    await page.keyboard.press("Enter");
    assert.equal(
      (JSON.parse((await request).postData() ?? "{}") as { image_tokens?: number }).image_tokens,
      9,
    );
    await page.locator("#log li.assistant .meta").waitFor();
    assert.equal(await page.locator("#log li.assistant .text").textContent(), expected);
    await page.close();
  });

  test("drag and drop and paste attach an image; Stop ends a streaming answer on the server too", async () => {
    const slow = new FakeEngine({ tokenDelayMs: 50, words: 10_000 });
    const slowServer = await listen(createApp({ engine: slow, processMetrics: false, log: () => {} }).app, {
      host: "127.0.0.1",
      port: 0,
    });
    try {
      const { page } = await open(slowServer.url);
      const b64 = readFileSync(IMAGE).toString("base64");
      const attachVia = (how: "drop" | "paste") =>
        page.evaluate(
          ([data, kind]) => {
            const bytes = Uint8Array.from(atob(data!), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], "shapes.png", { type: "image/png" }));
            if (kind === "drop")
              document
                .getElementById("drop-zone")!
                .dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
            else
              document.dispatchEvent(
                new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }),
              );
          },
          [b64, how] as const,
        );
      await attachVia("drop");
      await page.locator("#attachment").waitFor({ state: "visible" });
      await page.click("#remove-image");
      assert.equal(await page.locator("#attachment").isVisible(), false);
      await attachVia("paste");
      await page.locator("#attachment").waitFor({ state: "visible" });

      await page.fill("#prompt", "Describe it at length.");
      await page.click("#send");
      // The answer shows word by word while it is still being generated.
      await page.locator("#log li.assistant .text").filter({ hasText: "w2" }).waitFor();
      assert.equal(await page.locator("#stop").isEnabled(), true);
      assert.equal(slow.runs[0]!.done, false);
      await page.click("#stop");
      await page.locator("#log li.assistant .meta").filter({ hasText: "stopped" }).waitFor();
      assert.equal(await page.locator("#send").isEnabled(), true);
      // The abort reached the engine: the generation ended long before its 10 000 words.
      for (let i = 0; i < 100 && !slow.runs[0]!.done; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(slow.runs[0]!.aborted, true);
      assert.ok(slow.runs[0]!.words < 100);
      assert.ok(slow.runs[0]!.job.image, "the pasted image went with the message");
      await page.close();
    } finally {
      await slowServer.close();
    }
  });
});
