import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One step of the build as build.json records it. */
export interface StepRecord {
  name: string;
  seconds: number;
  cpuSeconds: number;
  cacheHit: boolean;
  key?: string;
  /** Wall time of the run that made the cached output (this run's, on a miss). */
  producedSeconds?: number;
}

export interface GpuModulesRecord {
  driver: string;
  from: string;
  firmwarePackage: string;
  modules: { path: string; name: string; version: string; vermagic: string; depends: string[]; bytes: number }[];
  firmware: { path: string; bytes: number }[];
}

/**
 * build.json: what `aios build` made and from what. Written once by the build (commands/build.ts),
 * read by `aios run`, `aios check`, `aios clean` and the bench through this type.
 */
export interface BuildJson {
  kernel?: {
    version: string;
    requestedVersion: string;
    fellBack: boolean;
    origin: string;
    from: string;
    sha256: string;
    release?: string;
    bzImageBytes?: number;
    sizeBudgetBytes: number;
    debug: boolean;
    trace: boolean;
    gdbScripts?: string;
  };
  init?: { node: { origin: string; from: string; version: string; supportEnds: string | null }; bytes: number };
  /** The image's status endpoint as its init.json sets it (port 0: none); whether a token is set, never the token. */
  status?: { port: number; bind: string; token: boolean };
  inference?: {
    port: number;
    model: { name: string; file: string; sha256: string; bytes: number; architecture: string; from: string };
    expect: string;
    runtime?: { commit?: string; from: string; files: string[]; hostLibraries: string[]; backends: string[] };
  };
  project: {
    dir: string;
    config: string;
    packages: { name: string; version: string; sha256: string }[];
    images: { ref: string; tarball: string; id: string; tags: string[]; path: string }[];
    overlay: string[];
    hooks: { postinst: string; postinstInputs: string[]; finalize: string };
    maintainerScriptsRun: false;
  };
  gpu: { nvidia: string; modules?: GpuModulesRecord };
  formats: string[];
  sourceDateEpoch: number;
  steps: StepRecord[];
  warnings: string[];
  tools: Record<string, string>;
  hostToolsChecked: number;
}

/** build.json of the build in `out`; a missing or unreadable one is an error that says how to make it. */
export async function readBuildJson(out: string): Promise<BuildJson> {
  const file = join(out, 'build.json');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new Error(`${file} does not exist: run \`aios build --out ${out}\` first`);
  });
  try {
    return JSON.parse(text) as BuildJson;
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}): run \`aios build --out ${out}\` again`);
  }
}
