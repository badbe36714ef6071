/** Shared test helpers: specs written to temp files, resolved through the real loader and validator. */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {stringify} from 'yaml'
import {loadSpec} from '../src/config/load.js'
import {validateSpec, type ResolvedSpec} from '../src/config/validate.js'
import '../src/registry/builtins.js'

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
