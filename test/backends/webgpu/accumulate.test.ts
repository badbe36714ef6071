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
import type {Trainer} from '../../../src/engine/trainer.js'
import {restoreEnvAfter, values} from '../../helpers.js'
import {webgpuUnavailable} from '../paper-rows.js'
import {needing} from '../../require.js'
import {assertReplayMatches, SIZE, trainOnWebgpu} from './replay-check.js'

const {it} = needing('webgpu', await webgpuUnavailable('webgpu gradient-accumulation tests'))

restoreEnvAfter('MIXTURE_WEBGPU_GRAPH')

/** 16 batches: steps of 3 batches, and one of 1 where the 8th batch ends an "epoch"; batch 12 is smaller. */
async function steps(trainer: Trainer): Promise<number[]> {
  const losses: number[] = []
  for (let i = 0; i < 16; i++) {
    const batch = i === 12 ? 1 : 2
    const x = tf.tensor4d(values(batch * SIZE * SIZE * 3, 300 + i), [batch, SIZE, SIZE, 3])
    const y = tf.tensor1d(Array.from({length: batch}, (_, j) => (i + j) % 3), 'int32')
    const within = i < 8 ? i : i - 8
    await trainer.trainStep(x, y, 1e-2, undefined, (within + 1) % 3 === 0 || within === 7)
    tf.dispose([x, y])
    losses.push((await trainer.readMetrics()).loss)
  }
  return losses
}

describe('accumulating steps on WebGPU', () => {
  it('replayed, they equal the steps run by tfjs: weights, statistics, moments, losses', async () => {
    const options = {accumulate: 3, maxGradNorm: 1}
    const plain = await trainOnWebgpu(false, options, steps)
    const replayed = await trainOnWebgpu(true, options, steps)
    assertReplayMatches(replayed, plain)
    assert.match(replayed.describe.join('; '), /accumulated update .*replayed [1-9]/)
  })
})
