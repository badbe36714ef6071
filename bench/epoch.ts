/**
 * A CLI epoch against the steps it is made of: for each paper row, `mixture run` on synthetic images
 * of the row's shape with each `engine.data_workers` setting asked for, and the row's training step
 * timed alone (bench/gpu/bench.ts: the project's `Trainer.trainStep` on one fixed batch, median after
 * warm-up, replayed where the backend replays). Prints, per row and setting, the last epoch's
 * training time, the time the loop waited for batches (metrics.csv `data_seconds`), steps × step
 * time, their ratio, the evaluation time, and with `--torch` the same model's epoch in PyTorch
 * (bench/gpu/torch_epoch.py). Measured numbers only; asserts nothing.
 *
 *   node dist/bench/epoch.js --backend native --rows cifar10/resnet18,stl10-perceiver/perceiver \
 *        --workers 0,1,auto --train 1024 --test 256 --train96 256 --test96 64 [--epochs 2] [--rounds 1]
 *        [--batch N] [--set key=value ...] [--step-repeat 5] [--step-warmup 20] [--budget 900]
 *        [--torch torch-epoch.json] [--out epoch.json] [--md epoch.md]
 *
 * A row is a paper config (configs/paper/<row>.yaml) or a spec file's path ending in .yaml; `--set`
 * overrides apply to both the run and the timed step, and `--batch N` is `--set train.batch_size=N`.
 *   node dist/bench/epoch.js report --in a.json [--in b.json ...] [--torch t.json ...] [--md out.md]
 *        one table from several runs' --out files (bench/gpu/run.sh measures row by row)
 *
 * `--train`/`--test` size the 32×32 rows' synthetic splits, `--train96`/`--test96` the 96×96 rows'
 * (default: the same). `--rounds 2` runs the settings twice, interleaved (0, auto, 0, auto), so that
 * a shared machine's load falls on both alike. Rows past `--budget` seconds are skipped.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {numberOption} from './options.js'
import {ROWS} from './gpu/bench.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

interface Args {
  rows: string[]
  backend: string
  workers: string[]
  train: number
  test: number
  train96?: number
  test96?: number
  epochs: number
  steps?: number
  batch?: number
  sets: string[]
  rounds: number
  stepRepeat: number
  stepWarmup: number
  budget: number
  torch?: string
  out?: string
  md?: string
}

function parseArguments(argv: string[]): Args {
  const {values} = parseArgs({
    args: argv,
    options: {
      rows: {type: 'string', default: 'cifar10/resnet18,stl10-perceiver/perceiver'},
      backend: {type: 'string', default: 'webgpu'},
      workers: {type: 'string', default: '0,auto'},
      train: {type: 'string', default: '4096'},
      test: {type: 'string', default: '1024'},
      train96: {type: 'string'},
      test96: {type: 'string'},
      epochs: {type: 'string', default: '2'},
      steps: {type: 'string'},
      batch: {type: 'string'},
      set: {type: 'string', multiple: true, default: []},
      rounds: {type: 'string', default: '1'},
      'step-repeat': {type: 'string', default: '5'},
      'step-warmup': {type: 'string', default: '20'},
      budget: {type: 'string', default: '900'},
      torch: {type: 'string'},
      out: {type: 'string'},
      md: {type: 'string'},
    },
  })
  const list = (raw: string): string[] => raw.split(',').filter(Boolean)
  return {
    rows: list(values.rows),
    backend: values.backend,
    workers: list(values.workers),
    train: numberOption(values.train, 'train', {whole: true}),
    test: numberOption(values.test, 'test', {whole: true}),
    train96: numberOption(values.train96, 'train96', {whole: true}),
    test96: numberOption(values.test96, 'test96', {whole: true}),
    epochs: numberOption(values.epochs, 'epochs', {whole: true}),
    steps: numberOption(values.steps, 'steps', {whole: true}),
    batch: numberOption(values.batch, 'batch', {whole: true}),
    sets: values.set,
    rounds: numberOption(values.rounds, 'rounds', {whole: true}),
    stepRepeat: numberOption(values['step-repeat'], 'step-repeat', {whole: true}),
    stepWarmup: numberOption(values['step-warmup'], 'step-warmup', {whole: true}),
    budget: numberOption(values.budget, 'budget'),
    torch: values.torch,
    out: values.out,
    md: values.md,
  }
}

interface EpochRun {
  workers: string
  /** What the run said about its data workers (none: batches on the training thread). */
  data_line: string | null
  steps: number
  train_seconds: number
  data_seconds: number
  eval_seconds: number
  /** Every epoch's training seconds (the first includes what only the first epoch does: recording, replay set-up). */
  train_seconds_all: number[]
  error?: string
}

