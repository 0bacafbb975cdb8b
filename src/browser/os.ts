/** The browser build's `node:os`: the core count the backend sizes its thread pool by. */
export const availableParallelism = (): number => Math.max(1, navigator.hardwareConcurrency || 1);
export default { availableParallelism };
