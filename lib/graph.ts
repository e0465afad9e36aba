// The graph builder. Layers append nodes (an op from the native registry,
// input values, attributes, a name) and declare parameters by their PyTorch
// names; the result is a plain description that native code compiles.
import { tgError } from './errors.js';
import { native } from './native.js';
import type { DType } from './tensor.js';

export type Attrs = Record<string, number | boolean | string | number[]>;

/** A value in the graph under construction. */
export class Value {
  constructor(
    readonly builder: GraphBuilder,
    readonly id: number,
  ) {}
}

export interface ValueDesc {
  kind: 'input' | 'param' | 'node';
  name: string;
  /** Inputs: -1 for a dimension taken from the feed; null for any shape. */
  shape: number[] | null;
  /** Inputs: null to accept the feed's dtype. */
  dtype: DType | null;
}

export interface NodeDesc {
  op: string;
  inputs: number[];
  outputs: number[];
  attrs: Attrs;
  name: string;
}

export interface GraphDesc {
  values: ValueDesc[];
  nodes: NodeDesc[];
  outputs: Record<string, number>;
  loss: number;
  /** Buffers rewritten with a value after each run in training mode (BatchNorm's running statistics). */
  updates: Array<{ param: string; value: number }>;
}

let opOutputs: Map<string, number> | undefined;
function outputsOf(op: string): number {
  opOutputs ??= new Map(native().listOps().map((o) => [o.name, o.outputs]));
  const n = opOutputs.get(op);
  if (n === undefined) throw tgError('ERR_TG_ARG', `graph: unknown op '${op}'`);
  return n;
}

export class GraphBuilder {
  private readonly desc: GraphDesc = { values: [], nodes: [], outputs: {}, loss: -1, updates: [] };
  private readonly params = new Map<string, Value>();
  private readonly usedNames = new Map<string, number>();

  input(name: string, shape: number[] | null, dtype: DType | null = 'f32'): Value {
    return this.add({ kind: 'input', name, shape, dtype });
  }

  /** A parameter by its full PyTorch name; declaring it twice returns the same value (tied weights). */
  param(name: string, shape: number[]): Value {
    const existing = this.params.get(name);
    if (existing) return existing;
    const v = this.add({ kind: 'param', name, shape, dtype: 'f32' });
    this.params.set(name, v);
    return v;
  }

  /** Appends a node; `name` is the module path, made unique with a suffix when repeated. */
  op(op: string, inputs: Value[], attrs: Attrs = {}, name = op): Value[] {
    const count = this.usedNames.get(name) ?? 0;
    this.usedNames.set(name, count + 1);
    const nodeName = count === 0 ? name : `${name}#${count}`;
    const n = outputsOf(op);
    const outputs: Value[] = [];
    for (let i = 0; i < n; i++) outputs.push(this.add({ kind: 'node', name: `${nodeName}:${i}`, shape: null, dtype: null }));
    for (const v of inputs) {
      if (!(v instanceof Value) || v.builder !== this) throw tgError('ERR_TG_ARG', `graph: node '${nodeName}' got a value from another graph`);
    }
    this.desc.nodes.push({ op, inputs: inputs.map((v) => v.id), outputs: outputs.map((v) => v.id), attrs, name: nodeName });
    return outputs;
  }

  op1(op: string, inputs: Value[], attrs: Attrs = {}, name = op): Value {
    return this.op(op, inputs, attrs, name)[0];
  }

  output(name: string, v: Value): void {
    this.desc.outputs[name] = v.id;
  }

  /** After each run in training mode, copy `v` into the buffer `param` (declared with param()). */
  update(param: string, v: Value): void {
    this.desc.updates.push({ param, value: v.id });
  }

  setLoss(v: Value): void {
    this.desc.loss = v.id;
  }

  describe(): GraphDesc {
    return this.desc;
  }

  private add(d: ValueDesc): Value {
    this.desc.values.push(d);
    return new Value(this, this.desc.values.length - 1);
  }
}