interface RowEpochs {
  row: string
  torch_row: string
  image?: number
  batch?: number
  step_ms?: number
  step_error?: string
  runs: EpochRun[]
  skipped?: string
}

const log = (s: string): void => void process.stderr.write(`${s}\n`)

/** The first stderr line of a run: the backend and its detail. */
let backendDetail = ''

/** The spec file of a row. */
function specFile(row: string): string {
  return row.endsWith('.yaml') ? resolve(row) : join(ROOT, 'configs', 'paper', `${row}.yaml`)
}

/** The overrides every run and step of `args` gets. */
function overrides(args: Args): string[] {
  return [...args.sets, ...(args.batch ? [`train.batch_size=${args.batch}`] : [])]
}

/** The row's training step alone, as bench/gpu/bench.ts times it. */
function stepTime(row: string, args: Args, dir: string): {step_ms?: number; batch?: number; image?: number; error?: string} {
  const out = join(dir, 'step.json')
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'bench', 'gpu', 'bench.js'), 'run', '--backend', args.backend, '--rows', row, '--repeat', String(args.stepRepeat), '--warmup', String(args.stepWarmup), '--no-count', '--out', out, ...(args.batch ? ['--batch', String(args.batch)] : []), ...args.sets.flatMap((s) => ['--set', s])], {
    encoding: 'utf8',
    env: process.env,
    timeout: 600_000,
  })
  try {
    const doc = JSON.parse(readFileSync(out, 'utf8')) as {rows: {step_ms?: number; batch?: number; image?: number; error?: string}[]}
    const res = doc.rows[0]
    return res.step_ms != null ? {step_ms: res.step_ms, batch: res.batch, image: res.image} : {error: res.error ?? 'no step time', batch: res.batch, image: res.image}
  } catch {
    return {error: `bench/gpu/bench.js exited ${r.status}: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`}
  }
}

/** One `mixture run` of the row on synthetic data with `engine.data_workers` = `workers`; its last epoch. */
function cliEpoch(row: string, image: number, workers: string, args: Args, dir: string): EpochRun {
  const [train, test] = image >= 96 ? [args.train96 ?? args.train, args.test96 ?? args.test] : [args.train, args.test]
  const out = mkdtempSync(join(dir, 'run-'))
  const sets = [...overrides(args), `data.dataset=synthetic`, `data.synthetic.train=${train}`, `data.synthetic.test=${test}`, `train.epochs=${args.epochs}`, `engine.data_workers=${workers}`, ...(args.steps ? [`train.steps_per_epoch=${args.steps}`] : [])]
  const argv = [join(ROOT, 'bin', 'run.js'), 'run', specFile(row), '--backend', args.backend, '--out', out, '--no-progress', '--json', ...sets.flatMap((s) => ['--set', s])]
  const r = spawnSync(process.execPath, argv, {encoding: 'utf8', env: process.env, timeout: 1_800_000, maxBuffer: 64 * 2 ** 20})
  const stderrLines = (r.stderr ?? '').split('\n')
  const dataLine = stderrLines.find((l) => l.startsWith('data: ')) ?? null
  backendDetail ||= stderrLines.find((l) => l.startsWith('backend: '))?.slice('backend: '.length) ?? ''
  try {
    const summary = JSON.parse(r.stdout) as {run_dir: string}
    const [header, ...lines] = readFileSync(join(summary.run_dir, 'metrics.csv'), 'utf8').trim().split('\n')
    const keys = header.split(',')
    const rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [keys[i], Number(v)])))
    const last = rows[rows.length - 1]
    const batch = Number(/of batch (\d+)/.exec(r.stderr ?? '')?.[1] ?? NaN)
    const steps = Math.min(Math.ceil(train / batch), args.steps ?? Infinity)
    return {workers, data_line: dataLine, steps, train_seconds: last.train_seconds, data_seconds: last.data_seconds, eval_seconds: last.eval_seconds, train_seconds_all: rows.map((x) => x.train_seconds)}
  } catch {
    const tail = `${r.stderr ?? ''}`.trim().split('\n').slice(-4).join(' | ')
    return {workers, data_line: dataLine, steps: 0, train_seconds: NaN, data_seconds: NaN, eval_seconds: NaN, train_seconds_all: [], error: `mixture run exited ${r.status ?? r.signal}: ${tail}`}
  } finally {
    rmSync(out, {recursive: true, force: true})
  }
}

