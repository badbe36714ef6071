/**
 * Training steps on target distributions (train.mixup: (B, K) float32 targets in place of labels) on
 * WebGPU: replayed, with new targets written into the recording's input each step, they agree (to
 * 1e-5, as graph.test.ts) with the same steps run by tfjs — weights, running statistics, optimizer
 * moments and losses — with a smaller last batch. Runs wherever a WebGPU adapter is present (a
 * software one with MIXTURE_WEBGPU_ALLOW_SOFTWARE=1); skipped, with the loader's reason, elsewhere.
 */
import {describe} from 'node:test'
import {tf} from '../../../src/engine/tf.js'
import type {Trainer} from '../../../src/engine/trainer.js'
import {chooseLoss} from '../../../src/recipe/loss.js'
import {restoreEnvAfter, values} from '../../helpers.js'
import {webgpuUnavailable} from '../paper-rows.js'
import {needing} from '../../require.js'
import {assertReplayMatches, CLASSES, SIZE, trainOnWebgpu} from './replay-check.js'

const {it} = needing('webgpu', await webgpuUnavailable('webgpu soft-target tests'))

restoreEnvAfter('MIXTURE_WEBGPU_GRAPH')

/** A batch's targets: each row a distribution over the classes, different every step. */
function targets(batch: number, seed: number): tf.Tensor2D {
  const raw = Array.from(values(batch * CLASSES, seed), (v) => Math.abs(v) + 0.05)
  const rows = Array.from({length: batch}, (_, r) => raw.slice(r * CLASSES, (r + 1) * CLASSES))
  return tf.tensor2d(rows.flatMap((row) => row.map((v) => v / row.reduce((a, b) => a + b, 0))), [batch, CLASSES])
}

/** Ten steps on targets, the 8th a batch of one. */
async function steps(trainer: Trainer): Promise<number[]> {
  const losses: number[] = []
  for (let i = 0; i < 10; i++) {
    const batch = i === 7 ? 1 : 2
    const x = tf.tensor4d(values(batch * SIZE * SIZE * 3, 400 + i), [batch, SIZE, SIZE, 3])
    const y = targets(batch, 500 + i)
    await trainer.trainStep(x, y, 1e-2)
    tf.dispose([x, y])
    losses.push((await trainer.readMetrics()).loss)
  }
  return losses
}

describe('steps on target distributions on WebGPU', () => {
  it('replayed, they equal the steps run by tfjs: weights, statistics, moments, losses', async () => {
    const options = {loss: chooseLoss('cross_entropy', CLASSES, 0, true)}
    assertReplayMatches(await trainOnWebgpu(true, options, steps), await trainOnWebgpu(false, options, steps))
  })
})
