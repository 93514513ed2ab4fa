// Adds up the jest and Playwright JSON reports into one closing line:
// "tests: N passed, N failed, N skipped", under a heading that names the
// Node.js version the tests ran on. Exits 1 if anything failed or no test ran
// at all (a suite that runs nothing proves nothing).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
let passed = 0;
let failed = 0;
let skipped = 0;
const lines = [];

function playwrightCounts(suites) {
  for (const suite of suites ?? []) {
    playwrightCounts(suite.suites);
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests ?? []) {
        const outcome = test.status; // expected | unexpected | flaky | skipped
        if (outcome === 'skipped') skipped++;
        else if (outcome === 'unexpected') failed++;
        else if (outcome === 'flaky') {
          // A test that needed a retry is not green: it is counted as failed.
          failed++;
          lines.push(`  flaky: ${spec.title}`);
        } else passed++;
      }
    }
  }
}

for (const file of readdirSync(dir).filter(f => f.endsWith('.json')).sort()) {
  let report;
  try {
    report = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  } catch {
    failed++;
    lines.push(`  ${file}: no readable report (the runner crashed)`);
    continue;
  }
  if (file.startsWith('jest-')) {
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    // A suite that fails to load has no failed tests but must still count.
    const broken = report.testResults.filter(r => r.status === 'failed' && r.assertionResults.length === 0);
    failed += broken.length;
    for (const r of broken) lines.push(`  could not run: ${path.relative(process.cwd(), r.name)}`);
    lines.push(`  ${file.slice(5, -5)}: ${report.numPassedTests} passed, ${report.numFailedTests} failed`);
  } else {
    const before = { passed, failed };
    playwrightCounts(report.suites);
    for (const e of report.errors ?? []) {
      failed++;
      lines.push(`  browser tests error: ${e.message?.split('\n')[0]}`);
    }
    lines.push(`  ui-tests: ${passed - before.passed} passed, ${failed - before.failed} failed`);
  }
}

// The suites ran on the same node as this script: the first on PATH, which
// npm test made a supported one.
console.log(`\nTest summary (Node.js ${process.version})`);
console.log(lines.join('\n'));
if (passed + failed === 0) {
  console.log('No test ran.');
  process.exit(1);
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
