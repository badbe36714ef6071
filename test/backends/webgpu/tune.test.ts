/**
 * Kernel-route tuning on WebGPU (src/backends/webgpu/tune.ts): the calls a captured step makes that
 * have a route of the project's are timed both ways and each takes the route chosen; either route
 * gives the same values; a Trainer tunes after its first step, and its later steps — recorded and
 * replayed with whichever routes were chosen — give the losses of a trainer that never tuned. Runs
 * wherever a WebGPU adapter is present (a software one with MIXTURE_WEBGPU_ALLOW_SOFTWARE=1);
 * skipped, with the loader's reason, elsewhere.
 */
import {after, afterEach, describe} from 'node:test'
import assert from 'node:assert/strict'
import {tf} from '../../../src/engine/tf.js'
import '../../../src/backends/cpu/index.js'
import {Trainer} from '../../../src/engine/trainer.js'
import {countDispatches} from '../../../src/backends/webgpu/dispatches.js'
import {buildModel} from '../../../src/model/build.js'
import {resolveObject, values} from '../../helpers.js'
import {assertClose, paperRows, valuesAndPrograms, webgpuUnavailable} from '../paper-rows.js'
import {needing} from '../../require.js'

// Without an adapter every test is registered as skipped (counted); MIXTURE_REQUIRE=webgpu makes it a failure.
const {skip: unavailable, it} = needing('webgpu', await webgpuUnavailable('webgpu kernel-tuning tests'))
const tune = unavailable ? undefined : await import('../../../src/backends/webgpu/tune.js')

// Small products take the project's kernel too, so that a product is among the tuned calls.
const savedMin = process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS
process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS = '1'
after(() => {
  if (savedMin === undefined) delete process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS
  else process.env.MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS = savedMin
})

/**
 * Gradients of a convolution and two products: a filter gradient (gemm.ts's kernel; '64x64' applies),
 * a stride-1 input gradient (a nested forward convolution), a product on the project's kernel, and
 * one 32 wide that its default rules leave to tfjs ('wide' applies).
 */
function step(x: tf.Tensor4D, filter: tf.Tensor4D, a: tf.Tensor2D, w: tf.Tensor2D, narrow: tf.Tensor2D): tf.Tensor[] {
  const f = (xx: tf.Tensor4D, ff: tf.Tensor4D, aa: tf.Tensor2D, ww: tf.Tensor2D, nn: tf.Tensor2D): tf.Tensor =>
    tf.addN([tf.sum(tf.square(tf.conv2d(xx, ff, 1, 'same'))), tf.sum(tf.square(tf.matMul(aa, ww))), tf.sum(tf.square(tf.matMul(aa, nn)))])
  return tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([x, filter, a, w, narrow])
}

function inputs(): [tf.Tensor4D, tf.Tensor4D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
  return [
    tf.tensor4d(values(2 * 16 * 16 * 64, 1), [2, 16, 16, 64]),
    tf.tensor4d(values(3 * 3 * 64 * 64, 2).map((v) => v * 0.1), [3, 3, 64, 64]),
    tf.tensor2d(values(256 * 256, 3), [256, 256]),
    tf.tensor2d(values(256 * 256, 4).map((v) => v * 0.1), [256, 256]),
    tf.tensor2d(values(256 * 32, 5).map((v) => v * 0.1), [256, 32]),
  ]
}

/** The step's gradients, and how often each of the project's programs ran. */
async function run(): Promise<{grads: Float32Array[]; programs: Map<string, number>}> {
  const args = inputs()
  const {result, count} = await countDispatches(() => tf.tidy(() => step(...args)))
  const grads = await Promise.all(result.map(async (t) => Float32Array.from(await t.data())))
  tf.dispose([...result, ...args])
  return {grads, programs: new Map(count.byProgram.filter(([name]) => name.startsWith('Mixture')))}
}

/** Dispatches of the programs whose names start with `prefix`. */
const ran = (programs: Map<string, number>, prefix: string): number => [...programs].reduce((n, [name, k]) => n + (name.startsWith(prefix) ? k : 0), 0)
const listed = (programs: Map<string, number>): string => [...programs].map(([name, k]) => `${name} ${k}`).join(', ')

