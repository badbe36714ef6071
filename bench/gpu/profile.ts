/**
 * Where a WebGPU training step's time goes, per paper row: how long the host takes to record the
 * step (JavaScript: tfjs engine, autodiff tape, layers, bind groups — `issue_ms`), the wall time
 * until the step's loss is back (`step_ms`), and the GPU time of every dispatch measured with
 * timestamp queries (`gpu_ms`, by WGSL program). A step whose `issue_ms` is close to `step_ms` is
 * bound by the host, one whose `gpu_ms` is close to it by the kernels.
 *
 *   node dist/bench/gpu/profile.js [--rows cifar10/resnet18,...] [--repeat 5] [--budget 120]
 *        [--backend webgpu] [--batch N] [--out profile.json] [--md profile.md] [--no-gpu]
 *
 * The GPU times come from tfjs's own `tf.time` (one compute pass and one queue submit per dispatch
 * while it runs, so their sum is a little above what the same kernels take back to back). Needs the
 * adapter's `timestamp-query` feature; without it the GPU columns stay empty.
 */
import {writeFileSync} from 'node:fs'
import {parseArgs} from 'node:util'
import {numberOption} from '../options.js'
import {tf} from '../../src/engine/tf.js'
import '../../src/backends/cpu/index.js'
import {requestedBackend, selectBackend, describeBackend} from '../../src/engine/backend.js'
import {buildRow, ROWS, rowTraining} from './bench.js'

interface ProgramTime {
  program: string
  calls: number
  ms: number
}

interface RowProfile {
  row: string
  batch?: number
  issue_ms?: number
  step_ms?: number
  gpu_ms?: number
  dispatches?: number
  forward_issue_ms?: number
  forward_ms?: number
  forward_gpu_ms?: number
  programs?: ProgramTime[]
  forward_programs?: ProgramTime[]
  error?: string
  skipped?: string
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const r2 = (x: number): number => Math.round(x * 100) / 100

/** GPU time of everything `fn` dispatches, by program, through tfjs's timestamp-query timers. */
async function gpuTimes(fn: () => void): Promise<{total: number; programs: ProgramTime[]}> {
  const info = (await tf.time(fn)) as tf.TimingInfo & {getExtraProfileInfo?: () => string}
  const byName = new Map<string, ProgramTime>()
  // "Name: ms, Name: ms, ..." — the only per-dispatch breakdown tf.time exposes.
  for (const part of (info.getExtraProfileInfo?.() ?? '').split(', ').filter(Boolean)) {
    const at = part.lastIndexOf(': ')
    const name = part.slice(0, at)
    const ms = Number(part.slice(at + 2))
    const entry = byName.get(name) ?? {program: name, calls: 0, ms: 0}
    entry.calls++
    entry.ms += Number.isFinite(ms) ? ms : 0
    byName.set(name, entry)
  }
  const programs = [...byName.values()].sort((a, b) => b.ms - a.ms).map((p) => ({...p, ms: r2(p.ms)}))
  return {total: r2(info.kernelMs as number), programs}
}

/** `gpu`: also the GPU time per kernel (timestamp queries); false for the host's times only (--no-gpu). */
async function profileRow(row: string, batchOverride: number, repeat: number, gpu: boolean): Promise<RowProfile> {
  const built = await buildRow(row, batchOverride)
  const batch = built.batch
  const model = built.model as unknown as {apply(x: tf.Tensor, k?: object): tf.Tensor; dispose(): void}
  const {x, labels, trainer} = await rowTraining(built)
  const out: RowProfile = {row, batch}
  try {
    const issue: number[] = []
    const total: number[] = []
    // As the run command does: kernel routes timed before the first step.
    await trainer.tuneKernels(x, labels)
    for (let i = 0; i < repeat + 2; i++) {
      trainer.resetMetrics()
      const t0 = performance.now()
      trainer.trainStep(x, labels)
      const t1 = performance.now()
      await trainer.readMetrics()
      if (i >= 2) {
        issue.push(t1 - t0)
        total.push(performance.now() - t0)
      }
    }
    const fIssue: number[] = []
    const fTotal: number[] = []
    for (let i = 0; i < repeat + 1; i++) {
      const t0 = performance.now()
      const y = tf.tidy(() => model.apply(x, {training: false}))
      const t1 = performance.now()
      await y.data()
      y.dispose()
      if (i >= 1) {
        fIssue.push(t1 - t0)
        fTotal.push(performance.now() - t0)
      }
    }
    Object.assign(out, {issue_ms: r2(median(issue)), step_ms: r2(median(total)), forward_issue_ms: r2(median(fIssue)), forward_ms: r2(median(fTotal))})
    if (!gpu) return out
    trainer.resetMetrics()
    const step = await gpuTimes(() => trainer.trainStep(x, labels))
    await trainer.readMetrics()
    const forward = await gpuTimes(() => tf.dispose(tf.tidy(() => model.apply(x, {training: false}))))
    Object.assign(out, {
      gpu_ms: step.total,
      dispatches: step.programs.reduce((s, p) => s + p.calls, 0),
      programs: step.programs,
      forward_gpu_ms: forward.total,
      forward_programs: forward.programs.slice(0, 15),
    })
  } finally {
    trainer.dispose()
    tf.dispose([x, labels])
    model.dispose()
  }
  return out
}

/** Host cost of one small element-wise op: recorded (issue) and completed, averaged over many. */
async function opOverhead(): Promise<{issue_us: number; total_us: number}> {
  const a = tf.ones([64, 64])
  const n = 500
  let y = tf.add(a, a)
  await y.data()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const z = tf.add(y, a)
    y.dispose()
    y = z
  }
  const t1 = performance.now()
  await y.data()
  const t2 = performance.now()
  tf.dispose([a, y])
  return {issue_us: r2(((t1 - t0) / n) * 1000), total_us: r2(((t2 - t0) / n) * 1000)}
}

