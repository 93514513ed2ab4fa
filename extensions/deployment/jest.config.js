module.exports = require('../jest.preset')({
  insighter: ['core', 'shell', 'projects', 'experiments', 'registry'],
  dom: true,
  testTimeout: 30000
});
