module.exports = require('../jest.preset')({
  insighter: ['core', 'shell', 'projects', 'registry', 'experiments', 'deployment'],
  dom: true,
  testTimeout: 30000
});
