#!/usr/bin/env node
import { main } from './main';

// No top-level await: this file is also built as CommonJS.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`rollout-manager: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
