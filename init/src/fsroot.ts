import { join } from 'node:path';

/** Paths of the running system, under a root that tests point at a fixture tree. */
export class FsRoot {
  constructor(readonly root = '/') {}
  p(path: string): string {
    return this.root === '/' ? path : join(this.root, path);
  }
}
