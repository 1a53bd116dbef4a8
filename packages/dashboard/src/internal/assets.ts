import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file the page loads. */
export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
  /** Changes with the content: the page asks for `name?v=<version>`, which may be cached for good. */
  readonly version: string;
}

const TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  html: 'text/html; charset=utf-8',
  svg: 'image/svg+xml',
};

const OWN = ['index.html', 'app.js', 'app.css', 'favicon.svg'];
const UPLOT = ['uPlot.iife.min.js', 'uPlot.min.css'];

/**
 * The page's files, read once. Built, they sit in `dist/assets` (uPlot's copied there at build
 * time); from the sources, ours are in `assets/` and uPlot's in its package.
 */
export function loadAssets(): Map<string, Asset> {
  const here = dirname(fileURLToPath(import.meta.url));
  const built = join(here, 'assets');
  const source = join(here, '..', '..', 'assets');
  const dir = existsSync(join(built, 'app.js')) ? built : source;
  const assets = new Map<string, Asset>();
  for (const name of OWN) assets.set(name, asset(name, readFileSync(join(dir, name))));
  for (const name of UPLOT) {
    const path = existsSync(join(dir, name))
      ? join(dir, name)
      : createRequire(import.meta.url).resolve(`uplot/dist/${name}`);
    assets.set(name, asset(name, readFileSync(path)));
  }
  return assets;
}

function asset(name: string, body: Buffer): Asset {
  const ext = name.slice(name.lastIndexOf('.') + 1);
  let hash = 0;
  for (const byte of body) hash = (hash * 31 + byte) >>> 0;
  const version = `${body.length.toString(36)}-${hash.toString(36)}`;
  return { body, type: TYPES[ext] ?? 'application/octet-stream', etag: `"${version}"`, version };
}
