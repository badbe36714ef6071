// A sweep folder's lock is taken for a moment by a submission, `sweep cancel`, `sweep finish` and
// the table job, and says so (`brief`): a sweep command that meets such a lock waits for it
// (acquireLockWaiting), on this host or another, and takes nothing over meanwhile; a lock kept
// while its holder works (a local sweep) is refused at once, and a brief one that stays past the
// wait is refused as acquireLock refuses it.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import fs, {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {syncBuiltinESMExports} from 'node:module'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {acquireLock, acquireLockWaiting, lockHolder, LockedError} from '../../src/run/lock.js'
import {cancelSweep} from '../../src/sweep/cancel.js'
import {pidAlive} from '../../src/process-alive.js'
import {InterruptedError} from '../../src/errors.js'
import {REPO, tempDir} from '../helpers.js'

/** A process that takes `file`'s lock, holds it `ms`, then lets go; resolves with its pid once it holds it. */
async function holdLock(file: string, ms: number, brief: boolean): Promise<number> {
  const lock = pathToFileURL(join(REPO, 'dist', 'src', 'run', 'lock.js')).href
  const child = spawn(process.execPath, ['--input-type=module', '-e', `const {acquireLock} = await import(${JSON.stringify(lock)}); const l = acquireLock(${JSON.stringify(file)}, 'holder', {brief: ${brief}}); setTimeout(() => l.release(), ${ms})`], {stdio: 'ignore'})
  child.unref()
  while (!existsSync(file)) await new Promise((r) => setTimeout(r, 20))
  return child.pid!
}

/** A lock file as a process on another machine (a table job on a compute node) leaves it. */
function otherHostLock(file: string, brief: boolean): void {
  writeFileSync(file, `${JSON.stringify({pid: 4242, host: 'compute-node-7', started: new Date().toISOString(), token: 'theirs', ...(brief ? {brief: true} : {})})}\n`)
}

test('a lock held for a moment by a live process here is waited for; one held longer than the wait is refused', async () => {
  const dir = tempDir()
  const file = join(dir, 'index.lock')
  await holdLock(file, 800, true)
  assert.equal(lockHolder(file)?.brief, true)
  const start = Date.now()
  const lock = await acquireLockWaiting(file, 'sweep s', {waitMs: 10_000})
  assert.ok(Date.now() - start < 10_000)
  assert.equal(lockHolder(file)?.brief, false, 'a lock taken without brief says it is kept')
  lock.release()
  await holdLock(file, 5_000, true)
  await assert.rejects(acquireLockWaiting(file, 'sweep s', {waitMs: 300}), (e: unknown) => e instanceof LockedError && /sweep s is already running as pid \d+/.test((e as Error).message))
})

test('a lock kept while its holder works (a local sweep) is refused at once, without waiting', async () => {
  const dir = tempDir()
  const file = join(dir, 'index.lock')
  await holdLock(file, 5_000, false)
  const start = Date.now()
  await assert.rejects(acquireLockWaiting(file, 'sweep s', {waitMs: 10_000}), (e: unknown) => e instanceof LockedError && /already running as pid/.test((e as Error).message))
  assert.ok(Date.now() - start < 2_000, `refused after ${Date.now() - start} ms`)
})

test("a brief lock of another host (the table job on a compute node) is waited for, and --force takes it over only after the wait", async () => {
  const dir = tempDir()
  const file = join(dir, 'index.lock')
  otherHostLock(file, true)
  setTimeout(() => rmSync(file), 700)
  const lock = await acquireLockWaiting(file, 'sweep s', {force: true, brief: true, waitMs: 10_000})
  const mine = JSON.parse(readFileSync(file, 'utf8'))
  assert.equal(mine.pid, process.pid)
  assert.equal(mine.brief, true)
  lock.release()

  otherHostLock(file, true)
  await assert.rejects(acquireLockWaiting(file, 'sweep s', {waitMs: 300}), (e: unknown) => e instanceof LockedError && /compute-node-7 .*another machine/.test((e as Error).message))
  const start = Date.now()
  const taken = await acquireLockWaiting(file, 'sweep s', {force: true, waitMs: 600})
  assert.ok(Date.now() - start >= 550, 'taken over only once the wait was over')
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).pid, process.pid)
  taken.release()

  otherHostLock(file, false)
  const again = Date.now()
  const forced = await acquireLockWaiting(file, 'sweep s', {force: true, waitMs: 10_000})
  assert.ok(Date.now() - again < 2_000, 'a kept lock of another host is taken over with --force at once, as before')
  forced.release()
})

