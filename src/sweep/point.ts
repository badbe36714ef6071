/**
 * One point of a sweep: what its folder says before it trains (done, resumable, or to start), and
 * training it as a process of its own (`mixture sweep run-point <sweep> <index>`: a Slurm array
 * task, a local job). A folder is never deleted: one whose configuration changed, or a run that
 * cannot be resumed, is set aside as `<folder>.old-<stamp>` beside it.
 */
import {existsSync, mkdirSync, readdirSync, renameSync} from 'node:fs'
import {join, relative, resolve} from 'node:path'
import {UsageError} from '../errors.js'
import {displayPath} from '../fs/display-path.js'
import {resolveSpec} from '../config/resolve.js'
import {configHash, runExperiment, type RunOptions, type RunSummary} from '../run/experiment.js'
import {describeOwner} from '../run/owner.js'
import {LAST_CKPT, readRunConfig, setAsideName} from '../run/folders.js'
import {LAUNCHER_FILES, requireIndex, type SweepIndex, type SweepPointRecord} from './records.js'
import {readRunSummary} from '../run/summary.js'
import {liveStatus} from '../run/status.js'
import type {ResolvedSpec} from '../schema/spec.js'

type FolderSummary = Partial<RunSummary>

/** What a rerun does with a point, with the summary.json its folder holds (a fresh start may have none). */
export type PointAction = {action: 'skip'; summary: FolderSummary} | {action: 'resume'; summary: FolderSummary} | {action: 'fresh'; setAside?: 'no checkpoint' | 'different configuration'; summary?: FolderSummary}

/**
 * What a rerun of the sweep does with a point, read from its folder and changing nothing (a dry run
 * says it): skip it when it completed with the same configuration, resume it when it has a
 * checkpoint of the same configuration, else start it anew, setting an earlier folder aside.
 * `before` is the point's record in the previous index.json.
 */
export function pointOutlook(dir: string, record: SweepPointRecord, before: SweepPointRecord | undefined, spec: ResolvedSpec): PointAction {
  const runDir = join(dir, record.run_dir)
  const sameConfig = sameConfiguration(runDir, record.config_hash, before?.config_hash, spec)
  const prior = readRunSummary(runDir)
  if (prior && sameConfig && prior.status === 'completed') return {action: 'skip', summary: prior}
  if (prior && sameConfig && existsSync(join(runDir, LAST_CKPT))) return {action: 'resume', summary: prior}
  const summary = prior ? {summary: prior} : {}
  if (existsSync(runDir) && !holdsOnlyLauncherFiles(runDir)) return {action: 'fresh', setAside: sameConfig ? 'no checkpoint' : 'different configuration', ...summary}
  return {action: 'fresh', ...summary}
}

/**
 * Before a point trains (the caller holds the sweep's lock): what pointOutlook says, done — a
 * crashed run said, an earlier folder that is not resumed set aside.
 */
export function preparePoint(dir: string, record: SweepPointRecord, before: SweepPointRecord | undefined, spec: ResolvedSpec, log: (m: string) => void, at: string): PointAction {
  const outlook = pointOutlook(dir, record, before, spec)
  const prior = outlook.action === 'skip' ? undefined : outlook.summary
  if (prior && liveStatus(prior) === 'crashed') log(`${at}: crashed (left running by ${describeOwner(prior)})`)
  if (outlook.action === 'fresh' && outlook.setAside) {
    const runDir = join(dir, record.run_dir)
    const aside = setAsideName(runDir)
    renameSync(runDir, aside)
    log(`${at}: earlier folder ${outlook.setAside === 'no checkpoint' ? 'had no checkpoint' : 'has a different configuration'}; kept as ${relative(dir, aside)}`)
  }
  return outlook
}

/** What a dry run says a rerun does with a point (pointOutlook's answer in words). */
export function describeOutlook(outlook: PointAction): string {
  if (outlook.action === 'skip') return 'would skip: completed'
  if (outlook.action === 'resume') return `would resume after epoch ${outlook.summary.epochs_completed ?? '?'} of ${outlook.summary.epochs ?? '?'}${liveStatus(outlook.summary) === 'running' ? ' (its run is training now: the sweep is refused until it ends)' : ''}`
  return outlook.setAside ? `would train anew (its earlier folder, with ${outlook.setAside === 'no checkpoint' ? 'no checkpoint' : 'a different configuration'}, set aside)` : 'would train'
}

/**
 * Whether the folder `runDir` holds a run of the configuration planned (`hash`, of `spec`): by the
 * config hash index.json recorded for it (`recorded`); without one (a sweep folder whose index.json
 * was moved aside, a folder it does not list), by the run's own config.yaml.
 */
export function sameConfiguration(runDir: string, hash: string, recorded: string | undefined, spec: ResolvedSpec): boolean {
  return recorded !== undefined ? recorded === hash : trainedAs(runDir, spec)
}

/**
 * Whether the run in `runDir` (its config.yaml) is an experiment of `spec`: equal in everything but
 * the engine's speed settings (backend, threads, kernel switches, data workers) and the output
 * folder; the precision and loss scaling count. Looser than the config hash on purpose: config.yaml
 * also holds what the command line and the environment set for the run (`--backend`,
 * MIXTURE_THREADS), which the planned spec does not know.
 */
function trainedAs(runDir: string, spec: ResolvedSpec): boolean {
  const experiment = ({engine, output: _output, ...rest}: ResolvedSpec) => JSON.stringify({...rest, precision: engine?.precision, loss_scale: engine?.loss_scale})
  const config = readRunConfig(runDir)
  return config !== undefined && experiment(config as ResolvedSpec) === experiment(spec)
}

