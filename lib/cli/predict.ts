// `tensorgraft predict`: the top-k classes of each image, with softmax
// probabilities, through the same eval preset finetune validates with.
import type { Command } from 'commander';
import { collate, loadImage } from '../data/index.js';
import { imagenetEval } from '../data/transforms.js';
import { load } from '../models/index.js';
import { positiveInt } from './options.js';
import { isSegmentationMeta, segmentationPredict } from './segment.js';
import { modelSpec, resolveLabels, weightsMetadata } from './vision-model.js';

interface PredictOptions {
  model?: string;
  weights: string;
  labels?: string;
  topK: number;
  size?: number;
  batchSize: number;
  device: string;
  json?: boolean;
  outDir?: string;
}

interface Guess {
  index: number;
  label: string;
  probability: number;
}

/** The k most probable classes of one row of logits (softmax in float64; ties to the lower index). */
function topK(logits: Float32Array, k: number, names: string[] | undefined): Guess[] {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const exp = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp
    .map((e, index) => ({ index, probability: e / sum }))
    .sort((a, b) => b.probability - a.probability || a.index - b.index)
    .slice(0, k)
    .map((g) => ({ ...g, label: names?.[g.index] ?? `class ${g.index}` }));
}

async function predict(images: string[], o: PredictOptions): Promise<void> {
  const where = 'predict';
  // Weights from `finetune --task segmentation` predict masks, not classes.
  const meta = await weightsMetadata(o.weights);
  if (isSegmentationMeta(meta)) return segmentationPredict(images, meta, o);
  const { arch, size, classes: recorded } = await modelSpec(where, o);
  const model = await load(arch, { weights: o.weights });
  const numClasses = model.loadReport.head?.numClasses ?? 0;
  const { names } = await resolveLabels(where, { labels: o.labels, weights: o.weights, numClasses, recorded });
  const transform = imagenetEval({ size });
  const k = Math.min(o.topK, numClasses);
  const results: Array<{ image: string; top: Guess[] }> = [];
  for (let start = 0; start < images.length; start += o.batchSize) {
    const paths = images.slice(start, start + o.batchSize);
    const inputs = await Promise.all(paths.map(async (p) => ({ input: await loadImage(p, { transform }) })));
    const logits = await model.predict(collate(inputs, paths).input, { device: o.device });
    const width = logits.shape[1];
    paths.forEach((image, i) => {
      results.push({ image, top: topK((logits.data as Float32Array).subarray(i * width, (i + 1) * width), k, names) });
    });
  }
  if (o.json) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  for (const r of results) {
    console.log(r.image);
    for (const g of r.top) console.log(`  ${g.probability.toFixed(4)}  ${g.label}`);
  }
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('classify images (the top-k classes of each, with probabilities), or with segmentation weights write a coloured mask PNG per image')
    .argument('<images...>', 'image files (JPEG, PNG, WebP, TIFF, AVIF)')
    .option('--model <arch>', 'architecture (default: as recorded in weights written by finetune)')
    .requiredOption('--weights <file>', 'the weights (finetune output, torchvision .pth, safetensors)')
    .option('--labels <file>', 'class names, a JSON array (default: labels.json beside the weights, or the ImageNet names for 1000 outputs)')
    .option('--top-k <k>', 'classes shown per image', positiveInt, 5)
    .option('--size <pixels>', 'input size (default: as recorded in the weights, else 224)', positiveInt)
    .option('--batch-size <n>', 'images per batch', positiveInt, 16)
    .option('--device <device>', "'cpu' or 'auto'", 'cpu')
    .option('--json', 'print JSON')
    .option('--out-dir <dir>', 'segmentation: where the <image>.mask.png files go (default: beside each image)')
    .action((images: string[], opts: PredictOptions) => predict(images, opts));
}
