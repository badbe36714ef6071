/**
 * Every kernel the WASM backend gains or has replaced, against the `cpu` backend on seeded random
 * inputs: several shapes, strides, paddings, transposes and broadcasts, non-square maps and
 * batches > 1, forward and (through tf.grads) backward.
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {tf} from '../../../src/engine/tf.js'
import {loadWasm, WASM_KERNELS, wasmThreads} from '../../../src/backends/wasm/index.js'
import {guardHeap, WasmHeapFullError, type WasmModule} from '../../../src/backends/wasm/module.js'
import {convLimits, usedTaps} from '../../../src/backends/wasm/kernels/conv.js'
import {blockPlan, gemmLimits} from '../../../src/backends/wasm/kernels/matmul.js'
import {adamComposite, adamUpdate, ADAM_KERNEL} from '../../../src/ops/adam.js'
import {BN_GRAD_KERNEL, BN_STATS_KERNEL} from '../../../src/ops/batchnorm.js'
import {LN_GRAD_KERNEL, LN_KERNEL} from '../../../src/ops/layernorm.js'
import {DROPOUT_KERNEL, seededDropout} from '../../../src/ops/dropout.js'
import {BatchNorm, LayerNorm} from '../../../src/layers/norm.js'
import {gelu} from '../../../src/ops/gelu.js'
import {attend} from '../../../src/ops/attention.js'
import {values} from '../../helpers.js'

let detail = ''
let previous: string | undefined
before(async () => {
  previous = tf.getBackend() ?? undefined
  detail = await loadWasm()
})
after(async () => {
  if (previous) await tf.setBackend(previous)
})


let seed = 1
/** A seeded random input, created lazily on whichever backend is active when `make` runs. */
function input(shape: number[], scale = 1): () => tf.Tensor {
  const data = values(shape.reduce((a, b) => a * b, 1), seed++).map((v) => v * scale)
  return () => tf.tensor(data, shape)
}

/** Run `f` on cpu and on wasm; return both outputs as flat arrays (and the shapes). */
async function both(f: () => tf.Tensor | tf.Tensor[]): Promise<{cpu: Float32Array[]; wasm: Float32Array[]; shapes: number[][]}> {
  const results: Record<string, {data: Float32Array[]; shapes: number[][]}> = {}
  for (const name of ['cpu', 'wasm']) {
    await tf.setBackend(name)
    results[name] = tf.tidy(() => {
      const out = f()
      const list = Array.isArray(out) ? out : [out]
      return {data: list.map((t) => Float32Array.from(t.dataSync())), shapes: list.map((t) => t.shape)}
    })
  }
  return {cpu: results.cpu.data, wasm: results.wasm.data, shapes: results.cpu.shapes}
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string, rtol = 1e-4, atol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`)
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i])
    if (!(d <= atol + rtol * Math.abs(expected[i]))) assert.fail(`${what}[${i}]: wasm ${actual[i]} vs cpu ${expected[i]} (|diff| ${d})`)
  }
}

function shapeOf(f: () => tf.Tensor): number[] {
  const t = tf.tidy(f)
  const shape = t.shape.slice()
  t.dispose()
  return shape
}

async function same(what: string, f: () => tf.Tensor | tf.Tensor[], rtol = 1e-4, atol = 1e-4): Promise<void> {
  const r = await both(f)
  r.cpu.forEach((c, i) => assertClose(r.wasm[i], c, `${what} #${i}`, rtol, atol))
}

