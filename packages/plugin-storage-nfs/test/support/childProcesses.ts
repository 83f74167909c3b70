import type { ChildProcess } from 'node:child_process';

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Stops a test daemon by its pid (SIGTERM, SIGKILL if it hangs for 20 s) and waits for its exit. */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid) return;
  const gone = exited(child);
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await gone;
  clearTimeout(killer);
}

/** Polls `probe` until it returns true (at most `attempts` tries, `delayMs` apart); throws naming `what` otherwise. */
export async function waitFor(what: string, probe: () => Promise<boolean>, attempts = 100, delayMs = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error(`${what} did not happen`);
}
