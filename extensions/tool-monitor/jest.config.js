module.exports = require('../jest.preset')({
  insighter: ['core', 'shell', 'projects', 'registry', 'experiments'],
  dom: true,
  testTimeout: 30000
});
