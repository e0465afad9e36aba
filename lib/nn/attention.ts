// torch.nn.MultiheadAttention for self-attention (query = key = value = the
// input): parameters in_proj_weight (3E, E), in_proj_bias (3E) and the child
// out_proj (weight, bias), initialised as PyTorch does (xavier_uniform_ for
// in_proj_weight, zero biases). The attention itself is the fused op, which
// never materialises the T x T score matrix. Returns the attention output only
// (PyTorch's need_weights=False).
import { invalid } from '../errors.js';
import type { GraphBuilder, Value } from '../graph.js';
import { uniform } from '../random.js';
import { Linear, pathSeed } from './layers.js';
import { Model } from './module.js';
import { nodeName, positiveInt } from './util.js';

export interface MultiheadAttentionOptions {
  dropout?: number;
  bias?: boolean;
  /** Input (B, T, E) when true; (T, B, E) otherwise, as PyTorch's default. */
  batchFirst?: boolean;
  /** Mask future positions (a decoder's self-attention). */
  causal?: boolean;
}

export class MultiheadAttention extends Model {
  readonly headDim: number;
  readonly dropout: number;
  readonly hasBias: boolean;
  readonly batchFirst: boolean;
  readonly causal: boolean;
  readonly outProj: Linear;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    { dropout = 0, bias = true, batchFirst = false, causal = false }: MultiheadAttentionOptions = {},
  ) {
    super();
    const where = 'nn.MultiheadAttention';
    positiveInt(where, 'embedDim', embedDim);
    positiveInt(where, 'numHeads', numHeads);
    if (embedDim % numHeads) throw invalid('ERR_TG_ARG', where, 'numHeads', `a divisor of embedDim (${embedDim})`, numHeads);
    if (!(dropout >= 0 && dropout < 1)) throw invalid('ERR_TG_ARG', where, 'dropout', 'a probability in [0, 1)', dropout);
    this.headDim = embedDim / numHeads;
    this.dropout = dropout;
    this.hasBias = bias;
    this.batchFirst = batchFirst;
    this.causal = causal;
    const bound = Math.sqrt(6 / (embedDim + 3 * embedDim)); // xavier_uniform_ on (3E, E)
    this.registerParameter('in_proj_weight', [3 * embedDim, embedDim], uniform(3 * embedDim * embedDim, -bound, bound));
    if (bias) this.registerParameter('in_proj_bias', [3 * embedDim], new Float32Array(3 * embedDim));
    this.outProj = this.registerModule('out_proj', new Linear(embedDim, embedDim, { bias }));
    if (bias) (this.outProj.namedParameters().find(([n]) => n === 'bias')![1].data as Float32Array).fill(0);
  }

  build(g: GraphBuilder, x: Value, prefix: string): Value {
    const name = nodeName(prefix, 'attention');
    let h = this.batchFirst ? x : g.op1('permute', [x], { dims: [1, 0, 2] }, `${name}.to_batch_first`);
    const proj = [h, this.paramValue(g, prefix, 'in_proj_weight')];
    if (this.hasBias) proj.push(this.paramValue(g, prefix, 'in_proj_bias'));
    const qkv = g.op1('linear', proj, {}, `${name}.in_proj`); // (B, T, 3E)
    const heads = g.op1('unflatten', [qkv], { axis: 2, sizes: [3, this.numHeads, this.headDim] }, `${name}.split_heads`);
    const perm = g.op1('permute', [heads], { dims: [2, 0, 3, 1, 4] }, `${name}.heads_first`); // (3, B, H, T, Dh)
    const [q, k, v] = [0, 1, 2].map((i) => {
      const part = g.op1('slice', [perm], { axis: 0, start: i, end: i + 1 }, `${name}.${'qkv'[i]}`);
      return g.op1('flatten', [part], { start_dim: 0, end_dim: 1 }, `${name}.${'qkv'[i]}_squeeze`); // (B, H, T, Dh)
    });
    const attrs: Record<string, number | boolean> = { causal: this.causal, dropout_p: this.dropout, seed: pathSeed(name) };
    const out = g.op('attention', [q, k, v], attrs, name)[0]; // (B, H, T, Dh)
    const merged = g.op1('flatten', [g.op1('permute', [out], { dims: [0, 2, 1, 3] }, `${name}.tokens_first`)], { start_dim: 2 }, `${name}.merge_heads`);
    h = this.outProj.build(g, merged, `${prefix}out_proj.`);
    return this.batchFirst ? h : g.op1('permute', [h], { dims: [1, 0, 2] }, `${name}.from_batch_first`);
  }
}
