/**
 * Everything outside the spec that decides a run's numbers: the backend that actually ran, its
 * thread count where that changes how sums are split, and every `MIXTURE_*` environment switch that
 * changes which kernels run or the order they sum in. Recorded in the run folder (`numerics.json`)
 * so that `--resume` continues with the same ones, and refuses (unless forced, which is recorded) to
 * continue with others.
 *
 * Switches are read generically by prefix, so that a new engine switch is recorded without being
 * listed here; only the variables that do not change the numbers are left out (those below, and the
 * webgpu backend's own, which its switch table names). On webgpu the kernel switches in effect (the
 * spec's `engine.webgpu`, overrides applied: engine-settings.ts) are recorded as well.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {BackendChoice} from '../engine/backend.js'
import type {EngineSettings} from './engine-settings.js'
import {nonNumericSwitches} from '../backends/webgpu/switches.js'
import {UsageError} from '../errors.js'
import {writeFileAtomic} from '../fs/write-atomic.js'

export const NUMERICS_FILE = 'numerics.json'

/** `MIXTURE_*` variables that do not change a run's numbers, with the reason. */
export const NOT_NUMERIC: Record<string, string> = {
  MIXTURE_BACKEND: 'the backend is recorded as such',
  MIXTURE_DATA: 'where the dataset files are read from (the data source is in env.json)',
  MIXTURE_DATA_MIRROR: 'where datasets are downloaded from',
  MIXTURE_REQUIRE: 'which test suites must run',
  MIXTURE_MAX_SPEC_BYTES: 'the size limit of spec files',
  MIXTURE_THREADS: 'recorded as the thread count',
  MIXTURE_WASM_THREADS: 'recorded as the thread count',
  MIXTURE_NATIVE_POOL_MB: 'memory kept for reuse by the native backend',
  MIXTURE_DATA_WORKERS: 'threads that make the training batches: the same batches whatever their number',
  MIXTURE_PREFETCH: 'how far ahead the data workers make batches: the same batches whatever it is',
  ...nonNumericSwitches(),
}

/** Backends whose results depend on how many threads split a sum. */
const THREADED = new Set(['native', 'wasm'])

export interface Numerics {
  /** The backend that ran (`cpu`, `native`, `wasm`, `webgpu`, `tensorflow`). */
  backend: string
  /** Its description when it was chosen (device, library versions, threads). */
  backend_detail: string
  /** Threads of a backend whose sums depend on them; null where they do not. */
  threads: number | null
  /** `MIXTURE_*` switches that change kernels or their order, as set. */
  switches: Record<string, string>
  /** On webgpu: the kernel switches in effect (`engine.webgpu`, overrides applied). */
  webgpu?: EngineSettings['webgpu']
}

/** What was recorded in a run folder, with any forced changes. */
export interface NumericsRecord extends Numerics {
  /** Changes accepted with --force, oldest first. */
  changes?: {after_epoch: number; at: string; from: Numerics; to: Numerics}[]
}

/** The engine switches set in `env` (every `MIXTURE_*` variable not in NOT_NUMERIC), sorted by name. */
export function numericSwitches(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env)
      .filter(([k, v]) => k.startsWith('MIXTURE_') && !(k in NOT_NUMERIC) && v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1)) as [string, string][],
  )
}

/** The numerics of the backend now active, as chosen by `selectBackend` with the run's `engine` settings. */
export function currentNumerics(backend: BackendChoice, env: NodeJS.ProcessEnv = process.env, engine?: EngineSettings): Numerics {
  // A single-threaded WASM build (the threaded one failed: no SharedArrayBuffer, an unwritable TMPDIR) is 1 thread, whatever its note says.
  const threads = !THREADED.has(backend.name) ? NaN : /\bsingle-threaded\b/.test(backend.detail) ? 1 : Number(/(\d+) threads?\b/.exec(backend.detail)?.[1] ?? NaN)
  const numerics: Numerics = {backend: backend.name, backend_detail: backend.detail, threads: Number.isFinite(threads) ? threads : null, switches: numericSwitches(env)}
  return backend.name === 'webgpu' && engine ? {...numerics, webgpu: engine.webgpu} : numerics
}

/** How `now` differs from `recorded`, one phrase per difference; empty when they agree. */
export function numericsDifferences(recorded: Numerics, now: Numerics): string[] {
  const out: string[] = []
  if (recorded.backend !== now.backend) out.push(`backend ${now.backend} instead of ${recorded.backend}`)
  else if (recorded.threads !== null && now.threads !== null && recorded.threads !== now.threads) out.push(`${now.threads} thread${now.threads === 1 ? '' : 's'} instead of ${recorded.threads}`)
  for (const k of new Set([...Object.keys(recorded.switches), ...Object.keys(now.switches)])) {
    const [was, is] = [recorded.switches[k], now.switches[k]]
    if (was === is) continue
    out.push(is === undefined ? `${k} unset (it was ${was})` : was === undefined ? `${k}=${is} (it was unset)` : `${k}=${is} instead of ${was}`)
  }
  return out
}

