/**
 * Training on WebGPU gives the cpu backend's numbers: every paper model structure (the registry's
 * tiny presets, 8×8 images, a fixed batch of two) takes one full training step — forward in
 * training mode, cross-entropy, gradients, the fused Adam update — on each backend from the same
 * weights; the loss and every updated weight agree within float32 tolerance. Runs wherever a WebGPU
 * adapter is present (a software one with MIXTURE_WEBGPU_ALLOW_SOFTWARE=1); skipped, with the
 * loader's reason, elsewhere. Two mixtures also take three steps with the weights read back in
 * between (as a checkpoint does): the in-place Adam update keeps them equal to the cpu run. A
 * mid-size mixture (16×16 images, batch 16) takes a step in which the large-product kernels run:
 * products, split-k weight gradients, convolutions and their filter gradients on the 128×128-tile kernel.
 */
import {describe} from 'node:test'
import assert from 'node:assert/strict'
import {tf} from '../../../src/engine/tf.js'
import '../../../src/backends/cpu/index.js'
import {Trainer} from '../../../src/engine/trainer.js'
import {countDispatches} from '../../../src/backends/webgpu/dispatches.js'
import {buildModel} from '../../../src/model/build.js'
import {resolveObject, values} from '../../helpers.js'
import {assertClose, paperRows, webgpuUnavailable} from '../paper-rows.js'
import {needing} from '../../require.js'

const SIZE = 8
const CLASSES = 3

// Without an adapter every test is registered as skipped (counted); MIXTURE_REQUIRE=webgpu makes it a failure.
const {it} = needing('webgpu', await webgpuUnavailable('webgpu model tests'))

const rows = paperRows()

describe('paper models at tiny sizes: one WebGPU training step equals the cpu step', () => {
  for (const {row, model} of rows) {
    it(`${row} (${model.type}${model.block ? ` ${model.block} × ${model.num_blocks ?? 1}` : ''})`, async () => {
      await tf.setBackend('cpu')
      const spec = resolveObject({name: 'webgpu-parity', seed: 7, data: {dataset: 'synthetic', image_size: SIZE, synthetic: {train: 8, test: 8, classes: CLASSES}}, model})
      const built = buildModel(spec)
      const start = built.model.getWeights().map((w) => Float32Array.from(w.dataSync()))
      const xs = values(2 * SIZE * SIZE * 3, 3)
      try {
        const run = async (backend: string) => {
          await tf.setBackend(backend)
          built.model.setWeights(built.model.getWeights().map((w, i) => tf.tensor(start[i], w.shape)))
          const x = tf.tensor4d(xs, [2, SIZE, SIZE, 3])
          const labels = tf.tensor1d([0, 2], 'int32')
          // Adam's first step moves each weight by about lr·sign(g); a large ε keeps a gradient that is
          // zero up to rounding (e.g. a BatchNorm shift feeding a BatchNorm) from flipping by ±lr.
          const trainer = new Trainer(built.model, {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-3, weightDecay: 1e-4})
          trainer.trainStep(x, labels)
          const {loss} = await trainer.readMetrics()
          const weights = await Promise.all(built.model.getWeights().map((w) => w.data() as Promise<Float32Array>))
          trainer.dispose()
          tf.dispose([x, labels])
          return {loss, weights}
        }
        const cpu = await run('cpu')
        const gpu = await run('webgpu')
        assert.ok(Number.isFinite(cpu.loss), 'finite loss')
        assertClose('webgpu', [gpu.loss], [cpu.loss], 'loss', 1e-4, 1e-5)
        const names = built.model.weights.map((w) => w.name)
        gpu.weights.forEach((w, i) => assertClose('webgpu', w, cpu.weights[i], `updated ${names[i]}`))
        const moved = cpu.weights.filter((w, i) => w.some((v, j) => Math.abs(v - start[i][j]) > 1e-6)).length
        assert.ok(moved >= built.model.trainableWeights.length / 2, `the step moved the weights (${moved} of ${cpu.weights.length})`)
      } finally {
        await tf.setBackend('cpu')
        built.model.dispose()
      }
    })
  }
})

