/**
 * The project's error classes. Messages name the tensor, file, key or value, what was expected and what
 * was found, and where useful the next step. The CLI prints `message` alone (the stack only with --debug).
 */

/** Base class: every error a user can cause is an ImpError, so front ends can tell them from bugs. */
export class ImpError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A tensor has the wrong shape, dtype or layout for an op or a module. */
export class ShapeError extends ImpError {}

/** A checkpoint folder, config.json or weight file is missing, malformed or contradicts itself. */
export class CheckpointError extends ImpError {}

/** A file in some other format (image, dataset, benchmark file) is malformed. */
export class FormatError extends ImpError {}

/** A bad value given by the user: a flag, an option, a request field. */
export class UsageError extends ImpError {}

/** An HTTP-facing error: the server maps it to a response with this status. */
export class HttpError extends ImpError {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly type = status >= 500 ? "server_error" : "invalid_request_error",
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A value in a request the library was asked to run (a chat's messages, an option) that it cannot use. `field`
 * names it as the request spells it (`messages[2].role`); `code` is a machine-readable reason where one exists
 * (`context_length_exceeded`). The server answers it with a 400 naming the field.
 */
export class RequestError extends UsageError {
  constructor(
    readonly field: string | null,
    readonly detail: string,
    readonly code: string | null = null,
  ) {
    super(field ? `${field}: ${detail}` : detail);
  }
}

/** The engine cannot take or finish a job: it is shutting down, or its worker stopped under a job. */
export class EngineError extends ImpError {
  constructor(
    message: string,
    readonly code: "engine_failed" | "shutting_down",
  ) {
    super(message);
  }
}
