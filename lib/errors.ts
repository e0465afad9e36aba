// One way to report bad arguments: name the parameter, say what was expected,
// show what was given. Native errors arrive with the same shape (a `code`).

export type ErrorCode =
  | 'ERR_TG_ARG'
  | 'ERR_TG_SHAPE'
  | 'ERR_TG_DTYPE'
  | 'ERR_TG_DEVICE'
  | 'ERR_TG_OOM'
  | 'ERR_TG_CUDA'
  | 'ERR_TG_ADDON'
  | 'ERR_TG_FORMAT' // a malformed, truncated or refused file (weights, checkpoints)
  | 'ERR_TG_IO' // a file or download that could not be read or written
  | 'ERR_TG_INTERNAL';

export interface TgError extends Error {
  code: ErrorCode;
}

export function tgError(code: ErrorCode, message: string): TgError {
  const err = new Error(message) as TgError;
  err.code = code;
  return err;
}

/** Describes a value briefly for an error message. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return value.length > 8 ? `an array of length ${value.length}` : JSON.stringify(value);
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as ArrayLike<unknown>).length}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return String(value);
}

/** `where: param must be <expected>, got <value>` as an error with `code`. */
export function invalid(code: ErrorCode, where: string, param: string, expected: string, value: unknown): TgError {
  return tgError(code, `${where}: ${param} must be ${expected}, got ${describe(value)}`);
}
