// `mixture run --resume <run> --epochs N`: a finished (or interrupted) run trains on to N epochs in
// all, to the numbers a run configured for N epochs gives, where its schedule does not span the
// number of epochs; a schedule that does (cosine), fewer epochs than done, and a sweep's point are
// refused with the reason, and nothing is written.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {mixture, tempDir, writeSpec} from '../helpers.js'
import {numbers, referenceNumbers, TINY_SPEC} from '../faults/helpers.js'

/** A finished run of `spec` (cpu backend, so that the numbers are exact); its folder. */
function finishedRun(spec: Record<string, unknown>): string {
  const dir = tempDir('mixture-extend-')
  const r = mixture(['run', writeSpec(spec, dir), '--out', join(dir, 'results'), '--backend', 'cpu'])
  assert.equal(r.code, 0, r.stderr)
  return /run folder: (.*)/.exec(r.stdout)![1].trim()
}

function folder(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f)).toString('base64')]))
}

test('a finished run trains on to --epochs N, to the numbers of a run configured for N epochs; config.yaml and env.json say so', {timeout: 120_000}, () => {
  const runDir = finishedRun(TINY_SPEC(2, {engine: {backend: 'cpu'}}))
  const before = readFileSync(join(runDir, 'config.yaml'), 'utf8')
  const r = mixture(['run', '--resume', runDir, '--epochs', '4'])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stderr, /train\.epochs raised from 2 to 4 \(config\.yaml updated; env\.json records the change\)/)
  assert.deepEqual(numbers(runDir), referenceNumbers(TINY_SPEC(4, {engine: {backend: 'cpu'}}), 'mixture-extend-ref-'))
  assert.equal(readFileSync(join(runDir, 'config.yaml'), 'utf8'), before.replace(/^(\s+epochs:) 2$/m, '$1 4'), 'only train.epochs changed')
  const env = JSON.parse(readFileSync(join(runDir, 'env.json'), 'utf8'))
  assert.deepEqual(env.resumed.at(-1).epochs, {from: 2, to: 4})
  const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'))
  assert.deepEqual([summary.status, summary.epochs, summary.epochs_completed], ['completed', 4, 4])
})

