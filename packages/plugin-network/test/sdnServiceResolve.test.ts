/**
 * The SDN service's reading and cross-checking of a cluster's config: `readSdnConfig` on a
 * directory like /etc/pve/sdn, and `resolve` (which zones apply on a node, vnets with their
 * subnets, the coded errors for references that do not hold).
 */
import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@corral/core/testing';
import { parseSubnetsCfg, parseVnetsCfg, parseZonesCfg, readSdnConfig, SdnService, SimpleZoneDriver, VxlanZoneDriver, type SdnConfig } from '../src/index.js';

const sdn = new SdnService(
  new Map<string, import('@corral/core').NetworkZoneDriver>([
    ['simple', new SimpleZoneDriver()],
    ['vxlan', new VxlanZoneDriver()],
  ]),
);

const config = (zones: string, vnets: string, subnets = ''): SdnConfig => ({ zones: parseZonesCfg(zones), vnets: parseVnetsCfg(vnets), subnets: parseSubnetsCfg(subnets) });

test('readSdnConfig reads the three files of a directory; a missing file is an empty one; errors name the file', async (t) => {
  const dir = await makeTempDir(t, 'corral-sdn-cfg-');
  await mkdir(join(dir, 'sdn'));
  await writeFile(join(dir, 'sdn', 'zones.cfg'), 'simple: z1\n\tipam pve\n\n');
  await writeFile(join(dir, 'sdn', 'vnets.cfg'), 'vnet: v1\n\tzone z1\n\n');
  const read = await readSdnConfig(join(dir, 'sdn'));
  t.deepEqual(read.zones.map((z) => z.id), ['z1']);
  t.deepEqual(read.vnets.map((v) => v.id), ['v1']);
  t.deepEqual(read.subnets, []);
  await writeFile(join(dir, 'sdn', 'subnets.cfg'), 'subnet: z1-10.0.0.0-24\n\tgateway 10.0.0.1\n\n');
  await t.throwsAsync(readSdnConfig(join(dir, 'sdn')), { code: 'CORRAL_ERR_PARSE', message: /sdn\/subnets\.cfg:1: subnet 'z1-10\.0\.0\.0-24': option 'vnet' is required/ });
});

test('resolve: zones of this node with their vnets and subnets; `nodes` limits a zone', (t) => {
  const c = config(
    'simple: z1\n\tnodes pve1,pve2\n\nvxlan: z2\n\tpeers 10.0.0.1,10.0.0.2\n\n',
    'vnet: v1\n\tzone z1\n\nvnet: v2\n\tzone z2\n\ttag 5\n\n',
    'subnet: z1-10.1.0.0-24\n\tvnet v1\n\tgateway 10.1.0.1\n\tsnat 1\n\n',
  );
  const onPve1 = sdn.resolve(c, 'pve1');
  t.deepEqual(onPve1.map((r) => [r.zone.id, r.vnets.map((v) => v.id)]), [['z1', ['v1']], ['z2', ['v2']]]);
  t.deepEqual(onPve1[0]!.vnets[0]!.subnets, [{ cidr: '10.1.0.0/24', gateway: '10.1.0.1', snat: true }]);
  t.deepEqual(sdn.resolve(c, 'pve3').map((r) => r.zone.id), ['z2']);
});

test('resolve refuses references that do not hold, and zone types without a driver', (t) => {
  t.throws(() => sdn.resolve(config('simple: z1\n\n', 'vnet: v1\n\tzone z9\n\n'), 'n'), { code: 'CORRAL_ERR_INVALID_CONFIG', message: /vnet 'v1': zone 'z9' does not exist/ });
  t.throws(() => sdn.resolve(config('simple: z1\n\n', 'vnet: v1\n\tzone z1\n\n', 'subnet: z1-10.0.0.0-24\n\tvnet v9\n\n'), 'n'), { message: /vnet 'v9' does not exist/ });
  t.throws(() => sdn.resolve(config('simple: z1\n\nsimple: z2\n\n', 'vnet: v1\n\tzone z1\n\n', 'subnet: z2-10.0.0.0-24\n\tvnet v1\n\n'), 'n'), {
    message: /subnet 'z2-10\.0\.0\.0-24' is in zone 'z2' but vnet 'v1' is in zone 'z1'/,
  });
  t.throws(() => sdn.resolve(config('simple: z1\n\n', 'vnet: v1\n\tzone z1\n\ttag 4\n\n'), 'n'), { message: /vlan tag is not allowed on simple zone/ });
  t.throws(() => sdn.resolve(config('vxlan: z1\n\tpeers 10.0.0.1\n\n', 'vnet: v1\n\tzone z1\n\ttag 4\n\nvnet: v2\n\tzone z1\n\ttag 4\n\n'), 'n'), { message: /vxlan tag 4 already exists in vnet v1/ });
  t.throws(() => sdn.resolve(config('vlan: z1\n\tbridge vmbr0\n\n', ''), 'n'), { code: 'CORRAL_ERR_NOT_SUPPORTED', message: /no driver for zone type 'vlan'/ });
});
