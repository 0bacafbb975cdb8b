/**
 * Server-sent events from a fetch() response: yields each event's data (the text after `data:`, lines
 * joined). EventSource cannot POST or send headers, so the page reads the stream itself, per the
 * WHATWG event-stream format: events end at a blank line; lines starting with ":" are comments.
 */
export async function* readSse(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let nl = buffer.search(/\r\n|\r|\n/);
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
        if (line === "") {
          if (data.length > 0) yield data.join("\n");
          data = [];
        } else if (line.startsWith("data:")) {
          data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
        }
        nl = buffer.search(/\r\n|\r|\n/);
      }
    }
    if (data.length > 0) yield data.join("\n");
  } finally {
    reader.releaseLock();
  }
}