test('--epochs is refused, writing nothing, for no more epochs than done or more than the limit, a schedule that spans the epochs, a run early stopping ended, a sweep point, and without --resume', {timeout: 120_000}, () => {
  const runDir = finishedRun(TINY_SPEC(2, {engine: {backend: 'cpu'}}))
  const before = folder(runDir)
  const fewer = mixture(['run', '--resume', runDir, '--epochs', '2'])
  assert.equal(fewer.code, 2, fewer.stderr)
  assert.match(fewer.stderr, /--epochs 2: .* has trained 2 epoch\(s\) \(of 2\); give more epochs than that/)
  assert.deepEqual(folder(runDir), before)
  // Past train.epochs' limit: config.yaml would hold a spec no command reads again.
  const huge = mixture(['run', '--resume', runDir, '--epochs', '100001'])
  assert.equal(huge.code, 2, huge.stderr)
  assert.match(huge.stderr, /--epochs 100001: .*give more epochs than that and at most 100,000 \(train\.epochs' limit\)/)
  assert.deepEqual(folder(runDir), before)
  // config.yaml changed since (the learning rate): the messages say so, not that --epochs moves the schedule.
  const edited = finishedRun(TINY_SPEC(2, {engine: {backend: 'cpu'}}))
  writeFileSync(join(edited, 'config.yaml'), readFileSync(join(edited, 'config.yaml'), 'utf8').replace(/^(\s+lr:) .*$/m, '$1 0.5'))
  const editedBefore = folder(edited)
  // Refused as an edited config.yaml; with --force the edit is taken, and the schedule it moves is said.
  const refused = mixture(['run', '--resume', edited, '--epochs', '4'])
  assert.equal(refused.code, 2, refused.stderr)
  assert.match(refused.stderr, /config\.yaml changed since the run trained under it .*add --force to continue under the edited file/)
  const moved = mixture(['run', '--resume', edited, '--epochs', '4', '--force'])
  assert.equal(moved.code, 2, moved.stderr)
  assert.match(moved.stderr, /cannot resume .* exactly: the schedule gives step \d+ a learning rate of 0\.5/)
  assert.deepEqual(folder(edited), editedBefore)

  const cosine = finishedRun(TINY_SPEC(2, {engine: {backend: 'cpu'}, train: {...(TINY_SPEC(2).train as object), schedule: {type: 'cosine'}}}))
  const cosineBefore = folder(cosine)
  const spans = mixture(['run', '--resume', cosine, '--epochs', '4'])
  assert.equal(spans.code, 2, spans.stderr)
  assert.match(spans.stderr, /--epochs 4: .*'s cosine schedule spans train\.epochs, so training to 4 epochs instead of 2 moves the learning rate .*train a new run with --set train\.epochs=4 instead/)
  assert.deepEqual(folder(cosine), cosineBefore)

  // A run folder beside a sweep's index.json is one of its points.
  const sweepDir = tempDir('mixture-extend-sweep-')
  const point = join(sweepDir, '01-point')
  mkdirSync(point)
  for (const [name, content] of before) writeFileSync(join(point, name), Buffer.from(content, 'base64'))
  writeFileSync(join(sweepDir, 'index.json'), '{"points": []}')
  const inSweep = mixture(['run', '--resume', point, '--epochs', '4'])
  assert.equal(inSweep.code, 2, inSweep.stderr)
  assert.match(inSweep.stderr, /is a point of the sweep in .*; rerun the sweep with --set train\.epochs=4 instead/)

  // A run early stopping ended: it would stop again at once (it decides from the rows).
  const stopping = {...TINY_SPEC(4, {engine: {backend: 'cpu'}}), train: {...(TINY_SPEC(4).train as object), early_stopping: {metric: 'train_loss', mode: 'max', patience: 1}}}
  const stopped = finishedRun(stopping)
  assert.ok(JSON.parse(readFileSync(join(stopped, 'summary.json'), 'utf8')).stopped_early, 'the run stopped early')
  const stoppedBefore = folder(stopped)
  const again = mixture(['run', '--resume', stopped, '--epochs', '8'])
  assert.equal(again.code, 2, again.stderr)
  assert.match(again.stderr, /--epochs 8: early stopping ended .* after epoch 2 \(train_loss did not rise .*nothing would train\. To train on from its weights, start a new run with train\.init_from: .*last\.ckpt/)
  assert.deepEqual(folder(stopped), stoppedBefore)

  const alone = mixture(['run', writeSpec(TINY_SPEC(2), tempDir()), '--epochs', '4'])
  assert.equal(alone.code, 2, alone.stderr)
  assert.match(alone.stderr, /--resume/)
})

test('a config.yaml edited since the run trained under it (its seed) is refused on resume, writing nothing; --force continues under it and env.json records it', {timeout: 120_000}, () => {
  const runDir = finishedRun(TINY_SPEC(2, {engine: {backend: 'cpu'}}))
  assert.match(JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')).config_sha256, /^[0-9a-f]{64}$/)
  writeFileSync(join(runDir, 'config.yaml'), readFileSync(join(runDir, 'config.yaml'), 'utf8').replace(/^seed: .*$/m, 'seed: 7'))
  const before = folder(runDir)
  const refused = mixture(['run', '--resume', runDir, '--epochs', '3'])
  assert.equal(refused.code, 2, refused.stderr)
  assert.match(refused.stderr, /config\.yaml changed since the run trained under it \(summary\.json records another SHA-256\)/)
  assert.deepEqual(folder(runDir), before)
  const forced = mixture(['run', '--resume', runDir, '--epochs', '3', '--force'])
  assert.equal(forced.code, 0, forced.stderr)
  assert.match(forced.stderr, /config\.yaml was edited since the run trained under it; continuing under the edited file/)
  assert.equal(JSON.parse(readFileSync(join(runDir, 'env.json'), 'utf8')).resumed.at(-1).config_edited, true)
  // From then on the run trains under the file as it is: a plain resume is not refused.
  const again = mixture(['run', '--resume', runDir])
  assert.equal(again.code, 0, again.stderr)
})
