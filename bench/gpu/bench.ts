/**
 * GPU benchmark of the paper rows on the WebGPU backend: for each row at its paper batch size, the
 * evaluation forward (`Trainer.evalStep`: inference mode, metric sums) and one full training step (the project's `Trainer.trainStep`:
 * forward in training mode, softmax cross-entropy, gradients, the `MixtureAdam` update), median
 * milliseconds after warm-up, synchronised by reading the result back; plus the compute dispatches
 * one step and one forward record (by tfjs kernel), which do not depend on the device.
 *
 *   node dist/bench/gpu/bench.js run [--rows cifar10/resnet18,...] [--repeat 5] [--warmup 6]
 *        [--budget 240] [--backend webgpu] [--batch N] [--set key=value ...] [--out webgpu.json]
 *   node dist/bench/gpu/bench.js report --webgpu webgpu.json [--torch torch.json] [--torch-tf32 torch-tf32.json] [--variant other.json ...]
 *        --md out.md --json out.json
 *
 * Rows are the paper configs (configs/paper/<table>/<row>.yaml), or any spec file given by its path
 * (ending in .yaml), with the `--set` overrides applied, built by the project's own `resolveSpec` +
 * `buildModel`; one failing row is reported and the rest still run.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {parseArgs} from 'node:util'
import {numberOption} from '../options.js'
import {tf} from '../../src/engine/tf.js'
import '../../src/backends/cpu/index.js'
import {requestedBackend, selectBackend, describeBackend} from '../../src/engine/backend.js'
import {PRECISIONS, type Precision} from '../../src/engine/precision.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

/** Paper rows: config path under configs/paper → the row name in bench/torch/models.py. */
export const ROWS: [string, string][] = [
  ['cifar10/resnet18', 'resnet18'],
  ['cifar10/vit', 'vit'],
  ['cifar10/alternating-1block', 'alternating-1block'],
  ['cifar10/joint-1block', 'joint-1block'],
  ['cifar10/alternating-2block', 'alternating-2block'],
  ['cifar10/joint-2block', 'joint-2block'],
  ['stl10-perceiver/perceiver', 'perceiver'],
  ['stl10-perceiver/perceiver-baseline', 'perceiver-baseline'],
  ['stl10-perceiver/alternating-1block', 'p-alternating-1block'],
  ['stl10-perceiver/joint-1block', 'p-joint-1block'],
  ['stl10-perceiver/alternating-2block', 'p-alternating-2block'],
  ['stl10-perceiver/joint-2block', 'p-joint-2block'],
  ['stl10-perceiver/cnn', 'cnn'],
]

/** One product or convolution call of a row's training step (`capturedCalls`). */
export interface TunedCallRecord {
  kernel: string
  inputs: Record<string, number[]>
  attrs: Record<string, unknown>
  /** Times per training step. */
  count: number
  route: string
  /** Milliseconds per call by route (one entry for a call with one route; none where the tuning budget ran out). */
  ms: Record<string, number>
  error?: string
  /** Routes left out because their values were not the project route's (tune.ts), with how far off. */
  rejected?: Record<string, string>
}

export interface RowResult {
  row: string
  torch_row: string
  batch?: number
  image?: number
  params?: number
  forward_ms?: number
  step_ms?: number
  forward_ms_all?: number[]
  step_ms_all?: number[]
  /** Host time to record one step (trainStep returning, before the GPU is waited for), median. */
  issue_ms?: number
  /** Bind groups created per timed step (recording-cache misses after warm-up; webgpu only). */
  bind_groups_per_step?: number
  /** Timed steps replayed from a recording (src/backends/webgpu/graph.ts), and how the replay went. */
  replayed_steps?: number
  timed_steps?: number
  step_graph?: string
  /** What kernel tuning chose before the first step (src/backends/webgpu/tune.ts), and every product/convolution call of the row's step. */
  kernel_tuning?: string
  tuned_calls?: TunedCallRecord[]
  first_step_ms?: number
  dispatches_forward?: number
  dispatches_step?: number
  submits_step?: number
  uploads_step?: number
  step_by_kernel?: [string, number][]
  last_loss?: number
  error?: string
  skipped?: string
}

interface Args {
  command: string
  rows: string[]
  repeat: number
  warmup: number
  budget: number
  backend: string
  batch: number
  /** `--set` overrides applied to every row's spec. */
  sets: string[]
  out?: string
  webgpu?: string
  torch?: string
  /** PyTorch's results with TF32 on (torch_gpu.py --precision tf32), for a second ratio. */
  torchTf32?: string
  variants: string[]
  label?: string
  md?: string
  json?: string
  count: boolean
  /** engine.precision of the rows (`--precision mixed16`: AMP's numerics, loss scaled). */
  precision: Precision
}

