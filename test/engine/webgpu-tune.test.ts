/**
 * Kernel-route tuning on WebGPU (src/engine/webgpu/tune.ts): the calls a captured step makes that
 * have a route of the project's are timed both ways and each takes the route chosen; either route
 * gives the same values; a Trainer tunes after its first step, and its later steps — recorded and
 * replayed with whichever routes were chosen — give the losses of a trainer that never tuned. Runs
 * wherever a WebGPU adapter is present (a software one with MIXTURE_WEBGPU_ALLOW_SOFTWARE=1);
 * skipped, with the loader's reason, elsewhere.
 */
import {after, afterEach, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {tf} from '../../src/engine/tf.js'
import '../../src/engine/kernels/index.js'
import {Trainer} from '../../src/engine/trainer.js'
import {countDispatches} from '../../src/engine/webgpu/dispatches.js'
import {buildModel} from '../../src/model/build.js'
import {resolveObject, values} from '../helpers.js'
import {assertClose, webgpuUnavailable} from './paper-rows.js'

const off =
  process.env.MIXTURE_WEBGPU_FUSED === '0' || process.env.MIXTURE_WEBGPU_TUNE === '0' ? 'kernel tuning is off (MIXTURE_WEBGPU_FUSED=0 or MIXTURE_WEBGPU_TUNE=0)' : false
if (off) process.stderr.write(`webgpu kernel-tuning tests skipped: ${off}\n`)
const unavailable = off || (await webgpuUnavailable('webgpu kernel-tuning tests'))
const tune = unavailable ? undefined : await import('../../src/engine/webgpu/tune.js')

// Small products take the project's kernel too, so that a product is among the tuned calls.
const savedMin = process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS
process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS = '1'
after(() => {
  if (savedMin === undefined) delete process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS
  else process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS = savedMin
})

/** Gradients of a convolution and a product: a filter gradient, a stride-1 input gradient and products with routes of the project's. */
function step(x: tf.Tensor4D, filter: tf.Tensor4D, a: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor[] {
  const f = (xx: tf.Tensor4D, ff: tf.Tensor4D, aa: tf.Tensor2D, ww: tf.Tensor2D): tf.Scalar =>
    tf.add(tf.sum(tf.square(tf.conv2d(xx, ff, 1, 'same'))), tf.sum(tf.square(tf.matMul(aa, ww))))
  return tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([x, filter, a, w])
}

function inputs(): [tf.Tensor4D, tf.Tensor4D, tf.Tensor2D, tf.Tensor2D] {
  return [
    tf.tensor4d(values(2 * 16 * 16 * 64, 1), [2, 16, 16, 64]),
    tf.tensor4d(values(3 * 3 * 64 * 64, 2).map((v) => v * 0.1), [3, 3, 64, 64]),
    tf.tensor2d(values(256 * 256, 3), [256, 256]),
    tf.tensor2d(values(256 * 256, 4).map((v) => v * 0.1), [256, 256]),
  ]
}

/** The step's gradients, and which of the project's programs it dispatched. */
async function run(): Promise<{grads: Float32Array[]; programs: string[]}> {
  const args = inputs()
  const {result, count} = await countDispatches(() => tf.tidy(() => step(...args)))
  const grads = await Promise.all(result.map(async (t) => Float32Array.from(await t.data())))
  tf.dispose([...result, ...args])
  return {grads, programs: count.byProgram.map(([name]) => name).filter((name) => name.startsWith('Mixture'))}
}

describe('kernel-route tuning on WebGPU', {skip: unavailable}, () => {
  afterEach(() => tune!.resetTuning())

  it('times each call of a captured step both ways and routes it as chosen; both routes give the same gradients', async () => {
    await tf.setBackend('webgpu')
    const plain = await run()
    for (const name of ['MixtureConv2D', 'MixtureConv2DFilter', 'MixtureFlipFilter', 'MixtureMatMul']) assert.ok(plain.programs.some((p) => p.startsWith(name)), `${name} among ${plain.programs.join(', ')}`)
    const args = inputs()
    tune!.captureCalls(() => tf.dispose(tf.tidy(() => step(...args))))
    tf.dispose(args)
    const outcome = await tune!.tuneKernels()
    const kernels = outcome.decided.map((d) => d.kernelName)
    for (const k of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul']) assert.ok(kernels.includes(k), `${k} among the tuned calls: ${kernels.join(', ')}`)
    assert.equal(outcome.skipped, 0)
    for (const d of outcome.decided) {
      assert.ok(d.projectMs > 0 && d.tfjsMs > 0 && Number.isFinite(d.projectMs + d.tfjsMs), `${d.key}: ${d.projectMs} / ${d.tfjsMs} ms`)
      assert.equal(d.route, d.tfjsMs < 0.95 * d.projectMs ? 'tfjs' : 'project', d.key)
    }
    // The stride-1 input gradient runs a forward convolution: that nested call is timed before it.
    assert.equal(kernels.filter((k) => k === 'Conv2D').length, 2, kernels.join(', '))
    assert.ok(kernels.lastIndexOf('Conv2D') < kernels.indexOf('Conv2DBackpropInput'), kernels.join(', '))
    assert.match(tune!.describeTuning(outcome), new RegExp(`^${outcome.decided.length} product/convolution calls timed in [\\d.]+ s; `))

    // Every tuned call pinned to tfjs's route: none of the project's products or convolutions runs.
    for (const d of outcome.decided) tune!.pinRoute(d, 'tfjs')
    const viaTfjs = await run()
    for (const name of ['MixtureConv2D', 'MixtureConv2DFilter', 'MixtureFlipFilter', 'MixtureMatMul']) assert.ok(!viaTfjs.programs.some((p) => p.startsWith(name)), `${name} ran: ${viaTfjs.programs.join(', ')}`)
    for (const d of outcome.decided) tune!.pinRoute(d, 'project')
    const viaProject = await run()
    assert.deepEqual(viaProject.programs, plain.programs)
    // Sums in another order: compared against the gradient's own scale.
    const scale = (g: Float32Array): number => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
    viaTfjs.grads.forEach((g, i) => assertClose('tfjs routes', g, plain.grads[i], `gradient ${i}`, 1e-4, 1e-5 * scale(plain.grads[i]), "the project's routes"))
    viaProject.grads.forEach((g, i) => assert.deepEqual(g, plain.grads[i], `gradient ${i}: the project's routes as before tuning`))
  })

  it('a call seen again is not timed again; a spent budget leaves the calls untimed', async () => {
    await tf.setBackend('webgpu')
    const args = inputs()
    tune!.captureCalls(() => tf.dispose(tf.tidy(() => step(...args))))
    const spent = await tune!.tuneKernels(0)
    assert.equal(spent.decided.length, 0)
    assert.ok(spent.skipped >= 3, `skipped ${spent.skipped}`)
    assert.match(tune!.describeTuning(spent), /left untimed \(MIXTURE_WEBGPU_TUNE_BUDGET\)/)
    tune!.captureCalls(() => tf.dispose(tf.tidy(() => step(...args))))
    const first = await tune!.tuneKernels()
    assert.ok(first.decided.length >= 3)
    tune!.captureCalls(() => tf.dispose(tf.tidy(() => step(...args))))
    const again = await tune!.tuneKernels()
    tf.dispose(args)
    assert.deepEqual([again.decided.length, again.skipped], [0, 0], 'nothing new to time')
  })

  it('a Trainer tunes after its first step; its later steps, replayed with the chosen routes, match a trainer that never tuned', async () => {
    await tf.setBackend('webgpu')
    // The quickstart's model (configs/quickstart.yaml) with a smaller transformer.
    const model = {
      type: 'mixture',
      block: 'alternating',
      num_blocks: 1,
      components: [
        {type: 'cnn', channels: [16, 16, 3]},
        {type: 'vit', patch_size: 2, dim: 64, depth: 1, heads: 2, dim_head: 16, mlp_dim: 64},
      ],
      adapter: {type: 'token_image'},
      head: {type: 'linear'},
    }
    const spec = resolveObject({name: 'tune', seed: 3, data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 8, test: 8, classes: 3}}, model})
    const probe = buildModel(spec)
    const start = await Promise.all(probe.model.getWeights().map(async (w) => Float32Array.from(await w.data())))
    probe.model.dispose()
    const train = async (route: 'none' | 'tuned' | 'tfjs' | 'project'): Promise<{losses: number[]; lines: (string | undefined)[]; replayed: number}> => {
      tune!.resetTuning()
      const built = buildModel(spec)
      tf.tidy(() => built.model.setWeights(built.model.getWeights().map((w, i) => tf.tensor(start[i], w.shape))))
      const trainer = new Trainer(built.model, {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-3, weightDecay: 1e-4})
      const losses: number[] = []
      const lines: (string | undefined)[] = []
      try {
        for (let s = 0; s < 8; s++) {
          const x = tf.tensor4d(values(2 * 8 * 8 * 3, 40 + s), [2, 8, 8, 3])
          const y = tf.tensor1d([s % 3, (s + 1) % 3], 'int32')
          trainer.trainStep(x, y)
          tf.dispose([x, y])
          if (s === 0 && route !== 'none') {
            lines.push(await trainer.tuneKernels(), await trainer.tuneKernels())
            if (route !== 'tuned') for (const d of tune!.tunedCalls()) tune!.pinRoute(d, route)
          }
          losses.push((await trainer.readMetrics()).loss)
          trainer.resetMetrics()
        }
        return {losses, lines, replayed: trainer.replayedSteps}
      } finally {
        trainer.dispose()
        built.model.dispose()
      }
    }
    const untuned = await train('none')
    for (const route of ['tuned', 'tfjs', 'project'] as const) {
      const outcome = await train(route)
      assert.match(outcome.lines[0] ?? '', /^\d+ product\/convolution calls? timed in/, `${route}: the first call reports`)
      assert.equal(outcome.lines[1], undefined, `${route}: a second call has nothing to do`)
      assert.ok(outcome.replayed >= 3, `${route}: ${outcome.replayed} steps replayed`)
      assertClose(route, outcome.losses, untuned.losses, 'losses', 1e-4, 1e-6, 'never tuned')
    }
  })
})
