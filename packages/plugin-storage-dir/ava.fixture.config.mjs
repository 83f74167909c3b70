// ava config used only by test/suiteCatchesBugs.test.ts to run the broken-driver fixture.
export default {
  files: ['dist/test/fixtures/brokenDriver.suite.js'],
  workerThreads: false,
  timeout: '3m',
};
