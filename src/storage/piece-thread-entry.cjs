'use strict';
// The entry of a piece thread when Shoal runs from its TypeScript source (under tsx): a
// CommonJS file, so that tsx's require hook, which worker threads get, loads piece-thread.ts
// (its ESM hooks do not reach worker threads). The built package starts piece-thread.js itself.
const { workerData } = require('node:worker_threads');
require(workerData);
