/**
 * Gradients of small networks on the WASM backend against the `cpu` backend: a conv net built
 * from tfjs-layers (conv 3×3 'same', ZeroPadding2D + strided 'valid' conv, 1×1 conv, BatchNorm in
 * training mode, max-pool, Conv2DTranspose, global average pool, dense, softmax cross-entropy)
 * and an attention block (LayerNorm, dense on rank-3 tokens, batched attention products,
 * softmax, exact GELU, a GEGLU split, dropout), then one full Adam step.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {tf, tfl} from '../../../src/engine/tf.js'
import {loadWasm} from '../../../src/backends/wasm/index.js'
import {adamUpdate} from '../../../src/ops/adam.js'
import {values} from '../../helpers.js'

let previous: string | undefined
before(async () => {
  previous = tf.getBackend() ?? undefined
  await loadWasm()
})
after(async () => {
  if (previous) await tf.setBackend(previous)
})


function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-3, atol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`)
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i])
    if (!(d <= atol + rtol * Math.abs(expected[i]))) assert.fail(`${what}[${i}]: wasm ${actual[i]} vs cpu ${expected[i]} (|diff| ${d})`)
  }
}

/** Loss and gradient of every variable, computed on `backend`. */
async function gradients(backend: string, vars: tf.Variable[], loss: () => tf.Scalar): Promise<{loss: number; grads: Float32Array[]}> {
  await tf.setBackend(backend)
  return tf.tidy(() => {
    const {value, grads} = tf.variableGrads(loss, vars)
    return {loss: value.dataSync()[0], grads: vars.map((v) => Float32Array.from(grads[v.name].dataSync()))}
  })
}

async function compareGradients(vars: tf.Variable[], loss: () => tf.Scalar): Promise<void> {
  const cpu = await gradients('cpu', vars, loss)
  const wasm = await gradients('wasm', vars, loss)
  assert.ok(Number.isFinite(cpu.loss))
  assertClose([wasm.loss], [cpu.loss], 'loss', 1e-4, 1e-5)
  let nonzero = 0
  vars.forEach((v, i) => {
    assertClose(wasm.grads[i], cpu.grads[i], `grad of ${v.name}`)
    if (cpu.grads[i].some((g) => g !== 0)) nonzero++
  })
  assert.ok(nonzero >= vars.length - 1, 'gradients reach (almost) every variable')
}

function convNet(): tfl.LayersModel {
  const inp = tfl.input({shape: [9, 10, 3]})
  let x = tfl.layers.conv2d({filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: tfl.initializers.glorotUniform({seed: 1})}).apply(inp) as tfl.SymbolicTensor
  x = tfl.layers.batchNormalization({momentum: 0.9, epsilon: 1e-5}).apply(x) as tfl.SymbolicTensor
  x = tfl.layers.activation({activation: 'relu'}).apply(x) as tfl.SymbolicTensor
  const skip = tfl.layers.conv2d({filters: 8, kernelSize: 1, strides: 2, kernelInitializer: tfl.initializers.glorotUniform({seed: 2})}).apply(x) as tfl.SymbolicTensor
  x = tfl.layers.zeroPadding2d({padding: 1}).apply(x) as tfl.SymbolicTensor
  x = tfl.layers.conv2d({filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, kernelInitializer: tfl.initializers.glorotUniform({seed: 3})}).apply(x) as tfl.SymbolicTensor
  x = tfl.layers.add().apply([x, skip]) as tfl.SymbolicTensor
  x = tfl.layers.activation({activation: 'relu'}).apply(x) as tfl.SymbolicTensor
  x = tfl.layers.zeroPadding2d({padding: 1}).apply(x) as tfl.SymbolicTensor
  x = tfl.layers.maxPooling2d({poolSize: 3, strides: 2}).apply(x) as tfl.SymbolicTensor
  x = tfl.layers.conv2dTranspose({filters: 3, kernelSize: 3, padding: 'same', kernelInitializer: tfl.initializers.glorotUniform({seed: 4})}).apply(x) as tfl.SymbolicTensor
  x = tfl.layers.batchNormalization({momentum: 0.9, epsilon: 1e-5}).apply(x) as tfl.SymbolicTensor
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor
  const flat = tfl.layers.flatten().apply(x) as tfl.SymbolicTensor
  const both = tfl.layers.concatenate().apply([pooled, flat]) as tfl.SymbolicTensor
  const out = tfl.layers.dense({units: 5, kernelInitializer: tfl.initializers.glorotUniform({seed: 5})}).apply(both) as tfl.SymbolicTensor
  return tfl.model({inputs: inp, outputs: out})
}

