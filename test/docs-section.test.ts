// The docs writer the measuring scripts share: one section replaced in place, a new one placed where asked.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { replaceSection } from "../scripts/docs-section.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-docs-section-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const page = "# Page\n\nIntro.\n\n## A\n\nold a\n\n## B\n\nold b\n";

test("an existing section is replaced and the others kept", () => {
  const f = join(tmp, "replace.md");
  writeFileSync(f, page);
  replaceSection(f, "A", "new a", "B");
  assert.equal(readFileSync(f, "utf8"), "# Page\n\nIntro.\n\n## A\n\nnew a\n\n## B\n\nold b\n");
});

test("a new section goes before the one named, or at the end", () => {
  const f = join(tmp, "insert.md");
  writeFileSync(f, page);
  replaceSection(f, "C", "c", "B");
  assert.equal(readFileSync(f, "utf8"), "# Page\n\nIntro.\n\n## A\n\nold a\n\n## C\n\nc\n\n## B\n\nold b\n");
  replaceSection(f, "D", "d", "Missing");
  replaceSection(f, "E", "e");
  assert.match(readFileSync(f, "utf8"), /## B\n\nold b\n\n## D\n\nd\n\n## E\n\ne\n$/);
});
