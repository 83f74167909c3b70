// ava config used only by test/suiteDeclarations.test.ts to run the allocation-declaration fixture.
export default {
  files: ['dist/test/fixtures/allocationDeclaration.suite.js'],
  workerThreads: false,
  timeout: '3m',
};
