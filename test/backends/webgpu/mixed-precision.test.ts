/**
 * engine.precision mixed16 on WebGPU (src/backends/webgpu/precision.ts): the float16 rounding is
 * PyTorch's `x.half().float()` bit for bit (test/fixtures/torch/half.json, bench/torch/half_fixture.py);
 * every product and convolution — forward and both gradients, the project's kernels and tfjs's —
 * computes on float16 operands and gives float16 results, within one float16 step of the float32
 * products of the rounded operands (the sums run in another order); fp32 stays as it was; a device
 * without shader-f16 is refused, as is a backend that computes in float32 only; and a model trains
 * with the loss scaled, skipping a step whose gradients overflow; an interrupted run resumes to the
 * uninterrupted numbers and loss scale. Needs a WebGPU adapter with shader-f16 (lavapipe has it; MIXTURE_WEBGPU_ALLOW_SOFTWARE=1).
 */
import {after, describe} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {tf} from '../../../src/engine/tf.js'
import '../../../src/backends/cpu/index.js'
import {selectBackend} from '../../../src/engine/backend.js'
import {NonFiniteLossError, UsageError} from '../../../src/errors.js'
import {Trainer} from '../../../src/engine/trainer.js'
import {buildModel} from '../../../src/model/build.js'
import {setWebgpuAdapter, webgpuAdapterInfo} from '../../../src/backends/webgpu/adapter.js'
import {halfRound} from '../../../src/backends/webgpu/programs/half-round.js'
import {productPrecision, setProductPrecision} from '../../../src/backends/webgpu/precision.js'
import type {WebgpuBackendInternals} from '../../../src/backends/webgpu/runner.js'
import {countDispatches} from '../../../src/backends/webgpu/dispatches.js'
import {captureCalls, lastCapture, pinRoute, resetTuning} from '../../../src/backends/webgpu/tune.js'
import {stridedMatMul, stridedMatMulComposite} from '../../../src/ops/strided-matmul.js'
import {mixture, REPO, resolveObject, tempDir, values, writeSpec, TINY_CNN_SPEC} from '../../helpers.js'
import {runExperiment, type RunSummary} from '../../../src/run/experiment.js'
import {readCheckpoint} from '../../../src/run/checkpoint.js'
import {interrupted} from '../../run/helpers.js'
import {valuesAndPrograms, webgpuUnavailable} from '../paper-rows.js'
import {needing} from '../../require.js'

const {it} = needing('webgpu', await webgpuUnavailable('webgpu mixed-precision tests'))

/** Round to the nearest float16, ties to even, by arithmetic on doubles (another way than the shader's bit arithmetic). */
function toHalf(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x
  const a = Math.abs(x)
  if (a >= 65520) return Math.sign(x) * Infinity
  let e = Math.max(Math.floor(Math.log2(a)), -14)
  while (e > -14 && 2 ** e > a) e--
  while (2 ** (e + 1) <= a) e++
  const step = 2 ** (e - 10)
  const q = a / step
  let r = Math.floor(q)
  if (q - r > 0.5 || (q - r === 0.5 && r % 2 === 1)) r++
  return Math.sign(x) * r * step
}

const bits = (u: number[]) => new Float32Array(new Uint32Array(u).buffer)

/** `f` on webgpu in `precision` (the tests move between it and cpu, the reference). */
async function onWebgpu<T>(precision: 'fp32' | 'mixed16', f: () => T | Promise<T>): Promise<T> {
  await selectBackend('webgpu', {precision})
  await tf.setBackend('webgpu')
  try {
    return await f()
  } finally {
    await selectBackend('webgpu', {precision: 'fp32'})
  }
}

/**
 * The largest |a − b| beyond one float16 step of b, over the largest |b|: 0 where every element is
 * b or a float16 neighbour of it; small where sums in another order moved a result near zero.
 */
