// <run>/run.log: what a run says on the console, kept as it is said; an interrupted run keeps what it
// said, a resume appends under a line naming it, a refused resume writes nothing, bars are not kept.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {runExperiment, type RunSummary} from '../../src/run/experiment.js'
import {RunLog} from '../../src/run/run-log.js'
import {finalLine} from '../../src/run/summary.js'
import {TINY_CNN_SPEC, tempDir, writeSpec} from '../helpers.js'
import {interrupted} from './helpers.js'

const spec = {...TINY_CNN_SPEC, train: {...TINY_CNN_SPEC.train, epochs: 3}}
const runLog = (runDir: string) => readFileSync(join(runDir, 'run.log'), 'utf8').split('\n').slice(0, -1)

test('run.log holds every line the run said, in order, from the backend line to the line it ends with', async () => {
  const dir = tempDir()
  const said: string[] = []
  const summary = (await runExperiment({spec: writeSpec(spec, dir), outDir: join(dir, 'r'), log: (m) => said.push(m)})) as RunSummary
  const lines = runLog(summary.run_dir)
  assert.match(lines[0], /^backend: cpu — /)
  assert.deepEqual(lines, [...said, finalLine(summary)])
  assert.equal(lines.filter((l) => /^epoch \d\/3 {2}train loss/.test(l)).length, 3)
  assert.match(lines.at(-1)!, /^completed: best test accuracy \d\.\d{4} \(epoch \d\), [\d.]+ training minutes, \d+ parameters$/)
})

test('an interrupted run keeps what it said; a resume appends under a line naming it; a refused resume writes nothing', async () => {
  const dir = tempDir()
  const said: string[] = []
  const runDir = await interrupted(writeSpec(spec, dir), join(dir, 'r'), /^epoch 1\/3/, (m) => said.push(m))
  const cut = runLog(runDir)
  assert.deepEqual(cut.slice(0, -1), said)
  assert.match(cut.at(-1)!, /^interrupted: interrupted (after epoch 1|during epoch 2); 1 epoch\(s\) are done, and the checkpoint after epoch 1 is kept in .*Continue with: mixture run --resume /)

  await assert.rejects(runExperiment({resume: runDir, backend: 'wasm', log: () => {}}), /ran on the cpu backend|recorded/)
  assert.deepEqual(runLog(runDir), cut, 'a refused resume leaves run.log as it was')

  const again: string[] = []
  const resumed = (await runExperiment({resume: runDir, log: (m) => again.push(m)})) as RunSummary
  const lines = runLog(runDir)
  assert.deepEqual(lines.slice(0, cut.length), cut)
  assert.match(lines[cut.length], /^---- resumed after epoch 1, \d{4}-\d\d-\d\dT[\d:.]+Z \(mixture run --resume\) ----$/)
  assert.deepEqual(lines.slice(cut.length + 1), [...again, finalLine(resumed)])
  assert.deepEqual(lines.filter((l) => l.startsWith('epoch ')).map((l) => l.slice(0, 9)), ['epoch 1/3', 'epoch 2/3', 'epoch 3/3'])
})

test('with progress bars the bars are not kept, their epoch lines are', async () => {
  const dir = tempDir()
  const said: string[] = []
  const summary = (await runExperiment({spec: writeSpec(spec, dir), outDir: join(dir, 'r'), bars: true, log: (m) => said.push(m)})) as RunSummary
  assert.equal(said.filter((l) => l.startsWith('epoch ')).length, 0, 'the bars printed them, not the log')
  const lines = runLog(summary.run_dir)
  assert.equal(lines.filter((l) => /^epoch \d\/3 {2}train loss/.test(l)).length, 3)
  assert.ok(!lines.some((l) => l.includes('|')), 'no bar')
})

test('a log that cannot be written is said once, and the run goes on', () => {
  const said: string[] = []
  const log = new RunLog((m) => said.push(m))
  log.log('before the folder')
  const file = join(tempDir(), 'file')
  writeFileSync(file, '')
  log.open(join(file, 'not-a-folder'))
  log.log('after')
  assert.equal(said.length, 3)
  assert.deepEqual(said.slice(0, 1), ['before the folder'])
  assert.match(said[1], /not-a-folder\/run\.log cannot be written \(.*\); the run goes on without it$/)
  assert.equal(said[2], 'after')
})
