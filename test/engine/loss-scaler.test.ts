/**
 * Dynamic loss scaling (src/engine/loss-scaler.ts; engine.precision mixed16) by GradScaler's rules:
 * growth after growth_interval clean steps, backoff and a skipped step on an overflow, the scale a
 * float32; unscaling finds infinities and NaN; and in a Trainer a skipped step changes no weight,
 * moment or optimizer step count — the next step is exactly the step an unscaled trainer takes
 * first (scaling by powers of two is exact). The scaler's state rides in last checkpoints, and a
 * damaged one is refused. On the cpu backend: the rules do not depend on the backend.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {tf} from '../../src/engine/tf.js'
import '../../src/backends/cpu/index.js'
import {LossScaler} from '../../src/engine/loss-scaler.js'
import {zeroVariable} from '../../src/ops/store.js'
import {Trainer} from '../../src/engine/trainer.js'
import {buildModel} from '../../src/model/build.js'
import {readCheckpoint, restoreCheckpoint, saveCheckpoint} from '../../src/run/checkpoint.js'
import {resolveObject, tempDir, values} from '../helpers.js'
import {readFileSync, writeFileSync} from 'node:fs'

const SETTINGS = {init: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 3}

describe('loss scaler: GradScaler rules', () => {
  it('grows after growth_interval clean steps, backs off and counts a skipped step on an overflow', () => {
    const s = new LossScaler(SETTINGS)
    const seen: number[] = []
    for (const overflow of [false, false, false, false, true, false, false, false, true, true]) {
      s.update(overflow)
      seen.push(s.scale)
    }
    assert.deepEqual(seen, [65536, 65536, 131072, 131072, 65536, 65536, 65536, 131072, 65536, 32768])
    assert.deepEqual(s.state(), {scale: 32768, growth_tracker: 0, skipped_steps: 3})
  })

  it('keeps the scale a float32 and never grows it to infinity', () => {
    const s = new LossScaler({...SETTINGS, init: 0.1, growth_interval: 1})
    assert.equal(s.scale, Math.fround(0.1))
    s.setState({scale: 2 ** 127, growth_tracker: 0, skipped_steps: 0})
    s.update(false)
    assert.equal(s.scale, 2 ** 127, 'growing past float32 would make it infinite: GradScaler keeps it')
  })

  it("unscales by the reciprocal into the step's variables and finds an infinity or a NaN in any gradient", async () => {
    await tf.setBackend('cpu')
    const s = new LossScaler(SETTINGS)
    for (const [bad, found] of [[0, false], [Infinity, true], [-Infinity, true], [NaN, true]] as const) {
      const grads = [tf.tensor1d([65536, -131072]), tf.tensor2d([[1, bad], [3, 4]])]
      const targets = grads.map((g) => zeroVariable(g.shape))
      const nonFinite = s.unscaleInto(targets, grads)
      assert.equal((await nonFinite.data())[0] !== 0, found, `gradient holding ${bad}`)
      assert.deepEqual(Array.from(await targets[0].data()), [1, -2])
      tf.dispose([...grads, ...targets, nonFinite])
    }
  })
})

describe('loss scaler: in a Trainer', () => {
  const spec = () => resolveObject({name: 'scaled', seed: 3, data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 8, test: 8, classes: 3}}, model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}})
  const batch = (seed: number) => [tf.tensor4d(values(4 * 8 * 8 * 3, seed), [4, 8, 8, 3]), tf.tensor1d([0, 1, 2, 1], 'int32')] as const
  const adam = {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4}

  it('a step whose gradients overflow changes nothing; the next equals an unscaled first step bit for bit', async () => {
    await tf.setBackend('cpu')
    const built = buildModel(spec())
    const start = built.model.getWeights().map((w) => w.dataSync().slice())
    // Images of 1e38 overflow the forward pass: the first step's gradients are not finite, it is skipped and the scale halves.
    const scaled = new Trainer(built.model, adam, {lossScale: {init: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2000}})
    const [x0, y1] = batch(1)
    const x1 = tf.mul(x0, 1e38) as tf.Tensor4D
    await scaled.trainStep(x1, y1)
    const trainable = () => built.model.trainableWeights.map((w) => w.read().dataSync().slice())
    const names = built.model.weights.map((w) => w.originalName)
    const trainableNames = new Set(built.model.trainableWeights.map((w) => w.originalName))
    built.model.weights.forEach((w, i) => {
      if (trainableNames.has(w.originalName)) assert.deepEqual(w.read().dataSync(), start[i], `${names[i]} changed in a skipped step`)
    })
    assert.ok(scaled.optimizerState().groups.adam_m.every((m) => m.dataSync().every((v) => v === 0)), 'the moments changed in a skipped step')
    assert.deepEqual(scaled.optimizerState().lossScaler, {scale: 32768, growth_tracker: 0, skipped_steps: 1})
    const [x2, y2] = batch(2)
    await scaled.trainStep(x2, y2)
    const afterScaled = trainable()
    const sums = await scaled.readMetrics()
    assert.equal(sums.examples, 4, "the skipped step's loss (NaN) is left out of the metric sums")
    assert.ok(Number.isFinite(sums.loss))

    const other = buildModel(spec())
    tf.tidy(() => other.model.setWeights(start.map((v, i) => tf.tensor(v, other.model.getWeights()[i].shape))))
    const plain = new Trainer(other.model, adam)
    plain.trainStep(x2, y2)
    const afterPlain = other.model.trainableWeights.map((w) => w.read().dataSync().slice())
    afterScaled.forEach((w, i) => assert.deepEqual(w, afterPlain[i], `trainable weight ${i}: the scaled step is not the unscaled first step`))
    assert.equal(scaled.step, 2)
    tf.dispose([x0, x1, y1, x2, y2])
    for (const t of [scaled, plain]) t.dispose()
    built.model.dispose()
    other.model.dispose()
  })

  it("keeps the scaler's state in a last checkpoint, and refuses a damaged one", async () => {
    await tf.setBackend('cpu')
    const built = buildModel(spec())
    const trainer = new Trainer(built.model, adam, {lossScale: {...SETTINGS, init: 1024}})
    const [x, y] = batch(3)
    for (let i = 0; i < 4; i++) await trainer.trainStep(x, y)
    const file = join(tempDir(), 'last.ckpt')
    await saveCheckpoint(file, 'last', built.model, trainer, {epoch: 1, step: trainer.step, best_test_accuracy: 0, best_train_accuracy: 0, train_seconds: 0, eval_seconds: 0})
    const ckpt = readCheckpoint(file)
    assert.deepEqual(ckpt.meta.loss_scaler, {scale: 2048, growth_tracker: 1, skipped_steps: 0})
    const again = new Trainer(built.model, adam, {lossScale: SETTINGS})
    restoreCheckpoint(ckpt, built.model, again)
    assert.deepEqual(again.optimizerState().lossScaler, ckpt.meta.loss_scaler)
    // A header whose scaler state is not a positive scale: refused, naming the field.
    const bytes = readFileSync(file)
    const text = bytes.toString('latin1').replace('"scale":2048', '"scale":-2048')
    writeFileSync(file, Buffer.from(text, 'latin1'))
    assert.throws(() => readCheckpoint(file), /corrupt/)
    tf.dispose([x, y])
    for (const t of [trainer, again]) t.dispose()
    built.model.dispose()
  })
})
