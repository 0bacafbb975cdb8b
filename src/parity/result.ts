/** One compared output of a parity fixture: how far ours is from the golden and whether that is within bounds. */
export interface ParityResult {
  output: string;
  /** max |ours − golden| / max |golden| for model outputs, max |ours − golden| for images, or differing tokens. */
  error: number;
  tolerance: number;
  ok: boolean;
  detail?: string;
}
