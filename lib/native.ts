// Loads the compiled addon. Both builds put it in build/Release: cmake-js
// (npm install) and node-gyp (npm run build:gyp). TG_ADDON overrides the path,
// which scripts/gpu-check.sh uses to run a prebuilt addon.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tgError } from './errors.js';
import type { HostTensorLike } from './tensor.js';

export interface NativeBuildInfo {
  version: string;
  builder: 'cmake' | 'node-gyp';
  simd: 'scalar' | 'avx2' | 'avx512';
  /** Set by setFloat32Precision. */
  float32Precision: 'highest' | 'high';
  simdSupported: Array<'scalar' | 'avx2' | 'avx512'>;
  threads: number;
  cuda: {
    compiled: boolean;
    architectures: number[];
    runtimeVersion: string | null;
    driverVersion: string | null;
    devices: number;
    unavailableReason?: string;
  };
}

export interface NativeDevice {
  name: string;
  type: 'cpu' | 'cuda';
  index: number;
  threads?: number;
  simd?: string;
  model?: string;
  memory?: number;
  computeCapability?: string;
  multiprocessors?: number;
}

/** What a training step on feeds of given shapes runs and allocates. */
export interface StepInfo {
  forwardNodes: number;
  backwardNodes: number;
  /** Bytes of the reusable activation/gradient buffers the step allocates. */
  plannedBytes: number;
  /** Most bytes live at once during the step. */
  peakBytes: number;
  /** Bytes without any reuse, for comparison. */
  naiveBytes: number;
  /** "<node>: <op>" of each backward node. */
  backwardOps: string[];
  trainable: string[];
}

export interface NativeSession {
  run(feeds: Record<string, HostTensorLike>, fetch: string[]): Promise<Record<string, HostTensorLike>>;
  step(feeds: Record<string, HostTensorLike>): Promise<{ loss: number }>;
  stepInfo(feeds: Record<string, { shape: number[]; dtype?: string }>): StepInfo;
  setLr(lr: number, group: number): void;
  setTraining(training: boolean): void;
  optimizerState(): { steps: number; tensors: Record<string, HostTensorLike>; lrs: number[] };
  loadOptimizerState(state: { steps: number; tensors: Record<string, HostTensorLike>; lrs?: number[] }): void;
  /** Steps taken; dropout's masks are drawn from it. */
  stepCount(): number;
  setStepCount(n: number): void;
  dispose(): void;
}

export interface NativeOpInfo {
  name: string;
  inputs: string[];
  outputs: number;
  differentiable: boolean;
  doc: string;
}

export interface NativeAddon {
  NativeSession: new (graph: unknown, params: Record<string, HostTensorLike>, options: unknown) => NativeSession;
  listOps(): NativeOpInfo[];
  runOp(name: string, inputs: HostTensorLike[], attrs: Record<string, unknown>, options: Record<string, unknown>): Promise<HostTensorLike[]>;
  vjp(
    name: string,
    inputs: HostTensorLike[],
    attrs: Record<string, unknown>,
    gradOutputs: Array<HostTensorLike | null>,
    options: Record<string, unknown>,
  ): Promise<{ outputs: HostTensorLike[]; grads: Array<HostTensorLike | null>; ops: string[] }>;
  buildInfo(): NativeBuildInfo;
  devices(): NativeDevice[];
  setSimd(level: string): string;
  setFloat32Precision(mode: string): string;
  gemm(
    a: HostTensorLike,
    b: HostTensorLike,
    c: HostTensorLike | null,
    attrs: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number },
    options: { device?: string },
  ): Promise<HostTensorLike>;
  cast(x: HostTensorLike, attrs: { dtype: string }, options: { device?: string }): Promise<HostTensorLike>;
  benchSgemm(options: {
    impl: 'ours' | 'openblas';
    lib?: string;
    m: number;
    n: number;
    k: number;
    transA?: boolean;
    transB?: boolean;
    reps: number;
    threads?: number;
  }): Promise<{ seconds: number; gflops: number; threads: number }>;
}

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function load(): NativeAddon {
  const candidates = process.env.TG_ADDON
    ? [resolve(process.env.TG_ADDON)]
    : [join(packageRoot, 'build', 'Release', 'tensorgraft.node')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw tgError(
      'ERR_TG_ADDON',
      `tensorgraft: the native addon is not built (looked for ${candidates.join(', ')}); ` +
        'run `npm run build:native` (cmake) or `npm run build:gyp` (node-gyp, CPU only)',
    );
  }
  const require = createRequire(import.meta.url);
  return require(found) as NativeAddon;
}

let addon: NativeAddon | undefined;

/** The addon, loaded on first use so that `--help` and type imports work without it. */
export function native(): NativeAddon {
  addon ??= load();
  return addon;
}
