import { run } from '../../common/exec.ts';
import { pickUpstream } from './pins.ts';

/**
 * The Debian version of `pkg` whose upstream version is the driver's (`apt-cache madison` in the
 * repository `aptOptions` names), and every version Debian has, for the caller's error: the GSP
 * firmware and the user space must both be of exactly the modules' release.
 */
export async function driverVersionOf(aptOptions: string[], pkg: string, upstream: string): Promise<{ version?: string; versions: string[] }> {
  const { stdout } = await run('apt-cache', [...aptOptions, 'madison', pkg]);
  const versions = stdout
    .split('\n')
    .map((l) => l.split('|')[1]?.trim() ?? '')
    .filter(Boolean);
  return { version: pickUpstream(versions, upstream), versions };
}
