// torch.nn.Embedding: a lookup table "weight" (numEmbeddings, embeddingDim)
// initialised N(0, 1), with the padding row zeroed and given no gradient.
import { invalid } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { normal } from '../random.js';
import { Model } from './module.js';
import { nodeName, positiveInt } from './util.js';

export class Embedding extends Model {
  readonly paddingIdx: number | undefined;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    { paddingIdx }: { paddingIdx?: number } = {},
  ) {
    super();
    positiveInt('nn.Embedding', 'numEmbeddings', numEmbeddings);
    positiveInt('nn.Embedding', 'embeddingDim', embeddingDim);
    let pad = paddingIdx;
    if (pad !== undefined) {
      if (!Number.isInteger(pad) || pad < -numEmbeddings || pad >= numEmbeddings) {
        throw invalid('ERR_TG_ARG', 'nn.Embedding', 'paddingIdx', `an index in [-${numEmbeddings}, ${numEmbeddings})`, pad);
      }
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    const w = normal(numEmbeddings * embeddingDim);
    if (pad !== undefined) w.fill(0, pad * embeddingDim, (pad + 1) * embeddingDim);
    this.registerParameter('weight', [numEmbeddings, embeddingDim], w);
  }

  /** x: integer ids of any shape -> (..., embeddingDim). */
  build(g: GraphBuilder, x: Value, prefix: string): Value {
    return g.op1('embedding', [this.paramValue(g, prefix, 'weight'), x], { padding_idx: this.paddingIdx ?? -1 }, nodeName(prefix, 'embedding'));
  }
}
