/**
 * The server's Prometheus metrics (GET /metrics, text format): requests by route and status, tokens in and
 * out, the queue, and latency histograms; plus the process's own (RSS, heap, event-loop lag) from
 * prom-client's defaults. Each server has its own registry, so several can live in one process (tests).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Seconds: from a tiny model's milliseconds to a 3B model's minutes. */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "imp_http_requests_total",
    help: "HTTP requests by route, method and status",
    labelNames: ["route", "method", "status"] as const,
    registers: [this.registry],
  });
  readonly requestSeconds = new Histogram({
    name: "imp_http_request_duration_seconds",
    help: "HTTP request duration until the response (or its stream) ended",
    labelNames: ["route"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly promptTokens = new Counter({
    name: "imp_prompt_tokens_total",
    help: "Prompt positions processed (text tokens + image embeddings)",
    registers: [this.registry],
  });
  readonly completionTokens = new Counter({
    name: "imp_completion_tokens_total",
    help: "Tokens generated",
    registers: [this.registry],
  });
  readonly generations = new Counter({
    name: "imp_generations_total",
    help: "Generations by how they ended: stop, length, abort (client gone), timeout, error",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly imageCache = new Counter({
    name: "imp_image_cache_total",
    help: "Images asked about, by whether their embeddings were kept from an earlier request (hit) or computed (miss)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly conversationCachePositions = new Counter({
    name: "imp_conversation_cache_positions_total",
    help: "Prompt positions taken from the last conversation's KV cache instead of run again",
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: "imp_queue_rejected_total",
    help: "Requests refused because the queue was full (429)",
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "imp_queue_depth",
    help: "Requests waiting for a generation slot",
    registers: [this.registry],
  });
  readonly active = new Gauge({
    name: "imp_generations_active",
    help: "Generations running now",
    registers: [this.registry],
  });
  readonly queueSeconds = new Histogram({
    name: "imp_queue_wait_seconds",
    help: "Time a request waited for a generation slot",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly firstTokenSeconds = new Histogram({
    name: "imp_time_to_first_token_seconds",
    help: "From the request's arrival to the first piece of answer text (queue + vision + prefill)",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly generationSeconds = new Histogram({
    name: "imp_generation_duration_seconds",
    help: "From the start of a generation to its end (vision + prefill + decode)",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