describe('loadWasm', () => {
  it('registers the backend and every added kernel, and says which build runs', async () => {
    assert.match(detail, /^XNNPACK (threaded-simd|simd|plain) build, /)
    assert.ok(tf.findBackendFactory('wasm'))
    for (const name of [...WASM_KERNELS, 'UnsortedSegmentSum']) assert.ok(tf.getKernel(name, 'wasm'), `${name} registered`)
    assert.equal(await loadWasm(), detail, 'a second call returns the same backend')
    await tf.setBackend('wasm')
    assert.equal(tf.getBackend(), 'wasm')
  })

  it('takes the thread count from MIXTURE_WASM_THREADS, then MIXTURE_THREADS, and refuses nonsense', () => {
    const saved = [process.env.MIXTURE_WASM_THREADS, process.env.MIXTURE_THREADS]
    try {
      delete process.env.MIXTURE_WASM_THREADS
      process.env.MIXTURE_THREADS = '2'
      assert.equal(wasmThreads(), 2)
      process.env.MIXTURE_WASM_THREADS = '3'
      assert.equal(wasmThreads(), 3)
      process.env.MIXTURE_WASM_THREADS = '64'
      assert.equal(wasmThreads(), 8)
      process.env.MIXTURE_WASM_THREADS = 'two'
      assert.throws(() => wasmThreads(), /MIXTURE_WASM_THREADS must be a positive integer, got "two"/)
      delete process.env.MIXTURE_WASM_THREADS
      delete process.env.MIXTURE_THREADS
      assert.ok(wasmThreads() >= 1)
    } finally {
      const restore = (name: string, value: string | undefined) => (value === undefined ? delete process.env[name] : (process.env[name] = value))
      restore('MIXTURE_WASM_THREADS', saved[0])
      restore('MIXTURE_THREADS', saved[1])
    }
  })
})

describe('WASM heap guard', () => {
  it('refuses an allocation past the limit with a clear error, counts frees, and survives self-replacing stubs', () => {
    let next = 64
    const real = {malloc: (bytes: number) => ((next += bytes + 16), next - bytes), free: () => {}}
    // Emscripten-style exports: stubs that replace themselves on the first call.
    const module = {
      _malloc(bytes: number): number {
        module._malloc = real.malloc
        return real.malloc(bytes)
      },
      _free(ptr: number): void {
        module._free = real.free
        real.free()
        void ptr
      },
    } as unknown as WasmModule
    const live = guardHeap(module, 1000)
    const a = module._malloc(600)
    assert.equal(live(), 600)
    assert.throws(() => module._malloc(500), (e: unknown) => e instanceof WasmHeapFullError && /WebAssembly memory is limited to 4 GiB/.test((e as Error).message) && /smaller batch/.test((e as Error).message))
    module._free(a)
    assert.equal(live(), 0)
    assert.ok(module._malloc(900) > 0, 'room again after the free')
  })

  it('matches frees of addresses past 2 GiB, which malloc returns signed and callers pass unsigned', () => {
    const module = {_malloc: () => -2048, _free: () => {}} as unknown as WasmModule
    const live = guardHeap(module, 1000)
    const p = module._malloc(700)
    assert.equal(live(), 700)
    module._free(p >>> 0)
    assert.equal(live(), 0)
  })

  it('is installed on the live backend', async () => {
    await tf.setBackend('wasm')
    const wasm = (tf.backend() as unknown as {wasm: WasmModule}).wasm
    assert.throws(() => wasm._malloc(2 ** 32 - 1), WasmHeapFullError)
  })
})

