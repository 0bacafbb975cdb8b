/**
 * A deterministic OpenAI-compatible server for tests: `POST /v1/chat/completions` answers from the question text
 * alone (meaningless but repeatable), `GET /v1/models` lists one model. It records every request and can be told
 * to fail or to be slow.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  model: unknown;
  temperature: unknown;
  max_tokens: unknown;
  prompt: string;
  imageUrl: string | null;
}

export interface FakeServer {
  url: string;
  seen: SeenRequest[];
  /** Answer with this HTTP status instead (null: answer normally). */
  failWith: number | null;
  /** Fail every request after this many answered (null: never). */
  failAfter: number | null;
  /** Requests answered successfully (what `failAfter` counts). */
  answered: number;
  /** Milliseconds to wait before answering (a function of the request index for jitter). */
  delayMs: (i: number) => number;
  close(): Promise<void>;
}

/** The fake model: a letter for multiple choice, yes/no for yes/no questions, a word otherwise. */
export function fakeAnswer(prompt: string): string {
  let h = 0;
  for (const ch of prompt) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  if (prompt.includes("option's letter")) return ["A", "B", "C.", "(D)", "hmm"][h % 5]!;
  if (/yes or no|^Is there|\nIs /i.test(prompt) || prompt.startsWith("Is "))
    return h % 2 ? " Yes\n" : "No, there is not.";
  return ["cat", "Two.", "red", "The kite"][h % 4]!;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startFakeServer(): Promise<FakeServer> {
  const state: FakeServer = {
    url: "",
    seen: [],
    failWith: null,
    failAfter: null,
    answered: 0,
    delayMs: () => 0,
    close: async () => {},
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, obj: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(obj));
    };
    if (req.method === "GET" && req.url === "/v1/models") return send(200, { data: [{ id: "fake-imp" }] });
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") return send(404, { error: "not found" });
    const b = JSON.parse(await body(req)) as {
      model: unknown;
      temperature: unknown;
      max_tokens: unknown;
      messages: { content: string | { type: string; text?: string; image_url?: { url: string } }[] }[];
    };
    const content = b.messages[0]!.content;
    const parts = typeof content === "string" ? [{ type: "text", text: content }] : content;
    const prompt = parts.find((p) => p.type === "text")?.text ?? "";
    const imageUrl = parts.find((p) => p.type === "image_url")?.image_url?.url ?? null;
    const i = state.seen.length;
    state.seen.push({
      model: b.model,
      temperature: b.temperature,
      max_tokens: b.max_tokens,
      prompt,
      imageUrl,
    });
    await new Promise((r) => setTimeout(r, state.delayMs(i)));
    if (state.failWith !== null) return send(state.failWith, { error: { message: "told to fail" } });
    if (state.failAfter !== null && state.answered >= state.failAfter)
      return send(400, { error: { message: "quota" } });
    state.answered++;
    send(200, {
      choices: [
        { index: 0, message: { role: "assistant", content: fakeAnswer(prompt) }, finish_reason: "stop" },
      ],
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((r) => server.close(() => r()));
  return state;
}