function parseArguments(argv: string[]): Args {
  const {positionals, values} = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      rows: {type: 'string'},
      repeat: {type: 'string', default: '5'},
      warmup: {type: 'string', default: '6'},
      budget: {type: 'string', default: '240'},
      backend: {type: 'string', default: 'webgpu'},
      batch: {type: 'string', default: '0'},
      set: {type: 'string', multiple: true, default: []},
      out: {type: 'string'},
      webgpu: {type: 'string'},
      torch: {type: 'string'},
      'torch-tf32': {type: 'string'},
      variant: {type: 'string', multiple: true, default: []},
      label: {type: 'string'},
      md: {type: 'string'},
      json: {type: 'string'},
      'no-count': {type: 'boolean', default: false},
      precision: {type: 'string', default: 'fp32'},
    },
  })
  if (!(PRECISIONS as readonly string[]).includes(values.precision)) throw new Error(`--precision must be one of ${PRECISIONS.join(', ')}, not ${values.precision}`)
  return {
    command: positionals[0] ?? 'run',
    rows: values.rows ? values.rows.split(',').filter(Boolean) : ROWS.map((r) => r[0]),
    repeat: numberOption(values.repeat, 'repeat', {whole: true}),
    warmup: numberOption(values.warmup, 'warmup', {whole: true}),
    budget: numberOption(values.budget, 'budget'),
    backend: values.backend,
    batch: numberOption(values.batch, 'batch', {whole: true}),
    sets: values.set,
    out: values.out,
    webgpu: values.webgpu,
    torch: values.torch,
    torchTf32: values['torch-tf32'],
    variants: values.variant,
    label: values.label,
    md: values.md,
    json: values.json,
    count: !values['no-count'],
    precision: values.precision as Precision,
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const round = (x: number): number => Math.round(x * 100) / 100

export interface Built {
  model: {apply(x: tf.Tensor, kwargs?: Record<string, unknown>): unknown; trainableWeights: {read(): tf.Tensor}[]; dispose(): void}
  params: number
  batch: number
  image: number
  lr: number
}

type TrainerType = InstanceType<typeof import('../../src/engine/trainer.js').Trainer>

/** The precision the rows train in (`--precision`), set once the backend is selected in it. */
let precision: Precision = 'fp32'

/** The project's Trainer (the paper's Adam settings; in mixed16, GradScaler's loss scaling) for a built row. */
async function newTrainer(built: Built): Promise<TrainerType> {
  const {Trainer} = await import('../../src/engine/trainer.js')
  const lossScale = precision === 'mixed16' ? {lossScale: {init: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2000}} : {}
  return new Trainer(built.model as unknown as ConstructorParameters<typeof Trainer>[0], {lr: built.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4}, lossScale)
}

/** A fixed random batch, labels and a Trainer for a built row. */
export async function rowTraining(built: Built): Promise<{x: tf.Tensor4D; labels: tf.Tensor1D; trainer: TrainerType}> {
  const x = tf.randomUniform([built.batch, built.image, built.image, 3], 0, 1, 'float32', 1) as tf.Tensor4D
  const labels = tf.tensor1d(Array.from({length: built.batch}, (_, i) => i % 10), 'int32')
  return {x, labels, trainer: await newTrainer(built)}
}

/** Resolve the paper config (or the spec file a row ending in .yaml names) with `sets` applied, and build it with the project's own builder. */
export async function buildRow(row: string, batchOverride: number, sets: string[] = []): Promise<Built> {
  await import('../../src/builtins.js')
  const {resolveSpec} = await import('../../src/config/resolve.js')
  const {buildModel} = await import('../../src/model/build.js')
  const file = row.endsWith('.yaml') ? resolve(row) : join(ROOT, 'configs', 'paper', `${row}.yaml`)
  const {spec} = await resolveSpec(file, sets)
  const built = buildModel(spec)
  const train = (spec as unknown as {train?: {batch_size?: number; optimizer?: {lr?: number}}}).train ?? {}
  return {
    model: built.model as unknown as Built['model'],
    params: built.params,
    batch: batchOverride > 0 ? batchOverride : (train.batch_size ?? 64),
    image: built.inputShape[0],
    lr: train.optimizer?.lr ?? 1e-3,
  }
}

async function timeIt(n: number, fn: () => Promise<void>): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await fn()
    out.push(performance.now() - t0)
  }
  return out
}

