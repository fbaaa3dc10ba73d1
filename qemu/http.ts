import { request as httpRequest } from 'node:http';

/**
 * One HTTP request on a connection of its own (no keep-alive pool: a connection the server has
 * closed must never be reused and read as a failure of the server). `onData` sees the body as it
 * streams in.
 */
export function request(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs: number; onData?: (text: string) => void; socketPath?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: o.method ?? 'GET',
        headers: { ...o.headers, Connection: 'close' },
        agent: false,
        timeout: o.timeoutMs,
        ...(o.socketPath ? { socketPath: o.socketPath } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
          o.onData?.(body);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${o.timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end(o.body);
  });
}
