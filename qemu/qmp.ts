import { connect } from 'node:net';

/** An asynchronous QMP event (SHUTDOWN, POWERDOWN, ...) with its data. */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
}

/**
 * Send one QMP command (after the capabilities handshake) to a QEMU's unix socket. With `onEvent`,
 * the connection stays open after the answer and every event QEMU sends until it exits is passed on.
 */
export function qmpCommand(socket: string, command: string, timeoutMs = 5000, onEvent?: (e: QmpEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let buf = '';
    let stage = 0;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`QMP ${command}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: { QMP?: unknown; return?: unknown; error?: { desc: string }; event?: unknown; data?: unknown };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          clearTimeout(timer);
          s.destroy();
          return reject(new Error(`QMP ${command}: QEMU sent a line that is not JSON: ${JSON.stringify(line.slice(0, 200))}`));
        }
        if (typeof msg.event === 'string') {
          onEvent?.({ event: msg.event, ...(typeof msg.data === 'object' && msg.data !== null ? { data: msg.data as Record<string, unknown> } : {}) });
          continue;
        }
        if (msg.error) {
          clearTimeout(timer);
          s.destroy();
          return reject(new Error(`QMP ${command}: ${msg.error.desc}`));
        }
        if (stage === 0 && msg.QMP) {
          stage = 1;
          s.write('{"execute":"qmp_capabilities"}\n');
        } else if (stage === 1 && 'return' in msg) {
          stage = 2;
          s.write(`{"execute":"${command}"}\n`);
        } else if (stage === 2 && 'return' in msg) {
          clearTimeout(timer);
          stage = 3;
          if (!onEvent) s.end();
          resolve();
        }
      }
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      // After the answer, the end of the connection is QEMU's exit: nothing to report.
      if (stage === 3) return;
      reject(new Error(`QMP ${command}: ${err.message}`));
    });
  });
}
