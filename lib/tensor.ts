// Host tensors: a TypedArray, a shape and a dtype. This is what crosses the
// boundary; native code borrows `data` while it runs and returns results in
// memory it hands over to JS without copying.
import { invalid, tgError } from './errors.js';

export type DType = 'f32' | 'f16' | 'bf16' | 'i32' | 'i64' | 'u8' | 'bool';
export const DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'i32', 'i64', 'u8', 'bool'];

/** The TypedArray that stores each dtype; f16 and bf16 are raw 16-bit patterns. */
export interface DTypeArrays {
  f32: Float32Array;
  f16: Uint16Array;
  bf16: Uint16Array;
  i32: Int32Array;
  i64: BigInt64Array;
  u8: Uint8Array;
  bool: Uint8Array;
}
export type TypedArrayFor<D extends DType> = DTypeArrays[D];
export type AnyTensorData = DTypeArrays[DType];

export interface HostTensorLike {
  data: AnyTensorData;
  shape: number[];
  dtype: DType;
}

const ARRAY_OF: Record<DType, Function> = {
  f32: Float32Array,
  f16: Uint16Array,
  bf16: Uint16Array,
  i32: Int32Array,
  i64: BigInt64Array,
  u8: Uint8Array,
  bool: Uint8Array,
};

export class Tensor<D extends DType = DType> implements HostTensorLike {
  readonly data: TypedArrayFor<D>;
  readonly shape: number[];
  readonly dtype: D;

  constructor(data: TypedArrayFor<D>, shape: number[], dtype: D) {
    this.data = data;
    this.shape = shape;
    this.dtype = dtype;
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(', ')}])`;
  }
}

function inferDType(data: unknown): DType | undefined {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof BigInt64Array) return 'i64';
  if (data instanceof Uint8Array) return 'u8';
  return undefined; // Uint16Array is ambiguous (f16 or bf16) and must be named
}

export function checkShape(shape: unknown, where: string, param = 'shape'): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalid('ERR_TG_SHAPE', where, param, 'an array of non-negative integers', shape);
  }
  return shape as number[];
}

/**
 * A host tensor. `data` is used as is (not copied). The dtype is inferred from
 * the array type; Uint16Array needs `dtype` 'f16' or 'bf16', and a plain number
 * array becomes f32.
 */
export function tensor<D extends DType>(data: TypedArrayFor<D> | number[], shape: number[], dtype?: D): Tensor<D> {
  const where = 'tg.tensor';
  const arr = Array.isArray(data) ? Float32Array.from(data) : data;
  if (!ArrayBuffer.isView(arr) || arr instanceof DataView) {
    throw invalid('ERR_TG_ARG', where, 'data', 'a TypedArray or an array of numbers', data);
  }
  const dt = (dtype ?? inferDType(arr)) as D | undefined;
  if (dt === undefined) {
    throw invalid('ERR_TG_DTYPE', where, 'dtype', "given for this array type ('f16' or 'bf16' for a Uint16Array)", dtype);
  }
  if (!DTYPES.includes(dt)) {
    throw invalid('ERR_TG_DTYPE', where, 'dtype', `one of ${DTYPES.join(', ')}`, dt);
  }
  if (!(arr instanceof ARRAY_OF[dt])) {
    throw tgError(
      'ERR_TG_DTYPE',
      `${where}: dtype ${dt} is stored in a ${ARRAY_OF[dt].name}, got a ${arr.constructor.name}`,
    );
  }
  checkShape(shape, where);
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel !== (arr as TypedArrayFor<D>).length) {
    throw tgError(
      'ERR_TG_SHAPE',
      `${where}: shape [${shape.join(', ')}] has ${numel} elements but data has ${(arr as TypedArrayFor<D>).length}`,
    );
  }
  return new Tensor(arr as TypedArrayFor<D>, [...shape], dt);
}

/** Wraps a result from native code in the Tensor class. */
export function fromNative(t: HostTensorLike): Tensor {
  return new Tensor(t.data, t.shape, t.dtype);
}
