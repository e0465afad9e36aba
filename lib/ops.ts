// Eager ops: each runs one kernel on host tensors, off the JS thread, and
// resolves to new host tensors. The low-level door to every kernel.
import { invalid } from './errors.js';
import { native } from './native.js';
import { DTYPES, Tensor, fromNative, type DType, type HostTensorLike } from './tensor.js';

export interface OpOptions {
  /** 'cpu' (default), 'cuda', 'cuda:N' or 'auto'. */
  device?: string;
}

export interface GemmAttrs {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

function isTensor(v: unknown): v is HostTensorLike {
  return typeof v === 'object' && v !== null && 'data' in v && 'shape' in v && 'dtype' in v;
}

function checkTensor(v: unknown, where: string, param: string): HostTensorLike {
  if (!isTensor(v)) throw invalid('ERR_TG_ARG', where, param, 'a tensor { data, shape, dtype }', v);
  return v;
}

function checkOptions(options: OpOptions | undefined, where: string): OpOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw invalid('ERR_TG_ARG', where, 'options', 'an object', options);
  if (options.device !== undefined && typeof options.device !== 'string') {
    throw invalid('ERR_TG_DEVICE', where, 'options.device', "a string such as 'cpu' or 'cuda:0'", options.device);
  }
  return options;
}

/**
 * out = alpha * op(a) @ op(b) + beta * c, in f32. a: (M, K) or (B, M, K), b: (K, N)
 * or (B, K, N) — transposed storage with transA / transB; a rank-2 operand is
 * shared across the batch. c (optional, the output's shape) is not modified.
 *
 *   await tg.ops.gemm(a, b, { transB: true })
 *   await tg.ops.gemm(a, b, c, { alpha: 2, beta: 0.5 }, { device: 'cuda' })
 */
export function gemm(a: HostTensorLike, b: HostTensorLike, attrs?: GemmAttrs, options?: OpOptions): Promise<Tensor>;
export function gemm(
  a: HostTensorLike,
  b: HostTensorLike,
  c: HostTensorLike | null,
  attrs?: GemmAttrs,
  options?: OpOptions,
): Promise<Tensor>;
export async function gemm(a: HostTensorLike, b: HostTensorLike, ...rest: unknown[]): Promise<Tensor> {
  const where = 'tg.ops.gemm';
  checkTensor(a, where, 'a');
  checkTensor(b, where, 'b');
  let c: HostTensorLike | null = null;
  if (rest.length > 0 && (rest[0] === null || isTensor(rest[0]))) c = rest.shift() as HostTensorLike | null;
  const attrs = (rest[0] ?? {}) as GemmAttrs;
  if (typeof attrs !== 'object') throw invalid('ERR_TG_ARG', where, 'attrs', 'an object', attrs);
  const options = checkOptions(rest[1] as OpOptions | undefined, where);
  return fromNative(await native().gemm(a, b, c, attrs, options));
}

/** A copy of x converted to `dtype` (f16/bf16 round to nearest even). */
export async function cast(x: HostTensorLike, attrs: { dtype: DType }, options?: OpOptions): Promise<Tensor> {
  const where = 'tg.ops.cast';
  checkTensor(x, where, 'x');
  if (typeof attrs !== 'object' || attrs === null || !DTYPES.includes(attrs.dtype)) {
    throw invalid('ERR_TG_DTYPE', where, 'attrs.dtype', `one of ${DTYPES.join(', ')}`, attrs?.dtype);
  }
  return fromNative(await native().cast(x, attrs, checkOptions(options, where)));
}

export type OpAttrs = Record<string, number | boolean | string | number[]>;
type OpArg = HostTensorLike | OpAttrs | OpOptions | null | undefined;

/**
 * Runs any registered op once: tensors first, then attributes, then options.
 * Resolves to its output, or to an array when the op has several.
 *   await tg.ops.run('softmax', [x], { axis: -1 })
 */
export async function run(name: string, inputs: HostTensorLike[], attrs: OpAttrs = {}, options?: OpOptions): Promise<Tensor | Tensor[]> {
  const where = `tg.ops.${name}`;
  if (!Array.isArray(inputs)) throw invalid('ERR_TG_ARG', where, 'inputs', 'an array of tensors', inputs);
  inputs.forEach((t, i) => checkTensor(t, where, `input ${i}`));
  const outs = (await native().runOp(name, inputs, attrs ?? {}, checkOptions(options, where) as Record<string, unknown>)).map(fromNative);
  return outs.length === 1 ? outs[0] : outs;
}

/**
 * The vector-Jacobian product of an op: runs it, then its backward rule with
 * `gradOutputs` as the incoming gradients (null: none). Resolves to the
 * forward outputs and one gradient per input (null where none flows).
 */
