// Sweeps under concurrency and hostile names: one sweep per folder at a time (index.lock), stale
// locks taken over, other hosts' locks only with --force, names that cannot leave --out.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {CLI_ENV, mixture, REPO, tempDir, writeSpec} from '../helpers.js'
import {TINY_SPEC} from './helpers.js'

/** A sweep of one point that trains for a couple of seconds. */
function sweepFile(dir: string, name = 'same'): string {
  writeSpec(TINY_SPEC(3, {data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 256, test: 16, classes: 3}}}), dir, 'point.yaml')
  return writeSpec({sweep: {name, points: ['point.yaml']}}, dir, 'sweep.yaml')
}

function startSweep(args: string[]) {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'run.js'), 'sweep', ...args], {env: {...process.env, ...CLI_ENV}})
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const done = new Promise<{code: number | null; stderr: string}>((resolve) => child.on('exit', (code) => resolve({code, stderr})))
  const output = () => stderr
  return {child, done, output}
}

async function until(what: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('two identical sweeps at once: the second is refused naming the first, the first finishes whole', {timeout: 60_000}, async () => {
  const dir = tempDir()
  const file = sweepFile(dir)
  const out = join(dir, 'results')
  const first = startSweep([file, '--out', out])
  await until(() => /\[1\/1\]/.test(first.output()), 30_000)
  const second = mixture(['sweep', file, '--out', out])
  assert.equal(second.code, 2, second.stderr)
  assert.match(second.stderr, new RegExp(`sweep same is already running as pid ${first.child.pid} on ${hostname()} since \\d{4}-`))
  const r = await first.done
  assert.equal(r.code, 0, r.stderr)
  const points = readdirSync(join(out, 'same')).filter((f) => /^01-/.test(f))
  assert.deepEqual(points, ['01-point'], 'no point folder was set aside or doubled')
  const rows = readFileSync(join(out, 'same', '01-point', 'metrics.csv'), 'utf8').trim().split('\n').slice(1)
  assert.deepEqual(rows.map((l) => l.split(',')[0]), ['1', '2', '3'])
  assert.ok(!existsSync(join(out, 'same', 'index.lock')), 'the lock is released')
})

test('sweep names cannot leave --out: sweep.name and --name follow the run-name rule', () => {
  const dir = tempDir()
  writeSpec(TINY_SPEC(1), dir, 'point.yaml')
  const out = join(dir, 'a', 'b', 'results')
  const named = mixture(['sweep', writeSpec({sweep: {name: '../../X', points: ['point.yaml']}}, dir, 'sweep.yaml'), '--out', out])
  assert.equal(named.code, 2, named.stderr)
  assert.match(named.stderr, /sweep\.yaml:\d+:\d+: sweep\.name: "\.\.\/\.\.\/X" cannot name a folder/)
  const flag = mixture(['sweep', join(dir, 'point.yaml'), '--name', '../../../X', '--out', out])
  assert.equal(flag.code, 2, flag.stderr)
  assert.match(flag.stderr, /--name: "\.\.\/\.\.\/\.\.\/X" cannot name a folder/)
  assert.ok(!existsSync(join(dir, 'X')) && !existsSync(join(dir, 'a', 'X')) && !existsSync(out), 'nothing was created')
})

test('a stale lock (its process is gone) is taken over; another host\'s lock needs --force', {timeout: 60_000}, () => {
  const dir = tempDir()
  const file = sweepFile(dir, 'locked')
  const out = join(dir, 'results')
  const lockDir = join(out, 'locked')
  spawnSync('mkdir', ['-p', lockDir])
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout
  writeFileSync(join(lockDir, 'index.lock'), JSON.stringify({pid: Number(gone), host: hostname(), started: '2026-01-01T00:00:00.000Z', token: 'old'}))
  const stale = mixture(['sweep', file, '--out', out, '--set', 'train.epochs=1'])
  assert.equal(stale.code, 0, stale.stderr)
  assert.match(stale.stderr, new RegExp(`removing a stale lock: .*index\\.lock was held by pid ${gone} on ${hostname()}`))
  writeFileSync(join(lockDir, 'index.lock'), JSON.stringify({pid: 1, host: 'elsewhere.example', started: new Date(Date.now() - 3 * 3600e3).toISOString(), token: 'other'}))
  const other = mixture(['sweep', file, '--out', out, '--set', 'train.epochs=1'])
  assert.equal(other.code, 2, other.stderr)
  assert.match(other.stderr, /sweep locked is locked by pid 1 on elsewhere\.example since .* \(3\.0 h ago\), another machine, which cannot be checked from here\. If it no longer runs there, delete .*index\.lock or rerun with --force/)
  const forced = mixture(['sweep', file, '--out', out, '--set', 'train.epochs=1', '--force'])
  assert.equal(forced.code, 0, forced.stderr)
  assert.match(forced.stderr, /taking over the lock of pid 1 on elsewhere\.example/)
})
