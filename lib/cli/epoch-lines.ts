// One line per epoch on stderr, for logs and pipes: the training commands
// draw a progress bar only on a terminal.
import type { ProgressCallback } from '../train/progress.js';

export function epochLines(): ProgressCallback {
  let epochs = 0;
  return (e) => {
    if (e.type === 'epochStart') epochs = e.epochs;
    if (e.type !== 'epochEnd') return;
    const metrics = Object.entries(e.metrics)
      .map(([k, v]) => `${k} ${v.toFixed(4)}`)
      .join('  ');
    process.stderr.write(`epoch ${e.epoch + 1}/${epochs}  ${metrics}  (${e.time.toFixed(1)} s)\n`);
  };
}
