// Runs stopped from outside: SIGKILL at random moments (including inside a checkpoint write), SIGTERM,
// Ctrl-C before the first checkpoint. Whatever the moment, the folder either resumes to exactly the
// numbers of an uninterrupted run or says that nothing is resumable yet.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {spawn, spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {verifyCheckpoint} from '../../src/run/checkpoint.js'
import {liveStatus} from '../../src/run/status.js'
import {CLI_ENV, mixture, REPO, tempDir} from '../helpers.js'
import {numbers, referenceNumbers, signalWhen, startRun, TINY_SPEC} from './helpers.js'

const EPOCHS = 3
const SPEC = TINY_SPEC(EPOCHS, {data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 64, test: 16, classes: 3}}})
const PRELOAD = join(REPO, 'dist', 'test', 'faults', 'kill-in-write.js')

const reference = referenceNumbers(SPEC, 'mixture-kill-')

/**
 * Resume and check: the uninterrupted numbers; or, where no last.ckpt was written, "nothing is
 * resumable yet" — or, killed between epoch 1's best.ckpt and last.ckpt (best.ckpt is written
 * first), the choice between restarting from best.ckpt and starting anew, nothing changed.
 */
function resumeAndCompare(runDir: string): 'resumed' | 'nothing to resume' {
  const r = mixture(['run', '--resume', runDir])
  if (!existsSync(join(runDir, 'last.ckpt'))) {
    assert.equal(r.code, 2, r.stderr)
    if (existsSync(join(runDir, 'best.ckpt'))) assert.match(r.stderr, /there is no last\.ckpt\. best\.ckpt \(after epoch \d+\) is sound\. Nothing was changed\. Choose one:[\s\S]*--from-best[\s\S]*config\.yaml: start the run anew/)
    else assert.match(r.stderr, /nothing is resumable yet.*Start it again with: mixture run .*config\.yaml/)
    return 'nothing to resume'
  }
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(numbers(runDir), reference, 'the resumed run has the uninterrupted numbers')
  assert.deepEqual(readdirSync(runDir).filter((f) => /\.tmp-|\.lock$/.test(f)), [], 'no temp or lock file is left')
  return 'resumed'
}

test('SIGKILL at random moments: the folder shows as crashed and resumes to the uninterrupted numbers', {timeout: 120_000}, async (t) => {
  const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100000)
  t.diagnostic(`kill delays from seed ${seed} (FAULT_SEED=${seed} repeats them)`)
  let s = seed
  const random = () => ((s = (s * 48271) % 2147483647) / 2147483647)
  // Three runs at once, each killed at its own moment: a random delay after a random point of the
  // run (its start, or the end of epoch 1 or 2), so that kills before, between and inside
  // checkpoint writes all occur whatever the machine's speed.
  const TRIGGERS = [/run folder: /, /epoch 1\//, /epoch 2\//]
  const plans = [0, 1, 2].map(() => ({trigger: TRIGGERS[Math.floor(random() * TRIGGERS.length)], delay: Math.floor(random() * 400)}))
  const outcomes = await Promise.all(
    plans.map(async ({trigger, delay}) => {
      const dir = tempDir('mixture-kill-')
      const r = await startRun(dir, SPEC, signalWhen(trigger, 'SIGKILL', delay))
      return {delay: `${delay} ms after ${trigger.source.replace(/\\/g, '')}`, dir, ...r}
    }),
  )
  let tableChecked = false
  for (const [i, r] of outcomes.entries()) {
    assert.ok(r.runDir, r.stderr)
    if (r.signal !== 'SIGKILL') {
      t.diagnostic(`kill ${i + 1} ${r.delay}: the run had finished`)
      continue
    }
    if (!existsSync(join(r.runDir!, 'summary.json'))) {
      // Killed before training wrote its first summary (the folder and its config exist): nothing to resume, and it says how to start again.
      assert.equal(resumeAndCompare(r.runDir!), 'nothing to resume')
      t.diagnostic(`kill ${i + 1} ${r.delay}: before the first summary.json; nothing to resume`)
      continue
    }
    const summary = JSON.parse(readFileSync(join(r.runDir!, 'summary.json'), 'utf8'))
    if (summary.status === 'completed') {
      // Killed while exiting, after its last summary: the run is whole.
      assert.deepEqual(numbers(r.runDir!), reference, 'a run that completed has the uninterrupted numbers')
      t.diagnostic(`kill ${i + 1} ${r.delay}: after the run had completed, while it exited`)
      continue
    }
    assert.equal(summary.status, 'running', 'a killed process cannot say otherwise')
    assert.equal(liveStatus(summary), 'crashed')
    if (!tableChecked) {
      const table = mixture(['table', r.runDir!, '--json', '--out', join(r.dir, 'table')])
      assert.equal(JSON.parse(table.stdout).rows[0].status, 'crashed', table.stderr)
      tableChecked = true
    }
    t.diagnostic(`kill ${i + 1} ${r.delay}: ${resumeAndCompare(r.runDir!)}`)
  }
})

