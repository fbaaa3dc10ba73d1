// What init.json gives a service beyond its cgroup's CPU and memory limits, read from /proc and
// /sys inside the booted image: the capabilities it keeps (llama-server none, udhcpc the network
// ones), its nice value, its memory.low and its io.weight (with iocost on the disks). The image
// still passes every check, inference included. init.json's ioCost for sda is read back as the kernel took it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkVariant } from './helpers.ts';

const script = [
  'show() { grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/$1/status | sed "s/^/$2 /"; echo "$2 Nice: $(cut -d" " -f19 /proc/$1/stat)"; echo "$2 MemoryLow: $(cat /sys/fs/cgroup/aios/$3/memory.low)"; }',
  'until p=$(pidof llama-server); do sleep 0.2; done',
  'show "$p" inference inference',
  'show "$(pidof udhcpc)" dhcp dhcp-eth0',
  'show self self limits',
  'echo "self IoWeight: $(cat /sys/fs/cgroup/aios/limits/io.weight)"',
  'q=/sys/fs/cgroup/io.cost.qos; echo "iocost: $(grep -c "enable=1" $q) of $(wc -l < $q): $(cut -d" " -f1,2 $q | tr "\\n" ,)"',
  'echo "sda qos: $(grep "^8:0 " $q)"; echo "sda model: $(grep "^8:0 " /sys/fs/cgroup/io.cost.model)"',
  'exec sleep 2147483647',
].join('\n');

test('a service keeps only the capabilities, nice value, memory.low and io.weight init.json gives it; llama-server keeps no capability', async () => {
  await checkVariant(
    (j) => ({
      ...j,
      ioCost: [{ disk: 'sda', model: 'rbps=500000000 rrandiops=20000', qos: 'rpct=90 rlat=10000 min=50 max=150' }],
      services: [
        ...(j.services as Record<string, unknown>[]).map((s) => (s.name === 'inference' ? { ...s, nice: 2, memoryLow: '32M' } : s)),
        { name: 'limits', command: '/bin/sh', args: ['-c', script], capabilities: ['CAP_NET_RAW'], nice: 5, memoryLow: '16M', ioWeight: 300, user: 'root' },
      ],
    }),
    ({ r, failed, serial }) => {
      assert.equal(r.code, 0, `${r.out}\n--- serial ---\n${serial.slice(-3000)}`);
      assert.deepEqual(failed, []);
      const seen = (who: string, field: string) => new RegExp(`limits: ${who} ${field}:\\s+(\\S+)`).exec(serial)?.[1];
      assert.equal(seen('inference', 'CapEff'), '0000000000000000', serial.slice(-3000));
      assert.equal(seen('inference', 'CapBnd'), '0000000000000000');
      assert.equal(seen('inference', 'NoNewPrivs'), '1');
      assert.equal(seen('inference', 'Nice'), '2');
      assert.equal(seen('inference', 'MemoryLow'), String(32 << 20));
      assert.equal(seen('dhcp', 'CapBnd'), '0000000000003400', 'udhcpc: CAP_NET_BIND_SERVICE, CAP_NET_ADMIN and CAP_NET_RAW (10, 12, 13)');
      assert.equal(seen('dhcp', 'NoNewPrivs'), '1');
      assert.equal(seen('self', 'CapEff'), '0000000000002000', 'CAP_NET_RAW is 13');
      assert.equal(seen('self', 'CapBnd'), '0000000000002000');
      assert.equal(seen('self', 'NoNewPrivs'), '1');
      assert.equal(seen('self', 'Nice'), '5');
      assert.equal(seen('self', 'MemoryLow'), String(16 << 20));
      assert.match(serial, /limits: self IoWeight: default 300\n/);
      // iocost, which makes io.weight count, is on for every disk, sda (8:0) among them.
      const iocost = /limits: iocost: (\d+) of (\d+): (.*)\n/.exec(serial);
      assert.ok(iocost && iocost[1] === iocost[2] && iocost[3]!.includes('8:0 enable=1,'), iocost?.[0] ?? serial.slice(-3000));
      // init.json's ioCost for sda, as the kernel took it; the parameters it did not give keep the kernel's figures.
      assert.match(serial, /limits: sda qos: 8:0 enable=1 ctrl=user rpct=90\.00 rlat=10000 wpct=0\.00 wlat=\d+ min=50\.00 max=150\.00\n/);
      assert.match(serial, /limits: sda model: 8:0 ctrl=user model=linear rbps=500000000 rseqiops=\d+ rrandiops=20000 wbps=\d+/);
    },
  );
});
