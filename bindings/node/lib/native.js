'use strict';
// Loads the compiled addon (built by `npm run build` into ../native).
module.exports = require('../native/binding.js');
