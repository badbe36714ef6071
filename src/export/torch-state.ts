/**
 * A restored model's weights as a PyTorch `state_dict` (torch-names.ts gives the module names):
 * Linear weights transposed to (out, in), convolution kernels from (kh, kw, in, out) to
 * (out, in, kh, kw) (ConvTranspose2d: from (kh, kw, out, in) to (in, out, kh, kw)), BatchNorm's
 * γ, β and statistics as weight, bias, running_mean, running_var with `num_batches_tracked` (the
 * training steps times the layer's uses per step, as PyTorch counts them), LayerNorm's γ, β as
 * weight, bias. For a model without a PyTorch counterpart, every weight under its own name
 * (`<layer>/<weight>`) in the project's layout, with the reason.
 */
import {tf, type LayersModel} from '../engine/tf.js'
import type {ResolvedSpec} from '../schema/spec.js'
import type {SafeTensor} from './safetensors.js'
import {torchLayout, type TorchLayout} from './torch-names.js'

export interface StateDict {
  tensors: SafeTensor[]
  /** The PyTorch class that loads it, or null with `reason` when the names are the project's own. */
  torch: {builder: string; kwargs: Record<string, unknown>} | null
  reason?: string
}

/** Our weight's local name → PyTorch parameter, and the axis order that takes our layout to PyTorch's. */
const PARAMS: Record<string, Record<string, {param: string; perm?: number[]}>> = {
  Dense: {kernel: {param: 'weight', perm: [1, 0]}, bias: {param: 'bias'}},
  Conv2D: {kernel: {param: 'weight', perm: [3, 2, 0, 1]}, bias: {param: 'bias'}},
  Conv2DTranspose: {kernel: {param: 'weight', perm: [3, 2, 0, 1]}, bias: {param: 'bias'}},
  MixtureBatchNorm: {gamma: {param: 'weight'}, beta: {param: 'bias'}, moving_mean: {param: 'running_mean'}, moving_variance: {param: 'running_var'}},
  MixtureLayerNorm: {gamma: {param: 'weight'}, beta: {param: 'bias'}},
  MixtureClsPosEmbedding: {pos_embedding: {param: 'pos_embedding'}, cls_token: {param: 'cls_token'}},
  MixtureLatentArray: {latents: {param: 'latents'}},
}

/** `data` of `shape` with its axes reordered by `perm` (out axis i = in axis perm[i]). */
export function permute(data: Float32Array, shape: number[], perm: number[]): {shape: number[]; data: Float32Array} {
  const outShape = perm.map((p) => shape[p])
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1))
  const strides = perm.map((p) => inStrides[p])
  const out = new Float32Array(data.length)
  const index = new Array<number>(perm.length).fill(0)
  let src = 0
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src]
    // Advance the output position like an odometer, moving the source by the matching strides.
    for (let axis = perm.length - 1; axis >= 0; axis--) {
      if (++index[axis] < outShape[axis]) {
        src += strides[axis]
        break
      }
      src -= strides[axis] * (outShape[axis] - 1)
      index[axis] = 0
    }
  }
  return {shape: outShape, data: out}
}

function values(t: tf.Tensor, perm?: number[]): {shape: number[]; data: Float32Array} {
  const data = Float32Array.from(t.dataSync() as Float32Array)
  return perm ? permute(data, t.shape, perm) : {shape: t.shape, data}
}

function ownNames(model: LayersModel, reason: string): StateDict {
  return {tensors: model.weights.map((w) => ({name: w.originalName, dtype: 'F32' as const, ...values(w.read())})), torch: null, reason}
}

function torchNames(model: LayersModel, layout: TorchLayout, steps: number): StateDict | string {
  const tensors: SafeTensor[] = []
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue
    const cls = layer.getClassName()
    const module = layout.module(layer.name)
    const params = PARAMS[cls]
    if (module === undefined || !params) return `layer ${layer.name} (${cls}) has no PyTorch counterpart in ${layout.builder}`
    for (const w of layer.weights) {
      const local = w.originalName.slice(layer.name.length + 1)
      const p = params[local]
      if (!p) return `weight ${w.originalName} has no PyTorch counterpart in ${layout.builder}`
      tensors.push({name: module ? `${module}.${p.param}` : p.param, dtype: 'F32', ...values(w.read(), p.perm)})
    }
    if (cls === 'MixtureBatchNorm') {
      const uses = (layer as unknown as {inboundNodes: unknown[]}).inboundNodes.length
      tensors.push({name: `${module}.num_batches_tracked`, dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(steps * uses))})
    }
  }
  const names = new Set(tensors.map((t) => t.name))
  if (names.size !== tensors.length) return `two weights map to one PyTorch name in ${layout.builder}`
  return {tensors, torch: {builder: layout.builder, kwargs: layout.kwargs}}
}

/** The state_dict of `model` (built from `spec`, trained for `steps` optimizer steps), under PyTorch names where the architecture has them. */
export function stateDict(model: LayersModel, spec: Pick<ResolvedSpec, 'data' | 'model'>, steps: number): StateDict {
  const outputs = model.outputs[0].shape[1] as number
  const layout = torchLayout(spec, outputs)
  if (typeof layout === 'string') return ownNames(model, layout)
  const dict = torchNames(model, layout, steps)
  return typeof dict === 'string' ? ownNames(model, dict) : dict
}
