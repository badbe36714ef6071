// LayerNorm / BatchNorm: forward and closed-form gradients against autodiff of the plain formula.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {tf} from '../../src/engine/tf.js'
import {BatchNorm, LayerNorm} from '../../src/layers/norm.js'
import {assertClose} from '../helpers.js'

function reference(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, axes: number[], eps: number): tf.Tensor {
  const {mean, variance} = tf.moments(x, axes, true)
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta)
}

test('LayerNorm forward and gradients (x, gamma, beta) match autodiff of the formula', () => {
  const x = tf.randomNormal([2, 5, 6], 0, 2, 'float32', 1)
  const layer = new LayerNorm({epsilon: 1e-5})
  layer.apply(x) // build
  ;(layer.trainableWeights[0] as unknown as {write(t: tf.Tensor): void}).write(tf.randomNormal([6], 1, 0.3, 'float32', 2))
  ;(layer.trainableWeights[1] as unknown as {write(t: tf.Tensor): void}).write(tf.randomNormal([6], 0, 0.3, 'float32', 3))
  const w = tf.randomNormal([2, 5, 6], 0, 1, 'float32', 4)
  const f = (xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi) as tf.Tensor, w)) as tf.Scalar
  const vg = tf.variableGrads(() => f(x), layer.trainableWeights.map((v) => (v as unknown as {val: tf.Variable}).val))
  const dx = tf.grad(f)(x)
  const g0 = layer.trainableWeights[0].read()
  const b0 = layer.trainableWeights[1].read()
  const ref = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(reference(xi, g, b, [2], 1e-5), w)) as tf.Scalar
  const [rdx, rdg, rdb] = tf.grads(ref)([x, g0, b0])
  assertClose((layer.apply(x) as tf.Tensor).dataSync(), reference(x, g0, b0, [2], 1e-5).dataSync(), 1e-5, 'forward')
  assertClose(dx.dataSync(), rdx.dataSync(), 1e-4, 'dx')
  const grads = Object.values(vg.grads)
  assertClose(grads[0].dataSync(), rdg.dataSync(), 1e-4, 'dgamma')
  assertClose(grads[1].dataSync(), rdb.dataSync(), 1e-4, 'dbeta')
})

test('BatchNorm training: batch statistics, PyTorch running-stat update, gradients match autodiff', () => {
  const x = tf.randomNormal([4, 3, 3, 2], 1, 2, 'float32', 5)
  const layer = new BatchNorm({momentum: 0.1, epsilon: 1e-5})
  const w = tf.randomNormal([4, 3, 3, 2], 0, 1, 'float32', 6)
  const y = layer.apply(x, {training: true}) as tf.Tensor
  const g0 = layer.trainableWeights[0].read()
  const b0 = layer.trainableWeights[1].read()
  assertClose(y.dataSync(), reference(x, g0, b0, [0, 1, 2], 1e-5).dataSync(), 1e-5, 'forward')
  // running stats after one step: 0.9·init + 0.1·batch (unbiased variance, n = 36)
  const {mean, variance} = tf.moments(x, [0, 1, 2])
  const [mm, mv] = layer.nonTrainableWeights.map((v) => v.read().dataSync())
  assertClose(mm, tf.mul(mean, 0.1).dataSync(), 1e-5, 'running mean')
  assertClose(mv, tf.add(tf.mul(variance, (36 / 35) * 0.1), 0.9).dataSync(), 1e-5, 'running variance')
  const f = (xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi, {training: true}) as tf.Tensor, w)) as tf.Scalar
  const dx = tf.grad(f)(x)
  const vg = tf.variableGrads(() => f(x), layer.trainableWeights.map((v) => (v as unknown as {val: tf.Variable}).val))
  const [rdx, rdg, rdb] = tf.grads((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(reference(xi, g, b, [0, 1, 2], 1e-5), w)) as tf.Scalar)([x, g0, b0])
  assertClose(dx.dataSync(), rdx.dataSync(), 1e-4, 'dx')
  const grads = Object.values(vg.grads)
  assertClose(grads[0].dataSync(), rdg.dataSync(), 1e-4, 'dgamma')
  assertClose(grads[1].dataSync(), rdb.dataSync(), 1e-4, 'dbeta')
  // evaluation uses the running statistics
  const [rm, rv] = layer.nonTrainableWeights.map((v) => v.read())
  const ye = layer.apply(x, {training: false}) as tf.Tensor
  assertClose(ye.dataSync(), tf.add(tf.mul(tf.div(tf.sub(x, rm), tf.sqrt(tf.add(rv, 1e-5))), g0), b0).dataSync(), 1e-5, 'eval forward')
  assert.notDeepEqual(Array.from(ye.dataSync()), Array.from(y.dataSync()), 'evaluation differs from batch-statistics training output')
})