describe('three WebGPU training steps, weights read back between them, equal the cpu steps', () => {
  const picks = rows.filter(({row}) => /^(cifar10\/alternating-1block|stl10-perceiver\/joint-1block)$/.test(row))
  it('the rows exist', () => assert.equal(picks.length, 2, rows.map((r) => r.row).join(', ')))
  for (const {row, model} of picks) {
    it(row, async () => {
      await tf.setBackend('cpu')
      const spec = resolveObject({name: 'webgpu-steps', seed: 3, data: {dataset: 'synthetic', image_size: SIZE, synthetic: {train: 8, test: 8, classes: CLASSES}}, model})
      const built = buildModel(spec)
      const start = built.model.getWeights().map((w) => Float32Array.from(w.dataSync()))
      try {
        const run = async (backend: string) => {
          await tf.setBackend(backend)
          tf.tidy(() => built.model.setWeights(built.model.getWeights().map((w, i) => tf.tensor(start[i], w.shape))))
          const trainer = new Trainer(built.model, {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-3, weightDecay: 1e-4})
          const programs: string[][] = []
          for (let step = 0; step < 3; step++) {
            const x = tf.tensor4d(values(2 * SIZE * SIZE * 3, 11 + step), [2, SIZE, SIZE, 3])
            const labels = tf.tensor1d([step % CLASSES, (step + 1) % CLASSES], 'int32')
            if (backend === 'webgpu') programs.push((await countDispatches(() => trainer.trainStep(x, labels))).count.byProgram.map(([name]) => name))
            else trainer.trainStep(x, labels)
            // Read every weight back (cached on the CPU by the backend), as a checkpoint would.
            await Promise.all(built.model.getWeights().map((w) => w.data()))
            tf.dispose([x, labels])
          }
          const {loss} = await trainer.readMetrics()
          const weights = await Promise.all(built.model.getWeights().map((w) => w.data() as Promise<Float32Array>))
          trainer.dispose()
          return {loss, weights, programs}
        }
        const cpu = await run('cpu')
        const gpu = await run('webgpu')
        assertClose('webgpu', [gpu.loss], [cpu.loss], 'mean loss of three steps', 1e-4, 1e-5)
        const names = built.model.weights.map((w) => w.name)
        gpu.weights.forEach((w, i) => assertClose('webgpu', w, cpu.weights[i], `after three steps: ${names[i]}`))
        const inPlace = process.env.MIXTURE_WEBGPU_ADAM_INPLACE !== '0' && process.env.MIXTURE_WEBGPU_FUSED !== '0'
        if (inPlace) for (const [k, programs] of gpu.programs.entries()) {
          assert.ok(programs.includes('MixtureAdamInPlace'), `step ${k + 1}: ${programs.join(', ')}`)
          assert.ok(!programs.includes('MixtureAdam'), `step ${k + 1}: every weight updated in place`)
        }
      } finally {
        await tf.setBackend('cpu')
        built.model.dispose()
      }
    })
  }
})

describe('a mid-size mixture: the large-product kernels in a training step equal the cpu step', () => {
  it('alternating CNN [32, 64, 3] + ViT (dim 256, MLP 256) at 16×16, batch 16', async () => {
    const size = 16
    const batch = 16
    await tf.setBackend('cpu')
    const model = {
      type: 'mixture',
      block: 'alternating',
      num_blocks: 1,
      components: [
        {type: 'cnn', channels: [32, 64, 3]},
        {type: 'vit', patch_size: 2, dim: size * size, depth: 1, heads: 2, dim_head: 64, mlp_dim: 256},
      ],
      adapter: {type: 'token_image'},
      head: {type: 'linear'},
    }
    const spec = resolveObject({name: 'webgpu-mid', seed: 5, data: {dataset: 'synthetic', image_size: size, synthetic: {train: 8, test: 8, classes: CLASSES}}, model})
    const built = buildModel(spec)
    const start = built.model.getWeights().map((w) => Float32Array.from(w.dataSync()))
    const xs = values(batch * size * size * 3, 13)
    try {
      const run = async (backend: string) => {
        await tf.setBackend(backend)
        tf.tidy(() => built.model.setWeights(built.model.getWeights().map((w, i) => tf.tensor(start[i], w.shape))))
        const x = tf.tensor4d(xs, [batch, size, size, 3])
        const labels = tf.tensor1d(Array.from({length: batch}, (_, i) => i % CLASSES), 'int32')
        const trainer = new Trainer(built.model, {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-3, weightDecay: 1e-4})
        let programs: string[] = []
        if (backend === 'webgpu') programs = (await countDispatches(() => trainer.trainStep(x, labels))).count.byProgram.map(([name]) => name)
        else trainer.trainStep(x, labels)
        const {loss} = await trainer.readMetrics()
        const weights = await Promise.all(built.model.getWeights().map((w) => w.data() as Promise<Float32Array>))
        trainer.dispose()
        tf.dispose([x, labels])
        return {loss, weights, programs}
      }
      const cpu = await run('cpu')
      // the kernel takes products of any workgroup count here (by default small ones stay with tfjs)
      process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS = '1'
      const gpu = await run('webgpu').finally(() => delete process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS)
      assertClose('webgpu', [gpu.loss], [cpu.loss], 'loss', 1e-4, 1e-5)
      const names = built.model.weights.map((w) => w.name)
      gpu.weights.forEach((w, i) => assertClose('webgpu', w, cpu.weights[i], `updated ${names[i]}`))
      if (process.env.MIXTURE_WEBGPU_MATMUL !== '0' && process.env.MIXTURE_WEBGPU_FUSED !== '0') {
        for (const program of ['MixtureMatMul', 'MixtureMatMulPartial', 'MixtureConv2D', 'MixtureConv2DFilterPartial']) assert.ok(gpu.programs.includes(program), `${program} ran: ${gpu.programs.join(', ')}`)
      }
      // steps on these kernels leave no tensor behind (split partials included)
      await tf.setBackend('webgpu')
      process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS = '1'
      try {
        const trainer = new Trainer(built.model, {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-3, weightDecay: 1e-4})
        const x = tf.tensor4d(xs, [batch, size, size, 3])
        const labels = tf.tensor1d(Array.from({length: batch}, (_, i) => i % CLASSES), 'int32')
        const counts: string[] = []
        for (let step = 0; step < 3; step++) {
          trainer.trainStep(x, labels)
          await trainer.readMetrics()
          counts.push(`${tf.memory().numTensors}/${tf.engine().backend.numDataIds()}`)
        }
        assert.equal(counts[2], counts[1], `live tensors/backend data after steps 1-3: ${counts.join(', ')}`)
        trainer.dispose()
        tf.dispose([x, labels])
      } finally {
        delete process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS
      }
    } finally {
      await tf.setBackend('cpu')
      built.model.dispose()
    }
  })
})
