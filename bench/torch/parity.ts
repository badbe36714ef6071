/**
 * Ours against the PyTorch twin (bench/torch/train.py) on one spec, over several seeds: trains both,
 * then prints per epoch the mean ± sd of test accuracy and loss on each side and their difference
 * with its standard error, and the best test accuracy (Top-1) of each side with the pooled standard
 * deviation. A benchmark, not a test: it prints measured numbers and asserts nothing.
 *
 *   npm run parity -- <spec> [--seeds 3] [--epochs N] [--set k=v ...] [--out DIR] [--backend B]
 *                    [--data-dir D] [--threads N] [--twin-device cpu|cuda] [--only ours|twin]
 *                    [--python /usr/bin/python3]
 *
 * Seeds are the spec's seed and the next ones. Run folders go to <out>/mixture/seed-<s> and
 * <out>/torch/seed-<s> (default out: results/parity/<name>); a seed whose folder already holds a
 * completed run of the same data, model and train settings is not trained again, so both sides can run in separate
 * processes (`--only`) and a last call collects. Writes <out>/parity.md and <out>/parity.json;
 * `mixture table <out> --per-seed` lists every run.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {parseArgs} from 'node:util'
import {parse as parseYaml} from 'yaml'
import '../../src/builtins.js'
import {resolveSpec} from '../../src/config/resolve.js'
import {runExperiment} from '../../src/run/experiment.js'
import {parseMetricsCsv} from '../../src/report/collect.js'
import {acquireLock, LockedError} from '../../src/run/lock.js'
import {PACKAGE_ROOT} from '../../src/fs/package-folder.js'
import {compareRuns, type Parity, type Spread} from './parity-stats.js'

const log = (s: string) => process.stderr.write(`${s}\n`)

function usage(message: string): never {
  log(`Error: ${message}\nUsage: npm run parity -- <spec> [--seeds 3] [--epochs N] [--set k=v ...] [--out DIR] [--backend B] [--data-dir D] [--threads N] [--twin-device cpu|cuda] [--only ours|twin]`)
  process.exit(2)
}

const {values: opts, positionals} = parseArgs({
  allowPositionals: true,
  options: {
    seeds: {type: 'string', default: '3'},
    epochs: {type: 'string'},
    set: {type: 'string', multiple: true, default: []},
    out: {type: 'string'},
    backend: {type: 'string'},
    'data-dir': {type: 'string'},
    threads: {type: 'string', default: String(cpus().length)},
    'twin-device': {type: 'string', default: 'cpu'},
    only: {type: 'string'},
    python: {type: 'string', default: '/usr/bin/python3'},
  },
})

const [specArg] = positionals
if (!specArg || positionals.length > 1) usage('give exactly one spec file')
if (!existsSync(specArg)) usage(`${specArg} does not exist`)
const seedCount = Number(opts.seeds)
if (!Number.isInteger(seedCount) || seedCount < 1) usage(`--seeds must be a positive integer (got ${opts.seeds})`)
if (opts.epochs !== undefined && !(Number.isInteger(Number(opts.epochs)) && Number(opts.epochs) >= 1)) usage(`--epochs must be a positive integer (got ${opts.epochs})`)
if (opts.only !== undefined && opts.only !== 'ours' && opts.only !== 'twin') usage(`--only is ours or twin (got ${opts.only})`)

const sets = [...(opts.set ?? []), ...(opts.epochs ? [`train.epochs=${opts.epochs}`] : [])]
const {spec} = await resolveSpec(specArg, sets)
const epochs = spec.train.epochs
const seeds = Array.from({length: seedCount}, (_, i) => spec.seed + i)
const out = resolve(opts.out ?? join('results', 'parity', spec.name))

/** JSON with sorted keys, to compare configurations written by either side. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`
  return JSON.stringify(v)
}
const recipe = (c: {data: unknown; model: unknown; train: unknown}) => canonical({data: c.data, model: c.model, train: c.train})

/** What `dir` holds for this spec and seed (its lock held): a completed run (reused) or nothing (trained here); a usage error for anything else. */
function seedState(dir: string, seed: number): 'completed' | 'absent' {
  const file = join(dir, 'summary.json')
  if (!existsSync(dir)) return 'absent'
  const summary = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {}
  const config = existsSync(join(dir, 'config.yaml')) ? parseYaml(readFileSync(join(dir, 'config.yaml'), 'utf8')) : undefined
  if (config && (config.seed !== seed || recipe(config) !== recipe(spec))) usage(`${dir} holds a run of another configuration or seed: move it away or choose another --out`)
  if (summary.status !== 'completed') usage(`${dir} holds an unfinished run (${summary.status ?? 'no summary.json'}) whose process is gone: move it away (or delete it) to train seed ${seed} again`)
  if (!config) usage(`${dir} holds a run without config.yaml: move it away or choose another --out`)
  return 'completed'
}

/**
 * One side's seed trained here unless it is done; left to another process (`--only` processes side
 * by side) that holds its lock, `<dir>.lock`, taken before the folder is looked at.
 */
