/**
 * Product throughput on the WebGPU backend: the time and TFLOP/s of a square 4096² product, the ViT
 * table's three kinds of product at batch 64 (257 tokens: the feed-forward forward, its input
 * gradient, its weight gradient), the Perceiver's long-k weight gradient, and the 96×96 CNN's 128 →
 * 128 3×3 convolution at batch 16 (forward, input gradient, filter gradient) and ResNet-18's
 * stride-2 input gradient (the transposed convolution: which of tfjs's program and the project's
 * 'dilated' route is faster decides the untuned fp32 default), with whatever kernels the backend has. bench/gpu/run.sh runs it once per form of the project's product kernel
 * (src/backends/webgpu/programs/gemm.ts: single-buffered, MIXTURE_WEBGPU_GEMM_PIPELINE=1 the
 * double-buffered form) and with MIXTURE_WEBGPU_MATMUL=0 (tfjs's own programs), and
 * bench/gpu/torch_matmul.py times the same shapes in PyTorch; `report` sets them side by side.
 *
 *   node dist/bench/gpu/matmul.js run [--repeat 20] [--label text] [--out matmul.json] [--scale 1] [--routes]
 *   node dist/bench/gpu/matmul.js shapes [--scale 1]        the shapes, as JSON (torch_matmul.py reads them)
 *   node dist/bench/gpu/matmul.js report a.json b.json … [--md products.md]
 *
 * `--scale s` divides every extent but the channels by s (to try the script on a software adapter).
 * `run` prints one line per shape: the median of `repeat` timed runs after 3 warm-up runs, each
 * ended by reading one value back, so that the time includes the GPU's work. `--routes` then times
 * each shape's kernel calls through every route kernel tuning has for them
 * (src/backends/webgpu/tune.ts: the kernel's forms — double-buffered, 128 × 256 tiles, k split
 * either way —, tfjs's programs; tuning's own timing: GPU time, best of two rounds of three calls),
 * so that one process compares every form on every shape; `report` prints them as a second table.
 */
import {writeFileSync, readFileSync} from 'node:fs'
import {parseArgs} from 'node:util'
import {numberOption} from '../options.js'
import {tf} from '../../src/engine/tf.js'
import '../../src/backends/cpu/index.js'
import {describeBackend, selectBackend} from '../../src/engine/backend.js'

/** A matrix product A·B (either operand transposed) or an NHWC convolution's kernel, at one size. */
type Shape =
  | {kind: 'product'; name: string; a: number[]; b: number[]; transposeA: boolean; transposeB: boolean; flops: number}
  | {
      kind: 'Conv2D' | 'Conv2DBackpropInput' | 'Conv2DBackpropFilter'
      name: string
      x: [number, number, number, number]
      filter: [number, number, number, number]
      /** 1 with 'same' padding (the CNN's layers), or ResNet-18's 2 with 'valid' padding of an input padded beforehand. */
      stride: 1 | 2
      flops: number
    }

/** One timed shape of a `run` (or of torch_matmul.py). */
interface Row {
  name: string
  ms: number
  tflops: number
}

/** One kernel call of a shape timed through each of its routes (`--routes`). */
interface RouteTimes {
  shape: string
  kernel: string
  /** Milliseconds per call by route (those that apply). */
  ms: Record<string, number>
  /** Routes left out because their values were not the default route's (tune.ts). */
  rejected?: Record<string, string>
}

/** What `run` writes with --out (and torch_matmul.py with its --out). */
interface Result {
  backend: string
  label: string
  rows: Row[]
  routes?: RouteTimes[]
}

const TOKENS = 64 * 257
const PIXELS = 16 * 96 * 96

/** A convolution's padding at `stride`: 'same' at stride 1, 'valid' (an input padded beforehand) at 2. */
const padFor = (stride: 1 | 2): 'same' | 'valid' => (stride === 1 ? 'same' : 'valid')

/** An NHWC convolution's geometry at `stride` (`padFor`). */
function convInfo(x: [number, number, number, number], filter: [number, number, number, number], stride: 1 | 2): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(x, filter, stride, 1, padFor(stride))
}

/** Floating-point operations of the convolution (and of each of its gradients): 2 per multiply-add. */
function convFlops(x: [number, number, number, number], filter: [number, number, number, number], stride: 1 | 2): number {
  const {outShape} = convInfo(x, filter, stride)
  return 2 * tf.util.sizeFromShape(outShape) * filter[0] * filter[1] * filter[2]
}

