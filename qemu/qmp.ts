import { connect } from 'node:net';

/** Send one QMP command (after the capabilities handshake) to a QEMU's unix socket. */
export function qmpCommand(socket: string, command: string, timeoutMs = 5000): Promise<void> {
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
        let msg: { QMP?: unknown; return?: unknown; error?: { desc: string } };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          clearTimeout(timer);
          s.destroy();
          return reject(new Error(`QMP ${command}: QEMU sent a line that is not JSON: ${JSON.stringify(line.slice(0, 200))}`));
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
          s.end();
          resolve();
        }
      }
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`QMP ${command}: ${err.message}`));
    });
  });
}
