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