/** The shapes, every extent but the channels divided by `scale` (rounded up). */
function shapes(scale = 1): Shape[] {
  const d = (n: number): number => Math.ceil(n / scale)
  /** `what` and the operands' extents as they enter the product, e.g. `xᵀ·dy (1024×16448 · 16448×2048)`. */
  const product = (what: string, a: number[], b: number[], transposeA: boolean, transposeB: boolean): Shape => {
    const [M, K] = transposeA ? [a[1], a[0]] : a
    const N = transposeB ? b[0] : b[1]
    return {kind: 'product', name: `${what} (${M}×${K} · ${K}×${N})`, a, b, transposeA, transposeB, flops: 2 * M * N * K}
  }
  const x: [number, number, number, number] = [16, d(96), d(96), 128]
  const filter: [number, number, number, number] = [3, 3, 128, 128]
  const conv = `(${x.join('×')}, 3×3 → 128)`
  // ResNet-18's (CIFAR-10, batch 64) first stride-2 convolution: its 8×8×64 maps padded by 1, 3×3 stride 2 to 128 channels (4×4 out).
  const strided: [number, number, number, number] = [64, d(8) + 2, d(8) + 2, 64]
  const stridedFilter: [number, number, number, number] = [3, 3, 64, 128]
  return [
    product('square', [d(4096), d(4096)], [d(4096), d(4096)], false, false),
    product('ViT FF forward x·W', [d(TOKENS), d(1024)], [d(1024), d(2048)], false, false),
    product('ViT FF input gradient dy·Wᵀ', [d(TOKENS), d(2048)], [d(1024), d(2048)], false, true),
    product('ViT FF weight gradient xᵀ·dy', [d(TOKENS), d(1024)], [d(TOKENS), d(2048)], true, false),
    // The Perceiver's cross-attention key/value weight gradient over every pixel of a batch of 16 at 96×96
    product('Perceiver k/v weight gradient xᵀ·dy', [d(PIXELS), 29], [d(PIXELS), 64], true, false),
    {kind: 'Conv2D', name: `CNN conv forward ${conv}`, x, filter, stride: 1, flops: convFlops(x, filter, 1)},
    {kind: 'Conv2DBackpropInput', name: `CNN conv input gradient ${conv}`, x, filter, stride: 1, flops: convFlops(x, filter, 1)},
    {kind: 'Conv2DBackpropFilter', name: `CNN conv filter gradient ${conv}`, x, filter, stride: 1, flops: convFlops(x, filter, 1)},
    {
      kind: 'Conv2DBackpropInput',
      name: `ResNet-18 stride-2 conv input gradient (${strided.join('×')}, 3×3/2 → 128)`,
      x: strided,
      filter: stridedFilter,
      stride: 2,
      flops: convFlops(strided, stridedFilter, 2),
    },
  ]
}

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

/** A function computing `shape` on its own random operands, and what to dispose after. */
function operation(shape: Shape): {run: () => tf.Tensor; operands: tf.Tensor[]} {
  if (shape.kind === 'product') {
    const a = tf.randomUniform(shape.a, -1, 1, 'float32', 1)
    const b = tf.randomUniform(shape.b, -1, 1, 'float32', 2)
    return {run: () => tf.matMul(a, b, shape.transposeA, shape.transposeB), operands: [a, b]}
  }
  const pad = padFor(shape.stride)
  const {outShape} = convInfo(shape.x, shape.filter, shape.stride)
  const x = tf.randomUniform(shape.x, -1, 1, 'float32', 3)
  const filter = tf.randomUniform(shape.filter, -1, 1, 'float32', 4)
  const dy = tf.randomUniform(outShape, -1, 1, 'float32', 5)
  const attrs = {strides: [shape.stride, shape.stride], pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined}
  const run = (): tf.Tensor =>
    shape.kind === 'Conv2D'
      ? tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, shape.stride, pad)
      : shape.kind === 'Conv2DBackpropInput'
        ? (tf.engine().runKernel('Conv2DBackpropInput', {dy, filter}, {...attrs, inputShape: shape.x} as unknown as tf.NamedAttrMap) as tf.Tensor)
        : (tf.engine().runKernel('Conv2DBackpropFilter', {x, dy}, {...attrs, filterShape: shape.filter} as unknown as tf.NamedAttrMap) as tf.Tensor)
  return {run, operands: [x, filter, dy]}
}

/** Every kernel call `run` makes, timed through each of its routes by kernel tuning (nested calls first). */
async function routeTimes(shape: Shape, run: () => tf.Tensor): Promise<RouteTimes[]> {
  const tune = await import('../../src/backends/webgpu/tune.js')
  tune.resetTuning()
  tune.captureCalls(() => tf.dispose(run()))
  await tune.tuneKernels(Infinity)
  const calls = tune.lastCapture()
  tune.resetTuning()
  return calls.map(({call, decision}) => ({
    shape: shape.name,
    kernel: call.kernelName,
    ms: Object.fromEntries(Object.entries(decision?.times ?? {}).map(([route, ms]) => [route, Math.round(ms * 1000) / 1000])),
    ...(decision?.rejected ? {rejected: decision.rejected} : {}),
  }))
}

