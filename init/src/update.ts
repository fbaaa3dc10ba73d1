// Updates pulled by the machine: update.json from `aios serve`, checked against the certificate
// the image carries, the other slot written and checked, its UKI and then its entry (with the
// tries counter) put on the ESP, in that order, so that a power cut at any point leaves a machine
// that boots the slot it booted before.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { SlotReport } from '../../common/boot-report.ts';
import {
  ENTRIES_DIR,
  entryFileName,
  entryText,
  otherSlot,
  parseManifest,
  slotPartName,
  ukiOnEsp,
  UPDATE_PATHS,
  type Slot,
  type UpdateManifest,
} from '../../common/slots.ts';
import type { InitConfig } from './config.ts';
import { readEntries } from './ab.ts';
import { partitionBytes, partitionNode, type Esp } from './esp.ts';
import type { FsRoot } from './fsroot.ts';

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/** A GET of `url`: the response, or an error naming the URL (a status other than 200 too). */
async function get(url: string, timeoutMs: number): Promise<IncomingMessage> {
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      if (res.statusCode === 200) return resolve(res);
      res.resume();
      reject(new Error(`${url}: HTTP ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in ${timeoutMs / 1000} s`)));
    req.on('error', (err) => reject(new Error(`${url}: ${err.message}`)));
  });
}

/** A small file whole, refused past `max` bytes. */
async function getSmall(url: string, max: number): Promise<Buffer> {
  const res = await get(url, 10_000);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      res.destroy();
      throw new Error(`${url}: larger than ${max} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Whether `sig` is the signature of `data` by the key of the PEM certificate `cert`. */
export function signedBy(data: Buffer, sig: Buffer, cert: string): boolean {
  try {
    return verify('sha256', data, createPublicKey(cert), sig);
  } catch {
    return false;
  }
}

/** What to do with a manifest, given the slots: a pure function, for the tests. */
export function decide(
  m: UpdateManifest,
  s: SlotReport,
): { write: false; why: string; state: SlotReport['update']['state'] } | { write: true; slot: Slot; version: number } {
  if (m.build === s.build) return { write: false, why: `build ${m.build} is the one running`, state: 'current' };
  if (s.trial) return { write: false, why: `slot ${s.slot} is on trial: no update until it is marked good`, state: 'waiting' };
  if (s.other.state === 'abandoned' && s.other.build === m.build)
    return { write: false, why: `build ${m.build} was given up on this machine (${s.other.why}); waiting for another`, state: 'refused' };
  if (s.other.build === m.build && s.other.state === 'trial')
    return { write: false, why: `build ${m.build} is already in slot ${s.other.slot}, on trial`, state: 'written' };
  return { write: true, slot: otherSlot(s.slot), version: Math.max(s.version ?? 0, s.other.version ?? 0) + 1 };
}

export interface UpdaterDeps {
  config: InitConfig['update'];
  fs: FsRoot;
  esp: Pick<Esp, 'list' | 'read' | 'remove' | 'put'>;
  report: SlotReport;
  cert: string;
  log: (m: string) => void;
  sync: () => void;
  reboot: (why: string) => void;
}

/** The update loop of a machine booted from a slot: a look at start and every intervalSeconds. */
export class Updater {
  private busy = false;
  private staged?: string;
  constructor(private readonly d: UpdaterDeps) {}

  start(): void {
    if (!this.d.config.url) return;
    const look = () => void this.check();
    look();
    setInterval(look, this.d.config.intervalSeconds * 1000).unref?.();
    if (this.d.config.reboot === 'signal')
      process.on('SIGHUP', () => (this.staged ? this.d.reboot(`SIGHUP: ${this.staged}`) : this.d.log('update: SIGHUP, but no update is written yet')));
  }

  private set(state: SlotReport['update']['state'], detail: string, build?: string): void {
    this.d.report.update = { url: this.d.config.url, state, detail, ...(build ? { build } : {}) };
    this.d.log(`update: ${detail}`);
  }

  async check(): Promise<void> {
    if (this.busy || this.staged) return;
    this.busy = true;
    const base = this.d.config.url.replace(/\/$/, '');
    try {
      const text = await getSmall(base + UPDATE_PATHS.manifest, 64 * 1024);
      const sig = await getSmall(base + UPDATE_PATHS.signature, 16 * 1024);
      if (!signedBy(text, sig, this.d.cert))
        return this.set('refused', `${base}${UPDATE_PATHS.manifest} is not signed by the key of /etc/aios/update.crt: not installed`);
      const m = parseManifest(text.toString('utf8'), sha256);
      if (typeof m === 'string') return this.set('refused', `${base}${UPDATE_PATHS.manifest}: ${m}`);
      const next = decide(m, this.d.report);
      if (!next.write) {
        if (this.d.report.update.detail !== next.why) this.set(next.state, next.why, m.build);
        return;
      }
      await this.install(base, m, next.slot, next.version);
    } catch (err) {
      this.set('failed', (err as Error).message);
    } finally {
      this.busy = false;
    }
  }

  private async install(base: string, m: UpdateManifest, slot: Slot, version: number): Promise<void> {
    const part = partitionNode(this.d.fs, slotPartName(slot));
    if (!part) return this.set('failed', `no partition named ${slotPartName(slot)} on this machine`);
    const room = partitionBytes(this.d.fs, part);
    if (m.root.bytes > room)
      return this.set(
        'refused',
        `build ${m.build}'s root (${m.root.bytes} bytes) does not fit slot ${slot} (${room} bytes; update.slotMiB of the first image)`,
      );
    // First the slot's old entry and UKI go: from here until its new entry is written, slot `slot` cannot boot.
    for (const e of await readEntries(this.d.esp)) if (e.name.slot === slot) await this.d.esp.remove(`${ENTRIES_DIR}/${e.file}`);
    await this.d.esp.remove(ukiOnEsp(slot)).catch(() => undefined);
    this.d.sync();
    this.d.report.other = { slot, state: 'empty', build: null, version: null };
    this.set('writing', `writing build ${m.build} into slot ${slot} (${part}, ${m.root.bytes} bytes)`, m.build);
    await writeSlot(base + UPDATE_PATHS.root, this.d.fs.p(part), m.root);
    const uki = await getSmall(base + UPDATE_PATHS.uki(slot), 256 << 20);
    if (uki.length !== m.uki[slot].bytes || sha256(uki) !== m.uki[slot].sha256)
      return this.set(
        'refused',
        `${base}${UPDATE_PATHS.uki(slot)} is not the UKI update.json names (sha256 ${sha256(uki)}): slot ${slot} left without an entry`,
      );
    const tmp = this.d.fs.p('/run/aios/update');
    await writeFile(`${tmp}.efi`, uki);
    await this.d.esp.put(`${tmp}.efi`, ukiOnEsp(slot));
    await rm(`${tmp}.efi`);
    // Last, the entry with its counter: systemd-boot tries the new slot at the next boot.
    const name = entryFileName({ slot, tries: { left: this.d.config.tries, done: 0 } });
    await writeFile(`${tmp}.conf`, entryText({ slot, build: m.build, version }));
    await this.d.esp.put(`${tmp}.conf`, `${ENTRIES_DIR}/${name}`);
    await rm(`${tmp}.conf`);
    this.d.sync();
    this.d.report.other = { slot, state: 'trial', build: m.build, version };
    this.staged = `build ${m.build} in slot ${slot}`;
    const when = { now: 'rebooting into it now', signal: 'it boots on SIGHUP (kill -HUP 1) or the next reboot', never: 'it boots at the next reboot' }[
      this.d.config.reboot
    ];
    this.set('written', `build ${m.build} written into slot ${slot} and its entry ${name} made (${this.d.config.tries} tries); ${when}`, m.build);
    if (this.d.config.reboot === 'now') this.d.reboot(`update to ${this.staged}`);
  }
}

