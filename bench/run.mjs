// `npm run bench -- <name> [args]`: runs bench/<name>.mjs. Each bench prints
// JSON lines with our figure beside the peer's from the same run.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const names = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs')
  .map((f) => f.slice(0, -4));
const name = process.argv[2];
if (!name || !names.includes(name)) {
  console.error(`usage: npm run bench -- <${names.join('|')}>`);
  process.exit(name ? 1 : 0);
}
process.argv.splice(2, 1);
await import(pathToFileURL(join(here, `${name}.mjs`)).href);
