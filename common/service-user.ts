/**
 * Who a service runs as: /etc/passwd and /etc/group read as the C library reads them, a service's
 * `user` and `group` resolved against them (aios-init, at each start), and the system users the
 * build adds for services that have none yet.
 */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** A user or group name as useradd takes it, or a number. */
export const USER_SPEC = {
  pattern: /^$|^[a-z_][a-z0-9_-]{0,31}$|^\d{1,10}(:\d{1,10})?$/,
  patternHint: 'a user name (lowercase letters, digits, _ and -), a uid, or uid:gid',
};
export const GROUP_SPEC = { pattern: /^$|^[a-z_][a-z0-9_-]{0,31}$|^\d{1,10}$/, patternHint: 'a group name or a gid' };

/** What a service gets when init.json names no user: nobody. */
export const DEFAULT_SERVICE_USER = 'nobody';
const MAX_ID = 0xfffffffe;

const id = (s: string | undefined): number | undefined => (s !== undefined && /^\d{1,10}$/.test(s) && Number(s) <= MAX_ID ? Number(s) : undefined);

/** The well-formed lines of /etc/passwd (name:password:uid:gid:gecos:home:shell); others are skipped, as getpwnam skips them. */
export function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    const uid = id(f[2]);
    const gid = id(f[3]);
    return f.length === 7 && f[0] && uid !== undefined && gid !== undefined ? [{ name: f[0], uid, gid, home: f[5]! }] : [];
  });
}

/** The well-formed lines of /etc/group (name:password:gid:members). */
export function parseGroup(text: string): GroupEntry[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    const gid = id(f[2]);
    return f.length === 4 && f[0] && gid !== undefined ? [{ name: f[0], gid, members: f[3]!.split(',').filter(Boolean) }] : [];
  });
}

export type ServiceIds = { root: true } | { root: false; uid: number; gid: number; groups: number[]; name: string; home: string };

/**
 * The ids a service runs with, from its `user` and `group`: root only for `root` (or uid 0);
 * empty is nobody; a number is taken as it is (a container image's uid need not be in the
 * image's passwd). Supplementary groups are those /etc/group lists the user in. An error names
 * what is missing.
 */
export function resolveServiceUser(user: string, group: string, passwd: readonly PasswdEntry[], groups: readonly GroupEntry[]): ServiceIds | { error: string } {
  const spec = user || DEFAULT_SERVICE_USER;
  // Root is uid 0 whatever the passwd file says (a scratch root may have none).
  if ((spec === 'root' || spec === '0') && !group) return { root: true };
  let uid: number, gid: number, name: string, home: string;
  const numeric = /^(\d+)(?::(\d+))?$/.exec(spec);
  if (numeric) {
    uid = Number(numeric[1]);
    const entry = passwd.find((p) => p.uid === uid);
    gid = numeric[2] !== undefined ? Number(numeric[2]) : (entry?.gid ?? uid);
    name = entry?.name ?? String(uid);
    home = entry?.home ?? '/';
  } else {
    const entry = passwd.find((p) => p.name === spec);
    if (!entry) return { error: `user "${spec}" is not in /etc/passwd` };
    ({ uid, gid, name, home } = entry);
  }
  if (uid > MAX_ID || gid > MAX_ID) return { error: `user "${spec}": an id above ${MAX_ID}` };
  if (group) {
    const g = /^\d+$/.test(group) ? { gid: Number(group) } : groups.find((x) => x.name === group);
    if (!g) return { error: `group "${group}" is not in /etc/group` };
    gid = g.gid;
  }
  if (uid === 0) return { root: true };
  const extra = groups.filter((g) => g.members.includes(name) && g.gid !== gid).map((g) => g.gid);
  return { root: false, uid, gid, groups: [...new Set(extra)].slice(0, 64), name, home };
}

/** The range the build takes system users' ids from (Debian's system range, above what packages pick first). */
export const SYSTEM_IDS = { first: 900, last: 999 };

/**
 * /etc/passwd and /etc/group with a system user (and its own group, same id when free) added for
 * each name not there yet: ids from SYSTEM_IDS in the order of the names given, home its state
 * directory, no login shell. Throws when the range is full.
 */
export function addSystemUsers(passwdText: string, groupText: string, names: readonly string[]): { passwd: string; group: string; added: PasswdEntry[] } {
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);
  const usedUids = new Set(passwd.map((p) => p.uid));
  const usedGids = new Set(groups.map((g) => g.gid));
  const added: PasswdEntry[] = [];
  let pLines = passwdText.endsWith('\n') || !passwdText ? passwdText : `${passwdText}\n`;
  let gLines = groupText.endsWith('\n') || !groupText ? groupText : `${groupText}\n`;
  for (const name of [...new Set(names)]) {
    if (passwd.some((p) => p.name === name) || added.some((p) => p.name === name)) continue;
    let uid = SYSTEM_IDS.first;
    while (usedUids.has(uid) || usedGids.has(uid)) uid++;
    if (uid > SYSTEM_IDS.last) throw new Error(`no free id in ${SYSTEM_IDS.first}-${SYSTEM_IDS.last} for the service user "${name}"`);
    const existing = groups.find((g) => g.name === name);
    const gid = existing?.gid ?? uid;
    usedUids.add(uid);
    usedGids.add(gid);
    const entry = { name, uid, gid, home: `/var/lib/${name}` };
    added.push(entry);
    pLines += `${name}:x:${uid}:${gid}:aiOS service ${name}:${entry.home}:/bin/false\n`;
    if (!existing) gLines += `${name}:x:${gid}:\n`;
  }
  return { passwd: pLines, group: gLines, added };
}
