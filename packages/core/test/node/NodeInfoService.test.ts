import test from 'ava';
import * as os from 'node:os';
import { NodeInfoService } from '../../src/node/NodeInfoService.js';

test('status: sane values from the real host, second call served from cache', async (t) => {
  const info = new NodeInfoService();
  const s = await info.status();
  const again = await info.status();
  // Served from the cache: the very same section objects, not fetched again.
  for (const section of ['memory', 'cpuinfo', 'filesystems', 'network', 'blockDevices'] as const) t.is(again[section], s[section], section);

  t.is(s.cpuinfo.cpus, os.cpus().length);
  t.true(s.cpuinfo.cores >= 1 && s.cpuinfo.cores <= s.cpuinfo.cpus);
  t.true(s.cpuinfo.flags.length > 0);
  t.is(s.memory.totalBytes, os.totalmem());
  t.true(s.memory.availableBytes > 0 && s.memory.availableBytes <= s.memory.totalBytes);
  t.is(s.memory.usedBytes, s.memory.totalBytes - s.memory.availableBytes);
  t.true(s.cpu >= 0 && s.cpu <= 1);
  t.is(s.loadavg.length, 3);
  t.true(s.uptimeSec > 0);
  t.is(s.os.kernel, os.release());
  const root = s.filesystems.find((f) => f.mount === '/');
  t.truthy(root, 'the root filesystem is listed');
  t.true(root!.sizeBytes > 0 && root!.usedBytes <= root!.sizeBytes);
  t.true(s.network.some((n) => n.name === 'lo' && n.ipv4 === '127.0.0.1'));
  t.true(s.blockDevices.length > 0);
});

test('a section past its TTL is refreshed (stale value served meanwhile), invalidate forces a fetch', async (t) => {
  const info = new NodeInfoService({ ttlMs: { memory: 1 } });
  const m1 = await info.memory();
  await new Promise((r) => setTimeout(r, 5));
  const m2 = await info.memory(); // stale while revalidating
  t.is(m2, m1);
  let m3 = m2;
  for (let i = 0; i < 100 && m3 === m1; i++) {
    await new Promise((r) => setTimeout(r, 20));
    m3 = await info.memory();
  }
  t.not(m3, m1, 'the background refresh replaced the value');
  const strict = new NodeInfoService({ staleWhileRevalidate: false });
  const c1 = await strict.cpuInfo();
  strict.invalidate('cpuinfo');
  const c2 = await strict.cpuInfo();
  t.not(c2, c1);
  t.deepEqual(c2, c1);
});
