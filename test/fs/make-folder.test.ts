// mkdir -p that says why a folder cannot be made: the kernel's reason (not the ENOENT Node's
// recursive mkdir reports on a read-only file system), as a FileWriteError naming the folder.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {makeFolder} from '../../src/fs/make-folder.js'
import {FileWriteError} from '../../src/fs/write-error.js'
import {REPO, tempDir} from '../helpers.js'

const READ_ONLY = join(REPO, 'dist', 'test', 'fs', 'read-only-fs.js')

test('makes a folder and the parents it lacks; an existing folder is left as it is', () => {
  const dir = join(tempDir(), 'a', 'b', 'c')
  makeFolder(dir)
  assert.ok(statSync(dir).isDirectory())
  makeFolder(dir)
})

test('a file in the way is a FileWriteError naming the folder and saying so', () => {
  const root = tempDir()
  writeFileSync(join(root, 'file'), 'x')
  assert.throws(() => makeFolder(join(root, 'file')), (e: unknown) => e instanceof FileWriteError && e.message === `cannot write ${join(root, 'file')}: a file stands where a folder belongs (EEXIST)`)
  assert.throws(() => makeFolder(join(root, 'file', 'sub')), (e: unknown) => e instanceof FileWriteError && e.code === 'ENOTDIR' && e.message.startsWith(`cannot write ${join(root, 'file', 'sub')}: `))
})

test('on a read-only file system it says EROFS, naming the first folder it cannot make (Node\'s recursive mkdir says ENOENT)', () => {
  const root = tempDir()
  mkdirSync(join(root, 'run'))
  const script = `import {makeFolder} from ${JSON.stringify(pathToFileURL(join(REPO, 'dist', 'src', 'fs', 'make-folder.js')).href)}
try { makeFolder(${JSON.stringify(join(root, 'run', 'eval', 'deeper'))}) } catch (e) { console.log(e.name, e.code, e.message) }`
  const r = spawnSync(process.execPath, ['--import', READ_ONLY, '--input-type=module', '-e', script], {encoding: 'utf8', env: {...process.env, FAULT_READ_ONLY: join(root, 'run')}})
  assert.equal(r.stdout.trim(), `FileWriteError EROFS cannot write ${join(root, 'run', 'eval')}: the file system is read-only (EROFS)`, r.stderr)
})
