module.exports = require('../jest.preset')({
  insighter: ['core', 'shell', 'projects', 'registry'],
  dom: true,
  testTimeout: 30000
});
