import type { ProjectConfig } from '../project/config.ts';
import { initSpec } from '../../common/init-spec.ts';
import { RUNTIME_DIR } from './cmake.ts';
import { optionNames } from './server-options.ts';

export const INFERENCE_SERVICE = 'inference';
export const MODELS_DIR = '/var/lib/aios/models';
export const SERVER_PATH = `${RUNTIME_DIR}/llama-server`;

type Runtime = ProjectConfig['runtime'];

/**
 * llama-server's command line in the image, from aios.json's `runtime` settings; `known` is what
 * this build's `--help` lists.
 */
export function serverArgs(rt: Runtime, modelPath: string, known: ReadonlySet<string>): string[] {
  // --fit loads the model twice, the first time to size it for device memory. With no GPU backend
  // it has nothing to size (the context size is always given), and the dry run cost 1.0 s of the
  // model's 3.4 s load under TCG.
  const fitOff = known.has('--fit') && rt.backends.every((b) => b === 'cpu') && !optionNames(rt.extraArgs).some((o) => o === '--fit' || o === '-fit');
  return [
    '--model',
    modelPath,
    '--host',
    rt.bind,
    '--port',
    String(rt.port),
    '--ctx-size',
    String(rt.contextSize),
    ...(rt.threads ? ['--threads', String(rt.threads)] : []),
    ...(fitOff ? ['--fit', 'off'] : []),
    ...rt.extraArgs,
  ];
}

/**
 * What llama-server keeps of root's capabilities: none, but for a port below 1024, `--mlock`
 * (CAP_IPC_LOCK) and a raised priority (`--prio`, `--prio-batch`: CAP_SYS_NICE). A server that
 * listens on the network has no use for the rest, and a hole in it then gets none of them.
 */
export function serverCapabilities(rt: Runtime): string[] {
  const opts = optionNames(rt.extraArgs);
  return [
    ...(rt.port < 1024 ? ['CAP_NET_BIND_SERVICE'] : []),
    ...(opts.includes('--mlock') ? ['CAP_IPC_LOCK'] : []),
    ...(opts.some((o) => o === '--prio' || o === '--prio-batch') ? ['CAP_SYS_NICE'] : []),
  ];
}

export interface ModelFacts {
  file: string;
  name: string;
  sha256: string;
}

/**
 * The image's init.json: the project's own (rootfs/etc/aios/init.json) plus the service
 * `inference` and what aios-init needs to watch it. A project that defines a service of that
 * name itself is told so, rather than one silently replacing the other.
 */
export function withInference(
  initJson: Record<string, unknown>,
  rt: Runtime,
  model: ModelFacts,
  where: string,
  serverOptions: ReadonlySet<string>,
): Record<string, unknown> {
  const services = Array.isArray(initJson.services) ? (initJson.services as Record<string, unknown>[]) : [];
  if (services.some((s) => s.name === INFERENCE_SERVICE))
    throw new Error(
      `${where}: services: the name "${INFERENCE_SERVICE}" is reserved for the runtime that aios.json's \`runtime\` configures; rename that service`,
    );
  const heavier = services.filter((s) => (typeof s.cpuWeight === 'number' ? s.cpuWeight : 100) >= rt.cpuWeight);
  if (heavier.length)
    throw new Error(
      `${where}: services ${heavier.map((s) => String(s.name)).join(', ')} have a cpuWeight of at least runtime.cpuWeight (${rt.cpuWeight}); the inference service must weigh more than every other service`,
    );
  const statusPort = typeof initJson.statusPort === 'number' ? initJson.statusPort : initSpec.statusPort.default;
  if (statusPort !== 0 && statusPort === rt.port)
    throw new Error(
      `${where}: statusPort ${statusPort} is also aios.json's runtime.port: aios-init's status endpoint and llama-server cannot both listen there; give one of them another port`,
    );
  const modelPath = `${MODELS_DIR}/${model.file}`;
  const host = rt.bind === '0.0.0.0' || rt.bind === '::' ? '127.0.0.1' : rt.bind;
  return {
    ...initJson,
    services: [
      ...services,
      {
        name: INFERENCE_SERVICE,
        command: SERVER_PATH,
        args: serverArgs(rt, modelPath, serverOptions),
        restart: 'always',
        cpuWeight: rt.cpuWeight,
        memoryMax: rt.memoryMax,
        cpuset: rt.cpuset,
        memoryLow: rt.memoryLow,
        nice: rt.nice,
        ioWeight: rt.ioWeight,
        capabilities: serverCapabilities(rt),
        // Its environment, not its arguments: /proc/<pid>/cmdline is every user's to read.
        ...(rt.apiKey ? { env: { LLAMA_API_KEY: rt.apiKey } } : {}),
      },
    ],
    inference: {
      service: INFERENCE_SERVICE,
      healthUrl: `http://${host}:${rt.port}/health`,
      model: modelPath,
      modelName: model.name,
      modelSha256: model.sha256,
    },
  };
}
