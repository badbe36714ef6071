/**
 * One experiment, end to end, in four steps: resolve the spec (`resolveRun`, or a sweep's resolved
 * point), prepare what it trains with (session.ts: backend, model, data, trainer), fit it (fit.ts:
 * `trainOneEpoch` and `evaluate` of epoch.ts every epoch, checkpoints) and finish (fit.ts), writing
 * a run folder that can be trusted (`--resume` continues one: resume-experiment.ts):
 *
 *   results/<name>/<stamp>-<hash>/
 *     config.yaml     the resolved spec (rerun it with `mixture run <dir>/config.yaml`)
 *     overrides.yaml  the --set overrides that produced it
 *     env.json        versions, backend, git commit, machine
 *     numerics.json   backend, threads and engine switches that decide the numbers (resume keeps them)
 *     metrics.csv     one row per epoch
 *     summary.json    the paper's table columns, status, owner (pid, host) and heartbeat
 *     run.log         what the run said on the console (run-log.ts), appended as it goes and on resume
 *     last.ckpt       weights + BatchNorm statistics + optimizer and schedule state after the last checkpointed epoch (resume point)
 *     best.ckpt       weights + BatchNorm statistics at the best validation accuracy (data.val_split),
 *                     or without a validation split the best test accuracy (for evaluation)
 *     run.lock        while a process trains in the folder
 *     kernel-routes.json  (webgpu) the product/convolution routes kernel tuning chose on the first
 *                     batch before training; a resumed run pins them instead of timing again
 */
import {createHash} from 'node:crypto'
import {mkdirSync, readdirSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {stringify as yamlStringify} from 'yaml'
import {resolveSpec, type Resolved} from '../config/resolve.js'
import {formatProblem} from '../config/errors.js'
import {idleSettings} from '../config/idle-settings.js'
import type {ResolvedSpec} from '../schema/spec.js'
import {ModelBuildError, type BuiltModel} from '../model/build.js'
import {atSpecLines, buildModelIn} from '../config/check-model.js'
import {requestedBackend} from '../engine/backend.js'
import {UsageError, type StopRequest} from '../errors.js'
import {writeFileAtomic} from '../fs/write-atomic.js'
import {environment} from './env.js'
import {fit} from './fit.js'
import {checkOutputFolder, createUniqueDir, RUN_LOCK, stamp, writeRunConfig} from './folders.js'
import {acquireLock, type Lock} from './lock.js'
import {writeMetricsFile} from './metrics-file.js'
import {currentNumerics, writeNumerics} from './numerics.js'
import {resumeExperiment} from './resume-experiment.js'
import {RunLog} from './run-log.js'
import {disposeSession, prepareSession, type Session} from './session.js'
import {initFromCheckpoint, planInit, type InitRecord} from './fine-tune.js'
import type {RunSummary} from './summary.js'
import {locateData} from '../data/load.js'
import {DataError} from '../data/errors.js'

export type {RunSummary}

export interface DryRunResult {
  dry_run: true
  name: string
  config: ResolvedSpec
  params: number
  components: BuiltModel['components']
}

export interface RunOptions {
  /** Spec file (ignored with `resume` or `resolved`). */
  spec?: string
  /** The spec already resolved (a sweep resolves each point once, up front). */
  resolved?: Resolved
  /** Run folder to continue from its last checkpoint. */
  resume?: string
  /** With `resume`: restart from best.ckpt (weights only; the optimizer starts afresh). */
  fromBest?: boolean
  /** With `resume`: train to this many epochs in all, more than the run has done (config.yaml's train.epochs is raised). */
  epochs?: number
  /** With `resume`: continue although the numerics (backend, threads, engine switches) differ, or another host's lock is held. */
  force?: boolean
  overrides?: string[]
  seed?: number
  backend?: string
  dataDir?: string
  /** Root of run folders (overrides the spec's output.dir). */
  outDir?: string
  /** Exact folder for the run (sweeps use this); it must not exist yet, or hold only files `runDirMayHold` names. */
  runDir?: string
  /** With `runDir`: files a launcher may have put in the folder before the run (its log). */
  runDirMayHold?: string[]
  /** Appended to the run folder's name: `--seeds` names each run's seed there (`<stamp>-<hash>-seed2`). */
  folderSuffix?: string
  dryRun?: boolean
  /** Draw cli-progress bars (else one line per epoch). */
  bars?: boolean
  /** Diagnostics (stderr). */
  log?: (message: string) => void
  /** Checked between steps; set by the SIGINT/SIGTERM/SIGHUP handlers. */
  stop?: StopRequest
  /** The WebGPU adapter (index or PCI bus id) a launcher gives this run; over the spec's engine.device, and not part of the configuration. */
  device?: string
}

export function configHash(spec: ResolvedSpec): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 8)
}


