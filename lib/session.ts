// A compiled model. Compiling builds the forward graph (and the loss), and
// hands it with the model's parameter arrays to native code, which plans and
// runs whole steps: forward, backward through the trainable part only, and
// the optimizer update, in one call. Parameters are shared with the Model, so
// model.stateDict() and model.predict() see trained values at once.
import { invalid, tgError } from './errors.js';
import { GraphBuilder, type Value } from './graph.js';
import { matchesAny } from './glob.js';
import { native, type NativeSession, type StepInfo } from './native.js';
import type { Model } from './nn/module.js';
import type { OptimizerSpec } from './optim.js';
import { segmentationLoss, segmentationTargetDtype, type SegmentationLossSpec } from './seg-losses.js';
import { Tensor, fromNative, type HostTensorLike } from './tensor.js';

export type { StepInfo };
export type { BceDiceLossSpec, CrossEntropyDiceLossSpec, DiceLossSpec, SegmentationLossSpec } from './seg-losses.js';

/**
 * Segmentation (see seg-losses.ts): 'dice' and 'cross_entropy_dice' take logits
 * (N, C, H, W) and class ids (N, H, W); 'bce_dice' takes logits (N, 1, H, W) and
 * f32 targets in [0, 1], (N, 1, H, W) or (N, H, W).
 */
export type LossSpec =
  | 'cross_entropy'
  | 'mse'
  | 'bce_with_logits'
  | 'dice'
  | 'bce_dice'
  | 'cross_entropy_dice'
  | { type: 'cross_entropy'; labelSmoothing?: number; ignoreIndex?: number; classWeights?: number[] }
  | { type: 'mse' }
  | { type: 'bce_with_logits' }
  | SegmentationLossSpec;

export interface CompileOptions {
  /** 'cpu' (default) or 'auto'; the graph engine runs on the CPU until the CUDA op library lands. */
  device?: string;
  /** The loss `step` minimises, against the `target` feed; default cross-entropy. null: inference only. */
  loss?: LossSpec | null;
  optimizer?: OptimizerSpec;
  /** Start in training mode (default true when an optimizer is given). */
  training?: boolean;
}

type Feeds = HostTensorLike | Record<string, HostTensorLike>;

function isTensor(v: unknown): v is HostTensorLike {
  return typeof v === 'object' && v !== null && 'data' in v && 'shape' in v && 'dtype' in v;
}

/** The loss of one output; `target` declares the target input on first use and returns it after. */
function lossNode(
  g: GraphBuilder,
  spec: LossSpec,
  model: Model,
  logitsOut: Value,
  extra: Record<string, Tensor<'f32'>>,
  target: (dtype: 'f32' | null) => Value,
) {
  const s = typeof spec === 'string' ? { type: spec } : spec;
  const operands = (dtype: 'f32' | null) => model.lossOperands(g, logitsOut, target(dtype));
  const crossEntropy = (logits: Value, target: Value, ce: { labelSmoothing?: number; ignoreIndex?: number; classWeights?: number[] }) => {
    const inputs = [logits, target];
    if (ce.classWeights) {
      extra['loss.weight'] = new Tensor(Float32Array.from(ce.classWeights), [ce.classWeights.length], 'f32');
      inputs.push(g.param('loss.weight', [ce.classWeights.length]));
    }
    return g.op1('cross_entropy', inputs, { label_smoothing: ce.labelSmoothing ?? 0, ignore_index: ce.ignoreIndex ?? -100 }, 'loss');
  };
  switch (s.type) {
    case 'cross_entropy': {
      const [logits, target] = operands(null);
      return crossEntropy(logits, target, s as { labelSmoothing?: number; ignoreIndex?: number; classWeights?: number[] });
    }
    case 'mse':
      return g.op1('mse', operands('f32'), {}, 'loss');
    case 'bce_with_logits':
      return g.op1('bce_with_logits', operands('f32'), {}, 'loss');
    case 'dice':
    case 'bce_dice':
    case 'cross_entropy_dice': {
      const seg = s as SegmentationLossSpec;
      const [logits, target] = operands(segmentationTargetDtype(seg));
      return segmentationLoss(g, seg, logits, target, (ce) => crossEntropy(logits, target, ce));
    }
    default:
      throw invalid('ERR_TG_ARG', 'compile', 'loss', "'cross_entropy', 'mse', 'bce_with_logits', 'dice', 'bce_dice' or 'cross_entropy_dice'", spec);
  }
}

export class Session {
  private nativeSession: NativeSession;
  private trainableKey: string;
  private paramRefs: HostTensorLike[];
  private extraParams: Record<string, Tensor<'f32'>> = {};
  private graph!: ReturnType<GraphBuilder['describe']>;
  private outputNames: string[] = [];
  private training: boolean;
  private groupCount = 0;

