/**
 * A TensorFlow GraphDef in the JSON form that TensorFlow.js's graph models use (`model.json`'s
 * `modelTopology`, as tensorflowjs_converter writes it): nodes with an op, inputs and attributes
 * (AttrValue in its proto3 JSON mapping), and constants whose values go to the weights manifest
 * under the node's name. Only stock TensorFlow ops are made, so that `tf.loadGraphModel` runs the
 * graph with no code of ours.
 */
export type GraphDtype = 'float32' | 'int32'

const TF_DTYPE: Record<GraphDtype, string> = {float32: 'DT_FLOAT', int32: 'DT_INT32'}

export interface NodeDef {
  name: string
  op: string
  input?: string[]
  attr?: Record<string, unknown>
}

/** A constant's values, stored in the weight shards under `name`. */
export interface GraphWeight {
  name: string
  dtype: GraphDtype
  shape: number[]
  data: Float32Array | Int32Array
}

/** AttrValue builders (proto3 JSON: 64-bit integers as strings, strings as base64). */
export const attr = {
  type: (dtype: GraphDtype = 'float32') => ({type: TF_DTYPE[dtype]}),
  ints: (values: number[]) => ({list: {i: values.map(String)}}),
  int: (value: number) => ({i: String(value)}),
  float: (value: number) => ({f: value}),
  bool: (value: boolean) => ({b: value}),
  str: (value: string) => ({s: Buffer.from(value).toString('base64')}),
  shape: (dims: number[]) => ({shape: {dim: dims.map((d) => ({size: String(d)}))}}),
}

export class GraphBuilder {
  readonly nodes: NodeDef[] = []
  readonly weights: GraphWeight[] = []
  private readonly names = new Set<string>()

  /** `name`, or `name_1`, `name_2`, … when taken. */
  private unique(name: string): string {
    let candidate = name
    for (let i = 1; this.names.has(candidate); i++) candidate = `${name}_${i}`
    this.names.add(candidate)
    return candidate
  }

  /** A node; returns its name, the reference to its first output (`name:1` is the second). */
  op(name: string, op: string, input: string[], attrs: Record<string, unknown> = {}): string {
    const unique = this.unique(name)
    this.nodes.push({name: unique, op, input, attr: attrs})
    return unique
  }

  placeholder(name: string, shape: number[], dtype: GraphDtype = 'float32'): string {
    return this.op(name, 'Placeholder', [], {dtype: attr.type(dtype), shape: attr.shape(shape)})
  }

  /** A constant node whose values are stored with the weights. */
  constant(name: string, data: Float32Array | Int32Array, shape: number[], dtype: GraphDtype = data instanceof Int32Array ? 'int32' : 'float32'): string {
    const unique = this.unique(name)
    const size = shape.reduce((a, b) => a * b, 1)
    if (size !== data.length) throw new Error(`constant ${unique}: ${data.length} values for shape [${shape.join(', ')}]`)
    this.nodes.push({name: unique, op: 'Const', attr: {dtype: attr.type(dtype), value: {tensor: {dtype: TF_DTYPE[dtype], tensorShape: attr.shape(shape).shape}}}})
    this.weights.push({name: unique, dtype, shape, data})
    return unique
  }

  /** A 1-D int32 constant (shapes, axes, permutations). */
  ints(name: string, values: number[]): string {
    return this.constant(name, Int32Array.from(values), [values.length], 'int32')
  }

  /** A float32 scalar constant. */
  scalar(name: string, value: number): string {
    return this.constant(name, Float32Array.of(value), [], 'float32')
  }
}
