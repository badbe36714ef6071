// mixture data cache: the decoded-image cache files listed (what each holds, when last used) and
// cleared — all, or those unused for N days; an earlier layout's files and a killed write's
// temporary files with any clear, a write that may be under way not; a read marks a file used.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {imageCacheDir, readCache, writeCache} from '../../src/data/image-cache.js'
import {mixture, tempDir} from '../helpers.js'

const DAY = 86_400_000

/** A cache file of `count` 2×2 images, last used `daysAgo` days ago. */
async function cached(dir: string, name: string, count: number, daysAgo: number): Promise<string> {
  const file = join(dir, name)
  const split = {labels: new Uint8Array(count), images: new Uint8Array(count * 12), count}
  assert.equal(await writeCache(file, 2, {splits: {train: split, test: split}, skipped: []}), undefined)
  const when = new Date(Date.now() - daysAgo * DAY)
  utimesSync(file, when, when)
  return file
}

test('data cache lists the files (what each holds, most recently used first) and --clear --older-than removes the unused ones only', async () => {
  const home = tempDir()
  const env = {XDG_CACHE_HOME: home}
  const dir = join(home, 'mixture-models', 'datasets', 'image_folder')
  assert.match(mixture(['data', 'cache'], {env}).stdout, /no cache files in .*image_folder/)
  mkdirSync(dir, {recursive: true})
  await cached(dir, 'recent-1.bin', 3, 1)
  const old = await cached(dir, 'old-2.bin', 5, 40)
  const earlier = join(dir, 'earlier-3.bin')
  writeFileSync(earlier, 'MMIMGC1\nnot this layout')
  utimesSync(earlier, new Date(Date.now() - 10 * DAY), new Date(Date.now() - 10 * DAY))
  const killed = join(dir, 'recent-1.bin.123.tmp')
  writeFileSync(killed, 'half')
  utimesSync(killed, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000))
  const writing = join(dir, 'new-4.bin.456.tmp')
  writeFileSync(writing, 'under way')
  const list = JSON.parse(mixture(['data', 'cache', '--json'], {env}).stdout)
  assert.equal(list.folder, dir)
  assert.deepEqual(
    list.files.map((f: {file: string; holds: string | null}) => [f.file.replace(`${dir}/`, ''), f.holds]),
    [
      ['new-4.bin.456.tmp', null],
      ['recent-1.bin.123.tmp', null],
      ['recent-1.bin', '2×2: train 3, test 3'],
      ['earlier-3.bin', null],
      ['old-2.bin', '2×2: train 5, test 5'],
    ],
    'most recently used first',
  )
  assert.equal(list.files.at(-1).file, old)
  const r = mixture(['data', 'cache', '--clear', '--older-than', '30'], {env})
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /removed 3 file\(s\)/)
  assert.deepEqual(readdirSync(dir).sort(), ['new-4.bin.456.tmp', 'recent-1.bin'])
  // --clear alone: every file but a write that may be under way.
  mixture(['data', 'cache', '--clear'], {env})
  assert.deepEqual(readdirSync(dir), ['new-4.bin.456.tmp'])
  assert.equal(mixture(['data', 'cache', '--older-than', '3'], {env}).code, 2, '--older-than goes with --clear')
})

test('a cache file read is marked used (its time moves), so that --older-than keeps what runs use', async () => {
  const dir = tempDir()
  const file = await cached(dir, 'f.bin', 2, 50)
  const before = statSync(file).mtimeMs
  assert.ok(await readCache(file, 2))
  assert.ok(statSync(file).mtimeMs > before + 40 * DAY)
  assert.ok(existsSync(file))
  assert.match(imageCacheDir(), /mixture-models[\\/]datasets[\\/]image_folder$/)
})
