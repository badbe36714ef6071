/**
 * A built model (tfjs-layers functional model) re-expressed as a graph of stock TensorFlow ops, for
 * inference: every layer the project's models use — tfjs's own (Dense, Conv2D, Conv2DTranspose,
 * padding, pooling, reshapes, Add, ReLU; for plugins also Activation, LeakyReLU, Multiply,
 * Concatenate, AveragePooling2D, Dropout) and the project's leaf layers (src/layers: attention,
 * CLS/positional embedding, latent array, Fourier features, GEGLU, GELU, LayerNorm, BatchNorm in
 * evaluation mode, dropout as identity) — is written as the TensorFlow ops that compute it, with
 * its weights as constants. The batch size stays free (shapes built from the input's `Shape`).
 *
 * A layer class without such a form (a plugin's own leaf layer) blocks the export: the error names
 * every such class and the layers of it.
 */
import type {LayersModel, SymbolicTensor} from '../engine/tf.js'
import type {tfl} from '../engine/tf.js'
import {fourierTable} from '../layers/perceiver.js'
import {ExportError} from './errors.js'
import {attr, GraphBuilder} from './graph-def.js'

type Layer = tfl.layers.Layer
type Shape = (number | null)[]

/** One call of a layer, as its emitter sees it. */
interface Call {
  g: GraphBuilder
  layer: Layer
  /** Unique node-name prefix of this call. */
  name: string
  inShapes: Shape[]
  outShapes: Shape[]
  config: Record<string, unknown>
  /** The constant holding the layer's weight `<layer>/<local>`. */
  weight(local: string): string
  /** The batch size, a 1-D int32 tensor of one element. */
  batch(): string
}

type Emitter = (c: Call, x: string[]) => string | string[]

const F = {T: attr.type('float32')}

/** Static dims of a symbolic shape after the batch axis (they are all known in the project's models). */
function rest(shape: Shape, what: string): number[] {
  const dims = shape.slice(1)
  if (dims.some((d) => d === null)) throw new Error(`${what}: shape [${shape.join(', ')}] has an unknown dimension after the batch axis`)
  return dims as number[]
}

/** [batch, ...dims] as a 1-D int32 tensor. */
function withBatch(c: Call, dims: number[], local: string): string {
  const {g, name} = c
  return g.op(`${name}/${local}`, 'ConcatV2', [c.batch(), g.ints(`${name}/${local}_dims`, dims), g.constant(`${name}/${local}_axis`, Int32Array.of(0), [], 'int32')], {N: attr.int(2), T: attr.type('int32'), Tidx: attr.type('int32')})
}

function reshape(c: Call, x: string, dims: number[], local = 'Reshape'): string {
  return c.g.op(`${c.name}/${local}`, 'Reshape', [x, c.g.ints(`${c.name}/${local}_shape`, [-1, ...dims])], {...F, Tshape: attr.type('int32')})
}

function binary(c: Call, op: string, a: string, b: string, local: string): string {
  return c.g.op(`${c.name}/${local}`, op, [a, b], F)
}

function unary(c: Call, op: string, a: string, local: string): string {
  return c.g.op(`${c.name}/${local}`, op, [a], F)
}

/** tfjs activation names and the TensorFlow op of each (softmax on the last axis, as tfjs's). */
const ACTIVATION_OPS: Record<string, string> = {relu: 'Relu', relu6: 'Relu6', elu: 'Elu', selu: 'Selu', sigmoid: 'Sigmoid', tanh: 'Tanh', softplus: 'Softplus', softmax: 'Softmax'}

/** The layer's `activation` (a Dense's, a Conv2D's, an Activation layer's) applied to `y`. */
function activation(c: Call, y: string): string {
  const fn = (c.config.activation as string | undefined) ?? 'linear'
  if (fn === 'linear') return y
  const op = ACTIVATION_OPS[fn]
  if (op) return unary(c, op, y, op)
  throw new ExportError(`layer ${c.layer.name} (${c.layer.getClassName()}) has activation "${fn}", which the export does not write as stock ops (it writes ${['linear', ...Object.keys(ACTIVATION_OPS)].join(', ')})`)
}

