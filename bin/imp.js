#!/usr/bin/env node
// The `imp` command: a thin launcher for the compiled CLI (built by `npm install`).
import { existsSync } from "node:fs";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  console.error(
    "imp: the compiled CLI is missing (dist/cli/main.js). Run `npm install` (or `npm run build`) first.",
  );
  process.exit(1);
}
await import(main.href);
