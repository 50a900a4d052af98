#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'src', 'cli', 'index.js');
if (!fs.existsSync(entry)) {
  console.error('loopkeeper: not built yet. Run `npm run build` (npm start does it for you).');
  process.exit(1);
}
require(entry)
  .main(process.argv)
  .then((code) => process.exit(code));
