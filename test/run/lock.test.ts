// A sweep folder's lock is held by a table job or a submission for a moment: `sweep cancel` and
// `sweep finish` wait for it (acquireLockWaiting) instead of refusing at once; a holder that stays
// is refused as before.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {acquireLockWaiting, LockedError} from '../../src/run/lock.js'
import {REPO, tempDir} from '../helpers.js'

/** A process that takes `file`'s lock, holds it `ms`, then lets go; resolves once it holds it. */
async function holdLock(file: string, ms: number): Promise<void> {
  const lock = pathToFileURL(join(REPO, 'dist', 'src', 'run', 'lock.js')).href
  const child = spawn(process.execPath, ['--input-type=module', '-e', `const {acquireLock} = await import(${JSON.stringify(lock)}); const l = acquireLock(${JSON.stringify(file)}, 'holder'); setTimeout(() => l.release(), ${ms})`], {stdio: 'ignore'})
  child.unref()
  while (!existsSync(file)) await new Promise((r) => setTimeout(r, 20))
}

test('a lock held for a moment by a live process here is waited for; one held longer than the wait is refused', async () => {
  const dir = tempDir()
  const file = join(dir, 'index.lock')
  await holdLock(file, 800)
  const start = Date.now()
  const lock = await acquireLockWaiting(file, 'sweep s', {waitMs: 10_000})
  assert.ok(Date.now() - start < 10_000)
  lock.release()
  await holdLock(file, 5_000)
  await assert.rejects(acquireLockWaiting(file, 'sweep s', {waitMs: 300}), (e: unknown) => e instanceof LockedError && /sweep s is already running as pid \d+/.test((e as Error).message))
})
