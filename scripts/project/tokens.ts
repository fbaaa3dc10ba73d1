import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Where a project keeps the tokens its images' network services require: beside aios.json, out of git. */
export const TOKENS_FILE = join('.aios', 'tokens.json');

export interface Tokens {
  /** Bearer token of aios-init's status endpoint (init.json statusToken). */
  status: string;
  /** llama-server's API key (LLAMA_API_KEY in its environment). */
  inference: string;
}

const TOKEN = /^[0-9a-f]{64}$/;

/**
 * The project's tokens: made once (256 random bits each) and kept in <project>/.aios/tokens.json
 * (mode 0600, its directory 0700), so that every build of the project gives the same image, and
 * its operator finds them there; a new file (delete this one) is a new pair. The image holds them
 * too: init.json, readable by root only.
 */
export async function projectTokens(projectDir: string): Promise<{ tokens: Tokens; file: string; made: boolean }> {
  const file = join(projectDir, TOKENS_FILE);
  const st = await lstat(file).catch(() => undefined);
  if (st) {
    if (!st.isFile()) throw new Error(`${file} is not a plain file: remove it, and the next build makes new tokens`);
    let t: Partial<Tokens> | undefined;
    try {
      t = JSON.parse(await readFile(file, 'utf8')) as Partial<Tokens>;
    } catch {
      t = undefined;
    }
    if (!t || !TOKEN.test(String(t.status)) || !TOKEN.test(String(t.inference)))
      throw new Error(`${file}: expected {"status": "<64 hex digits>", "inference": "<64 hex digits>"}; remove it, and the next build makes new tokens`);
    return { tokens: { status: t.status!, inference: t.inference! }, file, made: false };
  }
  const tokens: Tokens = { status: randomBytes(32).toString('hex'), inference: randomBytes(32).toString('hex') };
  await mkdir(join(projectDir, '.aios'), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(tokens, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  await rename(tmp, file);
  return { tokens, file, made: true };
}

/** An address only the machine itself reaches: a service bound there needs no token. */
export const isLoopback = (bind: string): boolean => /^(127\.|::1$|localhost$)/.test(bind);
