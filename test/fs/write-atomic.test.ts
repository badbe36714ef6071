// One write-then-rename for every file a reader may open meanwhile: the whole new content or the
// old one, never a temp file left beside it.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdirSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {writeFileAtomic} from '../../src/fs/write-atomic.js'
import {FileWriteError} from '../../src/fs/write-error.js'
import {tempDir} from '../helpers.js'

test('writes text, bytes and chunks, replaces the old content and leaves no temp file', () => {
  const dir = tempDir()
  const file = join(dir, 'table.md')
  writeFileAtomic(file, 'first\n')
  assert.equal(readFileSync(file, 'utf8'), 'first\n')
  writeFileAtomic(file, [Buffer.from('se'), new Uint8Array([99, 111, 110, 100])])
  assert.equal(readFileSync(file, 'utf8'), 'second')
  assert.deepEqual(readdirSync(dir), ['table.md'])
})

test('a write that fails leaves the old file as it was and no temp file', () => {
  const dir = tempDir()
  const file = join(dir, 'index.json')
  writeFileAtomic(file, '{"old": true}')
  const chunks = [Buffer.from('{"new"'), null as unknown as Uint8Array]
  assert.throws(() => writeFileAtomic(file, chunks))
  assert.equal(readFileSync(file, 'utf8'), '{"old": true}')
  assert.deepEqual(readdirSync(dir), ['index.json'])
})

test('a rename that fails (the name is a folder) leaves that folder as it was and no temp file', () => {
  const dir = tempDir()
  const folder = join(dir, 'out')
  mkdirSync(folder)
  assert.throws(() => writeFileAtomic(folder, 'csv'), /EISDIR|ENOTEMPTY|EEXIST|EPERM/)
  assert.deepEqual(readdirSync(dir), ['out'])
})

test('a failure names the file written (not its temp file) and what the code means; the code stays on the error', () => {
  const file = join(tempDir(), 'gone', 'table.csv')
  assert.throws(
    () => writeFileAtomic(file, 'csv'),
    (e: unknown) => e instanceof FileWriteError && e.code === 'ENOENT' && e.message === `cannot write ${file}: its folder does not exist (ENOENT)`,
  )
})
