// The demo's report: a table for the terminal, and a folder with report.md
// (the same table and the picture), curves.svg and curves.png (the SVG
// rendered by resvg), and results.json with every number behind them.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEMO_MODES, MODE_LABELS, type DemoMode, type DemoResult } from './experiment.js';

const COLORS: Record<DemoMode, string> = {
  'linear-probe': '#1f77b4',
  partial: '#2ca02c',
  full: '#d62728',
  scratch: '#7f7f7f',
};

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const secs = (x: number) => `${x < 1 ? x.toFixed(2) : x.toFixed(1)} s`;

function rows(result: DemoResult): string[][] {
  const target = pct(result.target);
  const header = ['k / class', 'method', 'test accuracy', 'best', 'on its k images', 'train time', `epochs to ${target}`, `time to ${target}`];
  const body = result.runs.map((r) => [
    String(r.k),
    MODE_LABELS[r.mode],
    pct(r.accuracy),
    pct(r.best),
    pct(r.trainAccuracy),
    secs(r.seconds),
    r.epochsToTarget === null ? `not in ${r.epochs}` : `${r.epochsToTarget} / ${r.epochs}`,
    r.secondsToTarget === null ? '—' : secs(r.secondsToTarget),
  ]);
  return [header, ...body];
}

/** The table as aligned plain text, for the terminal. */
export function textTable(result: DemoResult): string {
  const table = rows(result);
  const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
  return [line(table[0]), widths.map((w) => '─'.repeat(w)).join('  '), ...table.slice(1).map(line)].join('\n');
}

/** The table in Markdown. */
export function markdownTable(result: DemoResult): string {
  const table = rows(result);
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  const align = table[0].map((_, c) => (c >= 2 ? '---:' : ':---'));
  return [line(table[0]), line(align), ...table.slice(1).map(line)].join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Axis ticks from 0 in steps of 1, 2 or 5 × 10^n, the last at or above `max`. */
function niceTicks(max: number): number[] {
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks = [0];
  while (ticks.at(-1)! < max - 1e-9) ticks.push(ticks.length * step);
  return ticks;
}

/** Test accuracy against training time, one panel per k, one line per method. */
export function curvesSvg(result: DemoResult): string {
  const ks = [...new Set(result.runs.map((r) => r.k))];
  const W = 320;
  const H = 240;
  const M = { left: 48, right: 12, top: 30, bottom: 40 };
  const legendH = 26;
  const width = W * ks.length;
  const height = H + legendH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  ks.forEach((k, i) => {
    const runs = result.runs.filter((r) => r.k === k);
    const x0 = i * W + M.left;
    const pw = W - M.left - M.right;
    const ph = H - M.top - M.bottom;
    const ticks = niceTicks(Math.max(...runs.flatMap((r) => r.curve.map((p) => p.seconds)), 1e-3));
    const tMax = ticks.at(-1)!;
    const sx = (t: number) => x0 + (t / tMax) * pw;
    const sy = (a: number) => M.top + (1 - a) * ph;
    out.push(`<text x="${x0 + pw / 2}" y="18" font-size="13" text-anchor="middle" font-weight="bold">k = ${k} images per class</text>`);
    for (let a = 0; a <= 1.0001; a += 0.25) {
      out.push(`<line x1="${x0}" x2="${x0 + pw}" y1="${sy(a)}" y2="${sy(a)}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${x0 - 6}" y="${sy(a) + 4}" font-size="10" text-anchor="end">${Math.round(a * 100)}%</text>`);
    }
    out.push(`<line x1="${x0}" x2="${x0 + pw}" y1="${sy(result.target)}" y2="${sy(result.target)}" stroke="#999" stroke-dasharray="4 3"/>`);
    out.push(`<rect x="${x0}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
    for (const t of ticks) {
      out.push(`<text x="${sx(t)}" y="${M.top + ph + 14}" font-size="10" text-anchor="middle">${+t.toPrecision(3)}</text>`);
    }
    out.push(`<text x="${x0 + pw / 2}" y="${M.top + ph + 30}" font-size="11" text-anchor="middle">training time (s)</text>`);
    for (const r of runs) {
      const pts = [`${sx(0).toFixed(1)},${sy(1 / result.classes.length).toFixed(1)}`, ...r.curve.map((p) => `${sx(p.seconds).toFixed(1)},${sy(p.accuracy).toFixed(1)}`)];
      out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${COLORS[r.mode]}" stroke-width="2"/>`);
    }
  });
  let lx = 12;
  for (const mode of DEMO_MODES.filter((m) => result.runs.some((r) => r.mode === m))) {
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${H + 12}" y2="${H + 12}" stroke="${COLORS[mode]}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 28}" y="${H + 16}" font-size="11">${esc(MODE_LABELS[mode])}</text>`);
    lx += 36 + MODE_LABELS[mode].length * 6.2;
  }
  out.push('</svg>');
  return out.join('\n');
}