interface TorchEpochRow {
  row: string
  train_seconds?: number
  eval_seconds?: number
  num_workers?: number
  pin_memory?: boolean
  error?: string
}

function fmt(x: number | undefined, digits = 2): string {
  return x == null || !Number.isFinite(x) ? '-' : x.toFixed(digits)
}

interface EpochDoc {
  backend: string
  detail: string
  args: Args
  rows: RowEpochs[]
}

interface TorchDoc {
  device?: string
  rows: TorchEpochRow[]
}

function markdown(doc: EpochDoc, torch: TorchDoc | undefined): string {
  const a = doc.args
  const lines = [
    `Backend: ${doc.detail || doc.backend}.${overrides(a).length > 0 ? ` Overrides: ${overrides(a).map((o) => `\`${o}\``).join(', ')}.` : ''} Synthetic data: ${a.train} train / ${a.test} test images for a 32×32 row, ${a.train96 ?? a.train} / ${a.test96 ?? a.test} for a 96×96 row; ${a.epochs} epochs, the last one shown${a.steps ? `, at most ${a.steps} steps each` : ''}. Step: median of ${a.stepRepeat} after ${a.stepWarmup} warm-up.`,
    ...(torch ? [`PyTorch: ${torch.device ?? '?'} (bench/gpu/torch_epoch.py: DataLoader with ${torch.rows.find((r) => r.num_workers != null)?.num_workers ?? '?'} workers${torch.rows.some((r) => r.pin_memory) ? ' and pinned memory' : ''}, the same flip + colour jitter).`] : []),
    '',
    `| row | batch | data workers | steps | step ms | steps × step s | epoch train s | waited for data s | train ÷ (steps × step) | eval s | train + eval s${torch ? ' | PyTorch train + eval s | ours ÷ PyTorch' : ''} |`,
    `|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:${torch ? '|---:|---:' : ''}|`,
  ]
  for (const r of doc.rows) {
    if (r.skipped || r.runs.length === 0) {
      lines.push(`| ${r.row} | ${r.batch ?? '-'} | ${r.skipped ?? r.step_error ?? 'no run'} |`)
      continue
    }
    const t = torch?.rows.find((x) => x.row === r.torch_row)
    const torchEpoch = t && t.train_seconds != null && t.eval_seconds != null ? t.train_seconds + t.eval_seconds : undefined
    for (const run of r.runs) {
      const ideal = r.step_ms != null ? (run.steps * r.step_ms) / 1000 : undefined
      const started = Number(/data: (\d+) worker/.exec(run.data_line ?? '')?.[1] ?? 0)
      const workers = `${run.workers} (${started === 0 ? 'none' : started === 1 ? '1 thread' : `${started} threads`})`
      if (run.error) {
        lines.push(`| ${r.row} | ${r.batch ?? '-'} | ${workers} | failed: ${run.error.replace(/\|/g, '/')} |`)
        continue
      }
      const epoch = run.train_seconds + run.eval_seconds
      lines.push(
        `| ${r.row} | ${r.batch ?? '-'} | ${workers} | ${run.steps} | ${fmt(r.step_ms)} | ${fmt(ideal)} | ${fmt(run.train_seconds)} | ${fmt(run.data_seconds)} | ${ideal ? `${fmt(run.train_seconds / ideal)}×` : '-'} | ${fmt(run.eval_seconds)} | ${fmt(epoch)}` +
          (torch ? ` | ${fmt(torchEpoch)} | ${torchEpoch ? `${fmt(epoch / torchEpoch)}×` : t?.error ? t.error.replace(/\|/g, '/') : '-'}` : '') +
          ' |',
      )
    }
  }
  return `${lines.join('\n')}\n`
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T
  } catch (error) {
    log(`${file}: ${(error as Error).message}`)
    return undefined
  }
}

