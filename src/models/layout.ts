/**
 * Checkpoint layouts: where each of our parameters (named as in the Imp-v1.5 / LLaVA training code, e.g.
 * `model.layers.3.self_attn.q_proj.weight`) is stored in a given checkpoint. A layout is a table of renames plus
 * row ranges for fused tensors; it is detected from the tensor names present.
 *
 *  - imp15:    Imp-v1.5 and LLaVA training layout, names as ours. Phi-3 stores fused `qkv_proj` (rows q, k, v)
 *              and `gate_up_proj` (rows gate, up): those are read as row ranges.
 *  - impV1:    imp-v1-3b and Imp-v1.5-3B-196 (phi-msft): `transformer.*`, fused `mixer.Wqkv`, `lm_head.ln` /
 *              `lm_head.linear`; the tower under `transformer.vision_tower.vision_tower.vision_model.` (the MLC
 *              loader prefixes `transformer.vision_tower.` to its own `vision_tower.vision_model.*`), or under
 *              `transformer.vision_tower.vision_model.` as shared/reference/imp-spec.md §5.1 reads it: both are
 *              accepted, whichever the checkpoint holds.
 *  - llavaHf:  transformers-native LLaVA: `language_model.*` / `vision_tower.*` / `multi_modal_projector.*`
 *              (older) or the same under `model.` (transformers ≥ 4.52).
 * For LLaVA-1.5 (liuhaotian) the CLIP tower comes from a separate folder whose names start `vision_model.`.
 */
import type { LlmConfig } from "./config.js";

export type LayoutName = "imp15" | "impV1" | "llavaHf" | "llavaHfNested";

export interface TensorSource {
  /** Which file set: the checkpoint itself or a separate vision tower folder. */
  from: "main" | "vision";
  name: string;
  /** For fused tensors: the first row and the row count of this parameter. */
  rows?: [number, number];
}

export const VISION_PREFIX = "model.vision_tower.vision_tower.vision_model.";

/** A stored tensor's name, and for a fused one the rows that are this parameter. */
type StoredName = { name: string; rows?: [number, number] };

interface Layout {
  /** A tensor only this layout stores (null for imp15, the layout when no other one's marker is present). */
  marker: string | null;
  /**
   * What the vision tower's names start with in place of VISION_PREFIX (when the tower is in the checkpoint): the
   * first of these the checkpoint holds the name under, else the first.
   */
  visionPrefixes: readonly string[];
  /** The stored tensor of one of the LLM's or the connector's parameters. */
  resolve(name: string, llm: LlmConfig, has: (n: string) => boolean): StoredName;
}

/** The layouts, tried in this order by their markers. */
const LAYOUTS: Readonly<Record<LayoutName, Layout>> = {
  impV1: {
    marker: "transformer.embd.wte.weight",
    visionPrefixes: [
      "transformer.vision_tower.vision_tower.vision_model.",
      "transformer.vision_tower.vision_model.",
    ],
    resolve: impV1,
  },
  llavaHf: {
    marker: "language_model.model.embed_tokens.weight",
    visionPrefixes: ["vision_tower.vision_model."],
    resolve: (name) => ({ name: llavaHf(name, false) }),
  },
  llavaHfNested: {
    marker: "model.language_model.embed_tokens.weight",
    visionPrefixes: ["model.vision_tower.vision_model."],
    resolve: (name) => ({ name: llavaHf(name, true) }),
  },
  imp15: { marker: null, visionPrefixes: [VISION_PREFIX], resolve: imp15 },
};

export function detectLayout(names: ReadonlySet<string>): LayoutName {
  for (const [name, layout] of Object.entries(LAYOUTS) as Array<[LayoutName, Layout]>)
    if (layout.marker !== null && names.has(layout.marker)) return name;
  return "imp15";
}

