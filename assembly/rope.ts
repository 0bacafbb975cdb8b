// Rotary embedding, rotate-half form on a rotated prefix of each head (see src/backend/js/rope.ts), split by
// (position, head) rows. out may equal x: each pair is read before it is written.
import { loadPartial, split, storePartial } from "./common";

export function rope(
  x: usize,
  out: usize,
  cos: usize,
  sin: usize,
  t: i32,
  heads: i32,
  headDim: i32,
  rotDim: i32,
  inverse: i32,
  tid: i32,
  nth: i32,
): void {
  const rows = t * heads;
  const r0 = split(rows, tid, nth);
  const r1 = split(rows, tid + 1, nth);
  const half = rotDim >> 1;
  const sgn = f32x4.splat(inverse != 0 ? -1.0 : 1.0);
  for (let r = r0; r < r1; r++) {
    const pos = r / heads;
    const px = x + ((<usize>r * <usize>headDim) << 2);
    const po = out + ((<usize>r * <usize>headDim) << 2);
    const pc = cos + ((<usize>pos * <usize>half) << 2);
    const ps = sin + ((<usize>pos * <usize>half) << 2);
    const h2 = <usize>half << 2;
    for (let j = 0; j < half; j += 4) {
      const cnt = min(4, half - j);
      const o = <usize>j << 2;
      const full = cnt == 4;
      const c = full ? v128.load(pc + o) : loadPartial(pc + o, cnt);
      const s = f32x4.mul(sgn, full ? v128.load(ps + o) : loadPartial(ps + o, cnt));
      const x1 = full ? v128.load(px + o) : loadPartial(px + o, cnt);
      const x2 = full ? v128.load(px + h2 + o) : loadPartial(px + h2 + o, cnt);
      const y1 = f32x4.sub(f32x4.mul(x1, c), f32x4.mul(x2, s));
      const y2 = f32x4.add(f32x4.mul(x2, c), f32x4.mul(x1, s));
      if (full) {
        v128.store(po + o, y1);
        v128.store(po + h2 + o, y2);
      } else {
        storePartial(po + o, y1, cnt);
        storePartial(po + h2 + o, y2, cnt);
      }
    }
    if (out != x && rotDim < headDim) {
      memory.copy(po + (<usize>rotDim << 2), px + (<usize>rotDim << 2), <usize>(headDim - rotDim) << 2);
    }
  }
}
