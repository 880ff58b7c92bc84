// Bundles the explorer into dist/: explorer.js (esbuild, @polkadot/api included), index.html,
// style.css. Usage: node build.mjs
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
mkdirSync(`${here}dist`, { recursive: true });
await build({
  entryPoints: [`${here}src/main.js`],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: `${here}dist/explorer.js`,
  logLevel: 'warning',
});
for (const file of ['index.html', 'style.css']) copyFileSync(`${here}${file}`, `${here}dist/${file}`);
console.log(`built ${here}dist`);
