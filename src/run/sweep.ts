/**
 * Running a sweep: every point is validated up front, then trained in order into its own run
 * folder `<out>/<sweep>/<NN>-<key>/`, with `index.json` rewritten (atomically) after each point.
 * A failed point is recorded and the sweep goes on; rerunning the same sweep skips completed
 * points, resumes interrupted ones from their checkpoint, and sets aside (never deletes) a folder
 * whose configuration changed. At the end the paper-shaped table is written into the sweep folder.
 */
import {existsSync, mkdirSync, readFileSync, renameSync} from 'node:fs'
import {join, relative, resolve} from 'node:path'
import {expandSweep, type SweepPlan} from '../config/sweep.js'
import {resolveSpec, type Resolved} from '../config/resolve.js'
import {InterruptedError} from '../errors.js'
import {makeTable} from '../report/index.js'
import {configHash, runExperiment, type RunOptions, type RunSummary} from './experiment.js'
import {writeFileAtomic} from '../fs/write-atomic.js'
import {acquireLock} from './lock.js'
import {describeOwner} from './owner.js'
import {liveStatus} from './status.js'

export interface SweepPointRecord {
  index: number
  key: string
  label: string | null
  spec: string
  overrides: string[]
  grid: Record<string, unknown>
  config_hash: string
  status: 'pending' | 'running' | 'completed' | 'failed' | 'interrupted' | 'skipped'
  run_dir: string
  best_test_accuracy?: number | null
  error?: string
}

export interface SweepIndex {
  name: string
  title?: string
  source: string
  created: string
  updated: string
  points: SweepPointRecord[]
}

export interface SweepResult {
  name: string
  dir: string
  points: SweepPointRecord[]
  completed: number
  failed: number
  skipped: number
  table?: string
}

export interface SweepOptions extends Omit<RunOptions, 'spec' | 'resume' | 'runDir' | 'overrides' | 'fromBest' | 'force'> {
  file: string
  sets: string[]
  name?: string
  /** Expand and validate only. */
  dryRun?: boolean
  /** Take over the sweep folder's lock although another host holds it. */
  force?: boolean
}

export const SWEEP_LOCK = 'index.lock'

function readIndex(file: string): SweepIndex | undefined {
  if (!existsSync(file)) return undefined
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SweepIndex
  } catch {
    return undefined
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')
}

