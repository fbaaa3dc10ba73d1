import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import { withTempPath } from '../lib/atomic.ts';
import { rename } from 'node:fs/promises';
import { ImageError } from './container.ts';

/** Where dockerode will look for the engine: DOCKER_HOST, else the default socket. */
export function engineAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

export const START_ENGINE_HINT = 'start it with `dockerd > /var/log/dockerd.log 2>&1 &` (Debian package docker.io; `aios doctor` checks it)';

/**
 * dockerode, loaded only when an engine is asked for: loading it (and ssh2 under it) cost every
 * aios command, a no-op build included, about 0.2-0.3 s.
 */
export async function newDocker(): Promise<Docker> {
  const { default: D } = await import('dockerode');
  return new D();
}

async function engine(where: string): Promise<Docker> {
  const docker = await newDocker();
  try {
    await docker.ping();
  } catch (err) {
    throw new ImageError(
      `${where}: the Docker engine is not running at ${engineAddress()} (${(err as Error).message}); ${START_ENGINE_HINT}, or give a \`docker save\` tarball in \`tarball\` instead`,
    );
  }
  return docker;
}

/** The image's ID in the engine (the cache key), without exporting anything. */
export async function engineImageId(ref: string, where: string): Promise<string> {
  const docker = await engine(where);
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404)
      throw new ImageError(
        `${where}: image ${ref} is not in the Docker engine at ${engineAddress()}; build, import or load it first (\`docker images\` lists what is there)`,
      );
    throw new ImageError(`${where}: the Docker engine could not inspect ${ref}: ${(err as Error).message}`);
  }
}

/** `docker save` of one image through the engine's API, written whole or not at all. */
export async function exportImage(ref: string, file: string, where: string): Promise<void> {
  const docker = await engine(where);
  await withTempPath(file, async (tmp) => {
    await pipeline(await docker.getImage(ref).get(), createWriteStream(tmp));
    await rename(tmp, file);
  });
}