describe('BatchMatMul / _FusedMatMul', () => {
  const cases: [string, number[], number[], boolean, boolean, boolean?][] = [
    ['plain', [5, 7], [7, 3], false, false],
    ['transposeA', [7, 5], [7, 3], true, false],
    ['transposeB', [5, 7], [3, 7], false, true],
    ['both transposed', [7, 5], [3, 7], true, true],
    ['batched', [4, 5, 7], [4, 7, 3], false, false],
    ['batched rank 4, both transposed', [2, 3, 7, 5], [2, 3, 3, 7], true, true],
    // tfjs-core has no gradient for a batch on one side only (on any backend): forward only.
    ['batch on the left only', [2, 3, 5, 7], [7, 3], false, false, true],
    ['batch on the right only', [5, 7], [4, 7, 3], false, false, true],
    ['attention-like', [2, 2, 9, 4], [2, 2, 9, 4], false, true],
  ]
  for (const [what, as, bs, ta, tb, forwardOnly] of cases) {
    it(`${what}: ${as} x ${bs}, forward${forwardOnly ? '' : ' and gradients'}`, async () => {
      const a = input(as)
      const b = input(bs)
      await same(what, () => tf.matMul(a(), b(), ta, tb))
      if (!forwardOnly) await same(`${what} grads`, () => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, ta, tb))))([a(), b()]))
    })
  }

  it('general batch broadcasting ([2,1] x [1,3]) matches explicitly tiled operands', async () => {
    // The cpu backend gets this case wrong, so the reference is a product of tiled operands.
    const a = input([2, 1, 5, 7])
    const b = input([1, 3, 7, 4])
    await tf.setBackend('wasm')
    const [got, want] = tf.tidy(() => [tf.matMul(a(), b()).dataSync(), tf.matMul(tf.tile(a(), [1, 3, 1, 1]), tf.tile(b(), [2, 1, 1, 1])).dataSync()])
    assertClose(Float32Array.from(got), Float32Array.from(want), 'broadcast')
  })

  it('fused: bias and each activation, transposed and batched', async () => {
    for (const activation of ['linear', 'relu', 'relu6', 'sigmoid', 'elu', 'leakyrelu'] as const) {
      const a = input([6, 4], 3)
      const b = input([5, 4])
      const bias = input([5])
      await same(`fused ${activation}`, () => tf.fused.matMul({a: a(), b: b(), transposeB: true, bias: bias(), activation}))
    }
    const a = input([2, 6, 4])
    const b = input([2, 4, 5])
    const bias = input([5])
    await same('fused batched', () => tf.fused.matMul({a: a(), b: b(), bias: bias(), activation: 'relu'}))
    const scalarBias = input([1])
    await same('fused scalar bias', () => tf.fused.matMul({a: a(), b: b(), bias: scalarBias(), activation: 'relu'}))
    await same('fused gradients', () =>
      tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.sum(tf.square(tf.fused.matMul({a: x, b: y, bias: z, activation: 'relu'}))))([a(), b(), bias()]),
    )
  })

  it('cache-blocked products (column, inner and both splits) with transposes, bias and activations', async () => {
    const saved = {...gemmLimits}
    try {
      Object.assign(gemmLimits, {blockFloats: 64, minRows: 1, minInner: 4, minColumns: 8, innerWhenBoth: 16})
      const plans = new Set<string>()
      for (const [m, k, n] of [[9, 33, 17], [40, 100, 3], [6, 200, 50], [2, 8, 70]]) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            const plan = blockPlan(m, k, n, ta, tb)
            plans.add(plan ? `${plan.kb < k ? 'K' : ''}${plan.nb < n ? 'N' : ''}` : 'none')
            const a = input(ta ? [k, m] : [m, k])
            const b = input(tb ? [n, k] : [k, n])
            const bias = input([n])
            await same(`blocked ${m}x${k}x${n} ${ta} ${tb}`, () => [
              tf.matMul(a(), b(), ta, tb),
              tf.fused.matMul({a: a(), b: b(), transposeA: ta, transposeB: tb, bias: bias(), activation: 'relu'}),
              tf.fused.matMul({a: a(), b: b(), transposeA: ta, transposeB: tb, bias: bias(), activation: 'elu'}),
            ])
          }
        }
      }
      for (const p of ['K', 'N', 'KN']) assert.ok(plans.has(p), `plan ${p} exercised (${[...plans]})`)
    } finally {
      Object.assign(gemmLimits, saved)
    }
  })

  it('empty inner dimension gives zeros', async () => {
    await tf.setBackend('wasm')
    const out = tf.tidy(() => Array.from(tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 2])).dataSync()))
    assert.deepEqual(out, [0, 0, 0, 0, 0, 0])
  })
})

