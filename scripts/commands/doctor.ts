import { HOST_TOOLS, doctorReport, missingTools } from '../doctor/tools.ts';

export class MissingToolsError extends Error {}

/** Stop before any work when a required host tool is missing, naming the apt-get line. `aios build` needs no QEMU. */
export async function requireTools(purpose: 'build' | 'boot'): Promise<void> {
  const missing = await missingTools(purpose === 'build' ? HOST_TOOLS.filter((t) => !t.bootOnly) : HOST_TOOLS.filter((t) => t.bootOnly));
  if (missing.some((t) => !t.optional)) throw new MissingToolsError(`host tools are missing:\n${doctorReport(missing)}`);
}

export async function doctorCommand(): Promise<number> {
  const missing = await missingTools();
  console.log(doctorReport(missing));
  return missing.some((t) => !t.optional) ? 1 : 0;
}