/** Row ranges of q, k, v in a fused [q; k; v] projection, and of gate, up in [gate; up]. */
function fusedRows(llm: LlmConfig, part: string): [number, number] {
  const q = llm.heads * llm.headDim;
  const kv = llm.kvHeads * llm.headDim;
  switch (part) {
    case "q":
      return [0, q];
    case "k":
      return [q, kv];
    case "v":
      return [q + kv, kv];
    case "gate":
      return [0, llm.intermediate];
    default:
      return [llm.intermediate, llm.intermediate];
  }
}

/**
 * Maps one of our parameter names to its stored tensor. `has` tells which names the main checkpoint holds (to
 * choose between a plain and a fused tensor); `separateVision` is true when the tower comes from its own folder.
 */
export function resolveSource(
  layout: LayoutName,
  name: string,
  llm: LlmConfig,
  has: (n: string) => boolean,
  separateVision: boolean,
): TensorSource {
  if (name.startsWith(VISION_PREFIX)) {
    const rest = name.slice(VISION_PREFIX.length);
    if (separateVision) return { from: "vision", name: `vision_model.${rest}` };
    const prefixes = LAYOUTS[layout].visionPrefixes;
    return { from: "main", name: `${prefixes.find((p) => has(p + rest)) ?? prefixes[0]}${rest}` };
  }
  return { from: "main", ...LAYOUTS[layout].resolve(name, llm, has) };
}

/** imp15: as named, unless stored fused (Phi-3). */
function imp15(name: string, llm: LlmConfig, has: (n: string) => boolean): StoredName {
  if (!has(name)) {
    const m = /^(model\.layers\.\d+)\.(self_attn\.(q|k|v)_proj|mlp\.(gate|up)_proj)\.weight$/.exec(name);
    if (m) {
      const fused = m[3] ? `${m[1]}.self_attn.qkv_proj.weight` : `${m[1]}.mlp.gate_up_proj.weight`;
      if (has(fused)) return { name: fused, rows: fusedRows(llm, (m[3] ?? m[4])!) };
    }
  }
  return { name };
}

function impV1(name: string, llm: LlmConfig): StoredName {
  let m: RegExpExecArray | null;
  if (name.startsWith("model.mm_projector.")) return { name: `transformer.${name.slice("model.".length)}` };
  if (name === "model.embed_tokens.weight") return { name: "transformer.embd.wte.weight" };
  if ((m = /^model\.final_layernorm\.(weight|bias)$/.exec(name))) return { name: `lm_head.ln.${m[1]}` };
  if ((m = /^lm_head\.(weight|bias)$/.exec(name))) return { name: `lm_head.linear.${m[1]}` };
  if ((m = /^model\.layers\.(\d+)\.(.+)$/.exec(name))) {
    const h = `transformer.h.${m[1]}`;
    const rest = m[2]!;
    let r: RegExpExecArray | null;
    if ((r = /^input_layernorm\.(weight|bias)$/.exec(rest))) return { name: `${h}.ln.${r[1]}` };
    if ((r = /^self_attn\.(q|k|v)_proj\.(weight|bias)$/.exec(rest)))
      return { name: `${h}.mixer.Wqkv.${r[2]}`, rows: fusedRows(llm, r[1]!) };
    if ((r = /^self_attn\.dense\.(weight|bias)$/.exec(rest))) return { name: `${h}.mixer.out_proj.${r[1]}` };
    if ((r = /^mlp\.(fc1|fc2)\.(weight|bias)$/.exec(rest))) return { name: `${h}.mlp.${r[1]}.${r[2]}` };
  }
  return { name };
}

function llavaHf(name: string, nested: boolean): string {
  let m: RegExpExecArray | null;
  if ((m = /^model\.mm_projector\.(0|2)\.(weight|bias)$/.exec(name))) {
    const linear = m[1] === "0" ? "linear_1" : "linear_2";
    return `${nested ? "model." : ""}multi_modal_projector.${linear}.${m[2]}`;
  }
  if (name.startsWith("lm_head.")) return nested ? name : `language_model.${name}`;
  if (name.startsWith("model."))
    return nested ? `model.language_model.${name.slice(6)}` : `language_model.${name}`;
  return name;
}