async function runShapes(options: {repeat: number; scale: number; label?: string; out?: string; routes: boolean}): Promise<void> {
  const label =
    options.label ?? (process.env.MIXTURE_WEBGPU_MATMUL === '0' ? 'tfjs programs' : process.env.MIXTURE_WEBGPU_GEMM_PIPELINE === '1' ? 'double-buffered kernel' : 'default')
  const choice = await selectBackend('webgpu')
  console.log(`${describeBackend(choice)}; ${label}${options.scale !== 1 ? `; every extent ÷ ${options.scale}` : ''}`)
  const rows: Row[] = []
  const routes: RouteTimes[] = []
  for (const shape of shapes(options.scale)) {
    const {run, operands} = operation(shape)
    const ms = await median(options.repeat, run)
    const tflops = shape.flops / (ms * 1e-3) / 1e12
    rows.push({name: shape.name, ms: Math.round(ms * 1000) / 1000, tflops: Number(tflops.toPrecision(3))})
    console.log(`${shape.name}: ${ms.toFixed(2)} ms, ${tflops.toPrecision(3)} TFLOP/s`)
    if (options.routes) {
      for (const r of await routeTimes(shape, run)) {
        routes.push(r)
        console.log(`  ${r.kernel} by route: ${Object.entries(r.ms).map(([route, t]) => `${route} ${t} ms`).join(', ')}${r.rejected ? `; left out: ${Object.keys(r.rejected).join(', ')}` : ''}`)
      }
    }
    tf.dispose(operands)
  }
  const result: Result = {backend: describeBackend(choice), label, rows, ...(options.routes ? {routes} : {})}
  if (options.out) writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`)
}

/**
 * One Markdown table — a row per shape, TFLOP/s (and ms) per result file, in the order given — and,
 * for each result timed with --routes, a table of its kernel calls' ms per route ('left out': a route
 * whose values were not the default route's).
 */
function report(results: Result[]): string {
  const names = [...new Set(results.flatMap((r) => r.rows.map((row) => row.name)))]
  const cell = (r: Result, name: string): string => {
    const row = r.rows.find((x) => x.name === name)
    return row ? `${row.tflops} (${row.ms} ms)` : '—'
  }
  const lines = [
    `Product throughput, TFLOP/s (ms per call; float32). ${[...new Set(results.map((r) => r.backend))].join('; ')}.`,
    '',
    `| shape | ${results.map((r) => r.label).join(' | ')} |`,
    `|---|${results.map(() => '---:').join('|')}|`,
    ...names.map((name) => `| ${name} | ${results.map((r) => cell(r, name)).join(' | ')} |`),
  ]
  for (const r of results.filter((x) => x.routes && x.routes.length > 0)) {
    const routes = [...new Set(r.routes!.flatMap((c) => [...Object.keys(c.ms), ...Object.keys(c.rejected ?? {})]))]
    lines.push(
      '',
      `Every route of each kernel call, ms per call (kernel tuning's timing), ${r.label} — ${r.backend}:`,
      '',
      `| shape | kernel | ${routes.join(' | ')} |`,
      `|---|---|${routes.map(() => '---:').join('|')}|`,
      ...r.routes!.map((c) => `| ${c.shape} | ${c.kernel} | ${routes.map((route) => (c.rejected?.[route] ? 'left out' : (c.ms[route]?.toString() ?? '—'))).join(' | ')} |`),
    )
  }
  return `${lines.join('\n')}\n`
}

async function main(): Promise<void> {
  const {positionals, values} = parseArgs({
    allowPositionals: true,
    options: {repeat: {type: 'string', default: '20'}, scale: {type: 'string', default: '1'}, label: {type: 'string'}, out: {type: 'string'}, md: {type: 'string'}, routes: {type: 'boolean', default: false}},
  })
  const [command = 'run', ...files] = positionals
  const scale = numberOption(values.scale, 'scale', {min: 1})
  if (command === 'shapes') console.log(JSON.stringify(shapes(scale), null, 2))
  else if (command === 'report') {
    if (files.length === 0) throw new Error('report needs the result files to set side by side')
    const table = report(files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Result))
    if (values.md) writeFileSync(values.md, table)
    console.log(table)
  } else if (command === 'run') await runShapes({repeat: numberOption(values.repeat, 'repeat', {min: 1, whole: true}), scale, label: values.label, out: values.out, routes: values.routes})
  else throw new Error(`unknown command ${command}: run, shapes or report`)
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`)
    process.exit(1)
  },
)
