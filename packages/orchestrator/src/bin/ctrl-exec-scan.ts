#!/usr/bin/env node
import { runScan } from '../runner/main.js';

process.exitCode = await runScan(process.argv.slice(2), { env: process.env, stdout: (text) => process.stdout.write(text) });
