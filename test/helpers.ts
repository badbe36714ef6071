/** Shared test helpers: specs written to temp files, resolved through the real loader and validator. */
import {spawnSync} from 'node:child_process'
import {after} from 'node:test'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {stringify} from 'yaml'
import {loadSpec} from '../src/config/load.js'
import {validateSpec} from '../src/config/validate.js'
import type {ResolvedSpec} from '../src/schema/spec.js'
import {SpecError} from '../src/config/errors.js'
import '../src/builtins.js'

/** The smallest spec that trains end to end in about a second: a one-unit CNN on synthetic 8×8 images, on cpu. */
export const TINY_CNN_SPEC = {
  name: 'tiny',
  label: 'Tiny CNN',
  data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 32, test: 16, classes: 3}},
  model: {type: 'mixture', components: [{type: 'cnn', channels: [3]}]},
  train: {epochs: 1, batch_size: 16},
  engine: {backend: 'cpu'},
}

/** Puts environment variable `name` back as it is now once the file's tests have run (node:test `after`). */
export function restoreEnvAfter(name: string): void {
  const saved = process.env[name]
  after(() => {
    if (saved === undefined) delete process.env[name]
    else process.env[name] = saved
  })
}

export function tempDir(prefix = 'mixture-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** Write `spec` (object or YAML text) to a temp file and return its path. */
export function writeSpec(spec: unknown, dir = tempDir(), name = 'spec.yaml'): string {
  const file = join(dir, name)
  writeFileSync(file, typeof spec === 'string' ? spec : stringify(spec))
  return file
}

export function resolveObject(spec: unknown, sets: string[] = []): ResolvedSpec {
  return validateSpec(loadSpec(writeSpec(spec), sets))
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = 'values'): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != ${expected.length}`)
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i])
    if (!(d <= tol * (1 + Math.abs(expected[i])))) throw new Error(`${what}[${i}]: ${actual[i]} != ${expected[i]} (|diff| ${d} > ${tol})`)
  }
}

export const REPO = join(import.meta.dirname, '..', '..')

/** Deterministic values in [-1, 1) (mulberry32), independent of the backend. */
export function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1
  }
  return out
}

/** `mixture` as a user runs it: a spawned bin/run.js with NO_COLOR and the cpu backend unless `env` says otherwise. */
export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Wall time, for the time bounds of the fault tests. */
  ms: number
}

export const CLI_ENV: Record<string, string> = {NO_COLOR: '1', MIXTURE_BACKEND: 'cpu'}

export function mixture(args: string[], opts: {cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number; nodeArgs?: string[]} = {}): CliResult {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [...(opts.nodeArgs ?? []), join(REPO, 'bin', 'run.js'), ...args], {cwd: opts.cwd ?? REPO, encoding: 'utf8', env: cliEnv(opts.env), timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 2 ** 20})
  return {code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0}
}

/** The environment of a spawned `mixture`: this one, plus CLI_ENV, plus `extra` (undefined removes a variable). */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {...process.env, ...CLI_ENV}
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  return env
}

/** The problems of the SpecError `fn` throws (it must throw one). */
export function specProblems(fn: () => unknown): {path: string; message: string; origin?: {file: string; line?: number; col?: number}}[] {
  try {
    fn()
  } catch (error) {
    if (!(error instanceof SpecError)) throw new Error(`expected a SpecError, got ${error}`)
    return error.problems
  }
  throw new Error('expected the spec to be rejected')
}
