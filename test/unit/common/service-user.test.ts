import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addSystemUsers, parseGroup, parsePasswd, resolveServiceUser } from '../../../common/service-user.ts';

const PASSWD =
  'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nllama:x:901:901::/var/lib/llama:/bin/false\nbroken:x:notanumber:1::/:/bin/sh\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\nllama:x:901:\nvideo:x:44:llama,other\nrender:x:105:llama\n';

test('passwd and group lines as getpwnam reads them; malformed ones skipped', () => {
  assert.deepEqual(
    parsePasswd(PASSWD).map((p) => p.name),
    ['root', 'nobody', 'llama'],
  );
  assert.deepEqual(
    parseGroup(GROUP).find((g) => g.name === 'video'),
    { name: 'video', gid: 44, members: ['llama', 'other'] },
  );
});

test("a service's ids: its user's, with the groups that list it; nobody when none is named; root only for root; numbers as given", () => {
  const p = parsePasswd(PASSWD);
  const g = parseGroup(GROUP);
  assert.deepEqual(resolveServiceUser('llama', '', p, g), { root: false, uid: 901, gid: 901, groups: [44, 105], name: 'llama', home: '/var/lib/llama' });
  assert.deepEqual(resolveServiceUser('', '', p, g), { root: false, uid: 65534, gid: 65534, groups: [], name: 'nobody', home: '/nonexistent' });
  assert.deepEqual(resolveServiceUser('root', '', p, g), { root: true });
  assert.deepEqual(resolveServiceUser('0:0', '', p, g), { root: true });
  assert.deepEqual(resolveServiceUser('1000:1000', '', p, g), { root: false, uid: 1000, gid: 1000, groups: [], name: '1000', home: '/' });
  assert.deepEqual(resolveServiceUser('llama', 'video', p, g), { root: false, uid: 901, gid: 44, groups: [105], name: 'llama', home: '/var/lib/llama' });
  assert.deepEqual(resolveServiceUser('ghost', '', p, g), { error: 'user "ghost" is not in /etc/passwd' });
  assert.deepEqual(resolveServiceUser('llama', 'ghosts', p, g), { error: 'group "ghosts" is not in /etc/group' });
});

test('the build adds a system user and group per service, ids from 900 in order, none twice, existing ones kept', () => {
  const r = addSystemUsers('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false', 'root:x:0:\nweb:x:900:\n', [
    'llama-server',
    'web',
    'nobody',
    'llama-server',
  ]);
  assert.deepEqual(
    r.added.map((a) => [a.name, a.uid, a.gid]),
    [
      ['llama-server', 901, 901],
      ['web', 902, 900],
    ],
    'gid 900 is taken, so uid 900 is skipped; web keeps its group',
  );
  assert.equal(
    r.passwd,
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nllama-server:x:901:901:aiOS service llama-server:/var/lib/llama-server:/bin/false\nweb:x:902:900:aiOS service web:/var/lib/web:/bin/false\n',
  );
  assert.equal(r.group, 'root:x:0:\nweb:x:900:\nllama-server:x:901:\n');
  assert.deepEqual(resolveServiceUser('llama-server', '', parsePasswd(r.passwd), parseGroup(r.group)), {
    root: false,
    uid: 901,
    gid: 901,
    groups: [],
    name: 'llama-server',
    home: '/var/lib/llama-server',
  });
  const full = Array.from({ length: 100 }, (_, i) => `u${i}:x:${900 + i}:${900 + i}::/:/bin/false`).join('\n');
  assert.throws(() => addSystemUsers(full, '', ['one-more']), /no free id in 900-999 for the service user "one-more"/);
});
