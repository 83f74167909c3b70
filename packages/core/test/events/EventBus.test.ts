import test from 'ava';
import { EventBus } from '../../src/events/EventBus.js';
import { MemoryLogger } from '../../src/util/Logger.js';

test('typed subscribe, emit in order, unsubscribe', (t) => {
  const bus = new EventBus();
  const seen: string[] = [];
  const off = bus.on('guest:state', (e) => seen.push(`a ${e.vmid} ${e.type} ${e.state}`));
  bus.on('guest:state', (e) => seen.push(`b ${e.vmid}`));
  t.true(bus.emit('guest:state', { vmid: 100, type: 'qemu', state: 'running' }));
  off();
  bus.emit('guest:state', { vmid: 101, type: 'lxc', state: 'stopped' });
  t.deepEqual(seen, ['a 100 qemu running', 'b 100', 'b 101']);
  t.is(bus.listenerCount('guest:state'), 1);
  t.false(bus.emit('guest:config', { vmid: 100, type: 'qemu', digest: 'abc' }));
});

test('once, onAny and next', async (t) => {
  const bus = new EventBus();
  const once: number[] = [];
  bus.once('guest:config', (e) => once.push(e.vmid));
  const any: string[] = [];
  const offAny = bus.onAny((event, payload) => any.push(`${event} ${JSON.stringify(payload)}`));
  const next = bus.next('guest:config', { filter: (e) => e.vmid === 102 });
  bus.emit('guest:config', { vmid: 100, type: 'qemu' });
  bus.emit('guest:config', { vmid: 102, type: 'lxc', digest: 'd' });
  t.deepEqual(await next, { vmid: 102, type: 'lxc', digest: 'd' });
  t.deepEqual(once, [100]);
  t.is(any.length, 2);
  offAny();
  bus.emit('guest:config', { vmid: 103, type: 'qemu' });
  t.is(any.length, 2);
  const ac = new AbortController();
  const waiting = bus.next('task:end', { signal: ac.signal });
  ac.abort(new Error('stop waiting'));
  await t.throwsAsync(waiting, { message: 'stop waiting' });
  t.is(bus.listenerCount('task:end'), 0);
});

test('a throwing listener is logged and does not stop the others or the emitter', (t) => {
  const logger = new MemoryLogger();
  const bus = new EventBus({ logger });
  const seen: number[] = [];
  bus.on('guest:state', () => {
    throw new Error('plugin bug');
  });
  bus.onAny(() => {
    throw new Error('any bug');
  });
  bus.on('guest:state', (e) => seen.push(e.vmid));
  t.notThrows(() => bus.emit('guest:state', { vmid: 100, type: 'qemu', state: 'running' }));
  t.deepEqual(seen, [100]);
  t.deepEqual(
    logger.lines.map((l) => [l.level, l.message, l.data?.error]),
    [
      ['error', "listener of 'guest:state' threw", 'any bug'],
      ['error', "listener of 'guest:state' threw", 'plugin bug'],
    ],
  );
  bus.removeAllListeners();
  t.is(bus.listenerCount('guest:state'), 0);
});
