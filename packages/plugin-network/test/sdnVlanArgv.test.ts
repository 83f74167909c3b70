/**
 * The `vlan` zone, which this kernel cannot run (no 802.1q devices): the devices and the
 * `ip` commands it plans on a node recorded with iproute2 6.1, checked against the
 * interfaces pve-network's own tests expect (src/test/zones/vlan/bridge and
 * bridge_vlanaware), with the 802.1q probe answered as a kernel that has the module would.
 */
import test from 'ava';
import { MemoryLogger, type NetworkContext, type NetworkZoneDefinition, type VnetDefinition } from '@corral/core';
import { RecordingCommandRunner } from '@corral/core/testing';
import { creationArgvs, readLinks, VlanZoneDriver } from '../src/index.js';

// `ip -j -d link show` recorded on this host (iproute2 6.1): the bridge vmbr0 as created in a
// namespace, and the host's virtio NIC eth0, shown here as vmbr0's port (`master` added; a
// namespace has no physical NIC to record it with).
const VMBR0 = {"ifindex":2,"ifname":"vmbr0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","operstate":"UNKNOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"fa:d1:f2:79:d6:e2","broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":0,"allmulti":0,"min_mtu":68,"max_mtu":65535,"linkinfo":{"info_kind":"bridge","info_data":{"forward_delay":0,"hello_time":200,"max_age":2000,"ageing_time":30000,"stp_state":0,"priority":32768,"vlan_filtering":0,"bridge_id":"8000.0:0:0:0:0:0","root_id":"8000.0:0:0:0:0:0","root_port":0,"root_path_cost":0,"topology_change":0,"topology_change_detected":0,"hello_timer":0.00,"tcn_timer":0.00,"topology_change_timer":0.00,"gc_timer":0.09,"group_fwd_mask":"0","group_addr":"01:80:c2:00:00:00","mcast_snooping":1,"no_linklocal_learn":0,"mcast_vlan_snooping":0,"mcast_router":1,"mcast_query_use_ifaddr":0,"mcast_querier":0,"mcast_hash_elasticity":16,"mcast_hash_max":4096,"mcast_last_member_cnt":2,"mcast_startup_query_cnt":2,"mcast_last_member_intvl":100,"mcast_membership_intvl":26000,"mcast_querier_intvl":25500,"mcast_query_intvl":12500,"mcast_query_response_intvl":1000,"mcast_startup_query_intvl":3124,"mcast_stats_enabled":0,"mcast_igmp_version":2,"mcast_mld_version":1,"nf_call_iptables":0,"nf_call_ip6tables":0,"nf_call_arptables":0}},"inet6_addr_gen_mode":"eui64","num_tx_queues":1,"num_rx_queues":1,"gso_max_size":65536,"gso_max_segs":65535,"tso_max_size":65536,"tso_max_segs":65535,"gro_max_size":65536};
const ETH0 = {"ifindex":4,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1400,"qdisc":"pfifo_fast","master":"vmbr0","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"02:fc:00:00:00:01","broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":0,"allmulti":0,"min_mtu":68,"max_mtu":65535,"inet6_addr_gen_mode":"eui64","num_tx_queues":1,"num_rx_queues":1,"gso_max_size":65536,"gso_max_segs":65535,"tso_max_size":65536,"tso_max_segs":65535,"gro_max_size":65536,"parentbus":"virtio","parentdev":"virtio2"};
const ADDRS = [{"ifindex":2,"ifname":"vmbr0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","operstate":"UNKNOWN","group":"default","txqlen":1000,"link_type":"ether","address":"fa:d1:f2:79:d6:e2","broadcast":"ff:ff:ff:ff:ff:ff","addr_info":[{"family":"inet6","local":"fe80::f8d1:f2ff:fe79:d6e2","prefixlen":64,"scope":"link","tentative":true,"valid_life_time":4294967295,"preferred_life_time":4294967295}]}];

const zone: NetworkZoneDefinition = { id: 'myzone', type: 'vlan', options: { bridge: 'vmbr0', ipam: 'pve', mtu: '9200' } };
const vnets: VnetDefinition[] = [{ id: 'myvnet', zone: 'myzone', tag: 100, options: { zone: 'myzone', tag: '100' } }];

/** A node with the recorded devices, whose kernel can make 802.1q devices (the probe succeeds). */
function node(vlanFiltering: number) {
  const bridge = { ...VMBR0, linkinfo: { ...VMBR0.linkinfo, info_data: { ...VMBR0.linkinfo.info_data, vlan_filtering: vlanFiltering } } };
  const runner = new RecordingCommandRunner([
    { match: ['ip', '-j', '-d', 'link', 'show'], stdout: JSON.stringify([bridge, ETH0]) },
    { match: ['ip', '-j', 'addr', 'show'], stdout: JSON.stringify(ADDRS) },
    { match: (argv) => argv[1] === 'link' && (argv[2] === 'add' || argv[2] === 'del') && argv.some((a) => a.startsWith('sdnprobe')) },
  ]);
  const ctx: NetworkContext = { node: 'pve1', runner, log: new MemoryLogger() };
  return { ctx, runner };
}

test('plain bridge: vmbr0v100 over eth0.100, joined to the vnet by ln_myvnet/pr_myvnet, MTU 9200 (pve-network test zones/vlan/bridge)', async (t) => {
  const { ctx, runner } = node(0);
  const driver = new VlanZoneDriver();
  driver.validate(zone, vnets);
  const devices = await driver.plan(ctx, zone, vnets, await readLinks(ctx));
  // The probe ran on the zone's bridge and was removed.
  const probe = runner.argvs.filter((argv) => argv.some((a) => a.startsWith('sdnprobe')));
  t.deepEqual(probe.map((argv) => argv.slice(0, 3)), [['ip', 'link', 'add'], ['ip', 'link', 'del']]);
  t.deepEqual(probe[0]!.slice(3), ['link', 'vmbr0', 'name', probe[0]![6]!, 'type', 'vlan', 'protocol', '802.1Q', 'id', '1']);
  // Proxmox's expected_sdn_interfaces: myvnet (bridge_ports ln_myvnet), vmbr0v100 (bridge_ports eth0.100 pr_myvnet), the veth pair, all MTU 9200.
  t.deepEqual(creationArgvs(ctx, devices), [
    ['ip', 'link', 'add', 'name', 'myvnet', 'mtu', '9200', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'],
    ['ip', 'link', 'set', 'dev', 'myvnet', 'alias', 'corral-sdn:myzone'],
    ['ip', 'link', 'add', 'name', 'vmbr0v100', 'mtu', '9200', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'],
    ['ip', 'link', 'set', 'dev', 'vmbr0v100', 'alias', 'corral-sdn:myzone'],
    ['ip', 'link', 'add', 'link', 'eth0', 'name', 'eth0.100', 'type', 'vlan', 'protocol', '802.1Q', 'id', '100'],
    ['ip', 'link', 'set', 'dev', 'eth0.100', 'alias', 'corral-sdn:myzone'],
    ['ip', 'link', 'add', 'name', 'ln_myvnet', 'mtu', '9200', 'type', 'veth', 'peer', 'name', 'pr_myvnet', 'mtu', '9200'],
    ['ip', 'link', 'set', 'dev', 'ln_myvnet', 'alias', 'corral-sdn:myzone'],
    ['ip', 'link', 'set', 'dev', 'pr_myvnet', 'alias', 'corral-sdn:myzone'],
    ['ip', 'link', 'set', 'dev', 'eth0.100', 'master', 'vmbr0v100'],
    ['ip', 'link', 'set', 'dev', 'ln_myvnet', 'master', 'myvnet'],
    ['ip', 'link', 'set', 'dev', 'pr_myvnet', 'master', 'vmbr0v100'],
    ['ip', 'link', 'set', 'dev', 'myvnet', 'up'],
    ['ip', 'link', 'set', 'dev', 'vmbr0v100', 'up'],
    ['ip', 'link', 'set', 'dev', 'eth0.100', 'up'],
    ['ip', 'link', 'set', 'dev', 'ln_myvnet', 'up'],
    ['ip', 'link', 'set', 'dev', 'pr_myvnet', 'up'],
  ]);
});

test('VLAN-aware bridge: the vnet bridge has the 802.1q device vmbr0.100 as its port (pve-network test zones/vlan/bridge_vlanaware)', async (t) => {
  const { ctx } = node(1);
  const devices = await new VlanZoneDriver().plan(ctx, { ...zone, options: { bridge: 'vmbr0', ipam: 'pve' } }, vnets, await readLinks(ctx));
  t.deepEqual(
    devices.map((d) => [d.name, d.kind, d.master, d.vlan]),
    [
      ['myvnet', 'bridge', undefined, undefined],
      ['vmbr0.100', 'vlan', 'myvnet', { link: 'vmbr0', id: 100, protocol: '802.1Q' }],
    ],
  );
});

test('vlan zone options are checked as Proxmox checks them', (t) => {
  const driver = new VlanZoneDriver();
  t.throws(() => driver.validate(zone, [{ ...vnets[0]!, tag: undefined } as VnetDefinition]), { code: 'CORRAL_ERR_INVALID_CONFIG', message: /missing vlan tag/ });
  t.throws(() => driver.validate(zone, [{ ...vnets[0]!, tag: 4097 }]), { message: /vlan tag max value is 4096/ });
  t.throws(() => driver.validate(zone, [vnets[0]!, { ...vnets[0]!, id: 'other' }]), { message: /tag 100 already exist in vnet myvnet/ });
  t.throws(() => driver.validate({ ...zone, options: {} }, vnets), { message: /option 'bridge' is required/ });
});