test('SIGKILL inside a checkpoint write: the previous checkpoint stays, the temp file is removed on resume', {timeout: 60_000}, async () => {
  const dir = tempDir('mixture-kill-')
  // the second write of last.ckpt (after epoch 2), after its prefix and two tensors
  const r = await startRun(dir, SPEC, () => {}, {env: {FAULT_KILL_FILE: 'last.ckpt', FAULT_KILL_WRITE: '2', FAULT_KILL_AFTER_CHUNKS: '3'}, nodeArgs: ['--import', PRELOAD]})
  assert.equal(r.signal, 'SIGKILL', r.stderr)
  const runDir = r.runDir!
  const temps = readdirSync(runDir).filter((f) => /^\.last\.ckpt\.tmp-/.test(f))
  assert.equal(temps.length, 1, 'the killed write left its temp file')
  assert.equal(verifyCheckpoint(join(runDir, 'last.ckpt')).meta.epoch, 1, 'last.ckpt is still the sound one after epoch 1')
  const resumed = mixture(['run', '--resume', runDir])
  assert.equal(resumed.code, 0, resumed.stderr)
  assert.match(resumed.stderr, /removed 1 temp file\(s\) a killed process left: \.last\.ckpt\.tmp-/)
  assert.match(resumed.stderr, /1 metrics row\(s\) after epoch 1 set aside/)
  assert.deepEqual(numbers(runDir), reference)
  assert.deepEqual(readdirSync(runDir).filter((f) => /\.tmp-/.test(f)), [])
})

test("SIGKILL inside the first last.ckpt write (best.ckpt of epoch 1 written): resume offers best.ckpt or a new start, nothing changed", {timeout: 60_000}, async () => {
  const dir = tempDir('mixture-kill-')
  const r = await startRun(dir, SPEC, () => {}, {env: {FAULT_KILL_FILE: 'last.ckpt', FAULT_KILL_WRITE: '1', FAULT_KILL_AFTER_CHUNKS: '1'}, nodeArgs: ['--import', PRELOAD]})
  assert.equal(r.signal, 'SIGKILL', r.stderr)
  assert.equal(verifyCheckpoint(join(r.runDir!, 'best.ckpt')).meta.epoch, 1)
  assert.equal(resumeAndCompare(r.runDir!), 'nothing to resume')
})

test('SIGKILL inside a best.ckpt write: resumed, best.ckpt holds the epoch the summary names best', {timeout: 60_000}, async () => {
  const dir = tempDir('mixture-kill-')
  // the second write of best.ckpt (epoch 2 improves on epoch 1), before any of it is written
  const r = await startRun(dir, SPEC, () => {}, {env: {FAULT_KILL_FILE: 'best.ckpt', FAULT_KILL_WRITE: '2', FAULT_KILL_AFTER_CHUNKS: '0'}, nodeArgs: ['--import', PRELOAD]})
  assert.equal(r.signal, 'SIGKILL', r.stderr)
  const runDir = r.runDir!
  assert.equal(verifyCheckpoint(join(runDir, 'last.ckpt')).meta.epoch, 1, 'last.ckpt is written after best.ckpt, so it is still epoch 1')
  const resumed = mixture(['run', '--resume', runDir])
  assert.equal(resumed.code, 0, resumed.stderr)
  assert.deepEqual(numbers(runDir), reference)
  const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'))
  assert.equal(summary.best_test_epoch, 2, 'the spec improves at epoch 2 (else this test kills nothing)')
  assert.equal(verifyCheckpoint(join(runDir, 'best.ckpt')).meta.epoch, summary.best_test_epoch, 'best.ckpt is the epoch the table reports')
})

