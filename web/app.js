/**
 * The web chat page: attach an image (file picker, drag and drop, paste), ask, and read the answer as it
 * streams from the server's OpenAI endpoint (POST /v1/chat/completions with stream: true), or, with "Run the
 * model in this tab", from the in-tab engine (in-tab.js) running the same model here. Stop aborts the request
 * (or the in-tab run), which stops the generation. Each answer shows its timing.
 */
import { InTabEngine, inTabSupported, toTurns } from "./in-tab.js";
import { readSse } from "./sse.js";

const $ = (id) => document.getElementById(id);
const log = $("log");
const form = $("composer");
const prompt = $("prompt");
const fileInput = $("file");
const sendButton = $("send");
const stopButton = $("stop");
const statusLine = $("status");
const dropZone = $("drop-zone");
const apiKeyInput = $("api-key");

/** The conversation so far, in OpenAI's message format (the image stays with the message it came with). */
let messages = [];
/** The image waiting to go with the next message, as a data: URL. */
let pendingImage = null;
let controller = null;
let modelId = "imp";
/** The in-tab engine once loaded (null: answers come from the server). */
let inTab = null;
const inTabBox = $("in-tab");

apiKeyInput.value = sessionStorage.getItem("imp-api-key") ?? "";
apiKeyInput.addEventListener("change", () => {
  sessionStorage.setItem("imp-api-key", apiKeyInput.value);
  loadModel();
});

function headers() {
  const h = { "content-type": "application/json" };
  if (apiKeyInput.value) h.authorization = `Bearer ${apiKeyInput.value}`;
  return h;
}

async function loadModel() {
  try {
    const res = await fetch("/v1/models", { headers: headers() });
    if (res.status === 401) {
      $("model").textContent = "this server needs an API key (Settings)";
      return;
    }
    const body = await res.json();
    modelId = body.data[0].id;
    $("model").textContent = `model: ${modelId}`;
  } catch (err) {
    $("model").textContent = `cannot reach the server: ${err.message}`;
  }
}

