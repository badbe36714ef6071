// Damaged checkpoints: every kind of damage is refused with "<file> is corrupt: …" and exit 2
// before anything in the run folder is written; a sound best.ckpt is offered, never taken unasked.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {cpSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {mixture, tempDir, writeSpec} from '../helpers.js'
import {TINY_SPEC} from './helpers.js'

/** A finished 3-epoch run to damage copies of (made once). */
function trainedRun(): string {
  const dir = tempDir('mixture-ckpt-')
  const r = mixture(['run', writeSpec(TINY_SPEC(3), dir), '--out', join(dir, 'results')])
  assert.equal(r.code, 0, r.stderr)
  return /run folder: (.*)/.exec(r.stdout)![1].trim()
}

const original = trainedRun()

/** Every file in `dir` with its bytes, to prove that nothing was written. */
function snapshot(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f)).toString('base64')]))
}

function damaged(how: (bytes: Buffer) => Buffer): string {
  const copy = join(tempDir('mixture-ckpt-copy-'), 'run')
  cpSync(original, copy, {recursive: true})
  const file = join(copy, 'last.ckpt')
  writeFileSync(file, how(readFileSync(file)))
  return copy
}

/** Deterministic positions for the bit flips (mulberry32). */
function positions(n: number, below: number, from: number, seed = 7): number[] {
  let s = seed
  return Array.from({length: n}, () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), s | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return from + ((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * (below - from)) | 0
  })
}

const DAMAGE: [string, (b: Buffer) => Buffer, RegExp][] = [
  ['one header byte ("epoch" → "{poch")', (b) => {
    const at = b.indexOf('"epoch"')
    assert.ok(at > 0)
    b[at + 1] = '{'.charCodeAt(0)
    return b
  }, /header|checksum/],
  ['400 bytes of 0xFF in the tensor data', (b) => b.fill(0xff, b.length - 1200, b.length - 800), /checksum/],
  ['300 bit flips in the tensor data', (b) => {
    for (const p of positions(300, b.length, b.length >> 1)) b[p] ^= 1 << (p % 8)
    return b
  }, /checksum/],
  ['truncated to a length that is not a multiple of 4', (b) => b.subarray(0, b.length - 4099), /truncated/],
  ['truncated inside the header', (b) => b.subarray(0, 60), /truncated|header/],
  ['empty', () => Buffer.alloc(0), /empty|truncated|not a mixture-models checkpoint/],
  ['another file in its place', () => Buffer.from('name: not a checkpoint\n'), /not a mixture-models checkpoint/],
]

for (const [what, how, why] of DAMAGE) {
  test(`resume refuses a last.ckpt with ${what}: exit 2, names the file, writes nothing`, () => {
    const run = damaged(how)
    const before = snapshot(run)
    const r = mixture(['run', '--resume', run])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /last\.ckpt is corrupt: /)
    assert.match(r.stderr, why)
    assert.doesNotMatch(r.stderr, /NaN|Float32Array|at .*\.js:\d+/)
    assert.deepEqual(snapshot(run), before, 'the run folder is untouched')
    // best.ckpt is sound: the message says so and names the choice, without taking it
    assert.match(r.stderr, /best\.ckpt \(after epoch \d\) is sound/)
    assert.match(r.stderr, /--from-best/)
  })
}