async function trainSeed(dir: string, seed: number, train: () => Promise<void>): Promise<'ready' | 'elsewhere'> {
  mkdirSync(dirname(dir), {recursive: true})
  let lock
  try {
    lock = acquireLock(`${dir}.lock`, `seed ${seed} of ${dir}`)
  } catch (error) {
    if (error instanceof LockedError) return 'elsewhere'
    throw error
  }
  try {
    if (seedState(dir, seed) === 'absent') await train()
    return 'ready'
  } finally {
    lock.release()
  }
}

/** Seeds another process is training; collecting waits for them. */
const elsewhere: string[] = []

for (const seed of seeds) {
  const ours = join(out, 'mixture', `seed-${seed}`)
  const oursDone = opts.only === 'twin' ? 'ready' : await trainSeed(ours, seed, async () => {
    log(`[ours] seed ${seed} → ${ours}`)
    await runExperiment({spec: specArg, overrides: sets, seed, runDir: ours, backend: opts.backend, dataDir: opts['data-dir'], log: (m) => log(`[ours s${seed}] ${m}`)})
  })
  if (oursDone === 'elsewhere') elsewhere.push(`ours seed ${seed}`)
  const twin = join(out, 'torch', `seed-${seed}`)
  const twinDone = opts.only === 'ours' ? 'ready' : await trainSeed(twin, seed, async () => {
    log(`[twin] seed ${seed} → ${twin}`)
    const args = [join(PACKAGE_ROOT, 'bench', 'torch', 'train.py'), resolve(specArg), '--seed', String(seed), '--run-dir', twin, '--threads', opts.threads!, '--device', opts['twin-device']!]
    for (const s of sets) args.push('--set', s)
    if (opts['data-dir']) args.push('--data-dir', opts['data-dir'])
    const r = spawnSync(opts.python!, args, {cwd: PACKAGE_ROOT, stdio: ['ignore', 'ignore', 'inherit']})
    if (r.status !== 0) {
      log(`the PyTorch twin failed (exit ${r.status ?? r.signal}) for seed ${seed}`)
      process.exit(r.status === 2 ? 2 : 1)
    }
  })
  if (twinDone === 'elsewhere') elsewhere.push(`twin seed ${seed}`)
}

if (elsewhere.length > 0) log(`${elsewhere.join(', ')}: being trained by another process, left to it${opts.only ? '' : '; run this again once it has finished to collect'}`)
if (opts.only) process.exit(0)
if (elsewhere.length > 0) process.exit(1)

const metricsOf = (side: string) => seeds.map((s) => parseMetricsCsv(readFileSync(join(out, side, `seed-${s}`, 'metrics.csv'), 'utf8')))
/** The backends the runs of one side recorded (summary.json), e.g. `native`, `pytorch-cpu`. */
const backendsOf = (side: string) => [...new Set(seeds.map((s) => JSON.parse(readFileSync(join(out, side, `seed-${s}`, 'summary.json'), 'utf8')).backend))].join(', ')
const parity: Parity = compareRuns(metricsOf('mixture'), metricsOf('torch'))

const f4 = (x: number) => x.toFixed(4)
const ms = (s: Spread) => `${f4(s.mean)} ± ${f4(s.sd)}`
const signed = (d: {diff: number; se: number}) => `${d.diff >= 0 ? '+' : ''}${f4(d.diff)} ± ${f4(d.se)}`
const b = parity.best
const lines = [
  `Parity of ${specArg} (${spec.name}): ours (${backendsOf('mixture')}) vs the PyTorch twin (${backendsOf('torch')}), seeds ${seeds.join(', ')}, ${epochs} epoch(s), accuracy ${spec.train.accuracy}.`,
  'Mean ± sample standard deviation over the seeds; differences are ours − twin ± their standard error.',
  '',
  '| epoch | ours test accuracy | twin test accuracy | difference | ours test loss | twin test loss | difference |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...parity.epochs.map((e) => `| ${e.epoch} | ${ms(e.ours.accuracy)} | ${ms(e.twin.accuracy)} | ${signed(e.accuracy)} | ${ms(e.ours.loss)} | ${ms(e.twin.loss)} | ${signed(e.loss)} |`),
  '',
  'Training (the running accuracy and loss over each epoch\'s batches, as metrics.csv holds them):',
  '',
  '| epoch | ours train accuracy | twin train accuracy | difference | ours train loss | twin train loss | difference |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...parity.epochs.map(({epoch, training: t}) => `| ${epoch} | ${ms(t.ours.accuracy)} | ${ms(t.twin.accuracy)} | ${signed(t.accuracy)} | ${ms(t.ours.loss)} | ${ms(t.twin.loss)} | ${signed(t.loss)} |`),
  '',
  `Best test accuracy (Top-1): ours ${ms(b.ours)}, twin ${ms(b.twin)}; difference ${signed(b)}; pooled sd ${f4(b.pooled_sd)}; ` +
    `|difference| ${b.within ? '≤' : '>'} max(pooled sd, 0.005) = ${f4(b.allowed)}: ${b.within ? 'within' : 'NOT within'}.`,
]
const text = lines.join('\n') + '\n'
mkdirSync(out, {recursive: true})
writeFileSync(join(out, 'parity.md'), text)
writeFileSync(join(out, 'parity.json'), `${JSON.stringify({spec: specArg, name: spec.name, seeds, sets, accuracy: spec.train.accuracy, ...parity}, null, 2)}\n`)
process.stdout.write(text)
