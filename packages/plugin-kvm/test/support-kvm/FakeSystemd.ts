/**
 * A private D-Bus daemon and a fake `org.freedesktop.systemd1` Manager on it, for the systemd
 * path of resource control: systemd cannot run on the test hosts (no systemd as PID 1, see
 * HOST-FACTS.md), so this stands in for it. It only records calls and answers the way
 * systemd's D-Bus API (org.freedesktop.systemd1(5), systemd 252 as in Debian 12) documents:
 * method signatures, job object paths `/org/freedesktop/systemd1/job/<n>`, the `JobRemoved`
 * signal `(u id, o job, s unit, s result)` with result `done`, and the error names
 * `org.freedesktop.systemd1.UnitExists` / `NoSuchUnit`. Tests assert on the recorded calls.
 *
 * @packageDocumentation
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { ExecutionContext } from 'ava';
import dbus from 'dbus-next';

/** One recorded method call with plain arguments (Variants unwrapped, 64-bit values as strings). */
export interface RecordedSystemdCall {
  readonly method: string;
  readonly args: unknown[];
}

function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof dbus.Variant) return plain(value.value);
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

/** Properties `a(sv)` as a record. */
export function propertiesOf(list: unknown): Record<string, unknown> {
  return Object.fromEntries((list as Array<[string, unknown]>).map(([k, v]) => [k, v]));
}

class ManagerInterface extends dbus.interface.Interface {
  calls: RecordedSystemdCall[] = [];
  units = new Set<string>();
  failNextStartWith: string | undefined;
  #job = 0;

  constructor() {
    super('org.freedesktop.systemd1.Manager');
  }

  #record(method: string, args: unknown[]): void {
    this.calls.push({ method, args: args.map(plain) });
  }

  #newJob(unit: string): string {
    const id = ++this.#job;
    const path = `/org/freedesktop/systemd1/job/${id}`;
    setTimeout(() => {
      try {
        this.JobRemoved(id, path, unit, 'done');
      } catch {
        // the bus is gone (test ended)
      }
    }, 20);
    return path;
  }

  Subscribe(): void {
    this.#record('Subscribe', []);
  }

  StartTransientUnit(name: string, mode: string, properties: unknown, aux: unknown): string {
    this.#record('StartTransientUnit', [name, mode, properties, aux]);
    if (this.failNextStartWith) {
      const error = this.failNextStartWith;
      this.failNextStartWith = undefined;
      throw new dbus.DBusError(error, `Unit ${name} was already loaded or has a fragment file.`);
    }
    if (this.units.has(name)) throw new dbus.DBusError('org.freedesktop.systemd1.UnitExists', `Unit ${name} was already loaded or has a fragment file.`);
    this.units.add(name);
    return this.#newJob(name);
  }

  SetUnitProperties(name: string, runtime: boolean, properties: unknown): void {
    this.#record('SetUnitProperties', [name, runtime, properties]);
    if (!this.units.has(name)) throw new dbus.DBusError('org.freedesktop.systemd1.NoSuchUnit', `Unit ${name} not loaded.`);
  }

  StopUnit(name: string, mode: string): string {
    this.#record('StopUnit', [name, mode]);
    this.units.delete(name);
    return this.#newJob(name);
  }

  JobRemoved(id: number, job: string, unit: string, result: string): unknown[] {
    return [id, job, unit, result];
  }
}

ManagerInterface.configureMembers({
  methods: {
    Subscribe: {},
    StartTransientUnit: { inSignature: 'ssa(sv)a(sa(sv))', outSignature: 'o' },
    SetUnitProperties: { inSignature: 'sba(sv)' },
    StopUnit: { inSignature: 'ss', outSignature: 'o' },
  },
  signals: { JobRemoved: { signature: 'uoss' } },
});

/** A running private bus with the fake systemd. */
export interface FakeSystemd {
  /** Address of the private bus (for `SystemdScope({ busAddress })`). */
  readonly address: string;
  /** Every call received, in order. */
  readonly calls: RecordedSystemdCall[];
  /** Makes the next StartTransientUnit fail with this D-Bus error name. */
  failNextStart(errorName: string): void;
}

/**
 * Starts `dbus-daemon --session` (private, address printed on stdout) and the fake systemd on
 * it. Both are stopped at teardown (the daemon by pid).
 */
export async function startFakeSystemd(t: ExecutionContext): Promise<FakeSystemd> {
  const daemon: ChildProcess = spawn('dbus-daemon', ['--session', '--nofork', '--print-address'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => {
    if (daemon.pid) process.kill(daemon.pid, 'SIGTERM');
  });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    daemon.stdout!.setEncoding('utf8');
    daemon.stdout!.on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl).trim());
    });
    daemon.once('exit', (code) => reject(new Error(`dbus-daemon exited with ${code}`)));
    setTimeout(() => reject(new Error('dbus-daemon printed no address')), 5000);
  });
  const bus = dbus.sessionBus({ busAddress: address });
  bus.on('error', () => undefined);
  t.teardown(() => bus.disconnect());
  const manager = new ManagerInterface();
  bus.export('/org/freedesktop/systemd1', manager);
  const reply = await bus.requestName('org.freedesktop.systemd1', dbus.NameFlag.DO_NOT_QUEUE);
  if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) throw new Error(`could not own org.freedesktop.systemd1 (${reply})`);
  return {
    address,
    get calls() {
      return manager.calls;
    },
    failNextStart(errorName: string) {
      manager.failNextStartWith = errorName;
    },
  };
}
