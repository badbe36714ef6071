// train.ema's moving average of the weights (engine/weight-average.ts): taken from the weights before
// the first step, then shadow · decay + (1 − decay) · weight in float32 after every step, exactly as
// timm's ModelEmaV2 computes it; `swap` exchanges weights and shadows and a second swap undoes it;
// with warmup, each step's decay is ModelEmaV3's (use_warmup, gamma 1, power 2/3).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {tf} from '../../src/engine/tf.js'
import {WeightAverage} from '../../src/engine/weight-average.js'
import {values} from '../helpers.js'

const f = Math.fround

test('the average follows shadow · decay + (1 − decay) · weight in float32, step by step', async () => {
  await tf.setBackend('cpu')
  const decay = 0.9998
  const w = [tf.variable(tf.tensor(values(7, 1), [7])), tf.variable(tf.tensor(values(6, 2), [2, 3]))]
  const average = new WeightAverage(w, decay)
  assert.equal(average.started, false)
  average.start()
  const expected = w.map((v) => [...(v.dataSync() as Float32Array)])
  for (let step = 0; step < 5; step++) {
    w.forEach((v, k) => v.assign(tf.tensor(values(v.size, 10 * step + k), v.shape)))
    average.update(step + 1)
    const keep = f(decay)
    const take = f(1 - decay)
    expected.forEach((e, k) => {
      const now = w[k].dataSync()
      for (let i = 0; i < e.length; i++) e[i] = f(f(e[i] * keep) + f(now[i] * take))
    })
  }
  average.values()!.forEach((s, k) => assert.deepEqual([...(s.dataSync() as Float32Array)], expected[k], `shadow ${k}`))

  const trained = w.map((v) => [...(v.dataSync() as Float32Array)])
  average.swap()
  w.forEach((v, k) => assert.deepEqual([...(v.dataSync() as Float32Array)], expected[k], 'the weights hold the average'))
  average.values()!.forEach((s, k) => assert.deepEqual([...(s.dataSync() as Float32Array)], trained[k], 'the shadows hold the trained weights'))
  average.swap()
  w.forEach((v, k) => assert.deepEqual([...(v.dataSync() as Float32Array)], trained[k], 'a second swap undoes the first'))

  const again = new WeightAverage(w, decay)
  again.restore(expected.map((e) => Float32Array.from(e)))
  assert.equal(again.started, true)
  again.values()!.forEach((s, k) => assert.deepEqual([...(s.dataSync() as Float32Array)], expected[k]))
  assert.throws(() => again.restore([new Float32Array(7)]), /holds 1 tensors but the model has 2 weights/)
  average.dispose()
  again.dispose()
  tf.dispose(w)
})

test('the shadows are copies: a weight written in place afterwards leaves them as they were', async () => {
  await tf.setBackend('cpu')
  const w = [tf.variable(tf.tensor([1, 2, 3]))]
  const average = new WeightAverage(w, 0.5)
  average.start()
  w[0].assign(tf.tensor([5, 6, 7]))
  assert.deepEqual([...(average.values()![0].dataSync() as Float32Array)], [1, 2, 3])
  average.update(1)
  assert.deepEqual([...(average.values()![0].dataSync() as Float32Array)], [3, 4, 5])
  average.dispose()
  tf.dispose(w)
})

test("warmup: step n's decay is min(decay, 1 − n^(−2/3)) — ModelEmaV3's — so the first step copies the weights", async () => {
  await tf.setBackend('cpu')
  const w = [tf.variable(tf.tensor(values(5, 3), [5]))]
  const average = new WeightAverage(w, 0.99, true)
  // timm: step' = step − 1; 1 − (1 + step')^(−2/3), capped at the decay.
  assert.deepEqual([1, 2, 10, 1000, 10_000].map((n) => average.decayAt(n)), [0, 1 - Math.pow(2, -2 / 3), 1 - Math.pow(10, -2 / 3), 0.99, 0.99])
  assert.equal(new WeightAverage(w, 0.99).decayAt(1), 0.99)
  average.start()
  const expected = [...(w[0].dataSync() as Float32Array)]
  for (let step = 1; step <= 4; step++) {
    w[0].assign(tf.tensor(values(5, 20 + step), [5]))
    average.update(step)
    const decay = average.decayAt(step)
    const now = w[0].dataSync()
    for (let i = 0; i < expected.length; i++) expected[i] = f(f(expected[i] * f(decay)) + f(now[i] * f(1 - decay)))
    if (step === 1) assert.deepEqual([...(average.values()![0].dataSync() as Float32Array)], [...(now as Float32Array)], 'the first step copies the weights')
  }
  assert.deepEqual([...(average.values()![0].dataSync() as Float32Array)], expected)
  average.dispose()
  tf.dispose(w)
})
