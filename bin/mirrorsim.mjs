#!/usr/bin/env -S node --max-semi-space-size=4
// The installed entry point: runs the compiled CLI (built by `npm install` / `npm ci`).
import { runCli } from '../dist/cli/main.js';

process.exitCode = await runCli(process.argv.slice(2));
