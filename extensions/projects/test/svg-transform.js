// SVG imports become their source text, as the app's bundler delivers them.
module.exports = {
  process(source) {
    return { code: `module.exports = ${JSON.stringify(source)};` };
  }
};
