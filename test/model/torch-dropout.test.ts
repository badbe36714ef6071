// Dropout as PyTorch's nn.Dropout behaves (test/fixtures/torch/dropout.json, measured by
// bench/torch/dropout_fixture.py): the rate of zeros, survivors scaled by 1/(1 − p), a new mask every
// step, the gradient through the same mask, and the identity in evaluation; and in a whole model,
// training and evaluation outputs differ where dropout is on and agree where it is off.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {tf} from '../../src/engine/tf.js'
import {Dropout} from '../../src/layers/dropout.js'
import {setDropoutStep} from '../../src/ops/dropout.js'
import {buildModel} from '../../src/model/build.js'
import {REPO, resolveObject} from '../helpers.js'
import {assignTorchWeights, mapWeights, type Entry, type TorchTensor} from './torch-weights.js'

interface Rate {
  rate: number
  n: number
  zero_fraction: number
  survivor_values: number[]
  two_calls_agree: number
  grad_is_forward: boolean
  eval_is_identity: boolean
}
const FIXTURE: {rates: Rate[]} = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'torch', 'dropout.json'), 'utf8'))
const Z = 6

/** |a − b| within Z standard errors, for a binomial fraction of probability q over n draws on each of `sides` samples. */
function sameFraction(a: number, b: number, q: number, n: number, what: string, sides = 2): void {
  const tol = Z * Math.sqrt((sides * q * (1 - q)) / n)
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a.toFixed(5)} vs ${b.toFixed(5)} (±${tol.toFixed(5)})`)
}

const zeros = (v: Float32Array, from = 0, to = v.length) => {
  let z = 0
  for (let i = from; i < to; i++) if (v[i] === 0) z++
  return z / (to - from)
}

for (const r of FIXTURE.rates) {
  test(`dropout ${r.rate}: zeros, scale, a new mask per step, gradient through the mask, identity in evaluation`, () => {
    assert.ok(r.grad_is_forward && r.eval_is_identity, 'what PyTorch does')
    const layer = new Dropout({rate: r.rate, seed: 20240})
    const x = tf.ones([r.n])
    setDropoutStep(1)
    const a = (layer.apply(x, {training: true}) as tf.Tensor).dataSync() as Float32Array
    sameFraction(zeros(a), r.zero_fraction, r.rate, r.n, 'fraction of zeros')
    for (let quarter = 0; quarter < 4; quarter++) {
      const q = r.n / 4
      sameFraction(zeros(a, quarter * q, (quarter + 1) * q), r.rate, r.rate, q, `zeros in quarter ${quarter + 1} against the rate`, 1)
    }
    assert.deepEqual([...new Set(a.filter((v) => v !== 0))], r.survivor_values, 'a survivor of 1 becomes 1/(1 − p), as PyTorch computes it in float32')
    const grad = tf.grad((t: tf.Tensor) => tf.sum(layer.apply(t, {training: true}) as tf.Tensor))(x).dataSync()
    assert.deepEqual(grad, a, 'the gradient goes through the forward mask')
    setDropoutStep(2)
    const b = (layer.apply(x, {training: true}) as tf.Tensor).dataSync() as Float32Array
    let agree = 0
    for (let i = 0; i < r.n; i++) if ((a[i] === 0) === (b[i] === 0)) agree++
    const q = r.rate ** 2 + (1 - r.rate) ** 2
    sameFraction(agree / r.n, r.two_calls_agree, q, r.n, 'masks of two steps agree')
    setDropoutStep(1)
    assert.deepEqual((layer.apply(x, {training: true}) as tf.Tensor).dataSync(), a, 'the same step gives the same mask')
    const e = tf.linspace(-1, 1, 101)
    assert.deepEqual((layer.apply(e, {training: false}) as tf.Tensor).dataSync(), e.dataSync(), 'evaluation: the identity')
  })
}

interface VitFixture {
  state_dict: Entry[]
  input: TorchTensor
  eval: {output: TorchTensor}
}

test('a ViT with dropout 0.1: evaluation gives PyTorch\'s output, training differs from it and from step to step; without dropout they agree', () => {
  const fixture: VitFixture = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'torch', 'vit_classifier.json'), 'utf8'))
  const model = (dropout: number) =>
    buildModel(
      resolveObject({
        name: 'v',
        data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 4, test: 4, classes: 5}},
        model: {type: 'vit_classifier', patch_size: 2, dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32, dropout, emb_dropout: dropout},
      }),
    )
  const x = tf.tensor(fixture.input.nhwc!.values, fixture.input.nhwc!.shape)
  const expected = fixture.eval.output.values
  for (const p of [0.1, 0]) {
    const built = model(p)
    try {
      assignTorchWeights(mapWeights(built.model, built.layerOrder, fixture.state_dict))
      const run = (training: boolean, step: number) => {
        setDropoutStep(step)
        return Array.from((built.model.apply(x, {training}) as tf.Tensor).dataSync())
      }
      const evaluation = run(false, 1)
      const scale = Math.max(...expected.map(Math.abs))
      evaluation.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 1e-4 * scale, `dropout ${p}, evaluation [${i}]: ${v} vs PyTorch ${expected[i]}`))
      const maxDiff = (u: number[], w: number[]) => Math.max(...u.map((v, i) => Math.abs(v - w[i])))
      if (p > 0) {
        assert.ok(maxDiff(run(true, 1), evaluation) > 1e-3, 'training differs from evaluation')
        assert.ok(maxDiff(run(true, 1), run(true, 2)) > 1e-3, 'a new mask every step')
        assert.deepEqual(run(true, 3), run(true, 3), 'the same step, the same output')
      } else {
        assert.ok(maxDiff(run(true, 1), evaluation) < 1e-6, 'no dropout, no BatchNorm: training and evaluation agree')
      }
    } finally {
      built.model.dispose()
    }
  }
  x.dispose()
})
