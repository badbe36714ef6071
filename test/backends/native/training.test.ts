/**
 * Whole training steps on the native backend against the cpu backend: small hand-built networks
 * (conv + BatchNorm + max-pool + dense; attention with matmul/softmax/erf) and every registered paper
 * model at its tiny size. Also: repeated steps leak neither tensors nor addon memory.
 */
import {before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {tf, tfl, type LayersModel} from '../../../src/engine/tf.js'
import {loadNative, nativeAddon, NativeBackend} from '../../../src/backends/native/index.js'
import {crossEntropy, Trainer} from '../../../src/engine/trainer.js'
import {setDropoutStep} from '../../../src/ops/dropout.js'
import {buildModel} from '../../../src/model/build.js'
import {allEntries} from '../../../src/registry/registry.js'
import {resolveObject} from '../../helpers.js'
import {nativeBuilt, skipUnless} from '../../require.js'

// Skipped only where the addon was never built: a built addon that fails to load fails these tests.
const unavailable = skipUnless('native', nativeBuilt()) || undefined
before(async () => {
  if (!unavailable) await loadNative()
})

const ADAM = {lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4}

interface StepResult {
  loss: number
  grads: Float32Array[]
  params: Float32Array[]
}

/** Build on `backend`, take the gradients of one batch, then one Trainer step; everything read back. */
function stepOn(backend: string, build: () => LayersModel, batch: number, size: number, classes: number): StepResult {
  tf.setBackend(backend)
  const model = build()
  try {
    const x = tf.tensor4d(Float32Array.from({length: batch * size * size * 3}, (_, i) => ((i * 7919) % 1000) / 1000), [batch, size, size, 3])
    const y = tf.tensor1d(Int32Array.from({length: batch}, (_, i) => i % classes), 'int32')
    const vars = model.trainableWeights.map((w) => (w as unknown as {val: tf.Variable}).val)
    setDropoutStep(1)
    const {value, grads} = tf.variableGrads(() => crossEntropy(model.apply(x, {training: true}) as tf.Tensor2D, y).loss, vars)
    const result: StepResult = {loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync() as Float32Array), params: []}
    tf.dispose([value, grads as unknown as tf.Tensor[]])
    const trainer = new Trainer(model, ADAM)
    trainer.trainStep(x as tf.Tensor4D, y as tf.Tensor1D)
    result.params = vars.map((v) => v.dataSync() as Float32Array)
    trainer.dispose()
    tf.dispose([x, y])
    return result
  } finally {
    model.dispose()
    tf.setBackend('cpu')
  }
}

function compareSteps(what: string, cpu: StepResult, nat: StepResult): void {
  assert.ok(Number.isFinite(cpu.loss), `${what}: finite cpu loss`)
  assert.ok(Math.abs(cpu.loss - nat.loss) <= 1e-4 * (1 + Math.abs(cpu.loss)), `${what}: loss native ${nat.loss} vs cpu ${cpu.loss}`)
  assert.equal(nat.grads.length, cpu.grads.length)
  // gradients that are rounding noise (a conv bias in front of BatchNorm has a true gradient of 0)
  // make Adam's first step ±lr at random: only compare updates where the gradient is significant
  let global = 0
  for (const g of cpu.grads) for (const v of g) global = Math.max(global, Math.abs(v))
  cpu.grads.forEach((g, k) => {
    let scale = 0
    for (const v of g) scale = Math.max(scale, Math.abs(v))
    const tol = 2e-3 * scale + 1e-6
    for (let i = 0; i < g.length; i++) {
      if (!(Math.abs(nat.grads[k][i] - g[i]) <= tol)) assert.fail(`${what}: gradient ${k}[${i}] native ${nat.grads[k][i]} vs cpu ${g[i]} (tol ${tol})`)
    }
    // Adam's first step moves each weight by about lr·sign(g): compare where the sign is well defined
    for (let i = 0; i < g.length; i++) {
      if (Math.abs(g[i]) < 1e-3 * scale || Math.abs(g[i]) < 1e-4 * global) continue
      const d = Math.abs(nat.params[k][i] - cpu.params[k][i])
      if (!(d <= 2e-5 * (1 + Math.abs(cpu.params[k][i])))) assert.fail(`${what}: updated weight ${k}[${i}] native ${nat.params[k][i]} vs cpu ${cpu.params[k][i]}`)
    }
  })
}

let seed = 1
const init = () => tfl.initializers.glorotUniform({seed: seed++})

