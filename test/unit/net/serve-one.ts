import { createServer } from 'node:http';

/** A server on 127.0.0.1 that answers `path` with `body` and everything else with 404, recording each request. */
export async function serveOne(path: string, body: Buffer): Promise<{ origin: string; hits: string[]; close: () => void }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url !== path) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`, hits, close: () => server.close() };
}
