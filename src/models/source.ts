/**
 * Where a model comes from: a local folder, or a Hugging Face Hub id ("MILVLG/Imp-v1.5-3B-Phi2") pulled into the
 * shared Hub cache. The Hub client fetches config.json first; this file judges it with the loader's own config
 * parser, so a repo imp-ts cannot run (a text-only LLM, an unknown model_type) is refused before its weights are
 * downloaded. Every front end (`imp run/serve/eval/quantize/export`, train's `base`, ImpPipeline.load) resolves
 * its model through here.
 */
import type { ConfigVerdict, PulledModel, PullOptions, TowerConfigFile } from "../hub/index.js";
import { HubError, isHubModelId, isRepoIdShape, pullModel } from "../hub/index.js";
import { ImpError } from "../util/errors.js";
import { parseModelConfig } from "./config.js";
import { flattenLlavaHf, towerConfigReader } from "./load.js";

export interface ModelSourceOptions {
  /** Branch, tag or commit of a Hub model (default "main"). */
  revision?: string;
  /** Hub settings and progress callbacks for a download. */
  hub?: Omit<PullOptions, "revision" | "checkConfig">;
}

export interface ResolvedModel {
  /** The model folder (the given one, or the Hub snapshot). */
  folder: string;
  /** A vision tower folder pulled from another Hub repo (LLaVA-1.5's CLIP), for the loader's visionTower. */
  visionTower: string | undefined;
  /** The pull, when the source was a Hub id. */
  pulled: PulledModel | null;
}

/**
 * Judges a Hub repo's config.json (with the config.json of a tower folder it names inside the repo, as
 * Imp-v1.5-3B-196 ships one): throws when imp-ts cannot run the model; names the Hub repo of a LLaVA-1.5 CLIP
 * tower that is not inside the checkpoint.
 */
export function checkHubConfig(
  json: Record<string, unknown>,
  file: string,
  tower?: TowerConfigFile,
): ConfigVerdict {
  try {
    if (json.text_config !== undefined || json.vision_config !== undefined) {
      const { flat, clip } = flattenLlavaHf(json, file);
      parseModelConfig(flat, file, clip);
      return {};
    }
    const config = parseModelConfig(json, file, tower && towerConfigReader(tower.json, tower.file));
    const llava = config.modelType.startsWith("llava");
    if (!llava && config.vision === null)
      throw new ImpError(
        `${file}: no vision tower (no "vision_tower_config"); this is a text-only model, and imp-ts runs image + text models`,
      );
    const name = config.visionTowerName;
    return { towerRepo: llava && !tower && name && isRepoIdShape(name) ? name : null };
  } catch (e) {
    if (!(e instanceof ImpError)) throw e;
    throw new HubError(`not a model imp-ts can run (nothing more was downloaded): ${e.message}`, {
      cause: e,
    });
  }
}

/** A folder as it is; a Hub id pulled (or found in the cache) and returned as its snapshot folder. */
export async function resolveModelSource(
  source: string,
  opts: ModelSourceOptions = {},
): Promise<ResolvedModel> {
  if (!isHubModelId(source)) return { folder: source, visionTower: undefined, pulled: null };
  const pulled = await pullModel(source, {
    ...opts.hub,
    revision: opts.revision,
    checkConfig: checkHubConfig,
  });
  return { folder: pulled.folder, visionTower: pulled.visionFolder ?? undefined, pulled };
}
