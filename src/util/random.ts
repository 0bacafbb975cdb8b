/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32): the same seed gives the same stream on every
 * machine, which makes sampling, shuffling, initialisation and the generated world reproducible.
 * `state()`/`setState()` let training checkpoints save and restore it.
 */
export class Rng {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed = 0) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /**
   * `n` draws of `float() < p` as a dropout mask: 0 where a draw is below p, `kept` elsewhere. The same stream and
   * the same outcomes as n calls of float(), with the generator inlined: a LoRA step draws millions of these on
   * the thread that feeds the kernels.
   */
  dropMask(n: number, p: number, kept: number): Float32Array {
    const out = new Float32Array(n);
    // float() < p  ⇔  hi·2²⁶ + lo < p·2⁵³ (both sides exact in doubles).
    const limit = p * 9007199254740992;
    const st = this.s;
    let s0 = st[0]! | 0;
    let s1 = st[1]! | 0;
    let s2 = st[2]! | 0;
    let s3 = st[3]! | 0;
    for (let i = 0; i < n; i++) {
      // Two xoshiro128** steps (float()'s two nextU32 calls), written out: a loop of single steps with a parity
      // branch measured a fifth slower. Results kept as int32 (>>> 0 would box them).
      let x = Math.imul(s1, 5);
      const a = Math.imul((x << 7) | (x >>> 25), 9);
      let t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      x = Math.imul(s1, 5);
      const b = Math.imul((x << 7) | (x >>> 25), 9);
      t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      out[i] = (a >>> 5) * 67108864 + (b >>> 6) < limit ? 0 : kept;
    }
    st[0] = s0 >>> 0;
    st[1] = s1 >>> 0;
    st[2] = s2 >>> 0;
    st[3] = s3 >>> 0;
    return out;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  /** The generator's state, JSON-serialisable. */
  state(): { s: number[]; spare: number | null } {
    return { s: [...this.s], spare: this.spare };
  }

  setState(st: { s: readonly number[]; spare: number | null }): void {
    for (let i = 0; i < 4; i++) this.s[i] = st.s[i]! >>> 0;
    this.spare = st.spare;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
