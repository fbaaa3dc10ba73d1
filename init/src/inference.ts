import type { InferenceInfo, ServiceInfo } from '../../common/boot-report.ts';
import type { InitConfig } from './config.ts';
import { now } from './clock.ts';

/**
 * One GET of the health URL: the HTTP status, or 0 when nothing answered in time. node:http is
 * loaded at the first call, which comes after the boot report: loading it with the rest of
 * aios-init cost the start some 40 ms under TCG.
 */
export async function httpStatus(url: string, timeoutMs: number): Promise<number> {
  const { request } = await import('node:http');
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

export interface ServiceView {
  info(name: string): ServiceInfo | undefined;
  /** When the service's current process started (clock.ts now()). */
  startedAt(name: string): number | undefined;
  restart(name: string, why: string): void;
}

/** The next state of the server from one health reading: a pure function, for the tests. */
export function nextState(
  prev: InferenceInfo,
  svc: ServiceInfo | undefined,
  status: number,
  elapsedMs: number | undefined,
  failures: number,
  limit: number,
): { info: InferenceInfo; failures: number; restart?: string } {
  const info = { ...prev };
  if (!svc) return { info: { ...info, state: 'failed', reason: `no service named ${prev.service}` }, failures };
  if (svc.state === 'failed' && svc.reason) return { info: { ...info, state: 'failed', reason: svc.reason, loadMs: null }, failures: 0 };
  if (svc.state !== 'running')
    return { info: { ...info, state: 'loading', reason: `service ${svc.state}${svc.lastExit ? ` (last ${svc.lastExit})` : ''}`, loadMs: null }, failures: 0 };
  if (status === 200) {
    const loadMs = prev.state === 'ready' && prev.loadMs !== null ? prev.loadMs : elapsedMs !== undefined ? Math.round(elapsedMs) : null;
    const { reason: _drop, ...rest } = info;
    return { info: { ...rest, state: 'ready', loadMs }, failures: 0 };
  }
  if (prev.state !== 'ready')
    return { info: { ...info, state: 'loading', reason: status ? `health answers HTTP ${status}` : 'health does not answer yet' }, failures: 0 };
  const n = failures + 1;
  const why = status ? `HTTP ${status}` : 'no answer';
  if (n >= limit)
    return {
      info: {
        ...info,
        state: 'failed',
        reason: `health check failed ${n} times in a row (${why}): restarting`,
        loadMs: null,
        restartsForHealth: info.restartsForHealth + 1,
      },
      failures: 0,
      restart: `${n} failed health checks (${why})`,
    };
  return { info: { ...info, reason: `health check failed (${why})` }, failures: n };
}

/** Watches the model server: loading until /health answers 200, then checked every few seconds. */
export class InferenceWatch {
  private state: InferenceInfo;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  constructor(
    private readonly cfg: InitConfig['inference'],
    private readonly services: ServiceView,
    private readonly log: (m: string) => void,
  ) {
    this.state = {
      service: cfg.service,
      state: 'loading',
      model: cfg.model,
      modelName: cfg.modelName,
      modelSha256: cfg.modelSha256,
      loadMs: null,
      healthUrl: cfg.healthUrl,
      restartsForHealth: 0,
    };
  }

  info(): InferenceInfo {
    return { ...this.state };
  }

  start(): void {
    const tick = async () => {
      const svc = this.services.info(this.cfg.service);
      const status = svc?.state === 'running' ? await httpStatus(this.cfg.healthUrl, 2000) : 0;
      const started = this.services.startedAt(this.cfg.service);
      const r = nextState(this.state, svc, status, started === undefined ? undefined : now() - started, this.failures, this.cfg.unhealthyRestarts);
      if (r.info.state !== this.state.state)
        this.log(
          `inference: ${r.info.state}${r.info.state === 'ready' ? ` (${this.cfg.modelName}, loaded in ${r.info.loadMs} ms)` : r.info.reason ? ` (${r.info.reason})` : ''}`,
        );
      this.state = r.info;
      this.failures = r.failures;
      if (r.restart) this.services.restart(this.cfg.service, r.restart);
      this.timer = setTimeout(() => void tick(), this.state.state === 'ready' ? 5000 : 200);
    };
    void tick();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
