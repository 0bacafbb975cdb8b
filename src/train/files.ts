/** Small files of a run (JSON, text) written atomically: temporary file, fsync, rename (see io/safetensors/atomic). */
import { writeFileAtomic } from "../io/safetensors/atomic.js";

export function writeTextAtomic(file: string, text: string): void {
  writeFileAtomic(file, (f) => f.write(new TextEncoder().encode(text)));
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeTextAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}
