/**
 * Every native kernel against the `cpu` backend on seeded random inputs: several shapes, strides,
 * paddings, transposes and broadcasts, forward and (through tf.grads) backward.
 */
import {before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {tf} from '../../../src/engine/tf.js'
import {loadNative, nativeThreads} from '../../../src/backends/native/index.js'
import {adamComposite, adamUpdate} from '../../../src/ops/adam.js'
import {nativeBuilt, skipUnless} from '../../require.js'

// Skipped only where the addon was never built: a built addon that fails to load fails these tests.
const unavailable = skipUnless('native', nativeBuilt()) || undefined
before(async () => {
  if (!unavailable) await loadNative()
})

let seed = 1
function rand(shape: number[], scale = 1): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed++), scale))
}

/** Run `f` on cpu and on native with the same inputs; return both outputs as arrays of Float32Arrays. */
function both(f: () => tf.Tensor | tf.Tensor[]): [Float32Array[], Float32Array[], number[][]] {
  const run = (name: string) => {
    tf.setBackend(name)
    return tf.tidy(() => {
      const r = f()
      const list = Array.isArray(r) ? r : [r]
      return list.map((t) => ({data: t.dataSync() as Float32Array, shape: t.shape}))
    })
  }
  const cpu = run('cpu')
  const nat = run('native')
  tf.setBackend('cpu')
  return [cpu.map((c) => c.data), nat.map((c) => c.data), cpu.map((c, i) => {
    assert.deepEqual(nat[i].shape, c.shape, `output ${i} shape`)
    return c.shape
  })]
}

function close(f: () => tf.Tensor | tf.Tensor[], what: string, rtol = 2e-4, atol = 2e-4) {
  const [cpu, nat] = both(f)
  assert.equal(nat.length, cpu.length)
  for (let k = 0; k < cpu.length; k++) {
    assert.equal(nat[k].length, cpu[k].length, `${what}: output ${k} length`)
    let scale = 0
    for (const v of cpu[k]) scale = Math.max(scale, Math.abs(v))
    for (let i = 0; i < cpu[k].length; i++) {
      const a = nat[k][i], b = cpu[k][i]
      if (Number.isNaN(b)) {
        assert.ok(Number.isNaN(a), `${what}: output ${k}[${i}] native ${a}, cpu NaN`)
        continue
      }
      const tol = atol * Math.max(1, scale) + rtol * Math.abs(b)
      if (!(Math.abs(a - b) <= tol) && !(a === b)) assert.fail(`${what}: output ${k}[${i}] native ${a} vs cpu ${b} (tol ${tol})`)
    }
  }
}

