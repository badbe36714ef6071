/**
 * Replayed training steps on WebGPU (src/backends/webgpu/graph.ts) give exactly what the steps give
 * when tfjs runs them: three paper model structures (BatchNorm's running statistics, dropout's
 * per-step masks and the Perceiver's position table, a joint mixture) train for 14 steps with
 * replay on and off — with a smaller last batch, weights read back (as a checkpoint does), an
 * evaluation pass (its steps replayed too) and metric resets, and the weights and optimizer state set from outside (which
 * must make the trainer record again) — and every weight, running statistic, moment and loss
 * agrees. A replayed step makes no tensor, submits every 64 dispatches, runs as many dispatches as the step it
 * replays, and leaves alone tensors made between steps in buffers the pool had free. So do steps with
 * SGD or AdamW, a learning rate per step, clipping and label smoothing. Runs wherever a WebGPU adapter is present (a software one with
 * MIXTURE_WEBGPU_ALLOW_SOFTWARE=1); skipped, with the loader's reason, elsewhere.
 */
import {describe} from 'node:test'
import assert from 'node:assert/strict'
import {tf} from '../../../src/engine/tf.js'
import '../../../src/backends/cpu/index.js'
import {Trainer} from '../../../src/engine/trainer.js'
import type {OptimizerSpec} from '../../../src/engine/optimizer.js'
import {chooseOptimizer} from '../../../src/recipe/optimizer.js'
import {createSchedule} from '../../../src/recipe/schedule.js'
import {countDispatches} from '../../../src/backends/webgpu/dispatches.js'
import {buildModel} from '../../../src/model/build.js'
import {resolveObject, restoreEnvAfter, values} from '../../helpers.js'
import {assertClose, paperRows, webgpuUnavailable} from '../paper-rows.js'
import {needing} from '../../require.js'
import {trainedState} from './replay-check.js'

const SIZE = 8
const CLASSES = 3
const STEPS = 14

// Without an adapter every test is registered as skipped (counted); MIXTURE_REQUIRE=webgpu makes it a failure.
// The switches these tests need are set here (npm test clears the caller's: test/setup.ts).
const {it} = needing('webgpu', await webgpuUnavailable('webgpu step-replay tests'))

restoreEnvAfter('MIXTURE_WEBGPU_GRAPH')

type Obj = Record<string, unknown>

interface Outcome {
  losses: number[]
  weights: Float32Array[]
  moments: Float32Array[]
  replayed: number
  describe: string[]
  /** Tensors alive before and after each replayed step. */
  tensorCounts: [number, number][]
  /** Dispatches and submits of step 5 (replayed when replay is on). */
  step5: {dispatches: number; submits: number}
}

