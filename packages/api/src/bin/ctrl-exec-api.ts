#!/usr/bin/env node
import { main } from '../cli/main.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; should some handle linger, do not hang on it.
setTimeout(() => process.exit(code), 2000).unref();