/** Exact GELU, 0.5·x·(1 + erf(x/√2)), as ops/gelu.ts computes it. */
function gelu(c: Call, x: string, local: string): string {
  const {g, name} = c
  const half = binary(c, 'Mul', x, g.scalar(`${name}/${local}_half`, 0.5), `${local}_x_half`)
  const erf = unary(c, 'Erf', binary(c, 'Mul', x, g.scalar(`${name}/${local}_rsqrt2`, Math.SQRT1_2), `${local}_scaled`), `${local}_Erf`)
  return binary(c, 'Mul', half, binary(c, 'AddV2', g.scalar(`${name}/${local}_one`, 1), erf, `${local}_one_plus`), local)
}

/** (B, N, h·d) → (B, h, N, d). */
function splitHeads(c: Call, t: string, n: number, heads: number, dimHead: number, local: string): string {
  const r = reshape(c, t, [n, heads, dimHead], `${local}_split`)
  return c.g.op(`${c.name}/${local}_heads`, 'Transpose', [r, c.g.ints(`${c.name}/${local}_perm`, [0, 2, 1, 3])], {...F, Tperm: attr.type('int32')})
}

const EMITTERS: Record<string, Emitter> = {
  Dense(c, [x]) {
    const inShape = c.inShapes[0]
    const units = c.config.units as number
    const flat = inShape.length > 2
    let y = flat ? reshape(c, x, [inShape[inShape.length - 1] as number], 'flatten') : x
    y = c.g.op(`${c.name}/MatMul`, 'MatMul', [y, c.weight('kernel')], {...F, transpose_a: attr.bool(false), transpose_b: attr.bool(false)})
    if (c.config.useBias) y = c.g.op(`${c.name}/BiasAdd`, 'BiasAdd', [y, c.weight('bias')], {...F, data_format: attr.str('NHWC')})
    if (flat) y = reshape(c, y, [...rest(inShape, c.layer.name).slice(0, -1), units], 'unflatten')
    return activation(c, y)
  },
  Conv2D(c, [x]) {
    const cfg = c.config as {strides: number[]; padding: string; dilationRate: number | number[]; dataFormat: string; useBias: boolean}
    if (cfg.dataFormat !== 'channelsLast') throw new ExportError(`layer ${c.layer.name}: only channels-last convolutions are exported`)
    const dil = Array.isArray(cfg.dilationRate) ? cfg.dilationRate : [cfg.dilationRate, cfg.dilationRate]
    let y = c.g.op(`${c.name}/Conv2D`, 'Conv2D', [x, c.weight('kernel')], {
      ...F,
      strides: attr.ints([1, cfg.strides[0], cfg.strides[1], 1]),
      padding: attr.str(cfg.padding.toUpperCase()),
      dilations: attr.ints([1, dil[0], dil[1], 1]),
      data_format: attr.str('NHWC'),
      use_cudnn_on_gpu: attr.bool(true),
    })
    if (cfg.useBias) y = c.g.op(`${c.name}/BiasAdd`, 'BiasAdd', [y, c.weight('bias')], {...F, data_format: attr.str('NHWC')})
    return activation(c, y)
  },
  Conv2DTranspose(c, [x]) {
    const cfg = c.config as {strides: number[]; padding: string; dataFormat: string; useBias: boolean}
    if (cfg.dataFormat !== 'channelsLast') throw new ExportError(`layer ${c.layer.name}: only channels-last convolutions are exported`)
    const sizes = withBatch(c, rest(c.outShapes[0], c.layer.name), 'output_shape')
    let y = c.g.op(`${c.name}/conv2d_transpose`, 'Conv2DBackpropInput', [sizes, c.weight('kernel'), x], {
      ...F,
      strides: attr.ints([1, cfg.strides[0], cfg.strides[1], 1]),
      padding: attr.str(cfg.padding.toUpperCase()),
      data_format: attr.str('NHWC'),
      dilations: attr.ints([1, 1, 1, 1]),
    })
    if (cfg.useBias) y = c.g.op(`${c.name}/BiasAdd`, 'BiasAdd', [y, c.weight('bias')], {...F, data_format: attr.str('NHWC')})
    return activation(c, y)
  },
  ZeroPadding2D(c, [x]) {
    const [[top, bottom], [left, right]] = (c.layer as unknown as {padding: [[number, number], [number, number]]}).padding
    const pads = c.g.constant(`${c.name}/paddings`, Int32Array.from([0, 0, top, bottom, left, right, 0, 0]), [4, 2], 'int32')
    return c.g.op(`${c.name}/Pad`, 'Pad', [x, pads], {...F, Tpaddings: attr.type('int32')})
  },
  MaxPooling2D(c, [x]) {
    const cfg = c.config as {poolSize: number[]; strides: number[]; padding: string}
    return c.g.op(`${c.name}/MaxPool`, 'MaxPool', [x], {...F, ksize: attr.ints([1, cfg.poolSize[0], cfg.poolSize[1], 1]), strides: attr.ints([1, cfg.strides[0], cfg.strides[1], 1]), padding: attr.str(cfg.padding.toUpperCase()), data_format: attr.str('NHWC')})
  },
  GlobalAveragePooling2D: (c, [x]) => c.g.op(`${c.name}/Mean`, 'Mean', [x, c.g.ints(`${c.name}/axes`, [1, 2])], {...F, Tidx: attr.type('int32'), keep_dims: attr.bool(false)}),
  GlobalAveragePooling1D: (c, [x]) => c.g.op(`${c.name}/Mean`, 'Mean', [x, c.g.ints(`${c.name}/axes`, [1])], {...F, Tidx: attr.type('int32'), keep_dims: attr.bool(false)}),
  Reshape: (c, [x]) => reshape(c, x, rest(c.outShapes[0], c.layer.name)),
  Flatten: (c, [x]) => reshape(c, x, rest(c.outShapes[0], c.layer.name)),
  Permute: (c, [x]) => c.g.op(`${c.name}/Transpose`, 'Transpose', [x, c.g.ints(`${c.name}/perm`, [0, ...(c.config.dims as number[])])], {...F, Tperm: attr.type('int32')}),
  Add: (c, xs) => xs.slice(1).reduce((sum, x, i) => binary(c, 'AddV2', sum, x, i === 0 ? 'add' : `add_${i}`), xs[0]),
  ReLU(c, [x]) {
    if (c.config.maxValue != null) throw new ExportError(`layer ${c.layer.name} (ReLU with maxValue ${c.config.maxValue}) is not exported as stock ops yet`)
    return unary(c, 'Relu', x, 'Relu')
  },
  Activation: (c, [x]) => activation(c, x),
  LeakyReLU: (c, [x]) => c.g.op(`${c.name}/LeakyRelu`, 'LeakyRelu', [x], {...F, alpha: attr.float(c.config.alpha as number)}),
  Multiply: (c, xs) => xs.slice(1).reduce((product, x, i) => binary(c, 'Mul', product, x, i === 0 ? 'mul' : `mul_${i}`), xs[0]),
  Concatenate(c, xs) {
    const axis = c.config.axis as number
    return c.g.op(`${c.name}/concat`, 'ConcatV2', [...xs, c.g.constant(`${c.name}/axis`, Int32Array.of(axis < 0 ? c.inShapes[0].length + axis : axis), [], 'int32')], {...F, N: attr.int(xs.length), Tidx: attr.type('int32')})
  },
  AveragePooling2D(c, [x]) {
    const cfg = c.config as {poolSize: number[]; strides: number[]; padding: string}
    return c.g.op(`${c.name}/AvgPool`, 'AvgPool', [x], {...F, ksize: attr.ints([1, cfg.poolSize[0], cfg.poolSize[1], 1]), strides: attr.ints([1, cfg.strides[0], cfg.strides[1], 1]), padding: attr.str(cfg.padding.toUpperCase()), data_format: attr.str('NHWC')})
  },
  Dropout: (c, [x]) => c.g.op(`${c.name}/Identity`, 'Identity', [x], F),
  MixtureDropout: (c, [x]) => c.g.op(`${c.name}/Identity`, 'Identity', [x], F),
  MixtureBatchNorm(c, [x]) {
    // Evaluation mode, as layers/norm.ts: (x − mean) · γ/√(var + ε) + β.
    const {g, name} = c
    const scale = binary(c, 'Mul', c.weight('gamma'), unary(c, 'Rsqrt', binary(c, 'AddV2', c.weight('moving_variance'), g.scalar(`${name}/epsilon`, c.config.epsilon as number), 'var_eps'), 'rsqrt'), 'scale')
    return binary(c, 'AddV2', binary(c, 'Mul', binary(c, 'Sub', x, c.weight('moving_mean'), 'centred'), scale, 'scaled'), c.weight('beta'), 'normalised')
  },
  MixtureLayerNorm(c, [x]) {
    // tf.moments over the last `axes` axes, then (x − mean) · rsqrt(var + ε) · γ + β (ops/norm.ts).
    const {g, name} = c
    const rank = c.inShapes[0].length
    const k = c.config.axes as number
    const axes = g.ints(`${name}/axes`, Array.from({length: k}, (_, i) => rank - k + i))
    const keep = {...F, Tidx: attr.type('int32'), keep_dims: attr.bool(true)}
    const mean = g.op(`${name}/mean`, 'Mean', [x, axes], keep)
    const variance = g.op(`${name}/variance`, 'Mean', [binary(c, 'SquaredDifference', x, mean, 'squared_difference'), axes], keep)
    const rstd = unary(c, 'Rsqrt', binary(c, 'AddV2', variance, g.scalar(`${name}/epsilon`, c.config.epsilon as number), 'var_eps'), 'rsqrt')
    const xhat = binary(c, 'Mul', binary(c, 'Sub', x, mean, 'centred'), rstd, 'xhat')
    return binary(c, 'AddV2', binary(c, 'Mul', xhat, c.weight('gamma'), 'scaled'), c.weight('beta'), 'normalised')
  },
  MixtureGeluLayer: (c, [x]) => gelu(c, x, 'gelu'),
  MixtureGeglu(c, [x]) {
    const shape = c.inShapes[0]
    const half = (shape[shape.length - 1] as number) / 2
    const split = c.g.op(`${c.name}/split`, 'SplitV', [x, c.g.ints(`${c.name}/sizes`, [half, half]), c.g.constant(`${c.name}/split_axis`, Int32Array.of(-1), [], 'int32')], {...F, Tlen: attr.type('int32'), num_split: attr.int(2)})
    return binary(c, 'Mul', split, gelu(c, `${split}:1`, 'gelu'), 'gated')
  },
  MixtureAttentionCore(c, xs) {
    // ops/attention.ts: split q, k, v; heads in front; softmax(q·scale · kᵀ) · v; heads merged back.
    const {g, name} = c
    const cfg = c.config as {heads: number; dimHead: number; scale: number}
    const inner = cfg.heads * cfg.dimHead
    const axis = () => g.constant(`${name}/split_axis`, Int32Array.of(-1), [], 'int32')
    const n = c.inShapes[0][1] as number
    const m = c.inShapes[c.inShapes.length - 1][1] as number
    let q: string, k: string, v: string
    if (xs.length === 1) {
      const s = g.op(`${name}/split_qkv`, 'SplitV', [xs[0], g.ints(`${name}/qkv_sizes`, [inner, inner, inner]), axis()], {...F, Tlen: attr.type('int32'), num_split: attr.int(3)})
      ;[q, k, v] = [s, `${s}:1`, `${s}:2`]
    } else {
      const s = g.op(`${name}/split_kv`, 'SplitV', [xs[1], g.ints(`${name}/kv_sizes`, [inner, inner]), axis()], {...F, Tlen: attr.type('int32'), num_split: attr.int(2)})
      ;[q, k, v] = [xs[0], s, `${s}:1`]
    }
    const qh = binary(c, 'Mul', splitHeads(c, q, n, cfg.heads, cfg.dimHead, 'q'), g.scalar(`${name}/scale`, cfg.scale), 'q_scaled')
    const kh = splitHeads(c, k, m, cfg.heads, cfg.dimHead, 'k')
    const vh = splitHeads(c, v, m, cfg.heads, cfg.dimHead, 'v')
    const sim = g.op(`${name}/similarities`, 'BatchMatMulV2', [qh, kh], {...F, adj_x: attr.bool(false), adj_y: attr.bool(true)})
    const weights = g.op(`${name}/Softmax`, 'Softmax', [sim], F)
    const out = g.op(`${name}/attend`, 'BatchMatMulV2', [weights, vh], {...F, adj_x: attr.bool(false), adj_y: attr.bool(false)})
    const merged = g.op(`${name}/merge_heads`, 'Transpose', [out, g.ints(`${name}/merge_perm`, [0, 2, 1, 3])], {...F, Tperm: attr.type('int32')})
    return reshape(c, merged, [n, inner], 'merged')
  },
  MixtureClsPosEmbedding(c, [x]) {
    // concat(cls tiled over the batch, x) + pos[:, :n+1] (layers/embeddings.ts).
    const {g, name} = c
    const n = c.inShapes[0][1] as number
    const dim = c.config.dim as number
    const cls = g.op(`${name}/cls_tiled`, 'Tile', [c.weight('cls_token'), withBatch(c, [1, 1], 'multiples')], {...F, Tmultiples: attr.type('int32')})
    const tokens = g.op(`${name}/concat`, 'ConcatV2', [cls, x, g.constant(`${name}/concat_axis`, Int32Array.of(1), [], 'int32')], {...F, N: attr.int(2), Tidx: attr.type('int32')})
    let pos = c.weight('pos_embedding')
    if (n !== (c.config.numTokens as number)) pos = g.op(`${name}/pos_slice`, 'Slice', [pos, g.ints(`${name}/pos_begin`, [0, 0, 0]), g.ints(`${name}/pos_size`, [1, n + 1, dim])], {...F, Index: attr.type('int32')})
    return binary(c, 'AddV2', tokens, pos, 'add_pos')
  },
  MixtureLatentArray(c) {
    const {g, name} = c
    const latents = g.op(`${name}/expand`, 'ExpandDims', [c.weight('latents'), g.constant(`${name}/expand_axis`, Int32Array.of(0), [], 'int32')], {...F, Tdim: attr.type('int32')})
    return g.op(`${name}/tiled`, 'Tile', [latents, withBatch(c, [1, 1], 'multiples')], {...F, Tmultiples: attr.type('int32')})
  },
  MixtureClsPool(c, [x]) {
    const d = c.inShapes[0][2] as number
    const first = c.g.op(`${c.name}/Slice`, 'Slice', [x, c.g.ints(`${c.name}/begin`, [0, 0, 0]), c.g.ints(`${c.name}/size`, [-1, 1, d])], {...F, Index: attr.type('int32')})
    return reshape(c, first, [d])
  },
  MixtureFourierFeatures(c, [x]) {
    // Data channels, then the Fourier position features of every pixel (layers/perceiver.ts).
    const {g, name} = c
    const [h, w, ch] = rest(c.inShapes[0], c.layer.name)
    const bands = c.config.numBands as number
    const features = 2 * (2 * bands + 1)
    const table = g.constant(`${name}/position_features`, fourierTable(h, w, bands, c.config.maxFreq as number), [1, h * w, features])
    const tiled = g.op(`${name}/position_tiled`, 'Tile', [table, withBatch(c, [1, 1], 'multiples')], {...F, Tmultiples: attr.type('int32')})
    const tokens = reshape(c, x, [h * w, ch], 'tokens')
    return g.op(`${name}/concat`, 'ConcatV2', [tokens, tiled, g.constant(`${name}/concat_axis`, Int32Array.of(-1), [], 'int32')], {...F, N: attr.int(2), Tidx: attr.type('int32')})
  },
}

