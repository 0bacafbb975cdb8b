/**
 * The generated world's named colours: ten object colours and three light backgrounds. The values are far
 * apart in RGB (every pair of object colours differs by at least 70 in some channel, see palette.test.ts) so a
 * colour stays recognisable after a bicubic downscale to a tiny tower's input; no object colour is close to a
 * background, so every object stands out. Order is part of the world: it fixes seeds → scenes.
 */
import type { Rgb } from "../io/image/rgb-image.js";

export const COLOR_NAMES = [
  "red",
  "orange",
  "yellow",
  "green",
  "blue",
  "purple",
  "pink",
  "brown",
  "gray",
  "black",
] as const;
export type ColorName = (typeof COLOR_NAMES)[number];

export const COLORS: Readonly<Record<ColorName, Rgb>> = {
  red: [215, 38, 38],
  orange: [245, 135, 20],
  yellow: [240, 205, 20],
  green: [40, 160, 60],
  blue: [35, 85, 215],
  purple: [130, 55, 180],
  pink: [245, 120, 185],
  brown: [125, 80, 40],
  gray: [128, 128, 128],
  black: [25, 25, 25],
};

export const BACKGROUND_NAMES = ["white", "light gray", "beige"] as const;
export type BackgroundName = (typeof BACKGROUND_NAMES)[number];

export const BACKGROUNDS: Readonly<Record<BackgroundName, Rgb>> = {
  white: [255, 255, 255],
  "light gray": [222, 222, 222],
  beige: [247, 238, 212],
};

export const WHITE: Rgb = [255, 255, 255];
export const INK: Rgb = [20, 20, 20];

/** Text colour that reads on a sign of colour `c`: dark ink on the light colours, white on the rest. */
export function inkOn(c: ColorName): Rgb {
  return c === "yellow" || c === "orange" || c === "pink" ? INK : WHITE;
}
