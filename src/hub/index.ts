/** The Hugging Face Hub client: model ids → folders in the cache Python's huggingface_hub shares. */
export { COMMIT_HASH, RepoCache, repoFolderName } from "./cache.js";
export { DEFAULT_LOCK_STALE_MS } from "./download.js";
export { HubError } from "./errors.js";
export type { PullEvent, PullEventHandler } from "./events.js";
export type { ConfigCheck, ConfigVerdict, PulledModel, PullOptions, TowerConfigFile } from "./pull.js";
export { pullModel } from "./pull.js";
export { checkRepoId, isHubModelId, isRepoIdShape } from "./repo-id.js";
export type { HubSettings } from "./settings.js";
export { hubCacheDir, hubSettings } from "./settings.js";