/** Layer classes the export writes as stock ops. */
export const EXPORTABLE_LAYERS = Object.keys(EMITTERS)

export interface LayerGraph {
  graph: GraphBuilder
  input: {name: string; shape: number[]}
  output: {name: string; shape: number[]}
}

interface Node {
  inputTensors: SymbolicTensor[]
  outputTensors: SymbolicTensor[]
}

/** The model as a graph of stock ops: `image` (N, H, W, C) float32 in, `logits` out. */
export function layerGraph(model: LayersModel): LayerGraph {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new ExportError(`the model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; the export writes models of one image input and one logits output`)
  const g = new GraphBuilder()
  const inputShape = rest(model.inputs[0].shape, 'input')
  const input = g.placeholder('image', [-1, ...inputShape])
  const refs = new Map<number, string>([[model.inputs[0].id, input]])
  const weightRefs = new Map<string, string>()
  const calls = new Map<Layer, number>()
  const blocked = new Map<string, string[]>()
  let batch: string | undefined
  const batchRef = () => {
    batch ??= g.op('image/batch', 'StridedSlice', [g.op('image/shape', 'Shape', [input], {...F, out_type: attr.type('int32')}), g.ints('image/batch_begin', [0]), g.ints('image/batch_end', [1]), g.ints('image/batch_strides', [1])], {T: attr.type('int32'), Index: attr.type('int32'), begin_mask: attr.int(0), end_mask: attr.int(0), ellipsis_mask: attr.int(0), new_axis_mask: attr.int(0), shrink_axis_mask: attr.int(0)})
    return batch
  }

  const visit = (t: SymbolicTensor): string => {
    const known = refs.get(t.id)
    if (known !== undefined) return known
    const layer = t.sourceLayer as Layer
    const node = (layer as unknown as {inboundNodes: Node[]}).inboundNodes[t.nodeIndex]
    const inputs = node.inputTensors.map(visit)
    const className = layer.getClassName()
    const emit = EMITTERS[className]
    let outputs: string[]
    if (!emit) {
      blocked.set(className, [...(blocked.get(className) ?? []), layer.name])
      outputs = node.outputTensors.map(() => input)
    } else {
      const n = calls.get(layer) ?? 0
      calls.set(layer, n + 1)
      const call: Call = {
        g,
        layer,
        name: n === 0 ? layer.name : `${layer.name}_call${n}`,
        inShapes: node.inputTensors.map((s) => s.shape),
        outShapes: node.outputTensors.map((s) => s.shape),
        config: layer.getConfig() as Record<string, unknown>,
        weight: (local) => {
          const w = layer.weights.find((v) => v.originalName === `${layer.name}/${local}`)
          if (!w) throw new Error(`layer ${layer.name} has no weight ${local}`)
          let ref = weightRefs.get(w.originalName)
          if (!ref) {
            ref = g.constant(w.originalName, w.read().dataSync() as Float32Array, w.shape as number[])
            weightRefs.set(w.originalName, ref)
          }
          return ref
        },
        batch: batchRef,
      }
      const out = emit(call, inputs)
      outputs = Array.isArray(out) ? out : [out]
    }
    node.outputTensors.forEach((s, i) => refs.set(s.id, outputs[i]))
    return refs.get(t.id)!
  }

  const last = visit(model.outputs[0])
  if (blocked.size > 0) {
    const list = [...blocked].map(([cls, layers]) => `${cls} (${layers.length} layer${layers.length > 1 ? 's' : ''}, e.g. ${layers[0]})`).join('; ')
    throw new ExportError(
      `the model cannot be exported as a TensorFlow.js graph of stock ops: no stock-op form is known for the layer class${blocked.size > 1 ? 'es' : ''} ${list}. ` +
        `Exportable layer classes: ${EXPORTABLE_LAYERS.join(', ')}. Build the component from those layers (or tfjs's built-in ones listed here), or export its weights with --format safetensors`,
    )
  }
  const outShape = rest(model.outputs[0].shape, 'output')
  const output = g.op('logits', 'Identity', [last], F)
  return {graph: g, input: {name: input, shape: [-1, ...inputShape]}, output: {name: output, shape: [-1, ...outShape]}}
}
