/**
 * The browser's version of models/source.ts (swapped in by scripts/build-web.mjs): in a tab a model is a folder the
 * page picked or the server serves, never a Hub download (that is `imp pull`'s job, in Node.js).
 */
import type { ModelSourceOptions, ResolvedModel } from "../models/source.js";

export async function resolveModelSource(source: string, _opts?: ModelSourceOptions): Promise<ResolvedModel> {
  return { folder: source, visionTower: undefined, pulled: null };
}
