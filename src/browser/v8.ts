/** The browser build's `node:v8`: no flags to set (a browser has relaxed SIMD or not; validation decides). */
export function setFlagsFromString(_flags: string): void {}
export default { setFlagsFromString };
