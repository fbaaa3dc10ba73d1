import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { buildCommand } from './commands/build.ts';
import { configCommand } from './commands/config.ts';
import { doctorCommand } from './commands/doctor.ts';
import { checkCommand } from './commands/check.ts';
import { runCommand } from './commands/run.ts';
import { initCommand } from './commands/new-project.ts';
import { cleanCommand } from './commands/clean.ts';
import { keysCommand } from './commands/keys.ts';
import { serveCommand } from './commands/serve.ts';
import { hookSignals } from './lib/atomic.ts';
import { PROJECT_ROOT } from './lib/tool-root.ts';

function aiosVersion(): string {
  return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** --config and --project: where the user's project is (scripts/project/locate.ts). */
function projectOptions<T>(y: Argv<T>) {
  return y.option('config', { type: 'string', describe: 'project configuration file (default: aios.json in the project)' }).option('project', {
    type: 'string',
    describe: 'project directory holding aios.json (default: the working directory when it has one, else the built-in defaults)',
  });
}

function vmOptions<T>(y: Argv<T>) {
  return projectOptions(y)
    .option('out', { type: 'string', describe: 'output directory of `aios build` (default: out/ of the project)' })
    .option('path', {
      type: 'string',
      describe: 'boot path: direct | iso-bios | iso-uefi | iso-secureboot | disk-secureboot | net-bios | net-uefi (check also takes a comma list or all)',
      default: 'direct',
    })
    .option('qemu-arg', { type: 'string', array: true, describe: 'extra QEMU argument, repeatable: --qemu-arg=-device --qemu-arg=ati-vga' })
    .option('accel', { type: 'string', choices: ['auto', 'kvm', 'tcg'], describe: 'accelerator (default auto: KVM when it answers, else TCG)' });
}

function sourceOptions<T>(y: Argv<T>) {
  return projectOptions(y)
    .option('cache', { type: 'string', describe: 'cache directory (default: $AIOS_CACHE or ~/.cache/aios)' })
    .option('kernel-source', { type: 'string', describe: 'auto | kernel.org | debian | PATH (tarball or tree) | URL', default: undefined })
    .option('kernel-version', { type: 'string', describe: 'kernel.org version to build (default 6.8.12)' })
    .option('kernel-sha256', { type: 'string', describe: 'expected sha256 of the kernel tarball' })
    .option('fragment', { type: 'string', array: true, describe: 'extra config fragment, merged after kernel-config/*.config (repeatable)' })
    .option('fragment-dir', { type: 'string', describe: 'replace kernel-config/ as the directory of base fragments' })
    .option('jobs', { type: 'number', describe: 'parallel make jobs (default: number of CPUs)' });
}

async function main(argv: string[]): Promise<number> {
  let code = 0;
  const set = (p: Promise<number>) => p.then((c) => void (code = c));
  await yargs(argv)
    .scriptName('aios')
    .usage('$0 <command> [options]\n\nBuild a minimal Linux image for AI servers and prove in QEMU that it boots.')
    .command(
      'build',
      'build the kernel, llama-server and the model, aios-init, the initramfs and the images',
      (y) =>
        sourceOptions(y)
          .option('out', { type: 'string', describe: 'output directory (default ./out)' })
          .option('format', { type: 'string', array: true, describe: 'images to write: iso, disk (comma-separated or repeated; default both)' }),
      (a) => set(buildCommand(a)),
    )
    .command(
      'config',
      'print the merged kernel configuration and the dropped-symbol report',
      (y) => sourceOptions(y).option('full', { type: 'boolean', describe: 'print the whole final .config too' }),
      (a) => set(configCommand(a)),
    )
    .command(
      'run',
      'boot a build in QEMU with the serial console on this terminal (Ctrl-A X quits); the disk is a snapshot, never written',
      (y) =>
        vmOptions(y)
          .option('shell', { type: 'boolean', describe: 'a root shell (busybox sh) on the console beside aios-init (kernel flag aios.shell=1)' })
          .option('gdb', { type: 'number', describe: 'QEMU GDB stub on 127.0.0.1:PORT, guest stopped at start; prints the gdb command line' }),
      (a) => set(runCommand(a)),
    )
    .command(
      'check',
      'boot a build headless and judge the boot checklist; exit 1 when a check fails',
      (y) =>
        vmOptions(y)
          .option('json', { type: 'string', describe: 'write the results as JSON to this file' })
          .option('junit', { type: 'string', describe: 'write JUnit XML (one test case per check and path) to this file' })
          .option('timeout', { type: 'number', describe: 'seconds to wait for the boot report before killing QEMU (default 180)' })
          .option('net-url', {
            type: 'string',
            describe:
              'net-bios, net-uefi: boot from a running `aios serve` at this base URL as the guest reaches it (http://10.0.2.2:PORT for a server on this host); default: the check serves the build itself',
          }),
      (a) => set(checkCommand(a)),
    )
    .command(
      'init <dir>',
      'write a new project in DIR: aios.json, a kernel fragment, an overlay/ tree, a service, a README',
      (y) => y.positional('dir', { type: 'string', demandOption: true, describe: 'directory of the new project' }),
      (a) => set(initCommand({ dir: a.dir })),
    )
    .command(
      'clean',
      'list the cache with sizes; --unused removes step outputs the last build did not use, --all everything',
      (y) =>
        projectOptions(y)
          .option('cache', { type: 'string', describe: 'cache directory (default: $AIOS_CACHE or ~/.cache/aios)' })
          .option('out', { type: 'string', describe: 'output directory of the last build, whose build.json says what it used (default ./out)' })
          .option('unused', { type: 'boolean', describe: 'remove the step outputs the last build did not use' })
          .option('all', { type: 'boolean', describe: 'remove everything in the cache' })
          .conflicts('unused', 'all'),
      (a) => set(cleanCommand(a)),
    )
    .command(
      'keys <dir>',
      'make a Secure Boot key set in DIR (PK, KEK, db, the kernel module key, and the signature lists a firmware enrolls); never overwrites',
      (y) =>
        y
          .positional('dir', { type: 'string', demandOption: true, describe: 'directory to create (it must not exist)' })
          .option('name', { type: 'string', describe: 'common name in the certificates (default aiOS)' }),
      (a) => set(keysCommand({ dir: a.dir, name: a.name })),
    )
    .command(
      'serve',
      "serve a build for network boot (iPXE script, kernel, initramfs, the ISO's verified root) and, from a disk build, as the update machines pull (update.json, signed; the slots' UKIs; the root) over HTTP until Ctrl-C; prints every fetch",
      (y) =>
        projectOptions(y)
          .option('out', { type: 'string', describe: 'output directory of `aios build` (default: out/ of the project)' })
          .option('bind', { type: 'string', describe: 'address to listen on (default 127.0.0.1; 0.0.0.0 for a LAN)' })
          .option('port', { type: 'number', describe: 'port (default 8090; 0: any free one)' })
          .option('url', { type: 'string', describe: 'base URL machines reach this server at (default http://BIND:PORT)' }),
      (a) => set(serveCommand(a)),
    )
    .command('doctor', 'check the host tools the build needs and print the apt-get line for what is missing', {}, () => set(doctorCommand()))
    .demandCommand(1, 'name a command: init, build, config, run, check, serve, keys, clean or doctor')
    .strict()
    .help()
    .version(aiosVersion())
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      console.error(`aios: ${msg}\nrun \`aios --help\` for the commands and \`aios <command> --help\` for their options`);
      process.exit(2);
    })
    .parseAsync();
  return code;
}

hookSignals();
main(hideBin(process.argv)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`aios: ${err.message}`);
    if (process.env.AIOS_DEBUG && err.stack) console.error(err.stack);
    process.exit(1);
  },
);
