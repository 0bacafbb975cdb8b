/**
 * Modules hold parameters under their checkpoint names (`self_attn.q_proj.weight`), so the whole model's
 * `namedParameters()` lists exactly the tensor names of a Hugging Face checkpoint and loading is a table walk.
 */
import { activeTape } from "../tensor/autograd.js";
import { tidy } from "../tensor/scope.js";
import type { Tensor } from "../tensor/tensor.js";
import { checkInterrupt } from "./interrupt.js";

/**
 * Runs one layer of a stack. Without a tape (inference) the layer's intermediates are freed when it returns, and
 * so is its input when `owned` (an earlier layer's output): a deep stack then holds one layer's activations at a
 * time, not all of them until the caller's scope ends (a 793-token Phi-2 prefill: ~150 MB, not ~4.8 GB). With a
 * tape they are the backward's inputs and stay. An `interruptible` scope's check runs first (interrupt.ts).
 */
export function forwardLayer(x: Tensor, owned: boolean, fn: (x: Tensor) => Tensor): Tensor {
  checkInterrupt();
  if (activeTape()) return fn(x);
  const y = tidy(() => fn(x));
  if (owned && y !== x) x.dispose();
  return y;
}

/** What a parameter is, which decides its storage format at load (matrices may be quantized, norms stay f32). */
export type ParamRole = "matrix" | "embedding" | "vector";

export class Param {
  private tensor: Tensor | null = null;
  /** Trainable parameters get gradients (set by the trainer). */
  trainable = false;

  constructor(
    readonly shape: readonly number[],
    readonly role: ParamRole,
  ) {}

  get loaded(): boolean {
    return this.tensor !== null;
  }

  /** The parameter's tensor; throws if the model was not loaded. */
  get value(): Tensor {
    if (!this.tensor) throw new Error("parameter used before it was loaded");
    return this.tensor;
  }

  set value(t: Tensor) {
    if (this.tensor && this.tensor !== t) this.tensor.dispose();
    this.tensor = t;
  }

  dispose(): void {
    this.tensor?.dispose();
    this.tensor = null;
  }
}

export abstract class Module {
  private readonly params = new Map<string, Param>();
  private readonly children = new Map<string, Module>();
  /** Training mode (dropout active); set for the whole tree with setTraining(). */
  training = false;

  setTraining(mode: boolean): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Declares a parameter; `name` is its checkpoint name relative to this module. */
  protected param(name: string, shape: readonly number[], role: ParamRole): Param {
    const p = new Param(shape, role);
    this.params.set(name, p);
    return p;
  }

  /** Declares a child module under a (possibly dotted) checkpoint path; "" shares this module's namespace. */
  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** Every parameter with its full checkpoint name, in declaration order. */
  namedParameters(prefix = ""): Array<[string, Param]> {
    const out: Array<[string, Param]> = [];
    for (const [n, p] of this.params) out.push([prefix + n, p]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(n === "" ? prefix : `${prefix}${n}.`));
    return out;
  }

  /** Every module with its path (this one first, as ""). */
  namedModules(prefix = ""): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix.replace(/\.$/, ""), this]];
    for (const [n, c] of this.children) out.push(...c.namedModules(n === "" ? prefix : `${prefix}${n}.`));
    return out;
  }

  dispose(): void {
    for (const [, p] of this.namedParameters()) p.dispose();
  }
}

/** A list of modules named 0, 1, 2 … (nn.ModuleList). */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items;
    for (let i = 0; i < items.length; i++) this.child(String(i), items[i]!);
  }
}