test('sweep cancel of a local sweep leaves alone a process that holds the lock for a moment', async () => {
  const dir = tempDir()
  writeFileSync(join(dir, 'index.json'), `${JSON.stringify({name: 's', source: 's.yaml', created: '', updated: '', points: []})}\n`)
  const pid = await holdLock(join(dir, 'index.lock'), 3_000, true)
  const result = await cancelSweep(dir, () => {})
  assert.deepEqual(result.cancelled, [])
  assert.match(result.message, /no process runs sweep s; pid \d+ .* holds its lock for a moment/)
  assert.ok(pidAlive(pid), 'the holder was not signalled')
})

test('a brief lock that appears just before the waiter links its own is waited for, not taken over with --force (the decision is made on the record read)', async () => {
  const dir = tempDir()
  const file = join(dir, 'index.lock')
  const original = fs.writeFileSync
  let armed = true
  // The table job on another host links index.lock in the moment between the waiter's look and its link.
  fs.writeFileSync = ((path: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    if (armed && String(path).startsWith(join(dir, '.index.lock.tmp-'))) {
      armed = false
      otherHostLock(file, true)
      setTimeout(() => rmSync(file), 600)
    }
    return (original as (...a: unknown[]) => void)(path, ...rest)
  }) as typeof fs.writeFileSync
  syncBuiltinESMExports()
  try {
    const logs: string[] = []
    const start = Date.now()
    const lock = await acquireLockWaiting(file, 'sweep s', {force: true, brief: true, waitMs: 10_000, log: (m) => logs.push(m)})
    assert.ok(Date.now() - start >= 500, `taken after ${Date.now() - start} ms, while the other host still held it`)
    assert.ok(logs.some((m) => /held for a moment by pid 4242 on compute-node-7/.test(m)), logs.join('\n'))
    assert.ok(!logs.some((m) => /taking over/.test(m)), logs.join('\n'))
    lock.release()
  } finally {
    fs.writeFileSync = original
    syncBuiltinESMExports()
  }
})

test('Ctrl-C while waiting for a brief lock stops the wait, nothing taken', async () => {
  const dir = tempDir()
  const file = join(dir, 'index.lock')
  otherHostLock(file, true)
  const stop: {requested: boolean; signal?: 'SIGINT'} = {requested: false}
  setTimeout(() => Object.assign(stop, {requested: true, signal: 'SIGINT'}), 300)
  const start = Date.now()
  await assert.rejects(acquireLockWaiting(file, 'sweep s', {force: true, waitMs: 10_000, stop}), (e: unknown) => e instanceof InterruptedError && /stopped while waiting/.test((e as Error).message))
  assert.ok(Date.now() - start < 2_000)
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).host, 'compute-node-7', 'the lock is still theirs')
})

test('sweep cancel and sweep finish, which have no --force, do not suggest it', async () => {
  const dir = tempDir()
  writeFileSync(join(dir, 'index.json'), `${JSON.stringify({name: 's', source: 's.yaml', created: '', updated: '', points: []})}\n`)
  otherHostLock(join(dir, 'index.lock'), false)
  const {finishSweep} = await import('../../src/sweep/finish.js')
  await assert.rejects(finishSweep(dir, () => {}), (e: unknown) => e instanceof LockedError && /another machine.*delete .*index\.lock$/.test((e as Error).message) && !/--force/.test((e as Error).message))
})

test('a lock whose pid now belongs to a process started after the lock was taken (a reboot, the pid reused) is stale: taken over, saying so', async () => {
  const dir = tempDir()
  const file = join(dir, 'run.lock')
  const other = spawn('sleep', ['30'], {stdio: 'ignore'})
  try {
    // The record says its owner took the lock an hour ago; the process with that pid started just now.
    writeFileSync(file, `${JSON.stringify({pid: other.pid, host: hostname(), started: new Date(Date.now() - 3_600_000).toISOString(), token: 'old'})}\n`)
    const logs: string[] = []
    const lock = acquireLock(file, 'run r', {log: (m) => logs.push(m)})
    assert.match(logs.join('\n'), new RegExp(`removing a stale lock: .*run\\.lock was held by pid ${other.pid} .*no longer running \\(pid ${other.pid} is now another process, started after the lock was taken\\)`))
    lock.release()
    // The same pid recorded as taking the lock after that process started is its owner, alive: refused.
    writeFileSync(file, `${JSON.stringify({pid: other.pid, host: hostname(), started: new Date().toISOString(), token: 'live'})}\n`)
    assert.throws(() => acquireLock(file, 'run r'), (e: Error) => e instanceof LockedError && /already running as pid/.test(e.message))
  } finally {
    other.kill()
  }
})