describe('small networks: wasm gradients equal cpu gradients', () => {
  it('conv net (conv, strided conv, 1x1, BatchNorm, max-pool, Conv2DTranspose, dense)', async () => {
    await tf.setBackend('cpu')
    const model = convNet()
    const x = tf.tensor4d(values(3 * 9 * 10 * 3, 11), [3, 9, 10, 3])
    const y = tf.oneHot(tf.tensor1d([0, 3, 4], 'int32'), 5)
    const vars = model.trainableWeights.map((w) => (w as unknown as {val: tf.Variable}).val)
    await compareGradients(vars, () => tf.losses.softmaxCrossEntropy(y, model.apply(x, {training: true}) as tf.Tensor) as tf.Scalar)
    tf.dispose([x, y])
    model.dispose()
  })

  it('attention block (LayerNorm, rank-3 dense, attention, softmax, GELU, GEGLU, dropout)', async () => {
    await tf.setBackend('cpu')
    const [b, t, d, heads, dh] = [2, 5, 8, 2, 4]
    let s = 100
    const v = (shape: number[], scale = 0.5) => tf.variable(tf.mul(tf.tensor(values(shape.reduce((p, q) => p * q, 1), s++), shape), scale), true, `attn${s}`)
    const ln = tfl.layers.layerNormalization({epsilon: 1e-5})
    const qkv = v([d, 3 * heads * dh])
    const wo = v([heads * dh, d])
    const w1 = v([d, 4 * d])
    const w2 = v([2 * d, d])
    const head = v([d, 3])
    const x = tf.tensor3d(values(b * t * d, 7), [b, t, d])
    const picks = tf.tensor1d([0 * 3 + 2, 1 * 3 + 0], 'int32') // labels 2, 0 in the flattened [b, 3] log-probabilities
    const gelu = (z: tf.Tensor) => tf.mul(tf.mul(z, 0.5), tf.add(1, tf.erf(tf.mul(z, Math.SQRT1_2))))
    const dense = (z: tf.Tensor, w: tf.Tensor) => tf.reshape(tf.matMul(tf.reshape(z, [-1, z.shape[z.shape.length - 1]!]), w), [...z.shape.slice(0, -1), w.shape[1]!])
    const loss = () => {
      const h = ln.apply(x) as tf.Tensor
      const split = tf.transpose(tf.reshape(dense(h, qkv), [b, t, 3, heads, dh]), [2, 0, 3, 1, 4])
      const [q, k, val] = tf.split(split, 3).map((z) => tf.reshape(z, [b, heads, t, dh]))
      const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), dh ** -0.5))
      const o = tf.reshape(tf.transpose(tf.matMul(att, val), [0, 2, 1, 3]), [b, t, heads * dh])
      let z = tf.add(x, tf.dropout(dense(o, wo), 0.25, undefined, 3))
      const [u, gate] = tf.split(dense(z, w1), 2, -1)
      z = tf.add(z, dense(tf.mul(u, gelu(gate)), w2))
      const logits = tf.matMul(tf.mean(z, 1), head)
      return tf.neg(tf.mean(tf.gather(tf.reshape(tf.logSoftmax(logits), [-1]), picks))) as tf.Scalar
    }
    tf.tidy(() => {
      ln.apply(x) // builds the LayerNorm weights
    })
    const vars = [qkv, wo, w1, w2, head, ...ln.trainableWeights.map((w) => (w as unknown as {val: tf.Variable}).val)]
    await compareGradients(vars, loss)
    tf.dispose([x, picks, qkv, wo, w1, w2, head])
  })

  it('one Adam step on the conv net gives the same weights on wasm and cpu', async () => {
    const step = async (backend: string): Promise<Float32Array[]> => {
      await tf.setBackend(backend)
      const model = convNet()
      const x = tf.tensor4d(values(2 * 9 * 10 * 3, 21), [2, 9, 10, 3])
      const y = tf.oneHot(tf.tensor1d([1, 2], 'int32'), 5)
      const vars = model.trainableWeights.map((w) => (w as unknown as {val: tf.Variable}).val)
      const {grads} = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, {training: true}) as tf.Tensor) as tf.Scalar, vars)
      const out = vars.map((p) =>
        tf.tidy(() => {
          // A large eps: a first Adam step is lr·g/(|g|+eps), which turns the rounding noise of a
          // gradient that is 0 in exact arithmetic (a conv bias before BatchNorm) into ±lr.
          const [p1] = adamUpdate(p, grads[p.name], tf.zerosLike(p), tf.zerosLike(p), {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-3, weightDecay: 1e-4, step: 1})
          return Float32Array.from(p1.dataSync())
        }),
      )
      tf.dispose([x, y, grads])
      model.dispose()
      return out
    }
    const cpu = await step('cpu')
    const wasm = await step('wasm')
    cpu.forEach((c, i) => assertClose(wasm[i], c, `weight ${i} after one step`, 1e-4, 1e-5))
  })
})
