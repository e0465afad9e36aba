// Model: the base of every layer and network. A model owns its parameters
// (host f32 tensors named as in PyTorch), its child modules, and a build()
// that appends its nodes to a graph. Freezing is per parameter, by glob.
import { invalid, tgError } from '../errors.js';
import { GraphBuilder, type Value } from '../graph.js';
import { matchesAny } from '../glob.js';
import { Session, type CompileOptions } from '../session.js';
import { Tensor, type DType, type HostTensorLike } from '../tensor.js';
import { readModelWeights } from '../weights/hf.js';
import { planLoad, type LoadOptions, type LoadReport, type Slot } from '../weights/mapping.js';
import { writeSafetensors } from '../weights/safetensors.js';

/** A graph input of a compiled model: shape null (or -1 entries) for what varies per batch, dtype null for any. */
export interface InputSpec {
  name: string;
  shape: number[] | null;
  dtype: DType | null;
}

interface Parameter {
  tensor: Tensor<'f32'>;
  trainable: boolean;
}

/** State that is saved and loaded but not trained (BatchNorm's running statistics). */
type Buffer = Tensor<'f32'> | Tensor<'i64'>;

export abstract class Model {
  private readonly ownParams = new Map<string, Parameter>();
  private readonly ownBuffers = new Map<string, Buffer>();
  /** Buffers left out of the state dict (PyTorch's register_buffer(..., persistent=False)). */
  private readonly nonPersistent = new Set<string>();
  private readonly children = new Map<string, Model>();
  private predictSession?: Session;

  /** Appends this model's nodes to `g`; `prefix` is its path ("layer1.0." or ""). */
  abstract build(g: GraphBuilder, x: Value, prefix: string): Value;

  protected registerParameter(name: string, shape: number[], init: Float32Array): Tensor<'f32'> {
    const t = new Tensor(init, shape, 'f32');
    this.ownParams.set(name, { tensor: t, trainable: true });
    return t;
  }

  protected registerBuffer(name: string, tensor: Buffer, { persistent = true } = {}): Buffer {
    this.ownBuffers.set(name, tensor);
    if (!persistent) this.nonPersistent.add(name);
    return tensor;
  }

  protected buffer(name: string): Buffer {
    const b = this.ownBuffers.get(name);
    if (!b) throw tgError('ERR_TG_ARG', `${this.constructor.name}: no buffer '${name}'`);
    return b;
  }

  /** The value of one of this model's f32 buffers in graph g (a frozen graph parameter). */
  protected bufferValue(g: GraphBuilder, prefix: string, name: string): Value {
    return g.param(prefix + name, this.buffer(name).shape);
  }

  /** Whether all of this model's own parameters are frozen (BatchNorm then keeps its running statistics). */
  protected ownParametersFrozen(): boolean {
    return [...this.ownParams.values()].every((p) => !p.trainable);
  }

  /** Called after every step in training mode (BatchNorm counts batches here). */
  protected onTrainingStep(): void {}

  /** Runs onTrainingStep on this model and every descendant. */
  notifyTrainingStep(): void {
    this.onTrainingStep();
    for (const child of this.children.values()) child.notifyTrainingStep();
  }

  protected registerModule<M extends Model>(name: string, module: M): M {
    this.children.set(name, module);
    return module;
  }

  /** The value of one of this model's own parameters in graph g. */
  protected paramValue(g: GraphBuilder, prefix: string, name: string): Value {
    const p = this.ownParams.get(name);
    if (!p) throw tgError('ERR_TG_ARG', `${this.constructor.name}: no parameter '${name}'`);
    return g.param(prefix + name, p.tensor.shape);
  }

  /** [x, weight, bias] for the own parameters this model has, in that order (Linear, Conv2d, LayerNorm, ...). */
  protected withWeightAndBias(g: GraphBuilder, prefix: string, x: Value): Value[] {
    const inputs = [x];
    for (const name of ['weight', 'bias']) if (this.ownParams.has(name)) inputs.push(this.paramValue(g, prefix, name));
    return inputs;
  }

  private *walk(prefix = ''): Generator<[string, Parameter]> {
    for (const [name, p] of this.ownParams) yield [prefix + name, p];
    for (const [name, child] of this.children) yield* child.walk(`${prefix}${name}.`);
  }