describe('native kernels match cpu', {concurrency: false}, () => {
  it('loads', (t) => {
    if (unavailable) return t.skip(unavailable)
    assert.ok(tf.findBackend('native'))
  })

  it('MIXTURE_THREADS sets the thread count and rejects nonsense', () => {
    const saved = process.env.MIXTURE_THREADS
    try {
      process.env.MIXTURE_THREADS = '3'
      assert.equal(nativeThreads(), 3)
      process.env.MIXTURE_THREADS = 'many'
      assert.throws(() => nativeThreads(), /MIXTURE_THREADS must be a positive integer, got "many"/)
      delete process.env.MIXTURE_THREADS
      assert.ok(nativeThreads() >= 1)
    } finally {
      if (saved === undefined) delete process.env.MIXTURE_THREADS
      else process.env.MIXTURE_THREADS = saved
    }
  })

  it('unary element-wise ops', (t) => {
    if (unavailable) return t.skip(unavailable)
    const ops: [string, (x: tf.Tensor) => tf.Tensor][] = [
      ['relu', tf.relu], ['relu6', tf.relu6], ['elu', tf.elu], ['leakyRelu', (x) => tf.leakyRelu(x, 0.3)], ['sigmoid', tf.sigmoid],
      ['tanh', tf.tanh], ['exp', tf.exp], ['log', (x) => tf.log(tf.abs(x))], ['sqrt', (x) => tf.sqrt(tf.abs(x))],
      ['rsqrt', (x) => tf.rsqrt(tf.add(tf.abs(x), 0.1))], ['square', tf.square], ['neg', tf.neg], ['abs', tf.abs],
      ['reciprocal', (x) => tf.reciprocal(tf.add(tf.abs(x), 0.5))], ['erf', tf.erf], ['step', (x) => tf.step(x, 0.25)],
    ]
    for (const shape of [[7], [3, 5, 33], [2, 40000]]) {
      const x = rand(shape, 3)
      for (const [name, op] of ops) close(() => op(x), `${name} ${shape}`)
      x.dispose()
    }
    close(() => tf.exp(tf.tensor1d([-200, -90, -87, 0, 80, 88.5, 100])), 'exp extremes')
    const f = rand([3, 40000])
    close(() => [tf.fill([3, 40000], 2.5), tf.zerosLike(f), tf.onesLike(f), tf.ones([7])], 'fill, zerosLike, onesLike')
    close(() => tf.erf(tf.tensor1d([-10, -4, -1e-6, 0, 1e-6, 3.9, 10])), 'erf extremes')
  })

  it('binary ops with broadcasting', (t) => {
    if (unavailable) return t.skip(unavailable)
    const pairs: [number[], number[]][] = [
      [[5, 6], [5, 6]], [[2, 3, 4], [4]], [[2, 3, 4], [3, 1]], [[1], [5, 6]], [[2, 1, 4], [1, 3, 1]], [[], [3, 2]],
      [[4, 1], [1, 7]], [[2, 3, 1, 5], [2, 1, 4, 5]],
    ]
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', (a, b) => tf.div(a, tf.add(tf.abs(b), 0.5))],
      ['squaredDifference', tf.squaredDifference], ['maximum', tf.maximum], ['minimum', tf.minimum],
    ]
    for (const [sa, sb] of pairs) {
      const a = rand(sa), b = rand(sb)
      for (const [name, op] of ops) {
        close(() => op(a, b), `${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`)
        close(() => op(b, a), `${name} ${JSON.stringify(sb)} ${JSON.stringify(sa)}`)
      }
      a.dispose()
      b.dispose()
    }
    // large enough to be split over threads
    for (const [sa, sb] of [[[64, 8, 8, 16], [16]], [[3, 30000], [3, 1]], [[70000], [70000]]]) {
      const a = rand(sa), b = rand(sb)
      close(() => [tf.add(a, b), tf.mul(b, a), tf.sub(a, b)], `large ${JSON.stringify(sa)} ${JSON.stringify(sb)}`)
    }
    const px = rand([2, 5, 5, 3]), pa = rand([3]), n1 = rand([3, 4]), n2 = rand([3, 4]), n3 = rand([3, 4])
    close(() => tf.prelu(px, pa), 'prelu')
    close(() => tf.addN([n1, n2, n3]), 'addN')
  })

  it('reductions', (t) => {
    if (unavailable) return t.skip(unavailable)
    const x = rand([4, 6, 5, 7]), big = rand([3, 50000]), col = rand([40000, 3])
    const axesList: (number | number[] | undefined)[] = [undefined, 0, 1, 3, -1, [0, 1, 2], [1, 2], [0, 2], [1, 3], [0, 3], [0, 1, 2, 3]]
    for (const axes of axesList) {
      for (const keepDims of [false, true]) {
        close(() => tf.sum(x, axes, keepDims), `sum ${axes} ${keepDims}`)
        close(() => tf.mean(x, axes, keepDims), `mean ${axes} ${keepDims}`)
        close(() => tf.max(x, axes, keepDims), `max ${axes} ${keepDims}`)
        close(() => tf.min(x, axes, keepDims), `min ${axes} ${keepDims}`)
      }
    }
    for (const axes of [undefined, 0, 1]) {
      close(() => [tf.sum(big, axes), tf.mean(big, axes), tf.max(big, axes)], `big ${axes}`)
      close(() => [tf.sum(col, axes), tf.mean(col, axes), tf.min(col, axes)], `col ${axes}`)
    }
    close(() => tf.moments(x, [0, 1, 2]).variance, 'moments')
  })

  it('transpose, tile, pad, slice, concat', (t) => {
    if (unavailable) return t.skip(unavailable)
    const x = rand([3, 4, 5, 6])
    for (const perm of [[0, 2, 1, 3], [0, 3, 1, 2], [3, 2, 1, 0], [0, 2, 3, 1], [1, 0, 2, 3], [0, 1, 2, 3]]) {
      close(() => tf.transpose(x, perm), `transpose ${perm}`)
    }
    const t2 = rand([70, 45]), t3 = rand([2, 33, 65]), r1 = rand([2, 1, 3]), r2 = rand([3]), r3 = rand([2, 3, 1]), p2 = rand([2, 3])
    const c1 = rand([2, 3]), c2 = rand([2, 0]), c3 = rand([2, 4])
    close(() => tf.transpose(t2), 'transpose 2d')
    close(() => tf.transpose(t3, [0, 2, 1]), 'transpose batched')
    close(() => tf.tile(r1, [2, 4, 1]), 'tile')
    close(() => tf.tile(r2, [5]), 'tile 1d')
    close(() => tf.tile(r3, [1, 1, 8]), 'tile inner broadcast')
    close(() => tf.pad(x, [[0, 0], [1, 2], [3, 0], [0, 1]], 0.5), 'pad')
    close(() => tf.pad(p2, [[1, 1], [2, 2]]), 'pad 2d')
    close(() => tf.slice(x, [1, 1, 0, 2], [2, 2, 5, 3]), 'slice')
    close(() => tf.slice(x, [0, 0, 1, 0], [3, 4, 3, 6]), 'slice rows')
    close(() => tf.slice(x, [1, 0, 0, 0], [1, 4, 5, 6]), 'slice contiguous')
    for (const axis of [0, 1, 2, 3]) close(() => tf.concat([x, tf.mul(x, 2), tf.slice(x, [0, 0, 0, 0], [3, 4, 5, 6])], axis), `concat ${axis}`)
    close(() => tf.concat([c1, c2, c3], 1), 'concat with empty')
  })

  it('argMax', (t) => {
    if (unavailable) return t.skip(unavailable)
    const x = rand([7, 33]), y = rand([2, 3, 1000])
    const [cpu, nat] = both(() => [tf.argMax(x, 1), tf.argMax(y, -1), tf.argMax(y, 1), tf.argMax(tf.tensor2d([[1, 3, 3], [2, 2, 1]]), 1)])
    assert.deepEqual(nat.map((a) => Array.from(a)), cpu.map((a) => Array.from(a)))
  })

  it("an input gradient read after its inputs were freed and their pooled buffers reused keeps its values", (t) => {
    if (unavailable) return t.skip(unavailable)
    const xv = rand([2, 6, 6, 8]).dataSync(), wv = rand([3, 3, 4, 8], 0.3).dataSync()
    const run = () => {
      const x = tf.tensor4d(xv, [2, 6, 6, 8]), w = tf.tensor4d(wv, [3, 3, 4, 8])
      const y = tf.tidy(() => tf.conv2dTranspose(tf.relu(x) as tf.Tensor4D, tf.abs(w) as tf.Tensor4D, [2, 6, 6, 4], 1, 'same'))
      tf.dispose([x, w])
      // same-sized outputs that would reuse freed buffers
      const noise = [tf.relu(tf.fill([2, 6, 6, 8], 7)), tf.abs(tf.fill([3, 3, 4, 8], -9))]
      const values = y.dataSync()
      tf.dispose([y, ...noise])
      return values
    }
    tf.setBackend('cpu')
    const cpu = run()
    tf.setBackend('native')
    const nat = run()
    tf.setBackend('cpu')
    for (let i = 0; i < cpu.length; i++) assert.ok(Math.abs(cpu[i] - nat[i]) <= 1e-4 * (1 + Math.abs(cpu[i])), `output ${i}: native ${nat[i]} vs cpu ${cpu[i]}`)
  })

  it('softmax and its gradient', (t) => {
    if (unavailable) return t.skip(unavailable)
    for (const shape of [[5], [3, 10], [2, 4, 7, 33]]) {
      const x = rand(shape, 4), dy = rand(shape)
      close(() => tf.softmax(x), `softmax ${shape}`)
      close(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.softmax(v), dy)))(x), `softmax grad ${shape}`)
    }
    const ls = rand([6, 9], 5)
    close(() => tf.logSoftmax(ls), 'logSoftmax')
  })

  it('batch norm forward and gradients', (t) => {
    if (unavailable) return t.skip(unavailable)
    const x = rand([4, 5, 5, 6]), dy = rand([4, 5, 5, 6])
    const g = tf.add(rand([6], 0.2), 1), b = rand([6])
    close(() => tf.grads((v: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
      const {mean, variance} = tf.moments(v, [0, 1, 2])
      return tf.sum(tf.mul(tf.batchNorm(v, mean, variance, beta, gamma, 1e-5), dy))
    })([x, g, b]), 'batchNorm training gradients', 5e-4, 5e-4)
    const m6 = rand([6]), v6 = tf.abs(rand([6])), o6 = rand([6]), s6 = rand([6])
    close(() => tf.batchNorm(x, m6, v6, o6, s6, 1e-3), 'batchNorm per channel')
    close(() => tf.batchNorm(x, m6, v6, undefined, undefined, 1e-3), 'batchNorm no scale/offset')
    const y = rand([2, 3, 8]), yo = rand([2, 3, 8]), ys = rand([2, 3, 8]), lo = rand([8]), lsc = rand([8])
    // the cpu kernel cycles through mean/variance instead of broadcasting them (tfjs-layers tiles them
    // first for that reason); native broadcasts, so compare with the explicit formula on cpu
    const layerNorm = (offset: tf.Tensor, scale: tf.Tensor) => () => {
      const {mean, variance} = tf.moments(y, [2], true)
      if (tf.getBackend() === 'native') return tf.batchNorm(y, mean, variance, offset, scale, 1e-5)
      return tf.add(tf.mul(tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, 1e-5))), scale), offset)
    }
    close(layerNorm(yo, ys), 'batchNorm broadcast (layer norm)')
    close(layerNorm(tf.reshape(lo, [1, 1, 8]), tf.reshape(lsc, [1, 1, 8])), 'batchNorm broadcast (layer norm, per-feature scale)')
  })

  it('pooling and its gradient', (t) => {
    if (unavailable) return t.skip(unavailable)
    const x = rand([3, 9, 8, 5])
    const cases: [number, number, 'valid' | 'same' | number][] = [[2, 2, 'valid'], [3, 2, 'same'], [3, 1, 'same'], [3, 2, 'valid'], [2, 1, 0], [3, 2, 1]]
    for (const [k, s, p] of cases) {
      close(() => tf.maxPool(x as tf.Tensor4D, k, s, p), `maxPool ${k} ${s} ${p}`)
      close(() => tf.avgPool(x as tf.Tensor4D, k, s, p), `avgPool ${k} ${s} ${p}`)
      const dy = rand(tf.maxPool(x as tf.Tensor4D, k, s, p).shape)
      close(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, k, s, p), dy)))(x), `maxPool grad ${k} ${s} ${p}`)
    }
    // ties: the first maximum of a window takes the gradient
    const flat = tf.tensor4d([1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 3, 3, 3, 3], [1, 4, 4, 1])
    close(() => tf.grad((v: tf.Tensor) => tf.sum(tf.maxPool(v as tf.Tensor4D, 2, 1, 'same')))(flat), 'maxPool grad ties')
  })

  it('convolutions: Conv2D, FusedConv2D, backprop input/filter, transpose', (t) => {
    if (unavailable) return t.skip(unavailable)
    type Case = {n: number; h: number; w: number; c: number; o: number; k: number; s: number; p: 'valid' | 'same' | number; d?: number}
    const cases: Case[] = [
      {n: 2, h: 8, w: 8, c: 3, o: 4, k: 3, s: 1, p: 'same'},
      {n: 3, h: 9, w: 7, c: 5, o: 6, k: 3, s: 2, p: 'same'},
      {n: 2, h: 8, w: 8, c: 4, o: 5, k: 3, s: 2, p: 'valid'},
      {n: 1, h: 10, w: 10, c: 2, o: 3, k: 7, s: 2, p: 3},
      {n: 2, h: 6, w: 6, c: 4, o: 8, k: 1, s: 2, p: 'valid'},
      {n: 2, h: 7, w: 7, c: 3, o: 2, k: 3, s: 1, p: 'same', d: 2},
      {n: 4, h: 1, w: 1, c: 8, o: 8, k: 3, s: 1, p: 'same'},
    ]
    for (const q of cases) {
      const x = rand([q.n, q.h, q.w, q.c]), w = rand([q.k, q.k, q.c, q.o], 0.3), bias = rand([q.o])
      const tag = JSON.stringify(q)
      const conv = (v: tf.Tensor, f: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, f as tf.Tensor4D, q.s, q.p, 'NHWC', q.d ?? 1)
      close(() => conv(x, w), `conv2d ${tag}`)
      const dy = rand(conv(x, w).shape)
      if ((q.d ?? 1) === 1) {
        close(() => tf.grads((v: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(conv(v, f), dy)))([x, w]), `conv2d grads ${tag}`)
      }
      for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const) {
        close(() => tf.fused.conv2d({x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: q.s, pad: q.p, dilations: q.d ?? 1, bias, activation, leakyreluAlpha: 0.1}), `fused conv2d ${activation} ${tag}`)
      }
      if ((q.d ?? 1) === 1) {
        close(() => tf.grads((v: tf.Tensor, f: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.fused.conv2d({x: v as tf.Tensor4D, filter: f as tf.Tensor4D, strides: q.s, pad: q.p, bias: b, activation: 'relu'}), dy)))([x, w, bias]), `fused conv2d grads ${tag}`)
      }
    }
    // conv2dTranspose (Conv2DBackpropInput), as the token-to-image adapter uses it
    const x = rand([2, 8, 8, 16]), w = rand([3, 3, 3, 16], 0.2)
    close(() => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 8, 8, 3], 1, 'same'), 'conv2dTranspose s1')
    close(() => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 16, 16, 3], 2, 'same'), 'conv2dTranspose s2')
    const dy = rand([2, 8, 8, 3])
    close(() => tf.grads((v: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(tf.conv2dTranspose(v as tf.Tensor4D, f as tf.Tensor4D, [2, 8, 8, 3], 1, 'same'), dy)))([x, w]), 'conv2dTranspose grads')
  })

  it('matmul: transposes, batches, broadcast, fused bias + activation, gradients', (t) => {
    if (unavailable) return t.skip(unavailable)
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = rand(ta ? [13, 7] : [7, 13]), b = rand(tb ? [5, 13] : [13, 5])
      close(() => tf.matMul(a, b, ta, tb), `matMul ${ta} ${tb}`)
      const a3 = rand(ta ? [3, 13, 7] : [3, 7, 13]), b3 = rand(tb ? [3, 5, 13] : [3, 13, 5])
      close(() => tf.matMul(a3, b3, ta, tb), `batched matMul ${ta} ${tb}`)
      close(() => tf.matMul(a3, b, ta, tb), `broadcast b ${ta} ${tb}`)
      close(() => tf.matMul(a, b3, ta, tb), `broadcast a ${ta} ${tb}`)
      const dy = rand([3, 7, 5])
      close(() => tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.matMul(p, q, ta, tb), dy)))([a3, b3]), `matMul grads ${ta} ${tb}`)
    }
    const a4 = rand([2, 3, 6, 16]), b4 = rand([2, 3, 16, 6])
    close(() => tf.matMul(a4, b4), 'rank-4 matMul')
    const x = rand([9, 12]), w = rand([12, 10]), bias = rand([10])
    for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const) {
      close(() => tf.fused.matMul({a: x, b: w, bias, activation, leakyreluAlpha: 0.1}), `fused matMul ${activation}`)
    }
    const fullBias = rand([9, 10])
    close(() => tf.fused.matMul({a: x, b: w, bias: fullBias, activation: 'relu'}), 'fused matMul full bias (fallback)')
    const dy = rand([9, 10])
    close(() => tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) => tf.sum(tf.mul(tf.fused.matMul({a: p as tf.Tensor2D, b: q as tf.Tensor2D, bias: r, activation: 'relu'}), dy)))([x, w, bias]), 'fused matMul grads')
  })

  it('fused MixtureNorm, MixtureNormGrad, MixtureGelu(Grad), MixtureSoftmaxGrad match their composites', (t) => {
    if (unavailable) return t.skip(unavailable)
    const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}) =>
      tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor | tf.Tensor[]
    const cases: [number[], number[], number[]][] = [
      [[3, 5, 16], [2], [16]],          // LayerNorm over features
      [[2, 4, 4, 3], [1, 2, 3], [4, 4, 3]], // LayerNorm over a whole NHWC image
      [[4, 5, 5, 6], [0, 1, 2], [6]],   // BatchNorm2d
      [[7, 6], [0], [6]],               // BatchNorm1d
      [[2, 300, 40], [2], [40]],        // enough rows to split over threads
      [[64, 9, 9, 8], [0, 1, 2], [8]],
    ]
    for (const [shape, axes, gshape] of cases) {
      const x = tf.add(rand(shape, 2), 0.5), g = tf.add(rand(gshape, 0.3), 1), b = rand(gshape), dy = rand(shape), eps = 1e-5
      close(() => {
        if (tf.getBackend() === 'native') return run('MixtureNorm', {x, gamma: g, beta: b}, {axes, epsilon: eps}) as tf.Tensor[]
        const {mean, variance} = tf.moments(x, axes, true)
        const y = tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b)
        return axes.length === shape.length - 1 && axes[0] === 0 ? [y, tf.reshape(mean, [...shape.slice(0, -1).map(() => 1), shape[shape.length - 1]]), tf.reshape(variance, [...shape.slice(0, -1).map(() => 1), shape[shape.length - 1]])] : [y, mean, variance]
      }, `MixtureNorm ${shape} ${axes}`, 3e-4, 3e-4)
      close(() => {
        const {mean, variance} = tf.moments(x, axes, true)
        if (tf.getBackend() === 'native') return run('MixtureNormGrad', {dy, x, mean, variance, gamma: g}, {axes, epsilon: eps}) as tf.Tensor[]
        const rstd = tf.rsqrt(tf.add(variance, eps))
        const xhat = tf.mul(tf.sub(x, mean), rstd)
        const paramAxes = shape.map((_, i) => i).filter((i) => i < shape.length - gshape.length || gshape[i - (shape.length - gshape.length)] === 1)
        const gdy = tf.mul(dy, g)
        const dx = tf.mul(rstd, tf.sub(tf.sub(gdy, tf.mean(gdy, axes, true)), tf.mul(xhat, tf.mean(tf.mul(gdy, xhat), axes, true))))
        return [dx, tf.reshape(tf.sum(tf.mul(dy, xhat), paramAxes), gshape), tf.reshape(tf.sum(dy, paramAxes), gshape)]
      }, `MixtureNormGrad ${shape} ${axes}`, 1e-3, 1e-3)
    }
    const x = rand([5, 3000], 2), dy = rand([5, 3000])
    const gelu = (v: tf.Tensor) => tf.mul(tf.mul(v, 0.5), tf.add(1, tf.erf(tf.mul(v, Math.SQRT1_2))))
    close(() => (tf.getBackend() === 'native' ? run('MixtureGelu', {x}) : gelu(x)), 'MixtureGelu')
    close(() => (tf.getBackend() === 'native' ? run('MixtureGeluGrad', {dy, x}) : tf.grad((v: tf.Tensor) => tf.sum(tf.mul(gelu(v), dy)))(x)), 'MixtureGeluGrad')
    const y = tf.softmax(rand([4, 6, 50], 3)), dys = rand([4, 6, 50])
    close(() => (tf.getBackend() === 'native' ? run('MixtureSoftmaxGrad', {dy: dys, y}) : tf.sub(tf.mul(dys, y), tf.mul(tf.sum(tf.mul(dys, y), -1, true), y))), 'MixtureSoftmaxGrad')
    tf.setBackend('native')
    assert.throws(() => run('MixtureNorm', {x: rand([2, 3, 4]), gamma: rand([3]), beta: rand([3])}, {axes: [1], epsilon: 1e-5}), /not supported/)
    tf.setBackend('cpu')
  })

  it('MixtureAdam matches the composite update', (t) => {
    if (unavailable) return t.skip(unavailable)
    const p = rand([500, 77]), g = rand([500, 77]), m = rand([500, 77], 0.1), v = tf.abs(rand([500, 77], 0.01))
    for (const step of [1, 2, 10]) {
      const attrs = {lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4, step}
      const [cpu, nat] = both(() => (tf.getBackend() === 'native' ? adamUpdate(p, g, m, v, attrs) : adamComposite(p, g, m, v, attrs)))
      for (let k = 0; k < 3; k++) {
        for (let i = 0; i < cpu[k].length; i++) {
          const tol = 1e-6 + 1e-5 * Math.abs(cpu[k][i])
          if (Math.abs(cpu[k][i] - nat[k][i]) > tol) assert.fail(`adam step ${step} output ${k}[${i}]: ${nat[k][i]} vs ${cpu[k][i]}`)
        }
      }
    }
    tf.setBackend('native')
    assert.ok(tf.getKernel('MixtureAdam', 'native'), 'MixtureAdam registered')
    tf.setBackend('cpu')
  })
})