async function train(model: Obj, replay: boolean, start: Float32Array[]): Promise<Outcome> {
  process.env.MIXTURE_WEBGPU_GRAPH = replay ? '1' : '0'
  const spec = resolveObject({name: 'graph', seed: 5, data: {dataset: 'synthetic', image_size: SIZE, synthetic: {train: 8, test: 8, classes: CLASSES}}, model})
  const built = buildModel(spec)
  tf.tidy(() => built.model.setWeights(built.model.getWeights().map((w, i) => tf.tensor(start[i], w.shape))))
  const trainer = new Trainer(built.model, {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-3, weightDecay: 1e-4})
  const losses: number[] = []
  const tensorCounts: [number, number][] = []
  const bystanders: tf.Tensor[] = []
  let step5 = {dispatches: 0, submits: 0}
  try {
    for (let step = 0; step < STEPS; step++) {
      const batch = step === 6 ? 1 : 2
      const x = tf.tensor4d(values(batch * SIZE * SIZE * 3, 100 + step), [batch, SIZE, SIZE, 3])
      const y = tf.tensor1d(Array.from({length: batch}, (_, i) => (step + i) % CLASSES), 'int32')
      const before = tf.memory().numTensors
      const replayedBefore = trainer.replayedSteps
      if (step === 5) {
        const {count} = await countDispatches(() => trainer.trainStep(x, y))
        step5 = {dispatches: count.dispatches, submits: count.submits}
      } else {
        trainer.trainStep(x, y)
      }
      if (trainer.replayedSteps > replayedBefore) tensorCounts.push([before, tf.memory().numTensors])
      tf.dispose([x, y])
      // Every buffer free in the pool goes to a live tensor: a replay must write none of them.
      if (step === 4) bystanders.push(...fillFreeBuffers())
      losses.push((await trainer.readMetrics()).loss)
      // Read every weight back (the backend caches the values on the CPU), as a checkpoint does.
      if (step === 3) await Promise.all(built.model.getWeights().map((w) => w.data()))
      if (step === 7) {
        // An evaluation pass of five batches (the last ones replayed), read after each.
        trainer.resetMetrics()
        for (let k = 0; k < 5; k++) {
          const ex = tf.tensor4d(values(2 * SIZE * SIZE * 3, 7 + k), [2, SIZE, SIZE, 3])
          const ey = tf.tensor1d([k % CLASSES, 2], 'int32')
          trainer.evalStep(ex, ey)
          tf.dispose([ex, ey])
          losses.push((await trainer.readMetrics()).loss)
        }
        trainer.resetMetrics()
      }
      // Weights and optimizer state set from outside (a resumed checkpoint): new tensors.
      if (step === 9) {
        const weights = await Promise.all(built.model.getWeights().map((w) => w.data() as Promise<Float32Array>))
        tf.tidy(() => built.model.setWeights(built.model.getWeights().map((w, i) => tf.tensor(weights[i], w.shape))))
        const state = trainer.optimizerState()
        const m = await Promise.all(state.groups.adam_m.map((t) => t.data() as Promise<Float32Array>))
        const v = await Promise.all(state.groups.adam_v.map((t) => t.data() as Promise<Float32Array>))
        trainer.setOptimizerState({step: state.step, groups: {adam_m: m, adam_v: v}})
      }
    }
    for (const t of bystanders) assert.ok((await t.data()).every((v) => v === 7), 'a tensor made between steps is left as it was')
    return {losses, ...(await trainedState(trainer, built.model)), tensorCounts, step5}
  } finally {
    tf.dispose(bystanders)
    trainer.dispose()
    built.model.dispose()
  }
}

/** One tensor (filled with 7) for every storage buffer free in the webgpu backend's pool now. */
function fillFreeBuffers(): tf.Tensor[] {
  const pool = (tf.backend() as unknown as {bufferManager: {freeBuffers: Map<string, unknown[]>}}).bufferManager.freeBuffers
  const {STORAGE, COPY_SRC, COPY_DST} = (globalThis as unknown as {GPUBufferUsage: Record<string, number>}).GPUBufferUsage
  const tensors: tf.Tensor[] = []
  for (const [key, list] of [...pool.entries()]) {
    const [size, usage] = key.split('_').map(Number)
    if (usage !== (STORAGE | COPY_SRC | COPY_DST) || size % 4 !== 0) continue
    for (let k = list.length; k > 0; k--) tensors.push(tf.fill([size / 4], 7))
  }
  assert.ok(tensors.length > 0, 'the pool has free buffers')
  return tensors
}