describe('convolutions', () => {
  type Shape4 = [number, number, number, number]
  const convs: [string, Shape4, Shape4, number | [number, number], tf.backend_util.ExplicitPadding | 'same' | 'valid'][] = [
    ['3x3 same', [2, 8, 8, 3], [3, 3, 3, 4], 1, 'same'],
    ['3x3 valid, non-square', [3, 7, 9, 3], [3, 3, 3, 4], 1, 'valid'],
    ['7x7/2 valid (padded stem)', [2, 22, 22, 3], [7, 7, 3, 5], 2, 'valid'],
    ['3x3/2 valid, odd size', [2, 9, 10, 4], [3, 3, 4, 6], 2, 'valid'],
    ['3x3/2 same', [2, 9, 10, 4], [3, 3, 4, 6], 2, 'same'],
    ['1x1', [2, 4, 5, 5], [1, 1, 5, 6], 1, 'valid'],
    ['1x1/2', [2, 7, 5, 5], [1, 1, 5, 6], 2, 'valid'],
    ['explicit asymmetric padding', [2, 5, 6, 2], [3, 3, 2, 3], 1, [[0, 0], [1, 2], [0, 1], [0, 0]]],
    ['strides [2,1], 3x2 filter', [3, 7, 6, 2], [3, 2, 2, 3], [2, 1], 'same'],
    ['3x3 same on 1x1 maps (dead taps)', [3, 1, 1, 5], [3, 3, 5, 4], 1, 'same'],
    ['3x3 same on 1x2 maps', [2, 1, 2, 5], [3, 3, 5, 4], 1, 'same'],
    ['3x3/2 padded 2x2 -> 1x1', [3, 2, 2, 5], [3, 3, 5, 4], 2, [[0, 0], [1, 1], [1, 1], [0, 0]]],
  ]
  for (const [what, xs, fs, strides, pad] of convs) {
    it(`${what}: forward, input and filter gradients`, async () => {
      const x = input(xs)
      const f = input(fs)
      await same(`${what} forward`, () => tf.conv2d(x() as tf.Tensor4D, f() as tf.Tensor4D, strides, pad))
      const outShape = shapeOf(() => tf.conv2d(tf.zeros(xs) as tf.Tensor4D, tf.zeros(fs) as tf.Tensor4D, strides, pad))
      const weight = input(outShape)
      await same(`${what} grads`, () =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), weight())))([x(), f()]),
      )
    })
  }

  it('fused conv with bias and relu, on maps where taps are trimmed', async () => {
    const x = input([2, 1, 1, 5])
    const f = input([3, 3, 5, 4])
    const b = input([4])
    const w = input([2, 1, 1, 4])
    await same('fused conv grads', () =>
      tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
        tf.sum(tf.mul(tf.fused.conv2d({x: a as tf.Tensor4D, filter: c as tf.Tensor4D, bias: d, activation: 'relu', strides: 1, pad: 'same'}), w())),
      )([x(), f(), b()]),
    )
  })

  it('filter gradient in several chunks of images equals one chunk', async () => {
    const saved = convLimits.chunkFloats
    try {
      convLimits.chunkFloats = 3 * 3 * 3 * 6 * 6 // 1 image per chunk
      const x = input([5, 6, 6, 3])
      const f = input([3, 3, 3, 4])
      await same('chunked dW', () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))))([x(), f()]))
      const y = input([5, 9, 9, 3])
      await same('chunked strided dx', () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'valid'))))([y(), f()]))
    } finally {
      convLimits.chunkFloats = saved
    }
  })

  it('Conv2DTranspose 3x3 stride 1 same (the adapter), stride 2, and their gradients', async () => {
    const x = input([2, 6, 6, 5])
    const f = input([3, 3, 3, 5])
    await same('convT s1', () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, 6, 6, 3], 1, 'same'))))([x(), f()]), 1e-4, 1e-3)
    const y = input([2, 6, 7, 5])
    await same('convT s2', () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, 11, 13, 3], 2, 'same'))))([y(), f()]), 1e-4, 1e-3)
  })

  it('usedTaps keeps only taps that touch the input', () => {
    assert.deepEqual(usedTaps(1, 3, 1, 1, 1), [1, 2])
    assert.deepEqual(usedTaps(2, 3, 1, 1, 2), [0, 3])
    assert.deepEqual(usedTaps(8, 3, 1, 1, 8), [0, 3])
    assert.deepEqual(usedTaps(2, 3, 2, 1, 1), [1, 3])
  })
})

