/**
 * QMP lines recorded from a real QEMU, replayed by the scripted server in QmpClient.test.ts.
 *
 * Recorded 2026-11-25 with QEMU 7.2.22 (Debian package qemu-system-x86
 * 1:7.2+dfsg-7+deb12u18+b3), `-accel tcg -machine pc`, booted into Corral's test guest, by
 * sending commands with `socat - UNIX-CONNECT:<qmp socket>` and keeping what QEMU wrote
 * (QEMU ends every line with \r\n). Do not edit the text: re-record instead.
 *
 * @packageDocumentation
 */

/** Every line as QEMU sent it, in order (commands ids a1..a12 were chosen by the recorder). */
export const QEMU_7_2_TRANSCRIPT: readonly string[] = [
  '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}',
  '{"return": {}}',
  '{"return": {}, "id": "a1"}',
  '{"return": {}, "id": "a2"}',
  '{"return": {}, "id": "a3"}',
  '{"timestamp": {"seconds": 1795626664, "microseconds": 384818}, "event": "DEVICE_DELETED", "data": {"path": "/machine/peripheral/virtio5/virtio-backend"}}',
  '{"timestamp": {"seconds": 1795626664, "microseconds": 438205}, "event": "DEVICE_DELETED", "data": {"device": "virtio5", "path": "/machine/peripheral/virtio5"}}',
  '{"id": "a4", "error": {"class": "DeviceNotFound", "desc": "Device \'nope\' not found"}}',
  '{"id": "a5", "error": {"class": "CommandNotFound", "desc": "The command nosuchcmd has not been found"}}',
  '{"timestamp": {"seconds": 1795626667, "microseconds": 152064}, "event": "JOB_STATUS_CHANGE", "data": {"status": "created", "id": "snap1"}}',
  '{"timestamp": {"seconds": 1795626667, "microseconds": 152243}, "event": "JOB_STATUS_CHANGE", "data": {"status": "running", "id": "snap1"}}',
  '{"timestamp": {"seconds": 1795626667, "microseconds": 152750}, "event": "STOP"}',
  '{"timestamp": {"seconds": 1795626667, "microseconds": 587431}, "event": "RESUME"}',
  '{"return": {}, "id": "a6"}',
  '{"timestamp": {"seconds": 1795626667, "microseconds": 588258}, "event": "JOB_STATUS_CHANGE", "data": {"status": "waiting", "id": "snap1"}}',
  '{"timestamp": {"seconds": 1795626667, "microseconds": 588283}, "event": "JOB_STATUS_CHANGE", "data": {"status": "pending", "id": "snap1"}}',
  '{"timestamp": {"seconds": 1795626667, "microseconds": 588301}, "event": "JOB_STATUS_CHANGE", "data": {"status": "concluded", "id": "snap1"}}',
  '{"return": [{"current-progress": 1, "status": "concluded", "total-progress": 1, "type": "snapshot-save", "id": "snap1"}], "id": "a7"}',
  '{"timestamp": {"seconds": 1795626671, "microseconds": 159596}, "event": "JOB_STATUS_CHANGE", "data": {"status": "null", "id": "snap1"}}',
  '{"return": {}, "id": "a8"}',
  '{"timestamp": {"seconds": 1795626671, "microseconds": 162397}, "event": "JOB_STATUS_CHANGE", "data": {"status": "created", "id": "snap2"}}',
  '{"timestamp": {"seconds": 1795626671, "microseconds": 162562}, "event": "JOB_STATUS_CHANGE", "data": {"status": "running", "id": "snap2"}}',
  '{"return": {}, "id": "a9"}',
  '{"timestamp": {"seconds": 1795626671, "microseconds": 162928}, "event": "JOB_STATUS_CHANGE", "data": {"status": "aborting", "id": "snap2"}}',
  '{"timestamp": {"seconds": 1795626671, "microseconds": 162967}, "event": "JOB_STATUS_CHANGE", "data": {"status": "concluded", "id": "snap2"}}',
  '{"return": [{"current-progress": 1, "status": "concluded", "total-progress": 1, "type": "snapshot-save", "id": "snap2", "error": "vmstate block device \'nosuch\' does not exist"}], "id": "a10"}',
  '{"return": {"status": "running", "singlestep": false, "running": true}, "id": "a11"}',
  '{"timestamp": {"seconds": 1795626673, "microseconds": 173589}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}',
  '{"timestamp": {"seconds": 1795626673, "microseconds": 180553}, "event": "JOB_STATUS_CHANGE", "data": {"status": "null", "id": "snap2"}}',
  '{"return": {}, "id": "a12"}',
];

/**
 * The first recorded line containing every one of `needles`, parsed. Throws when none does
 * (a test asking for a line that was never recorded is a bug in the test).
 */
export function recorded(...needles: string[]): Record<string, unknown> {
  const line = QEMU_7_2_TRANSCRIPT.find((l) => needles.every((n) => l.includes(n)));
  if (line === undefined) throw new Error(`no recorded QMP line contains ${needles.join(' + ')}`);
  return JSON.parse(line) as Record<string, unknown>;
}

/**
 * Lines recorded from the real guest agent (qemu-ga 7.2.22, Debian package qemu-guest-agent
 * 1:7.2+dfsg-7+deb12u18+b3, in the test guest) through QEMU's chardev socket on 2026-11-25.
 * `parseErrorAfterSyncByte` is what the agent answers to the 0xFF byte that precedes
 * `guest-sync-delimited`; `syncReply` is its answer to `{"execute":"guest-sync-delimited",
 * "arguments":{"id":1},"id":"s1"}`, which the agent sends after a raw 0xFF byte (not part of
 * the string here).
 */
export const QGA_7_2 = {
  parseErrorAfterSyncByte: '{"error": {"class": "GenericError", "desc": "JSON parse error, stray \'\\uFFFD\'"}}',
  syncReply: '{"return": 1, "id": "s1"}',
  pingReply: '{"return": {}, "id": "p1"}',
  execStatusBadPid: '{"error": {"class": "GenericError", "desc": "Invalid parameter \'pid\'"}}',
} as const;
