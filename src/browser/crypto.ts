/** The browser build's `node:crypto`: random bytes (for temporary names; the browser build writes no files). */
export function randomBytes(n: number): { toString(enc: "hex"): string } {
  const b = crypto.getRandomValues(new Uint8Array(n));
  return { toString: () => [...b].map((x) => x.toString(16).padStart(2, "0")).join("") };
}
export default { randomBytes };
