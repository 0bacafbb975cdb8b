/**
 * The raster the generated world is drawn on: 8-bit RGB, HWC (the pipeline's `RgbImage`), painted with coverage
 * masks (raster.ts) blended in integer arithmetic, and with axis-aligned pixel rectangles (bitmap text, bars,
 * axes). Everything is integer once a mask is made, so pixels are identical on every machine.
 */
import type { Rgb, RgbImage } from "../io/image/rgb-image.js";
import { circleMask, type Mask, polygonMask, SAMPLES } from "./raster.js";

export class Canvas {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;

  constructor(width: number, height: number, background: Rgb) {
    this.width = width;
    this.height = height;
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) {
      this.data[3 * i] = background[0];
      this.data[3 * i + 1] = background[1];
      this.data[3 * i + 2] = background[2];
    }
  }

  /** Blends `rgb` over the canvas by the mask's coverage: out = (old·(16−c) + rgb·c + 8) / 16, rounded down. */
  paint(m: Mask, rgb: Rgb): void {
    const [r, g, b] = rgb;
    for (let y = 0; y < m.h; y++) {
      for (let x = 0; x < m.w; x++) {
        const c = m.cov[y * m.w + x]!;
        if (c === 0) continue;
        const o = ((m.y0 + y) * this.width + m.x0 + x) * 3;
        const d = this.data;
        if (c === SAMPLES) {
          d[o] = r;
          d[o + 1] = g;
          d[o + 2] = b;
        } else {
          const k = SAMPLES - c;
          d[o] = (d[o]! * k + r * c + 8) >> 4;
          d[o + 1] = (d[o + 1]! * k + g * c + 8) >> 4;
          d[o + 2] = (d[o + 2]! * k + b * c + 8) >> 4;
        }
      }
    }
  }

  /** Fills a polygon given in FP units (raster.ts). */
  fillPolygon(pts: readonly number[], rgb: Rgb): void {
    this.paint(polygonMask(this.width, this.height, pts), rgb);
  }

  /** Fills a disc given in FP units. */
  fillCircle(cx: number, cy: number, r: number, rgb: Rgb): void {
    this.paint(circleMask(this.width, this.height, cx, cy, r), rgb);
  }

  /** Fills the whole pixels [x, x+w) × [y, y+h), clipped to the canvas. */
  fillRect(x: number, y: number, w: number, h: number, rgb: Rgb): void {
    const x0 = Math.max(0, x);
    const y0 = Math.max(0, y);
    const x1 = Math.min(this.width, x + w);
    const y1 = Math.min(this.height, y + h);
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const o = (yy * this.width + xx) * 3;
        this.data[o] = rgb[0];
        this.data[o + 1] = rgb[1];
        this.data[o + 2] = rgb[2];
      }
    }
  }

  /** The pixels as the image pipeline's `RgbImage` (shares the buffer). */
  image(): RgbImage {
    return { width: this.width, height: this.height, data: this.data };
  }
}
