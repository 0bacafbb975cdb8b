/** Errors of the Hub client: a model that cannot be found, fetched, verified or stored. */
import { ImpError } from "../util/errors.js";

/** A Hub download failed (missing repo or file, no access, offline and not cached, a bad hash, a full disk). */
export class HubError extends ImpError {}

/** The HTTP status of an error thrown by @huggingface/hub (HubApiError), if it is one. */
export function hubStatus(e: unknown): number | null {
  const s = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === "number" ? s : null;
}

/** True for failures to reach the server at all (no route, refused, DNS, reset), as opposed to an HTTP answer. */
export function isNetworkError(e: unknown): boolean {
  if (hubStatus(e) !== null) return false;
  const err = e as { name?: string; message?: string; cause?: { code?: string } } | null;
  return err?.name === "TypeError" && /fetch failed/i.test(err.message ?? "");
}

/**
 * A readable error for a failed Hub request about `what` ("MILVLG/x" or "MILVLG/x: config.json"): who must do
 * what for 401/403 (log in, accept a gated model's terms), 404 (check the name), or anything else.
 */
export function describeHubFailure(e: unknown, repo: string, what: string, gated: boolean): HubError {
  const status = hubStatus(e);
  const reason = e instanceof Error ? e.message : String(e);
  if (status === 401 || status === 403)
    return new HubError(
      gated
        ? `${what}: ${repo} is a gated model; accept its terms on its Hub page, then set HF_TOKEN to an access token of that account (HTTP ${status})`
        : `${what}: not found or not authorised (HTTP ${status}); check the name, and if ${repo} is private, set HF_TOKEN to an access token that can read it`,
      { cause: e },
    );
  if (status === 404)
    return new HubError(`${what}: not found on the Hub (HTTP 404); check the name and the revision`, {
      cause: e,
    });
  if (isNetworkError(e))
    return new HubError(
      `${what}: cannot reach the Hub (${(e as { cause?: { code?: string } }).cause?.code ?? reason}); check the network, or set HF_HUB_OFFLINE=1 to use the cache only`,
      { cause: e },
    );
  return new HubError(`${what}: ${reason}`, { cause: e });
}