/** Stream the slot's content into its partition, checking its length and sha256 before it counts. */
async function writeSlot(url: string, part: string, want: UpdateManifest['root']): Promise<void> {
  const res = await get(url, 30_000);
  const length = Number(res.headers['content-length']);
  if (length !== want.bytes) {
    res.destroy();
    throw new Error(`${url}: ${res.headers['content-length'] ?? 'no'} Content-Length, update.json says ${want.bytes} bytes`);
  }
  const hash = createHash('sha256');
  const fh = await open(part, 'r+');
  let at = 0;
  try {
    for await (const c of res as AsyncIterable<Buffer>) {
      if (at + c.length > want.bytes) throw new Error(`${url}: more than the ${want.bytes} bytes update.json says`);
      hash.update(c);
      await fh.write(c, 0, c.length, at);
      at += c.length;
    }
    await fh.datasync();
  } finally {
    await fh.close();
  }
  if (at !== want.bytes) throw new Error(`${url}: ended after ${at} of ${want.bytes} bytes`);
  const got = hash.digest('hex');
  if (got !== want.sha256) throw new Error(`${url}: sha256 ${got}, update.json says ${want.sha256}: the slot is left without an entry`);
}

/** The certificate updates must be signed by, or undefined when the image has none. */
export function updateCert(fs: FsRoot, path: string): string | undefined {
  try {
    return readFileSync(fs.p(path), 'utf8');
  } catch {
    return undefined;
  }
}
