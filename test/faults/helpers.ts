/** What the fault tests share: a tiny synthetic experiment (a second or two per run on the cpu backend) and a run to signal. */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {CLI_ENV, mixture, REPO, tempDir, writeSpec} from '../helpers.js'

export function TINY_SPEC(epochs: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'tiny',
    seed: 5,
    data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 32, test: 16, classes: 3}},
    model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]},
    train: {epochs, batch_size: 16, optimizer: {lr: 0.01}},
    ...extra,
  }
}

/** The numbers of a metrics.csv (timings left out), one row per epoch. */
export function numbers(runDir: string): string[] {
  return readFileSync(join(runDir, 'metrics.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(0, 5).join(','))
}

/** The numbers of `spec` trained once, uninterrupted, in a folder of its own (`prefix` names it): what a fault test's resumed run must equal. */
export function referenceNumbers(spec: Record<string, unknown>, prefix: string): string[] {
  const dir = tempDir(prefix)
  const r = mixture(['run', writeSpec(spec, dir), '--out', join(dir, 'results')])
  assert.equal(r.code, 0, r.stderr)
  return numbers(/run folder: (.*)/.exec(r.stdout)![1].trim())
}

export interface Started {
  code: number | null
  signal: NodeJS.Signals | null
  stderr: string
  runDir?: string
}

/**
 * `mixture run <spec> --out <dir>/results [args]` as a child process; `onOutput` sees its stderr as it
 * grows and may signal the child. `env` entries set to undefined are removed.
 */
export function startRun(dir: string, spec: Record<string, unknown>, onOutput: (stderr: string, child: ReturnType<typeof spawn>) => void, opts: {args?: string[]; env?: Record<string, string | undefined>; nodeArgs?: string[]} = {}): Promise<Started> {
  const env: NodeJS.ProcessEnv = {...process.env, ...CLI_ENV}
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), join(REPO, 'bin', 'run.js'), 'run', writeSpec(spec, dir), '--out', join(dir, 'results'), ...(opts.args ?? [])], {env})
  let stderr = ''
  child.stderr!.on('data', (d) => {
    stderr += d
    onOutput(stderr, child)
  })
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({code, signal, stderr, runDir: /run folder: (.*)/.exec(stderr)?.[1].trim()})))
}

/** An onOutput that sends `signal` once, when stderr first matches `when`. */
export function signalWhen(when: RegExp, signal: NodeJS.Signals, delayMs = 0): (stderr: string, child: ReturnType<typeof spawn>) => void {
  let sent = false
  return (stderr, child) => {
    if (sent || !when.test(stderr)) return
    sent = true
    if (delayMs > 0) setTimeout(() => child.kill(signal), delayMs)
    else child.kill(signal)
  }
}
