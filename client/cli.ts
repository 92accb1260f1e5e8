#!/usr/bin/env node
// The `conductor-fx` command (package bin; built to dist/cli.mjs). See `conductor-fx --help`.
import { runCli } from './cli-run.js';

const abort = new AbortController();
// Ctrl-C closes the connection; the host then tells the add-on to cancel the relay.
process.once('SIGINT', () => abort.abort());
process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: abort.signal, now: Date.now });