/** The settings' visual tokens per image, or undefined for the model's own. */
function imageTokens() {
  const n = Number($("image-tokens").value);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function setStatus(text) {
  statusLine.textContent = text;
}

// ---- running the model in this tab ----

if (!inTabSupported()) {
  inTabBox.disabled = true;
  inTabBox.parentElement.title = "This page is not cross-origin isolated, so it cannot run the model itself.";
}
inTabBox.addEventListener("change", async () => {
  inTab?.terminate();
  inTab = null;
  if (!inTabBox.checked) {
    loadModel();
    setStatus("Answers come from the server.");
    return;
  }
  const engine = new InTabEngine();
  inTabBox.disabled = true;
  try {
    const mib = (n) => (n / 2 ** 20).toFixed(1);
    const info = await engine.load(headers(), (done, total) =>
      setStatus(`Loading the model into this tab: ${mib(done)} of ${mib(total)} MiB…`),
    );
    if (!inTabBox.checked) return engine.terminate();
    inTab = engine;
    $("model").textContent = `model: ${modelId} · in this tab (${info.threads} threads)`;
    setStatus("The model runs in this tab.");
  } catch (err) {
    engine.terminate();
    inTabBox.checked = false;
    setStatus(`Cannot run the model in this tab: ${err.message}`);
  } finally {
    inTabBox.disabled = false;
  }
});

const folderInput = $("model-folder");
if (!inTabSupported()) folderInput.disabled = true;
folderInput.addEventListener("change", async () => {
  const files = folderInput.files;
  if (!files?.length) return;
  const name = (files[0].webkitRelativePath || files[0].name).split("/")[0];
  inTab?.terminate();
  inTab = null;
  const engine = new InTabEngine();
  setStatus(`Loading ${name} into this tab…`);
  try {
    const info = await engine.loadFolder(files, $("folder-dtype").value);
    inTab = engine;
    inTabBox.checked = true;
    $("model").textContent = `model: ${name} · in this tab (${info.threads} threads)`;
    setStatus(`${name} runs in this tab.`);
  } catch (err) {
    engine.terminate();
    inTabBox.checked = false;
    loadModel();
    setStatus(`Cannot run ${name} in this tab: ${err.message}`);
  } finally {
    folderInput.value = "";
  }
});

// ---- attaching an image ----

function attach(file) {
  if (!file?.type.startsWith("image/")) {
    setStatus("That is not an image.");
    return;
  }
  // The Imp models take one image per conversation (the server refuses a second).
  if (messages.some((m) => Array.isArray(m.content))) {
    setStatus("This conversation already has its image: press New chat to ask about another one.");
    return;
  }
  const reader = new FileReader();
  reader.onload = () => {
    pendingImage = reader.result;
    $("preview").src = pendingImage;
    $("attachment").hidden = false;
    setStatus(`Attached ${file.name || "an image"}.`);
  };
  reader.onerror = () => setStatus("Could not read the image.");
  reader.readAsDataURL(file);
}

function clearAttachment() {
  pendingImage = null;
  fileInput.value = "";
  $("attachment").hidden = true;
  $("preview").removeAttribute("src");
}

fileInput.addEventListener("change", () => attach(fileInput.files[0]));
$("remove-image").addEventListener("click", () => {
  clearAttachment();
  setStatus("Image removed.");
  prompt.focus();
});
for (const type of ["dragenter", "dragover"])
  dropZone.addEventListener(type, (e) => {
    e.preventDefault();
    dropZone.classList.add("dragging");
  });
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
dropZone.addEventListener("drop", (e) => {
  e.preventDefault();
  dropZone.classList.remove("dragging");
  const file = [...(e.dataTransfer?.files ?? [])].find((f) => f.type.startsWith("image/"));
  if (file) attach(file);
});
document.addEventListener("paste", (e) => {
  const item = [...(e.clipboardData?.items ?? [])].find(
    (i) => i.kind === "file" && i.type.startsWith("image/"),
  );
  if (item) {
    e.preventDefault();
    attach(item.getAsFile());
  }
});

// ---- the conversation ----

function addEntry(role, text, image) {
  $("empty").hidden = true;
  const li = document.createElement("li");
  li.className = role;
  if (image) {
    const img = document.createElement("img");
    img.src = image;
    img.alt = "Sent with this message";
    li.append(img);
  }
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  li.append(body);
  log.append(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

function addMeta(li, text) {
  const meta = document.createElement("small");
  meta.className = "meta muted";
  meta.textContent = text;
  li.append(meta);
}

function busy(on) {
  sendButton.disabled = on;
  stopButton.disabled = !on;
}

function describeTimings(t0, firstAt, usage, timings) {
  const total = (performance.now() - t0) / 1000;
  const parts = [];
  if (firstAt !== null) parts.push(`first text after ${((firstAt - t0) / 1000).toFixed(2)} s`);
  if (usage) parts.push(`${usage.completion_tokens} tokens in ${total.toFixed(2)} s`);
  else parts.push(`${total.toFixed(2)} s`);
  if (timings?.decode_tokens_per_second)
    parts.push(`${timings.decode_tokens_per_second.toFixed(1)} tokens/s`);
  if (usage) parts.push(`prompt ${usage.prompt_tokens} tokens`);
  return parts.join(" · ");
}

async function send(text) {
  const content = pendingImage
    ? [
        { type: "image_url", image_url: { url: pendingImage } },
        { type: "text", text },
      ]
    : text;
  addEntry("user", text, pendingImage);
  messages.push({ role: "user", content });
  clearAttachment();
  prompt.value = "";

  const answer = addEntry("assistant", "");
  const out = answer.querySelector(".text");
  answer.setAttribute("aria-busy", "true");
  controller = new AbortController();
  busy(true);
  setStatus("Waiting for the model…");
  const t0 = performance.now();
  let firstAt = null;
  let usage = null;
  let timings = null;
  let finish = null;
  try {
    const system = $("system").value.trim();
    if (inTab) {
      setStatus("Answering in this tab…");
      const job = toTurns(system, messages);
      const temperature = Number($("temperature").value) || 0;
      const { stats, aborted } = await inTab.run(
        {
          turns: job.turns,
          image: job.image ?? undefined,
          imageTokens: imageTokens(),
          maxNewTokens: Number($("max-tokens").value) || 256,
          sampling: { temperature },
        },
        (text) => {
          if (firstAt === null) firstAt = performance.now();
          out.textContent += text;
        },
        controller.signal,
      );
      if (aborted) throw new DOMException("stopped", "AbortError");
      const usage = { completion_tokens: stats.generatedTokens, prompt_tokens: stats.prefillPositions };
      const rate =
        stats.decodeMs > 0
          ? { decode_tokens_per_second: (stats.generatedTokens - 1) / (stats.decodeMs / 1000) }
          : null;
      messages.push({ role: "assistant", content: out.textContent });
      addMeta(
        answer,
        `${describeTimings(t0, firstAt, usage, rate)} · in this tab` +
          (stats.finishReason === "length" ? " · cut at the token limit" : ""),
      );
      setStatus("Done.");
      return;
    }
    const res = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: headers(),
      signal: controller.signal,
      body: JSON.stringify({
        model: modelId,
        messages: system ? [{ role: "system", content: system }, ...messages] : messages,
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: Number($("max-tokens").value) || 256,
        temperature: Number($("temperature").value) || 0,
        image_tokens: imageTokens(),
      }),
    });
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
    }
    setStatus("Answering…");
    for await (const data of readSse(res)) {
      if (data === "[DONE]") break;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      const delta = chunk.choices?.[0]?.delta?.content;
      if (delta) {
        if (firstAt === null) firstAt = performance.now();
        out.textContent += delta;
      }
      finish = chunk.choices?.[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
      if (chunk.timings) timings = chunk.timings;
    }
    messages.push({ role: "assistant", content: out.textContent });
    addMeta(
      answer,
      describeTimings(t0, firstAt, usage, timings) + (finish === "length" ? " · cut at the token limit" : ""),
    );
    setStatus("Done.");
  } catch (err) {
    if (err.name === "AbortError") {
      addMeta(answer, `stopped after ${((performance.now() - t0) / 1000).toFixed(2)} s`);
      // Keep what was said, so the conversation still alternates user / assistant.
      messages.push({ role: "assistant", content: out.textContent });
      setStatus("Stopped.");
    } else {
      answer.classList.add("error");
      out.textContent += out.textContent ? `\n[error: ${err.message}]` : `Error: ${err.message}`;
      messages.pop();
      setStatus(`Error: ${err.message}`);
    }
  } finally {
    answer.removeAttribute("aria-busy");
    controller = null;
    busy(false);
    prompt.focus();
  }
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = prompt.value.trim();
  if (!text || controller) return;
  send(text);
});
prompt.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    form.requestSubmit();
  }
});
stopButton.addEventListener("click", () => controller?.abort());
$("new-chat").addEventListener("click", () => {
  controller?.abort();
  messages = [];
  log.replaceChildren();
  $("empty").hidden = false;
  clearAttachment();
  setStatus("New chat.");
  prompt.focus();
});

loadModel();