describe('kernel-route tuning on WebGPU', () => {
  afterEach(() => tune!.resetTuning())

  it('times each call of a captured step through every route that applies and routes it as chosen; every route gives the same gradients', async () => {
    await tf.setBackend('webgpu')
    const plain = await run()
    for (const name of ['MixtureConv2D', 'MixtureConv2DFilter', 'MixtureFlipFilter', 'MixtureMatMul']) assert.ok(ran(plain.programs, name) > 0, `${name} among ${listed(plain.programs)}`)
    assert.equal(ran(plain.programs, 'MixtureConv2DBackpropFilter'), 0, listed(plain.programs))
    const args = inputs()
    tune!.captureCalls(() => tf.dispose(tf.tidy(() => step(...args))))
    tf.dispose(args)
    const outcome = await tune!.tuneKernels()
    const kernels = outcome.decided.map((d) => d.kernelName)
    for (const k of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul']) assert.ok(kernels.includes(k), `${k} among the tuned calls: ${kernels.join(', ')}`)
    assert.equal(outcome.skipped, 0)
    for (const d of outcome.decided) {
      const times = Object.values(d.times)
      assert.ok(d.error === undefined && 'project' in d.times && times.length >= 2, `${d.key}: ${JSON.stringify(d)}`)
      // Every route of the project's (k split another way, tfjs's sums, the double-buffered form) agrees with the default within the check's bound.
      assert.equal(d.rejected, undefined, `${d.key}: ${JSON.stringify(d.rejected)}`)
      assert.ok(times.every((t) => t > 0 && Number.isFinite(t)), `${d.key}: ${JSON.stringify(d.times)}`)
      const fastest = Math.min(...times)
      assert.equal(d.times[d.route], d.route === 'project' ? d.times.project : fastest, d.key)
      if (d.route !== 'project') assert.ok(fastest < 0.95 * d.times.project, `${d.key}: ${JSON.stringify(d.times)}`)
      else assert.ok(fastest >= 0.95 * d.times.project, `${d.key}: ${JSON.stringify(d.times)}`)
    }
    // The alternatives were timed where they apply: the 64 × 64 filter kernel, the narrow products on gemm.ts's kernel
    // (whose default route is tfjs's kernel, so that is not timed twice).
    assert.ok(outcome.decided.some((d) => d.kernelName === 'Conv2DBackpropFilter' && '64x64' in d.times), JSON.stringify(outcome.decided))
    const narrow = outcome.decided.filter((d) => d.kernelName === 'BatchMatMul' && 'wide' in d.times)
    assert.equal(narrow.length, 3, 'the narrow product, its input and weight gradients')
    for (const d of narrow) assert.ok(!('tfjs' in d.times), JSON.stringify(d))
    // The stride-1 input gradient runs a forward convolution: that nested call is timed before it.
    assert.equal(kernels.filter((k) => k === 'Conv2D').length, 2, kernels.join(', '))
    assert.ok(kernels.lastIndexOf('Conv2D') < kernels.indexOf('Conv2DBackpropInput'), kernels.join(', '))
    assert.match(tune!.describeTuning(outcome), new RegExp(`^${outcome.decided.length} product/convolution calls with a choice timed in [\\d.]+ s \\(and ${outcome.single} with one route\\); `))

    // Every tuned call pinned to one route: that route's programs run, and the gradients agree.
    const pinned = async (route: string): Promise<Awaited<ReturnType<typeof run>>> => {
      for (const d of outcome.decided) tune!.pinRoute(d, route)
      return run()
    }
    // Sums in another order: compared against the gradient's own scale.
    const scale = (g: Float32Array): number => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
    const agree = (label: string, grads: Float32Array[]): void =>
      grads.forEach((g, i) => assertClose(label, g, plain.grads[i], `gradient ${i}`, 1e-4, 1e-5 * scale(plain.grads[i]), "the project's routes"))
    const viaTfjs = await pinned('tfjs')
    for (const name of ['MixtureConv2D', 'MixtureFlipFilter', 'MixtureMatMul']) assert.equal(ran(viaTfjs.programs, name), 0, `${name} ran: ${listed(viaTfjs.programs)}`)
    agree('tfjs routes', viaTfjs.grads)
    const via64 = await pinned('64x64')
    assert.ok(ran(via64.programs, 'MixtureConv2DBackpropFilter') > 0 && ran(via64.programs, 'MixtureConv2DFilter') === 0, listed(via64.programs))
    agree('64x64 filter kernel', via64.grads)
    // The forward convolution, its input gradient and the filter gradient split k (few tiles): 'nosplit' runs them whole.
    assert.ok(outcome.decided.some((d) => d.kernelName === 'Conv2DBackpropFilter' && 'nosplit' in d.times), JSON.stringify(outcome.decided))
    const viaWhole = await pinned('nosplit')
    assert.equal(ran(viaWhole.programs, 'MixtureConv2DFilterPartial') + ran(viaWhole.programs, 'MixtureConv2DPartial'), 0, listed(viaWhole.programs))
    assert.ok(ran(viaWhole.programs, 'MixtureConv2DFilter') > 0 && ran(viaWhole.programs, 'MixtureConv2D') > 0, listed(viaWhole.programs))
    agree('unsplit', viaWhole.grads)
    const viaWide = await pinned('wide')
    assert.ok(ran(viaWide.programs, 'MixtureMatMul') >= ran(plain.programs, 'MixtureMatMul') + 3, `${listed(viaWide.programs)} vs ${listed(plain.programs)}`)
    agree('wide products', viaWide.grads)
    // The double-buffered form (lavapipe's 32 KiB of workgroup memory hold its tiles): timed for every call on the kernel, the same gradients bit for bit.
    assert.ok(outcome.decided.some((d) => d.kernelName === 'BatchMatMul' && 'pipelined' in d.times) && outcome.decided.some((d) => d.kernelName === 'Conv2DBackpropFilter' && 'pipelined' in d.times), JSON.stringify(outcome.decided))
    const viaPipelined = await pinned('pipelined')
    for (const name of ['MixtureConv2DPipelined', 'MixtureConv2DFilterPipelined', 'MixtureMatMulPipelined']) assert.ok(ran(viaPipelined.programs, name) > 0, `${name} among ${listed(viaPipelined.programs)}`)
    viaPipelined.grads.forEach((g, i) => assert.deepEqual(g, plain.grads[i], `gradient ${i}: the double-buffered kernel's sums are the single-buffered one's`))
    const viaProject = await pinned('project')
    assert.deepEqual(viaProject.programs, plain.programs)
    viaProject.grads.forEach((g, i) => assert.deepEqual(g, plain.grads[i], `gradient ${i}: the project's routes as before tuning`))
  })

  it("the 'wide' route (gemm.ts's kernel where its default rules leave a call to tfjs) and the 'narrow' kernels match cpu: narrow and small products, batched, transposed; convolutions with 32 or fewer output channels, their input and filter gradients; convolutions and filter gradients with 1 to 4 output channels; the image's 3-channel convolutions; strided input gradients ('dilated', 'dilated-narrow')", async () => {
    interface Case {
      what: string
      shapes: number[][]
      /** The loss whose gradients with respect to every input are compared (`forward`: its value). */
      loss: (...t: tf.Tensor[]) => tf.Tensor
      forward?: boolean
      /** The alternative pinned wherever it applies (default 'wide'). */
      route?: string
      /** Program name prefixes that must run on that route (none: the route must not apply anywhere). */
      programs: string[]
    }
    const square = (t: tf.Tensor): tf.Tensor => tf.sum(tf.square(t))
    /** A 'same' convolution with bias and ReLU fused (its forward: under gradients tfjs fuses only a linear activation). */
    const reluConv = (x: tf.Tensor, f: tf.Tensor, bias: tf.Tensor): tf.Tensor => tf.fused.conv2d({x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same', bias, activation: 'relu'})
    const cases: Case[] = [
      {what: 'product 40×12 · 12×32', shapes: [[40, 12], [12, 32]], loss: (a, b) => square(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D)), programs: ['MixtureMatMul']},
      {what: 'batched', shapes: [[2, 50, 20], [2, 20, 8]], loss: (a, b) => square(tf.matMul(a, b)), programs: ['MixtureMatMul']},
      // rows of 10 and 30 values cannot be read as vec4: 'wide' applies to none of its three products
      {what: 'product 40×10 · 10×30', shapes: [[40, 10], [10, 30]], loss: (a, b) => square(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D)), programs: []},
      {what: 'transposed operands', shapes: [[24, 36], [8, 24]], loss: (a, b) => square(tf.matMul(a, b, true, true)), programs: ['MixtureMatMul']},
      {what: 'conv 3×3 32→32, same', shapes: [[2, 12, 12, 32], [3, 3, 32, 32]], loss: (x, f) => square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')), programs: ['MixtureConv2D', 'MixtureConv2DFilter', 'MixtureFlipFilter']},
      {what: 'conv 3×3 16→8, stride 2, valid', shapes: [[2, 13, 13, 16], [3, 3, 16, 8]], loss: (x, f) => square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'valid')), programs: ['MixtureConv2D', 'MixtureConv2DFilter']},
      {
        what: 'fused conv 1×1 16→4 with bias and ReLU',
        shapes: [[1, 9, 9, 16], [1, 1, 16, 4], [4]],
        loss: (x, f, bias) => square(tf.fused.conv2d({x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same', bias, activation: 'relu'})),
        programs: ['MixtureConv2D'],
      },
      // 'narrow': convolutions and filter gradients with at most 8 output channels (the CNN stack's 128→3 layer)
      {what: 'conv 3×3 32→3, same', shapes: [[2, 12, 12, 32], [3, 3, 32, 3]], loss: (x, f) => square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')), route: 'narrow', programs: ['MixtureConv2DNarrow', 'MixtureConv2DFilterNarrow']},
      {what: 'conv 3×3 8→2, stride 2, same (padding on one side)', shapes: [[2, 12, 11, 8], [3, 3, 8, 2]], loss: (x, f) => square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same')), route: 'narrow', programs: ['MixtureConv2DNarrow', 'MixtureConv2DFilterNarrow']},
      // under gradients tfjs fuses only a linear activation; the forward alone keeps the ReLU fused
      {
        what: 'fused conv 1×1 16→4 with bias, narrow',
        shapes: [[1, 9, 9, 16], [1, 1, 16, 4], [4]],
        loss: (x, f, bias) => square(tf.fused.conv2d({x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same', bias})),
        route: 'narrow',
        programs: ['MixtureConv2DNarrow', 'MixtureConv2DFilterNarrow'],
      },
      {what: 'fused conv 3×3 16→4 with bias and ReLU, forward, narrow', shapes: [[2, 9, 9, 16], [3, 3, 16, 4], [4]], loss: reluConv, forward: true, route: 'narrow', programs: ['MixtureConv2DNarrow']},
      {what: 'conv 7×7 3→4, stride 2, valid', shapes: [[3, 21, 21, 3], [7, 7, 3, 4]], loss: (x, f) => square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'valid')), route: 'narrow', programs: ['MixtureConv2DFilterNarrow']},
      {
        what: 'conv 3×3 8→1 over 6,400 pixels (k split, then summed)',
        shapes: [[4, 40, 40, 8], [3, 3, 8, 1]],
        loss: (x, f) => square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')),
        route: 'narrow',
        programs: ['MixtureConv2DFilterNarrow', 'MixtureConv2DFilterNarrowSum'],
      },
      {what: 'conv 3×3 12→16 (too wide for it, its input gradient too)', shapes: [[2, 10, 10, 12], [3, 3, 12, 16]], loss: (x, f) => square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')), route: 'narrow', programs: []},
      // …and the image's convolutions (3 input channels: one channel at a time, output channels in groups)
      {what: 'conv 7×7 3→64, stride 2, valid (8 groups of 8)', shapes: [[2, 21, 21, 3], [7, 7, 3, 64]], loss: (x, f) => square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'valid')), route: 'narrow', programs: ['MixtureConv2DNarrow']},
      {what: 'fused conv 3×3 3→12 with bias and ReLU, forward (2 groups of 6)', shapes: [[2, 9, 9, 3], [3, 3, 3, 12], [12]], loss: reluConv, forward: true, route: 'narrow', programs: ['MixtureConv2DNarrow']},
      {what: 'conv 3×3 6→10, same (2 groups of 5; its input gradient 10→6 too)', shapes: [[2, 8, 9, 6], [3, 3, 6, 10]], loss: (x, f) => square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')), route: 'narrow', programs: ['MixtureConv2DNarrow']},
      // 'dilated', 'dilated-narrow': a strided convolution's input gradient as the forward convolution of dy read dilated
      {what: 'conv 3×3 16→64, stride 2, same: input gradient', shapes: [[2, 12, 12, 16], [3, 3, 16, 64]], loss: (x, f) => square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same')), route: 'dilated', programs: ['MixtureConv2DTransposed']},
      {what: 'conv 3×3 8→16, stride 2, same, 11 × 12 (padding on one side)', shapes: [[2, 11, 12, 8], [3, 3, 8, 16]], loss: (x, f) => square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same')), route: 'dilated', programs: ['MixtureConv2DTransposed']},
      {what: 'conv 1×1 8→32, stride 2, valid (rows and columns no output reads)', shapes: [[2, 13, 13, 8], [1, 1, 8, 32]], loss: (x, f) => square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'valid')), route: 'dilated', programs: ['MixtureConv2DTransposed']},
      {what: 'conv 5×5 4→8, stride 3, valid, 17 × 16', shapes: [[2, 17, 16, 4], [5, 5, 4, 8]], loss: (x, f) => square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 3, 'valid')), route: 'dilated', programs: ['MixtureConv2DTransposed']},
      {what: 'conv 7×7 3→16, stride 2, valid: the image gradient', shapes: [[2, 21, 21, 3], [7, 7, 3, 16]], loss: (x, f) => square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'valid')), route: 'dilated-narrow', programs: ['MixtureConv2DNarrowTransposed']},
      {what: 'conv 3×3 8→16, stride 1 (a Conv2D call: no dilated route)', shapes: [[2, 10, 10, 8], [3, 3, 8, 16]], loss: (x, f) => square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')), route: 'dilated', programs: []},
    ]
    for (const c of cases) {
      const data = c.shapes.map((shape, k) => values(tf.util.sizeFromShape(shape), 10 + k))
      const grads = (): tf.Tensor[] => {
        const ts = c.shapes.map((shape, k) => tf.tensor(data[k], shape))
        const out = c.forward ? [c.loss(...ts)] : tf.grads(c.loss)(ts)
        tf.dispose(ts)
        return out
      }
      await tf.setBackend('cpu')
      const cpu = await Promise.all(tf.tidy(grads).map(async (t) => {
        const v = Float32Array.from(await t.data())
        t.dispose()
        return v
      }))
      await tf.setBackend('webgpu')
      try {
        tune!.captureCalls(() => tf.dispose(tf.tidy(grads)))
        const outcome = await tune!.tuneKernels()
        const route = c.route ?? 'wide'
        const applies = outcome.decided.filter((d) => route in d.times)
        assert.equal(applies.length > 0, c.programs.length > 0, `${c.what}: ${JSON.stringify(outcome.decided)}`)
        // The others (a stride-1 input gradient, whose nested convolution is a 'wide' one) on the project's route.
        for (const d of outcome.decided) tune!.pinRoute(d, route in d.times ? route : 'project')
        const {result, count} = await countDispatches(async () => {
          const out = tf.tidy(grads)
          const v = await Promise.all(out.map(async (t) => Float32Array.from(await t.data())))
          tf.dispose(out)
          return v
        })
        const programs = new Map(count.byProgram)
        for (const p of c.programs) assert.ok(ran(programs, p) > 0, `${c.what}: ${p} among ${listed(programs)}`)
        result.forEach((g, i) => {
          const scale = cpu[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0)
          assertClose(`${c.what}, ${route}`, g, cpu[i], `gradient ${i}`, 1e-4, 4e-5 * scale, 'cpu')
        })
      } finally {
        tune!.resetTuning()
      }
    }
  })

  it("'split': a product the rules leave unsplit (256 output tiles), split along k; the same values", async () => {
    await tf.setBackend('webgpu')
    const av = values(8192 * 512, 21)
    const bv = values(512 * 512, 22)
    const product = () => valuesAndPrograms(() => tf.matMul(tf.tensor2d(av, [8192, 512]), tf.tensor2d(bv, [512, 512])))
    try {
      const plain = await product()
      assert.ok(ran(plain.programs, 'MixtureMatMul') === 1 && ran(plain.programs, 'MixtureMatMulPartial') === 0, listed(plain.programs))
      const a = tf.tensor2d(av, [8192, 512])
      const b = tf.tensor2d(bv, [512, 512])
      tune!.captureCalls(() => tf.dispose(tf.matMul(a, b)))
      tf.dispose([a, b])
      const outcome = await tune!.tuneKernels()
      assert.equal(outcome.decided.length, 1)
      assert.deepEqual(Object.keys(outcome.decided[0].times).sort(), ['n256', 'pipelined', 'project', 'split', 'strided', 'tfjs'])
      tune!.pinRoute(outcome.decided[0], 'split')
      const split = await product()
      assert.ok(ran(split.programs, 'MixtureMatMulPartial') === 1 && ran(split.programs, 'MixtureMatMulSum') === 1, listed(split.programs))
      const scale = plain.values.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
      assertClose('split', split.values, plain.values, 'product', 1e-4, 1e-5 * scale, 'unsplit')
    } finally {
      tune!.resetTuning()
    }
  })

  it('an adapter without timestamp queries: the routes are timed by wall time to completion', async () => {
    await tf.setBackend('webgpu')
    const backend = tf.backend() as unknown as {supportTimestampQuery?: boolean}
    const saved = backend.supportTimestampQuery
    backend.supportTimestampQuery = false
    const args = inputs()
    try {
      tune!.captureCalls(() => tf.dispose(tf.tidy(() => step(...args))))
      const outcome = await tune!.tuneKernels()
      assert.ok(outcome.decided.length >= 3)
      for (const d of outcome.decided) assert.ok(Object.values(d.times).every((t) => t > 0 && Number.isFinite(t)) && !d.error, JSON.stringify(d))
    } finally {
      backend.supportTimestampQuery = saved
      tf.dispose(args)
      tune!.resetTuning()
    }
  })

  it("the 128×256-tile form ('n256'; 'n256-pipelined' where the device holds 48 KiB of workgroup memory) gives the default kernel's values: products, convolutions, filter gradients", async () => {
    await tf.setBackend('webgpu')
    // Outputs at least 256 wide (partial tiles too), each at least 2²⁴ multiply-adds: plain, transposed and fused products, a convolution and its filter gradient.
    const cases: {what: string; shapes: number[][]; run: (...t: tf.Tensor[]) => tf.Tensor; programs: string[]}[] = [
      {what: 'product', shapes: [[260, 260], [260, 300]], run: (a, b) => tf.matMul(a, b), programs: ['MixtureMatMulN256']},
      {what: 'transposed product', shapes: [[260, 260], [300, 260]], run: (a, b) => tf.matMul(a, b, true, true), programs: ['MixtureMatMulN256']},
      {what: 'bias + ReLU', shapes: [[264, 256], [256, 264], [264]], run: (a, b, c) => tf.fused.matMul({a, b, bias: c, activation: 'relu'}), programs: ['MixtureMatMulN256']},
      {
        what: 'convolution and its filter gradient',
        shapes: [[2, 12, 12, 32], [3, 3, 32, 260]],
        run: (x, f) => tf.grad((w: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'))))(f),
        programs: ['MixtureConv2DN256', 'MixtureConv2DFilterN256'],
      },
    ]
    const storage = (tf.backend() as unknown as {device: {limits: {maxComputeWorkgroupStorageSize: number}}}).device.limits.maxComputeWorkgroupStorageSize
    const routes = storage >= 49152 ? ['n256', 'n256-pipelined'] : ['n256']
    for (const c of cases) {
      const inputs = c.shapes.map((shape, i) => tf.tensor(values(tf.util.sizeFromShape(shape), 20 + i), shape))
      const once = () => valuesAndPrograms(() => c.run(...inputs))
      try {
        const plain = await once()
        tune!.captureCalls(() => tf.dispose(tf.tidy(() => c.run(...inputs))))
        const calls = tune!.lastCapture()
        const scale = plain.values.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
        for (const route of routes) {
          for (const {call} of calls) tune!.pinRoute(call, route)
          const wide = await once()
          for (const name of c.programs) assert.ok(ran(wide.programs, `${name}${route === 'n256' ? '' : 'Pipelined'}`) > 0, `${c.what}, ${route}: ${name} among ${listed(wide.programs)}`)
          // k may split another way with wider tiles (fewer of them): sums in another order.
          assertClose(`${c.what}, ${route}`, wide.values, plain.values, 'values', 1e-5, 1e-6 * scale, 'the default kernel')
        }
      } finally {
        tf.dispose(inputs)
        tune!.resetTuning()
      }
    }
  })

  it("a route whose values are not the project route's is left out before any timing, and the tuning line says so", async () => {
    await tf.setBackend('webgpu')
    // Reverse has no routes of the project's: give it one that agrees and one that forgets to reverse.
    tune!.wrapTunedKernel(
      'Reverse',
      (original) => original,
      (original) => ({same: (args) => original(args) as tf.TensorInfo, unreversed: (args) => original({...args, attrs: {...args.attrs, dims: []}}) as tf.TensorInfo}),
    )
    const x = tf.tensor2d(values(64 * 33, 6), [64, 33])
    try {
      tune!.captureCalls(() => tf.dispose(tf.reverse(x, 1)))
      const outcome = await tune!.tuneKernels()
      const d = outcome.decided.find((c) => c.kernelName === 'Reverse')
      assert.ok(d && Object.keys(d.times).sort().join() === 'project,same', JSON.stringify(outcome.decided))
      assert.match(d.rejected?.unreversed ?? '', /^output 0 differs by up to [\d.e+-]+ where the values reach [\d.e+-]+$/, JSON.stringify(d))
      assert.notEqual(d.route, 'unreversed')
      assert.match(tune!.describeTuning(outcome), /; 1 route left out for values unlike the project route's — a fault of the kernel, compiler or driver on this card \(Reverse 'unreversed': output 0 differs by up to /)
      // Pinned anyway (a routes file may name it), the route still runs: the check is tuning's, not a guard on every call.
      tune!.pinRoute(d, 'unreversed')
      assert.deepEqual(await tf.reverse(x, 1).data(), await x.data())
    } finally {
      tf.dispose(x)
      tune!.resetTuning()
    }
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

  it('the chosen routes written to a routes file and pinned from it: the same routes, nothing timed again; a malformed file is refused saying what is wrong', async () => {
    await tf.setBackend('webgpu')
    const args = inputs()
    tune!.captureCalls(() => tf.dispose(tf.tidy(() => step(...args))))
    await tune!.tuneKernels()
    const file = JSON.parse(JSON.stringify(tune!.exportRoutes())) as import('../../../src/backends/webgpu/tune.js').RoutesFile
    const before = new Map(tune!.tunedCalls().map((c) => [c.key, c.route]))
    assert.equal(file.routes.length, before.size)
    tune!.resetTuning()
    // Pin every call to a route other than the timed one where it has one, so that the file decides.
    const flipped = file.routes.map((r) => ({...r, route: Object.keys(r.ms).find((k) => k !== r.route) ?? r.route}))
    const line = tune!.importRoutes({...file, routes: flipped}, 'routes.json')
    assert.match(line, new RegExp(`^${file.routes.length} calls pinned from routes.json \\(\\d+ off the project's default routes\\)$`))
    assert.deepEqual(new Map(tune!.tunedCalls().map((c) => [c.key, c.route])), new Map(flipped.map((r) => [r.key, r.route])))
    tune!.captureCalls(() => tf.dispose(tf.tidy(() => step(...args))))
    const again = await tune!.tuneKernels()
    tf.dispose(args)
    assert.deepEqual([again.decided.length, again.single, again.skipped], [0, 0, 0], 'pinned calls are not timed')
    assert.match(tune!.importRoutes({...file, adapter: 'another card'}, 'r.json'), /timed on another card, not on this adapter/)
    const refused: [unknown, RegExp][] = [
      [null, /r\.json is not a kernel-routes file written by mixture \("format" is not "mixture-kernel-routes"\); delete it/],
      [{...file, version: 2}, /version 2, this version reads 1/],
      [{...file, routes: {}}, /"routes" is not a list/],
      [{...file, routes: [{kernel: 'Conv2D', route: 'project'}]}, /routes\[0\] needs the strings "kernel", "key" and "route"/],
      [{...file, routes: [{kernel: 'Relu', key: 'k', route: 'tfjs'}]}, /routes\[0\]: Relu is not a kernel with routes \(.*BatchMatMul/],
      [{...file, routes: [{kernel: 'Conv2D', key: 'k', route: 'fast'}]}, /routes\[0\]: Conv2D has no route "fast" \(it has project, tfjs, wide, nosplit, split, pipelined, n256, n256-pipelined, narrow\)/],
    ]
    for (const [doc, message] of refused) assert.throws(() => tune!.importRoutes(doc, 'r.json'), message)
  })

  it("every paper structure (tiny presets): the pass tuning runs makes exactly the training step's products and convolutions", async () => {
    await tf.setBackend('webgpu')
    const saved = process.env.MIXTURE_WEBGPU_TUNE_BUDGET
    process.env.MIXTURE_WEBGPU_TUNE_BUDGET = '0' // note the calls, time none
    try {
      for (const {row, model} of paperRows()) {
        const spec = resolveObject({name: 'tune', seed: 7, data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 8, test: 8, classes: 3}}, model})
        const keys: string[][] = []
        for (const dry of [false, true]) {
          tune!.resetTuning()
          const built = buildModel(spec)
          const trainer = new Trainer(built.model, {lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4})
          const x = tf.tensor4d(values(2 * 8 * 8 * 3, 9), [2, 8, 8, 3])
          const y = tf.tensor1d([0, 2], 'int32')
          if (dry) await trainer.tuneKernels(x, y)
          else tune!.captureCalls(() => trainer.trainStep(x, y))
          keys.push(tune!.lastCapture().map((c) => `${c.call.key} ×${c.count}`).sort())
          tf.dispose([x, y])
          trainer.dispose()
          built.model.dispose()
        }
        assert.ok(keys[0].length > 0, row)
        assert.deepEqual(keys[1], keys[0], row)
      }
    } finally {
      if (saved === undefined) delete process.env.MIXTURE_WEBGPU_TUNE_BUDGET
      else process.env.MIXTURE_WEBGPU_TUNE_BUDGET = saved
      tune!.resetTuning()
    }
  })

  it("a Trainer tunes before its first step on that batch (changing no weight, running statistic or optimizer state, noting the training step's calls); its steps, replayed with the chosen routes, match a trainer that never tuned", async () => {
    await tf.setBackend('webgpu')
    // The quickstart's model (configs/quickstart.yaml: BatchNorm, dropout) with a smaller transformer.
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
    type Outcome = {losses: number[]; lines: (string | undefined)[]; replayed: number; keys: string[]}
    const train = async (route: 'none' | 'tuned' | 'tfjs' | 'project' | 'wide' | '64x64'): Promise<Outcome> => {
      tune!.resetTuning()
      const built = buildModel(spec)
      tf.tidy(() => built.model.setWeights(built.model.getWeights().map((w, i) => tf.tensor(start[i], w.shape))))
      const trainer = new Trainer(built.model, {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-3, weightDecay: 1e-4})
      const state = async (): Promise<Float32Array[]> => {
        const {adam_m, adam_v} = trainer.optimizerState().groups
        return Promise.all([...built.model.getWeights(), ...adam_m, ...adam_v].map(async (t) => Float32Array.from(await t.data())))
      }
      const outcome: Outcome = {losses: [], lines: [], replayed: 0, keys: []}
      try {
        for (let s = 0; s < 8; s++) {
          const x = tf.tensor4d(values(2 * 8 * 8 * 3, 40 + s), [2, 8, 8, 3])
          const y = tf.tensor1d([s % 3, (s + 1) % 3], 'int32')
          if (s === 0 && route !== 'none') {
            const before = await state()
            outcome.lines.push(await trainer.tuneKernels(x, y), await trainer.tuneKernels(x, y))
            outcome.keys = tune!.lastCapture().map((c) => c.call.key)
            assert.deepEqual(await state(), before, `${route}: tuning changed no weight, running statistic or moment`)
            assert.equal(trainer.step, 0)
            if (route !== 'tuned') for (const d of tune!.tunedCalls()) tune!.pinRoute(d, route)
          }
          // The untuned trainer's first step, noted: the calls a training step makes.
          if (s === 0 && route === 'none') {
            tune!.captureCalls(() => trainer.trainStep(x, y))
            outcome.keys = tune!.lastCapture().map((c) => c.call.key)
          } else trainer.trainStep(x, y)
          tf.dispose([x, y])
          outcome.losses.push((await trainer.readMetrics()).loss)
          trainer.resetMetrics()
        }
        outcome.replayed = trainer.replayedSteps
        return outcome
      } finally {
        trainer.dispose()
        built.model.dispose()
      }
    }
    const untuned = await train('none')
    assert.ok(untuned.keys.length >= 10, untuned.keys.join('\n'))
    for (const route of ['tuned', 'tfjs', 'project', 'wide', '64x64'] as const) {
      const outcome = await train(route)
      assert.deepEqual([...outcome.keys].sort(), [...untuned.keys].sort(), `${route}: the pass tuning runs makes the training step's products and convolutions`)
      assert.match(outcome.lines[0] ?? '', /^\d+ product\/convolution calls? with a choice timed in/, `${route}: the first call reports`)
      assert.equal(outcome.lines[1], undefined, `${route}: a second call has nothing to do`)
      assert.ok(outcome.replayed >= 4, `${route}: ${outcome.replayed} steps replayed`)
      assertClose(route, outcome.losses, untuned.losses, 'losses', 1e-4, 1e-6, 'never tuned')
    }
  })
})