describe('pooling, tiling and reductions', () => {
  for (const [what, xs, size, strides, pad] of [
    ['3x3/2 same', [2, 7, 9, 3], 3, 2, 'same'],
    ['3x3/2 valid', [2, 7, 9, 3], 3, 2, 'valid'],
    ['2x3/(1,2) valid', [1, 6, 9, 4], [2, 3], [1, 2], 'valid'],
  ] as [string, [number, number, number, number], number | [number, number], number | [number, number], 'same' | 'valid'][]) {
    it(`MaxPoolGrad ${what}`, async () => {
      const x = input(xs)
      const outShape = shapeOf(() => tf.maxPool(tf.zeros(xs) as tf.Tensor4D, size, strides, pad))
      const w = input(outShape)
      await same(what, () => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, strides, pad), w())))(x()))
    })
  }

  it('MaxPoolGrad sends ties to the first maximum, like cpu', async () => {
    const x = () => tf.relu(tf.tensor4d([0, -1, 2, 2, -3, 0, 2, 1, 0, 0, 0, 0, 1, 1, 1, 1], [1, 4, 4, 1]))
    await same('ties', () => tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))(x()))
  })

  it('Tile: per-channel statistics to full size, rows, columns, int32 and bool', async () => {
    const a = input([1, 1, 1, 5])
    const b = input([2, 3])
    const c = input([3, 1])
    await same('tile', () => [
      tf.tile(a(), [2, 3, 4, 1]),
      tf.tile(b(), [3, 2]),
      tf.tile(c(), [1, 4]),
      tf.cast(tf.tile(tf.tensor1d([1, 2, 3], 'int32'), [2]), 'float32'),
      tf.cast(tf.tile(tf.tensor2d([[1, 0]], [1, 2], 'bool'), [2, 2]), 'float32'),
      tf.tile(tf.reshape(tf.scalar(3), [1]), [4]),
    ])
  })

  it('Sum and Mean over outer, middle, inner and all axes, with keepDims', async () => {
    const x = input([2, 3, 4, 5])
    const y = input([2, 1, 4, 5])
    await same('reductions', () => {
      const t = x()
      return [
        tf.sum(t, [0, 1, 2]),
        tf.mean(t, [1, 2]),
        tf.sum(t, 0),
        tf.mean(t, [1, 2], true),
        tf.sum(t, -1),
        tf.sum(t),
        tf.mean(y(), [0, 2]),
        tf.sum(t, [0, 2]),
        tf.cast(tf.sum(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'), 0), 'float32'),
      ]
    })
    const z = input([4, 3, 3, 6])
    await same('moments', () => {
      const {mean, variance} = tf.moments(z(), [0, 1, 2])
      return [mean, variance]
    })
  })
})

describe('MixtureAdam and cpu fallbacks', () => {
  it('the fused Adam kernel equals the composite on cpu over several steps', async () => {
    assert.ok(tf.getKernel(ADAM_KERNEL, 'wasm'))
    const p = input([37, 5])
    const g = input([37, 5])
    const run = (fused: boolean) =>
      tf.tidy(() => {
        let param = p()
        let m = tf.zerosLike(param)
        let v = tf.zerosLike(param)
        for (let step = 1; step <= 3; step++) {
          const grad = tf.mul(g(), step)
          const attrs = {lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4, step}
          ;[param, m, v] = fused ? adamUpdate(param, grad, m, v, attrs) : adamComposite(param, grad, m, v, attrs)
        }
        return [param, m, v].map((t) => Float32Array.from(t.dataSync()))
      })
    await tf.setBackend('cpu')
    const want = run(false)
    await tf.setBackend('wasm')
    const got = run(true)
    want.forEach((w, i) => assertClose(got[i], w, `adam output ${i}`, 1e-5, 1e-6))
  })

  it('gather gradient (UnsortedSegmentSum) and einsum run through the cpu fallback', async () => {
    const x = input([3, 4])
    await same('logSoftmax + gather loss', () =>
      tf.grad((a: tf.Tensor) => tf.neg(tf.mean(tf.gather(tf.reshape(tf.logSoftmax(a), [-1]), tf.tensor1d([1, 6, 8], 'int32')))))(x()),
    )
    const a = input([2, 3])
    const b = input([3, 4])
    await same('einsum', () => tf.einsum('ij,jk->ik', a(), b()))
  })
})

