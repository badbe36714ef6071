/**
 * The WebGPU route: adapter classification and the Tile gradient everywhere; the project's WGSL
 * kernels (Adam, dropout, BatchNorm, LayerNorm, GELU/GEGLU, softmax gradient, conv filter gradient)
 * and the recording caches against the cpu backend wherever a WebGPU adapter
 * is present. A software adapter (lavapipe, SwiftShader) counts only with
 * MIXTURE_WEBGPU_ALLOW_SOFTWARE=1; otherwise those tests are skipped with the loader's reason.
 */
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {tf} from '../../../src/engine/tf.js'
import '../../../src/backends/cpu/index.js'
import {adamLoop} from '../../../src/backends/cpu/kernels/adam.js'
import {dropoutHash, dropoutLoop, seededDropout} from '../../../src/ops/dropout.js'
import {adamStep, adamUpdate, type AdamAttrs} from '../../../src/ops/adam.js'
import {isSoftwareAdapter, loadWebgpu} from '../../../src/backends/webgpu/index.js'
import {tileGrad} from '../../../src/ops/tile-grad.js'
import {flatWorkgroups, type WebgpuBackendInternals} from '../../../src/backends/webgpu/runner.js'
import {gemmPlan} from '../../../src/backends/webgpu/programs/gemm-plan.js'
import {needing} from '../../require.js'

function series(n: number, f: (i: number) => number): Float32Array {
  return Float32Array.from({length: n}, (_, i) => f(i))
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length)
  let d = 0
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]))
  return d
}

describe('webgpu: without a device', () => {
  it('classifies software and fallback adapters', () => {
    const adapter = (info: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      ({info, features: new Set<string>(), limits: {}, requestDevice: async () => ({}), ...extra}) as unknown as Parameters<typeof isSoftwareAdapter>[0]
    assert.equal(isSoftwareAdapter(adapter({vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3'})), false)
    assert.equal(isSoftwareAdapter(adapter({vendor: 'mesa', architecture: 'software', description: 'llvmpipe (LLVM 15)'})), true)
    assert.equal(isSoftwareAdapter(adapter({vendor: 'google', architecture: '', description: 'SwiftShader Device'})), true)
    assert.equal(isSoftwareAdapter(adapter({vendor: 'x', architecture: 'y', isFallbackAdapter: true})), true)
    assert.equal(isSoftwareAdapter(adapter({vendor: 'x', architecture: 'y'}, {isFallbackAdapter: true})), true)
  })

  it('folds large dispatches into two dimensions', () => {
    const backend = {device: {limits: {maxComputeWorkgroupsPerDimension: 65535}}} as unknown as WebgpuBackendInternals
    assert.deepEqual(flatWorkgroups(backend, 1000, 256), [4, 1])
    assert.deepEqual(flatWorkgroups(backend, 0, 256), [1, 1])
    const [x, y] = flatWorkgroups(backend, 65535 * 256 * 3 + 1, 256)
    assert.equal(x, 65535)
    assert.ok(x * y * 256 >= 65535 * 256 * 3 + 1 && y === 4)
  })

  it('tileGrad equals the reference Tile gradient in one reduction', async () => {
    await tf.setBackend('cpu')
    const shape = [2, 1, 3]
    const reps = [3, 4, 2]
    const x = tf.tensor(series(6, (i) => i - 2.5), shape)
    const w = tf.tensor(series(2 * 3 * 1 * 4 * 3 * 2, (i) => Math.sin(i)), [6, 4, 6])
    const reference = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.tile(t, reps), w)))(x)
    const ours = tileGrad(w, shape, reps)
    assert.deepEqual(ours.shape, shape)
    assert.ok(maxDiff(await ours.data(), await reference.data()) < 1e-5)
    tf.dispose([x, w, reference, ours])
  })
})

let unavailable: string | false = false
let detail = ''
try {
  detail = await loadWebgpu()
  if (!(await tf.setBackend('webgpu'))) unavailable = "tf.setBackend('webgpu') failed"
  await tf.setBackend('cpu')
} catch (error) {
  unavailable = `no usable WebGPU adapter: ${(error as Error).message}`
}
if (unavailable) process.stderr.write(`webgpu tests skipped: ${unavailable}\n`)
// Without an adapter every test below is registered as skipped (counted); MIXTURE_REQUIRE=webgpu makes it a failure.
const gpu = needing('webgpu', unavailable)

/** Run `f` on cpu and on webgpu; both results as arrays. */
async function onBoth(f: () => tf.Tensor[]): Promise<{cpu: Float32Array[]; gpu: Float32Array[]}> {
  const run = async (backend: string) => {
    await tf.setBackend(backend)
    const outs = f()
    const data = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>))
    tf.dispose(outs)
    return data
  }
  const gpu = await run('webgpu')
  const cpu = await run('cpu')
  return {cpu, gpu}
}

interface ConvCase {
  x: number[]
  f: number[]
  s: number
  p: 'same' | 'valid' | number
}

/** The gradient of Σ conv2d(x, f)² w.r.t. x or f on webgpu and cpu (close); the WGSL programs it ran. */
async function convGradCases(cases: ConvCase[], wrt: 'x' | 'filter'): Promise<Set<string>> {
  const {countDispatches} = await import('../../../src/backends/webgpu/dispatches.js')
  const programs = new Set<string>()
  for (const c of cases) {
    const xs = series(c.x.reduce((a, b) => a * b), (i) => Math.sin(i * 0.3))
    const fs = series(c.f.reduce((a, b) => a * b), (i) => Math.cos(i * 0.7))
    const grad = (backend: string) => async () => {
      await tf.setBackend(backend)
      const x = tf.tensor4d(xs, c.x as [number, number, number, number])
      const f = tf.tensor4d(fs, c.f as [number, number, number, number])
      const loss = wrt === 'x' ? (t: tf.Tensor) => tf.sum(tf.square(tf.conv2d(t as tf.Tensor4D, f, c.s, c.p))) : (w: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, w as tf.Tensor4D, c.s, c.p)))
      return tf.grad(loss)(wrt === 'x' ? x : f).data() as Promise<Float32Array>
    }
    await tf.setBackend('webgpu') // countDispatches watches the backend active when it starts
    const {result: gpu, count} = await countDispatches(grad('webgpu'))
    count.byProgram.forEach(([name]) => programs.add(name))
    const cpu = await grad('cpu')()
    const scale = cpu.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
    assert.ok(maxDiff(gpu, cpu) < 1e-5 * scale, `${JSON.stringify(c)}: ${maxDiff(gpu, cpu)} of ${scale}`)
  }
  return programs
}

/**
 * `make` run on cpu and on webgpu (counting the webgpu dispatches): the webgpu values must be within
 * 4e-5 of the largest cpu magnitude; returns the cpu values and the programs that ran.
 */
async function againstCpu(what: string, make: () => tf.Tensor): Promise<{cpu: Float32Array; programs: string[]; dispatches: number}> {
  const {countDispatches} = await import('../../../src/backends/webgpu/dispatches.js')
  await tf.setBackend('cpu')
  const cpuOut = make()
  const cpu = (await cpuOut.data()) as Float32Array
  await tf.setBackend('webgpu')
  const {result, count} = await countDispatches(async () => {
    const out = make()
    const data = {values: (await out.data()) as Float32Array, shape: out.shape}
    out.dispose()
    return data
  })
  assert.deepEqual(result.shape, cpuOut.shape, what)
  cpuOut.dispose()
  const scale = cpu.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
  assert.ok(scale > 0 && maxDiff(result.values, cpu) < 4e-5 * scale, `${what}: ${maxDiff(result.values, cpu)} of ${scale}`)
  return {cpu, programs: count.byProgram.map(([name]) => name), dispatches: count.dispatches}
}

/** Run `fn` with the product kernel taking products of any workgroup count (the tests' shapes are small). */
async function anyWorkgroups<T>(fn: () => Promise<T>): Promise<T> {
  const before = process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS
  process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS = '1'
  try {
    return await fn()
  } finally {
    if (before === undefined) delete process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS
    else process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS = before
  }
}