export async function runSweep(opts: SweepOptions): Promise<SweepResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`))
  const plan: SweepPlan = expandSweep(opts.file, opts.sets, opts.name)
  if (!plan.name || plan.points.length === 0) throw new Error('the sweep has no points')
  const single = plan.points.every((p) => p.spec === plan.source)
  const name = opts.name ?? (single ? `${plan.name}-sweep` : plan.name)
  // Validate every point before training anything. Grid points get their values in the label, so
  // that the table tells them apart.
  const resolved: Resolved[] = []
  for (const p of plan.points) {
    let r = await resolveSpec(p.spec, p.overrides)
    const axes = Object.entries(p.grid)
    if (axes.length > 0) {
      const label = `${p.label ?? r.spec.label ?? r.spec.name} [${axes.map(([k, v]) => `${k.split('.').pop()}=${v}`).join(', ')}]`
      p.overrides = [...p.overrides, `label=${JSON.stringify(label)}`]
      r = await resolveSpec(p.spec, p.overrides)
    }
    resolved.push(r)
  }
  const root = resolve(opts.outDir ?? resolved[0].spec.output.dir)
  const dir = join(root, name)
  const width = String(plan.points.length).length
  const records: SweepPointRecord[] = plan.points.map((p, i) => ({
    index: p.index,
    key: p.key,
    label: p.label ?? resolved[i].spec.label ?? null,
    spec: relative(dir, p.spec),
    overrides: p.overrides,
    grid: p.grid,
    config_hash: configHash(resolved[i].spec),
    status: 'pending',
    run_dir: `${String(p.index + 1).padStart(Math.max(2, width), '0')}-${p.key}`,
  }))
  if (opts.dryRun) return {name, dir, points: records, completed: 0, failed: 0, skipped: 0}

  mkdirSync(root, {recursive: true})
  try {
    mkdirSync(dir)
  } catch (error) {
    // An existing sweep folder is continued, under its lock: finished points are skipped.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  const lock = acquireLock(join(dir, SWEEP_LOCK), `sweep ${name}`, {force: opts.force, log})
  try {
    return await runPoints(plan, resolved, name, dir, records, opts, log)
  } finally {
    lock.release()
  }
}

/** Train every point in order (the caller holds the sweep folder's lock), then write the table. */
async function runPoints(plan: SweepPlan, resolved: Resolved[], name: string, dir: string, records: SweepPointRecord[], opts: SweepOptions, log: (m: string) => void): Promise<SweepResult> {
  const indexFile = join(dir, 'index.json')
  const previous = readIndex(indexFile)
  const {force: _lockOnly, ...runOpts} = opts
  const index: SweepIndex = {name, title: plan.title, source: relative(dir, plan.source), created: previous?.created ?? new Date().toISOString(), updated: '', points: records}
  const save = () => writeFileAtomic(indexFile, `${JSON.stringify({...index, updated: new Date().toISOString()}, null, 2)}\n`)
  save()
  log(`sweep ${name}: ${records.length} point(s) in ${dir}`)
  let failed = 0
  let skipped = 0
  let completed = 0
  for (const record of records) {
    const at = `[${record.index + 1}/${records.length}] ${record.key}`
    const runDir = join(dir, record.run_dir)
    const before = previous?.points.find((p) => p.run_dir === record.run_dir)
    const sameConfig = before?.config_hash === record.config_hash
    const prior = readSummary(join(runDir, 'summary.json'))
    if (prior && sameConfig && prior.status === 'completed') {
      record.status = 'skipped'
      record.best_test_accuracy = prior.best_test_accuracy as number | null
      skipped++
      log(`${at}: already completed, skipped`)
      save()
      continue
    }
    if (prior && liveStatus(prior) === 'crashed') log(`${at}: crashed (left running by ${describeOwner(prior)})`)
    const canResume = Boolean(prior && sameConfig && existsSync(join(runDir, 'last.ckpt')))
    if (existsSync(runDir) && !canResume) {
      // Two set-asides of one point within a second would share a stamp: number the later ones.
      let aside = `${runDir}.old-${stamp()}`
      for (let n = 2; existsSync(aside); n++) aside = `${runDir}.old-${stamp()}-${n}`
      renameSync(runDir, aside)
      log(`${at}: earlier folder ${sameConfig ? 'had no checkpoint' : 'has a different configuration'}; kept as ${relative(dir, aside)}`)
    }
    record.status = 'running'
    save()
    log(`${at}${canResume ? ' (resuming)' : ''}`)
    try {
      const result = (await runExperiment({
        ...runOpts,
        ...(canResume ? {resume: runDir} : {resolved: resolved[record.index], runDir}),
      })) as RunSummary
      record.status = 'completed'
      record.best_test_accuracy = result.best_test_accuracy
      delete record.error
      completed++
    } catch (error) {
      if (error instanceof InterruptedError) {
        record.status = 'interrupted'
        record.error = (error as Error).message
        save()
        throw new InterruptedError(`sweep ${name} interrupted at point ${record.key}; rerun the same command to continue (finished points are skipped, this one resumes)`, error.signal)
      }
      record.status = 'failed'
      record.error = (error as Error).message
      failed++
      log(`${at} failed: ${record.error}`)
    }
    save()
  }
  let table: string | undefined
  try {
    const t = await makeTable({paths: [dir], out: dir, format: 'both', title: plan.title, warn: (m) => log(`table: ${m}`)})
    table = t.markdown
  } catch (error) {
    log(`table: not written (${(error as Error).message})`)
  }
  return {name, dir, points: records, completed, failed, skipped, table}
}

function readSummary(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch {
    return undefined
  }
}
