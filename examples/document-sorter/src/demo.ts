import { fileURLToPath } from 'node:url';
import { runDemo } from './demo/scenario';

// `npm start` at the repository root. The store goes to examples/document-sorter/.demo-data/ (git
// ignores it), so the CLI can look at it afterwards.
const storeDir = fileURLToPath(new URL('../.demo-data', import.meta.url));
const started = performance.now();
// On a terminal the story pauses between chapters so it can be followed; piped, it runs straight through.
await runDemo({ storeDir, out: process.stdout, pauseMs: process.stdout.isTTY ? 800 : 0 });
process.stdout.write(
  `\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s. Look around yourself:\n` +
    '  cd examples/document-sorter\n' +
    '  node scripts/rollout-manager.js status --store file:.demo-data\n' +
    '  node scripts/rollout-manager.js explain ana@company.com aiExtraction --store file:.demo-data\n' +
    'Or see how the rollout went, in the browser (on 127.0.0.1:4848, Ctrl-C to stop):\n' +
    '  npm run dashboard\n',
);
