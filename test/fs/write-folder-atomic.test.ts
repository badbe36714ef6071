// A folder of output files written as one: the new folder or the old one, never a half-written one;
// what killed writers left beside it is put right by the next write there — a folder set aside is
// renamed back, other leftovers removed once their writer is gone — and never while it runs.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {leftoverName, readableFolder} from '../../src/fs/folder-leftovers.js'
import {writeFolderAtomic} from '../../src/fs/write-folder-atomic.js'
import {tempDir} from '../helpers.js'
import {endedPid, runningPid} from './pids.js'

/** A folder `name` in `parent` holding `files`. */
function folder(parent: string, name: string, files: Record<string, string> = {'a.txt': name}): string {
  const dir = join(parent, name)
  mkdirSync(dir, {recursive: true})
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text)
  return dir
}

test('writes the files, makes its parents, replaces an earlier folder wholly, and leaves nothing beside it', () => {
  const parent = join(tempDir(), 'eval')
  const dir = join(parent, 'test-best')
  writeFolderAtomic(dir, {'metrics.json': '{"old": true}\n', 'old.csv': 'x'})
  writeFolderAtomic(dir, {'metrics.json': '{"new": true}\n', 'confusion.png': new Uint8Array([1, 2, 3])})
  assert.deepEqual(readdirSync(dir).sort(), ['confusion.png', 'metrics.json'])
  assert.equal(readFileSync(join(dir, 'metrics.json'), 'utf8'), '{"new": true}\n')
  assert.deepEqual(readdirSync(parent), ['test-best'])
})

test('a set-aside folder whose replacement is in place (a writer killed after the swap) is removed; one whose writer runs is kept', () => {
  const parent = tempDir()
  const killed = `.test-best.old-${endedPid()}@${hostname()}-0`
  const running = `.test-last.old-${runningPid}@${hostname()}-0`
  for (const name of ['test-best', killed, running]) folder(parent, name)
  writeFolderAtomic(join(parent, 'test-best'), {'a.txt': 'new'})
  assert.deepEqual(readdirSync(parent).sort(), [running, 'test-best'])
  assert.equal(readFileSync(join(parent, 'test-best', 'a.txt'), 'utf8'), 'new')
})

test("a set-aside folder of a writer that runs is not renamed back, even where its folder is missing (that writer is between its renames)", () => {
  const parent = tempDir()
  const running = `.val-best.old-${runningPid}@${hostname()}-0`
  folder(parent, running)
  writeFolderAtomic(join(parent, 'test-best'), {'a.txt': 'new'})
  assert.deepEqual(readdirSync(parent).sort(), [running, 'test-best'])
})

test('leftovers written from another host (a shared file system) are removed only once untouched for 15 minutes', () => {
  const parent = tempDir()
  const fresh = '.tfjs-best.tmp-4242@other-host-7-0'
  const old = '.tfjs-best.tmp-4243@other-host-7-1'
  folder(parent, fresh)
  folder(parent, old)
  const past = new Date(Date.now() - 20 * 60_000)
  utimesSync(join(parent, old), past, past)
  const notes: string[] = []
  writeFolderAtomic(join(parent, 'tfjs-best'), {'model.json': '{}'}, {log: (m) => notes.push(m)})
  assert.deepEqual(readdirSync(parent).sort(), [fresh, 'tfjs-best'])
  assert.deepEqual(notes, [`removed 1 leftover folder(s) of writes killed before they ended, in ${parent}: ${old}`])
})

test('readableFolder: the folder, or while it is missing its set-aside copy (the newest), or nothing', () => {
  const parent = tempDir()
  const dir = join(parent, 'test-best')
  assert.equal(readableFolder(dir), undefined)
  const older = folder(parent, `.test-best.old-${endedPid()}-0`)
  const past = new Date(Date.now() - 60_000)
  utimesSync(older, past, past)
  const newer = folder(parent, `.test-best.old-${endedPid()}@${hostname()}-1`)
  assert.equal(readableFolder(dir), newer)
  folder(parent, 'test-best')
  assert.equal(readableFolder(dir), dir)
})

test('leftoverName: beside the folder, hidden, naming this process and host', () => {
  const name = leftoverName('/runs/r/eval/test-best', 'tmp')
  assert.match(name, new RegExp(`^/runs/r/eval/\\.test-best\\.tmp-${process.pid}@${hostname().replace(/[^A-Za-z0-9.-]/g, '_').replace(/\./g, '\\.')}-\\d+$`))
})
