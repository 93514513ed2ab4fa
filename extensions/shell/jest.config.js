module.exports = require('../jest.preset')({
  insighter: ['core', 'registry'],
  dom: true
});
