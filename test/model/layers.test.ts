// The parts whose mistakes no parameter count reveals: attention, patch order, token-to-image, Fourier features.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {tf, tfl} from '../../src/engine/tf.js'
import {AttentionCore} from '../../src/layers/attention.js'
import {Conv2D} from '../../src/layers/conv2d.js'
import {fourierTable, FourierFeatures, Geglu} from '../../src/layers/perceiver.js'
import {BuildContext} from '../../src/registry/context.js'
import {patchTokens} from '../../plugins/vit.js'
import {tokensAsImage} from '../../plugins/token-image.js'
import {assertClose} from '../helpers.js'

function rand(n: number, seed: number): Float32Array {
  let s = seed
  return Float32Array.from({length: n}, () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648 - 0.5
  })
}

/** softmax(q kᵀ · d^-0.5) v, one head at a time, with plain loops. */
function naiveAttention(q: Float32Array, kv: Float32Array, b: number, n: number, m: number, heads: number, d: number): Float32Array {
  const inner = heads * d
  const out = new Float32Array(b * n * inner)
  for (let bi = 0; bi < b; bi++)
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < n; i++) {
        const sims: number[] = []
        for (let j = 0; j < m; j++) {
          let dot = 0
          for (let t = 0; t < d; t++) dot += q[(bi * n + i) * inner + h * d + t] * kv[(bi * m + j) * 2 * inner + h * d + t]
          sims.push(dot / Math.sqrt(d))
        }
        const max = Math.max(...sims)
        const e = sims.map((s) => Math.exp(s - max))
        const z = e.reduce((a, c) => a + c, 0)
        for (let t = 0; t < d; t++) {
          let acc = 0
          for (let j = 0; j < m; j++) acc += (e[j] / z) * kv[(bi * m + j) * 2 * inner + inner + h * d + t]
          out[(bi * n + i) * inner + h * d + t] = acc
        }
      }
  return out
}

test('cross-attention equals a naive per-head loop', () => {
  const [b, n, m, heads, d] = [2, 3, 5, 2, 4]
  const q = rand(b * n * heads * d, 1)
  const kv = rand(b * m * 2 * heads * d, 2)
  const layer = new AttentionCore({heads, dimHead: d})
  const out = layer.apply([tf.tensor3d(q, [b, n, heads * d]), tf.tensor3d(kv, [b, m, 2 * heads * d])]) as tf.Tensor
  assertClose(out.dataSync(), naiveAttention(q, kv, b, n, m, heads, d), 1e-5, 'attention')
})

test('self-attention splits packed qkv as q | k | v, heads outermost', () => {
  const [b, n, heads, d] = [1, 4, 3, 2]
  const inner = heads * d
  const qkv = rand(b * n * 3 * inner, 3)
  const q = new Float32Array(b * n * inner)
  const kv = new Float32Array(b * n * 2 * inner)
  for (let i = 0; i < b * n; i++) {
    q.set(qkv.subarray(i * 3 * inner, i * 3 * inner + inner), i * inner)
    kv.set(qkv.subarray(i * 3 * inner + inner, (i + 1) * 3 * inner), i * 2 * inner)
  }
  const out = new AttentionCore({heads, dimHead: d}).apply(tf.tensor3d(qkv, [b, n, 3 * inner])) as tf.Tensor
  assertClose(out.dataSync(), naiveAttention(q, kv, b, n, n, heads, d), 1e-5, 'self-attention')
})

test('patch flatten order is (p1, p2, c) inside row-major patches, as einops b c (h p1) (w p2) -> b (h w) (p1 p2 c)', () => {
  const [H, W, C, P] = [4, 6, 3, 2]
  const code = (h: number, w: number, c: number) => h * 100 + w * 10 + c
  const img = new Float32Array(H * W * C)
  for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) img[(h * W + w) * C + c] = code(h, w, c)
  const ctx = BuildContext.root({seed: 1, init: 'torch'})
  const input = tfl.input({shape: [H, W, C]})
  const model = tfl.model({inputs: input, outputs: patchTokens(ctx, input, P)})
  const out = (model.predict(tf.tensor4d(img, [1, H, W, C])) as tf.Tensor).arraySync() as number[][][]
  assert.deepEqual((model.outputs[0].shape as number[]).slice(1), [(H / P) * (W / P), P * P * C])
  for (let gh = 0; gh < H / P; gh++)
    for (let gw = 0; gw < W / P; gw++) {
      const expected: number[] = []
      for (let p1 = 0; p1 < P; p1++) for (let p2 = 0; p2 < P; p2++) for (let c = 0; c < C; c++) expected.push(code(gh * P + p1, gw * P + p2, c))
      assert.deepEqual(out[0][gh * (W / P) + gw], expected, `patch (${gh}, ${gw})`)
    }
})

