// tensorgraft: transfer learning for Node.js. See README.md and DESIGN.md.
export { tensor, Tensor, DTYPES, type DType, type HostTensorLike, type TypedArrayFor } from './tensor.js';
export * as ops from './ops.js';
export { buildInfo, devices, setSimd, type BuildInfo, type DeviceInfo } from './device.js';
export { tgError, type TgError, type ErrorCode } from './errors.js';
