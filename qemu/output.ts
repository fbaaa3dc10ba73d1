import type { CheckResult } from './judge.ts';
import type { BootPath, Accel } from './cmdline.ts';

export interface PathResult {
  path: BootPath;
  accel: Accel;
  accelWhy: string;
  command: string;
  serialLog: string;
  figures: {
    firstOutputSec?: number;
    reportSec?: number;
    uptimeAtReady?: number;
    execToReadyMs?: number;
    v8StartMs?: number;
    nodeBootstrapMs?: number;
    mainStartMs?: number;
    pid1RssKB?: number;
    serverReadySec?: number;
    modelLoadMs?: number;
    firstTokenMs?: number;
    tokensPerSecond?: number;
  };
  checks: CheckResult[];
}

export function table(results: readonly PathResult[]): string {
  const rows: string[][] = [['path', 'check', 'result', 'detail']];
  for (const r of results) for (const c of r.checks) rows.push([r.path, c.name, c.ok ? 'PASS' : 'FAIL', c.detail]);
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => `${row[0]!.padEnd(w[0]!)}  ${row[1]!.padEnd(w[1]!)}  ${row[2]!.padEnd(w[2]!)}  ${row[3]}`).join('\n');
}

const xml = (s: string) =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '');

/** JUnit XML: one test suite per boot path, one test case per check. */
export function junit(results: readonly PathResult[]): string {
  const suites = results.map((r) => {
    const failures = r.checks.filter((c) => !c.ok).length;
    const cases = r.checks.map(
      (c) =>
        `    <testcase classname="aios.check.${r.path}" name="${xml(c.name)}">${c.ok ? '' : `\n      <failure message="${xml(c.detail)}">${xml(c.detail)}</failure>\n    `}</testcase>`,
    );
    return `  <testsuite name="aios check ${r.path} (${r.accel})" tests="${r.checks.length}" failures="${failures}">\n${cases.join('\n')}\n    <system-out>${xml(`${r.command}\nserial log: ${r.serialLog}`)}</system-out>\n  </testsuite>`;
  });
  const total = results.reduce((n, r) => n + r.checks.length, 0);
  const failed = results.reduce((n, r) => n + r.checks.filter((c) => !c.ok).length, 0);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="aios check" tests="${total}" failures="${failed}">\n${suites.join('\n')}\n</testsuites>\n`;
}