async function main(): Promise<void> {
  const {values} = parseArgs({
    options: {
      rows: {type: 'string', default: ROWS.map((r) => r[0]).join(',')},
      repeat: {type: 'string', default: '5'},
      budget: {type: 'string', default: '120'},
      batch: {type: 'string', default: '0'},
      backend: {type: 'string', default: 'webgpu'},
      out: {type: 'string', default: ''},
      md: {type: 'string', default: ''},
      'no-gpu': {type: 'boolean', default: false},
    },
  })
  const rows = values.rows.split(',').filter(Boolean)
  const repeat = numberOption(values.repeat, 'repeat', {min: 1, whole: true})
  const budget = numberOption(values.budget, 'budget')
  const batch = numberOption(values.batch, 'batch', {whole: true})
  const outFile = values.out
  const mdFile = values.md
  const log = (s: string): void => void process.stderr.write(`${s}\n`)
  const choice = await selectBackend(requestedBackend(values.backend))
  log(describeBackend(choice))
  const start = performance.now()
  const overhead = await opOverhead()
  log(`one small Add: ${overhead.issue_us} µs to record, ${overhead.total_us} µs to complete`)
  const results: RowProfile[] = []
  const write = (): void => {
    const doc = {backend: choice.name, detail: choice.detail, op_overhead: overhead, rows: results}
    if (outFile) writeFileSync(outFile, JSON.stringify(doc, null, 2))
  }
  for (const row of rows) {
    if ((performance.now() - start) / 1000 > budget) {
      results.push({row, skipped: `budget of ${budget} s used up`})
      continue
    }
    try {
      const r = await profileRow(row, batch, repeat, !values['no-gpu'])
      results.push(r)
      if (r.gpu_ms === undefined) {
        log(`${row} b${r.batch}: step ${r.step_ms} ms (host records it in ${r.issue_ms} ms); forward ${r.forward_ms} ms (record ${r.forward_issue_ms}); GPU time not measured (--no-gpu)`)
      } else {
        log(`${row} b${r.batch}: step ${r.step_ms} ms (host records it in ${r.issue_ms} ms; GPU kernels ${r.gpu_ms} ms over ${r.dispatches} dispatches); forward ${r.forward_ms} ms (record ${r.forward_issue_ms}, GPU ${r.forward_gpu_ms})`)
        log(`  top: ${(r.programs ?? []).slice(0, 8).map((p) => `${p.program} ${p.ms}ms/${p.calls}`).join(', ')}`)
      }
    } catch (error) {
      results.push({row, error: (error as Error).stack?.split('\n').slice(0, 3).join(' | ') ?? String(error)})
      log(`${row}: FAILED ${(error as Error).message}`)
    }
    write()
  }
  write()
  const lines = [
    `${choice.detail}; one small Add costs ${overhead.issue_us} µs of host time to record (${overhead.total_us} µs to complete)`,
    '',
    '| row | batch | step ms | host records step ms | GPU kernels ms | dispatches | forward ms | host records fwd ms | GPU fwd ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map((r) =>
      r.error || r.skipped
        ? `| ${r.row} | ${r.error ? `failed: ${r.error.slice(0, 60)}` : r.skipped} |||||||`
        : `| ${r.row} | ${r.batch} | ${r.step_ms} | ${r.issue_ms} | ${r.gpu_ms} | ${r.dispatches} | ${r.forward_ms} | ${r.forward_issue_ms} | ${r.forward_gpu_ms} |`,
    ),
    '',
    'GPU time per training step by WGSL program (ms / dispatches), top 10:',
    '',
    ...results.filter((r) => r.programs).map((r) => `- ${r.row}: ${r.programs!.slice(0, 10).map((p) => `${p.program} ${p.ms}/${p.calls}`).join(', ')}`),
  ]
  const text = `${lines.join('\n')}\n`
  process.stdout.write(text)
  if (mdFile) writeFileSync(mdFile, text)
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`)
    process.exit(1)
  },
)