/** One run: resolve the spec, prepare (backend, model, data), open its folder, fit; or continue one (`resume`). */
export async function runExperiment(opts: RunOptions): Promise<RunSummary | DryRunResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`))
  if (opts.resume) {
    if ((opts.overrides ?? []).length > 0 || opts.seed !== undefined || opts.resolved) throw new UsageError('--resume continues a run exactly as it was configured; --set and --seed cannot change it (start a new run from its config.yaml instead)')
    return resumeExperiment(resolve(opts.resume), opts, log)
  }
  if (opts.fromBest) throw new UsageError('--from-best goes with --resume <run folder>: it restarts that run from its best.ckpt')
  if (opts.epochs !== undefined) throw new UsageError('--epochs goes with --resume <run folder>: it trains that run on to more epochs (a new run takes --set train.epochs=N)')
  const resolved = opts.resolved ?? (await resolveRun(opts))
  const {spec, loaded} = resolved
  if (opts.dryRun) {
    warnIdleSettings(resolved, log)
    return dryRun(resolved, opts.dataDir, log)
  }
  // What the run says from here on is kept in its run.log, once the folder exists.
  const runLog = new RunLog(log)
  warnIdleSettings(resolved, runLog.log)
  // Where the folder goes is checked before the data is loaded: a bad --out is said at once.
  if (!opts.runDir) checkOutputFolder(join(resolve(opts.outDir ?? spec.output.dir), spec.name))
  let session: Session
  try {
    session = await prepareSession(spec, {backend: opts.backend, dataDir: opts.dataDir, bars: opts.bars, device: opts.device}, runLog.log)
  } catch (error) {
    throw error instanceof ModelBuildError ? atSpecLines(error, resolved) : error
  }
  let folder: {runDir: string; lock: Lock}
  try {
    // Fine-tuning: another run's weights over the seed's initialisation, checked before the folder is made.
    const init = spec.train.init_from ? initFromCheckpoint(session.built.model, spec.train.init_from, runLog.log) : undefined
    folder = openRunFolder(session, loaded.overrides, init, opts)
  } catch (error) {
    disposeSession(session)
    throw error
  }
  runLog.open(folder.runDir)
  return fit(session, {...folder, history: [], startEpoch: 1, checkpointEpoch: 0, bars: opts.bars, stop: opts.stop, log: runLog.log, runLog})
}

/** Settings of the spec that change nothing in the run (config/idle-settings.ts), one warning line each. */
function warnIdleSettings({spec, loaded}: Resolved, log: (m: string) => void): void {
  for (const w of idleSettings(spec, loaded)) log(`warning: ${formatProblem(w)}`)
}

/**
 * The spec file with `--set` overrides and `--seed` applied, validated; its data checked where they
 * are read (`--data-dir`, where given). Where --data-dir replaces a place of the spec's that is gone
 * (image_folder's root moved), the resolved spec records it as data.data_dir (resolve.ts).
 */
async function resolveRun(opts: RunOptions): Promise<Resolved> {
  if (!opts.spec) throw new UsageError('give a spec file, or --resume <run folder>')
  const sets = [...(opts.overrides ?? []), ...(opts.seed !== undefined ? [`seed=${opts.seed}`] : [])]
  return resolveSpec(opts.spec, sets, {dataDir: opts.dataDir, adoptDataDir: true, log: opts.log})
}

/** The model built and counted, the checkpoint train.init_from names matched to it, and where its data are (a note where they cannot be found: the run itself would stop there). */
function dryRun(resolved: Resolved, dataDir: string | undefined, log: (m: string) => void): DryRunResult {
  const {spec} = resolved
  const built = buildModelIn(resolved)
  try {
    if (spec.train.init_from) log(planInit(built.model, spec.train.init_from).line)
  } finally {
    built.model.dispose()
  }
  log(`${spec.name}: ${spec.model.type} on ${spec.data.dataset} ${spec.data.image_size}×${spec.data.image_size}, ${built.numClasses} classes`)
  try {
    const where = locateData(spec.data, dataDir)
    if (where) log(`data: ${spec.data.dataset} in ${where}`)
  } catch (error) {
    if (!(error instanceof DataError)) throw error
    log(`note: the run would stop here: ${error.message}`)
  }
  return {dry_run: true, name: spec.name, config: spec, params: built.params, components: built.components}
}

/** A new run folder, locked, holding what reproduces the run: config.yaml, overrides.yaml, env.json (with the checkpoint `train.init_from` loaded), numerics.json, an empty metrics.csv. */
function openRunFolder(session: Session, overrides: Record<string, unknown>, init: InitRecord | undefined, opts: RunOptions): {runDir: string; lock: Lock} {
  // The backend that --backend or MIXTURE_BACKEND asked for is part of the run: config.yaml says it,
  // so that running that file again (its header says how) asks for it too.
  const asked = opts.backend ?? process.env.MIXTURE_BACKEND
  const spec = asked && session.spec.engine.backend === 'auto' ? {...session.spec, engine: {...session.spec.engine, backend: requestedBackend(asked)}} : session.spec
  const runDir = opts.runDir ? createExactDir(resolve(opts.runDir), opts.runDirMayHold ?? []) : createUniqueDir(join(resolve(opts.outDir ?? spec.output.dir), spec.name, `${stamp()}-${configHash(spec)}${opts.folderSuffix ? `-${opts.folderSuffix}` : ''}`))
  const lock = acquireLock(join(runDir, RUN_LOCK), `run ${runDir}`)
  writeRunConfig(runDir, spec)
  writeFileAtomic(join(runDir, 'overrides.yaml'), yamlStringify(overrides))
  writeMetricsFile(runDir, [])
  writeFileAtomic(join(runDir, 'env.json'), `${JSON.stringify({...environment(session.backend), data_source: session.dataset.source, ...(init ? {init_from: init} : {})}, null, 2)}\n`)
  writeNumerics(runDir, currentNumerics(session.backend, process.env, spec.engine))
  return {runDir, lock}
}

/**
 * A sweep point's folder: exactly this name, which must not exist (the sweep set any earlier one
 * aside), or hold only the files `mayHold` names (a launcher's log, written before the run starts).
 */
function createExactDir(dir: string, mayHold: string[]): string {
  mkdirSync(dirname(dir), {recursive: true})
  try {
    mkdirSync(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    if (mayHold.length === 0 || !readdirSync(dir).every((f) => mayHold.includes(f))) throw new UsageError(`run folder ${dir} already exists; give a new folder, or --resume it`)
  }
  return dir
}