test('token-to-image: token n becomes channel n, its vector a row-major √D×√D map', () => {
  const [N, side] = [5, 3]
  const tokens = Float32Array.from({length: N * side * side}, (_, i) => i)
  const ctx = BuildContext.root({seed: 1, init: 'torch'})
  const input = tfl.input({shape: [N, side * side]})
  const model = tfl.model({inputs: input, outputs: tokensAsImage(ctx, input, side)})
  const img = (model.predict(tf.tensor3d(tokens, [1, N, side * side])) as tf.Tensor).arraySync() as number[][][][]
  for (let n = 0; n < N; n++) for (let r = 0; r < side; r++) for (let c = 0; c < side; c++) assert.equal(img[0][r][c][n], n * side * side + r * side + c)
})

test('Fourier features follow perceiver-pytorch fourier_encode', () => {
  const [H, W, bands, maxFreq] = [3, 4, 6, 10]
  const table = fourierTable(H, W, bands, maxFreq)
  const perAxis = 2 * bands + 1
  assert.equal(table.length, H * W * 2 * perAxis)
  const scales = [1, 1.8, 2.6, 3.4, 4.2, 5] // linspace(1, max_freq / 2 = 5, 6)
  for (const [h, w] of [[0, 0], [1, 2], [2, 3]]) {
    const coords = [-1 + (2 * h) / (H - 1), -1 + (2 * w) / (W - 1)]
    const base = (h * W + w) * 2 * perAxis
    coords.forEach((x, axis) => {
      const expected = [...scales.map((s) => Math.sin(Math.PI * x * s)), ...scales.map((s) => Math.cos(Math.PI * x * s)), x]
      assertClose(table.subarray(base + axis * perAxis, base + (axis + 1) * perAxis), expected, 1e-5, `features at (${h}, ${w}) axis ${axis}`)
    })
  }
  // The layer appends the 26 features after the 3 data channels of each token.
  const img = tf.randomUniform([2, H, W, 3], 0, 1, 'float32', 7)
  const out = new FourierFeatures({numBands: bands, maxFreq}).apply(img) as tf.Tensor
  assert.deepEqual(out.shape, [2, H * W, 3 + 26])
  const o = out.arraySync() as number[][][]
  const pix = img.arraySync() as number[][][][]
  assertClose(o[1][1 * W + 2].slice(0, 3), pix[1][1][2], 1e-6, 'data channels first')
  assertClose(o[1][1 * W + 2].slice(3), Array.from(table.subarray((1 * W + 2) * 26, (1 * W + 3) * 26)), 1e-6, 'then the position features')
})

test('GEGLU is x · GELU(gate) with exact (erf) GELU', () => {
  const x = tf.tensor2d([[1, -2, 0.5, 3]])
  const out = (new Geglu({}).apply(x) as tf.Tensor).dataSync()
  const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2))
  assertClose(out, [1 * gelu(0.5), -2 * gelu(3)], 1e-5, 'geglu')
})

// Abramowitz–Stegun 7.1.26 is too coarse for 1e-5; use a series for |x| < 3.
function erf(x: number): number {
  let sum = x
  let term = x
  for (let n = 1; n < 60; n++) {
    term *= (-x * x) / n
    sum += term / (2 * n + 1)
  }
  return (2 / Math.sqrt(Math.PI)) * sum
}

test("the project's Conv2D computes no gradient for an input nothing trains, and tfjs-layers' Conv2D's weight gradients bit for bit", async () => {
  await tf.setBackend('cpu')
  const x = tf.tensor4d(rand(2 * 9 * 9 * 3, 5), [2, 9, 9, 3])
  const args = [{filters: 4, kernelSize: 3, padding: 'same' as const}, {filters: 6, kernelSize: 3, strides: 2, useBias: false}]
  const ours = args.map((a) => new Conv2D(a))
  const theirs = args.map((a) => tfl.layers.conv2d(a))
  for (const [i, layer] of ours.entries()) {
    tf.dispose([layer.apply(i === 0 ? x : ours[0].apply(x)) as tf.Tensor, theirs[i].apply(i === 0 ? x : theirs[0].apply(x)) as tf.Tensor])
    theirs[i].setWeights(layer.getWeights())
  }
  /** The weight gradients of a loss through both layers, and how many input gradients the step computed. */
  const step = async (layers: tfl.layers.Layer[]) => {
    const weights = layers.flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable))
    let grads: tf.NamedTensorMap = {}
    const profile = await tf.profile(() => {
      grads = tf.variableGrads(() => tf.sum(tf.square(layers[1].apply(layers[0].apply(x)) as tf.Tensor)) as tf.Scalar, weights).grads
    })
    const values = await Promise.all(weights.map((w) => grads[w.name].data()))
    tf.dispose(Object.values(grads))
    return {values, inputGradients: profile.kernels.filter((k) => k.name === 'Conv2DBackpropInput').length}
  }
  const [a, b] = [await step(ours), await step(theirs)]
  assert.equal(b.inputGradients, 2, "tfjs-layers' Conv2D: both layers' input gradients, the image's too")
  assert.equal(a.inputGradients, 1, "the project's: the second layer's only")
  a.values.forEach((v, i) => assert.deepEqual(v, b.values[i], `weight ${i}`))
  assert.equal(ours[0].getClassName(), 'Conv2D', 'export and checkpoints see the class as tfjs-layers names it')
  tf.dispose(x)
})