for (const [signal, code] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
test(`${signal} (${signal === 'SIGHUP' ? 'the terminal closed' : 'kill, a scheduler'}) is handled like Ctrl-C: the step finishes, the checkpoint stays, status interrupted, exit ${code}; resume matches`, {timeout: 60_000}, async () => {
  const dir = tempDir('mixture-kill-')
  const r = await startRun(dir, SPEC, signalWhen(/epoch 1\//, signal))
  assert.equal(r.code, code, r.stderr)
  assert.match(r.stderr, new RegExp(`${signal}: finishing the current step`))
  assert.match(r.stderr, /Continue with: mixture run --resume /)
  const summary = JSON.parse(readFileSync(join(r.runDir!, 'summary.json'), 'utf8'))
  assert.equal(summary.status, 'interrupted')
  assert.ok(summary.epochs_completed >= 1 && summary.epochs_completed < EPOCHS, `${summary.epochs_completed} epochs`)
  assert.equal(resumeAndCompare(r.runDir!), 'resumed')
  assert.equal(JSON.parse(readFileSync(join(r.runDir!, 'summary.json'), 'utf8')).started, summary.started, 'a resumed run keeps when it first started')
})
}

test('a command that trains nothing (eval), stopped by a signal, exits at once with its code, saying so: with --json as the one JSON document', {timeout: 120_000}, async () => {
  const dir = tempDir('mixture-kill-')
  // One training step, a test split of 16: quick to train; `eval --split train` then has 20,000 images to evaluate.
  const big = TINY_SPEC(1, {data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 20_000, test: 16, classes: 3}}})
  big.train = {...(big.train as object), steps_per_epoch: 1}
  const trained = await startRun(dir, big, () => {})
  assert.equal(trained.code, 0, trained.stderr)
  for (const [signal, code] of [['SIGINT', 130], ['SIGHUP', 129]] as const) {
    const child = spawn(process.execPath, [join(REPO, 'bin', 'run.js'), 'eval', trained.runDir!, '--split', 'train', '--json'], {env: {...process.env, ...CLI_ENV}})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    // Once it has opened the run (its first line), it makes and evaluates 20,000 images: seconds.
    child.stderr.on('data', (d) => {
      if (stderr === '') child.kill(signal)
      stderr += d
    })
    const exit = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
    assert.equal(exit, code, stderr)
    assert.deepEqual(JSON.parse(stdout), {error: {message: `interrupted by ${signal}`, code}})
    assert.match(stderr, new RegExp(`Error: interrupted by ${signal}`))
  }
})

test('a second signal quits at once, after what must be on disk is written (the run writes its status: interrupted)', () => {
  const dir = tempDir('mixture-kill-')
  const marker = join(dir, 'written')
  // Both signals arrive while the process is busy (as in a long step), so both handlers run back to back.
  const script = `import {withInterrupt} from ${JSON.stringify(pathToFileURL(join(REPO, 'dist', 'src', 'base-command.js')).href)}
import {writeFileSync} from 'node:fs'
await withInterrupt('stopping', async (stop) => {
  stop.beforeQuit = () => writeFileSync(${JSON.stringify(marker)}, 'interrupted')
  process.kill(process.pid, 'SIGINT')
  process.kill(process.pid, 'SIGINT')
  await new Promise((r) => setTimeout(r, 5000))
  writeFileSync(${JSON.stringify(marker)}, 'ran on')
})`
  const r = spawnSync(process.execPath, ['--input-type=module', '--eval', script], {encoding: 'utf8', timeout: 30_000})
  assert.equal(r.status, 130, r.stderr)
  assert.equal(readFileSync(marker, 'utf8'), 'interrupted')
})

test('Ctrl-C before the first checkpoint says that nothing is resumable yet, and what to run instead', {timeout: 60_000}, async () => {
  const dir = tempDir('mixture-kill-')
  const r = await startRun(dir, SPEC, signalWhen(/run folder: /, 'SIGINT'))
  assert.equal(r.code, 130, r.stderr)
  assert.match(r.stderr, /interrupted during epoch 1; 0 epoch\(s\) are done and nothing is resumable yet: the first checkpoint is written after epoch 1\. Start again with: mixture run .*config\.yaml/)
  assert.doesNotMatch(r.stderr, /--resume/)
  assert.equal(resumeAndCompare(r.runDir!), 'nothing to resume')
})