async function benchRow(row: string, torchRow: string, args: Args, log: (s: string) => void): Promise<RowResult> {
  const result: RowResult = {row, torch_row: torchRow}
  const built = await buildRow(row, args.batch, args.sets)
  Object.assign(result, {batch: built.batch, image: built.image, params: built.params})
  const {x, labels, trainer} = await rowTraining(built)
  try {
    // The forward as the run command evaluates a batch: `Trainer.evalStep` (inference mode, loss and
    // correct count summed on the device; replayed like the training step once recorded).
    const forward = async (): Promise<void> => {
      trainer.resetMetrics()
      trainer.evalStep(x, labels)
      await trainer.readMetrics()
    }
    // The project's own training step; reading its on-device loss sum back is the synchronisation.
    const issued: number[] = []
    const step = async (): Promise<void> => {
      trainer.resetMetrics()
      const t0 = performance.now()
      await trainer.trainStep(x, labels)
      issued.push(performance.now() - t0)
      result.last_loss = (await trainer.readMetrics()).loss
    }
    // As the run command does: the kernel routes timed on this row's shapes before its first step.
    result.kernel_tuning = await trainer.tuneKernels(x, labels)
    if (result.kernel_tuning) log(`  kernel tuning: ${result.kernel_tuning}`)
    result.tuned_calls = await capturedCalls()
    const t0 = performance.now()
    await step()
    result.first_step_ms = round(performance.now() - t0)
    log(`  first step ${result.first_step_ms} ms (includes pipeline compilation)`)
    // Rows whose step is slow get fewer repeats so that the whole run fits its budget. The second
    // step decides (the first compiles every pipeline: seconds on a GPU, not the step's cost).
    const t1 = performance.now()
    await step()
    const perStep = performance.now() - t1
    const repeat = perStep > 20000 ? 1 : perStep > 5000 ? Math.min(args.repeat, 2) : args.repeat
    // Warm-up lets the recording caches settle (bind groups repeat once the buffer pool has) and
    // the step be recorded for replay (from the fourth or fifth step of a shape).
    const warmup = perStep > 5000 ? 0 : Math.max(0, args.warmup - 2)
    await timeIt(warmup, step)
    issued.length = 0
    const cacheBefore = await bindGroupMisses()
    const replayedBefore = trainer.replayedSteps
    const steps = await timeIt(repeat, step)
    const cacheAfter = await bindGroupMisses()
    Object.assign(result, {replayed_steps: trainer.replayedSteps - replayedBefore, timed_steps: repeat})
    result.issue_ms = round(median(issued))
    if (cacheBefore != null && cacheAfter != null) result.bind_groups_per_step = round((cacheAfter - cacheBefore) / repeat)
    // Warm-up as for the steps: an evaluation shape is replayed from its fourth or fifth call.
    await timeIt(perStep > 5000 ? 1 : Math.max(6, Math.min(warmup, 10)), forward)
    const fwds = await timeIt(repeat, forward)
    result.step_graph = trainer.describeStepGraphs().join('; ') || undefined
    Object.assign(result, {step_ms: round(median(steps)), forward_ms: round(median(fwds)), step_ms_all: steps.map(round), forward_ms_all: fwds.map(round)})
    if (args.count && tf.getBackend() === 'webgpu') {
      const {countDispatches} = await import('../../src/backends/webgpu/dispatches.js')
      // What a step records through tfjs, by kernel: the first step of a new trainer (nothing
      // recorded for it yet); the timed trainer's steps are replayed and counted as one submit.
      const fresh = await newTrainer(built)
      const s = await countDispatches(async () => {
        await fresh.trainStep(x, labels)
        await fresh.readMetrics()
      })
      const f = await countDispatches(async () => {
        fresh.resetMetrics()
        fresh.evalStep(x, labels)
        await fresh.readMetrics()
      })
      fresh.dispose()
      const replayed = await countDispatches(step)
      Object.assign(result, {
        dispatches_step: s.count.dispatches,
        submits_step: replayed.count.submits,
        uploads_step: replayed.count.uploads,
        dispatches_forward: f.count.dispatches,
        step_by_kernel: s.count.byKernel.slice(0, 25),
      })
    }
  } finally {
    trainer.dispose()
    tf.dispose([x, labels])
    built.model.dispose()
  }
  return result
}

/**
 * Every product and convolution call of the row's step (webgpu with tuning on): shapes,
 * attributes, how often it comes per step, the route it takes and its ms per route where timed
 * (for bench/gpu/torch_ops.py, which times the same calls in PyTorch).
 */
