import test from 'ava';
import { RecordingCommandRunner } from '@corral/core/testing';
import { ContainerRunDir } from '../../src/runtime/ContainerRunDir.js';
import { LxcTools } from '../../src/runtime/LxcTools.js';

const dir = new ContainerRunDir('/run/corral/lxc/123');

test('the run directory is LXC container directory: lxcpath is its parent, the name the vmid', (t) => {
  t.is(dir.lxcPath, '/run/corral/lxc');
  t.is(dir.name, '123');
  t.is(dir.configFile, '/run/corral/lxc/123/config');
});

test('argv of start, stop, attach and console', async (t) => {
  // `lxc-info -s -p -H` output recorded from LXC 5.0.2 for a running container.
  const runner = new RecordingCommandRunner([
    { match: { prefix: ['lxc-info'] }, stdout: 'State:          RUNNING\nPID:            6944\n' },
    { match: { prefix: ['lxc-stop'] }, exitCode: 1 },
    { match: { prefix: ['lxc-attach'] }, exitCode: 3, stdout: 'out\n' },
  ]);
  const tools = new LxcTools(runner, dir);
  t.deepEqual(tools.startArgv(), ['lxc-start', '-P', '/run/corral/lxc', '-n', '123', '-d', '-p', '/run/corral/lxc/123/monitor.pid']);
  t.deepEqual(await tools.info(), { state: 'RUNNING', pid: 6944 });
  t.is(await tools.stop({ noKill: true, timeoutSec: 5 }), 1);
  t.deepEqual(runner.argvs.at(-1), ['lxc-stop', '-P', '/run/corral/lxc', '-n', '123', '--nokill', '-t', '5']);
  const r = await tools.attach(['hostname'], { env: { LANG: 'C' } });
  t.is(r.exitCode, 3);
  t.deepEqual(runner.argvs.at(-1), [
    'lxc-attach', '-P', '/run/corral/lxc', '-n', '123', '--clear-env',
    '-v', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '-v', 'HOME=/root', '-v', 'LANG=C', '--', 'hostname',
  ]);
  t.deepEqual(tools.consoleArgv(), ['lxc-console', '-P', '/run/corral/lxc', '-n', '123', '-t', '0', '-e', '^a']);
});
