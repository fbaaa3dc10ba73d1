import { initSpec, parseInitConfig, type InitConfig } from '../../common/init-spec.ts';
import { isLoopback, type Tokens } from '../project/tokens.ts';
import { formatErrors } from '../../common/schema.ts';
import type { ProjectConfig } from '../project/config.ts';
import { withInference, type ModelFacts } from '../runtime/inference-service.ts';

/**
 * `extra` appended to the list under `key` in init.json; an entry whose identity (`id`) is already
 * there is an error of the build, worded by `clash`, rather than one aios-init reports at boot.
 */
function appendUnique<T>(
  initJson: Record<string, unknown>,
  key: string,
  extra: readonly T[],
  id: (x: T) => string,
  clash: (id: string) => string,
): Record<string, unknown> {
  if (!extra.length) return initJson;
  const base = Array.isArray(initJson[key]) ? (initJson[key] as T[]) : [];
  const seen = new Set(base.map(id));
  for (const x of extra) {
    if (seen.has(id(x))) throw new Error(clash(id(x)));
    seen.add(id(x));
  }
  return { ...initJson, [key]: [...base, ...extra] };
}

/** The image's init.json with the project's services appended (aios.json `services`, and those made from container images); a name given twice is an error. */
export const withServices = (initJson: Record<string, unknown>, extra: readonly { name: string }[], where: string): Record<string, unknown> =>
  appendUnique(
    initJson,
    'services',
    extra,
    (s) => String(s.name),
    (name) => `${where}: services: "${name}" is defined twice (aiOS's init.json, aios.json's services or an image's service); rename one`,
  );

/** The image's init.json with aios.json's ioCost appended; a disk given twice is an error. */
export const withIoCost = (
  initJson: Record<string, unknown>,
  extra: readonly (Partial<InitConfig['ioCost'][number]> & { disk: string })[],
  where: string,
): Record<string, unknown> =>
  appendUnique(
    initJson,
    'ioCost',
    extra,
    (c) => String(c.disk),
    (disk) => `${where}: ioCost: disk "${disk}" has an entry in both aiOS's init.json and aios.json's ioCost; keep one`,
  );

/**
 * The image's init.json read as aios-init will read it at boot. aios-init drops what it refuses and
 * boots on; the build fails instead, so that a mistake is seen before an image is written.
 */
export function assertInitJsonAccepted(text: string, where: string): InitConfig {
  const { config, errors } = parseInitConfig(text, where);
  if (errors.length)
    throw new Error(
      `the image's init.json (aiOS's rootfs/, the project's overlays, aios.json's services and images) would be refused at boot:\n${formatErrors(errors)}`,
    );
  return config;
}

/** The image's status endpoint as its init.json sets it, for build.json: `aios run` forwards to this port. */
export function statusOf(initJson: InitConfig): { port: number; bind: string; token: boolean } {
  return { port: initJson.statusPort, bind: initJson.statusBind, token: initJson.statusToken !== '' };
}

/**
 * Every service with a user: one that names none runs as its own system user, named after it
 * (stage-rootfs adds it to /etc/passwd). A service named root must say so: that default would
 * run it as root.
 */
export function withServiceUsers(initJson: Record<string, unknown>, where: string): Record<string, unknown> {
  const services = Array.isArray(initJson.services) ? (initJson.services as Record<string, unknown>[]) : [];
  return {
    ...initJson,
    services: services.map((s) => {
      if (typeof s.user === 'string' && s.user) return s;
      if (s.name === 'root') throw new Error(`${where}: services: "root" names no user, and its own would be root; set its user ("root" if it must)`);
      return { ...s, user: s.name };
    }),
  };
}

/** The services of an assembled init.json that run as root: build.json lists them. */
export const rootServices = (c: InitConfig): string[] => c.services.filter((s) => /^(root|0(:\d+)?)$/.test(s.user)).map((s) => s.name);

