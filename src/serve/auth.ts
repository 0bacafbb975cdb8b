/**
 * The API key check: `Authorization: Bearer KEY`, compared in constant time. Both sides are hashed first
 * (SHA-256), so timingSafeEqual sees equal lengths and the compare leaks neither the key nor its length.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError } from "./errors.js";

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** A checker for one key: true when the Authorization header carries it. */
export function apiKeyChecker(key: string): (authorization: string | undefined) => boolean {
  const want = sha256(key);
  return (authorization) => {
    const m = /^Bearer\s+(.+)$/i.exec(authorization?.trim() ?? "");
    // Hash something even when the header is missing, so both paths take the same time.
    return timingSafeEqual(sha256(m?.[1] ?? ""), want) && m !== null;
  };
}

export function unauthorized(): ApiError {
  return new ApiError(
    401,
    "invalid or missing API key: send it as `Authorization: Bearer KEY`",
    null,
    "invalid_api_key",
    { "WWW-Authenticate": 'Bearer realm="imp"' },
  );
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h) || h === "::ffff:127.0.0.1";
}
