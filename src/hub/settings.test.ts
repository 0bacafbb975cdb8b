/** The Hub settings read from the environment as Python's huggingface_hub reads them, and Hub id shapes. */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { repoFolderName } from "./cache.js";
import { isHubModelId, isRepoIdShape } from "./repo-id.js";
import { DEFAULT_ENDPOINT, envFlag, hubSettings } from "./settings.js";

describe("hub settings", () => {
  test("the cache: HF_HUB_CACHE, else HF_HOME/hub, else XDG_CACHE_HOME/huggingface/hub, else ~/.cache", () => {
    assert.equal(hubSettings({}).cacheDir, join(homedir(), ".cache", "huggingface", "hub"));
    assert.equal(hubSettings({ XDG_CACHE_HOME: "/x" }).cacheDir, "/x/huggingface/hub");
    assert.equal(hubSettings({ HF_HOME: "/h", XDG_CACHE_HOME: "/x" }).cacheDir, "/h/hub");
    assert.equal(hubSettings({ HF_HOME: "~/hf" }).cacheDir, join(homedir(), "hf", "hub"));
    assert.equal(hubSettings({ HUGGINGFACE_HUB_CACHE: "/old", HF_HOME: "/h" }).cacheDir, "/old");
    assert.equal(hubSettings({ HF_HUB_CACHE: "/c", HUGGINGFACE_HUB_CACHE: "/old" }).cacheDir, "/c");
  });

  test("the token: HF_TOKEN, else the saved login in HF_HOME/token or HF_TOKEN_PATH; empty means none", () => {
    const home = mkdtempSync(join(tmpdir(), "imp-hf-home-"));
    assert.equal(hubSettings({ HF_HOME: home }).token, undefined);
    writeFileSync(join(home, "token"), "hf_saved\n");
    assert.equal(hubSettings({ HF_HOME: home }).token, "hf_saved");
    assert.equal(hubSettings({ HF_HOME: home, HF_TOKEN: "hf_env" }).token, "hf_env");
    assert.equal(hubSettings({ HF_HOME: home, HF_TOKEN: "  " }).token, "hf_saved");
    const other = join(home, "elsewhere");
    writeFileSync(other, "hf_path");
    assert.equal(hubSettings({ HF_HOME: home, HF_TOKEN_PATH: other }).token, "hf_path");
  });

  test("offline and endpoint as in Python", () => {
    for (const v of ["1", "ON", "yes", "True"]) assert.equal(envFlag(v), true, v);
    for (const v of [undefined, "", "0", "false", "no"]) assert.equal(envFlag(v), false, String(v));
    assert.equal(hubSettings({ HF_HUB_OFFLINE: "1" }).offline, true);
    assert.equal(hubSettings({}).endpoint, DEFAULT_ENDPOINT);
    assert.equal(hubSettings({ HF_ENDPOINT: "http://127.0.0.1:8080/" }).endpoint, "http://127.0.0.1:8080");
  });
});

describe("hub ids", () => {
  test("org/name is a Hub id unless a local path of that name exists", () => {
    for (const id of ["MILVLG/Imp-v1.5-3B-Phi2", "openai/clip-vit-large-patch14-336", "a/b_c.d"])
      assert.ok(isRepoIdShape(id), id);
    for (const s of ["folder", "./a/b", "/abs/path", "a/b/c", "a--b/c", "a/b..c", "a/ b", "-a/b", "a/b."])
      assert.ok(!isRepoIdShape(s), s);
    assert.ok(isHubModelId("MILVLG/Imp-v1.5-3B-Phi2"));
    assert.ok(!isHubModelId("models/imp-tiny"), "an existing folder wins");
  });

  test("cache folder names as Python's", () => {
    assert.equal(repoFolderName("MILVLG/Imp-v1.5-3B-Phi2"), "models--MILVLG--Imp-v1.5-3B-Phi2");
  });
});
