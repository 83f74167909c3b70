// Ava runs on tsc -b output: every workspace's test/ maps to its dist/test/.
import { readdirSync, existsSync } from 'node:fs';

const rewritePaths = {};
for (const group of ['packages', 'examples']) {
  if (!existsSync(group)) continue;
  for (const name of readdirSync(group)) {
    rewritePaths[`${group}/${name}/test/`] = `${group}/${name}/dist/test/`;
  }
}
rewritePaths['bench/'] = 'bench/dist/';

export default {
  files: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
  typescript: { rewritePaths, compile: false },
  workerThreads: false,
  concurrency: 2,
  timeout: '3m',
  environmentVariables: {},
};
