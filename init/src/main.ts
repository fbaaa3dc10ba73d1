import type { Server } from 'node:http';
import { formatReportLine } from '../../common/boot-report.ts';
import { writeAll } from './log.ts';
import { boot } from './boot.ts';
import { reportNow } from './report.ts';
import { Shutdown } from './shutdown.ts';
import { readyMoment } from './status.ts';
import { notPid1 } from './pid1.ts';
import { now, onTimeOrigin, startupFigures } from './clock.ts';
import { runSlots } from './fleet.ts';

// Read once every module of the bundle has been evaluated: what Node and loading our own code cost.
const loadedAt = now();

/** aios-init: PID 1. The boot, its report, then the status endpoint; power requests shut it down. */
export async function run(): Promise<void> {
  const b = await boot();
  const { log, config, power, inference } = b;
  // The machine is ready now, and its first report says so; the figures that need perf_hooks are read after this moment.
  const ready = readyMoment(b.fs);
  b.supervisor.ready();
  const startup = startupFigures(loadedAt);
  const slots = await b.slots;
  const current = reportNow(b, ready, startup, slots?.report);
  let status: Server | undefined;
  const shutdown = new Shutdown(b, () => {
    status?.close();
    status?.closeAllConnections();
  });
  const line = formatReportLine(current());
  const built = now() - ready.at;
  log.raw(line);
  if (b.checkChannel !== undefined) writeAll(b.checkChannel, `${line}\n`);
  log.info(`boot report made in ${Math.round(built)} ms, written to the console in ${Math.round(now() - ready.at - built)} ms`);
  log.info(
    `started: V8 at ${startup.v8StartMs} ms, Node bootstrapped at ${startup.nodeBootstrapMs} ms, aios-init loaded at ${startup.mainMs} ms, ready at ${Math.round(onTimeOrigin(ready.at))} ms`,
  );
  power.ready((how, why) => void shutdown.run(how, why));
  // The first health request loads Node's HTTP client (some 90 ms under TCG); llama-server needs
  // seconds to load its model, so the watch starts once the machine is ready.
  if (!shutdown.started) inference?.start();
  if (slots && !shutdown.started) runSlots(b, slots);
  if (config.statusPort && !shutdown.started) {
    const { serveStatus } = await import('./status-server.ts');
    status = serveStatus({ port: config.statusPort, bind: config.statusBind, token: config.statusToken }, current, (m) => log.warn(m));
  }
}

const refused = notPid1(process.pid);
if (refused) {
  writeAll(2, refused);
  process.exitCode = 2;
} else
  run().catch((err: Error) => {
    // Never exit: PID 1 exiting panics the kernel. Say what happened and keep the loop alive.
    writeAll(1, `aios-init: fatal during boot: ${err.stack ?? err.message}\n`);
    setInterval(() => {}, 1 << 30);
  });