/** The record in `runDir`, or undefined for a run folder written before numerics were recorded. */
export function readNumerics(runDir: string): NumericsRecord | undefined {
  let text: string
  try {
    text = readFileSync(join(runDir, NUMERICS_FILE), 'utf8')
  } catch {
    return undefined
  }
  let doc: NumericsRecord | undefined
  try {
    doc = JSON.parse(text) as NumericsRecord
  } catch {
    doc = undefined
  }
  if (typeof doc?.backend !== 'string' || typeof doc.switches !== 'object' || doc.switches === null) {
    throw new UsageError(`${join(runDir, NUMERICS_FILE)} is corrupt: it does not record a backend and switches; restore it, or delete it to resume with whatever backend is chosen now`)
  }
  return doc
}

export function writeNumerics(runDir: string, record: NumericsRecord): void {
  writeFileAtomic(join(runDir, NUMERICS_FILE), `${JSON.stringify(record, null, 2)}\n`)
}

/**
 * Make this process run with the recorded numerics where the caller did not ask otherwise: the
 * recorded switches that are unset here are set, and the recorded thread count is used when no
 * thread variable is set. Returns what was set, for the log.
 */
export function adoptRecorded(recorded: Numerics, env: NodeJS.ProcessEnv = process.env): string[] {
  const set: string[] = []
  for (const [k, v] of Object.entries(recorded.switches)) {
    if (env[k] === undefined) {
      env[k] = v
      set.push(`${k}=${v}`)
    }
  }
  if (recorded.threads !== null) {
    const name = recorded.backend === 'wasm' ? 'MIXTURE_WASM_THREADS' : 'MIXTURE_THREADS'
    if (env.MIXTURE_THREADS === undefined && env[name] === undefined) {
      env[name] = String(recorded.threads)
      set.push(`${name}=${recorded.threads}`)
    }
  }
  return set
}

const WHY = 'another backend, thread count or kernel switch sums in another order, so the epochs after the checkpoint would differ from an uninterrupted run (in the last digits, or more)'

/**
 * The backend a resumed run asks for: the one it recorded, unless `--backend` (`flag`) or
 * MIXTURE_BACKEND names another, which is refused unless `force`. `auto` names none.
 */
export function resumeBackend(runDir: string, recorded: string | undefined, flag: string | undefined, force: boolean, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const named = (v: string | undefined) => (v && v.toLowerCase() !== 'auto' ? v.toLowerCase() : undefined)
  const asked = named(flag) ?? named(env.MIXTURE_BACKEND)
  if (!recorded || !asked || asked === recorded) return recorded ?? flag
  const source = named(flag) ? `--backend ${asked}` : `MIXTURE_BACKEND=${asked}`
  if (force) return asked
  throw new UsageError(
    `${runDir} ran on the ${recorded} backend (recorded in ${NUMERICS_FILE}), and ${source} asks for ${asked}: ${WHY}. ` +
      `Resume without ${named(flag) ? '--backend' : 'MIXTURE_BACKEND'} to continue on ${recorded}, or add --force to continue on ${asked} (the change is recorded in ${NUMERICS_FILE}).`,
  )
}

/** Refuse (unless `force`) to continue a run whose numerics would change; returns the differences accepted. */
export function checkResumeNumerics(runDir: string, recorded: Numerics, now: Numerics, force: boolean): string[] {
  const diffs = numericsDifferences(recorded, now)
  if (diffs.length > 0 && !force) {
    throw new UsageError(
      `${runDir} would continue with ${diffs.join(', ')} (its numerics are recorded in ${NUMERICS_FILE}): ${WHY}. ` +
        'Resume with the recorded settings (unset or correct these variables), or add --force to continue anyway (the change is recorded).',
    )
  }
  return diffs
}

/**
 * numerics.json after a resume: the numerics now, with a change accepted by --force appended to its
 * history; a folder older than the record gets one. Returns the changes recorded (undefined: none).
 */
export function recordResumedNumerics(runDir: string, before: NumericsRecord | undefined, now: Numerics, changes: string[], afterEpoch: number): string[] | undefined {
  if (before && changes.length === 0) return undefined
  const history = [...(before?.changes ?? [])]
  if (before) {
    const {changes: _history, ...from} = before
    history.push({after_epoch: afterEpoch, at: new Date().toISOString(), from, to: now})
  }
  writeNumerics(runDir, history.length > 0 ? {...now, changes: history} : now)
  return before ? changes : undefined
}
