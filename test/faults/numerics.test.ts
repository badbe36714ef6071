// Resume keeps the numerics a run recorded: the backend it ran on (not whatever auto picks now),
// and the engine switches; another backend or switch is refused with the reason, or taken with
// --force and recorded.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {mixture, tempDir} from '../helpers.js'
import {numbers, signalWhen, startRun, TINY_SPEC} from './helpers.js'

const SPEC = TINY_SPEC(3, {data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 64, test: 16, classes: 3}}})
/** As a user's shell would have it: no MIXTURE_BACKEND, so that only --backend cpu picks cpu. */
const NO_BACKEND = {MIXTURE_BACKEND: undefined}

async function interruptedCpuRun(): Promise<string> {
  const r = await startRun(tempDir('mixture-numerics-'), SPEC, signalWhen(/epoch 1\//, 'SIGINT'), {args: ['--backend', 'cpu'], env: NO_BACKEND})
  assert.equal(r.code, 130, r.stderr)
  return r.runDir!
}

function folder(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f)).toString('base64')]))
}

test('a run started with --backend cpu resumes on cpu without the flag, to the uninterrupted numbers', {timeout: 60_000}, async () => {
  const full = await startRun(tempDir('mixture-numerics-'), SPEC, () => {}, {args: ['--backend', 'cpu'], env: NO_BACKEND})
  assert.equal(full.code, 0, full.stderr)
  const runDir = await interruptedCpuRun()
  const recorded = JSON.parse(readFileSync(join(runDir, 'numerics.json'), 'utf8'))
  assert.equal(recorded.backend, 'cpu')
  const before = folder(runDir)

  const other = mixture(['run', '--resume', runDir, '--backend', 'wasm'], {env: NO_BACKEND})
  assert.equal(other.code, 2, other.stderr)
  assert.match(other.stderr, /ran on the cpu backend \(recorded in numerics\.json\), and --backend wasm asks for wasm: .*sums in another order.*Resume without --backend to continue on cpu, or add --force/)
  const fromEnv = mixture(['run', '--resume', runDir], {env: {MIXTURE_BACKEND: 'wasm'}})
  assert.equal(fromEnv.code, 2, fromEnv.stderr)
  assert.match(fromEnv.stderr, /MIXTURE_BACKEND=wasm asks for wasm/)
  const switched = mixture(['run', '--resume', runDir], {env: {...NO_BACKEND, MIXTURE_WEBGPU_FUSED: '0'}})
  assert.equal(switched.code, 2, switched.stderr)
  assert.match(switched.stderr, /would continue with MIXTURE_WEBGPU_FUSED=0 \(it was unset\)/)
  assert.deepEqual(folder(runDir), before, 'refusals write nothing')

  const resumed = mixture(['run', '--resume', runDir], {env: NO_BACKEND})
  assert.equal(resumed.code, 0, resumed.stderr)
  assert.match(resumed.stderr.split('\n')[0], /^backend: cpu — /)
  assert.doesNotMatch(resumed.stderr.split('\n')[0], /\[auto\]/)
  assert.deepEqual(numbers(runDir), numbers(full.runDir!))
  const env = JSON.parse(readFileSync(join(runDir, 'env.json'), 'utf8'))
  assert.equal(env.backend.name, 'cpu', 'env.json keeps the first session')
  assert.equal(env.resumed.length, 1)
})

test('--force continues with another switch and records the change', {timeout: 60_000}, async () => {
  const runDir = await interruptedCpuRun()
  const r = mixture(['run', '--resume', runDir, '--force'], {env: {...NO_BACKEND, MIXTURE_WEBGPU_FUSED: '0'}})
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stderr, /numerics changed with --force after epoch 1: MIXTURE_WEBGPU_FUSED=0 \(it was unset\)/)
  const record = JSON.parse(readFileSync(join(runDir, 'numerics.json'), 'utf8'))
  assert.deepEqual(record.switches, {MIXTURE_WEBGPU_FUSED: '0'})
  assert.equal(record.changes.length, 1)
  assert.deepEqual(record.changes[0].from.switches, {})
  assert.equal(record.changes[0].after_epoch, 1)
})

test('a run recorded on a backend missing here is refused once, with the reason, by resume and eval alike', {timeout: 60_000}, async () => {
  const runDir = await interruptedCpuRun()
  const record = JSON.parse(readFileSync(join(runDir, 'numerics.json'), 'utf8'))
  writeFileSync(join(runDir, 'numerics.json'), JSON.stringify({...record, backend: 'tensorflow'}))
  const before = folder(runDir)

  const resumed = mixture(['run', '--resume', runDir], {env: NO_BACKEND})
  assert.equal(resumed.code, 2, resumed.stderr)
  assert.match(resumed.stderr, /ran on the tensorflow backend, which is not available here \(tensorflow: @tensorflow\/tfjs-node(-gpu)? is not installed.*\)\. Resume it where tensorflow runs, or add --force --backend <name>/)
  const evaluated = mixture(['eval', runDir], {env: NO_BACKEND})
  assert.equal(evaluated.code, 2, evaluated.stderr)
  assert.match(evaluated.stderr, /ran on the tensorflow backend, which is not available here \(tensorflow: .*is not installed.*\)\. Add --backend auto/)
  for (const r of [resumed, evaluated]) assert.equal(r.stderr.match(/not available here/g)?.length, 1, r.stderr)
  assert.deepEqual(folder(runDir), before, 'refusals write nothing')
})