async function capturedCalls(): Promise<TunedCallRecord[] | undefined> {
  if (tf.getBackend() !== 'webgpu') return undefined
  const {lastCapture} = await import('../../src/backends/webgpu/tune.js')
  const calls = lastCapture()
  if (calls.length === 0) return undefined
  return calls.map(({call, count, decision}) => ({
    kernel: call.kernelName,
    inputs: Object.fromEntries(call.inputs.map(([name, shape]) => [name, shape])),
    attrs: call.attrs,
    count,
    route: decision?.route ?? 'project',
    ms: Object.fromEntries(Object.entries(decision?.times ?? {}).map(([r, t]) => [r, Math.round(t * 1e4) / 1e4])),
    ...(decision?.error ? {error: decision.error} : {}),
    ...(decision?.rejected ? {rejected: decision.rejected} : {}),
  }))
}

/** Bind groups the WebGPU recording caches have created so far (undefined off webgpu or with the caches off). */
async function bindGroupMisses(): Promise<number | undefined> {
  if (tf.getBackend() !== 'webgpu') return undefined
  const {recordingStats} = await import('../../src/backends/webgpu/record.js')
  return recordingStats(tf.backend() as never)?.misses
}

/** Which normalisation path the layers take on this backend (src/ops/batchnorm.ts and layernorm.ts decide). */
async function fuseNorms(): Promise<string> {
  const {hasFusedBatchNorm} = await import('../../src/ops/batchnorm.js')
  const {hasFusedLayerNorm} = await import('../../src/ops/layernorm.js')
  return hasFusedBatchNorm() && hasFusedLayerNorm() ? 'fused kernels' : 'closed-form composites'
}

