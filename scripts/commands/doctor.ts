import { HOST_TOOLS, doctorReport, missingTools } from '../host/tools.ts';
import { START_ENGINE_HINT, engineAddress, newDocker } from '../project/docker-engine.ts';
import { cudaToolsReport } from '../runtime/cuda-tools.ts';

/** The Docker engine is needed only for aios.json `images` given by ref: a line, never a failure. */
async function engineReport(): Promise<string> {
  try {
    const v = await (await newDocker()).version();
    return `Docker engine ${v.Version} at ${engineAddress()} (for \`images\` given by ref)`;
  } catch (err) {
    return `Docker engine: not reachable at ${engineAddress()} (${(err as Error).message}); needed only for \`images\` given by ref: ${START_ENGINE_HINT}`;
  }
}

export class MissingToolsError extends Error {}

/** Stop before any work when a required host tool is missing, naming the apt-get line. `aios build` needs no QEMU. */
export async function requireTools(purpose: 'build' | 'boot'): Promise<void> {
  const missing = await missingTools(purpose === 'build' ? HOST_TOOLS.filter((t) => !t.bootOnly) : HOST_TOOLS.filter((t) => t.bootOnly));
  if (missing.some((t) => !t.optional)) throw new MissingToolsError(`host tools are missing:\n${doctorReport(missing)}`);
}

export async function doctorCommand(): Promise<number> {
  const missing = await missingTools();
  console.log(doctorReport(missing));
  console.log(await engineReport());
  console.log(await cudaToolsReport());
  return missing.some((t) => !t.optional) ? 1 : 0;
}