function convNet(): LayersModel {
  seed = 1
  const L = tfl.layers
  const input = tfl.input({shape: [12, 12, 3]})
  let x = L.zeroPadding2d({padding: 1}).apply(input) as tfl.SymbolicTensor
  x = L.conv2d({filters: 8, kernelSize: 3, strides: 2, padding: 'valid', kernelInitializer: init()}).apply(x) as tfl.SymbolicTensor
  x = L.batchNormalization({momentum: 0.9, epsilon: 1e-5}).apply(x) as tfl.SymbolicTensor
  x = L.reLU().apply(x) as tfl.SymbolicTensor
  x = L.maxPooling2d({poolSize: 3, strides: 2, padding: 'same'}).apply(x) as tfl.SymbolicTensor
  const y = L.conv2d({filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init()}).apply(x) as tfl.SymbolicTensor
  x = L.add().apply([x, y]) as tfl.SymbolicTensor
  x = L.conv2d({filters: 6, kernelSize: 1, kernelInitializer: init()}).apply(x) as tfl.SymbolicTensor
  x = L.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor
  x = L.dense({units: 5, kernelInitializer: init()}).apply(x) as tfl.SymbolicTensor
  return tfl.model({inputs: input, outputs: x})
}

class TinyAttention extends tfl.layers.Layer {
  static className = 'NativeTestAttention'
  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs
    return tf.tidy(() => {
      const [b, n, d] = x.shape
      const heads = 2
      const split = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [b, n, heads, d / 3 / heads]), [0, 2, 1, 3])
      const [q, k, v] = tf.split(x, 3, -1).map((t) => split(t))
      const a = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 0.5))
      const o = tf.transpose(tf.matMul(a, v), [0, 2, 1, 3])
      const merged = tf.reshape(o, [b, n, d / 3])
      // exact GELU through erf, as vit-pytorch's nn.GELU
      return tf.mul(tf.mul(merged, 0.5), tf.add(1, tf.erf(tf.mul(merged, Math.SQRT1_2))))
    })
  }
  computeOutputShape(shape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(shape[0]) ? shape[0] : shape) as tfl.Shape
    return [s[0], s[1], (s[2] as number) / 3]
  }
}
tf.serialization.registerClass(TinyAttention)

function attentionNet(): LayersModel {
  seed = 100
  const L = tfl.layers
  const input = tfl.input({shape: [8, 8, 3]})
  let x = L.reshape({targetShape: [16, 12]}).apply(input) as tfl.SymbolicTensor
  x = L.dense({units: 16, kernelInitializer: init()}).apply(x) as tfl.SymbolicTensor
  let h = L.layerNormalization({epsilon: 1e-5}).apply(x) as tfl.SymbolicTensor
  h = L.dense({units: 48, useBias: false, kernelInitializer: init()}).apply(h) as tfl.SymbolicTensor
  h = new TinyAttention({}).apply(h) as tfl.SymbolicTensor
  h = L.dense({units: 16, kernelInitializer: init()}).apply(h) as tfl.SymbolicTensor
  x = L.add().apply([x, h]) as tfl.SymbolicTensor
  h = L.dense({units: 32, activation: 'gelu', kernelInitializer: init()}).apply(x) as tfl.SymbolicTensor
  h = L.dense({units: 16, kernelInitializer: init()}).apply(h) as tfl.SymbolicTensor
  x = L.add().apply([x, h]) as tfl.SymbolicTensor
  x = L.flatten().apply(x) as tfl.SymbolicTensor
  x = L.dense({units: 4, activation: 'softmax', kernelInitializer: init()}).apply(x) as tfl.SymbolicTensor
  return tfl.model({inputs: input, outputs: x})
}

