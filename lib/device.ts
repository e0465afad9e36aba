// What this build and this machine can run on.
import { native, type NativeBuildInfo, type NativeDevice } from './native.js';

export type BuildInfo = NativeBuildInfo;
export type DeviceInfo = NativeDevice;

/** Version, builder, SIMD level in use, threads, and what CUDA support was compiled in. */
export function buildInfo(): BuildInfo {
  return native().buildInfo();
}

/** 'cpu' always; 'cuda:N' for each GPU the CUDA runtime can see (none without a CUDA build). */
export function devices(): DeviceInfo[] {
  return native().devices();
}

/**
 * Caps the CPU kernels at a SIMD level ('scalar', 'avx2', 'avx512') the CPU supports;
 * returns the previous level. For testing and comparison; TG_SIMD does the same at start-up.
 */
export function setSimd(level: 'scalar' | 'avx2' | 'avx512'): string {
  return native().setSimd(level);
}