test('--from-best restarts from best.ckpt: rows after its epoch and the damaged file are set aside, not deleted', () => {
  const run = damaged((b) => b.fill(0xff, b.length - 1200, b.length - 800))
  const rowsBefore = readFileSync(join(run, 'metrics.csv'), 'utf8').trim().split('\n')
  const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'))
  const bestEpoch: number = summary.best_test_epoch
  const r = mixture(['run', '--resume', run, '--from-best'])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stderr, new RegExp(`restarting from best\\.ckpt after epoch ${bestEpoch}`))
  assert.match(r.stderr, /Adam/)
  const files = readdirSync(run)
  const aside = files.filter((f) => /^metrics\.set-aside-.*\.csv$/.test(f))
  const corrupt = files.filter((f) => /^last\.ckpt\.corrupt-/.test(f))
  assert.equal(corrupt.length, 1, files.join(' '))
  if (bestEpoch < 3) {
    assert.equal(aside.length, 1, files.join(' '))
    assert.deepEqual(readFileSync(join(run, aside[0]), 'utf8').trim().split('\n').slice(1), rowsBefore.slice(1 + bestEpoch))
  }
  const rows = readFileSync(join(run, 'metrics.csv'), 'utf8').trim().split('\n').slice(1)
  assert.deepEqual(rows.map((l) => Number(l.split(',')[0])), [1, 2, 3])
  assert.deepEqual(rows.slice(0, bestEpoch), rowsBefore.slice(1, 1 + bestEpoch), 'rows up to best are kept as they were')
  const after = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'))
  assert.equal(after.status, 'completed')
  // Not one uninterrupted run of its seed: summary.json and the table say where it restarted.
  assert.deepEqual(after.restarted_from_best, [bestEpoch])
  const table = mixture(['table', run, '--out', join(run, '..', 'table'), '--format', 'md', '--no-plot'])
  assert.equal(table.code, 0, table.stderr)
  assert.match(table.stdout, new RegExp(`\\(restarted from best\\.ckpt after epoch ${bestEpoch}\\)`))
})

test('a damaged best.ckpt is reported too, and --from-best then has nothing to start from', () => {
  const run = damaged((b) => b.subarray(0, 100))
  const best = join(run, 'best.ckpt')
  writeFileSync(best, readFileSync(best).subarray(0, 101))
  const before = snapshot(run)
  const r = mixture(['run', '--resume', run, '--from-best'])
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /best\.ckpt is corrupt: /)
  assert.match(r.stderr, /mixture run .*config\.yaml/)
  assert.deepEqual(snapshot(run), before)
})

test('a damaged metrics.csv, or one with fewer rows than the checkpoint, is refused and left as it is', () => {
  for (const [edit, message] of [
    [(text: string) => text.replace(/\n2,[^\n]*/, '\n2,garbage'), /metrics\.csv is corrupt: line 3 has 2 fields/],
    [(text: string) => text.split('\n').slice(0, 2).join('\n') + '\n', /metrics\.csv is corrupt: it has 1 epoch rows, but .*last\.ckpt is after epoch 3/],
  ] as const) {
    const run = damaged((b) => b)
    writeFileSync(join(run, 'metrics.csv'), edit(readFileSync(join(run, 'metrics.csv'), 'utf8')))
    const before = snapshot(run)
    const r = mixture(['run', '--resume', run])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, message)
    assert.deepEqual(snapshot(run), before)
  }
})

test('a damaged env.json is kept beside a new one that records the resume; summary.json fields of the wrong type read as missing', () => {
  for (const text of ['{', 'null']) {
    const run = damaged((b) => b)
    writeFileSync(join(run, 'env.json'), text)
    const r = mixture(['run', '--resume', run, '--epochs', '4'])
    assert.equal(r.code, 0, r.stderr)
    const aside = readdirSync(run).find((f) => f.startsWith('env.json.corrupt-'))
    assert.ok(aside, `the damaged env.json (${text}) is kept`)
    assert.equal(readFileSync(join(run, aside), 'utf8'), text)
    assert.match(r.stderr, new RegExp(`note: env\\.json could not be read \\(.*\\): kept as ${aside}`))
    const env = JSON.parse(readFileSync(join(run, 'env.json'), 'utf8'))
    assert.deepEqual([env.earlier_env, env.resumed.length, env.resumed[0].after_epoch], [aside, 1, 3])
  }
  const run = damaged((b) => b)
  const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'))
  writeFileSync(join(run, 'summary.json'), JSON.stringify({...summary, fingerprints: 'x', classes: 5}))
  const r = mixture(['eval', run])
  assert.equal(r.code, 0, r.stderr)
})