function beyondHalfStep(a: Float32Array, b: Float32Array): number {
  let worst = 0
  let scale = 0
  for (let i = 0; i < a.length; i++) {
    const e = Math.max(Math.floor(Math.log2(Math.abs(b[i]) || 2 ** -24)), -14)
    worst = Math.max(worst, Math.abs(a[i] - b[i]) - 2 ** (e - 10))
    scale = Math.max(scale, Math.abs(b[i]))
  }
  return worst / scale
}

/** A small mixed16 run on synthetic images with its loss scale starting at `init`; `parts` gives its model and train keys. */
function mixed16Spec(name: string, init: number, parts: {model: Record<string, unknown>; train: Record<string, unknown>}): Record<string, unknown> {
  return {
    name,
    seed: 4,
    data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 96, test: 32, classes: 3}},
    ...parts,
    engine: {backend: 'webgpu', precision: 'mixed16', loss_scale: {init, growth_interval: 3}, webgpu: {tune: false}},
  }
}

describe('webgpu: mixed16', () => {
  it("rounds to float16 as PyTorch's x.half().float() does, bit for bit", async () => {
    const fixture = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'torch', 'half.json'), 'utf8')) as {x: number[]; half: number[]}
    const x = bits(fixture.x)
    const torch = bits(fixture.half)
    // The test's own rounding first: the products below are checked with it.
    x.forEach((v, i) => assert.ok(Object.is(Math.fround(toHalf(v)), torch[i]) || (Number.isNaN(v) && Number.isNaN(torch[i])), `toHalf(${v}) = ${toHalf(v)}, torch ${torch[i]}`))
    const ours = await onWebgpu('mixed16', async () => {
      const backend = tf.backend() as unknown as WebgpuBackendInternals
      const input = tf.tensor1d(x)
      const info = halfRound(backend, input)
      const out = tf.engine().makeTensorFromTensorInfo(info)
      const data = (await out.data()) as Float32Array
      tf.dispose([input, out])
      return data
    })
    const mismatch = Array.from(x).findIndex((v, i) => !(Object.is(ours[i], torch[i]) || (Number.isNaN(ours[i]) && Number.isNaN(torch[i]))))
    assert.equal(mismatch, -1, mismatch >= 0 ? `x = ${x[mismatch]}: ours ${ours[mismatch]}, torch ${torch[mismatch]}` : '')
  })

  it('computes every product and convolution on float16 operands with float16 results; fp32 unchanged', async () => {
    type Operand = {data: Float32Array; shape: number[]}
    const operand = (shape: number[], seed: number, scale = 1): Operand => ({data: values(shape.reduce((p, q) => p * q, 1), seed).map((v) => Math.fround(v * scale)), shape})
    // 2^24 multiply-adds and more: the project's 128×128-tile kernel (on any number of workgroups: the switch below).
    const [a, b] = [operand([512, 256], 1), operand([256, 128], 2)]
    const small = [operand([6, 10], 3), operand([10, 7], 4)]
    const [x, w] = [operand([4, 16, 16, 64], 5), operand([3, 3, 64, 64], 6, 0.1)]
    const [q, k] = [operand([2, 8, 16], 7), operand([2, 8, 16], 8)]
    // What each case must have run on webgpu (a program name), where it matters which; 'MixtureHalfRound'
    // (the rounding passes around tfjs's programs) is there only where one of tfjs's products ran.
    const cases: [string, (...t: tf.Tensor[]) => tf.Tensor, Operand[], string?][] = [
      ['matMul (the project kernel)', (p, r) => tf.matMul(p as tf.Tensor2D, r as tf.Tensor2D), [a, b], 'MixtureMatMul'],
      ['matMul, small (in mixed16 the strided kernel, not tfjs)', (p, r) => tf.matMul(p as tf.Tensor2D, r as tf.Tensor2D), small, 'MixtureStridedMatMul'],
      ['depthwise convolution (tfjs)', (p, r) => tf.depthwiseConv2d(p as tf.Tensor4D, r as tf.Tensor4D, 1, 'same'), [operand([2, 6, 6, 8], 9), operand([3, 3, 8, 1], 10, 0.3)], 'MixtureHalfRound'],
      ['conv2d', (p, r) => tf.conv2d(p as tf.Tensor4D, r as tf.Tensor4D, 1, 'same'), [x, w], 'MixtureConv2D'],
      ['conv2d filter gradient', (p, r) => tf.grad((f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(p as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'))))(r), [x, w], 'MixtureConv2DFilter'],
      ['conv2d input gradient', (p, r) => tf.grad((i: tf.Tensor) => tf.sum(tf.conv2d(i as tf.Tensor4D, r as tf.Tensor4D, 1, 'same')))(p), [x, w]],
      ['conv2d input gradient, stride 2 (in mixed16 a transposed convolution, not tfjs)', (p, r) => tf.grad((i: tf.Tensor) => tf.sum(tf.conv2d(i as tf.Tensor4D, r as tf.Tensor4D, 2, 'same')))(p), [x, w], 'MixtureConv2DTransposed'],
      ['conv2d of a 3-channel image, 7×7, stride 2 (in mixed16 the narrow kernel, not tfjs)', (p, r) => tf.conv2d(p as tf.Tensor4D, r as tf.Tensor4D, 2, 'valid'), [operand([2, 21, 21, 3], 11), operand([7, 7, 3, 64], 12, 0.1)], 'MixtureConv2DNarrow'],
      ['conv2d to 3 channels (in mixed16 the narrow kernel, not tfjs)', (p, r) => tf.conv2d(p as tf.Tensor4D, r as tf.Tensor4D, 1, 'same'), [x, operand([3, 3, 64, 3], 13, 0.1)], 'MixtureConv2DNarrow'],
      ['attention scores (strided product)', (p, r) => (tf.getBackend() === 'webgpu' ? stridedMatMul : stridedMatMulComposite)(p, r, {I: 8, J: 8, K: 16, batch: 2, heads: 1, alpha: 0.25, outShape: [2, 8, 8], aView: [0, 128, 0, 16, 1], bView: [0, 128, 0, 1, 16], cView: [64, 0, 8, 1]}), [q, k]],
    ]
    /** `op` on the operands (rounded to float16 first with `round`), its result read back. */
    const run = async (op: (...t: tf.Tensor[]) => tf.Tensor, operands: Operand[], round = false): Promise<Float32Array> => {
      const inputs = operands.map((o) => tf.tensor(round ? o.data.map(toHalf) : o.data, o.shape))
      const out = op(...inputs)
      const data = (await out.data()) as Float32Array
      tf.dispose([...inputs, out])
      return data
    }
    const saved = process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS
    process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS = '1'
    after(() => {
      if (saved === undefined) delete process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS
      else process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS = saved
    })
    for (const [what, op, operands, program] of cases) {
      await tf.setBackend('cpu')
      const fp32 = await run(op, operands)
      // The reference: float32 products of the rounded operands, rounded. A gradient also rounds
      // the forward result and the incoming gradient, which the cpu reference does not: looser.
      const reference = (await run(op, operands, true)).map(toHalf)
      const gpu32 = await onWebgpu('fp32', () => run(op, operands))
      const {result: gpu16, count} = await onWebgpu('mixed16', () => countDispatches(() => run(op, operands)))
      const programs = count.byProgram.map(([name]) => name)
      if (program) assert.ok(programs.some((name) => name.startsWith(program)), `${what}: ${program} did not run (${programs.join(', ')})`)
      if (program !== 'MixtureHalfRound' && program) assert.ok(!programs.includes('MixtureHalfRound'), `${what}: the project's kernel left its rounding to passes (${programs.join(', ')})`)
      assert.ok(gpu16.every((v) => Object.is(Math.fround(toHalf(v)), v)), `${what}: a result is not a float16 value`)
      const off = beyondHalfStep(gpu16, reference)
      assert.ok(off <= (what.includes('gradient') ? 2 ** -8 : 2 ** -16), `${what}: ${off} (of the largest result) beyond a float16 step from the rounded operands' product`)
      assert.ok(gpu16.some((v, i) => v !== gpu32[i]), `${what}: mixed16 gave the float32 result`)
      const drift = Math.max(...Array.from(gpu32, (v, i) => Math.abs(v - fp32[i]))) / Math.max(...Array.from(fp32, Math.abs))
      assert.ok(drift < 1e-5, `${what}: fp32 on webgpu is ${drift} (of the largest result) from the cpu's float32 result`)
    }
  })

  it("the project's kernels round as they load and store: bit for bit rounding passes around the same kernel, on every route, k split or not", async () => {
    const conv = {strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1} as const
    const kernel = (name: string, inputNames: string[], attrs: object) => (...t: tf.Tensor[]) =>
      tf.engine().runKernel(name, Object.fromEntries(inputNames.map((n, i) => [n, t[i]])), attrs as tf.NamedAttrMap) as tf.Tensor
    const strided = (attrs: Parameters<typeof stridedMatMul>[2]) => (p: tf.Tensor, r: tf.Tensor) => stridedMatMul(p, r, attrs)
    // Each case is one kernel call; `routes`: what each route must run (a program name's beginning) —
    // the same kernel in both precisions (a plain product the rules leave to tfjs takes the strided
    // kernel on the project's route in mixed16 only, a convolution the 'wide' plan: their own routes here).
    const cases: {what: string; shapes: number[][]; run: (...t: tf.Tensor[]) => tf.Tensor; routes: Record<string, string>}[] = [
      {
        what: 'product, k split',
        shapes: [[264, 520], [520, 260]],
        run: (p, r) => tf.matMul(p as tf.Tensor2D, r as tf.Tensor2D),
        routes: {project: 'MixtureMatMulSum', nosplit: 'MixtureMatMul', pipelined: 'MixtureMatMulPipelinedSum', n256: 'MixtureMatMulN256Sum', strided: 'MixtureStridedMatMulSum', tfjs: 'MixtureHalfRound'},
      },
      {
        what: 'small product + bias + ReLU',
        shapes: [[24, 20], [20, 12], [12]],
        run: (p, r, c) => tf.fused.matMul({a: p as tf.Tensor2D, b: r as tf.Tensor2D, bias: c, activation: 'relu'}),
        routes: {strided: 'MixtureStridedMatMul', tfjs: 'MixtureHalfRound'},
      },
      {
        what: 'small transposed product + bias',
        shapes: [[20, 24], [12, 20], [12]],
        run: (p, r, c) => tf.fused.matMul({a: p as tf.Tensor2D, b: r as tf.Tensor2D, bias: c, transposeA: true, transposeB: true}),
        routes: {strided: 'MixtureStridedMatMul', tfjs: 'MixtureHalfRound'},
      },
      {what: 'small product, batch broadcast', shapes: [[3, 20, 12], [12, 9]], run: (p, r) => tf.matMul(p as tf.Tensor3D, r as tf.Tensor2D), routes: {strided: 'MixtureStridedMatMul', tfjs: 'MixtureHalfRound'}},
      {what: 'transposed product (wide)', shapes: [[128, 132], [136, 128]], run: (p, r) => tf.matMul(p as tf.Tensor2D, r as tf.Tensor2D, true, true), routes: {wide: 'MixtureMatMul', strided: 'MixtureStridedMatMul', tfjs: 'MixtureHalfRound'}},
      {
        what: 'product + bias + ReLU',
        shapes: [[260, 256], [256, 256], [256]],
        run: (p, r, c) => tf.fused.matMul({a: p as tf.Tensor2D, b: r as tf.Tensor2D, bias: c, activation: 'relu'}),
        routes: {project: 'MixtureMatMul', pipelined: 'MixtureMatMulPipelined', n256: 'MixtureMatMulN256', tfjs: 'MixtureHalfRound'},
      },
      // Not through tfjs: its program for this one (MatMulSplitKProgram) adds the slices with atomics,
      // in an order that changes from run to run, so no two runs of it agree bit for bit.
      {what: 'product over a long k, 30 × 20 (strided, k split)', shapes: [[4096, 30], [4096, 20]], run: (p, r) => tf.matMul(p as tf.Tensor2D, r as tf.Tensor2D, true), routes: {project: 'MixtureStridedMatMulSum'}},
      {what: 'convolution', shapes: [[2, 16, 16, 64], [3, 3, 64, 64]], run: kernel('Conv2D', ['x', 'filter'], conv), routes: {project: 'MixtureConv2D', nosplit: 'MixtureConv2D', tfjs: 'MixtureHalfRound'}},
      {
        what: 'convolution + bias + ReLU',
        shapes: [[2, 16, 16, 64], [3, 3, 64, 64], [64]],
        run: kernel('FusedConv2D', ['x', 'filter', 'bias'], {...conv, activation: 'relu'}),
        routes: {project: 'MixtureConv2D', pipelined: 'MixtureConv2DPipelined', tfjs: 'MixtureHalfRound'},
      },
      {what: 'convolution to 4 channels', shapes: [[2, 16, 16, 64], [3, 3, 64, 4]], run: kernel('Conv2D', ['x', 'filter'], conv), routes: {narrow: 'MixtureConv2DNarrow', wide: 'MixtureConv2D', tfjs: 'MixtureHalfRound'}},
      {
        what: 'filter gradient',
        shapes: [[2, 16, 16, 64], [2, 16, 16, 64]],
        run: kernel('Conv2DBackpropFilter', ['x', 'dy'], {...conv, filterShape: [3, 3, 64, 64]}),
        routes: {project: 'MixtureConv2DFilterSum', nosplit: 'MixtureConv2DFilter', '64x64': 'MixtureConv2DBackpropFilterSum', tfjs: 'MixtureHalfRound'},
      },
      {
        what: 'filter gradient to 4 channels',
        shapes: [[2, 16, 16, 64], [2, 16, 16, 4]],
        run: kernel('Conv2DBackpropFilter', ['x', 'dy'], {...conv, filterShape: [3, 3, 64, 4]}),
        routes: {project: 'MixtureConv2DBackpropFilter', narrow: 'MixtureConv2DFilterNarrow', tfjs: 'MixtureHalfRound'},
      },
      {
        what: 'input gradient (a forward convolution)',
        shapes: [[2, 16, 16, 64], [3, 3, 64, 64]],
        run: kernel('Conv2DBackpropInput', ['dy', 'filter'], {...conv, inputShape: [2, 16, 16, 64]}),
        routes: {project: 'MixtureConv2D', tfjs: 'MixtureHalfRound'},
      },
      {what: 'convolution of a 3-channel image, 7×7, stride 2', shapes: [[2, 21, 21, 3], [7, 7, 3, 64]], run: kernel('Conv2D', ['x', 'filter'], {...conv, strides: 2, pad: 'valid'}), routes: {narrow: 'MixtureConv2DNarrow', tfjs: 'MixtureHalfRound'}},
      {
        what: 'input gradient of a strided convolution',
        shapes: [[2, 8, 8, 64], [3, 3, 64, 64]],
        run: kernel('Conv2DBackpropInput', ['dy', 'filter'], {...conv, strides: 2, inputShape: [2, 16, 16, 64]}),
        routes: {dilated: 'MixtureConv2DTransposed', tfjs: 'MixtureHalfRound'},
      },
      {
        what: "the image's gradient through a strided first layer",
        shapes: [[2, 8, 8, 64], [7, 7, 3, 64]],
        run: kernel('Conv2DBackpropInput', ['dy', 'filter'], {...conv, strides: 2, pad: 'valid', inputShape: [2, 21, 21, 3]}),
        routes: {'dilated-narrow': 'MixtureConv2DNarrowTransposed', tfjs: 'MixtureHalfRound'},
      },
      {
        what: 'attention scores, α = 0.25 (strided)',
        shapes: [[2, 64, 96], [2, 64, 96]],
        run: strided({I: 64, J: 64, K: 16, batch: 2, heads: 2, alpha: 0.25, outShape: [2, 2, 64, 64], aView: [0, 64 * 96, 16, 96, 1], bView: [32, 64 * 96, 16, 1, 96], cView: [2 * 4096, 4096, 64, 1]}),
        routes: {project: 'MixtureStridedMatMul'},
      },
    ]
    const saved = process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS
    process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS = '1'
    after(() => {
      if (saved === undefined) delete process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS
      else process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS = saved
    })
    for (const c of cases) {
      const operands = c.shapes.map((shape, i) => values(tf.util.sizeFromShape(shape), 40 + i))
      /** The case on `operands` (rounded to float16 on the host first with `round`): its values read back, and the programs that ran. */
      const once = async (round: boolean) => {
        const inputs = operands.map((o, i) => tf.tensor(round && i < 2 ? o.map(toHalf) : o, c.shapes[i]))
        const {values: data, programs} = await valuesAndPrograms(() => c.run(...inputs))
        tf.dispose(inputs)
        return {values: data, programs: [...programs.keys()]}
      }
      try {
        await onWebgpu('fp32', async () => {
          const inputs = operands.map((o, i) => tf.tensor(o, c.shapes[i]))
          captureCalls(() => tf.dispose(tf.tidy(() => c.run(...inputs))))
          tf.dispose(inputs)
        })
        const calls = lastCapture()
        let first: {route: string; values: Float32Array} | undefined
        for (const [route, program] of Object.entries(c.routes)) {
          for (const {call} of calls) pinRoute(call, route)
          // The reference: the kernel on the same route in float32, on operands rounded on the host, its result rounded on the host.
          const exact = (await onWebgpu('fp32', () => once(true))).values
          // Every route computes the same product in float32 (sums in another order aside).
          first ??= {route, values: exact}
          const scale = first.values.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
          const apart = exact.reduce((m, v, i) => Math.max(m, Math.abs(v - first!.values[i])), 0)
          assert.ok(apart <= 1e-5 * scale, `${c.what}: route ${route} is ${apart} from route ${first.route} in float32 (values reach ${scale})`)
          const reference = exact.map(toHalf)
          const fused = await onWebgpu('mixed16', () => once(false))
          const where = `${c.what}, route ${route} (${fused.programs.join(', ')})`
          assert.ok(fused.programs.some((name) => name.startsWith(program)), `${where}: ${program} did not run`)
          const tfjs = program === 'MixtureHalfRound'
          assert.equal(fused.programs.includes('MixtureHalfRound'), tfjs, `${where}: ${tfjs ? "tfjs's program was not rounded by passes" : 'a rounding pass ran around a project kernel'}`)
          const at = fused.values.findIndex((v, i) => !Object.is(v, reference[i]))
          assert.equal(at, -1, at < 0 ? '' : `${where}: element ${at} is ${fused.values[at]}, rounding passes give ${reference[at]}`)
        }
      } finally {
        resetTuning()
      }
    }
  })

  it('refuses a device without shader-f16, and a backend that computes in float32 only', async () => {
    await selectBackend('webgpu')
    const info = webgpuAdapterInfo()!
    setWebgpuAdapter({...info, shaderF16: false})
    try {
      assert.throws(() => setProductPrecision('mixed16'), (e: Error) => e instanceof UsageError && /shader-f16/.test(e.message))
      assert.equal(productPrecision(), 'fp32')
    } finally {
      setWebgpuAdapter(info)
    }
    await assert.rejects(selectBackend('cpu', {precision: 'mixed16'}), (e: Error) => e instanceof UsageError && /computes in float32 only/.test(e.message))
    const dir = tempDir()
    const r = mixture(['run', writeSpec({...TINY_CNN_SPEC, engine: {backend: 'cpu', precision: 'mixed16'}}, dir), '--set', `output.dir=${join(dir, 'out')}`])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /engine\.precision: mixed16 needs the webgpu backend on an adapter with shader-f16; the cpu backend computes in float32 only/)
  })

  it('trains with the loss scaled, skipping a step whose gradients overflow', async () => {
    await onWebgpu('mixed16', async () => {
      const spec = resolveObject({name: 'mp', seed: 2, data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 8, test: 8, classes: 3}}, model: {type: 'mixture', components: [{type: 'cnn', channels: [8, 3]}, {type: 'vit', patch_size: 2, dim: 64, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32}], adapter: {type: 'token_image'}}})
      const built = buildModel(spec)
      const trainer = new Trainer(built.model, {lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0}, {lossScale: {init: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2}})
      const y = tf.tensor1d([0, 1, 2, 1], 'int32')
      const x = tf.tensor4d(values(4 * 8 * 8 * 3, 9), [4, 8, 8, 3])
      const huge = tf.mul(x, 1e30) as tf.Tensor4D
      const weights = () => Promise.all(built.model.trainableWeights.map(async (w) => (await w.read().data()) as Float32Array))
      const before = await weights()
      await trainer.trainStep(huge, y)
      const skipped = await weights()
      built.model.trainableWeights.forEach((w, i) => assert.deepEqual(skipped[i], before[i], `${w.originalName} changed in a skipped step`))
      for (let i = 0; i < 4; i++) await trainer.trainStep(x, y)
      assert.deepEqual(trainer.optimizerState().lossScaler, {scale: 131072, growth_tracker: 0, skipped_steps: 1})
      const m = await trainer.readMetrics()
      const after = await weights()
      assert.ok(after.some((w, i) => w.some((v, j) => v !== before[i][j])), 'the clean steps changed no weight')
      assert.equal(m.examples, 16, 'the skipped step is left out of the metric sums')
      assert.ok(Number.isFinite(m.loss))
      tf.dispose([x, y, huge])
      trainer.dispose()
      built.model.dispose()
    })
  })

  it('replays loss-scaled steps in two halves: the numbers of steps run through tfjs, an overflow and scale changes included', async () => {
    await onWebgpu('mixed16', async () => {
      const spec = resolveObject({name: 'mp-replay', seed: 3, data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 8, test: 8, classes: 3}}, model: {type: 'mixture', components: [{type: 'cnn', channels: [8, 3]}, {type: 'vit', patch_size: 2, dim: 64, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32}], adapter: {type: 'token_image'}}})
      const y = tf.tensor1d([0, 1, 2, 1], 'int32')
      const x = tf.tensor4d(values(4 * 8 * 8 * 3, 5), [4, 8, 8, 3])
      const huge = tf.mul(x, 1e30) as tf.Tensor4D
      // Clean steps (the scale doubles every 2), one whose gradients overflow (skipped, the scale halved) after replay has begun, more clean ones.
      const batches = [x, x, x, x, x, huge, x, x, x, x]
      const train = async (graph: boolean) => {
        const saved = process.env.MIXTURE_WEBGPU_GRAPH
        if (!graph) process.env.MIXTURE_WEBGPU_GRAPH = '0'
        try {
          const built = buildModel(spec)
          const trainer = new Trainer(built.model, {lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0}, {lossScale: {init: 256, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2}, maxGradNorm: 1})
          for (const batch of batches) await trainer.trainStep(batch, y)
          const state = trainer.optimizerState()
          const result = {
            weights: await Promise.all(built.model.weights.map(async (w) => Float32Array.from(await w.read().data()))),
            moments: await Promise.all([...state.groups.adam_m, ...state.groups.adam_v].map(async (t) => Float32Array.from(await t.data()))),
            scaler: state.lossScaler,
            metrics: await trainer.readMetrics(),
            replayed: trainer.replayedSteps,
            graphs: trainer.describeStepGraphs(),
          }
          trainer.dispose()
          built.model.dispose()
          return result
        } finally {
          if (saved === undefined) delete process.env.MIXTURE_WEBGPU_GRAPH
          else process.env.MIXTURE_WEBGPU_GRAPH = saved
        }
      }
      const direct = await train(false)
      const replayed = await train(true)
      assert.equal(direct.replayed, 0)
      assert.ok(replayed.replayed >= 5, `${replayed.replayed} steps replayed: ${replayed.graphs.join('; ')}`)
      assert.ok(replayed.graphs.some((g) => /loss-scaled backward/.test(g)) && replayed.graphs.some((g) => /loss-scaled update/.test(g)), replayed.graphs.join('; '))
      assert.deepEqual(direct.scaler, {scale: 2048, growth_tracker: 0, skipped_steps: 1})
      assert.deepEqual(replayed.scaler, direct.scaler)
      assert.deepEqual(replayed.metrics, direct.metrics)
      assert.equal(direct.metrics.examples, 36, 'the skipped step is left out of the metric sums')
      replayed.weights.forEach((w, i) => assert.deepEqual(w, direct.weights[i], `weight ${i}`))
      replayed.moments.forEach((m, i) => assert.deepEqual(m, direct.moments[i], `moment ${i}`))
      tf.dispose([x, y, huge])
    })
  })

  it('an interrupted mixed16 run resumes to exactly the uninterrupted numbers, checkpoint and loss scale', async () => {
    await resumesExactly({epochs: 4, batch_size: 16, metrics_every: 2})
  })

  it('with gradient accumulation too (GradScaler\'s way: one check per optimizer step)', async () => {
    await resumesExactly({epochs: 4, batch_size: 8, accumulate_grad_batches: 2, metrics_every: 2})
  })

  /** A mixed16 run of `train` whose steps overflow at first: trained straight, and interrupted in epoch 2 and resumed, to the same numbers, checkpoint and loss scale. */
  async function resumesExactly(train: Record<string, unknown>): Promise<void> {
    const dir = tempDir()
    // A scale of 2^20 overflows float16 in the first backward passes, and grows back every 3 clean steps: steps are skipped.
    const file = writeSpec(
      mixed16Spec('mp-resume', 1048576, {
        model: {type: 'mixture', components: [{type: 'cnn', channels: [8, 3]}, {type: 'vit', patch_size: 2, dim: 64, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32}], adapter: {type: 'token_image'}},
        train,
      }),
      dir,
    )
    const lines: string[] = []
    const full = (await runExperiment({spec: file, outDir: join(dir, 'full'), log: (m) => lines.push(m)})) as RunSummary
    assert.equal(full.status, 'completed')
    assert.equal(full.precision, 'mixed16')
    assert.ok(lines.some((l) => l.startsWith('precision: mixed16')), 'the run does not say its precision')
    const scaler = readCheckpoint(join(full.run_dir, 'last.ckpt')).meta.loss_scaler!
    assert.ok(scaler.skipped_steps > 0, 'no step was skipped: the test does not exercise the scaler')
    assert.ok(lines.some((l) => l.startsWith(`loss scale after epoch 4: ${scaler.scale}; ${scaler.skipped_steps} step(s) skipped`)), lines.join('\n'))
    const runDir = await interrupted(file, join(dir, 'cut'), /^epoch 2\/4/)
    const resumed = (await runExperiment({resume: runDir, log: () => {}})) as RunSummary
    assert.equal(resumed.status, 'completed')
    const rows = (d: string) => readFileSync(join(d, 'metrics.csv'), 'utf8').trim().split('\n').map((r) => r.split(',').slice(0, 5).join(','))
    assert.deepEqual(rows(runDir), rows(full.run_dir), 'every epoch, digit for digit')
    const [a, b] = [readCheckpoint(join(runDir, 'last.ckpt')), readCheckpoint(join(full.run_dir, 'last.ckpt'))]
    assert.deepEqual(a.meta.loss_scaler, b.meta.loss_scaler)
    for (const [name, values] of b.weights) assert.deepEqual(a.weights.get(name), values, name)
  }

  it('an epoch whose every step was skipped stops the run (it trained nothing; its loss was written as 0)', async () => {
    const dir = tempDir()
    // A scale of 1e30 overflows every step of a short epoch: halving 6 times is far from enough.
    const file = writeSpec(mixed16Spec('mp-skipped', 1e30, {model: {type: 'mixture', components: [{type: 'cnn', channels: [8, 3]}]}, train: {epochs: 2, batch_size: 16}}), dir)
    await assert.rejects(runExperiment({spec: file, outDir: join(dir, 'results'), log: () => {}}), (e: Error) => e instanceof NonFiniteLossError && /every step of epoch 1 was skipped: its gradients overflowed float16/.test(e.message))
  })
})