/** The users of an assembled init.json that stage-rootfs must find or make in /etc/passwd (names, not numbers, not root). */
export const namedServiceUsers = (c: InitConfig): string[] => [...new Set(c.services.map((s) => s.user).filter((u) => u && u !== 'root' && !/^\d/.test(u)))];

/**
 * The image's init.json, assembled in this one place: the base (aiOS's rootfs/ or a project's
 * overlay), the project's services and ioCost appended, the inference service added, each
 * service given its user, then read as aios-init will read it. Returns the text to write and the parsed InitConfig.
 */
export function assembleInitJson(o: {
  base: Record<string, unknown>;
  services: readonly { name: string }[];
  ioCost: ProjectConfig['ioCost'];
  runtime: ProjectConfig['runtime'];
  model: ModelFacts;
  serverOptions: ReadonlySet<string>;
  /** aios.json's update settings (all but slotMiB, which is the build's). */
  update: Omit<ProjectConfig['update'], 'slotMiB'>;
  /** aios.json, for errors of its services and ioCost. */
  configFile: string;
  /** The base's file, for errors of its own services. */
  baseFile: string;
}): { text: string; config: InitConfig } {
  const { url, reboot, intervalSeconds, tries, trialSeconds } = o.update;
  const update = { url: url.replace(/\/$/, ''), reboot, intervalSeconds, tries, trialSeconds };
  const withProject = { ...withIoCost(withServices(o.base, o.services, o.configFile), o.ioCost, o.configFile), update };
  const text = JSON.stringify(withServiceUsers(withInference(withProject, o.runtime, o.model, o.baseFile, o.serverOptions), o.configFile), null, 2) + '\n';
  return { text, config: assertInitJsonAccepted(text, '/etc/aios/init.json') };
}

/** Whether init.json carries a secret: the status endpoint's token, or an API key in a service's arguments or environment. */
export function holdsSecrets(j: Record<string, unknown>): boolean {
  const services = (j.services as { args?: unknown[]; env?: Record<string, unknown> }[] | undefined) ?? [];
  return Boolean(j.statusToken) || services.some((s) => (s.args ?? []).some((a) => a === '--api-key') || Boolean(s.env?.LLAMA_API_KEY));
}

/**
 * init.json's base and aios.json's runtime with the project's tokens where `auth` asks for one
 * and the project set none itself: the status endpoint's (unless it is off or bound to loopback)
 * and llama-server's (unless it binds to loopback).
 */
export function withTokens(
  base: Record<string, unknown>,
  rt: ProjectConfig['runtime'],
  auth: ProjectConfig['auth'],
  tokens: Tokens | undefined,
): { base: Record<string, unknown>; runtime: ProjectConfig['runtime'] } {
  const status = statusNeedsToken(base, auth);
  const inference = inferenceNeedsToken(rt, auth);
  if ((status || inference) && !tokens) throw new Error('the project has no tokens (.aios/tokens.json) for the services that need one');
  return {
    base: status ? { ...base, statusToken: tokens!.status } : base,
    runtime: inference ? { ...rt, apiKey: tokens!.inference } : rt,
  };
}

/** Whether the status endpoint takes the project's token: asked for, on, not loopback, no token of its own. */
export function statusNeedsToken(base: Record<string, unknown>, auth: ProjectConfig['auth']): boolean {
  const bind = typeof base.statusBind === 'string' ? base.statusBind : initSpec.statusBind.default;
  const port = typeof base.statusPort === 'number' ? base.statusPort : initSpec.statusPort.default;
  return auth.status === 'token' && !base.statusToken && port !== 0 && !isLoopback(bind);
}

/** Whether llama-server takes the project's token: asked for, not loopback, no runtime.apiKey. */
export const inferenceNeedsToken = (rt: ProjectConfig['runtime'], auth: ProjectConfig['auth']): boolean =>
  auth.inference === 'token' && !rt.apiKey && !isLoopback(rt.bind);
