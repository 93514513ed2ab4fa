module.exports = require('../jest.preset')({
  insighter: ['core', 'shell', 'registry'],
  dom: true,
  testTimeout: 30000
});