  constructor(
    readonly model: Model,
    private readonly options: CompileOptions,
  ) {
    const device = options.device ?? 'cpu';
    if (device !== 'cpu' && device !== 'auto') {
      throw tgError('ERR_TG_DEVICE', `compile: device '${device}' is not supported by the graph engine yet (use 'cpu' or 'auto')`);
    }
    this.training = options.training ?? options.optimizer !== undefined;
    this.trainableKey = model.trainableParameters().join('\n');
    this.paramRefs = this.parameterRefs();
    this.nativeSession = this.create();
  }

  /** Names of the parameters that get gradients in this session. */
  get trainable(): string[] {
    return this.options.optimizer ? this.model.trainableParameters() : [];
  }

  // The graph depends on which parameters train (a frozen BatchNorm keeps its
  // running statistics), so it is built with the native session.
  private buildGraph(): void {
    const g = new GraphBuilder();
    const inputs = Object.fromEntries(this.model.inputSpecs().map((s) => [s.name, g.input(s.name, s.shape, s.dtype)]));
    const outputs = this.model.forward(g, inputs);
    for (const [name, v] of Object.entries(outputs)) g.output(name, v);
    this.outputNames = Object.keys(outputs);
    const loss = this.options.loss === undefined ? 'cross_entropy' : this.options.loss;
    this.extraParams = {};
    if (loss !== null) {
      if (!outputs.logits) throw tgError('ERR_TG_ARG', `compile: ${this.model.constructor.name} has no logits output for a loss; pass loss: null`);
      let targetValue: Value | undefined;
      const target = (dtype: 'f32' | null) => (targetValue ??= g.input(this.model.targetName(), null, dtype));
      let total = lossNode(g, loss, this.model, outputs.logits, this.extraParams, target);
      // Auxiliary outputs add their weighted terms (torchvision's DeepLab: out + 0.5·aux).
      for (const [name, weight] of Object.entries(this.model.auxiliaryLosses())) {
        if (!outputs[name]) throw tgError('ERR_TG_ARG', `compile: ${this.model.constructor.name} has no '${name}' output for its auxiliary loss`);
        const term = lossNode(g, loss, this.model, outputs[name], this.extraParams, target);
        total = g.op1('add', [total, g.op1('scale', [term], { value: weight }, `loss.${name}`)], {}, 'loss.total');
      }
      g.setLoss(total);
    }
    this.graph = g.describe();
  }

  private create(): NativeSession {
    this.buildGraph();
    const params: Record<string, HostTensorLike> = { ...this.extraParams };
    for (const [name, t] of this.model.namedParameters()) params[name] = t;
    for (const [name, t] of this.model.namedBuffers()) if (t.dtype === 'f32') params[name] = t;
    const trainable = this.trainable;
    let optimizer: Record<string, unknown> | undefined;
    if (this.options.optimizer) {
      const { groups = [], betas, ...rest } = this.options.optimizer as OptimizerSpec & { betas?: [number, number] };
      // Explicit groups first, in order; parameters in none form the last group.
      const taken = new Set<string>();
      const resolved = groups.map((grp) => {
        const names = trainable.filter((n) => !taken.has(n) && matchesAny(n, grp.params));
        names.forEach((n) => taken.add(n));
        return { params: names, lr: grp.lr ?? rest.lr, weightDecay: grp.weightDecay ?? rest.weightDecay };
      });
      resolved.push({ params: trainable.filter((n) => !taken.has(n)), lr: rest.lr, weightDecay: rest.weightDecay });
      this.groupCount = resolved.length;
      optimizer = { ...rest, beta1: betas?.[0], beta2: betas?.[1], groups: resolved };
    }
    const s = new (native().NativeSession)(this.graph, params, { trainable, optimizer });
    s.setTraining(this.training);
    return s;
  }

  // The tensors the native session was given, in order: a replaced module
  // (a new head) shows up as a different tensor even under the same name.
  private parameterRefs(): HostTensorLike[] {
    return [...this.model.namedParameters().map(([, t]) => t), ...this.model.namedBuffers().map(([, t]) => t)];
  }

  private structureChanged(): boolean {
    const refs = this.parameterRefs();
    return refs.length !== this.paramRefs.length || refs.some((t, i) => t !== this.paramRefs[i]);
  }

