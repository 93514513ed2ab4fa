// CSS and SVG imports have no meaning in unit tests.
export default {};
