import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { BootReport } from '../../common/boot-report.ts';

// Loaded after the boot report (a dynamic import): node:http and its dependencies are not on the
// way from exec to ready.

export interface StatusOptions {
  port: number;
  /** 0.0.0.0 by default: the host reaches it through QEMU's user network (10.0.2.15), a fleet over the LAN. */
  bind?: string;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string;
}

/**
 * Few and small: a flood of requests must not starve PID 1's own loop (reaping, supervision,
 * shutdown). Connections past the limit are dropped at accept, and the report, which reads /proc
 * and /sys, is built at most once per `reportMaxAgeMs` however many ask for it.
 */
export const STATUS_LIMITS = {
  maxConnections: 8,
  headersTimeoutMs: 5000,
  requestTimeoutMs: 5000,
  connectionMaxMs: 5000,
  maxHeaderSize: 8192,
  reportMaxAgeMs: 250,
};

/** `build()` again only when the last result is older than `maxAgeMs`. */
export function memoize<T>(build: () => T, maxAgeMs: number, now: () => number = () => performance.now()): () => T {
  let at = -Infinity;
  let value: T;
  return () => {
    if (now() - at >= maxAgeMs) {
      value = build();
      at = now();
    }
    return value;
  };
}

/**
 * Whether an Authorization header carries `Bearer <token>`. Compared in constant time over SHA-256
 * digests, so that neither the time an answer takes nor its length tells a guesser how much of the
 * token was right; the token's own digest is made once.
 */
export function bearerMatcher(token: string): (header: string | undefined) => boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const expected = digest(`Bearer ${token}`);
  return (header) => timingSafeEqual(digest(header ?? ''), expected);
}

/** The read-only status endpoint: GET /status (or /) answers the current report as JSON. */
export function serveStatus(o: StatusOptions, current: () => BootReport, log: (m: string) => void): Server {
  const body = memoize(() => JSON.stringify(current()), STATUS_LIMITS.reportMaxAgeMs);
  const authorized = o.token ? bearerMatcher(o.token) : () => true;
  const server = createServer(
    { maxHeaderSize: STATUS_LIMITS.maxHeaderSize, requestTimeout: STATUS_LIMITS.requestTimeoutMs, headersTimeout: STATUS_LIMITS.headersTimeoutMs },
    (req, res) => {
      try {
        if (!authorized(req.headers.authorization)) {
          res.writeHead(401, { 'WWW-Authenticate': 'Bearer', 'Content-Type': 'text/plain' }).end('a bearer token is required\n');
          return;
        }
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain', Connection: 'close' }).end('method not allowed\n');
          return;
        }
        const path = (req.url ?? '/').split('?')[0];
        if (path !== '/' && path !== '/status') {
          res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try GET /status\n');
          return;
        }
        const json = body();
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) }).end(req.method === 'HEAD' ? undefined : json);
      } catch (err) {
        res.writeHead(500).end();
        log(`status endpoint: ${(err as Error).message}`);
      }
    },
  );
  server.maxConnections = STATUS_LIMITS.maxConnections;
  // Node checks its header and request timeouts only every connectionsCheckingInterval (30 s), and
  // a client that sends a byte now and then is never idle: each connection gets a deadline of its
  // own, so that eight idle or slow ones cannot hold every slot for longer than that.
  server.on('connection', (socket) => {
    const deadline = setTimeout(() => socket.destroy(), STATUS_LIMITS.connectionMaxMs);
    deadline.unref();
    socket.once('close', () => clearTimeout(deadline));
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  server.on('error', (err) => log(`status endpoint on ${o.bind ?? '0.0.0.0'}:${o.port}: ${err.message}`));
  server.listen(o.port, o.bind ?? '0.0.0.0');
  return server;
}