  // Freezing or unfreezing after compile changes the trainable set, and
  // replacing a module changes the graph: rebuild the native session, keeping
  // the optimizer state of parameters that still train and were not replaced.
  private current(): NativeSession {
    const key = this.model.trainableParameters().join('\n');
    if (key !== this.trainableKey || this.structureChanged()) {
      const state = this.options.optimizer ? this.nativeSession.optimizerState() : undefined;
      const before = new Map(this.model.namedParameters().filter(([, t]) => this.paramRefs.includes(t)));
      const steps = this.nativeSession.stepCount();
      this.nativeSession.dispose();
      this.trainableKey = key;
      this.paramRefs = this.parameterRefs();
      this.nativeSession = this.create();
      this.nativeSession.setStepCount(steps);
      if (state) {
        const keep = new Set(this.trainable.filter((n) => before.has(n)));
        const tensors = Object.fromEntries(Object.entries(state.tensors).filter(([k]) => keep.has(k.slice(0, k.lastIndexOf('.')))));
        this.nativeSession.loadOptimizerState({ steps: state.steps, tensors });
      }
    }
    return this.nativeSession;
  }

  private feeds(feeds: Feeds): Record<string, HostTensorLike> {
    if (isTensor(feeds)) return { input: feeds };
    if (typeof feeds !== 'object' || feeds === null) throw invalid('ERR_TG_ARG', 'session', 'feeds', 'a tensor or { input, target, ... }', feeds);
    return feeds;
  }

  /** Runs the forward pass: resolves to every output ({ logits }, ...) and { loss } when the target is fed and a loss was compiled. */
  async run(feeds: Feeds): Promise<Record<string, Tensor>> {
    const f = this.feeds(feeds);
    const ns = this.current(); // may rebuild the graph, and with it the outputs
    const fetch = [...this.outputNames];
    if (this.graph.loss >= 0 && this.model.targetName() in f) fetch.push('loss');
    const out = await ns.run(f, fetch);
    if (this.training) this.model.notifyTrainingStep();
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, fromNative(v)]));
  }

  /** One training step on a batch: forward, backward, optimizer update. */
  async step(feeds: Record<string, HostTensorLike>): Promise<{ loss: number }> {
    if (!this.options.optimizer) throw tgError('ERR_TG_ARG', 'step: compile the model with an optimizer to train it');
    const result = await this.current().step(this.feeds(feeds));
    if (this.training) this.model.notifyTrainingStep();
    return result;
  }

  /** What a step on feeds of these shapes runs and allocates. */
  stepInfo(feeds: Record<string, { shape: number[]; dtype?: string }>): StepInfo {
    return this.current().stepInfo(feeds);
  }

  /** Sets the learning rate of one parameter group, or of all when group is omitted. */
  setLr(lr: number, group?: number): void {
    if (group !== undefined && !(Number.isInteger(group) && group >= 0 && group < this.groupCount)) {
      throw invalid('ERR_TG_ARG', 'setLr', 'group', `an index below ${this.groupCount}`, group);
    }
    this.current().setLr(lr, group ?? -1);
  }

  /** Training mode: dropout active. */
  train(): this {
    this.training = true;
    this.nativeSession.setTraining(true);
    return this;
  }

  /** Eval mode: dropout is the identity. */
  eval(): this {
    this.training = false;
    this.nativeSession.setTraining(false);
    return this;
  }

  /** A parameter by name: the live tensor shared with the model. */
  getParameter(name: string): Tensor<'f32'> {
    const p = this.model.namedParameters().find(([n]) => n === name);
    if (!p) throw tgError('ERR_TG_ARG', `getParameter: no parameter '${name}'`);
    return p[1];
  }

  /** Overwrites a parameter's values (shape must match). */
  setParameter(name: string, value: HostTensorLike): void {
    const t = this.getParameter(name);
    if (value.dtype !== 'f32' || value.shape.join() !== t.shape.join()) {
      throw tgError('ERR_TG_SHAPE', `setParameter: ${name} is f32 [${t.shape}], got ${value.dtype} [${value.shape}]`);
    }
    t.data.set(value.data as Float32Array);
  }

  /** The optimizer's state (step count, per-parameter slots, group learning rates), as copies. */
  optimizerState(): { steps: number; tensors: Record<string, Tensor>; lrs: number[] } {
    const s = this.current().optimizerState();
    return { ...s, tensors: Object.fromEntries(Object.entries(s.tensors).map(([k, v]) => [k, fromNative(v)])) };
  }

  loadOptimizerState(state: { steps: number; tensors: Record<string, HostTensorLike>; lrs?: number[] }): void {
    this.current().loadOptimizerState(state);
  }

  /** Training steps taken (dropout draws a new mask each step from this count). */
  get steps(): number {
    return this.nativeSession.stepCount();
  }

  /** Restores the step count of a resumed run, so dropout continues its sequence of masks. */
  setSteps(n: number): void {
    this.nativeSession.setStepCount(n);
  }

  /** Frees native plans and buffers; the model keeps its parameters. */
  dispose(): void {
    this.nativeSession.dispose();
  }
}