async function renderPng(svg: string): Promise<Buffer> {
  // Loaded on first use, as the only caller is the demo.
  const { Resvg } = await import('@resvg/resvg-js');
  return new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
}

function summary(result: DemoResult): string[] {
  const lines: string[] = [];
  for (const k of [...new Set(result.runs.map((r) => r.k))]) {
    const runs = result.runs.filter((r) => r.k === k);
    const scratch = runs.find((r) => r.mode === 'scratch');
    const pretrained = runs.filter((r) => r.mode !== 'scratch');
    if (!scratch || !pretrained.length) continue;
    const best = pretrained.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
    const gain = best.accuracy - scratch.accuracy;
    lines.push(
      `- k = ${k}: ${MODE_LABELS[best.mode]} reaches ${pct(best.accuracy)} against ${pct(scratch.accuracy)} from scratch ` +
        `(${gain >= 0 ? '+' : ''}${(100 * gain).toFixed(1)} points) in ${secs(best.seconds)} of training against ${secs(scratch.seconds)}.`,
    );
  }
  return lines;
}

export interface ReportFiles {
  markdown: string;
  svg: string;
  png: string;
  json: string;
}

/** Writes report.md, curves.svg, curves.png and results.json into `dir`. */
export async function writeReport(result: DemoResult, dir: string, info: { command: string; machine: string }): Promise<ReportFiles> {
  await mkdir(dir, { recursive: true });
  const files: ReportFiles = {
    markdown: join(dir, 'report.md'),
    svg: join(dir, 'curves.svg'),
    png: join(dir, 'curves.png'),
    json: join(dir, 'results.json'),
  };
  const svg = curvesSvg(result);
  await writeFile(files.svg, svg);
  await writeFile(files.png, await renderPng(svg));
  await writeFile(files.json, JSON.stringify(result, null, 2) + '\n');
  const md = [
    '# tensorgraft demo: what transfer learning buys',
    '',
    `A ResNet-18 at a quarter width, pretrained on the synthetic source domain (see assets/demo/pretrain-log.md), is fine-tuned on ` +
      `${result.classes.length} classes it never saw (${result.classes.join(', ')}) with k labelled ${result.imageSize}×${result.imageSize} images per class, ` +
      'and the same architecture is trained from scratch on the same images. Accuracy is on ' +
      `${result.testImages} held-out test images; "on its k images" is the accuracy on the run's own training images (high there and low on ` +
      'the test images means the images were memorised, not learnt from). Times are training only, without the evaluation after each epoch.',
    '',
    markdownTable(result),
    '',
    ...summary(result),
    '',
    '![test accuracy against training time](curves.png)',
    '',
    `Command: \`${info.command}\` on ${info.machine}; ${secs(result.seconds)} in all.`,
    '',
  ].join('\n');
  await writeFile(files.markdown, md);
  return files;
}