/** Every registered model at its tiny preset, and the mixture blocks the paper uses. */
function paperSpecs(): {name: string; spec: unknown}[] {
  const data = {dataset: 'synthetic', image_size: 8, synthetic: {train: 8, test: 8, classes: 3}}
  const specs: {name: string; spec: unknown}[] = []
  for (const entry of allEntries()) {
    if (entry.kind !== 'model' || entry.name === 'mixture') continue
    specs.push({name: entry.name, spec: {name: 'native', data, model: {type: entry.name, ...entry.tiny}}})
  }
  const tinyOf = (kind: string, name: string) => allEntries().find((e) => e.kind === kind && e.name === name)?.tiny ?? {}
  const cnn = {type: 'cnn', ...tinyOf('component', 'cnn')}
  const vit = {type: 'vit', ...tinyOf('component', 'vit')}
  const perceiver = {type: 'perceiver', ...tinyOf('component', 'perceiver')}
  const mixtures: [string, Record<string, unknown>][] = [
    ['alternating cnn+vit ×2', {block: 'alternating', num_blocks: 2, components: [cnn, vit], adapter: {type: 'token_image'}}],
    ['joint cnn+vit', {block: 'joint', components: [cnn, vit], adapter: {type: 'token_image'}, norm: {type: 'none'}}],
    ['joint cnn+vit batchnorm', {block: 'joint', components: [cnn, vit], adapter: {type: 'token_image'}, norm: {type: 'batchnorm'}}],
    ['alternating cnn+perceiver', {block: 'alternating', components: [cnn, perceiver]}],
    ['joint cnn+perceiver shared batchnorm', {block: 'joint', components: [cnn, perceiver], norm: {type: 'batchnorm', share: 'model'}}],
  ]
  for (const [name, model] of mixtures) specs.push({name: `mixture ${name}`, spec: {name: 'native', data, model: {type: 'mixture', head: {type: 'linear'}, ...model}}})
  return specs
}

describe('native training steps match cpu', {concurrency: false}, () => {
  it('conv + batch norm + max-pool + dense', (t) => {
    if (unavailable) return t.skip(unavailable)
    compareSteps('conv net', stepOn('cpu', convNet, 4, 12, 5), stepOn('native', convNet, 4, 12, 5))
  })

  it('attention with matmul, softmax, erf and layer norm', (t) => {
    if (unavailable) return t.skip(unavailable)
    compareSteps('attention net', stepOn('cpu', attentionNet, 3, 8, 4), stepOn('native', attentionNet, 3, 8, 4))
  })

  it('every paper model at its tiny size', (t) => {
    if (unavailable) return t.skip(unavailable)
    const specs = paperSpecs()
    assert.ok(specs.length >= 8, `expected the paper's models, found ${specs.map((s) => s.name)}`)
    for (const {name, spec} of specs) {
      const resolved = resolveObject(spec)
      const build = () => buildModel(resolved).model
      compareSteps(name, stepOn('cpu', build, 3, 8, 3), stepOn('native', build, 3, 8, 3))
    }
  })

  it('repeated steps keep tensors, pooled buffers and addon memory constant', (t) => {
    if (unavailable) return t.skip(unavailable)
    tf.setBackend('native')
    const model = buildModel(resolveObject(paperSpecs().find((s) => s.name === 'mixture joint cnn+vit batchnorm')!.spec)).model
    const trainer = new Trainer(model, ADAM)
    const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D
    const y = tf.tensor1d([0, 1, 2, 0], 'int32')
    const backend = tf.backend() as NativeBackend
    const snapshot = () => {
      const pool = backend.poolStats()
      return {tensors: tf.memory().numTensors, addonBytes: nativeAddon()!.stats().cacheBytes, pooled: pool.liveBuffers + pool.freeBuffers, poolBytes: pool.freeBytes}
    }
    try {
      for (let i = 0; i < 2; i++) trainer.trainStep(x, y)
      const first = snapshot()
      for (let i = 0; i < 4; i++) trainer.trainStep(x, y)
      const later = snapshot()
      assert.deepEqual(later, first)
      assert.ok(first.pooled > 0, 'kernel outputs come from the pool')
    } finally {
      trainer.dispose()
      model.dispose()
      tf.dispose([x, y])
      tf.setBackend('cpu')
    }
  })

  it('hands out copies of pooled memory, so reads survive dispose', (t) => {
    if (unavailable) return t.skip(unavailable)
    tf.setBackend('native')
    try {
      const a = tf.relu(tf.tensor1d([-1, 2, 3]))
      const read = a.dataSync()
      a.dispose()
      const b = tf.relu(tf.tensor1d([5, -6, 7]))
      assert.deepEqual(Array.from(read), [0, 2, 3])
      assert.deepEqual(Array.from(b.dataSync()), [5, 0, 7])
      // a zero-copy view (contiguous slice) keeps its buffer out of the pool until it is gone too
      const c = tf.exp(tf.tensor2d([1, 2, 3, 4], [2, 2]))
      const view = tf.slice(c, [1, 0], [1, 2])
      c.dispose()
      const d = tf.exp(tf.tensor2d([0, 0, 0, 0], [2, 2]))
      assert.ok(Math.abs(view.dataSync()[0] - Math.exp(3)) < 1e-4, 'the view still reads its own values')
      tf.dispose([b, view, d])
    } finally {
      tf.setBackend('cpu')
    }
  })
})