async function run(args: Args): Promise<void> {
  const log = (s: string): void => void process.stderr.write(`${s}\n`)
  const start = performance.now()
  const choice = await selectBackend(requestedBackend(args.backend), {precision: args.precision})
  precision = args.precision
  if (precision !== 'fp32') log(`precision: ${precision}`)
  log(describeBackend(choice))
  const norms = await fuseNorms()
  log(`norm layers: ${norms}`)
  const results: RowResult[] = []
  const torchName = new Map(ROWS)
  for (const row of args.rows) {
    const torchRow = torchName.get(row) ?? row.split('/').pop()!
    const elapsed = (performance.now() - start) / 1000
    if (elapsed > args.budget) {
      results.push({row, torch_row: torchRow, skipped: `time budget of ${args.budget} s used up`})
      log(`${row}: skipped (budget)`)
      continue
    }
    log(`${row} (${elapsed.toFixed(0)} s elapsed)`)
    try {
      const r = await benchRow(row, torchRow, args, log)
      results.push(r)
      log(`  batch ${r.batch}: forward ${r.forward_ms} ms, step ${r.step_ms} ms (host ${r.issue_ms} ms), ${r.dispatches_step ?? '-'} dispatches/step, ${r.bind_groups_per_step ?? '-'} new bind groups/step, ${r.replayed_steps ?? 0} of ${r.timed_steps ?? '-'} timed steps replayed${r.step_graph ? ` (${r.step_graph})` : ''}`)
    } catch (error) {
      const message = (error as Error).stack?.split('\n').slice(0, 3).join(' | ') ?? String(error)
      results.push({row, torch_row: torchRow, error: message})
      log(`  FAILED: ${message}`)
    }
    if (args.out) writeFileSync(args.out, JSON.stringify({label: args.label, backend: choice.name, detail: choice.detail, norms, rows: results}, null, 2))
  }
  const doc = {label: args.label, backend: choice.name, detail: choice.detail, norms, rows: results}
  log(`peak_rss_mb=${Math.round(process.resourceUsage().maxRSS / 1024)}`)
  if (args.out) writeFileSync(args.out, JSON.stringify(doc, null, 2))
  else process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`)
}

export interface TorchRow {
  row: string
  batch?: number
  forward_ms?: number | null
  step_ms?: number | null
  error?: string
}

function report(args: Args): void {
  if (!args.webgpu) throw new Error('report needs --webgpu <file>')
  const ours = JSON.parse(readFileSync(args.webgpu, 'utf8')) as {backend: string; detail: string; norms?: string; rows: RowResult[]}
  const readTorch = (file?: string): {device?: string; rows: TorchRow[]} => {
    try {
      return file ? JSON.parse(readFileSync(file, 'utf8')) : {rows: []}
    } catch (error) {
      return {device: `unreadable: ${(error as Error).message}`, rows: []}
    }
  }
  const torch = readTorch(args.torch)
  const tf32 = readTorch(args.torchTf32)
  const byName = new Map(torch.rows.map((r) => [r.row, r]))
  const tf32ByName = new Map(tf32.rows.map((r) => [r.row, r]))
  const fmt = (v: number | null | undefined): string => (v == null ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(1))
  const ratio = (a?: number | null, b?: number | null): string => (a != null && b != null && b > 0 ? `${(a / b).toFixed(1)}×` : '-')
  const lines = [
    `WebGPU: ${ours.detail} (backend ${ours.backend}); norm layers: ${ours.norms ?? '?'}`,
    `PyTorch: ${torch.device ?? 'no result'}${args.torchTf32 ? `; with TF32 on: ${tf32.device ?? 'no result'}` : ''}`,
    '',
    '| row | batch | WebGPU fwd ms | torch fwd ms | fwd ratio | WebGPU step ms | host ms/step | torch step ms | step ratio | torch TF32 step ms | step ratio vs TF32 | dispatches/step | dispatches/fwd | steps replayed |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ]
  const merged = ours.rows.map((r) => {
    const t = byName.get(r.torch_row)
    const t32 = tf32ByName.get(r.torch_row)
    const note = r.error ? ` (failed: ${r.error.slice(0, 80)})` : r.skipped ? ` (${r.skipped})` : ''
    lines.push(
      `| ${r.row}${note} | ${r.batch ?? '-'} | ${fmt(r.forward_ms)} | ${fmt(t?.forward_ms)} | ${ratio(r.forward_ms, t?.forward_ms)} | ${fmt(r.step_ms)} | ${fmt(r.issue_ms)} | ${fmt(t?.step_ms)} | ${ratio(r.step_ms, t?.step_ms)} | ${fmt(t32?.step_ms)} | ${ratio(r.step_ms, t32?.step_ms)} | ${r.dispatches_step ?? '-'} | ${r.dispatches_forward ?? '-'} | ${r.timed_steps ? `${r.replayed_steps ?? 0}/${r.timed_steps}` : '-'} |`,
    )
    return {...r, torch: t ?? null, torch_tf32: t32 ?? null}
  })
  const withKernels = ours.rows.filter((r) => r.step_by_kernel)
  if (withKernels.length > 0) {
    lines.push('', 'Dispatches per training step by tfjs kernel (top 12):', '')
    for (const r of withKernels) {
      lines.push(`- ${r.row}: ${r.step_by_kernel!.slice(0, 12).map(([k, n]) => `${k} ${n}`).join(', ')}`)
    }
  }
  const tuned = ours.rows.filter((r) => r.kernel_tuning)
  if (tuned.length > 0) {
    lines.push('', 'Kernel tuning before the first step (src/backends/webgpu/tune.ts; calls already timed for an earlier row are not timed again):', '')
    for (const r of tuned) lines.push(`- ${r.row}: ${r.kernel_tuning}`)
  }
  // Variants: the same rows run under other settings (e.g. MIXTURE_WEBGPU_FUSED=0), each file labelled.
  const variants: {label: string; rows: RowResult[]}[] = []
  for (const file of args.variants) {
    try {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as {label?: string; rows: RowResult[]}
      variants.push({label: doc.label ?? file, rows: doc.rows})
    } catch {
      // a variant that did not run leaves no file
    }
  }
  for (const variant of variants) {
    for (const u of variant.rows.filter((r) => r.step_ms != null)) {
      const base = ours.rows.find((r) => r.row === u.row)
      lines.push(
        '',
        `${variant.label}, ${u.row}: forward ${fmt(u.forward_ms)} ms, step ${fmt(u.step_ms)} ms (host ${fmt(u.issue_ms)} ms), ${u.dispatches_step ?? '-'} dispatches/step` +
          (base?.step_ms != null ? ` (default settings: forward ${fmt(base.forward_ms)} ms, step ${fmt(base.step_ms)} ms (host ${fmt(base.issue_ms)} ms), ${base.dispatches_step ?? '-'} dispatches)` : ''),
        `  top kernels: ${(u.step_by_kernel ?? []).slice(0, 12).map(([k, n]) => `${k} ${n}`).join(', ')}`,
      )
    }
  }
  const text = `${lines.join('\n')}\n`
  process.stdout.write(text)
  if (args.md) writeFileSync(args.md, text)
  if (args.json) writeFileSync(args.json, JSON.stringify({webgpu: {backend: ours.backend, detail: ours.detail}, torch_device: torch.device ?? null, torch_tf32_device: tf32.device ?? null, rows: merged, variants}, null, 2))
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2))
  if (args.command === 'run') await run(args)
  else if (args.command === 'report') report(args)
  else throw new Error(`unknown command ${args.command}: use run or report`)
}

// Run only as a script: bench/cpu.ts imports ROWS from here.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`${(error as Error).stack ?? error}\n`)
      process.exit(1)
    },
  )
}
