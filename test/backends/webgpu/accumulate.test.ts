/**
 * Steps that accumulate gradients (train.accumulate_grad_batches) on WebGPU: both halves — a batch's
 * backward added into the sums, and the update from the sums — are replayed, and the weights,
 * running statistics, optimizer moments and losses agree (to 1e-5, as graph.test.ts) with those of the same steps run by tfjs, with a
 * smaller last batch and a step of fewer batches. Runs wherever a WebGPU adapter is present (a
 * software one with MIXTURE_WEBGPU_ALLOW_SOFTWARE=1); skipped, with the loader's reason, elsewhere.
 */
import {describe} from 'node:test'
import assert from 'node:assert/strict'
import {tf} from '../../../src/engine/tf.js'
import {Trainer} from '../../../src/engine/trainer.js'
import {buildModel} from '../../../src/model/build.js'
import {resolveObject, restoreEnvAfter, values} from '../../helpers.js'
import {assertClose, webgpuUnavailable} from '../paper-rows.js'
import {needing} from '../../require.js'

const SIZE = 8
const {it} = needing('webgpu', await webgpuUnavailable('webgpu gradient-accumulation tests'))

restoreEnvAfter('MIXTURE_WEBGPU_GRAPH')

async function train(replay: boolean): Promise<{losses: number[]; weights: Float32Array[]; moments: Float32Array[]; replayed: number; describe: string[]}> {
  process.env.MIXTURE_WEBGPU_GRAPH = replay ? '1' : '0'
  await tf.setBackend('webgpu')
  const spec = resolveObject({name: 'accumulate', seed: 5, data: {dataset: 'synthetic', image_size: SIZE, synthetic: {train: 8, test: 8, classes: 3}}, model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}})
  const built = buildModel(spec)
  const trainer = new Trainer(built.model, {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-3, weightDecay: 1e-4}, {accumulate: 3, maxGradNorm: 1})
  const losses: number[] = []
  try {
    // 16 batches: steps of 3 batches, and one of 1 where the 8th batch ends an "epoch"; batch 12 is smaller.
    for (let i = 0; i < 16; i++) {
      const batch = i === 12 ? 1 : 2
      const x = tf.tensor4d(values(batch * SIZE * SIZE * 3, 300 + i), [batch, SIZE, SIZE, 3])
      const y = tf.tensor1d(Array.from({length: batch}, (_, j) => (i + j) % 3), 'int32')
      const within = i < 8 ? i : i - 8
      await trainer.trainStep(x, y, 1e-2, undefined, (within + 1) % 3 === 0 || within === 7)
      tf.dispose([x, y])
      losses.push((await trainer.readMetrics()).loss)
    }
    const state = trainer.optimizerState()
    return {
      losses,
      weights: await Promise.all(built.model.getWeights().map((w) => w.data() as Promise<Float32Array>)),
      moments: await Promise.all([...state.groups.adam_m, ...state.groups.adam_v].map((t) => t.data() as Promise<Float32Array>)),
      replayed: trainer.replayedSteps,
      describe: trainer.describeStepGraphs(),
    }
  } finally {
    trainer.dispose()
    built.model.dispose()
    await tf.setBackend('cpu')
  }
}

describe('accumulating steps on WebGPU', () => {
  it('replayed, they equal the steps run by tfjs: weights, statistics, moments, losses', async () => {
    const plain = await train(false)
    const replayed = await train(true)
    assert.equal(plain.replayed, 0)
    assert.ok(replayed.replayed > 0, `batches replayed: ${replayed.describe.join('; ')}`)
    assert.match(replayed.describe.join('; '), /accumulated update .*replayed [1-9]/)
    assertClose('replayed', replayed.losses, plain.losses, 'losses', 1e-5, 1e-7, 'not replayed')
    replayed.weights.forEach((w, i) => assertClose('replayed', w, plain.weights[i], `weight ${i}`, 1e-5, 1e-7, 'not replayed'))
    replayed.moments.forEach((m, i) => assertClose('replayed', m, plain.moments[i], `moment ${i}`, 1e-5, 1e-7, 'not replayed'))
  })
})
