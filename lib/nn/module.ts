// Model: the base of every layer and network. A model owns its parameters
// (host f32 tensors named as in PyTorch), its child modules, and a build()
// that appends its nodes to a graph. Freezing is per parameter, by glob.
import { invalid, tgError } from '../errors.js';
import { GraphBuilder, type Value } from '../graph.js';
import { matchesAny } from '../glob.js';
import { Session, type CompileOptions } from '../session.js';
import { Tensor, type HostTensorLike } from '../tensor.js';

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

  private entries(): Array<[string, Buffer]> {
    return [...[...this.walk()].map(([n, p]) => [n, p.tensor] as [string, Buffer]), ...this.walkBuffers('', true)];
  }

  /**
   * Copies values into the parameters (in place, so compiled sessions see them).
   * strict (default): every parameter must be present and nothing else.
   */
  async loadStateDict(
    record: Record<string, HostTensorLike>,
    { strict = true }: { strict?: boolean } = {},
  ): Promise<{ missing: string[]; unexpected: string[] }> {
    const params = new Map(this.entries());
    const missing = [...params.keys()].filter((k) => !(k in record));
    const unexpected = Object.keys(record).filter((k) => !params.has(k));
    if (strict && (missing.length || unexpected.length)) {
      throw tgError(
        'ERR_TG_ARG',
        `loadStateDict: ${missing.length ? `missing ${missing.join(', ')}` : ''}${missing.length && unexpected.length ? '; ' : ''}${
          unexpected.length ? `unexpected ${unexpected.join(', ')}` : ''
        }`,
      );
    }
    // Check everything before changing anything, so a bad record loses nothing.
    for (const [name, p] of params) {
      const t = record[name];
      if (!t) continue;
      if (t.dtype !== p.dtype) throw invalid('ERR_TG_DTYPE', 'loadStateDict', name, `a ${p.dtype} tensor`, t.dtype);
      if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
        throw tgError('ERR_TG_SHAPE', `loadStateDict: ${name} has shape [${t.shape}], the model expects [${p.shape}]`);
      }
    }
    for (const [name, p] of params) if (record[name]) (p.data as Float32Array).set(record[name].data as Float32Array);
    return { missing, unexpected };
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

  /** Compiles the model for training or inference (see Session). */
  compile(options: CompileOptions = {}): Session {
    return new Session(this, options);
  }

  /** Runs the model in eval mode; a bare tensor is the `input` feed. Resolves to `logits`. */
  async predict(input: HostTensorLike | Record<string, HostTensorLike>, { device = 'cpu' } = {}): Promise<Tensor> {
    this.predictSession ??= new Session(this, { device, loss: null, training: false });
    const out = await this.predictSession.run(input);
    return out.logits;
  }
}
