import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { GLOSSARY, readmeLine, situationTooltip, zoneTooltip } from "./glossary";

// The README's "Words Grove uses" section: every list item up to the next heading.
function readmeGlossary(): string[] {
  const readme = readFileSync(resolve(import.meta.dirname, "../../../README.md"), "utf8");
  const start = readme.indexOf("\n## Words Grove uses\n");
  expect(start, "README.md has a '## Words Grove uses' section").toBeGreaterThan(-1);
  const rest = readme.slice(start + 1).split("\n").slice(1);
  const end = rest.findIndex((l) => l.startsWith("#"));
  return (end === -1 ? rest : rest.slice(0, end)).filter((l) => l.startsWith("- "));
}

describe("the glossary", () => {
  it("says the same in the app and in README.md, word for word and in the same order", () => {
    expect(readmeGlossary()).toEqual(GLOSSARY.map(readmeLine));
  });

  it("defines the words the issue asked for, and each zone", () => {
    const ids = GLOSSARY.map((t) => t.id);
    for (const id of ["value", "principle", "zone", "local", "principle-check", "centre-awareness", "centre-intervention", "unsure",
      "escalation", "consent", "objection", "tension", "vitality", "replant", "situation"]) {
      expect(ids).toContain(id);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("gives zone and situation pills a tooltip that explains them", () => {
    expect(zoneTooltip("principle-check")).toMatch(/check with a peer/);
    expect(zoneTooltip("centre-awareness", true)).toMatch(/stewards know.*not sure which zone/);
    expect(situationTooltip("supplier-change")).toMatch(/^#supplier-change: .*kind of situation/);
  });
});
