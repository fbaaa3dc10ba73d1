import type { NpmPin } from '../net/npm-tarball.ts';

/**
 * The llama.cpp tree aiOS builds by default: the git bundle that the npm package node-llama-cpp
 * ships (llama/gitRelease.bundle), verified by the registry's integrity hash of the package and
 * by the commit the bundle must hold.
 */
export interface NpmLlamaPin extends NpmPin {
  /** Path of the git bundle inside the package tarball. */
  bundle: string;
  /** The llama.cpp commit the bundle's HEAD must be. */
  commit: string;
}

export const NODE_LLAMA_CPP: NpmLlamaPin = {
  pkg: 'node-llama-cpp',
  version: '3.22.1',
  integrity: 'sha512-bltIipuWmc123H7tMIgDGKSsSrhmhlQYeVUC48XTjVW7XGJJiJJyCdlTMzQ/LiWoPkGDpcL4FviDpgw7qfTiDw==',
  bundle: 'package/llama/gitRelease.bundle',
  commit: 'de3ff815ea7d559ee917f063901b8986f038abc6',
};
