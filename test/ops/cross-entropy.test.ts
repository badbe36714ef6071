// Label smoothing against PyTorch's CrossEntropyLoss(label_smoothing=ε) (test/fixtures/torch/recipe.json):
// the loss and its gradient at ε 0, 0.1 and 0.3, on every backend present (the fused WebGPU kernels
// there, the composite elsewhere); target distributions (train.mixup) against timm's
// SoftTargetCrossEntropy, and smoothed one-hot targets giving the labels' smoothed loss.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {tf} from '../../src/engine/tf.js'
import {crossEntropy} from '../../src/ops/cross-entropy.js'
import {REPO} from '../helpers.js'
import {ALL_BACKENDS, backendSkip} from '../require.js'

const FIXTURE = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'torch', 'recipe.json'), 'utf8')) as {
  label_smoothing: {logits: number[]; shape: [number, number]; labels: number[]; cases: {label_smoothing: number; loss: number; grad: number[]}[]}[]
  soft_targets: {logits: number[]; targets: number[]; shape: [number, number]; loss: number; grad: number[]}[]
}

/** The loss, its gradient and the correct count of `crossEntropy` at `logits`. */
async function lossAndGradient(logits: tf.Tensor2D, labels: tf.Tensor1D | tf.Tensor2D, smoothing = 0): Promise<{loss: number; grad: Float32Array; correct: number}> {
  let correct: tf.Scalar | undefined
  const {value, grad} = tf.valueAndGrad((input: tf.Tensor) => {
    const out = crossEntropy(input as tf.Tensor2D, labels, smoothing)
    correct = out.correct
    return out.loss
  })(logits)
  const out = {loss: (await value.data())[0], grad: (await grad.data()) as Float32Array, correct: (await correct!.data())[0]}
  tf.dispose([value, grad, correct!])
  return out
}

for (const backend of ALL_BACKENDS) {
  const why = await backendSkip(backend)
  describe(`cross-entropy on ${backend}`, () => {
    it('label smoothing: the loss and gradient of PyTorch\'s CrossEntropyLoss(label_smoothing)', {skip: why}, async () => {
      await tf.setBackend(backend)
      for (const {logits, shape, labels, cases} of FIXTURE.label_smoothing) {
        for (const c of cases) {
          const x = tf.tensor2d(logits, shape)
          const y = tf.tensor1d(labels, 'int32')
          let correct: tf.Scalar | undefined
          const {value, grad: grads} = tf.valueAndGrad((input: tf.Tensor) => {
            const out = crossEntropy(input as tf.Tensor2D, y, c.label_smoothing)
            correct = out.correct
            return out.loss
          })(x)
          const loss = (await value.data())[0]
          assert.ok(Math.abs(loss - c.loss) <= 1e-5 * Math.abs(c.loss), `ε ${c.label_smoothing}: loss ${loss}, torch ${c.loss}`)
          const g = await grads.data()
          c.grad.forEach((want, i) => assert.ok(Math.abs(g[i] - want) <= 1e-6, `ε ${c.label_smoothing}: gradient[${i}] ${g[i]}, torch ${want}`))
          tf.dispose([x, y, value, grads, correct!])
        }
      }
    })

    it("target distributions: the loss and gradient of timm's SoftTargetCrossEntropy; the top-1 counted at each target's largest share", {skip: why}, async () => {
      await tf.setBackend(backend)
      for (const c of FIXTURE.soft_targets) {
        const x = tf.tensor2d(c.logits, c.shape)
        const t = tf.tensor2d(c.targets, c.shape)
        const {loss, grad, correct} = await lossAndGradient(x, t)
        assert.ok(Math.abs(loss - c.loss) <= 1e-5 * Math.abs(c.loss), `loss ${loss}, timm ${c.loss}`)
        c.grad.forEach((want, i) => assert.ok(Math.abs(grad[i] - want) <= 1e-6, `gradient[${i}] ${grad[i]}, timm ${want}`))
        const k = c.shape[1]
        const argmax = (v: number[], row: number) => v.slice(row * k, row * k + k).indexOf(Math.max(...v.slice(row * k, row * k + k)))
        const want = Array.from({length: c.shape[0]}, (_, r) => argmax(c.logits, r) === argmax(c.targets, r)).filter(Boolean).length
        assert.equal(correct, want)
        tf.dispose([x, t])
      }
    })

    it('smoothed one-hot targets give the loss and gradient of the labels at that smoothing', {skip: why}, async () => {
      await tf.setBackend(backend)
      const {logits, shape, labels} = FIXTURE.label_smoothing[0]
      const x = tf.tensor2d(logits, shape)
      const y = tf.tensor1d(labels, 'int32')
      const eps = 0.1
      const k = shape[1]
      const t = tf.tensor2d(labels.flatMap((label) => Array.from({length: k}, (_, c) => (c === label ? 1 - eps + eps / k : eps / k))), shape)
      const soft = await lossAndGradient(x, t)
      const hard = await lossAndGradient(x, y, eps)
      assert.ok(Math.abs(soft.loss - hard.loss) <= 1e-6, `${soft.loss} vs ${hard.loss}`)
      soft.grad.forEach((g, i) => assert.ok(Math.abs(g - hard.grad[i]) <= 1e-6, `gradient[${i}] ${g} vs ${hard.grad[i]}`))
      assert.equal(soft.correct, hard.correct)
      assert.throws(() => crossEntropy(x, t, eps), /carry their own label smoothing/)
      tf.dispose([x, y, t])
    })
  })
}
