/**
 * Our tfjs weights in PyTorch's vocabulary: the kind of module tensor each one is, its PyTorch shape,
 * and the pairing of a model's weights with a fixture's state_dict (test/fixtures/torch/README.md).
 */
import assert from 'node:assert/strict'
import {tf, type LayersModel} from '../../src/engine/tf.js'

/** A tensor as the fixtures store it: PyTorch layout, flat row-major values; images also in NHWC. */
export interface TorchTensor {
  shape: number[]
  values: number[]
  nhwc?: {shape: number[]; values: number[]}
}
export interface Entry extends TorchTensor {
  name: string
  kind: string
  trainable: boolean
}

/** The PyTorch kind (`linear.weight`, `conv2d.bias`, …) of weight `weightName` of a layer of class `layerClass`. */
export function kindOf(layerClass: string, weightName: string): string {
  const w = weightName.split('/').pop()!.replace(/_\d+$/, '')
  const table: Record<string, Record<string, string>> = {
    Dense: {kernel: 'linear.weight', bias: 'linear.bias'},
    Conv2D: {kernel: 'conv2d.weight', bias: 'conv2d.bias'},
    Conv2DTranspose: {kernel: 'conv_transpose2d.weight', bias: 'conv_transpose2d.bias'},
    MixtureBatchNorm: {gamma: 'batchnorm2d.weight', beta: 'batchnorm2d.bias', moving_mean: 'batchnorm2d.running_mean', moving_variance: 'batchnorm2d.running_var'},
    MixtureLayerNorm: {gamma: 'layernorm.weight', beta: 'layernorm.bias'},
  }
  return table[layerClass]?.[w] ?? 'parameter'
}

/**
 * The PyTorch shape of a tfjs weight: Dense kernels (in, out) → (out, in); conv kernels
 * (kh, kw, in, out) → (out, in, kh, kw); conv-transpose kernels (kh, kw, out, in) → (in, out, kh, kw)
 * (the same permutation); everything else as it is.
 */
export function torchShape(kind: string, shape: readonly number[]): number[] {
  if (kind === 'linear.weight') return [shape[1], shape[0]]
  if (kind === 'conv2d.weight' || kind === 'conv_transpose2d.weight') return [shape[3], shape[2], shape[0], shape[1]]
  return [...shape]
}

/** Torch layout → tfjs layout, by the kind of tensor. */
export function toTfjs(kind: string, shape: number[], values: number[]): {shape: number[]; values: Float32Array} {
  const t = tf.tensor(values, shape)
  let out: tf.Tensor = t
  if (kind === 'linear.weight') out = tf.transpose(t)
  else if (kind === 'conv2d.weight' || kind === 'conv_transpose2d.weight') out = tf.transpose(t, [2, 3, 1, 0])
  return {shape: out.shape, values: out.dataSync() as Float32Array}
}

export interface Mapping {
  variable: tf.Variable
  torch: Entry
  trainable: boolean
}

/** Pair our weights (in creation order) with a fixture's state_dict, first unused entry of the same kind and shape. */
export function mapWeights(model: LayersModel, order: string[], stateDict: Entry[]): Mapping[] {
  const used = new Set<Entry>()
  const layers = [...model.layers].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name))
  const out: Mapping[] = []
  for (const layer of layers) {
    for (const w of layer.weights) {
      const kind = kindOf(layer.getClassName(), w.originalName)
      const shape = w.shape as number[]
      const candidates = stateDict.filter((e) => !used.has(e) && e.kind === kind && String(toTfjs(e.kind, e.shape, e.values).shape) === String(shape))
      // Same kind and shape in both orders; a module of the same top-level name wins (the joint
      // model's shared `norm` is registered last in PyTorch but built after the first branches here).
      const top = layer.name.split('_')[0]
      const entry = candidates.find((e) => e.name.split('.')[0] === top) ?? candidates[0]
      assert.ok(entry, `no PyTorch tensor for ${w.originalName} (${kind}, [${shape}])`)
      const converted = toTfjs(entry.kind, entry.shape, entry.values)
      assert.deepEqual(converted.shape, shape, `${w.originalName} ↔ ${entry.name}`)
      used.add(entry)
      out.push({variable: (w as unknown as {val: tf.Variable}).val, torch: entry, trainable: w.trainable})
    }
  }
  assert.equal(used.size, stateDict.length, `every PyTorch tensor is used: missing ${stateDict.filter((e) => !used.has(e)).map((e) => e.name)}`)
  return out
}

/** Set every mapped weight to its PyTorch value. */
export function assignTorchWeights(mapping: Mapping[]): void {
  for (const m of mapping) m.variable.assign(tf.tensor(toTfjs(m.torch.kind, m.torch.shape, m.torch.values).values, m.variable.shape))
}