const inPlaceAdam = process.env.MIXTURE_WEBGPU_ADAM_INPLACE !== '0' && process.env.MIXTURE_WEBGPU_FUSED !== '0'

describe(`webgpu kernels against cpu (${detail || 'no adapter'})`, () => {
  const {it} = gpu
  it('MixtureAdam: one dispatch per tensor, same update as the cpu loop', async () => {
    const {countDispatches} = await import('../../../src/backends/webgpu/dispatches.js')
    const n = 1000
    const p = series(n, (i) => Math.sin(i * 1.1))
    const g = series(n, (i) => Math.sin(i * 2.3))
    const m = series(n, (i) => 0.1 * Math.sin(i * 0.7))
    const v = series(n, (i) => 0.01 * Math.abs(Math.sin(i * 0.3)))
    const a: AdamAttrs = {lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4, step: 3}
    await tf.setBackend('webgpu')
    const inputs = [p, g, m, v].map((d) => tf.tensor(d, [25, 40]))
    const {result, count} = await countDispatches(async () => {
      const out = adamUpdate(inputs[0], inputs[1], inputs[2], inputs[3], a)
      return Promise.all(out.map((t) => t.data() as Promise<Float32Array>))
    })
    assert.equal(count.dispatches, 1)
    assert.deepEqual(count.byProgram, [['MixtureAdam', 1]])
    const want = [new Float32Array(n), new Float32Array(n), new Float32Array(n)]
    adamLoop(p, g, m, v, want[0], want[1], want[2], a)
    for (let k = 0; k < 3; k++) assert.ok(maxDiff(result[k], want[k]) < 1e-6, `output ${k}`)
    assert.ok(maxDiff(result[0], p) > 1e-4, 'the weights moved')
    tf.dispose(inputs)
  })

  it('in-place Adam step: several weights per dispatch, same update as the cpu loop; shared or stale data handled', async (t) => {
    if (!inPlaceAdam) return t.skip('in-place Adam is switched off (MIXTURE_WEBGPU_ADAM_INPLACE=0 or MIXTURE_WEBGPU_FUSED=0)')
    const {countDispatches} = await import('../../../src/backends/webgpu/dispatches.js')
    const {adamGroupSize} = await import('../../../src/backends/webgpu/kernels/adam.js')
    await tf.setBackend('webgpu')
    const sizes = [1000, 3, 257, 70_000, 1, 512, 4096]
    const run = async (group: string) => {
      process.env.MIXTURE_WEBGPU_ADAM_GROUP = group
      const k = adamGroupSize(tf.backend() as unknown as WebgpuBackendInternals)
      const init = sizes.map((n, w) => [series(n, (i) => Math.sin(i * 1.1 + w)), series(n, (i) => 0.1 * Math.sin(i * 0.7 + w)), series(n, (i) => 0.01 * Math.abs(Math.sin(i * 0.3 + w)))])
      // A variable made from a tensor shares that tensor's data until the tensor is disposed.
      const own = (values: Float32Array, name?: string) => tf.tidy(() => tf.variable(tf.tensor(values), true, name))
      const params = init.map(([p], w) => own(p, `p${group}_${w}`))
      const m = init.map(([, mm]) => own(mm))
      const v = init.map(([, , vv]) => own(vv))
      const want = init.map(([p, mm, vv]) => [Float32Array.from(p), Float32Array.from(mm), Float32Array.from(vv)])
      // Weight 2 shares its data with a live tensor: it must not be written in place.
      const alias = tf.reshape(params[2], [1, sizes[2]])
      const aliasBefore = await alias.data()
      // Weight 0 was read back from the GPU (so the backend caches it on the CPU): that copy must not
      // outlive the update.
      tf.tidy(() => tf.add(params[0], 0)).dispose()
      await params[0].data()
      const counts = []
      for (const step of [1, 2]) {
        const a: AdamAttrs = {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4, step}
        const gs = sizes.map((n, w) => series(n, (i) => Math.cos(i * 2.3 + w + step)))
        const grads = gs.map((g) => tf.tensor(g))
        const {count} = await countDispatches(() => adamStep(params, grads, m, v, a))
        counts.push(count)
        tf.dispose(grads)
        want.forEach((wt, w) => {
          const out = [new Float32Array(sizes[w]), new Float32Array(sizes[w]), new Float32Array(sizes[w])]
          adamLoop(wt[0], gs[w], wt[1], wt[2], out[0], out[1], out[2], a)
          want[w] = out
        })
      }
      const got = await Promise.all(params.map(async (p, w) => [await p.data(), await m[w].data(), await v[w].data()] as Float32Array[]))
      got.forEach((g, w) => g.forEach((t, j) => assert.ok(maxDiff(t, want[w][j]) < 1e-6, `weight ${w} (${sizes[w]}) output ${j}: ${maxDiff(t, want[w][j])}`)))
      assert.deepEqual(await alias.data(), aliasBefore, 'a tensor sharing a weight\'s data keeps its values')
      tf.dispose([alias, ...params, ...m, ...v])
      return {k, counts, got}
    }
    try {
      const grouped = await run('8')
      const single = await run('1')
      assert.equal(single.k, 1)
      for (const {k, counts} of [grouped, single]) {
        // Step 1: weight 2 (shared) goes through MixtureAdam; the other six in ⌈6 / k⌉ dispatches.
        assert.deepEqual(counts[0].byProgram.find(([n]) => n === 'MixtureAdamInPlace'), ['MixtureAdamInPlace', Math.ceil(6 / k)])
        assert.deepEqual(counts[0].byProgram.find(([n]) => n === 'MixtureAdam'), ['MixtureAdam', 1])
        // Step 2: weight 2's new buffer is its own, so every weight is updated in place.
        assert.deepEqual(counts[1].byProgram, [['MixtureAdamInPlace', Math.ceil(7 / k)]])
      }
      grouped.got.forEach((g, w) => g.forEach((t, j) => assert.deepEqual(t, single.got[w][j], `weight ${w} output ${j}: grouping changes nothing`)))
    } finally {
      delete process.env.MIXTURE_WEBGPU_ADAM_GROUP
    }
  })

  it('MixtureDropout: the same mask as the cpu kernel', async () => {
    const x = series(3000, (i) => Math.cos(i * 0.05) + 2)
    const {cpu, gpu} = await onBoth(() => [seededDropout(tf.tensor(x, [30, 100]), 0.3, 1234)])
    const want = new Float32Array(x.length)
    dropoutLoop(x, want, 0.3, 1234)
    const zeros = (d: Float32Array) => d.reduce((s, v) => s + (v === 0 ? 1 : 0), 0)
    assert.ok(zeros(gpu[0]) > 700 && zeros(gpu[0]) < 1100)
    for (let i = 0; i < x.length; i++) assert.equal(gpu[0][i] === 0, want[i] === 0, `mask at ${i}`)
    assert.ok(maxDiff(gpu[0], cpu[0]) < 1e-5)
    // A layer's per-step mask (seed = dropoutHash(layerSeed, step)) derives the seed in the shader:
    // the same mask, and a later step reuses the bind group with only the step tensor changed.
    const {recordingStats} = await import('../../../src/backends/webgpu/record.js')
    const backend = tf.backend() as unknown as WebgpuBackendInternals
    const input = tf.tensor(x, [30, 100])
    const masks: Float32Array[] = []
    for (const step of [5, 6, 7, 8]) {
      const before = recordingStats(backend)
      const y = seededDropout(input, 0.3, {layerSeed: 99, step})
      masks.push((await y.data()) as Float32Array)
      y.dispose()
      const after = recordingStats(backend)
      if (step >= 7 && before && after) assert.equal(after.misses, before.misses, `step ${step}: no new bind group`)
      dropoutLoop(x, want, 0.3, dropoutHash(99, step))
      for (let i = 0; i < x.length; i++) assert.equal(masks[masks.length - 1][i] === 0, want[i] === 0, `step ${step}: mask at ${i}`)
    }
    assert.notDeepEqual(masks[0], masks[1], 'a new mask every step')
    input.dispose()
  })

  it('BatchNorm (training): y, gradients and running statistics match the layer on cpu (few and many chunks; 2 + 2 and 3 + 3 dispatches)', async () => {
    const {BatchNorm} = await import('../../../src/layers/norm.js')
    const {batchNormTraining, hasFusedBatchNorm} = await import('../../../src/ops/batchnorm.js')
    const {countDispatches} = await import('../../../src/backends/webgpu/dispatches.js')
    const before = process.env.MIXTURE_WEBGPU_BN_TWO_PASS
    // 7 chunks of rows, then 225 (more than the 32 lanes of the pass over the chunks; capped at 128
    // on the 2-pass route), 3 channels; each through the 2-pass and the 3-pass routes
    const cases: [number[], boolean][] = [
      [[3, 5, 7, 70], true],
      [[4, 30, 30, 3], true],
      [[3, 5, 7, 70], false],
      [[4, 30, 30, 3], false],
    ]
    try {
      for (const [shape, twoPass] of cases) {
        process.env.MIXTURE_WEBGPU_BN_TWO_PASS = twoPass ? '1' : '0'
        const C = shape[3]
        const n = shape.reduce((a, b) => a * b)
        const xs = series(n, (i) => 3 + 2 * Math.sin(i * 0.37) + (i % C) * 0.01)
        const ws = series(n, (i) => Math.cos(i * 0.11))
        const gs = series(C, (i) => 1 + 0.01 * i)
        const bs = series(C, (i) => 0.1 - 0.003 * i)
        const rm = series(C, (i) => 0.05 * i)
        const rv = series(C, (i) => 1 + 0.02 * i)
        const results: Record<string, Float32Array[]> = {}
        for (const backend of ['cpu', 'webgpu']) {
          await tf.setBackend(backend)
          const x = tf.tensor(xs, shape)
          const w = tf.tensor(ws, shape)
          const gamma = tf.variable(tf.tensor(gs))
          const beta = tf.variable(tf.tensor(bs))
          // Made inside tidy so that each variable owns its data (else the first update cannot be in place).
          let runningMean = tf.tidy(() => tf.variable(tf.tensor(rm)))
          let runningVar = tf.tidy(() => tf.variable(tf.tensor(rv)))
          let f: (t: tf.Tensor) => tf.Tensor
          if (backend === 'cpu') {
            const layer = new BatchNorm({momentum: 0.1, epsilon: 1e-5})
            layer.build(shape)
            const lv = layer as unknown as Record<string, {write(t: tf.Tensor): void; read(): tf.Variable}>
            lv.gamma.write(gamma)
            lv.beta.write(beta)
            lv.movingMean.write(runningMean)
            lv.movingVariance.write(runningVar)
            f = (t) => layer.call(t, {training: true})
            ;[runningMean, runningVar] = [lv.movingMean.read(), lv.movingVariance.read()]
            const g = tf.variableGrads(() => tf.sum(tf.mul(f(x), w)) as tf.Scalar, [lv.gamma.read(), lv.beta.read()])
            const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), w)))(x)
            results.cpu = await Promise.all([f(x), dx, g.grads[lv.gamma.read().name], g.grads[lv.beta.read().name], lv.movingMean.read(), lv.movingVariance.read()].map((t) => t.data() as Promise<Float32Array>))
          } else {
            assert.ok(hasFusedBatchNorm())
            // The running statistics are updated in place (their values still on the CPU at first).
            const ids = [runningMean.dataId, runningVar.dataId]
            let handedBack = 0
            f = (t) =>
              batchNormTraining(t, gamma, beta, runningMean, runningVar, {momentum: 0.1, epsilon: 1e-5}, (m, v) => {
                handedBack++
                runningMean.assign(m)
                runningVar.assign(v)
              })
            const g = tf.variableGrads(() => tf.sum(tf.mul(f(x), w)) as tf.Scalar, [gamma, beta])
            const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), w)))(x)
            results.gpu = await Promise.all([f(x), dx, g.grads[gamma.name], g.grads[beta.name], runningMean, runningVar].map((t) => t.data() as Promise<Float32Array>))
            assert.equal(handedBack, 0, 'no new running statistics handed back')
            assert.deepEqual([runningMean.dataId, runningVar.dataId], ids, 'the running statistics keep their data')
          }
        }
        const names = ['y', 'dx', 'dgamma', 'dbeta', 'running mean', 'running variance']
        const route = twoPass ? '2-pass' : '3-pass'
        names.forEach((name, k) => assert.ok(maxDiff(results.gpu[k], results.cpu[k]) < 1e-4, `${JSON.stringify(shape)} ${route} ${name}: ${maxDiff(results.gpu[k], results.cpu[k])}`))
        assert.ok(maxDiff(results.gpu[4], rm) > 1e-3, 'running mean updated')
        // dispatches of one training-mode forward and its backward
        const x = tf.tensor(series(n, (i) => Math.sin(i)), shape)
        const params = [0.5, 0.5, 0.5, 1].map((v) => tf.variable(tf.fill([C], v)))
        const {count} = await countDispatches(() => {
          const g = tf.grad((t: tf.Tensor) => batchNormTraining(t, params[0], params[1], params[2], params[3], {momentum: 0.1, epsilon: 1e-5}, (m, v) => tf.dispose([m, v])))(x)
          g.dispose()
        })
        const bn = count.byProgram.filter(([name]) => name.startsWith('MixtureBatchNorm') || name === 'BatchNormProgram').reduce((k, [, c]) => k + c, 0)
        assert.equal(bn, twoPass ? 4 : 6, `${JSON.stringify(shape)} ${route}: ${JSON.stringify(count.byProgram)}`)
        tf.dispose([x, ...params])
      }
    } finally {
      if (before === undefined) delete process.env.MIXTURE_WEBGPU_BN_TWO_PASS
      else process.env.MIXTURE_WEBGPU_BN_TWO_PASS = before
    }
  })

  it('LayerNorm: y and gradients match the layer on cpu; the backward pass is 2 dispatches up to 1,024 columns, 3 wider', async () => {
    const {LayerNorm} = await import('../../../src/layers/norm.js')
    const {layerNorm, LN_GRAD_KERNEL, LN_KERNEL} = await import('../../../src/ops/layernorm.js')
    const {countDispatches} = await import('../../../src/backends/webgpu/dispatches.js')
    // one row per chunk; 2,145 rows in chunks of 2 (the last one short); rows too wide for the fused pass
    for (const shape of [[2, 37, 130], [3, 29], [65, 33, 96], [3, 1100]]) {
      const D = shape[shape.length - 1]
      const n = shape.reduce((a, b) => a * b)
      const xs = series(n, (i) => 3 + 2 * Math.sin(i * 0.37) + (i % 7) * 0.1)
      const ws = series(n, (i) => Math.cos(i * 0.11))
      const gs = series(D, (i) => 1 + 0.01 * i)
      const bs = series(D, (i) => 0.1 - 0.003 * i)
      const results: Record<string, Float32Array[]> = {}
      for (const backend of ['cpu', 'webgpu']) {
        await tf.setBackend(backend)
        const x = tf.tensor(xs, shape)
        const w = tf.tensor(ws, shape)
        let gamma = tf.variable(tf.tensor(gs))
        let beta = tf.variable(tf.tensor(bs))
        let f: (t: tf.Tensor) => tf.Tensor
        if (backend === 'cpu') {
          const layer = new LayerNorm({epsilon: 1e-5})
          layer.build(shape)
          const lv = layer as unknown as Record<string, {write(t: tf.Tensor): void; read(): tf.Variable}>
          lv.gamma.write(gamma)
          lv.beta.write(beta)
          ;[gamma, beta] = [lv.gamma.read(), lv.beta.read()]
          f = (t) => layer.call(t)
        } else {
          f = (t) => layerNorm(t, gamma, beta, 1e-5)
          const [y, mean, rstd] = tf.engine().runKernel(LN_KERNEL, {x, gamma, beta}, {epsilon: 1e-5} as unknown as tf.NamedAttrMap) as tf.Tensor[]
          const {result, count} = await countDispatches(() => tf.engine().runKernel(LN_GRAD_KERNEL, {dy: w, x, mean, rstd, gamma}) as tf.Tensor[])
          assert.equal(count.dispatches, shape[shape.length - 1] <= 1024 ? 2 : 3, `${JSON.stringify(shape)}: ${JSON.stringify(count.byProgram)}`)
          tf.dispose([y, mean, rstd, ...result])
        }
        const g = tf.variableGrads(() => tf.sum(tf.mul(f(x), w)) as tf.Scalar, [gamma, beta])
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), w)))(x)
        results[backend] = await Promise.all([f(x), dx, g.grads[gamma.name], g.grads[beta.name]].map((t) => t.data() as Promise<Float32Array>))
      }
      ;['y', 'dx', 'dgamma', 'dbeta'].forEach((name, k) => assert.ok(maxDiff(results.webgpu[k], results.cpu[k]) < 1e-4, `${JSON.stringify(shape)} ${name}`))
    }
  })

  it('Conv2DBackpropFilter: the tiled split-K kernels (64×64; 128×128 for large ones) match cpu (strides, paddings, 1×1)', async () => {
    const cases: ConvCase[] = [
      {x: [2, 8, 8, 5], f: [3, 3, 5, 7], s: 1, p: 'same'},
      {x: [3, 9, 9, 3], f: [7, 7, 3, 16], s: 2, p: 'same'},
      {x: [2, 7, 7, 66], f: [1, 1, 66, 70], s: 2, p: 'valid'},
      {x: [4, 16, 16, 8], f: [3, 3, 8, 8], s: 1, p: 1},
      // rows wider than a tile step (positions advance without wrapping, then wrap); several m and n tiles, K not a multiple of 16
      {x: [2, 20, 24, 4], f: [3, 3, 4, 6], s: 1, p: 'same'},
      {x: [1, 11, 13, 9], f: [5, 5, 9, 70], s: 1, p: 'valid'},
    ]
    const programs = await convGradCases(cases, 'filter')
    assert.ok(programs.has('MixtureConv2DBackpropFilter') && programs.has('MixtureConv2DBackpropFilterSum'), [...programs].join(', '))
    // large ones (Cin, Cout multiples of 4, at least 64 filter rows and channels) on the 128×128-tile kernel, k split or not
    const large: ConvCase[] = [
      {x: [2, 20, 20, 64], f: [3, 3, 64, 64], s: 1, p: 'same'},
      {x: [4, 24, 24, 32], f: [3, 3, 32, 64], s: 1, p: 'same'},
      {x: [4, 41, 39, 36], f: [3, 3, 36, 68], s: 2, p: 1},
      {x: [4, 22, 22, 32], f: [3, 3, 32, 132], s: 1, p: 'same'},
      {x: [1, 22, 22, 64], f: [3, 3, 64, 128], s: 1, p: 'same'}, // k = 484 pixels: not split
      // 'same' at stride 2 on 41 × 40 pads one row on top and no column on the left
      {x: [4, 41, 40, 36], f: [3, 3, 36, 68], s: 2, p: 'same'},
    ]
    const big = await anyWorkgroups(() => convGradCases(large, 'filter'))
    if (process.env.MIXTURE_WEBGPU_MATMUL !== '0') {
      assert.ok(big.has('MixtureConv2DFilter') && big.has('MixtureConv2DFilterPartial') && big.has('MixtureConv2DFilterSum'), [...big].join(', '))
      assert.ok(!big.has('MixtureConv2DBackpropFilter'), [...big].join(', '))
    }
  })

  it('GELU, GEGLU and the softmax gradient: one dispatch each way, the cpu composites\' values', async () => {
    const {countDispatches} = await import('../../../src/backends/webgpu/dispatches.js')
    const {Geglu} = await import('../../../src/layers/perceiver.js')
    const {gelu} = await import('../../../src/ops/gelu.js')
    const xs = series(6 * 7 * 26, (i) => 4 * Math.sin(i * 0.37))
    const ws = series(6 * 7 * 13, (i) => Math.cos(i * 0.11))
    const geglu = new Geglu({})
    const f = (x: tf.Tensor) => [gelu(x), geglu.call(x) as tf.Tensor]
    const loss = (x: tf.Tensor) => {
      const [g, h] = f(x)
      return tf.add(tf.sum(tf.mul(g, tf.sin(x))), tf.sum(tf.mul(h, tf.tensor(ws, h.shape))))
    }
    const {cpu, gpu} = await onBoth(() => {
      const x = tf.tensor(xs, [6, 7, 26])
      return [...f(x), tf.grad(loss)(x)]
    })
    ;['gelu', 'geglu', 'gradient'].forEach((name, k) => assert.ok(maxDiff(gpu[k], cpu[k]) < 2e-5, `${name}: ${maxDiff(gpu[k], cpu[k])}`))
    await tf.setBackend('webgpu')
    const x = tf.tensor(xs, [6, 7, 26])
    const {count} = await countDispatches(async () => {
      const [g, h] = f(x)
      await Promise.all([g.data(), h.data()])
      tf.dispose([g, h])
    })
    assert.deepEqual(count.byProgram.map(([name, n]) => [name, n]).sort(), [['MixtureGeglu', 1], ['MixtureGelu', 1]])
    x.dispose()
    // The softmax gradient over rows longer and shorter than a workgroup.
    for (const shape of [[3, 5, 300], [2, 7]]) {
      const n = shape.reduce((a, b) => a * b)
      const logits = series(n, (i) => Math.sin(i * 0.7) * 3)
      const dys = series(n, (i) => Math.cos(i * 0.3))
      const {cpu: c, gpu: g} = await onBoth(() => {
        const y = tf.softmax(tf.tensor(logits, shape))
        const dy = tf.tensor(dys, shape)
        if (tf.getBackend() === 'cpu') return [tf.mul(y, tf.sub(dy, tf.sum(tf.mul(dy, y), -1, true)))]
        return [tf.engine().runKernel('MixtureSoftmaxGrad', {dy, y}) as tf.Tensor]
      })
      assert.ok(maxDiff(g[0], c[0]) < 1e-6, `softmax gradient ${JSON.stringify(shape)}: ${maxDiff(g[0], c[0])}`)
    }
  })

  it('the Relu gradient: one dispatch, exactly dy·step(x) as on cpu (zeros and NaN included)', async () => {
    const {countDispatches} = await import('../../../src/backends/webgpu/dispatches.js')
    const xs = series(5 * 301, (i) => (i % 7 === 0 ? 0 : i === 11 ? NaN : Math.sin(i * 0.37)))
    const dys = series(5 * 301, (i) => Math.cos(i * 0.13))
    const grad = () =>
      tf.tidy(() => {
        const x = tf.tensor(xs, [5, 301])
        const dy = tf.tensor(dys, [5, 301])
        return [tf.grad((t: tf.Tensor) => tf.relu(t))(x, dy)]
      })
    const {cpu, gpu} = await onBoth(grad)
    // Element by element with Object.is (0 and -0 differ); a NaN's payload bits are the device's own.
    const differ = [...cpu[0].keys()].filter((i) => !Object.is(gpu[0][i], cpu[0][i]))
    assert.deepEqual(differ.map((i) => [i, gpu[0][i], cpu[0][i]]), [])
    assert.ok(Number.isNaN(gpu[0][11]) && gpu[0][7] === 0 && gpu[0][1] === dys[1], 'NaN passes through, step(0) = 0')
    await tf.setBackend('webgpu')
    const x = tf.tensor(xs, [5, 301])
    const dy = tf.tensor(dys, [5, 301])
    const y = tf.relu(x)
    const {count} = await countDispatches(async () => {
      const g = tf.grad((t: tf.Tensor) => tf.relu(t))(x, dy)
      await g.data()
      g.dispose()
    })
    assert.deepEqual(count.byProgram.filter(([name]) => name !== 'UnaryOpProgram'), [['MixtureReluGrad', 1]])
    tf.dispose([x, dy, y])
  })

  it('Sum over the leading axes (bias gradients): column sums without a transpose, as on cpu; other sums unchanged', async () => {
    const {countDispatches} = await import('../../../src/backends/webgpu/dispatches.js')
    const cases: {shape: number[]; axis: number[] | number; keepDims: boolean; dispatches: number}[] = [
      {shape: [5, 7], axis: 0, keepDims: false, dispatches: 1},
      {shape: [2, 3, 4, 70], axis: [2, 0, 1], keepDims: true, dispatches: 1},
      {shape: [3, 9, 130], axis: [0, 1], keepDims: false, dispatches: 1},
      {shape: [20_000, 3], axis: [0], keepDims: false, dispatches: 2},
      {shape: [4, 3000, 70], axis: [0, 1], keepDims: true, dispatches: 2},
    ]
    const others = [
      {shape: [4, 6, 5], axis: [1, 2], keepDims: false},
      {shape: [4, 6, 5], axis: [0], keepDims: false},
      {shape: [7, 9], axis: [1], keepDims: true},
    ]
    for (const c of [...cases, ...others]) {
      const n = c.shape.reduce((a, b) => a * b)
      const xs = series(n, (i) => Math.sin(i * 0.013) + 0.25 * Math.cos(i * 1.7))
      const {cpu, gpu} = await onBoth(() => [tf.sum(tf.tensor(xs, c.shape), c.axis, c.keepDims)])
      const scale = cpu[0].reduce((m, v) => Math.max(m, Math.abs(v)), 1)
      // (tfjs's own reduction, under MIXTURE_WEBGPU_COLUMN_SUM=0, drifts a little more on long columns)
      const tolerance = process.env.MIXTURE_WEBGPU_COLUMN_SUM === '0' ? 1e-4 : 1e-5
      assert.ok(maxDiff(gpu[0], cpu[0]) < tolerance * scale, `${JSON.stringify(c)}: ${maxDiff(gpu[0], cpu[0])}`)
      await tf.setBackend('webgpu')
      const x = tf.tensor(xs, c.shape)
      const {result: shape, count} = await countDispatches(async () => {
        const y = tf.sum(x, c.axis, c.keepDims)
        await y.data()
        y.dispose()
        return y.shape
      })
      x.dispose()
      assert.deepEqual(shape, tf.tidy(() => tf.sum(tf.zeros(c.shape), c.axis, c.keepDims).shape), `${JSON.stringify(c)}: shape`)
      const programs = count.byProgram.map(([name]) => name)
      const columnSums = process.env.MIXTURE_WEBGPU_COLUMN_SUM !== '0' && process.env.MIXTURE_WEBGPU_FUSED !== '0'
      if (!columnSums) assert.ok(!programs.some((p) => p.startsWith('MixtureColumnSum')), programs.join(', '))
      else if ('dispatches' in c) {
        assert.equal(count.dispatches, c.dispatches, `${JSON.stringify(c)}: ${programs.join(', ')}`)
        assert.ok(programs.every((p) => p.startsWith('MixtureColumnSum')), programs.join(', '))
      } else {
        assert.ok(!programs.some((p) => p.startsWith('MixtureColumnSum')), `${JSON.stringify(c)} stays with tfjs: ${programs.join(', ')}`)
      }
    }
  })

  it('softmax cross-entropy: loss, correct count and gradient in one dispatch each way, as the cpu composite', async () => {
    const {crossEntropy} = await import('../../../src/ops/cross-entropy.js')
    const {countDispatches} = await import('../../../src/backends/webgpu/dispatches.js')
    for (const [B, K] of [[64, 10], [300, 100], [3, 2]]) {
      const xs = series(B * K, (i) => 3 * Math.sin(i * 0.77) + Math.cos(i * 0.1))
      // a row with a tie for the top-1 (the first index wins) and a label outside [0, K)
      if (K > 2) {
        xs[K + 1] = 9
        xs[K + 2] = 9
      }
      const ys = Array.from({length: B}, (_, i) => (i === 1 ? 1 : i === 2 ? K + 3 : (i * 7) % K))
      const run = () => {
        const logits = tf.tensor2d(xs, [B, K])
        const labels = tf.tensor1d(ys, 'int32')
        const {loss, correct} = crossEntropy(logits, labels)
        const grad = tf.grad((x: tf.Tensor) => tf.mul(crossEntropy(x as tf.Tensor2D, labels).loss, 2.5))(logits)
        return [loss, correct, grad]
      }
      const {cpu, gpu} = await onBoth(() => tf.tidy(run))
      assert.ok(Math.abs(gpu[0][0] - cpu[0][0]) < 1e-5 * Math.max(1, Math.abs(cpu[0][0])), `B ${B} K ${K} loss ${gpu[0][0]} vs ${cpu[0][0]}`)
      assert.equal(gpu[1][0], cpu[1][0], `B ${B} K ${K} correct`)
      assert.ok(maxDiff(gpu[2], cpu[2]) < 1e-6, `B ${B} K ${K} gradient: ${maxDiff(gpu[2], cpu[2])}`)
    }
    await tf.setBackend('webgpu')
    const logits = tf.tensor2d(series(640, (i) => Math.sin(i)), [64, 10])
    const labels = tf.tensor1d(Array.from({length: 64}, (_, i) => i % 10), 'int32')
    const {count} = await countDispatches(async () => {
      const g = tf.grad((x: tf.Tensor) => crossEntropy(x as tf.Tensor2D, labels).loss)(logits)
      await g.data()
      g.dispose()
    })
    assert.deepEqual(count.byProgram.filter(([name]) => name !== 'FillProgram').map(([name, n]) => [name, n]).sort(), [['MixtureSoftmaxXent', 1], ['MixtureSoftmaxXentGrad', 1]])
    tf.dispose([logits, labels])
  })

  it('recording caches: a repeated step reuses its bind groups and gives the same numbers', async () => {
    const {recordingStats} = await import('../../../src/backends/webgpu/record.js')
    await tf.setBackend('webgpu')
    const backend = tf.backend() as unknown as WebgpuBackendInternals
    const before = recordingStats(backend)
    if (!before) return // MIXTURE_WEBGPU_CACHE=0
    const w = tf.variable(tf.tensor(series(64 * 32, (i) => Math.sin(i)), [64, 32]))
    const x = tf.tensor(series(16 * 64, (i) => Math.cos(i * 0.2)), [16, 64])
    const step = async () => {
      const g = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.relu(tf.matMul(x, v))))(w))
      const out = await g.data()
      g.dispose()
      return out
    }
    const first = await step()
    for (let i = 0; i < 3; i++) await step()
    const mid = recordingStats(backend)!
    const last = await step()
    const after = recordingStats(backend)!
    assert.ok(after.hits > mid.hits, `cache hits ${mid.hits} → ${after.hits}`)
    assert.equal(after.misses, mid.misses, 'no new bind groups once the step repeats')
    assert.deepEqual(last, first)
    tf.dispose([w, x])
  })

  it('MixtureStridedMatMul: strided, transposed and split-k products match the reference', async () => {
    const {countDispatches} = await import('../../../src/backends/webgpu/dispatches.js')
    const {stridedMatMulReference, kSplits, installStridedMatMul} = await import('../../../src/backends/webgpu/kernels/strided-matmul.js')
    // The kernel itself, whether or not MIXTURE_WEBGPU_ATTENTION=0 kept it from the attention layers.
    installStridedMatMul()
    // (batch 2, heads 3) products out of packed rows, as attention uses them.
    const cases = [
      {I: 70, J: 33, K: 16, rowA: 3 * 48, rowB: 3 * 48, aT: false, bT: true},
      {I: 5, J: 16, K: 1500, rowA: 1500, rowB: 96, aT: false, bT: false},
      {I: 1500, J: 16, K: 9, rowA: 1500, rowB: 48, aT: true, bT: false},
    ]
    for (const c of cases) {
      const batch = 2
      const heads = 3
      const d = 16
      // A: rows of length rowA, a head's block at h·d (features) or h·I·K (full matrices)
      const aView = c.aT ? [0, heads * c.K * c.I, c.K * c.I, 1, c.I] : c.rowA === c.K ? [0, heads * c.I * c.K, c.I * c.K, c.K, 1] : [d, c.I * c.rowA, d, c.rowA, 1]
      const bView = c.bT ? [2 * d, c.J * c.rowB, d, 1, c.rowB] : [0, c.K * c.rowB, d, c.rowB, 1]
      const aSize = c.aT || c.rowA === c.K ? batch * heads * c.I * c.K : batch * c.I * c.rowA
      const bSize = c.bT ? batch * c.J * c.rowB : batch * c.K * c.rowB
      const A = series(aSize, (i) => Math.sin(i * 0.37))
      const Bm = series(bSize, (i) => Math.cos(i * 0.21))
      const attrs = {I: c.I, J: c.J, K: c.K, batch, heads, alpha: 0.5, outShape: [batch, c.I, heads * c.J], aView, bView, cView: [c.I * heads * c.J, c.J, heads * c.J, 1]}
      await tf.setBackend('webgpu')
      const a = tf.tensor(A)
      const b = tf.tensor(Bm)
      const {result, count} = await countDispatches(async () => {
        const out = tf.engine().runKernel('MixtureStridedMatMul', {a, b}, attrs as unknown as tf.NamedAttrMap) as tf.Tensor
        const data = (await out.data()) as Float32Array
        out.dispose()
        return data
      })
      tf.dispose([a, b])
      const want = stridedMatMulReference(A, Bm, attrs)
      const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
      assert.ok(maxDiff(result, want) < 1e-5 * scale * Math.sqrt(c.K), `${JSON.stringify(c)}: ${maxDiff(result, want)} of ${scale}`)
      assert.equal(count.dispatches, kSplits(c.I, c.J, c.K, batch * heads) > 1 ? 2 : 1, JSON.stringify(count.byProgram))
    }
    assert.ok(kSplits(5, 16, 1500, 6) > 1, 'the long-k case splits')
  })

  it('attention as strided products: outputs and gradients equal the split/transpose composite on cpu', async () => {
    ;(await import('../../../src/backends/webgpu/kernels/strided-matmul.js')).installStridedMatMul()
    const {AttentionCore} = await import('../../../src/layers/attention.js')
    const {countDispatches} = await import('../../../src/backends/webgpu/dispatches.js')
    const heads = 2
    const d = 8
    const inner = heads * d
    for (const cross of [false, true]) {
      const B = 2
      const N = cross ? 5 : 37
      const M = cross ? 1100 : N
      const core = new AttentionCore({heads, dimHead: d})
      const qs = series(B * N * (cross ? inner : 3 * inner), (i) => Math.sin(i * 0.13))
      const kvs = series(B * M * 2 * inner, (i) => Math.cos(i * 0.07))
      const ws = series(B * N * inner, (i) => Math.sin(i * 0.5))
      const make = () => (cross ? [tf.tensor(qs, [B, N, inner]), tf.tensor(kvs, [B, M, 2 * inner])] : [tf.tensor(qs, [B, N, 3 * inner])])
      const run = () => {
        const xs = make()
        const w = tf.tensor(ws, [B, N, inner])
        const f = (...t: tf.Tensor[]) => tf.sum(tf.mul(core.call(cross ? t : t[0]) as tf.Tensor, w))
        const y = core.call(cross ? xs : xs[0]) as tf.Tensor
        const grads = tf.grads(f)(xs)
        return [y, ...grads]
      }
      const {cpu, gpu} = await onBoth(run)
      cpu.forEach((want, k) => {
        const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
        assert.ok(maxDiff(gpu[k], want) < 1e-5 * Math.max(1, scale), `${cross ? 'cross' : 'self'} output ${k}: ${maxDiff(gpu[k], want)} of ${scale}`)
      })
      await tf.setBackend('webgpu')
      const xs = make()
      const {count} = await countDispatches(async () => {
        const y = core.call(cross ? xs : xs[0]) as tf.Tensor
        await y.data()
        y.dispose()
      })
      tf.dispose(xs)
      assert.ok(!count.byProgram.some(([name]) => /Transpose|Slice/.test(name)), `no transposes or slices: ${JSON.stringify(count.byProgram)}`)
    }
  })

  it('Conv2DBackpropInput: stride 1 as a forward convolution of the flipped filter (1×1 as a product), the rest tiled; all match cpu', async () => {
    const cases: ConvCase[] = [
      {x: [2, 50, 50, 6], f: [3, 3, 6, 5], s: 1, p: 'same'},
      {x: [1, 64, 48, 4], f: [3, 3, 4, 8], s: 2, p: 'same'},
      {x: [2, 49, 49, 3], f: [5, 5, 3, 4], s: 1, p: 'valid'},
      {x: [2, 12, 12, 5], f: [3, 3, 5, 7], s: 1, p: 'same'},
      {x: [2, 10, 10, 8], f: [1, 1, 8, 12], s: 1, p: 'valid'},
      {x: [1, 9, 9, 4], f: [4, 4, 4, 4], s: 1, p: 'same'},
      {x: [1, 8, 8, 4], f: [3, 3, 4, 4], s: 1, p: 3},
    ]
    const programs = await convGradCases(cases, 'x')
    const threshold = Number(process.env.MIXTURE_WEBGPU_CONV_INPUT_MM ?? 0)
    const forward = process.env.MIXTURE_WEBGPU_CONV_INPUT_FORWARD !== '0'
    const seen = [...programs].join(', ')
    assert.equal(programs.has('MixtureFlipFilter'), forward, seen)
    if (forward) assert.ok(programs.has('Conv2DMMProgram'), seen)
    // Stride 2, and a padding wider than the filter, stay on tfjs's transposed-convolution programs.
    if (threshold >= 0) assert.ok(programs.has('Conv2DDerInputMMProgram'), seen)
    if (threshold > 144) assert.ok(programs.has('Conv2DDerInputProgram'), seen)
  })

  it('large products (BatchMatMul, _FusedMatMul with bias/ReLU): the 128×128-tile kernel, split k, every transpose; small or odd ones stay with tfjs; all match cpu', async () => {
    const on = process.env.MIXTURE_WEBGPU_MATMUL !== '0' && process.env.MIXTURE_WEBGPU_FUSED !== '0'
    interface Case {
      a: number[]
      b: number[]
      tA?: boolean
      tB?: boolean
      bias?: boolean
      relu?: boolean
      /** the program expected when the kernel is on */
      /** ours: the kernel, split or not as `gemmPlan` says; split: the kernel with k split; tfjs: not the kernel */
      expect: 'ours' | 'split' | 'tfjs'
    }
    const cases: Case[] = [
      // partial tiles on both sides, k not a multiple of 16 (each at least 2^24 multiply-adds)
      {a: [260, 260], b: [260, 300], expect: 'ours'},
      {a: [260, 260], b: [300, 260], tA: true, tB: true, expect: 'ours'},
      {a: [3, 196, 228], b: [3, 228, 136], expect: 'ours'},
      // one operand without a batch (broadcast), transposes
      {a: [2, 200, 256], b: [256, 200], expect: 'ours'},
      {a: [256, 200], b: [2, 200, 256], tA: true, tB: true, expect: 'ours'},
      // fused bias and ReLU (a Dense layer's forward)
      {a: [520, 180], b: [180, 192], bias: true, relu: true, expect: 'ours'},
      {a: [264, 256], b: [256, 256], bias: true, expect: 'ours'},
      {a: [264, 256], b: [256, 256], relu: true, expect: 'ours'},
      // outputs at most 64 wide: 128 × 64 tiles
      {a: [1040, 256], b: [256, 64], bias: true, expect: 'ours'},
      {a: [2, 600, 256], b: [2, 64, 256], tB: true, expect: 'ours'},
      // any number of rows (tokens × batch) where they are not the contiguous extent
      {a: [1030, 128], b: [128, 128], expect: 'ours'},
      {a: [2, 257, 256], b: [256, 256], tB: true, expect: 'ours'},
      // a weight gradient: few tiles, long k (any length) -> k split, then summed
      {a: [2050, 96], b: [2050, 96], tA: true, expect: 'split'},
      // too small a product, too small a side, or a contiguous extent not a multiple of 4
      {a: [128, 128], b: [128, 128], expect: 'tfjs'},
      {a: [4096, 1024], b: [1024, 10], expect: 'tfjs'},
      {a: [256, 258], b: [258, 256], expect: 'tfjs'},
      {a: [258, 258], b: [258, 256], tA: true, expect: 'tfjs'},
    ]
    for (const c of cases) {
      const av = series(tf.util.sizeFromShape(c.a), (i) => Math.sin(i * 0.37) + 0.1 * (i % 5))
      const bv = series(tf.util.sizeFromShape(c.b), (i) => Math.cos(i * 0.23 + (i % 7)) - 0.05 * (i % 3))
      const N = c.tB ? c.b[c.b.length - 2] : c.b[c.b.length - 1]
      const biasV = series(N, (i) => 0.3 - 0.01 * i)
      const product = (): tf.Tensor => {
        const a = tf.tensor(av, c.a)
        const b = tf.tensor(bv, c.b)
        const bias = c.bias ? tf.tensor(biasV) : undefined
        const out =
          c.bias || c.relu
            ? tf.fused.matMul({a, b, transposeA: c.tA, transposeB: c.tB, bias, activation: c.relu ? 'relu' : 'linear'})
            : tf.matMul(a, b, c.tA, c.tB)
        tf.dispose([a, b, ...(bias ? [bias] : [])])
        return out
      }
      const {cpu, programs, dispatches} = await anyWorkgroups(() => againstCpu(JSON.stringify(c), product))
      if (c.relu) assert.ok(cpu.some((v) => v === 0) && cpu.some((v) => v > 0), `${JSON.stringify(c)}: ReLU clips some outputs and keeps others`)
      const ours = programs.filter((p) => p.startsWith('MixtureMatMul'))
      if (!on || c.expect === 'tfjs') assert.deepEqual(ours, [], `${JSON.stringify(c)} stays with tfjs: ${programs.join(', ')}`)
      else {
        const M = c.tA ? c.a[c.a.length - 1] : c.a[c.a.length - 2]
        const K = c.tA ? c.a[c.a.length - 2] : c.a[c.a.length - 1]
        const batch = Math.max(tf.util.sizeFromShape(c.a.slice(0, -2)), tf.util.sizeFromShape(c.b.slice(0, -2)))
        const plan = await anyWorkgroups(async () => gemmPlan({M, N, K, batch}, !!c.tA, !!c.tB, !c.bias && !c.relu && batch === 1))
        assert.ok(plan && (c.expect !== 'split' || plan.splits > 1), `${JSON.stringify(c)}: ${JSON.stringify(plan)}`)
        assert.ok(programs.includes(plan.splits > 1 ? 'MixtureMatMulPartial' : 'MixtureMatMul'), `${JSON.stringify(c)}: ${programs.join(', ')}`)
        assert.equal(dispatches, plan.splits > 1 ? 2 : 1, `${JSON.stringify(c)}: ${programs.join(', ')}`)
      }
    }
  })

  it('small outputs over a long k (weight gradients over every token): the strided kernel with k split, not tfjs\'s split-K; all match cpu', async () => {
    const on = process.env.MIXTURE_WEBGPU_MATMUL !== '0' && process.env.MIXTURE_WEBGPU_FUSED !== '0' && process.env.MIXTURE_WEBGPU_LONG_K !== '0'
    const cases: {a: number[]; b: number[]; tA?: boolean; tB?: boolean; ours: boolean}[] = [
      // a Dense layer's weight gradient Xᵀ·dY over 6,000 tokens with 29 input features (the Perceiver's)
      {a: [6000, 29], b: [6000, 128], tA: true, ours: true},
      // a side under 64, the other operand transposed, k not a multiple of 16
      {a: [64, 4099], b: [30, 4099], tB: true, ours: true},
      // batched, and one operand without a batch (broadcast)
      {a: [2, 3000, 20], b: [2, 3000, 40], tA: true, ours: true},
      {a: [2, 3000, 20], b: [3000, 40], tA: true, ours: true},
      // k too short to split, or an output large enough to fill the GPU unsplit
      {a: [1000, 29], b: [1000, 128], tA: true, ours: false},
      {a: [3000, 1024], b: [3000, 300], tA: true, ours: false},
    ]
    for (const c of cases) {
      const av = series(tf.util.sizeFromShape(c.a), (i) => Math.sin(i * 0.37) + 0.1 * (i % 5))
      const bv = series(tf.util.sizeFromShape(c.b), (i) => Math.cos(i * 0.23 + (i % 7)) - 0.05 * (i % 3))
      const product = (): tf.Tensor => {
        const a = tf.tensor(av, c.a)
        const b = tf.tensor(bv, c.b)
        const out = tf.matMul(a, b, c.tA, c.tB)
        tf.dispose([a, b])
        return out
      }
      const {programs} = await againstCpu(JSON.stringify(c), product)
      const strided = programs.filter((p) => p.startsWith('MixtureStridedMatMul'))
      if (on && c.ours) {
        assert.deepEqual(strided.sort(), ['MixtureStridedMatMulPartial', 'MixtureStridedMatMulSum'], `${JSON.stringify(c)}: ${programs.join(', ')}`)
        assert.ok(!programs.includes('MatMulSplitKProgram'), `${JSON.stringify(c)}: ${programs.join(', ')}`)
      } else {
        assert.deepEqual(strided, [], `${JSON.stringify(c)} stays with tfjs: ${programs.join(', ')}`)
      }
    }
  })

  it('large NHWC convolutions (Conv2D, FusedConv2D, stride-1 input gradients) as implicit products on the 128×128-tile kernel; the rest stay with tfjs; all match cpu', async () => {
    const on = process.env.MIXTURE_WEBGPU_MATMUL !== '0' && process.env.MIXTURE_WEBGPU_FUSED !== '0'
    interface Case {
      x: number[]
      f: number[]
      s: number
      p: 'same' | 'valid' | number
      bias?: boolean
      relu?: boolean
      ours: boolean
      split?: boolean
    }
    const cases: Case[] = [
      {x: [2, 20, 20, 64], f: [3, 3, 64, 64], s: 1, p: 'same', ours: true},
      // partial tiles (M = 3·25·21, N = 68), stride 2, valid and explicit padding, 1×1, rectangular filter
      {x: [3, 49, 41, 36], f: [3, 3, 36, 68], s: 2, p: 'same', ours: true},
      {x: [2, 41, 40, 36], f: [3, 3, 36, 68], s: 2, p: 'same', ours: true}, // pads 1 row on top, no column on the left
      {x: [2, 17, 19, 40], f: [5, 3, 40, 132], s: 1, p: 'valid', ours: true},
      {x: [2, 16, 16, 48], f: [3, 3, 48, 64], s: 1, p: 2, ours: true},
      {x: [4, 24, 24, 128], f: [1, 1, 128, 256], s: 1, p: 'valid', ours: true},
      // a small map with many channels and no bias: k split, then summed
      {x: [1, 8, 8, 256], f: [3, 3, 256, 256], s: 1, p: 'same', ours: true, split: true},
      // fused bias and ReLU (a Conv2D layer's forward)
      {x: [2, 20, 20, 64], f: [3, 3, 64, 64], s: 1, p: 'same', bias: true, relu: true, ours: true},
      {x: [2, 20, 20, 64], f: [3, 3, 64, 64], s: 1, p: 'same', bias: true, ours: true},
      // 3 input channels, 32 or 3 output channels, a small product: tfjs
      {x: [4, 48, 48, 3], f: [3, 3, 3, 64], s: 1, p: 'same', ours: false},
      {x: [2, 48, 48, 64], f: [3, 3, 64, 32], s: 1, p: 'same', ours: false},
      {x: [1, 8, 8, 64], f: [3, 3, 64, 64], s: 1, p: 'same', ours: false},
    ]
    for (const c of cases) {
      const xv = series(tf.util.sizeFromShape(c.x), (i) => Math.sin(i * 0.37) + 0.1 * (i % 5))
      const fv = series(tf.util.sizeFromShape(c.f), (i) => Math.cos(i * 0.23 + (i % 7)) * 0.2)
      const bv = series(c.f[3], (i) => 0.3 - 0.01 * i)
      const conv = (): tf.Tensor => {
        const x = tf.tensor4d(xv, c.x as [number, number, number, number])
        const f = tf.tensor4d(fv, c.f as [number, number, number, number])
        const bias = c.bias ? tf.tensor(bv) : undefined
        const out =
          c.bias || c.relu
            ? tf.fused.conv2d({x, filter: f, strides: c.s, pad: c.p, bias, activation: c.relu ? 'relu' : 'linear'})
            : tf.conv2d(x, f, c.s, c.p)
        tf.dispose([x, f, ...(bias ? [bias] : [])])
        return out
      }
      const {cpu, programs, dispatches} = await anyWorkgroups(() => againstCpu(JSON.stringify(c), conv))
      if (c.relu) assert.ok(cpu.some((v) => v === 0) && cpu.some((v) => v > 0), `${JSON.stringify(c)}: ReLU clips some outputs and keeps others`)
      const info = tf.backend_util.computeConv2DInfo(c.x as [number, number, number, number], c.f as [number, number, number, number], c.s, 1, c.p as never)
      const shape = {M: info.batchSize * info.outHeight * info.outWidth, N: info.outChannels, K: info.filterHeight * info.filterWidth * info.inChannels, batch: 1}
      const plan = await anyWorkgroups(async () => gemmPlan(shape, false, false, !c.bias && !c.relu))
      const split = (plan?.splits ?? 1) > 1
      if (c.split) assert.ok(split, `${JSON.stringify(c)}: ${JSON.stringify(plan)}`)
      const ours = programs.filter((p) => p.startsWith('MixtureConv2D'))
      assert.deepEqual(ours, on && c.ours ? (split ? ['MixtureConv2DPartial', 'MixtureConv2DSum'] : ['MixtureConv2D']) : [], `${JSON.stringify(c)}: ${programs.join(', ')}`)
      if (on && c.ours) assert.equal(dispatches, split ? 2 : 1, programs.join(', '))
    }
    // the stride-1 input gradient runs as a forward convolution of the flipped filter: on this kernel too
    const programs = await anyWorkgroups(() => convGradCases([{x: [2, 20, 20, 64], f: [3, 3, 64, 68], s: 1, p: 'same'}], 'x'))
    if (on && process.env.MIXTURE_WEBGPU_CONV_INPUT_FORWARD !== '0') assert.ok(programs.has('MixtureConv2D') || programs.has('MixtureConv2DPartial'), [...programs].join(', '))
  })

  it("the product kernel's double-buffered form (MIXTURE_WEBGPU_GEMM_PIPELINE=1): the single-buffered form's values bit for bit, for products, convolutions and filter gradients", async () => {
    if (process.env.MIXTURE_WEBGPU_MATMUL === '0' || process.env.MIXTURE_WEBGPU_FUSED === '0' || process.env.MIXTURE_WEBGPU_GEMM_PIPELINE !== undefined) return
    const values = (n: number, seed: number): Float32Array => series(n, (i) => Math.sin(i * 0.37 + seed) + 0.1 * (i % (5 + seed)))
    const cases: {what: string; run: () => tf.Tensor; program: string}[] = [
      ...[
        {a: [260, 260], b: [260, 300]},
        {a: [260, 260], b: [300, 260], tA: true, tB: true},
        {a: [3, 196, 228], b: [3, 228, 136]},
        {a: [256, 200], b: [2, 200, 256], tA: true, tB: true},
        {a: [1040, 256], b: [256, 64], bias: true},
        {a: [520, 180], b: [180, 192], bias: true, relu: true},
        {a: [2050, 96], b: [2050, 96], tA: true},
      ].map((c) => ({
        what: JSON.stringify(c),
        program: 'MixtureMatMulPipelined',
        run: (): tf.Tensor =>
          tf.tidy(() => {
            const a = tf.tensor(values(tf.util.sizeFromShape(c.a), 1), c.a)
            const b = tf.tensor(values(tf.util.sizeFromShape(c.b), 2), c.b)
            const N = c.tB ? c.b[c.b.length - 2] : c.b[c.b.length - 1]
            return c.bias ? tf.fused.matMul({a, b, transposeA: c.tA, transposeB: c.tB, bias: tf.tensor(values(N, 3)), activation: c.relu ? 'relu' : 'linear'}) : tf.matMul(a, b, c.tA, c.tB)
          }),
      })),
      ...[
        {x: [3, 49, 41, 36], f: [3, 3, 36, 68], s: 2, p: 'same' as const},
        {x: [2, 17, 19, 40], f: [5, 3, 40, 132], s: 1, p: 'valid' as const},
        {x: [1, 8, 8, 256], f: [3, 3, 256, 256], s: 1, p: 'same' as const},
      ].flatMap((c) => {
        const x = (): tf.Tensor4D => tf.tensor4d(values(tf.util.sizeFromShape(c.x), 4), c.x as [number, number, number, number])
        const f = (): tf.Tensor4D => tf.tensor4d(values(tf.util.sizeFromShape(c.f), 5), c.f as [number, number, number, number])
        return [
          {what: `conv ${JSON.stringify(c)}`, program: 'MixtureConv2DPipelined', run: (): tf.Tensor => tf.tidy(() => tf.conv2d(x(), f(), c.s, c.p))},
          {
            what: `filter gradient ${JSON.stringify(c)}`,
            program: 'MixtureConv2DFilterPipelined',
            run: (): tf.Tensor => tf.tidy(() => tf.grad((w: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x(), w as tf.Tensor4D, c.s, c.p))))(f())),
          },
        ]
      }),
    ]
    const {countDispatches} = await import('../../../src/backends/webgpu/dispatches.js')
    await tf.setBackend('webgpu')
    const formRun = async (form: '0' | '1', c: (typeof cases)[number]): Promise<{values: Float32Array; programs: string[]}> => {
      process.env.MIXTURE_WEBGPU_GEMM_PIPELINE = form
      try {
        const {result, count} = await anyWorkgroups(() =>
          countDispatches(async () => {
            const out = c.run()
            const data = (await out.data()) as Float32Array
            out.dispose()
            return data
          }),
        )
        return {values: result, programs: count.byProgram.map(([name]) => name)}
      } finally {
        delete process.env.MIXTURE_WEBGPU_GEMM_PIPELINE
      }
    }
    for (const c of cases) {
      const single = await formRun('0', c)
      const double = await formRun('1', c)
      assert.ok(!single.programs.some((p) => p.includes('Pipelined')), `${c.what}: ${single.programs.join(', ')}`)
      assert.ok(double.programs.some((p) => p.startsWith(c.program)), `${c.what}: ${double.programs.join(', ')}`)
      assert.ok(single.values.some((v) => v !== 0), c.what)
      assert.deepEqual(double.values, single.values, c.what)
    }
  })

  it('an identity Transpose shares its buffer (no dispatch); others still transpose', async () => {
    const {countDispatches} = await import('../../../src/backends/webgpu/dispatches.js')
    await tf.setBackend('webgpu')
    const x = tf.tensor(series(12, (i) => i), [3, 4])
    const {result, count} = await countDispatches(async () => {
      const same = tf.transpose(x, [0, 1])
      const swapped = tf.transpose(x, [1, 0])
      const out = await Promise.all([same.data(), swapped.data()])
      tf.dispose([same, swapped])
      return out
    })
    assert.deepEqual(Array.from(result[0]), Array.from(series(12, (i) => i)))
    assert.deepEqual(Array.from(result[1]), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
    assert.equal(count.dispatches, 1)
    assert.deepEqual(Array.from(await x.data()), Array.from(series(12, (i) => i)), 'the input survives its identity transpose being disposed')
    x.dispose()
  })
})
