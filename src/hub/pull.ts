/**
 * Pulling a model from the Hugging Face Hub into the shared cache (`imp pull`, and every --model given as
 * "org/name"), through the official @huggingface/hub client:
 *
 *  1. the model info API gives the commit the revision points to and the repo's files;
 *  2. config.json comes first and is checked by the caller (a text-only LLM or an unknown model_type is refused
 *     here, before any weights are fetched);
 *  3. the side files, then the weights (index + shards, or one file) and a vision tower folder the config names
 *     (its config.json is fetched with config.json and judged with it; its weights only when the main
 *     checkpoint's index holds no tower, as Imp-v1.5-3B-196's holds its SigLIP's), each through `fetchFile`
 *     (resumable, hash-checked, locked), a few at a time;
 *  4. a vision tower the loader needs from another repo (LLaVA-1.5's CLIP) is pulled the same way.
 *
 * Offline ($HF_HUB_OFFLINE), or when the Hub cannot be reached, a snapshot already in the cache (from an earlier
 * pull, or from Python) is used as it is, as huggingface_hub does.
 */
import { readFileSync } from "node:fs";
import { modelInfo, pathsInfo } from "@huggingface/hub";
import { COMMIT_HASH, RepoCache } from "./cache.js";
import type { FetchContext, RemoteFile } from "./download.js";
import { fetchFile } from "./download.js";
import { describeHubFailure, HubError, isNetworkError } from "./errors.js";
import type { PullEventHandler } from "./events.js";
import { checkRepoId } from "./repo-id.js";
import { CONFIG_FILE, shardsOfIndex, sideFilesOf, towerFilesOf, towerFolderIn, weightsOf } from "./select.js";
import type { HubSettings } from "./settings.js";
import { hubSettings } from "./settings.js";

/** What the caller decides from config.json, before the weights are fetched. */
export interface ConfigVerdict {
  /** A Hub repo holding a vision tower the loader needs from outside this repo (LLaVA-1.5's CLIP), if any. */
  towerRepo?: string | null;
}

/** The config.json of a vision tower folder inside the repo that config.json's mm_vision_tower names. */
export interface TowerConfigFile {
  json: Record<string, unknown>;
  /** Its name for messages ("org/name/folder/config.json"). */
  file: string;
}

/** Throws (naming the file and the key) to refuse a model imp-ts cannot run. */
export type ConfigCheck = (
  json: Record<string, unknown>,
  file: string,
  tower?: TowerConfigFile,
) => ConfigVerdict | undefined;

export interface PullOptions {
  /** Branch, tag or commit (default "main"). */
  revision?: string;
  /** Overrides of the settings read from the environment (endpoint, cache, token, offline). */
  settings?: Partial<HubSettings>;
  fetch?: typeof fetch;
  checkConfig?: ConfigCheck;
  onEvent?: PullEventHandler;
  /** Files downloaded at once (default 4). */
  concurrency?: number;
  /** See FetchContext.lockStaleMs. */
  lockStaleMs?: number;
}

export interface PulledModel {
  repo: string;
  revision: string;
  commit: string;
  /** The snapshot folder: a model folder every command loads. */
  folder: string;
  /** The folder of a vision tower pulled from another repo (pass it as the loader's visionTower), or null. */
  visionFolder: string | null;
  /** Bytes fetched over the network by this call (0 when everything was cached). */
  downloadedBytes: number;
  /** True when the Hub was not asked (offline, or unreachable and the model was cached). */
  fromCache: boolean;
}

type RepoKind = "model" | "tower";

