import { resolve } from 'node:path';
import { checkBaseUrl, netCmdline, NET_FILES } from '../../common/netboot.ts';
import { fetchLine, guestUrl, startNetServer } from '../../qemu/net-server.ts';
import { netRootArgs, readBuildRecord } from '../../qemu/vm-options.ts';
import { loadProject } from '../project/locate.ts';
import { requireTools } from './doctor.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UPDATE_PATHS } from '../../common/slots.ts';

const buildOf = async (out: string) => (JSON.parse(await readFile(join(out, 'update.json'), 'utf8')) as { build: string }).build;

export interface ServeArgs {
  out?: string;
  bind?: string;
  port?: number;
  url?: string;
  config?: string;
  project?: string;
}

/** `aios serve`: a build for network boot over HTTP until Ctrl-C. */
export async function serveCommand(args: ServeArgs): Promise<number> {
  await requireTools('boot');
  const { config } = await loadProject(args);
  const out = resolve(args.out ?? config.outDir);
  if (args.url) {
    const problem = checkBaseUrl(args.url);
    if (problem) throw new Error(`--url ${problem}`);
  }
  const build = await readBuildRecord(out);
  // A disk-only build has no network boot, only updates: the server says so when it starts.
  const rootArgs = build.verity?.iso ? netRootArgs(build, out) : '';
  const bind = args.bind ?? '127.0.0.1';
  const loopback = ['127.0.0.1', '::1', 'localhost'].includes(bind);
  // What the kernel and stage 1 fetch from must be an address the machines reach: on loopback
  // only QEMU guests of this host's user network do, as 10.0.2.2; a wildcard bind says nothing.
  if (!args.url && ['0.0.0.0', '::'].includes(bind))
    throw new Error(`--bind ${bind} needs --url http://HOST:PORT: the address your machines reach this host at (it goes into boot.ipxe)`);
  const publicUrl = args.url ?? (loopback ? guestUrl : undefined);
  const server = await startNetServer({
    out,
    bind,
    port: args.port ?? 8090,
    publicUrl,
    cmdline: (base) => netCmdline(base, rootArgs, config.boot.cmdline),
    onFetch: (f) => console.log(fetchLine(f)),
  });
  if (server.netboot) console.error(`serving ${out} for network boot on ${bind}:${server.port}; machines fetch ${server.script}`);
  else console.error(`serving ${out} on ${bind}:${server.port}; no aios.iso, so no network boot (build with the iso format for it)`);
  if (server.update)
    console.error(
      `and as an update: machines whose update.url is ${server.base} fetch ${server.base}${UPDATE_PATHS.manifest} (build ${await buildOf(out)}), signed with the build's db key`,
    );
  if (!loopback)
    console.error(
      `note: ${NET_FILES.root} and ${UPDATE_PATHS.root} hold the image's /etc/aios/init.json and with it the project's tokens: serve them only on a network your own machines reach`,
    );
  if (loopback)
    console.error(
      `on loopback, QEMU guests of this host reach it: qemu-system-x86_64 -m 1024 -nographic -boot n -netdev user,id=n0,bootfile=${server.script} -device virtio-net-pci,netdev=n0`,
    );
  console.error('Ctrl-C stops it');
  // Until Ctrl-C or SIGTERM: aios's own signal handlers then remove the copied root and exit.
  await new Promise<void>(() => {});
  return 0;
}
