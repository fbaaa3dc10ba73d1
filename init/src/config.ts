import { readFileSync } from 'node:fs';
import { defaults, type ConfigError } from '../../common/schema.ts';
import { initSpec, parseInitConfig, type InitConfig } from '../../common/init-spec.ts';

export { initSpec, SERVICE_NAME, type InitConfig } from '../../common/init-spec.ts';

/** A service of aios-init's own (DHCP, the console shell): init.json's defaults plus what differs. */
export function ownService(
  s: Pick<InitConfig['services'][number], 'name' | 'command' | 'args'> & Partial<InitConfig['services'][number]>,
): InitConfig['services'][number] {
  // aios-init's own (DHCP, the check's probe, the console shell) act for it: root, with the
  // capabilities each names.
  return { ...defaults(initSpec.services.item), user: 'root', ...s };
}

export function loadInitConfig(path: string): { config: InitConfig; errors: ConfigError[] } {
  let text: string | null;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = null;
  }
  return parseInitConfig(text, path);
}
