/** Parity with the golden outputs of the official code: model fixtures and image preprocessing fixtures. */
export { type FixtureKind, fixtureKind } from "./fixture.js";
export { type ModelParityOptions, modelParity, readGolden, relError } from "./model.js";
export { preprocessParity } from "./preprocess.js";
export type { ParityResult } from "./result.js";
