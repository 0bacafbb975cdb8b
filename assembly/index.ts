// Entry of the WebAssembly kernel module: re-exports every kernel.
export function probe(a: i32): i32 {
  return a + 1;
}
