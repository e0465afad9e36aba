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

/**
 * How exact float32 kernels must be, as torch.set_float32_matmul_precision:
 * 'highest' (the default) computes every convolution directly, as PyTorch
 * does on the CPU; 'high' lets 3x3 stride-1 convolutions use Winograd
 * F(4x4, 3x3), 1.5-2.8x faster, with about 1e-5 of the output's scale as
 * rounding error per layer (ten times a direct convolution's) — in a training
 * step, single gradient elements can move by about 1% of the largest.
 * Returns the previous mode.
 */
export function setFloat32Precision(mode: 'highest' | 'high'): 'highest' | 'high' {
  return native().setFloat32Precision(mode) as 'highest' | 'high';
}
