// Embedding gather (split by ids), its scatter-add backward (split by columns, so repeated ids add up in id
// order within one thread, exactly as the reference) and image patch extraction (split by patches).
import { loadPartial, rangeHi, rangeLo, split, storePartial } from "./common";
import { decodeRow, formatBytes } from "./formats";

export function embedding(ids: usize, table: usize, format: i32, out: usize, n: i32, dim: i32, tid: i32, nth: i32): void {
  const i0 = split(n, tid, nth);
  const i1 = split(n, tid + 1, nth);
  const rowBytes = formatBytes(format, dim);
  for (let i = i0; i < i1; i++) {
    const id = <usize>load<i32>(ids + (<usize>i << 2));
    decodeRow(table + id * rowBytes, format, 0, dim, out + ((<usize>i * <usize>dim) << 2));
  }
}

export function embeddingBackward(ids: usize, dy: usize, dtable: usize, n: i32, dim: i32, tid: i32, nth: i32): void {
  const c0 = rangeLo(dim, tid, nth);
  const c1 = rangeHi(dim, tid, nth);
  if (c0 >= c1) return;
  for (let i = 0; i < n; i++) {
    const row = <usize>load<i32>(ids + (<usize>i << 2));
    const src = dy + ((<usize>i * <usize>dim + <usize>c0) << 2);
    const dst = dtable + ((row * <usize>dim + <usize>c0) << 2);
    const cnt = c1 - c0;
    let c = 0;
    for (; c + 4 <= cnt; c += 4) {
      const o = <usize>c << 2;
      v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
    }
    if (c < cnt) {
      const o = <usize>c << 2;
      storePartial(dst + o, f32x4.add(loadPartial(dst + o, cnt - c), loadPartial(src + o, cnt - c)), cnt - c);
    }
  }
}

/** [C, H, W] → [(H/P)·(W/P), C·P·P]. */
export function patchify(img: usize, out: usize, channels: i32, height: i32, width: i32, patch: i32, tid: i32, nth: i32): void {
  const gw = width / patch;
  const total = (height / patch) * gw;
  const p0 = split(total, tid, nth);
  const p1 = split(total, tid + 1, nth);
  const run = <usize>patch << 2;
  for (let q = p0; q < p1; q++) {
    const py = q / gw;
    const px = q % gw;
    let o = out + ((<usize>q * <usize>(channels * patch * patch)) << 2);
    for (let c = 0; c < channels; c++)
      for (let ky = 0; ky < patch; ky++, o += run) {
        const src = img + ((<usize>((c * height + py * patch + ky) * width + px * patch)) << 2);
        memory.copy(o, src, run);
      }
  }
}