/**
 * Points a queued task holds (markHeld) keep the record they were submitted with, and the task
 * resolves that record's spec and overrides when it starts: a spec file changed since resolves to
 * another configuration, and the task stops without training. Refused before anything is submitted
 * or trained, naming the task to cancel.
 */
export async function refuseChangedHeld(dir: string, held: Iterable<SweepPointRecord>): Promise<void> {
  for (const record of held) {
    let hash: string | undefined
    try {
      hash = configHash((await resolveSpec(resolve(dir, record.spec), record.overrides)).spec)
    } catch {
      hash = undefined
    }
    if (hash === record.config_hash) continue
    throw new UsageError(
      `point ${record.key}: its queued task ${record.job} was submitted with configuration ${record.config_hash}, which ${displayPath(resolve(dir, record.spec))} no longer resolves to (the spec file changed since): the task would stop without training it. ` +
        `Cancel the task (scancel ${record.job}) and run the sweep again to train the new configuration, or restore the spec file until the task has run`,
    )
  }
}

/** `[3/8] key`: a point in the log. */
export function pointTag(record: SweepPointRecord, total: number): string {
  return `[${record.index + 1}/${total}] ${record.key}`
}

/**
 * preparePoint for a local sweep's point, `previous` being the index.json found: a completed point
 * is recorded as skipped (with its Top-1) and said so in the log.
 */
export function preparePointRecord(dir: string, record: SweepPointRecord, previous: SweepIndex | undefined, spec: ResolvedSpec, total: number, log: (m: string) => void): 'skip' | 'resume' | 'fresh' {
  const at = pointTag(record, total)
  const prepared = preparePoint(dir, record, previous?.points.find((p) => p.run_dir === record.run_dir), spec, log, at)
  if (prepared.action === 'skip') {
    record.status = 'skipped'
    record.best_test_accuracy = prepared.summary.best_test_accuracy as number | null
    log(`${at}: already completed, skipped`)
  }
  return prepared.action
}

/** True for a folder a launcher made for a point that has not started a run yet (its log at most). */
export function holdsOnlyLauncherFiles(runDir: string): boolean {
  return readdirSync(runDir).every((f) => (LAUNCHER_FILES as readonly string[]).includes(f))
}

export interface PointTaskOptions extends Omit<RunOptions, 'spec' | 'resume' | 'runDir' | 'overrides' | 'fromBest' | 'force' | 'seed' | 'outDir' | 'dryRun'> {
  /** The sweep folder. */
  dir: string
  /** The point's position in index.json (a Slurm array task's id). */
  index: number
  /**
   * CPU threads (native, wasm) the launcher gives a point that starts anew; a resumed point keeps
   * the threads it recorded, and MIXTURE_THREADS set by the user (or engine.threads) wins.
   */
  threads?: string
}

/**
 * Train one point of a submitted sweep in this process: nothing when it is completed, resumed from
 * its checkpoint when it has one (a requeued task), else started in its folder. A run left without a
 * checkpoint (killed in its first epoch) is moved aside, the launcher's files staying in the folder.
 */
export async function runSweepPoint(opts: PointTaskOptions): Promise<RunSummary> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`))
  const dir = resolve(opts.dir)
  const index = requireIndex(dir)
  const record = index.points.find((p) => p.index === opts.index)
  if (!record) throw new UsageError(`${dir} has no point ${opts.index} (index.json lists points 0–${index.points.length - 1})`)
  const runDir = join(dir, record.run_dir)
  mkdirSync(runDir, {recursive: true})
  const {dir: _dir, index: _index, threads, ...runOpts} = opts
  const prior = readRunSummary(runDir)
  if (prior?.status === 'completed') {
    log(`point ${record.key} is completed already (${runDir}); nothing to train`)
    return prior as unknown as RunSummary
  }
  if (existsSync(join(runDir, LAST_CKPT))) {
    log(`point ${record.key}: resuming ${runDir}`)
    return (await runExperiment({...runOpts, log, resume: runDir})) as RunSummary
  }
  if (!holdsOnlyLauncherFiles(runDir)) {
    const aside = setAsideName(runDir)
    mkdirSync(aside)
    for (const f of readdirSync(runDir)) if (!(LAUNCHER_FILES as readonly string[]).includes(f)) renameSync(join(runDir, f), join(aside, f))
    log(`point ${record.key}: the earlier run there had no checkpoint; its files are kept in ${relative(dir, aside)}`)
  }
  const spec = resolve(dir, record.spec)
  const resolved = await resolveSpec(spec, record.overrides)
  const hash = configHash(resolved.spec)
  if (hash !== record.config_hash) {
    throw new UsageError(`point ${record.key}: ${spec} (with its overrides) no longer resolves to the configuration this sweep submitted (config hash ${hash}, not ${record.config_hash}); the spec changed since. Submit the sweep again (mixture sweep …) to train the new configuration`)
  }
  // The launcher's share of the threads stands in for engine.threads: set in the spec, or by the user's MIXTURE_THREADS, they win.
  if (threads && process.env.MIXTURE_THREADS === undefined && resolved.spec.engine.threads === null) process.env.MIXTURE_THREADS = threads
  log(`point ${record.key}: starting in ${runDir}`)
  return (await runExperiment({...runOpts, log, resolved, runDir, runDirMayHold: [...LAUNCHER_FILES]})) as RunSummary
}