describe('project kernels: fused norms and dropout (wasm kernels vs the cpu composites)', () => {
  it('are registered for wasm', () => {
    for (const k of [BN_STATS_KERNEL, BN_GRAD_KERNEL, LN_KERNEL, LN_GRAD_KERNEL, DROPOUT_KERNEL]) assert.ok(tf.getKernel(k, 'wasm'), k)
  })

  for (const shape of [[3, 4, 5, 6], [7, 6], [2, 3, 8]]) {
    it(`BatchNorm layer in training mode on ${shape}: output, gradients, running statistics`, async () => {
      const x = input(shape, 2)
      const dyw = input(shape)
      const run = async (backend: string) => {
        await tf.setBackend(backend)
        const layer = new BatchNorm({momentum: 0.1, epsilon: 1e-5})
        return tf.tidy(() => {
          const xs = tf.add(x(), 0.5)
          layer.apply(xs, {training: true}) // builds, and moves the running statistics once
          const vars = layer.trainableWeights.map((w) => (w as unknown as {val: tf.Variable}).val)
          const f = (xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi, {training: true}) as tf.Tensor, dyw()))
          const dx = tf.grad(f)(xs)
          const {grads} = tf.variableGrads(() => f(xs) as tf.Scalar, vars)
          const y = layer.apply(xs, {training: true}) as tf.Tensor
          const stats = layer.getWeights().slice(2)
          return [y, dx, ...vars.map((v) => grads[v.name]), ...stats].map((t) => Float32Array.from(t.dataSync()))
        })
      }
      const cpu = await run('cpu')
      const wasm = await run('wasm')
      cpu.forEach((c, i) => assertClose(wasm[i], c, `BatchNorm output ${i}`, 1e-4, 1e-4))
    })
  }

  for (const shape of [[2, 5, 16], [9, 7]]) {
    it(`LayerNorm layer on ${shape}: output and gradients`, async () => {
      const x = input(shape, 3)
      const dyw = input(shape)
      const g = input([shape[shape.length - 1]], 0.5)
      const bt = input([shape[shape.length - 1]], 0.5)
      const run = async (backend: string) => {
        await tf.setBackend(backend)
        const layer = new LayerNorm({epsilon: 1e-5})
        return tf.tidy(() => {
          const xs = x()
          layer.apply(xs)
          const vars = layer.trainableWeights.map((w) => (w as unknown as {val: tf.Variable}).val)
          // Non-trivial gamma and beta.
          vars[0].assign(tf.add(vars[0], g()))
          vars[1].assign(bt())
          const f = (xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi) as tf.Tensor, dyw()))
          const dx = tf.grad(f)(xs)
          const {grads} = tf.variableGrads(() => f(xs) as tf.Scalar, vars)
          return [layer.apply(xs) as tf.Tensor, dx, ...vars.map((v) => grads[v.name])].map((t) => Float32Array.from(t.dataSync()))
        })
      }
      const cpu = await run('cpu')
      const wasm = await run('wasm')
      cpu.forEach((c, i) => assertClose(wasm[i], c, `LayerNorm output ${i}`, 1e-4, 1e-4))
    })
  }

  it('exact GELU (fused on wasm, composite on cpu): values and gradient', async () => {
    for (const k of ['MixtureGelu', 'MixtureGeluGrad', 'MixtureSoftmaxGrad']) assert.ok(tf.getKernel(k, 'wasm'), k)
    const x = input([6, 37], 4)
    await same('gelu', () => [gelu(x()), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(gelu(a), a)))(x())], 1e-4, 1e-5)
  })

  it('attention (softmax gradient fused on wasm): values and gradients of q, k, v', async () => {
    const q = input([2, 3, 7, 4])
    const k = input([2, 3, 9, 4])
    const v = input([2, 3, 9, 5])
    const w = input([2, 3, 7, 5])
    await same('attention', () =>
      tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(attend(a, b, c, 0.5), w())))([q(), k(), v()]),
    )
  })

  it('seeded dropout: the same mask and gradient as cpu', async () => {
    const x = input([4, 33, 5])
    await same('dropout', () => tf.grad((a: tf.Tensor) => tf.sum(tf.square(seededDropout(a, 0.3, 12345))))(x()))
    await same('dropout forward', () => seededDropout(x(), 0.1, 7))
  })

  it('Transpose keeping the last axis (attention head split) and others; Identity and Cast', async () => {
    const x = input([2, 5, 3, 4, 8])
    const y = input([3, 4, 9])
    await same('transposes', () => [
      tf.transpose(x(), [2, 0, 3, 1, 4]),
      tf.transpose(x(), [1, 0, 2, 3, 4]),
      tf.transpose(y(), [1, 0, 2]),
      tf.transpose(y(), [0, 2, 1]),
      tf.cast(tf.transpose(tf.cast(tf.greater(y(), 0), 'int32'), [1, 0, 2]), 'float32'),
      tf.clone(y()),
      tf.cast(y(), 'float32'),
      tf.cast(tf.cast(y(), 'int32'), 'float32'),
    ])
  })
})
