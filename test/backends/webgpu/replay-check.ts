/**
 * What the WebGPU step-replay tests share: a small model trained on WebGPU with step replay on or
 * off (MIXTURE_WEBGPU_GRAPH), what its trainer ends with, and the check that the replayed training
 * equals the one run by tfjs (to 1e-5, as graph.test.ts).
 */
import assert from 'node:assert/strict'
import {tf} from '../../../src/engine/tf.js'
import {Trainer, type TrainerOptions} from '../../../src/engine/trainer.js'
import {buildModel} from '../../../src/model/build.js'
import {resolveObject} from '../../helpers.js'
import {assertClose} from '../paper-rows.js'

export const SIZE = 8
export const CLASSES = 3

/** What a trainer ends with: the model's weights, Adam's moments, how many steps it replayed and why. */
export interface TrainedState {
  weights: Float32Array[]
  moments: Float32Array[]
  replayed: number
  describe: string[]
}

export async function trainedState(trainer: Trainer, model: {getWeights(): tf.Tensor[]}): Promise<TrainedState> {
  const state = trainer.optimizerState()
  return {
    weights: await Promise.all(model.getWeights().map((w) => w.data() as Promise<Float32Array>)),
    moments: await Promise.all([...state.groups.adam_m, ...state.groups.adam_v].map((t) => t.data() as Promise<Float32Array>)),
    replayed: trainer.replayedSteps,
    describe: trainer.describeStepGraphs(),
  }
}

/** The model the replay tests train by default: a small CNN (with BatchNorm). */
const CNN = {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}

/**
 * `model` (default: a small CNN) of SIZE×SIZE images and CLASSES classes trained on WebGPU by `steps`
 * (which returns the loss after each step), with step replay on or off; the backend is set back to cpu after.
 */
export async function trainOnWebgpu(replay: boolean, options: TrainerOptions, steps: (trainer: Trainer) => Promise<number[]>, model: Record<string, unknown> = CNN): Promise<TrainedState & {losses: number[]}> {
  process.env.MIXTURE_WEBGPU_GRAPH = replay ? '1' : '0'
  await tf.setBackend('webgpu')
  const spec = resolveObject({name: 'replay', seed: 5, data: {dataset: 'synthetic', image_size: SIZE, synthetic: {train: 8, test: 8, classes: CLASSES}}, model})
  const built = buildModel(spec)
  const trainer = new Trainer(built.model, {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-3, weightDecay: 1e-4}, options)
  try {
    const losses = await steps(trainer)
    return {losses, ...(await trainedState(trainer, built.model))}
  } finally {
    trainer.dispose()
    built.model.dispose()
    await tf.setBackend('cpu')
  }
}

/** The replayed training did replay, and its losses, weights, statistics and moments equal those of the training run by tfjs. */
export function assertReplayMatches(replayed: TrainedState & {losses: number[]}, plain: TrainedState & {losses: number[]}): void {
  assert.equal(plain.replayed, 0)
  assert.ok(replayed.replayed > 0, `steps replayed: ${replayed.describe.join('; ')}`)
  assertClose('replayed', replayed.losses, plain.losses, 'losses', 1e-5, 1e-7, 'not replayed')
  replayed.weights.forEach((w, i) => assertClose('replayed', w, plain.weights[i], `weight ${i}`, 1e-5, 1e-7, 'not replayed'))
  replayed.moments.forEach((m, i) => assertClose('replayed', m, plain.moments[i], `moment ${i}`, 1e-5, 1e-7, 'not replayed'))
}
