// Reading LLaVA-format files: JSON arrays and JSONL, and every kind of bad record reported with its file and line.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { readRecords, splitJsonArray } from "./records.js";

const tmp = mkdtempSync(join(tmpdir(), "imp-records-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
mkdirSync(join(tmp, "img"));
writeFileSync(join(tmp, "img", "a.png"), "not checked here");

const conv = (q: string, a: string) => [
  { from: "human", value: q },
  { from: "gpt", value: a },
];

describe("LLaVA-format records", () => {
  test("a JSON array: records with their line, images resolved against the folder, text-only, multi-turn", () => {
    const file = join(tmp, "data.json");
    const recs = [
      { id: "1", image: "a.png", conversations: conv("<image>\nWhat?", "A.") },
      { id: 2, conversations: [...conv("Hi", "Hello"), ...conv('More, "quoted" {braces} [x]', "Yes")] },
    ];
    writeFileSync(file, `[\n${recs.map((r) => JSON.stringify(r, null, 1)).join(",\n")}\n]\n`);
    const { records, bad } = readRecords(file, join(tmp, "img"));
    assert.deepEqual(bad, []);
    assert.equal(records.length, 2);
    assert.equal(records[0]!.image, join(tmp, "img", "a.png"));
    assert.equal(records[0]!.where, `${file}:2`);
    assert.equal(records[1]!.id, "2");
    assert.equal(records[1]!.image, null);
    assert.equal(records[1]!.conversations.length, 4);
    assert.equal(records[1]!.where, `${file}:${2 + JSON.stringify(recs[0], null, 1).split("\n").length}`);
  });

  test("bad records: malformed line, not an object, no assistant turn, missing image, odd roles, stray <image>", () => {
    const file = join(tmp, "bad.jsonl");
    const lines = [
      JSON.stringify({ id: "ok", image: "a.png", conversations: conv("<image>\nQ", "A") }),
      '{"id": "broken", "conversations": [',
      "[1, 2]",
      JSON.stringify({ id: "nogpt", conversations: [{ from: "human", value: "Q" }] }),
      JSON.stringify({ id: "missing", image: "nope.png", conversations: conv("<image>\nQ", "A") }),
      JSON.stringify({
        id: "role",
        conversations: [
          { from: "user", value: "Q" },
          { from: "gpt", value: "A" },
        ],
      }),
      JSON.stringify({ id: "stray", conversations: conv("<image>\nQ", "A") }),
      "",
      JSON.stringify({ id: "two", image: "a.png", conversations: conv("<image><image>", "A") }),
    ];
    writeFileSync(file, lines.join("\n"));
    const { records, bad } = readRecords(file, join(tmp, "img"));
    assert.deepEqual(
      records.map((r) => r.id),
      ["ok"],
    );
    const by = Object.fromEntries(bad.map((b) => [b.where.slice(file.length + 1), b.reason]));
    assert.match(by["2"]!, /malformed JSON/);
    assert.match(by["3"]!, /not a JSON object/);
    assert.match(by["4"]!, /no assistant \("gpt"\) turn/);
    assert.match(by["5"]!, /image .*nope\.png not found/);
    assert.match(by["6"]!, /from is "user"/);
    assert.match(by["7"]!, /"<image>" in the text but no "image" field/);
    assert.match(by["9"]!, /2 "<image>" placeholders/);
    assert.equal(bad.length, 7);
  });

  test("the array scanner keeps going after a malformed element and rejects a file that is not an array", () => {
    const items = splitJsonArray('[{"a": 1},\n {"b": "x,]"},\n {oops},\n {"c": [1, {"d": 2}]}\n]', "f.json");
    assert.deepEqual(
      items.map((i) => i.line),
      [1, 2, 3, 4],
    );
    assert.equal(items[1]!.text, '{"b": "x,]"}');
    assert.throws(() => splitJsonArray('{"a": 1}', "f.json"), /f\.json:1: expected a JSON array/);
    assert.throws(() => splitJsonArray('[{"a": 1},', "f.json"), /not closed/);
  });
});
