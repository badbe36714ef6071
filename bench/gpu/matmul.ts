/**
 * Product throughput on the WebGPU backend: the time and TFLOP/s of `tf.matMul` for a square 4096²
 * product and the ViT table's three kinds of product at batch 64 (257 tokens: the feed-forward
 * forward, its input gradient, its weight gradient), and of the 96×96 CNN's 128 → 128 3×3
 * convolution at batch 16 (forward, input gradient, filter gradient), with whatever kernels the
 * backend has — run once as is and once with MIXTURE_WEBGPU_MATMUL=0 to compare the project's
 * 128×128-tile kernel (src/backends/webgpu/programs/gemm.ts) with tfjs's own programs.
 *
 *   node dist/bench/gpu/matmul.js [--repeat 20] [--label text] [--out matmul.json] [--scale 1]
 *
 * `--scale s` divides every extent by s (to try the script on a software adapter).
 *
 * Prints one line per product (median of `repeat` timed runs after 3 warm-up runs; each run ends
 * by reading one value back, so the time includes the GPU's work).
 */
import {writeFileSync} from 'node:fs'
import {tf} from '../../src/engine/tf.js'
import '../../src/backends/cpu/index.js'
import {describeBackend, selectBackend} from '../../src/engine/backend.js'

interface Product {
  name: string
  a: number[]
  b: number[]
  transposeA: boolean
  transposeB: boolean
}

const TOKENS = 64 * 257
const PIXELS = 16 * 96 * 96
const PRODUCTS: Product[] = [
  {name: '4096² · 4096²', a: [4096, 4096], b: [4096, 4096], transposeA: false, transposeB: false},
  {name: 'ViT FF forward x·W (16448×1024 · 1024×2048)', a: [TOKENS, 1024], b: [1024, 2048], transposeA: false, transposeB: false},
  {name: 'ViT FF input gradient dy·Wᵀ (16448×2048 · 2048×1024)', a: [TOKENS, 2048], b: [1024, 2048], transposeA: false, transposeB: true},
  {name: 'ViT FF weight gradient xᵀ·dy (1024×16448 · 16448×2048)', a: [TOKENS, 1024], b: [TOKENS, 2048], transposeA: true, transposeB: false},
  // The Perceiver's cross-attention key/value weight gradient over every pixel of a batch of 16 at 96×96
  {name: 'Perceiver k/v weight gradient xᵀ·dy (29×147456 · 147456×64)', a: [PIXELS, 29], b: [PIXELS, 64], transposeA: true, transposeB: false},
]

/** NHWC convolutions, run through the kernels a training step calls. */
interface Conv {
  name: string
  x: [number, number, number, number]
  filter: [number, number, number, number]
  kernel: 'Conv2D' | 'Conv2DBackpropInput' | 'Conv2DBackpropFilter'
}

const CNN_X: [number, number, number, number] = [16, 96, 96, 128]
const CNN_F: [number, number, number, number] = [3, 3, 128, 128]
const CONVS: Conv[] = [
  {name: 'CNN conv forward (16×96×96×128, 3×3 → 128)', x: CNN_X, filter: CNN_F, kernel: 'Conv2D'},
  {name: 'CNN conv input gradient', x: CNN_X, filter: CNN_F, kernel: 'Conv2DBackpropInput'},
  {name: 'CNN conv filter gradient', x: CNN_X, filter: CNN_F, kernel: 'Conv2DBackpropFilter'},
]

/** Median ms of `run` (its result read back by one value, then disposed) after 3 warm-up runs. */
async function median(repeat: number, run: () => tf.Tensor): Promise<number> {
  const once = async (): Promise<number> => {
    const t0 = performance.now()
    const c = run()
    const probe = tf.slice(tf.reshape(c, [-1]), [0], [1])
    await probe.data()
    const ms = performance.now() - t0
    tf.dispose([c, probe])
    return ms
  }
  for (let i = 0; i < 3; i++) await once()
  const times: number[] = []
  for (let i = 0; i < repeat; i++) times.push(await once())
  times.sort((x, y) => x - y)
  return times[Math.floor(times.length / 2)]
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback
}

async function main(): Promise<void> {
  const repeat = Number(arg('--repeat', '20'))
  const scale = Number(arg('--scale', '1'))
  const label = arg('--label', process.env.MIXTURE_WEBGPU_MATMUL === '0' ? 'tfjs programs' : 'default')
  const choice = await selectBackend('webgpu')
  console.log(`${describeBackend(choice)}; ${label}${scale !== 1 ? `; every extent ÷ ${scale}` : ''}`)
  const rows: {name: string; ms: number; tflops: number}[] = []
  for (const full of PRODUCTS) {
    const p = {...full, a: full.a.map((d) => Math.ceil(d / scale)), b: full.b.map((d) => Math.ceil(d / scale))}
    const a = tf.randomUniform(p.a, -1, 1, 'float32', 1)
    const b = tf.randomUniform(p.b, -1, 1, 'float32', 2)
    const M = p.transposeA ? p.a[1] : p.a[0]
    const K = p.transposeA ? p.a[0] : p.a[1]
    const N = p.transposeB ? p.b[0] : p.b[1]
    const ms = await median(repeat, () => tf.matMul(a, b, p.transposeA, p.transposeB))
    const tflops = (2 * M * N * K) / (ms * 1e-3) / 1e12
    rows.push({name: p.name, ms: Math.round(ms * 100) / 100, tflops: Number(tflops.toPrecision(3))})
    console.log(`${p.name}: ${ms.toFixed(2)} ms, ${tflops.toPrecision(3)} TFLOP/s`)
    tf.dispose([a, b])
  }
  for (const full of CONVS) {
    const c = {...full, x: full.x.map((d, i) => (i === 3 ? d : Math.ceil(d / scale))) as Conv['x']}
    const [batch, height, width, cin] = c.x
    const cout = c.filter[3]
    const x = tf.randomUniform(c.x, -1, 1, 'float32', 3)
    const filter = tf.randomUniform(c.filter, -1, 1, 'float32', 4)
    const dy = tf.randomUniform([batch, height, width, cout], -1, 1, 'float32', 5)
    const attrs = {strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined}
    const run = (): tf.Tensor =>
      c.kernel === 'Conv2D'
        ? tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same')
        : c.kernel === 'Conv2DBackpropInput'
          ? (tf.engine().runKernel('Conv2DBackpropInput', {dy, filter}, {...attrs, inputShape: c.x} as unknown as tf.NamedAttrMap) as tf.Tensor)
          : (tf.engine().runKernel('Conv2DBackpropFilter', {x, dy}, {...attrs, filterShape: c.filter} as unknown as tf.NamedAttrMap) as tf.Tensor)
    const ms = await median(repeat, run)
    const flops = 2 * batch * height * width * cout * c.filter[0] * c.filter[1] * cin
    const tflops = flops / (ms * 1e-3) / 1e12
    rows.push({name: c.name, ms: Math.round(ms * 100) / 100, tflops: Number(tflops.toPrecision(3))})
    console.log(`${c.name}: ${ms.toFixed(2)} ms, ${tflops.toPrecision(3)} TFLOP/s`)
    tf.dispose([x, filter, dy])
  }
  const out = arg('--out', '')
  if (out) writeFileSync(out, `${JSON.stringify({backend: describeBackend(choice), label, rows}, null, 2)}\n`)
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`)
    process.exit(1)
  },
)