export async function vjp(
  name: string,
  inputs: HostTensorLike[],
  gradOutputs: Array<HostTensorLike | null>,
  attrs: OpAttrs = {},
  options?: OpOptions,
): Promise<{ outputs: Tensor[]; grads: Array<Tensor | null> }> {
  const r = await native().vjp(name, inputs, attrs, gradOutputs, checkOptions(options, `tg.ops.vjp(${name})`) as Record<string, unknown>);
  return { outputs: r.outputs.map(fromNative), grads: r.grads.map((g) => (g ? fromNative(g) : null)) };
}

/** The registered ops: name, inputs, outputs, differentiable, doc. */
export function list() {
  return native().listOps();
}

// One function per op: tensors, then attributes, then options.
function op(name: string) {
  return (...args: OpArg[]): Promise<Tensor | Tensor[]> => {
    const tensors: HostTensorLike[] = [];
    while (args.length && isTensor(args[0])) tensors.push(args.shift() as HostTensorLike);
    return run(name, tensors, (args[0] ?? {}) as OpAttrs, args[1] as OpOptions | undefined);
  };
}

export const adaptive_avg_pool2d = op('adaptive_avg_pool2d');
export const adaptive_avg_pool2d_backward = op('adaptive_avg_pool2d_backward');
export const adaptive_max_pool2d = op('adaptive_max_pool2d');
export const add = op('add');
export const attention = op('attention');
export const attention_backward = op('attention_backward');
export const avg_pool2d = op('avg_pool2d');
export const avg_pool2d_backward = op('avg_pool2d_backward');
export const batch_norm = op('batch_norm');
export const batch_norm_backward = op('batch_norm_backward');
export const batch_norm_stats_backward = op('batch_norm_stats_backward');
export const bce_with_logits = op('bce_with_logits');
export const bce_with_logits_backward = op('bce_with_logits_backward');
export const broadcast_to = op('broadcast_to');
export const concat = op('concat');
export const conv2d = op('conv2d');
export const conv2d_backward_input = op('conv2d_backward_input');
export const conv2d_backward_weight = op('conv2d_backward_weight');
export const conv_transpose2d = op('conv_transpose2d');
export const conv_transpose2d_backward_input = op('conv_transpose2d_backward_input');
export const conv_transpose2d_backward_weight = op('conv_transpose2d_backward_weight');
export const cross_entropy = op('cross_entropy');
export const cross_entropy_backward = op('cross_entropy_backward');
export const div = op('div');
export const div_backward_b = op('div_backward_b');
export const dropout = op('dropout');
export const dropout_backward = op('dropout_backward');
export const embedding = op('embedding');
export const embedding_backward = op('embedding_backward');
export const flatten = op('flatten');
export const gather = op('gather');
export const gather_backward = op('gather_backward');
export const gelu = op('gelu');
export const gelu_backward = op('gelu_backward');
export const group_norm = op('group_norm');
export const group_norm_backward = op('group_norm_backward');
export const huber = op('huber');
export const huber_backward = op('huber_backward');
export const index_select = op('index_select');
export const index_select_backward = op('index_select_backward');
export const layer_norm = op('layer_norm');
export const layer_norm_backward = op('layer_norm_backward');
export const linear = op('linear');
export const linear_backward_weight = op('linear_backward_weight');
export const log_softmax = op('log_softmax');
export const log_softmax_backward = op('log_softmax_backward');
export const masked_fill = op('masked_fill');
export const matmul = op('matmul');
export const max_pool2d = op('max_pool2d');
export const max_pool2d_backward = op('max_pool2d_backward');
export const mean = op('mean');
export const mean_backward = op('mean_backward');
export const moments_backward = op('moments_backward');
export const mse = op('mse');
export const mse_backward = op('mse_backward');
export const mul = op('mul');
export const neg = op('neg');
export const ones_like = op('ones_like');
export const pad = op('pad');
export const pad_backward = op('pad_backward');
export const padding_mask = op('padding_mask');
export const permute = op('permute');
export const position_ids = op('position_ids');
export const relu = op('relu');
export const relu_backward = op('relu_backward');
export const reshape = op('reshape');
export const scale = op('scale');
export const sigmoid = op('sigmoid');
export const sigmoid_backward = op('sigmoid_backward');
export const silu = op('silu');
export const silu_backward = op('silu_backward');
export const slice = op('slice');
export const slice_backward = op('slice_backward');
export const smooth_l1 = op('smooth_l1');
export const smooth_l1_backward = op('smooth_l1_backward');
export const softmax = op('softmax');
export const softmax_backward = op('softmax_backward');
export const sub = op('sub');
export const sum = op('sum');
export const sum_backward = op('sum_backward');
export const sum_to = op('sum_to');
export const tanh = op('tanh');
export const tanh_backward = op('tanh_backward');
export const transpose = op('transpose');
export const unflatten = op('unflatten');
export const upsample = op('upsample');
export const upsample_backward = op('upsample_backward');
export const where = op('where');
export const where_backward = op('where_backward');