describe('replayed WebGPU training steps equal the steps run by tfjs', () => {
  const picks = paperRows().filter(({row}) => /^(cifar10\/resnet18|cifar10\/joint-1block|stl10-perceiver\/perceiver-baseline)$/.test(row))
  it('the rows exist', () => assert.equal(picks.length, 3, picks.map((r) => r.row).join(', ')))
  for (const {row, model} of picks) {
    it(row, async () => {
      await tf.setBackend('webgpu')
      const spec = resolveObject({name: 'graph', seed: 5, data: {dataset: 'synthetic', image_size: SIZE, synthetic: {train: 8, test: 8, classes: CLASSES}}, model})
      const probe = buildModel(spec)
      const start = await Promise.all(probe.model.getWeights().map(async (w) => Float32Array.from(await w.data())))
      probe.model.dispose()
      const plain = await train(model, false, start)
      const replayed = await train(model, true, start)
      assert.equal(plain.replayed, 0)
      // Steps 1–3 record (the first meets its uniform blocks, the next two must agree); step 7 is the
      // smaller batch; after step 10 the weights are new tensors, so steps 11–12 record again.
      assert.ok(replayed.replayed >= 7, `replayed ${replayed.replayed} of ${STEPS} steps: ${replayed.describe.join('; ')}`)
      assert.match(replayed.describe.join('\n'), /^x\[2,8,8,3\]float32 y\[2\]int32: replayed \d+ steps? .*recorded again 1×/m)
      assert.match(replayed.describe.join('\n'), /^evaluation x\[2,8,8,3\]float32 y\[2\]int32: replayed [23] steps/m)
      assertClose('replayed', replayed.losses, plain.losses, 'losses and evaluation', 1e-5, 1e-7, 'not replayed')
      replayed.weights.forEach((w, i) => assertClose('replayed', w, plain.weights[i], `weight ${i}`, 1e-5, 1e-7, 'not replayed'))
      replayed.moments.forEach((w, i) => assertClose('replayed', w, plain.moments[i], `moment ${i}`, 1e-5, 1e-7, 'not replayed'))
      for (const [before, afterStep] of replayed.tensorCounts) assert.equal(afterStep, before, 'a replayed step makes no tensor')
      const batch = Number(tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE'))
      assert.equal(replayed.step5.submits, Math.ceil(replayed.step5.dispatches / batch), `a replayed step is submitted every ${batch} dispatches`)
      // The recorded step's dispatches less those whose results nothing reads (graph-plan.ts pruneUnread):
      // tfjs's fused products return the input batch's gradient too — the ViT's patch embedding's, which
      // nothing needs; the project's convolutions compute none (ops/conv2d.ts), so ResNet-18 leaves nothing out.
      const pruned = Number(/^x\[2,8,8,3\]float32 y\[2\]int32: .* after (\d+) unread left out/m.exec(replayed.describe.join('\n'))?.[1] ?? 0)
      if (process.env.MIXTURE_WEBGPU_GRAPH_PRUNE !== '0') {
        if (row === 'cifar10/joint-1block') assert.ok(pruned >= 1, `the patch embedding's input gradient is left out: ${replayed.describe.join('; ')}`)
        if (row === 'cifar10/resnet18') assert.equal(pruned, 0, `the stem computes no input gradient: ${replayed.describe.join('; ')}`)
      }
      assert.equal(replayed.step5.dispatches + pruned, plain.step5.dispatches, 'the dispatches of the recorded step, less those left out')
    })
  }

  it('a step that replaces a weight by a new tensor is not replayed, and says why', async () => {
    await tf.setBackend('webgpu')
    const saved = process.env.MIXTURE_WEBGPU_ADAM_INPLACE
    process.env.MIXTURE_WEBGPU_ADAM_INPLACE = '0'
    try {
      const {model} = picks[0]
      const spec = resolveObject({name: 'graph', seed: 5, data: {dataset: 'synthetic', image_size: SIZE, synthetic: {train: 8, test: 8, classes: CLASSES}}, model})
      const probe = buildModel(spec)
      const start = await Promise.all(probe.model.getWeights().map(async (w) => Float32Array.from(await w.data())))
      probe.model.dispose()
      const outcome = await train(model, true, start)
      assert.equal(outcome.replayed, 0)
      assert.match(outcome.describe.join('\n'), /not replayed: the step gave .* new data instead of updating it in place|recording \(last attempt: the step gave/)
      assert.ok(outcome.losses.every(Number.isFinite))
    } finally {
      if (saved === undefined) delete process.env.MIXTURE_WEBGPU_ADAM_INPLACE
      else process.env.MIXTURE_WEBGPU_ADAM_INPLACE = saved
    }
  })
})

describe('replayed steps with the rest of the recipe equal the steps run by tfjs', () => {
  // SGD and AdamW (their in-place updates, weight groups without decay), a learning rate and a momentum
  // (SGD's momentum, AdamW's beta1) that change every step (one-cycle: per-step values the replay
  // writes), gradient clipping and label smoothing.
  const optimizers: OptimizerSpec[] = [
    {type: 'sgd', lr: 0.05, weight_decay: 5e-4, weight_decay_exclude: ['bias', 'norm'], momentum: 0.9, dampening: 0, nesterov: true},
    {type: 'adamw', lr: 1e-2, weight_decay: 0.05, weight_decay_exclude: ['norm'], betas: [0.9, 0.999], eps: 1e-3},
  ]
  const schedule = createSchedule({type: 'onecycle', pct_start: 0.3, div_factor: 25, final_div_factor: 1e4, anneal_strategy: 'cos', cycle_momentum: true, base_momentum: 0.85, max_momentum: 0.95}, 0.05, 3, 4)

  async function recipeRun(model: Obj, optimizer: OptimizerSpec, replay: boolean, start: Float32Array[]): Promise<{losses: number[]; state: Float32Array[]; replayed: number; describe: string[]}> {
    process.env.MIXTURE_WEBGPU_GRAPH = replay ? '1' : '0'
    const spec = resolveObject({name: 'graph', seed: 5, data: {dataset: 'synthetic', image_size: SIZE, synthetic: {train: 8, test: 8, classes: CLASSES}}, model})
    const built = buildModel(spec)
    tf.tidy(() => built.model.setWeights(built.model.getWeights().map((w, i) => tf.tensor(start[i], w.shape))))
    const trainer = new Trainer(built.model, chooseOptimizer({...optimizer, lr: schedule.lrAt(0)}), {labelSmoothing: 0.1, maxGradNorm: 0.5})
    const losses: number[] = []
    try {
      for (let step = 0; step < schedule.totalSteps; step++) {
        const x = tf.tensor4d(values(2 * SIZE * SIZE * 3, 300 + step), [2, SIZE, SIZE, 3])
        const y = tf.tensor1d([step % CLASSES, (step + 1) % CLASSES], 'int32')
        trainer.trainStep(x, y, schedule.lrAt(step), schedule.momentumAt!(step))
        tf.dispose([x, y])
        losses.push((await trainer.readMetrics()).loss)
      }
      const s = trainer.optimizerState()
      return {
        losses,
        state: await Promise.all([...built.model.getWeights(), ...Object.values(s.groups).flat()].map((t) => t.data() as Promise<Float32Array>)),
        replayed: trainer.replayedSteps,
        describe: trainer.describeStepGraphs(),
      }
    } finally {
      trainer.dispose()
      built.model.dispose()
    }
  }

  for (const optimizer of optimizers) {
    it(`${optimizer.type}, per-step learning rate and momentum, clipping and label smoothing`, async () => {
      await tf.setBackend('webgpu')
      const {model} = paperRows().find(({row}) => row === 'cifar10/joint-1block')!
      const spec = resolveObject({name: 'graph', seed: 5, data: {dataset: 'synthetic', image_size: SIZE, synthetic: {train: 8, test: 8, classes: CLASSES}}, model})
      const probe = buildModel(spec)
      const start = await Promise.all(probe.model.getWeights().map(async (w) => Float32Array.from(await w.data())))
      probe.model.dispose()
      const plain = await recipeRun(model, optimizer, false, start)
      const replayed = await recipeRun(model, optimizer, true, start)
      assert.equal(plain.replayed, 0)
      assert.ok(replayed.replayed >= 6, `replayed ${replayed.replayed} of ${schedule.totalSteps} steps: ${replayed.describe.join('; ')}`)
      assertClose('replayed', replayed.losses, plain.losses, 'losses', 1e-5, 1e-7, 'not replayed')
      replayed.state.forEach((w, i) => assertClose('replayed', w, plain.state[i], `weight or state ${i}`, 1e-5, 1e-7, 'not replayed'))
    })
  }
})
