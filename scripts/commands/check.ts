import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomically } from '../lib/atomic.ts';
import { loadProject } from '../project/locate.ts';
import { isNetPath, parsePaths } from '../../qemu/cmdline.ts';
import { checkBaseUrl } from '../../common/netboot.ts';
import { chooseAccel, type CheckArgs } from '../../qemu/vm-options.ts';
import { checkBuild } from '../../qemu/harness.ts';
import { junit, table } from '../../qemu/output.ts';
import { requireTools } from './doctor.ts';

export async function checkCommand(args: CheckArgs): Promise<number> {
  await requireTools('boot');
  const { config } = await loadProject(args);
  const out = resolve(args.out ?? config.outDir);
  const paths = parsePaths(args.path ?? 'direct');
  const netUrl = args['net-url'];
  if (netUrl) {
    const problem = checkBaseUrl(netUrl);
    if (problem) throw new Error(`--net-url ${problem}`);
    if (!paths.some(isNetPath)) throw new Error('--net-url is for the network paths: add --path net-bios or net-uefi');
  }
  // Found before a boot of minutes, not after it.
  await prepareReportFiles({ '--json': args.json, '--junit': args.junit });
  const kernel = join(out, 'vmlinuz');
  if (!existsSync(kernel)) throw new Error(`${out} has no vmlinuz: run \`aios build --out ${out}\` first`);
  const { accel, why } = await chooseAccel(args.accel ?? config.check.accel, kernel);
  console.log(`accelerator: ${accel.toUpperCase()} (${why})`);
  const results = await checkBuild({
    out,
    config,
    paths,
    accel,
    accelWhy: why,
    qemuArgs: args['qemu-arg'] ?? [],
    timeoutSec: args.timeout,
    netUrl: args['net-url'],
    say: (l) => console.log(l),
  });
  console.log(`\n${table(results)}`);
  const failed = results.flatMap((r) => r.checks.filter((c) => !c.ok));
  if (args.json) await writeFileAtomically(args.json, JSON.stringify({ accel, accelWhy: why, passed: failed.length === 0, results }, null, 2) + '\n');
  if (args.junit) await writeFileAtomically(args.junit, junit(results));
  console.log(`\n${failed.length ? `${failed.length} check(s) failed` : 'all checks passed'} (${results.length} boot path(s), ${accel.toUpperCase()})`);
  return failed.length ? 1 : 0;
}

/** The directories of the report files, made now; a report path that is a directory is an error before any boot. */
export async function prepareReportFiles(files: Record<string, string | undefined>): Promise<void> {
  for (const [flag, file] of Object.entries(files)) {
    if (!file) continue;
    if (existsSync(file) && (await stat(file)).isDirectory())
      throw new Error(`${flag} ${file}: is a directory; give a file name, like ${join(file, flag === '--junit' ? 'junit.xml' : 'check.json')}`);
    await mkdir(dirname(resolve(file)), { recursive: true });
  }
}
