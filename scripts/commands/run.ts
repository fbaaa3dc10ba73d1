import { spawn } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { quoteCommand } from '../../common/exec.ts';
import { killOnExit } from '../../common/cleanup.ts';
import { tempDir } from '../../common/leftovers.ts';
import { removeKilledScratch } from '../../qemu/leftovers.ts';
import { requireTools } from './doctor.ts';
import { gdbCommand, isNetPath, parsePaths, qemuArgs, uefiFirmware } from '../../qemu/cmdline.ts';
import { loadProject } from '../project/locate.ts';
import { SHELL_FLAG } from '../../common/cmdline-flags.ts';
import { existsSync } from 'node:fs';
import { QEMU, freePorts, qemuSpawn } from '../../qemu/runner.ts';
import { chooseAccel, imageStatus, netRootArgs, readBuildRecord, statusUnreachable, vmOptions, type CheckArgs } from '../../qemu/vm-options.ts';
import { fetchLine, serveToGuests, type NetServer } from '../../qemu/net-server.ts';
import { gdbKernelNote } from '../../qemu/gdb-note.ts';
import { TOKENS_FILE } from '../project/tokens.ts';

/** `aios run`: boot interactively, serial console on this terminal; Ctrl-A X quits. */
export async function runCommand(args: CheckArgs): Promise<number> {
  await requireTools('boot');
  const paths = parsePaths(args.path ?? 'direct');
  if (paths.length !== 1) throw new Error(`aios run boots one path at a time; pick one of ${paths.join(', ')} with --path`);
  const path = paths[0]!;
  const { config, dir } = await loadProject(args);
  const probe = await vmOptions(args, config, path, 'tcg');
  const { accel, why } = await chooseAccel(args.accel ?? 'auto', probe.kernel);
  const [hostPort, serverPort] = (await freePorts(2, args.gdb ? [args.gdb] : [])) as [number, number];
  const record = await readBuildRecord(dirname(probe.kernel));
  const unreachable = statusUnreachable(await imageStatus(dirname(probe.kernel)));
  const o = { ...probe, accel, hostPort: unreachable ? 0 : hostPort, snapshot: true, gdbPort: args.gdb };
  if (args.shell) {
    if (path === 'direct' || isNetPath(path)) o.cmdline = `${o.cmdline} ${SHELL_FLAG}=1`.trim();
    else if (path === 'iso-bios')
      console.error(`--shell on ${path}: pick "aiOS with a console shell" in GRUB's menu (hold Esc as GRUB starts; the build needs boot.debugShell)`);
    else console.error(`--shell on ${path}: the signed UKI's command line cannot be changed (that is the point); use --path direct for a shell`);
  }
  // Breakpoints are set at link addresses: a kernel that relocates itself would never hit them.
  if (o.gdbPort && path === 'direct') o.cmdline = `${o.cmdline} nokaslr`.trim();
  const served = record.inference;
  if (served) o.forwards = [{ host: serverPort, guest: served.port }];
  await removeKilledScratch((m) => console.error(m));
  const scratch = await tempDir('run');
  const tmp = scratch.path;
  let net: NetServer | undefined;
  try {
    let ovmfVars: string | undefined;
    const firmware = uefiFirmware(path);
    if (firmware) await copyFile(firmware.vars, (ovmfVars = join(tmp, 'OVMF_VARS.fd')));
    if (isNetPath(path)) {
      // Served from here while QEMU runs; every fetch is printed above the console.
      net = await serveToGuests(dirname(o.kernel), netRootArgs(record, dirname(o.kernel)), o.cmdline, (f) => console.error(`aios serve: ${fetchLine(f)}`));
      o.netBootUrl = net.script;
    }
    const argv = qemuArgs({ ...o, ovmfVars, interactive: true });
    const tokens = existsSync(join(dir, TOKENS_FILE)) ? ` (Authorization: Bearer <its token in ${join(dir, TOKENS_FILE)}>)` : '';
    console.error(
      `accelerator: ${accel.toUpperCase()} (${why}); status endpoint: ${unreachable ?? `http://127.0.0.1:${o.hostPort}/status${record.status?.token ? tokens : ''}`}`,
    );
    if (served) console.error(`llama-server (${served.model.name}): http://127.0.0.1:${serverPort}/completion once /health answers${tokens}`);
    console.error(`${quoteCommand(QEMU, argv)}\n(Ctrl-A X quits)`);
    if (o.gdbPort) {
      const vmlinux = join(dirname(o.kernel), 'vmlinux');
      const scripts = record.kernel?.gdbScripts && existsSync(join(record.kernel.gdbScripts, 'vmlinux-gdb.py')) ? record.kernel.gdbScripts : undefined;
      console.error(
        [
          `the guest is stopped at its first instruction; attach with:\n  ${quoteCommand('gdb', gdbCommand(vmlinux, o.gdbPort, scripts).slice(1))}\nthen \`continue\`.`,
          existsSync(vmlinux) ? '' : `${vmlinux} is missing: rebuild with this aios.`,
          path === 'direct'
            ? ''
            : path === 'iso-bios'
              ? 'For breakpoints, add nokaslr to the linux line in GRUB (press e).'
              : 'The UKI boots with KASLR: use --path direct for breakpoints.',
          gdbKernelNote(record.kernel, scripts),
        ]
          .filter(Boolean)
          .join('\n'),
      );
    }
    const child = spawn(...qemuSpawn(argv), { stdio: 'inherit' });
    killOnExit(child);
    return await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    await net?.close();
    await scratch.release();
  }
}