/** `report`: the rows of several --out files (the first one's settings head the table) and of several torch_epoch.py files, in one table. */
function report(argv: string[]): void {
  const files = {in: [] as string[], torch: [] as string[], md: undefined as string | undefined}
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--in') files.in.push(argv[i + 1])
    else if (argv[i] === '--torch') files.torch.push(argv[i + 1])
    else if (argv[i] === '--md') files.md = argv[i + 1]
    else throw new Error(`report: unknown option ${argv[i]}`)
  }
  const docs = files.in.map((f) => readJson<EpochDoc>(f)).filter((d): d is EpochDoc => d !== undefined)
  if (docs.length === 0) throw new Error('report: no readable --in file')
  const torchDocs = files.torch.map((f) => readJson<TorchDoc>(f)).filter((d): d is TorchDoc => d !== undefined)
  const torch = torchDocs.length > 0 ? {device: torchDocs[0].device, rows: torchDocs.flatMap((d) => d.rows)} : undefined
  const md = markdown({...docs[0], rows: docs.flatMap((d) => d.rows)}, torch)
  process.stdout.write(md)
  if (files.md) writeFileSync(files.md, md)
}

async function main(): Promise<void> {
  if (process.argv[2] === 'report') return report(process.argv.slice(3))
  const args = parseArguments(process.argv.slice(2))
  const dir = mkdtempSync(join(tmpdir(), 'mixture-epoch-bench-'))
  const torchName = new Map(ROWS)
  const start = performance.now()
  const rows: RowEpochs[] = []
  try {
    for (const row of args.rows) {
      const torchRow = torchName.get(row) ?? row.split('/').pop()!
      const elapsed = (performance.now() - start) / 1000
      if (elapsed > args.budget) {
        rows.push({row, torch_row: torchRow, runs: [], skipped: `time budget of ${args.budget} s used up`})
        log(`${row}: skipped (budget)`)
        continue
      }
      log(`${row} (${elapsed.toFixed(0)} s elapsed): step time`)
      const step = stepTime(row, args, dir)
      const result: RowEpochs = {row, torch_row: torchRow, image: step.image, batch: step.batch, step_ms: step.step_ms, step_error: step.error, runs: []}
      if (step.error) log(`  step: ${step.error}`)
      else log(`  step ${step.step_ms} ms at batch ${step.batch}`)
      const image = step.image ?? (row.startsWith('stl10-perceiver/') ? 96 : 32)
      for (let round = 0; round < args.rounds; round++) {
        for (const workers of args.workers) {
          log(`  mixture run, engine.data_workers=${workers}${args.rounds > 1 ? ` (round ${round + 1})` : ''}`)
          const run = cliEpoch(row, image, workers, args, dir)
          result.runs.push(run)
          log(run.error ? `    ${run.error}` : `    last epoch: ${run.train_seconds.toFixed(2)} s train (waited ${run.data_seconds.toFixed(2)} s for data), ${run.eval_seconds.toFixed(2)} s eval; ${run.data_line ?? 'data on the training thread'}`)
        }
      }
      rows.push(result)
      const doc = {backend: args.backend, detail: backendDetail, args, rows}
      if (args.out) writeFileSync(args.out, JSON.stringify(doc, null, 2))
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
  const doc = {backend: args.backend, detail: backendDetail, args, rows}
  if (args.out) writeFileSync(args.out, JSON.stringify(doc, null, 2))
  const torch = args.torch ? readJson<TorchDoc>(args.torch) : undefined
  const md = markdown(doc, torch)
  process.stdout.write(md)
  if (args.md) writeFileSync(args.md, md)
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`)
    process.exit(1)
  },
)
