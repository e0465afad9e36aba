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