function readJsonFile(path: string, name: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new HubError(`${name}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new HubError(`${name}: not a JSON object`);
  return v as Record<string, unknown>;
}

async function runPool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: unknown = null;
  const worker = async () => {
    while (failed === null && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== null) throw failed;
}

/** Downloads (or finds in the cache) the files a model needs; returns its snapshot folder. */
export async function pullModel(repo: string, opts: PullOptions = {}): Promise<PulledModel> {
  return pullRepo(repo, opts, "model");
}

async function pullRepo(repo: string, opts: PullOptions, kind: RepoKind): Promise<PulledModel> {
  checkRepoId(repo);
  const settings = { ...hubSettings(), ...opts.settings };
  const revision = opts.revision ?? "main";
  const cache = new RepoCache(settings.cacheDir, repo);
  if (settings.offline) return fromCache(repo, revision, cache, opts, kind, "HF_HUB_OFFLINE is set");
  if (settings.token !== undefined && !settings.token.startsWith("hf_"))
    throw new HubError('the Hub access token (HF_TOKEN, or the saved login) must start with "hf_"');

  let info: { sha?: string; filePaths?: string[]; gated?: unknown };
  try {
    info = await modelInfo({
      name: repo,
      revision,
      hubUrl: settings.endpoint,
      fetch: opts.fetch,
      accessToken: settings.token,
      additionalFields: ["sha", "filePaths"],
    });
  } catch (e) {
    if (isNetworkError(e) && cache.commitFor(revision) !== null) {
      opts.onEvent?.({
        type: "notice",
        message: `cannot reach the Hub at ${settings.endpoint}; using the cached ${repo} (${revision})`,
      });
      return fromCache(repo, revision, cache, opts, kind, "the Hub cannot be reached");
    }
    throw describeHubFailure(e, repo, revision === "main" ? repo : `${repo} (revision ${revision})`, false);
  }
  const commit = info.sha;
  if (typeof commit !== "string" || !COMMIT_HASH.test(commit))
    throw new HubError(`${repo}: the Hub's model info has no commit hash for revision ${revision}`);
  const files = new Set(info.filePaths ?? []);
  const ctx: FetchContext = {
    repo,
    commit,
    cache,
    endpoint: settings.endpoint,
    token: settings.token,
    fetch: opts.fetch,
    gated: info.gated !== undefined && info.gated !== false,
    onEvent: opts.onEvent,
    lockStaleMs: opts.lockStaleMs,
  };
  cache.writeRef(revision, commit);
  let downloadedBytes = 0;

  const fetchAll = async (paths: readonly string[]): Promise<void> => {
    const missing = [...new Set(paths)].filter((p) => !cache.hasFile(commit, p));
    if (missing.length === 0) return;
    for (const p of missing)
      if (!files.has(p)) throw new HubError(`${repo}: ${p} is needed but the repo has no such file`);
    let listed: Awaited<ReturnType<typeof pathsInfo>>;
    try {
      listed = await pathsInfo({
        repo: { type: "model", name: repo },
        paths: missing,
        revision: commit,
        hubUrl: settings.endpoint,
        fetch: opts.fetch,
        accessToken: settings.token,
      });
    } catch (e) {
      throw describeHubFailure(e, repo, `${repo}: ${missing.join(", ")}`, ctx.gated);
    }
    const remote: RemoteFile[] = missing.map((p) => {
      const l = listed.find((x) => x.path === p);
      if (l?.type !== "file" || typeof l.oid !== "string")
        throw new HubError(`${repo}: the Hub lists no file information for ${p}`);
      return { path: p, size: l.size, sha256: l.lfs?.oid ?? null, gitOid: l.oid };
    });
    opts.onEvent?.({
      type: "plan",
      repo,
      files: remote.map((f) => ({ path: f.path, size: f.size })),
      totalBytes: remote.reduce((s, f) => s + f.size, 0),
    });
    await runPool(remote, opts.concurrency ?? 4, async (f) => {
      const fetched = await fetchFile(ctx, f);
      downloadedBytes += fetched;
    });
  };

  if (!files.has(CONFIG_FILE))
    throw new HubError(`${repo}: the repo has no ${CONFIG_FILE}; it is not a model imp-ts can run`);
  await fetchAll([CONFIG_FILE]);
  const config = readJsonFile(cache.pointerPath(commit, CONFIG_FILE), `${repo}/${CONFIG_FILE}`);
  const tower = kind === "model" ? towerFolderIn(files, config.mm_vision_tower) : null;
  const towerConfig = tower && files.has(tower + CONFIG_FILE) ? tower + CONFIG_FILE : null;
  if (towerConfig) await fetchAll([towerConfig]);
  const verdict = kind === "model" ? check(opts, cache, commit, repo, config, towerConfig) : {};

  const weights = weightsOf(files, "", repo);
  const side =
    kind === "model"
      ? sideFilesOf(files)
      : sideFilesOf(files).filter((f) => f === "preprocessor_config.json");
  await fetchAll([...side, ...("index" in weights ? [weights.index] : [])]);
  const main = weightFiles(cache, commit, repo, weights);
  const towerWeights = !("index" in weights) || !indexHoldsTower(cache, commit, repo, weights.index);
  await fetchAll([...main, ...(tower ? towerFilesOf(files, tower, towerWeights) : [])]);

  let visionFolder: string | null = null;
  if (verdict.towerRepo && !tower) {
    const t = await pullRepo(verdict.towerRepo, { ...opts, revision: undefined }, "tower");
    downloadedBytes += t.downloadedBytes;
    visionFolder = t.folder;
  }
  return {
    repo,
    revision,
    commit,
    folder: cache.snapshotDir(commit),
    visionFolder,
    downloadedBytes,
    fromCache: false,
  };
}

/** The model as the cache has it, without the Hub: complete, or an error naming what is missing. */
async function fromCache(
  repo: string,
  revision: string,
  cache: RepoCache,
  opts: PullOptions,
  kind: RepoKind,
  why: string,
): Promise<PulledModel> {
  const commit = cache.commitFor(revision);
  const hint = `run \`imp pull ${repo}${revision === "main" ? "" : ` --revision ${revision}`}\` with the network on first`;
  if (commit === null || !cache.hasFile(commit, CONFIG_FILE))
    throw new HubError(
      `${repo} (${revision}) is not in the Hub cache at ${cache.cacheDir} and ${why}; ${hint}`,
    );
  const files = new Set(cache.listSnapshot(commit));
  const config = readJsonFile(cache.pointerPath(commit, CONFIG_FILE), `${repo}/${CONFIG_FILE}`);
  const tower = kind === "model" ? towerFolderIn(files, config.mm_vision_tower) : null;
  const towerConfig = tower && files.has(tower + CONFIG_FILE) ? tower + CONFIG_FILE : null;
  const verdict = kind === "model" ? check(opts, cache, commit, repo, config, towerConfig) : {};
  const weights = weightsOf(files, "", repo);
  const needed = weightFiles(cache, commit, repo, weights);
  const missing = needed.filter((f) => !files.has(f));
  if (missing.length > 0)
    throw new HubError(
      `${repo} (${revision}) is only partly in the Hub cache at ${cache.snapshotDir(commit)} (missing ${missing.join(", ")}) and ${why}; ${hint}`,
    );
  let visionFolder: string | null = null;
  if (verdict.towerRepo && tower === null)
    visionFolder = (
      await fromCache(
        verdict.towerRepo,
        "main",
        new RepoCache(cache.cacheDir, verdict.towerRepo),
        opts,
        "tower",
        why,
      )
    ).folder;
  return {
    repo,
    revision,
    commit,
    folder: cache.snapshotDir(commit),
    visionFolder,
    downloadedBytes: 0,
    fromCache: true,
  };
}

/** The caller's judgement of config.json, with the config.json of the tower folder it names (in the cache) if any. */
function check(
  opts: PullOptions,
  cache: RepoCache,
  commit: string,
  repo: string,
  config: Record<string, unknown>,
  towerConfig: string | null,
): ConfigVerdict {
  const tower = towerConfig
    ? {
        json: readJsonFile(cache.pointerPath(commit, towerConfig), `${repo}/${towerConfig}`),
        file: `${repo}/${towerConfig}`,
      }
    : undefined;
  return opts.checkConfig?.(config, `${repo}/${CONFIG_FILE}`, tower) ?? {};
}

/**
 * Whether the main checkpoint's index maps a vision tower's tensors (`…vision_model.…`): then a tower folder's own
 * weights are not needed (Imp-v1.5-3B-196 keeps its SigLIP's weights in the main shards; its folder describes it).
 */
function indexHoldsTower(cache: RepoCache, commit: string, repo: string, index: string): boolean {
  const map = readJsonFile(cache.pointerPath(commit, index), `${repo}/${index}`).weight_map;
  return (
    typeof map === "object" && map !== null && Object.keys(map).some((n) => /(^|\.)vision_model\./.test(n))
  );
}

/** The weight files of a snapshot: the index's shards (the index already in the cache), or the single file. */
function weightFiles(
  cache: RepoCache,
  commit: string,
  repo: string,
  weights: { index: string } | { single: string },
): string[] {
  if (!("index" in weights)) return [weights.single];
  const where = `${repo}/${weights.index}`;
  return shardsOfIndex(readJsonFile(cache.pointerPath(commit, weights.index), where), where);
}
