/**
 * Where the Hub is and where its files go, read from the environment exactly as Python's huggingface_hub reads it
 * (`constants.py`), so that both share one cache and one login:
 *  - cache: $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, where HF_HOME defaults to
 *    $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface;
 *  - token: $HF_TOKEN, else $HUGGING_FACE_HUB_TOKEN, else the file $HF_TOKEN_PATH (default $HF_HOME/token) that
 *    `huggingface-cli login` writes;
 *  - offline: $HF_HUB_OFFLINE set to 1/ON/YES/TRUE; endpoint: $HF_ENDPOINT (mirrors, and the tests' local Hub).
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const DEFAULT_ENDPOINT = "https://huggingface.co";

export interface HubSettings {
  endpoint: string;
  cacheDir: string;
  token: string | undefined;
  offline: boolean;
}

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? join(homedir(), p.slice(1)) : p;
}

function nonEmpty(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

/** Python's `_is_true`: "1", "ON", "YES", "TRUE" in any case. */
export function envFlag(v: string | undefined): boolean {
  return v !== undefined && ["1", "ON", "YES", "TRUE"].includes(v.trim().toUpperCase());
}

export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = nonEmpty(env.XDG_CACHE_HOME);
  return expandHome(
    nonEmpty(env.HF_HOME) ?? join(xdg ? expandHome(xdg) : join(homedir(), ".cache"), "huggingface"),
  );
}

export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE);
  return explicit ? expandHome(explicit) : join(hfHome(env), "hub");
}

export function hubToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = nonEmpty(env.HF_TOKEN) ?? nonEmpty(env.HUGGING_FACE_HUB_TOKEN);
  if (fromEnv) return fromEnv;
  const file = expandHome(nonEmpty(env.HF_TOKEN_PATH) ?? join(hfHome(env), "token"));
  try {
    return nonEmpty(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

export function hubSettings(env: NodeJS.ProcessEnv = process.env): HubSettings {
  return {
    endpoint: (nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_ENDPOINT).replace(/\/+$/, ""),
    cacheDir: hubCacheDir(env),
    token: hubToken(env),
    offline: envFlag(env.HF_HUB_OFFLINE),
  };
}
