// Label smoothing against PyTorch's CrossEntropyLoss(label_smoothing=ε) (test/fixtures/torch/recipe.json):
// the loss and its gradient at ε 0, 0.1 and 0.3, on every backend present (the fused WebGPU kernels
// there, the composite elsewhere).
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
  })
}