  private *walkBuffers(prefix = '', persistentOnly = false): Generator<[string, Buffer]> {
    for (const [name, b] of this.ownBuffers) if (!persistentOnly || !this.nonPersistent.has(name)) yield [prefix + name, b];
    for (const [name, child] of this.children) yield* child.walkBuffers(`${prefix}${name}.`, persistentOnly);
  }

  /** The live buffers (running statistics, counters) by full name. */
  namedBuffers(): Array<[string, Buffer]> {
    return [...this.walkBuffers()];
  }

  /** Parameter names (PyTorch's) and shapes. */
  parameters(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [name, p] of this.walk()) out[name] = [...p.tensor.shape];
    return out;
  }

  /** The live parameter tensors, shared with compiled sessions (not copies). */
  namedParameters(): Array<[string, Tensor<'f32'>]> {
    return [...this.walk()].map(([n, p]) => [n, p.tensor]);
  }

  /** Copies of every parameter and buffer, by name (PyTorch's state_dict keys). */
  async stateDict(): Promise<Record<string, Tensor>> {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of this.entries()) out[name] = new Tensor(t.data.slice() as typeof t.data, [...t.shape], t.dtype);
    return out;
  }

  /** The state dict's entries in torch's order: each module's parameters, then its buffers, then its children. */
  private *walkState(prefix = ''): Generator<[string, Buffer]> {
    for (const [name, p] of this.ownParams) yield [prefix + name, p.tensor];
    for (const [name, b] of this.ownBuffers) if (!this.nonPersistent.has(name)) yield [prefix + name, b];
    for (const [name, child] of this.children) yield* child.walkState(`${prefix}${name}.`);
  }

  private entries(): Array<[string, Buffer]> {
    return [...this.walkState()];
  }

  /**
   * Copies a state dict into the parameters and buffers, in place (compiled
   * sessions share the tensors). Values are converted to each entry's dtype
   * (f16/bf16 checkpoints into f32 parameters). strict (default): every entry
   * filled, every key used, every shape equal, or an error listing them all;
   * either way nothing is written unless the whole load can go ahead.
   * See LoadOptions for rename and ignore.
   */
  async loadStateDict(record: Record<string, HostTensorLike>, options: LoadOptions = {}): Promise<LoadReport> {
    return this.applyState(record, options, 'loadStateDict');
  }

  private applyState(record: Record<string, HostTensorLike>, options: LoadOptions, where: string): LoadReport {
    const live = new Map(this.entries());
    const slots = new Map<string, Slot>([...live].map(([name, t]) => [name, { shape: t.shape, dtype: t.dtype }]));
    const { report, values } = planLoad(slots, record, options, where);
    for (const [name, value] of values) (live.get(name)!.data as Float32Array).set(value.data as Float32Array);
    return report;
  }

  /**
   * Loads weights from a file in any format tg.weights.readWeights knows
   * (safetensors, PyTorch checkpoints) or from a Hugging Face model folder.
   * Options and result as loadStateDict.
   */
  async load(path: string, options: LoadOptions = {}): Promise<LoadReport> {
    if (typeof path !== 'string' || !path) throw invalid('ERR_TG_ARG', 'Model.load', 'path', 'a file or folder path', path);
    const weights = await readModelWeights(path);
    const report = this.applyState(weights.tensors, options, `Model.load(${path})`);
    report.notes.push(...weights.notes);
    return report;
  }

  /**
   * Writes the state dict as safetensors, with exactly PyTorch's state_dict()
   * keys, so safetensors.torch.load_file + load_state_dict reads it unchanged.
   */
  async save(path: string, { metadata = {} }: { metadata?: Record<string, string> } = {}): Promise<void> {
    if (typeof path !== 'string' || !path) throw invalid('ERR_TG_ARG', 'Model.save', 'path', 'a file path', path);
    if (metadata === null || typeof metadata !== 'object' || !Object.values(metadata).every((v) => typeof v === 'string')) {
      throw invalid('ERR_TG_ARG', 'Model.save', 'metadata', 'an object of strings', metadata);
    }
    // transformers refuses safetensors files whose metadata lacks a format.
    await writeSafetensors(path, await this.stateDict(), { format: 'pt', ...metadata });
  }

  /** Marks parameters matching any glob as frozen (no gradient, no optimizer state). */
  freeze(...globs: string[]): this {
    return this.setTrainable(globs, false, 'freeze');
  }

  /** Marks parameters matching any glob as trainable again. */
  unfreeze(...globs: string[]): this {
    return this.setTrainable(globs, true, 'unfreeze');
  }

  /** Names of the parameters that train. */
  trainableParameters(): string[] {
    return [...this.walk()].filter(([, p]) => p.trainable).map(([n]) => n);
  }

  private setTrainable(globs: string[], trainable: boolean, where: string): this {
    if (!globs.length) globs = ['*'];
    for (const g of globs) if (typeof g !== 'string') throw invalid('ERR_TG_ARG', where, 'a pattern', 'a string', g);
    let matched = 0;
    for (const [name, p] of this.walk()) {
      if (matchesAny(name, globs)) {
        p.trainable = trainable;
        matched++;
      }
    }
    if (!matched) throw tgError('ERR_TG_ARG', `${where}: no parameter matches ${globs.map((g) => `'${g}'`).join(', ')}`);
    return this;
  }

  /** Replaces a child module (a new head); sessions compiled earlier rebuild their graph on their next call. */
  protected replaceModule<M extends Model>(name: string, module: M): M {
    if (!this.children.has(name)) throw tgError('ERR_TG_ARG', `${this.constructor.name}: no module '${name}' to replace`);
    return this.registerModule(name, module);
  }

  /**
   * Swaps the classifier for a new, trainable one with `numClasses` outputs
   * (the usual first step of transfer learning). Models with a head override it.
   */
  replaceHead(options: { numClasses: number }): this {
    void options;
    throw tgError('ERR_TG_ARG', `${this.constructor.name} has no classifier head to replace`);
  }

  /** Name prefixes of the head's parameters ('fc.'), whose pretrained values a new head ignores. */
  headPrefixes(): string[] {
    return [];
  }

  /**
   * The graph inputs a compiled session feeds: by default one `input` of any
   * shape and dtype (vision: (N, 3, H, W)). Text models declare input_ids,
   * attention_mask, ... here.
   */
  inputSpecs(): InputSpec[] {
    return [{ name: 'input', shape: null, dtype: null }];
  }

  /** The feed the loss compares with (`target`; Hugging Face models: `labels`). */
  targetName(): string {
    return 'target';
  }

  /**
   * All named outputs of the forward pass, from the graph inputs of
   * inputSpecs(). By default { logits: build(input) }; models with several
   * inputs or outputs (last_hidden_state, pooler_output) override it.
   */
  forward(g: GraphBuilder, inputs: Record<string, Value>): Record<string, Value> {
    return { logits: this.build(g, inputs.input, '') };
  }

  /**
   * Further outputs that the loss also applies to, with their weights: the
   * compiled loss is then loss(logits) + Σ weight·loss(output), against the
   * same target (torchvision's DeepLab with aux_loss: { aux: 0.5 }).
   */
  auxiliaryLosses(): Record<string, number> {
    return {};
  }

  /**
   * The logits and target the loss sees; token classification and language
   * models flatten (N, T, C) to (N·T, C) here, or shift for next-token prediction.
   */
  lossOperands(g: GraphBuilder, logits: Value, target: Value): [Value, Value] {
    void g;
    return [logits, target];
  }

  /** Compiles the model for training or inference (see Session). */
  compile(options: CompileOptions = {}): Session {
    return new Session(this, options);
  }

  /** Runs the model in eval mode; a bare tensor is the `input` feed. Resolves to `logits`. */
  async predict(input: HostTensorLike | Record<string, HostTensorLike>, { device = 'cpu' } = {}): Promise<Tensor> {
    const out = await this.predictAll(input, { device });
    if (!out.logits) throw tgError('ERR_TG_ARG', `${this.constructor.name}.predict: the model has no logits output; use predictAll`);
    return out.logits;
  }

  /** Runs the model in eval mode and resolves to every named output (logits, last_hidden_state, ...). */
  async predictAll(
    input: HostTensorLike | Record<string, HostTensorLike>,
    { device = 'cpu' } = {},
  ): Promise<Record<string, Tensor>> {
    this.predictSession ??= new Session(this, { device, loss: null, training: false });
    return this.predictSession.run(input);
  }
}
